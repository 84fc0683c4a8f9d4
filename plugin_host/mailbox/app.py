"""The local mailbox as a WSGI app: Gmail API v1, Google Tasks API v1, a little of Drive v3 and the Admin SDK's\nusers.list over HTTP.

``googleapiclient.discovery.build("gmail", "v1", static_discovery=True,
client_options={"api_endpoint": ROOT})`` works against it unmodified, and so does the HTTP batch
endpoint at ``ROOT + "batch"``. Quota units are counted per method (the Cloud project's table, ``quota_table``,
from :mod:`plugin_host.quota`); ``per_user_limit`` refuses past the table's units per user per minute as Gmail
does (403 ``userRateLimitExceeded``), an optional units-a-second limit answers 429; seeded fault
injection adds errors, latency and dropped push notifications for failure tests.
"""
from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import parse_qs, unquote, urlsplit

from . import directory_api, drive_api, gmail_api, tasks_api
from .batch import handle_batch, is_batch_path
from .errors import ApiError
from .faults import FaultPlan
from .fields import apply_fields, check_fields
from .store import Mailbox

log = logging.getLogger(__name__)
# A file a document is exported as (HTML among them) is data, never a page that runs or posts anything.
MEDIA_HEADERS = {"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; sandbox",
                 "X-Content-Type-Options": "nosniff"}


@dataclass
class Route:
    method: str
    pattern: re.Pattern
    method_id: str
    handler: Callable


def _routes() -> list[Route]:
    table = gmail_api.ROUTES + tasks_api.ROUTES + drive_api.ROUTES + directory_api.ROUTES
    routes = []
    for http_method, path, method_id, handler in table:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path.replace("@", "@"))
        routes.append(Route(http_method, re.compile(f"(?:^|/)({regex})$"), method_id, handler))
    return routes


UPLOAD_SESSION_SECONDS = 7 * 24 * 3600  # Google's resumable session URIs expire a week after they are made


@dataclass
class ResumableUpload:
    """A resumable upload session: the method's request and the bytes received so far."""

    method: str
    path: str
    query: str
    meta: dict
    content_type: str
    started: float = 0.0  # the mailbox's clock (epoch seconds) when the session was made
    data: bytes = b""
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def expired(self, now: float) -> bool:
        return now - self.started >= UPLOAD_SESSION_SECONDS

    def request(self) -> tuple[str, str, str, bytes, dict, dict]:
        """The completed upload as the method's request: (method, path, query, body, headers, metadata)."""
        return self.method, self.path, self.query, self.data, {"content-type": self.content_type}, self.meta


def from_another_site(environ) -> bool:
    """Whether a browser sent the request from another site's page. The local mailbox listens on 127.0.0.1 (the
    demo mounts it at /mailbox), which every page the user has open can post to: a form sent as text/plain
    carries a JSON body without a preflight. Browsers mark such requests (Sec-Fetch-Site, else Origin), and
    nothing else sends these headers: googleapiclient sends neither."""
    fetch_site = environ.get("HTTP_SEC_FETCH_SITE")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = environ.get("HTTP_ORIGIN")
    return origin is not None and urlsplit(origin).netloc != environ.get("HTTP_HOST", "")


