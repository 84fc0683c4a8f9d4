"""The HTTP batch endpoint (``ROOT + "batch"``): multipart/mixed in, multipart/mixed out.

Each inner ``application/http`` request is answered by the same app, with its own status and its
own quota units, exactly like Google's batch front end. At most 100 calls per batch.
"""
from __future__ import annotations

import email
import email.policy
import re
import uuid
from urllib.parse import urlsplit

from .errors import ApiError

MAX_CALLS = 100
BATCH_PATH = re.compile(r"(?:^|/)batch(?:/gmail/v1)?/?$")


def is_batch_path(path: str) -> bool:
    """The discovery document's batchPath (``batch``) or the batch guide's ``batch/gmail/v1``."""
    return bool(BATCH_PATH.search(path))


def _parse_inner(payload: bytes) -> tuple[str, str, str, dict, bytes]:
    """An inner HTTP request; its body stays the bytes sent (UTF-8 JSON from most clients)."""
    head, sep, body = payload.partition(b"\r\n\r\n")
    if not sep:
        head, _, body = payload.partition(b"\n\n")
    lines = head.decode("utf-8", "replace").replace("\r\n", "\n").split("\n")
    method, target, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    parts = urlsplit(target)
    return method.upper(), parts.path, parts.query, headers, body


def handle_batch(app, body: bytes, headers: dict) -> tuple[str, dict, bytes]:
    content_type = headers.get("content-type", "")
    if not content_type.startswith("multipart/mixed"):
        return app.error_response(ApiError(400, "Batch requests must be multipart/mixed", "invalidArgument"))
    message = email.message_from_bytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body,
                                       policy=email.policy.compat32)
    parts = message.get_payload() if message.is_multipart() else []
    if len(parts) > MAX_CALLS:
        return app.error_response(ApiError(400, f"A batch may hold at most {MAX_CALLS} calls", "invalidArgument"))
    boundary = "batch_" + uuid.uuid4().hex
    out = []
    for part in parts:
        content_id = part.get("Content-ID", "")
        inner = part.get_payload(decode=True) or b""  # the bytes as sent, not decoded as ASCII
        try:
            method, path, query, inner_headers, inner_body = _parse_inner(inner)
            status, response_headers, data = app.handle(method, path, query, inner_body, inner_headers)
        except ValueError:
            status, response_headers, data = app.error_response(ApiError(400, "Malformed batch part", "invalidArgument"))
        response_id = "<response-" + content_id.strip("<>") + ">"
        lines = [f"--{boundary}", "Content-Type: application/http", f"Content-ID: {response_id}", "",
                 f"HTTP/1.1 {status}"]
        lines += [f"{k}: {v}" for k, v in response_headers.items()]
        lines += ["", data.decode("utf-8")]
        out.append("\r\n".join(lines))
    payload = ("\r\n".join(out) + f"\r\n--{boundary}--\r\n").encode("utf-8")
    return "200 OK", {"Content-Type": f"multipart/mixed; boundary={boundary}"}, payload
