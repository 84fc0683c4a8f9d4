"""An httplib2-compatible transport that calls a WSGI app in-process (no socket).

``googleapiclient.discovery.build(..., http=InProcessHttp(app))`` then talks to the local mailbox
through exactly the code path it uses against Google, minus the network.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import httplib2


class InProcessHttp:
    """Duck-types :class:`httplib2.Http` for googleapiclient: ``request(uri, method, body, headers)``."""

    def __init__(self, app, timeout: float | None = None):
        self.app = app
        self.timeout = timeout
        self.requests = 0

    def request(self, uri, method="GET", body=None, headers=None, redirections=5, connection_type=None):
        self.requests += 1
        parts = urlsplit(uri)
        if hasattr(body, "read"):  # a resumable upload's chunk is a stream, as httplib2 accepts
            body = body.read()
        if isinstance(body, str):
            body = body.encode("utf-8")
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        headers.setdefault("host", parts.netloc)
        status, response_headers, content = self.app.handle(method.upper(), parts.path, parts.query,
                                                            body or b"", headers)
        info = {k.lower(): v for k, v in response_headers.items()}
        info["status"] = str(int(status.split(" ", 1)[0]))
        return httplib2.Response(info), content

    def close(self):
        pass
