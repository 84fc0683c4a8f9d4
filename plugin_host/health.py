"""What ``labeldesk serve`` has done lately, for ``/healthz`` and ``/readyz``: when the last sync ran, whether it
succeeded, and why not.

A load balancer or an uptime check cannot read the log. ``/healthz`` answers 200 while the process serves
(liveness: restart it when this fails); ``/readyz`` answers 503 when the last sync failed or none has
succeeded for a while, so monitoring pages a human while Gmail refuses, the credentials were revoked or the
state folder cannot be written.

Both answer anyone who can reach the port, and ``serve`` binds a public address (Pub/Sub and the add-on must
reach it), so they say what kind of failure it was (``HTTP 503`` on which call, ``RefreshError``, the state
folder) and never the error's own text: that holds paths, addresses, thread ids, a plugin's message about a
customer's mail, or google-auth's copy of the token endpoint's answer. The log has it all, one line per round.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

STALE_POLLS = 3  # polls in a row without a successful sync before /readyz says so
LEAST_STALE_SECONDS = 300.0  # a 1-second poll interval must not page anyone over one slow sync


@dataclass
class SyncHealth:
    """The outcome of the syncs so far (push-triggered, polled or the first one), thread-safe."""

    poll_seconds: float = 60.0
    clock: Callable[[], float] = time.time
    started_at: float | None = None  # a sync is running since then
    last_at: float | None = None  # the last sync ended then
    last_ok_at: float | None = None
    last_error: str = ""
    failures: int = 0  # syncs in a row that failed

    def __post_init__(self):
        self._lock = threading.Lock()

    def began(self) -> None:
        with self._lock:
            self.started_at = self.clock()

    def skipped(self) -> None:
        """The sync did not run (another process held the mailbox): nothing learnt either way."""
        with self._lock:
            self.started_at = None

    def ended(self, error: str = "") -> None:
        """The sync ended: successfully when ``error`` is empty."""
        with self._lock:
            self.started_at, self.last_at = None, self.clock()
            self.last_error = error[:300]
            self.failures = self.failures + 1 if error else 0
            if not error:
                self.last_ok_at = self.last_at

    @property
    def stale_after(self) -> float:
        return max(STALE_POLLS * self.poll_seconds, LEAST_STALE_SECONDS)

    def problem(self) -> str:
        """Why the host is not ready, or "" when its last sync succeeded lately."""
        now = self.clock()
        if self.last_error:
            return f"the last {self.failures} sync(s) failed: {self.last_error}"
        if self.last_ok_at is None:
            return "the first sync has not finished yet"
        if self.started_at is None and now - self.last_ok_at > self.stale_after:
            return f"no sync for {now - self.last_ok_at:.0f} s (polling every {self.poll_seconds:.0f} s)"
        return ""

    def as_dict(self) -> dict:
        """JSON for the health endpoints: times in UTC ISO 8601, ``ok`` false when not ready."""
        with self._lock:
            problem = self.problem()
            return {"ok": not problem, "problem": problem or None, "last_sync_at": _iso(self.last_at),
                    "last_successful_sync_at": _iso(self.last_ok_at), "sync_running_since": _iso(self.started_at),
                    "failed_syncs_in_a_row": self.failures}


def public_reason(exc: BaseException) -> str:
    """What the health endpoints may say about a failed sync: the kind of failure, not its text."""
    from .errors import ConfigError, GmailError

    if isinstance(exc, GmailError):
        status, cause = getattr(exc, "status", 0), exc.__cause__
        how = f"HTTP {status}" if status else type(cause).__name__ if cause is not None else "no answer"
        return f"{getattr(exc, 'method', '') or 'a Google API call'} failed: {how}"
    if isinstance(exc, ConfigError):  # the key names the setting to look at; the problem may hold a path
        return f"{type(exc).__name__}: {exc.key} (see the log)"
    return f"{type(exc).__name__} (see the log)"


def _iso(when: float | None) -> str | None:
    return None if when is None else datetime.fromtimestamp(when, timezone.utc).isoformat(timespec="seconds")
