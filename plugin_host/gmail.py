"""Gmail and Tasks access for one mailbox: googleapiclient with retries, quota and batching.

Uses the discovery documents shipped in google-api-python-client (no discovery call) with the
root URL from ``[mailbox] api_root`` (empty = Google). Every call is charged to a per-mailbox token
bucket in quota units, retried with exponential backoff and jitter on 429/5xx and rate-limit 403s
(honouring Retry-After), and a final failure says which mailbox and which call failed.

httplib2 connections are not thread-safe, and ``labeldesk serve`` calls Gmail from the change feed,
the sweep and add-on requests at once: each thread gets its own connection (the library's documented
``requestBuilder`` pattern), reused by that thread's later calls. It sends each request once: our retry,
which first checks whether a send went through, is the only one. A connection the server closed while idle is
replaced before anything is written on it, so it costs no retry.
"""
from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from collections import Counter
from email.utils import parsedate_to_datetime
from typing import Any, Callable

import httplib2
from google.auth.exceptions import GoogleAuthError
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest, HttpRequest

from .config import MailboxSettings
from .errors import GmailError
from .quota import TokenBucket, bucket_for, units_for
from .refusals import SaidOnce, explain

log = logging.getLogger(__name__)
GOOGLE_ROOTS = {"gmail": "https://gmail.googleapis.com/", "tasks": "https://tasks.googleapis.com/",
                "drive": "https://www.googleapis.com/"}
VERSIONS = {"gmail": "v1", "tasks": "v1", "drive": "v3"}
DRIVE_FILE = "id, name, mimeType, modifiedTime, webViewLink, trashed, shortcutDetails"
DRIVE_FILE_FIELDS = f"nextPageToken, files({DRIVE_FILE})"
DRIVE_SHORTCUT = "application/vnd.google-apps.shortcut"
DRIVE_FOLDER = "application/vnd.google-apps.folder"
DRIVE_DOCUMENT = "application/vnd.google-apps.document"
RETRY_STATUSES = {429, 500, 502, 503, 504}
RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "backendError"}
QUOTA_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}  # Gmail's units per minute, per user or project
BATCH_SIZE = 50
NEWEST_CHECKED = 10  # messages of a label read per batch to find a lost send outside any thread (55 units, on a retry)
SENT_WALKED = 500  # at most this many of them (one listing page), back to the time the send began
SEND_CLOCK_SLACK = timedelta(minutes=5)  # Gmail's internalDate against this host's clock, and the send's own time
LONGEST_WAIT = 120.0  # a Retry-After beyond this is not slept through (it holds the sync); the next run retries


def closed_by_server(sock) -> bool:
    """Whether an idle keep-alive connection was closed by the server (Google closes idle ones after a few
    minutes): between requests a socket is readable only then, or when the server sent something unasked, which
    makes it as unusable. urllib3 checks a pooled connection the same way before reusing it."""
    from urllib3.util.wait import wait_for_read

    try:
        return wait_for_read(sock, timeout=0.0)
    except (OSError, ValueError, TypeError):  # closed under us, or no socket at all
        return True


def _answer_or_error(connection_class):
    """``connection_class`` whose connection closed before an answer is a ConnectionResetError: httplib2 takes it
    (BadStatusLine, RemoteDisconnected) for a stale keep-alive connection and sends the request again unseen, so a
    messages.send Gmail had stored went out twice. :meth:`GmailClient.execute` retries instead, after checking.

    So that a stale connection costs no such retry, it is found before anything is sent on it: one the server
    closed while idle is replaced by a new one (nothing was sent, so nothing can go out twice), and one that broke
    while a request was being written is closed, so the next attempt does not write into it again."""
    import http.client

    class Connection(connection_class):
        def request(self, *args, **kwargs):
            if self.sock is not None and closed_by_server(self.sock):
                log.debug("connection to %s was closed by the server while idle; opening a new one", self.host)
                self.close()  # http.client opens a new one for this request
            try:
                return super().request(*args, **kwargs)
            except OSError:
                self.close()
                raise

        def getresponse(self, *args, **kwargs):
            try:
                return super().getresponse(*args, **kwargs)
            except (http.client.BadStatusLine, http.client.ResponseNotReady) as exc:
                raise ConnectionResetError(f"connection closed before the answer ({type(exc).__name__})") from None

    return Connection


class AnswerOrError(httplib2.Http):
    """httplib2's Http that sends each request once: a connection closed before the answer is an error."""

    CONNECTIONS = {"http": _answer_or_error(httplib2.HTTPConnectionWithTimeout),
                   "https": _answer_or_error(httplib2.HTTPSConnectionWithTimeout)}

    def request(self, uri, method="GET", body=None, headers=None, redirections=httplib2.DEFAULT_MAX_REDIRECTS,
                connection_type=None):
        scheme = uri.split(":", 1)[0].lower()
        return super().request(uri, method, body, headers, redirections,
                               connection_type or self.CONNECTIONS.get(scheme))