@dataclass
class LocalMailboxApp:
    """WSGI callable serving one or more mailboxes; the first is ``userId='me'``."""

    mailbox: Mailbox = field(default_factory=Mailbox)
    data_dir: str | None = None
    rate_limit_units_per_s: float | None = None
    quota_table: str = "new"  # a Cloud project created from May 2026, as every one made today
    per_user_limit: bool = False  # Gmail's per-user limit of the table, units per user per minute
    faults: FaultPlan = field(default_factory=FaultPlan)
    push_url: str | None = None
    push_callback: Callable[[dict], None] | None = None
    clock: Callable[[], float] = time.monotonic
    units: Counter = field(default_factory=Counter)
    calls: Counter = field(default_factory=Counter)
    recorded: list | None = None  # (method id, response body) pairs, for schema tests

    def __post_init__(self) -> None:
        self.routes = _routes()
        self._window: list[tuple[float, int]] = []
        self._minute: list[tuple[float, int]] = []  # the last minute's calls, for ``per_user_limit``
        self._lock = threading.Lock()
        self._push_counter = 0
        self._uploads: dict[str, ResumableUpload] = {}  # resumable upload sessions by upload_id
        self._last_change = self.mailbox.history_id  # the newest history record already considered for push
        self.pushes_sent = 0
        self.pushes_dropped = 0
        self.mailbox.listeners.append(self._on_change)

    # -- WSGI ------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        if from_another_site(environ):
            status, response_headers, payload = self.error_response(ApiError(
                403, "Requests from web pages of other sites are refused.", "forbidden"))
            start_response(status, list(response_headers.items()))
            return [payload]
        method = environ["REQUEST_METHOD"].upper()
        path = environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        status, response_headers, payload = self.handle(method, path, query, body, headers)
        start_response(status, list(response_headers.items()))
        return [payload]

    def handle(self, method: str, path: str, query: str, body: bytes, headers: dict) -> tuple[str, dict, bytes]:
        """Answer one HTTP request: (status line, headers, body bytes)."""
        if method == "POST" and is_batch_path(path):
            return handle_batch(self, body, headers)
        if method == "POST" and headers.get("x-http-method-override", "").upper() == "GET":
            # googleapiclient sends a GET whose URL passes 2,000 characters (a long q) as a POST with this header
            # and the query string as a form body; Google's front end answers it as the GET.
            method, query, body = "GET", "&".join(p for p in (query, body.decode("utf-8", "replace")) if p), b""
        upload_meta = None
        try:
            if "/upload/" in path and "resumable" in parse_qs(query).get("uploadType", ()):
                session = self.resumable(method, path, query, body, headers)
                if not isinstance(session, ResumableUpload):
                    return session
                method, path, query, body, headers, upload_meta = session.request()
            route, params = self.match(method, path)
            result = self.call(route, params, parse_qs(query, keep_blank_values=True), body, headers, upload_meta)
        except ApiError as exc:
            return self.error_response(exc)
        except (TypeError, AttributeError, KeyError) as exc:  # a body of the wrong shape: Gmail answers 400
            log.info("local mailbox: bad request %s %s (%s)", method, path, exc)
            return self.error_response(ApiError(400, f"Invalid value: {type(exc).__name__}", "invalidArgument"))
        except Exception:  # a bug in the stand-in must look like Gmail's 500, not kill the server
            log.exception("local mailbox failed on %s %s", method, path)
            return self.error_response(ApiError(500, "Internal error encountered.", "backendError"))
        if isinstance(result, drive_api.Media):  # a Doc exported as a file; in the demo on the preview's origin
            return "200 OK", {"Content-Type": result.content_type, **MEDIA_HEADERS}, result.content
        if result is None:
            return "204 No Content", {"Content-Type": "application/json; charset=UTF-8"}, b""
        data = json.dumps(result, ensure_ascii=False).encode("utf-8")
        return "200 OK", {"Content-Type": "application/json; charset=UTF-8"}, data

    def error_response(self, exc: ApiError) -> tuple[str, dict, bytes]:
        reason = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
                  412: "Precondition Failed", 429: "Too Many Requests", 500: "Internal Server Error",
                  503: "Service Unavailable"}.get(exc.code, "Error")
        headers = {"Content-Type": "application/json; charset=UTF-8", **exc.headers}
        return f"{exc.code} {reason}", headers, json.dumps(exc.body()).encode()

    def match(self, method: str, path: str) -> tuple[Route, dict]:
        upload = "/upload/" in path
        for route in self.routes:
            if route.method != method:
                continue
            found = route.pattern.search(path)
            if found:
                params = {k: unquote(v) for k, v in found.groupdict().items()}
                params["_upload"] = upload
                return route, params
        raise ApiError(404, f"Method not found: {method} {path}", "notFound")

    def resumable(self, method: str, path: str, query: str, body: bytes, headers: dict):
        """One request of Google's resumable upload protocol (``uploadType=resumable``), as googleapiclient
        makes them: the first request carries the JSON metadata and gets the session URI in ``Location``;
        PUTs to that URI carry the message bytes (``Content-Range``), answered 308 until the last one,
        which runs the method. Returns a response, or the completed :class:`ResumableUpload`."""
        upload_id = parse_qs(query).get("upload_id", [""])[0]
        if not upload_id:
            self.match(method, path)  # an unknown method is a 404 now, not after the upload
            try:
                meta = json.loads(body) if body.strip() else {}
            except ValueError:
                raise ApiError(400, "Invalid JSON payload received.", "parseError") from None
            if not isinstance(meta, dict):
                raise ApiError(400, "Invalid JSON payload received.", "parseError")
            upload = ResumableUpload(method, path, query, meta, headers.get("x-upload-content-type", ""),
                                     started=self.mailbox.clock())
            with self._lock:
                self._drop_expired_uploads()
                self._uploads[upload.id] = upload
            location = f"http://{headers.get('host') or 'mailbox.local'}{path}?{query}&upload_id={upload.id}"
            return "200 OK", {"Location": location, "Content-Length": "0"}, b""
        with self._lock:
            self._drop_expired_uploads()
            upload = self._uploads.get(upload_id)
        if upload is None or method != "PUT":  # Google: a 404 means the session expired; start the upload again
            raise ApiError(404, "Upload session not found", "notFound")
        found = re.fullmatch(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)", headers.get("content-range", "").strip())
        if headers.get("content-range") and not found:
            raise ApiError(400, "Invalid Content-Range", "invalidArgument")
        if found and found.group(1) is not None:
            if int(found.group(1)) != len(upload.data):
                raise ApiError(400, "Content-Range does not continue the upload", "invalidArgument")
            upload.data += body
        elif not found:  # no range: the whole media at once
            upload.data += body
        total = found.group(3) if found else str(len(upload.data))
        if total == "*" or int(total) > len(upload.data):
            progress = {"Range": f"bytes=0-{len(upload.data) - 1}"} if upload.data else {}
            return "308 Resume Incomplete", {"Content-Length": "0", **progress}, b""
        with self._lock:
            self._uploads.pop(upload_id, None)
        return upload

    def _drop_expired_uploads(self) -> None:
        """Forget the sessions (and the bytes) of uploads a week old, finished or not, as Google does. Called with
        ``self._lock`` held, whenever a session is made or used: abandoned uploads cannot pile up."""
        now = self.mailbox.clock()  # the mailbox's own time, which dates its mail and expires its history ids
        for upload_id in [i for i, upload in self._uploads.items() if upload.expired(now)]:
            del self._uploads[upload_id]

    def call(self, route: Route, params: dict, query: dict, body: bytes, headers: dict,
             upload_meta: dict | None = None):
        self.account(route.method_id)
        self.faults.before_call(route.method_id)
        user = params.pop("userId", "me")
        box = self.mailbox_for(user)
        args = {k: (v if len(v) > 1 or k in ("labelIds", "metadataHeaders", "historyTypes") else v[0])
                for k, v in query.items()}
        args.pop("alt", None)
        fields = args.pop("fields", None)
        mask = check_fields(fields, route.method_id) if fields else None  # a bad mask stops the call
        request = gmail_api.Request(box, params, args, body, headers, self, fields, upload_meta)
        result = route.handler(request)
        if mask and isinstance(result, dict):
            result = apply_fields(result, mask)
        if route.method != "GET":
            self.persist()
        if self.recorded is not None:
            self.recorded.append((route.method_id, result))
        return result

    def mailbox_for(self, user: str) -> Mailbox:
        if user.lower() in ("me", self.mailbox.email.lower()):  # an address, so in any case
            return self.mailbox
        raise ApiError(403, "Delegation denied for " + user, "forbidden")

    # -- quota -----------------------------------------------------------------------------

    def account(self, method_id: str) -> None:
        from plugin_host.quota import PER_USER_PER_MINUTE, units_for
        units = units_for(method_id, self.quota_table)
        with self._lock:
            if self.per_user_limit:  # Google's limit is units per user per minute: a burst may spend it all at once
                now = self.clock()
                self._minute = [(t, u) for t, u in self._minute if now - t < 60.0]
                if sum(u for _, u in self._minute) + units > PER_USER_PER_MINUTE[self.quota_table]:
                    raise ApiError(403, "User Rate Limit Exceeded", "userRateLimitExceeded", domain="usageLimits")
                self._minute.append((now, units))
            if self.rate_limit_units_per_s:
                now = self.clock()
                self._window = [(t, u) for t, u in self._window if now - t < 1.0]
                if sum(u for _, u in self._window) + units > self.rate_limit_units_per_s:
                    raise ApiError(429, "User-rate limit exceeded.  Retry after 1s", "rateLimitExceeded",
                                   headers={"Retry-After": "1"})
                self._window.append((now, units))
            self.units[method_id] += units
            self.calls[method_id] += 1

    def reset_counters(self) -> None:
        self.units.clear()
        self.calls.clear()

    @property
    def total_units(self) -> int:
        return sum(self.units.values())

    # -- persistence and push ----------------------------------------------------------------

    def persist(self) -> None:
        if self.data_dir:
            self.mailbox.save(self.data_dir)

    def _on_change(self, history_id: int) -> None:
        changes = self._changes_since_last()
        watch = self.mailbox.watch_state
        if not watch or not (self.push_url or self.push_callback) or not watched(watch, changes):
            return
        if watch.get("expiration") and self.mailbox.clock() * 1000 >= int(watch["expiration"]):
            return  # Gmail publishes nothing once a watch expires: users.watch again renews it
        if self.faults.drop_push():
            self.pushes_dropped += 1
            return
        self._push_counter += 1
        data = json.dumps({"emailAddress": self.mailbox.email, "historyId": history_id}).encode()
        envelope = {"message": {"data": base64.urlsafe_b64encode(data).decode(),
                                "messageId": str(self._push_counter), "message_id": str(self._push_counter),
                                "publishTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                                "attributes": {}},
                    "subscription": "projects/local/subscriptions/labeldesk-push"}
        self.pushes_sent += 1
        if self.push_callback:
            self.push_callback(envelope)
        if self.push_url:
            threading.Thread(target=_post_json, args=(self.push_url, envelope), daemon=True).start()

    def _changes_since_last(self) -> list:
        """The history records written since the previous change notification."""
        box = self.mailbox
        with box.lock, self._lock:
            changes = []
            for record in reversed(box.history):
                if record.id <= self._last_change:
                    break
                changes.append(record)
            self._last_change = box.history_id
        return changes


def watched(watch: dict, changes: list) -> bool:
    """Whether a watch's label filter lets these changes through (users.watch ``labelIds`` and
    ``labelFilterBehavior``, or the deprecated ``labelFilterAction``): a change relates to a label when
    the message has it or the change adds or removes it."""
    labels = set(watch.get("labelIds") or [])
    if not changes or not labels:
        return bool(changes)
    related = [bool(labels & (set(r.message_labels) | set(r.label_ids))) for r in changes]
    if watch.get("labelFilterBehavior", "include") == "exclude":
        return not all(related)
    return any(related)


def _post_json(url: str, envelope: dict) -> None:
    import urllib.request

    request = urllib.request.Request(url, data=json.dumps(envelope).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=5).read()
    except Exception as exc:  # push is best-effort, like Pub/Sub's first attempt
        log.warning("push to %s failed: %s", url, exc)


def split_url(uri: str) -> tuple[str, str]:
    parts = urlsplit(uri)
    return parts.path, parts.query