class HistoryExpired(GmailError):
    """history.list answered 404: the start id is too old; do a full sync."""

    status = 404


def _status(exc: HttpError) -> int:
    return int(getattr(exc.resp, "status", 0) or 0)


def _reason(exc: HttpError) -> str:
    try:
        return json.loads(exc.content)["error"]["errors"][0]["reason"]
    except Exception:
        return ""


def retry_after_seconds(exc: HttpError) -> float | None:
    value = (exc.resp or {}).get("retry-after") if hasattr(exc, "resp") else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _has_message_id(message: dict, message_id: str) -> bool:
    """Whether a message read with its headers has the Message-ID ``message_id`` (without angle brackets)."""
    headers = message.get("payload", {}).get("headers", [])
    return any(h["name"].lower() == "message-id" and h["value"].strip().strip("<>") == message_id for h in headers)


def said_by_auth(exc: Exception) -> str:
    """An exception's text for the log; of google-auth's RefreshError only the token endpoint's error code and
    description (its second argument is the endpoint's whole answer)."""
    from google.auth.exceptions import RefreshError

    if isinstance(exc, RefreshError) and exc.args:
        return str(exc.args[0])[:300]
    return str(exc)


def quota_refusal(exc: Exception) -> bool:
    """Gmail refused for its units per minute (per user, or the project's): 403 ``userRateLimitExceeded`` or
    ``rateLimitExceeded``, or a 429 (Google answers either; "Resolve errors" and "Usage limits" pages)."""
    return isinstance(exc, HttpError) and (_status(exc) == 429 or (_status(exc) == 403 and _reason(exc) in QUOTA_REASONS))


class _SaidByUs(logging.Filter):
    """googleapiclient logs a WARNING for every 403 it is answered ("Encountered 403 Forbidden with reason
    "userRateLimitExceeded""): a burst at Gmail's quota made a hundred of them. The client says it once, in words."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.getMessage().startswith("Encountered 403 Forbidden with reason")
                    and any(f'"{reason}"' in record.getMessage() for reason in QUOTA_REASONS))


def _quiet_googleapiclient() -> None:
    logger = logging.getLogger("googleapiclient.http")
    if not any(isinstance(f, _SaidByUs) for f in logger.filters):
        logger.addFilter(_SaidByUs())


def retryable(exc: Exception) -> bool:
    from google.auth.exceptions import RefreshError, TransportError

    if isinstance(exc, RefreshError):  # the token endpoint down (google-auth asked it 3 times), not a refusal
        return exc.retryable
    if not isinstance(exc, HttpError):  # httplib2's failed name lookup (DNS down a moment) is no OSError, nor is
        # google-auth's TransportError, which wraps it when it happens while the token is refreshed
        return isinstance(exc, (ConnectionError, TimeoutError, OSError, httplib2.ServerNotFoundError, TransportError))
    status = _status(exc)
    return status in RETRY_STATUSES or (status == 403 and _reason(exc) in RATE_REASONS)


class MadeOnce:
    """A googleapiclient resource whose sub-resources (``users()``, then ``threads()``, ``messages()`` …) are made
    once and kept. googleapiclient makes a sub-resource anew each time it is asked for, building each of its
    methods from the discovery document (about 1 ms for ``messages()``): a third of a full sync's CPU went there.
    A resource only builds requests — each goes out on the calling thread's own connection (``requestBuilder``) —
    so one serves every thread; its methods (``get``, ``list``, ``new_batch_http_request``) pass through."""

    def __init__(self, resource):
        self._resource = resource
        self._nested = frozenset(getattr(resource, "_resourceDesc", {}).get("resources", {}))
        self._made: dict[str, MadeOnce] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str):
        if name not in self._nested:
            return getattr(self._resource, name)
        return lambda: self._sub_resource(name)

    def _sub_resource(self, name: str) -> "MadeOnce":
        with self._lock:
            if name not in self._made:
                self._made[name] = MadeOnce(getattr(self._resource, name)())
            return self._made[name]


class GmailClient:
    """One mailbox's Gmail + Tasks access. ``stats`` counts calls and units per method id."""

    def __init__(self, settings: MailboxSettings, credentials=None, http=None, bucket: TokenBucket | None = None,
                 drive_credentials: Callable[[], Any] | None = None, sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None,
                 max_attempts: int = 6, base_delay: float = 0.5, max_delay: float = 32.0,
                 delegation_scopes: list[str] | None = None, tasks_credentials=None, state_dir=None):
        self.settings = settings
        # every scope the configuration uses: what a refused delegation is told to grant (one list per client ID)
        self.delegation_scopes = delegation_scopes
        self.address = settings.address
        self.http = http
        from .config import is_local

        # ``state_dir``: the quota shared with the other Labeldesk processes on it (quota.SharedBucket)
        self.bucket = bucket or bucket_for(settings, local=http is not None or is_local(settings.api_root), sleep=sleep,
                                           state_dir=state_dir)
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.max_attempts, self.base_delay, self.max_delay = max_attempts, base_delay, max_delay
        self.stats: dict[str, Counter] = {"calls": Counter(), "units": Counter(), "retries": Counter()}
        self._connections = threading.local()  # per thread: credentials id -> its own httplib2 connection
        # Tasks on Gmail's token unless given its own (a service account's: see runtime.build_host)
        tasks_credentials = credentials if tasks_credentials is None else tasks_credentials
        self._credentials = {"gmail": credentials, "tasks": tasks_credentials}  # per API, to explain a refusal
        self.refusals = SaidOnce()
        _quiet_googleapiclient()
        self.gmail = self._build("gmail", credentials)
        self.tasks = self._build("tasks", tasks_credentials)
        self._drive_credentials = drive_credentials
        self._drive = None
        self.root = self.settings.api_root or GOOGLE_ROOTS["gmail"]
        self.now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)  # the Host sets its own clock

    def _build(self, api: str, credentials):
        root = self.settings.api_root or GOOGLE_ROOTS[api]
        if api == "drive":  # Drive's discovery puts the version in the path: the endpoint must too
            root = root.rstrip("/") + "/drive/v3/"
        kwargs: dict[str, Any] = {"static_discovery": True, "client_options": {"api_endpoint": root},
                                  "cache_discovery": False}
        if self.http is not None:  # an injected transport (the local mailbox in tests and the demo)
            kwargs["http"] = self.http
        else:
            kwargs["http"] = self.connection(credentials)
            kwargs["requestBuilder"] = lambda _http, *args, **kw: HttpRequest(self.connection(credentials), *args, **kw)
        return MadeOnce(build(api, VERSIONS[api], **kwargs))

    def connection(self, credentials=None):
        """This thread's HTTP connection (authorised with ``credentials``), made on its first call."""
        made = self._connections.__dict__.setdefault("by_credentials", {})
        key = id(credentials)
        if key not in made:
            http = AnswerOrError(timeout=60)
            if credentials is not None:
                from google_auth_httplib2 import AuthorizedHttp

                http = AuthorizedHttp(credentials, http=http)
            made[key] = http
        return made[key]

    @property
    def drive(self):
        """Drive v3, built on first use with read-only Drive credentials (only the KB's Drive source needs it)."""
        if self._drive is None:
            credentials = self._drive_credentials() if self._drive_credentials and self.http is None else None
            self._credentials["drive"] = credentials
            self._drive = self._build("drive", credentials)
        return self._drive

    # -- the core: one call with quota, retries and a clear error -------------------------------

    def units_for(self, method_id: str) -> int:
        """What one call costs the Cloud project of this mailbox's credentials (``[mailbox] quota_table``)."""
        return units_for(method_id, self.settings.quota_table)

    def backoff(self, attempt: int, exc: Exception) -> float:
        hinted = retry_after_seconds(exc) if isinstance(exc, HttpError) else None
        if hinted is None and quota_refusal(exc):  # Gmail counts a minute: 2, 4, 8, 16, 32 s (+ up to 1 s) outlast it
            return min(2 * self.max_delay, 2.0 ** (attempt + 1)) + self.rng.uniform(0, 1)
        delay = min(self.max_delay, self.base_delay * (2 ** attempt))
        delay = delay / 2 + self.rng.uniform(0, delay / 2)  # jitter in [delay/2, delay]
        return max(delay, hinted) if hinted is not None else delay

    def execute(self, request, method_id: str, describe: str = "", settled: Callable[[], Any] | None = None) -> Any:
        """Run one call with quota, retries and a clear error. ``settled``, for calls that must not happen
        twice (sending mail), is asked before each retry whether the failed attempt took effect after all
        (its response lost to a timeout or a 5xx): if it returns something, that is the result."""
        for attempt in range(self.max_attempts):
            if attempt and settled is not None:
                done = settled()
                if done is not None:
                    log.info("%s %s on %s had gone through; not repeated", method_id, describe, self.address)
                    return done
            self.bucket.take(self.units_for(method_id))
            self.stats["calls"][method_id] += 1
            self.stats["units"][method_id] += self.units_for(method_id)
            try:
                answer = request.execute(num_retries=0)
            except Exception as exc:
                if not retryable(exc) or attempt == self.max_attempts - 1:
                    raise self.failure(method_id, describe, exc) from exc
                delay = self.backoff(attempt, exc)
                if delay > LONGEST_WAIT:
                    log.warning("%s %s on %s: Google asks to wait %.0fs; leaving it to the next run", method_id,
                                describe, self.address, delay)
                    raise self.failure(method_id, describe, exc) from exc
                self.stats["retries"][method_id] += 1
                if quota_refusal(exc):
                    self.slow_down(exc)
                log.info("%s %s on %s failed (%s); retry in %.2fs", method_id, describe, self.address,
                         _status(exc) if isinstance(exc, HttpError) else said_by_auth(exc), delay)
                self.sleep(delay)
            else:
                self.refusals.worked(method_id.split(".", 1)[0])
                return answer

    def slow_down(self, exc: HttpError) -> None:
        """Gmail refused for its units per minute: the bucket slows down; said as a WARNING when it was at full
        speed (the first refusal, or the first since the host came back to its rate), else at INFO."""
        before, now = self.bucket.slow_down()
        full = before == self.bucket.full_rate  # another process sharing the bucket may have slowed it already
        from .quota import PER_USER_PER_MINUTE

        table = self.settings.quota_table
        if table == "old":
            why = (f"[mailbox] quota_table = \"old\" expects {PER_USER_PER_MINUTE['old']:,} units per user a minute, "
                   f"but a Cloud project created from May 2026 has {PER_USER_PER_MINUTE['new']:,} (and pays 20 units "
                   "for messages.get): if this one is, set quota_table = \"new\"")
        elif getattr(self.bucket, "shared", False):
            why = (f"the project allows {PER_USER_PER_MINUTE[table]:,} units per user a minute and the Labeldesk "
                   "processes on this state folder keep under it together, so something else spends this user's "
                   "quota in the same Cloud project (another program with the same credentials, or a Labeldesk "
                   "with another state_dir); lower [mailbox] quota_units_per_second to leave it room")
        else:
            why = (f"the project allows {PER_USER_PER_MINUTE[table]:,} units per user a minute and Labeldesk "
                   "keeps under it, so something else spends this user's quota in the same Cloud project "
                   "(another Labeldesk process or program with the same credentials); lower [mailbox] "
                   "quota_units_per_second to leave it room")
        log.log(logging.WARNING if full else logging.INFO,
                "Gmail refused a call on %s for its quota (HTTP %s %s): slowing from %g to %g units a second and "
                "waiting out Gmail's minute before trying again (back to full speed after quiet minutes); %s",
                self.address, _status(exc), _reason(exc) or "rate limit", before, now, why)

    def failure(self, method_id: str, describe: str, exc: Exception) -> GmailError:
        api = method_id.split(".", 1)[0]
        refusal = explain(exc, api, self._credentials.get(api), self.settings.credentials, self.delegation_scopes)
        if refusal is not None:  # the cause and the admin's next step, in one line
            detail = refusal.advice
        elif isinstance(exc, HttpError):
            detail = f"HTTP {_status(exc)} {_reason(exc) or exc.reason}"
        else:
            detail = f"{type(exc).__name__}: {said_by_auth(exc)}"
        error = GmailError(f"mailbox {self.address}: {method_id}{' ' + describe if describe else ''} failed: {detail}")
        error.status = _status(exc) if isinstance(exc, HttpError) else 0
        error.method = method_id  # for /readyz, which names the call and the status, not the text
        error.refusal = refusal  # lasts until an admin acts: said once by `serve`, not at every poll
        error.said_before = refusal is not None and not self.refusals.first(api, refusal)
        # Gmail out of quota, down, unreachable or refusing us: later calls would fail too. Google Tasks (or Drive)
        # down or not enabled says nothing about Gmail (an escalation's task failing must not stop a sync or sweep
        # of the other tickets), nor does Tasks' own token refused (a service account's); but an installed-app
        # token is Gmail's too: refused for one, it is refused for both.
        shared_token = (api == "tasks" and isinstance(exc, GoogleAuthError)
                        and self._credentials["tasks"] is self._credentials["gmail"])
        error.unavailable = (retryable(exc) or refusal is not None) and (api == "gmail" or shared_token)
        return error

    def batch(self, calls: list[tuple[Any, str]]) -> list[Any]:
        """Execute ``(request, method_id)`` pairs in HTTP batches of ≤50; results (or errors) in order."""
        results: list[Any] = [None] * len(calls)
        pending = list(range(len(calls)))
        for attempt in range(self.max_attempts):
            failed: list[tuple[int, Exception]] = []
            for chunk in self._chunks(pending, calls):
                batch = BatchHttpRequest(batch_uri=self.root + "batch")

                def callback(request_id, response, exception, _chunk=chunk):
                    index = _chunk[int(request_id)]
                    if exception is not None:
                        failed.append((index, exception))
                    else:
                        results[index] = response
                        self.refusals.worked(calls[index][1].split(".", 1)[0])
                # Gmail counts a batch's calls when it arrives: their units are taken at once, just before
                self.bucket.take(sum(self.units_for(calls[index][1]) for index in chunk))
                for position, index in enumerate(chunk):
                    request, method_id = calls[index]
                    self.stats["calls"][method_id] += 1
                    self.stats["units"][method_id] += self.units_for(method_id)
                    batch.add(request, callback=callback, request_id=str(position))
                self.stats["calls"]["batch"] += 1
                try:
                    batch.execute(http=self.http) if self.http is not None else batch.execute()
                except Exception as exc:  # the batch request itself failed (a 503, a timeout): so did its calls
                    answered = {i for i, _ in failed}
                    failed += [(i, exc) for i in chunk if results[i] is None and i not in answered]
            retry = [(i, e) for i, e in failed if retryable(e)]
            for index, exc in failed:
                if not retryable(exc) or attempt == self.max_attempts - 1:
                    results[index] = self.failure(calls[index][1], "(in batch)", exc)
            if not retry or attempt == self.max_attempts - 1:
                break
            delay = max(self.backoff(attempt, e) for _, e in retry)
            if delay > LONGEST_WAIT:  # as for one call: not slept through (it would hold the sync); the next run retries
                log.warning("%d call(s) in a batch on %s: Google asks to wait %.0fs; leaving them to the next run",
                            len(retry), self.address, delay)
                for index, exc in retry:
                    results[index] = self.failure(calls[index][1], "(in batch)", exc)
                break
            quota = [e for _, e in retry if quota_refusal(e)]
            if quota:
                self.slow_down(quota[0])
            for index, exc in retry:
                self.stats["retries"][calls[index][1]] += 1
            log.info("%d call(s) in a batch on %s failed (%s); retry in %.2fs", len(retry), self.address,
                     ", ".join(sorted({str(_status(e)) if isinstance(e, HttpError) else type(e).__name__
                                       for _, e in retry})), delay)
            self.sleep(delay)
            pending = sorted(i for i, _ in retry)
        return results

    def _chunks(self, pending: list[int], calls: list[tuple[Any, str]]):
        """``pending`` in HTTP batches of ≤50 calls whose units together fit the bucket's capacity (what may be
        spent at once), so that no minute of Gmail's counting holds more than the bucket allows."""
        chunk: list[int] = []
        units = 0
        for index in pending:
            cost = self.units_for(calls[index][1])
            if chunk and (len(chunk) == BATCH_SIZE or units + cost > self.bucket.capacity):
                yield chunk
                chunk, units = [], 0
            chunk.append(index)
            units += cost
        if chunk:
            yield chunk

    # -- convenience methods the host uses ------------------------------------------------------

    @property
    def users(self):
        return self.gmail.users()

    def profile(self) -> dict:
        return self.execute(self.users.getProfile(userId="me"), "gmail.users.getProfile")

    def list_labels(self) -> list[dict]:
        return self.execute(self.users.labels().list(userId="me"), "gmail.users.labels.list").get("labels", [])

    def create_label(self, name: str, color: dict | None = None) -> dict:
        body = {"name": name, "labelListVisibility": "labelShow", "messageListVisibility": "show"}
        if color:
            body["color"] = color
        try:
            return self.execute(self.users.labels().create(userId="me", body=body), "gmail.users.labels.create", name)
        except GmailError as exc:
            if getattr(exc, "status", 0) != 409:
                raise
            existing = next((l for l in self.list_labels() if l["name"].lower() == name.lower()), None)
            if existing is None:
                raise
            return existing

    def rename_label(self, label_id: str, name: str) -> dict:
        """Give a label another name (``labels.patch``: its id, and so every thread carrying it, stays)."""
        return self.execute(self.users.labels().patch(userId="me", id=label_id, body={"name": name}),
                            "gmail.users.labels.patch", label_id)

    def delete_label(self, label_id: str) -> None:
        """Delete a label: Gmail takes it off every message at once (5 units, however many threads)."""
        self.execute(self.users.labels().delete(userId="me", id=label_id), "gmail.users.labels.delete", label_id)

    def get_thread(self, thread_id: str, format: str = "full") -> dict:
        return self.execute(self.users.threads().get(userId="me", id=thread_id, format=format),
                            "gmail.users.threads.get", thread_id)

    def get_message(self, message_id: str, format: str = "full", metadata_headers: list[str] | None = None) -> dict:
        kwargs = {"userId": "me", "id": message_id, "format": format}
        if metadata_headers:
            kwargs["metadataHeaders"] = metadata_headers
        return self.execute(self.users.messages().get(**kwargs), "gmail.users.messages.get", message_id)

    def list_message_ids(self, q: str | None = None, label_ids: list[str] | None = None,
                         max_results: int | None = None, include_spam_trash: bool = False) -> list[dict]:
        """``[{id, threadId}]`` newest first, following pages up to ``max_results``."""
        options = {"q": q, "labelIds": label_ids, "includeSpamTrash": include_spam_trash or None}
        return self._pages(lambda token: self.users.messages().list(
            userId="me", maxResults=min(500, max_results or 500), pageToken=token,
            **{k: v for k, v in options.items() if v}), "messages", "gmail.users.messages.list", search_detail(q),
            max_results)

    def list_threads(self, q: str | None = None, max_results: int | None = None,
                     label_ids: list[str] | None = None) -> list[dict]:
        """``[{id, historyId, snippet}]`` of the threads a search finds (with every label of ``label_ids``),
        newest first, up to ``max_results``."""
        return self._pages(lambda token: self.users.threads().list(
            userId="me", maxResults=min(500, max_results or 500), pageToken=token, **({"q": q} if q else {}),
            **({"labelIds": label_ids} if label_ids else {})),
            "threads", "gmail.users.threads.list", search_detail(q), max_results)

    def _pages(self, request_for: Callable[[str | None], Any], key: str, method: str, detail: str = "",
               max_results: int | None = None) -> list[dict]:
        """The ``key`` items of every page of a list call (``request_for(page token)``), up to ``max_results``."""
        found, token = [], None
        while True:
            page = self.execute(request_for(token), method, detail)
            found += page.get(key, [])
            token = page.get("nextPageToken")
            if not token or (max_results and len(found) >= max_results):
                return found[:max_results] if max_results else found

    def list_history(self, start_history_id: str, history_types: list[str] | None = None) -> tuple[list[dict], str]:
        """All history records after ``start_history_id`` and the mailbox's current history id."""
        records, token, latest = [], None, start_history_id
        while True:
            kwargs = {"userId": "me", "startHistoryId": start_history_id, "maxResults": 500}
            if history_types:
                kwargs["historyTypes"] = history_types
            if token:
                kwargs["pageToken"] = token
            try:
                page = self.execute(self.users.history().list(**kwargs), "gmail.users.history.list",
                                    f"startHistoryId={start_history_id}")
            except GmailError as exc:
                if getattr(exc, "status", 0) == 404:
                    raise HistoryExpired(str(exc)) from exc
                raise
            records += page.get("history", [])
            latest = page.get("historyId", latest)
            token = page.get("nextPageToken")
            if not token:
                return records, latest

    def keeps_history(self, start_history_id: str) -> bool:
        """Whether Gmail still keeps the history after ``start_history_id`` (one ``history.list`` of one record:
        2 units; False on its 404)."""
        try:
            self.execute(self.users.history().list(userId="me", startHistoryId=start_history_id, maxResults=1),
                         "gmail.users.history.list", f"startHistoryId={start_history_id}")
        except GmailError as exc:
            if getattr(exc, "status", 0) == 404:
                return False
            raise
        return True

    def modify_thread(self, thread_id: str, add: list[str], remove: list[str]) -> dict:
        body = {"addLabelIds": add, "removeLabelIds": remove}
        return self.execute(self.users.threads().modify(userId="me", id=thread_id, body=body),
                            "gmail.users.threads.modify", thread_id)

    def modify_message(self, message_id: str, add: list[str], remove: list[str]) -> dict:
        body = {"addLabelIds": add, "removeLabelIds": remove}
        return self.execute(self.users.messages().modify(userId="me", id=message_id, body=body),
                            "gmail.users.messages.modify", message_id)

    def send(self, raw: bytes, thread_id: str | None = None) -> dict:
        import base64

        body = {"raw": base64.urlsafe_b64encode(raw).decode()}
        if thread_id:
            body["threadId"] = thread_id
        since = self.now() - SEND_CLOCK_SLACK  # what Sent got after this, the lost send may be among
        return self.execute(self.users.messages().send(userId="me", body=body), "gmail.users.messages.send",
                            thread_id or "", settled=self._already_there(raw, thread_id=thread_id,
                                                                         label=None if thread_id else "SENT",
                                                                         since=since))

    def _already_there(self, raw: bytes, scope: str = "", thread_id: str | None = None,
                       label: str | None = None, since: datetime | None = None) -> Callable[[], dict | None]:
        """A check for a message we wrote (by its Message-ID) having reached the mailbox anyway: in its thread
        first, or under ``label`` among the newest and those stored ``since`` (both read at once), then by search
        (whose index may lag a message sent a second ago)."""
        from email.parser import BytesHeaderParser

        message_id = (BytesHeaderParser().parsebytes(raw).get("Message-ID") or "").strip().strip("<>")

        def check() -> dict | None:
            if not message_id:
                return None
            try:
                found = self._in_thread(thread_id, message_id) if thread_id else None
                if found is None and label:
                    found = self._newest_under(label, message_id, since)
                if found is None:
                    refs = self.list_message_ids(q=f"{scope}rfc822msgid:{message_id}", max_results=1)
                    found = {"id": refs[0]["id"], "threadId": refs[0]["threadId"]} if refs else None
            except GmailError:
                return None  # cannot tell: the retry goes ahead
            return found
        return check

    def _in_thread(self, thread_id: str, message_id: str) -> dict | None:
        """``{id, threadId}`` of the message in ``thread_id`` whose Message-ID header is ``message_id``."""
        thread = self.execute(self.users.threads().get(userId="me", id=thread_id, format="metadata",
                                                       metadataHeaders=["Message-ID"]),
                              "gmail.users.threads.get", thread_id)
        for message in thread.get("messages", []):
            if _has_message_id(message, message_id):
                return {"id": message["id"], "threadId": message.get("threadId", thread_id)}
        return None

    def _newest_under(self, label: str, message_id: str, since: datetime | None = None) -> dict | None:
        """``{id, threadId}`` of the message whose Message-ID header is ``message_id`` under ``label``: a label's
        listing shows a message as soon as it is stored, unlike the search index. The newest ten are read, and
        then ten at a time back to the first stored before ``since`` (when the send began: in a busy mailbox agents
        sent more than ten while a retry waited), at most ``SENT_WALKED``; a retry only, never a normal send."""
        refs = self.list_message_ids(label_ids=[label], max_results=SENT_WALKED if since else NEWEST_CHECKED)
        for start in range(0, len(refs), NEWEST_CHECKED):
            mails = self.sent_headers(refs[start:start + NEWEST_CHECKED])
            for mail in mails:
                if mail.message_id.strip().strip("<>") == message_id:
                    return {"id": mail.id, "threadId": mail.thread_id}
            if since is None or any(mail.at < since for mail in mails):  # older than the send: it is not there
                return None
        return None

    def sent_headers(self, refs: list[dict]) -> list:
        """:class:`~plugin_host.sent.SentMail` of the listed messages ``refs`` (``{id, threadId}``), in their order,
        from their headers Message-ID, To and X-Labeldesk: one HTTP batch, 5 units a message. One deleted since it
        was listed is left out."""
        from .sent import sent_mail

        calls = [(self.users.messages().get(userId="me", id=ref["id"], format="metadata",
                                            metadataHeaders=["Message-ID", "To", "X-Labeldesk"]),
                  "gmail.users.messages.get") for ref in refs]
        found = []
        for ref, message in zip(refs, self.batch(calls) if calls else []):
            if isinstance(message, GmailError) and getattr(message, "status", 0) == 404:
                continue  # deleted since it was listed
            if isinstance(message, Exception):
                raise message
            found.append(sent_mail(ref, message))
        return found

    def insert(self, raw: bytes, label_ids: list[str], thread_id: str | None = None) -> dict:
        import base64

        body = {"raw": base64.urlsafe_b64encode(raw).decode(), "labelIds": label_ids}
        if thread_id:
            body["threadId"] = thread_id
        return self.execute(self.users.messages().insert(userId="me", body=body), "gmail.users.messages.insert",
                            settled=self._already_there(raw))

    def create_draft(self, raw: bytes, thread_id: str | None = None) -> dict:
        import base64

        message = {"raw": base64.urlsafe_b64encode(raw).decode()}
        if thread_id:
            message["threadId"] = thread_id
        found = self._already_there(raw, "in:drafts ", thread_id=thread_id)

        def settled() -> dict | None:  # the draft itself: its id is what opens it (the side panel's Insert)
            message = found()
            try:
                return self._draft_holding(message["id"]) if message else None
            except GmailError:
                return None  # cannot tell: the retry goes ahead
        return self.execute(self.users.drafts().create(userId="me", body={"message": message}),
                            "gmail.users.drafts.create", thread_id or "", settled=settled)

    def _draft_holding(self, message_id: str) -> dict | None:
        """``{id, message}`` of the draft whose message is ``message_id``, from the drafts list."""
        token = None
        while True:
            page = self.execute(self.users.drafts().list(userId="me", maxResults=500, pageToken=token),
                                "gmail.users.drafts.list")
            found = next((d for d in page.get("drafts", []) if d.get("message", {}).get("id") == message_id), None)
            if found is not None or not page.get("nextPageToken"):
                return found
            token = page["nextPageToken"]

    def watch(self, topic: str, label_ids: list[str] | None = None) -> dict:
        body = {"topicName": topic, "labelIds": label_ids or ["INBOX"], "labelFilterBehavior": "include"}
        return self.execute(self.users.watch(userId="me", body=body), "gmail.users.watch", topic)

    def stop_watch(self) -> None:
        """``users.stop``: Gmail publishes no more of this mailbox's changes."""
        self.execute(self.users.stop(userId="me"), "gmail.users.stop")

    def patch_send_as(self, send_as_email: str, body: dict) -> dict:
        return self.execute(self.users.settings().sendAs().patch(userId="me", sendAsEmail=send_as_email, body=body),
                            "gmail.users.settings.sendAs.patch", send_as_email)

    def list_tasklists(self) -> list[dict]:
        """Every task list of the mailbox's user, page by page."""
        return self._pages(lambda token: self.tasks.tasklists().list(maxResults=100, pageToken=token),
                           "items", "tasks.tasklists.list")

    def insert_tasklist(self, title: str) -> dict:
        return self.execute(self.tasks.tasklists().insert(body={"title": title}), "tasks.tasklists.insert", title,
                            settled=self._found(self.list_tasklists, lambda l: l.get("title") == title))

    def _found(self, listing: Callable[[], list[dict]], match: Callable[[dict], bool]) -> Callable[[], dict | None]:
        """A check for an insert (not idempotent in Tasks) having gone through though its response was lost."""
        def check() -> dict | None:
            try:
                return next((item for item in listing() if match(item)), None)
            except GmailError:
                return None  # cannot tell: the retry goes ahead
        return check

    def list_tasks(self, tasklist: str, show_completed: bool = True) -> list[dict]:
        """Every task of the list, page by page; hidden ones too (Google hides tasks completed in Gmail or
        the Tasks app unless asked), so finished escalations and existing keys are always seen."""
        return self._pages(lambda token: self.tasks.tasks().list(
            tasklist=tasklist, showCompleted=show_completed, showHidden=show_completed, maxResults=100,
            pageToken=token), "items", "tasks.tasks.list", tasklist)

    def insert_task(self, tasklist: str, body: dict) -> dict:
        def same(task: dict) -> bool:
            return (task.get("title"), task.get("notes") or "") == (body.get("title"), body.get("notes") or "")

        return self.execute(self.tasks.tasks().insert(tasklist=tasklist, body=body), "tasks.tasks.insert", tasklist,
                            settled=self._found(lambda: self.list_tasks(tasklist), same))

    def patch_task(self, tasklist: str, task: str, body: dict) -> dict:
        return self.execute(self.tasks.tasks().patch(tasklist=tasklist, task=task, body=body), "tasks.tasks.patch", task)

    def delete_task(self, tasklist: str, task: str) -> None:
        self.execute(self.tasks.tasks().delete(tasklist=tasklist, task=task), "tasks.tasks.delete", task)

    def read_threads(self, thread_ids: list[str]) -> list:
        """Each thread (``format=full``, 10 units) in HTTP batches; one Gmail could not give is a
        :class:`GmailError` in its place."""
        return self.batch([(self.users.threads().get(userId="me", id=thread_id, format="full"),
                            "gmail.users.threads.get") for thread_id in thread_ids])

    def trash_messages(self, message_ids: list[str]) -> list:
        """Move messages to the Trash (``messages.trash``, 5 units each, in HTTP batches), which Gmail empties after
        30 days; deleting at once would need the full ``https://mail.google.com/`` scope. A message Gmail did not
        trash is a :class:`GmailError` in its place."""
        return self.batch([(self.users.messages().trash(userId="me", id=message_id), "gmail.users.messages.trash")
                           for message_id in message_ids])

    # -- Drive: a folder of Google Docs as help articles --------------------------------------------

    def drive_folder_files(self, folder_id: str, max_depth: int = 5) -> list[dict]:
        """Every file in ``folder_id`` and its subfolders (every page of them), not in the trash, folders
        left out; shortcuts to folders are walked like folders, other shortcuts are returned as they are."""
        files, folders, seen = [], [(folder_id, 0)], set()
        while folders:
            folder, depth = folders.pop(0)
            if folder in seen:
                continue
            seen.add(folder)
            for file in self._drive_children(folder):
                target = file.get("shortcutDetails") or {}
                if file.get("mimeType") == DRIVE_FOLDER or target.get("targetMimeType") == DRIVE_FOLDER:
                    if depth < max_depth:
                        folders.append((target.get("targetId") or file["id"], depth + 1))
                else:
                    files.append(file)
        return files

    def _drive_children(self, folder: str) -> list[dict]:
        children, token = [], None
        while True:
            request = self.drive.files().list(q=f"'{folder}' in parents and trashed = false", pageSize=100,
                                              pageToken=token, fields=DRIVE_FILE_FIELDS, supportsAllDrives=True,
                                              includeItemsFromAllDrives=True)
            page = self.execute(request, "drive.files.list", f"folder {folder}")
            children += page.get("files", [])
            token = page.get("nextPageToken")
            if not token:
                return children

    def drive_file(self, file_id: str) -> dict:
        """One Drive file's id, name, mimeType, modifiedTime, webViewLink and trashed (a shortcut's target)."""
        return self.execute(self.drive.files().get(fileId=file_id, fields=DRIVE_FILE, supportsAllDrives=True),
                            "drive.files.get", f"file {file_id}")

    def export_document(self, file_id: str, mime_type: str = "text/plain") -> str:
        """A Google Doc exported as text: ``text/plain``, or ``text/markdown`` (headings, lists and links kept)."""
        data = self.execute(self.drive.files().export(fileId=file_id, mimeType=mime_type), "drive.files.export",
                            f"document {file_id}")
        return data.decode("utf-8-sig") if isinstance(data, bytes) else str(data)


# An address in a search (``in:sent to:jane@…``, the add-on's ``{from:… to:…}``); a Message-ID
# (``rfc822msgid:<CAGx=…@mail.gmail.com>``, which names no one's mailbox) is matched whole first and kept.
SEARCHED_ADDRESS = re.compile(r"(?P<message_id>rfc822msgid:\S+)|(?<![\w.+<-])[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.I)


def search_detail(q: str | None) -> str:
    """A search as retries and errors name it: the customers' addresses in it left out, since the log outlives a
    customer who asked to be forgotten (the method, the operators, the Message-IDs and the status are what an
    admin needs)."""
    return SEARCHED_ADDRESS.sub(lambda found: found["message_id"] or "…", q or "")
