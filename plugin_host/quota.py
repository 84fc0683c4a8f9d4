"""The two tables of Gmail quota units per API method (a Cloud project's), and a per-mailbox token bucket, shared
by every Labeldesk process on the state folder (``SharedBucket``: Gmail counts one user's units whoever spends them).

Google changed the Gmail API's usage limits on 1 May 2026 (Gmail "Usage limits" page): Cloud projects created
from then on ("new") pay more for reading mail and may spend 6,000 units per user per minute; projects that used
the Gmail API between November 2025 and April 2026 ("old") keep 15,000 units per user per minute and the costs
before. Every install made today has a new project, so "new" is the default (``[mailbox] quota_table``).

Units marked (ref) are from ../shared/reference/gmail-api.md; the others are Google's published
per-method costs (Gmail "Usage limits" page), and Tasks calls are counted as 1 unit each (Tasks has
a request quota rather than units).
"""
from __future__ import annotations

import errno
import json
import logging
import math
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)

OLD: dict[str, int] = {
    "gmail.users.getProfile": 1,
    "gmail.users.watch": 100,  # (ref)
    "gmail.users.stop": 50,
    "gmail.users.history.list": 2,  # (ref)
    "gmail.users.labels.list": 1,
    "gmail.users.labels.get": 1,
    "gmail.users.labels.create": 5,
    "gmail.users.labels.patch": 5,
    "gmail.users.labels.update": 5,
    "gmail.users.labels.delete": 5,
    "gmail.users.messages.list": 5,
    "gmail.users.messages.get": 5,  # (ref)
    "gmail.users.messages.attachments.get": 5,
    "gmail.users.messages.send": 100,  # (ref)
    "gmail.users.messages.insert": 25,
    "gmail.users.messages.import": 25,
    "gmail.users.messages.modify": 5,  # (ref)
    "gmail.users.messages.batchModify": 50,  # (ref)
    "gmail.users.messages.batchDelete": 50,
    "gmail.users.messages.trash": 5,
    "gmail.users.messages.untrash": 5,
    "gmail.users.messages.delete": 10,
    "gmail.users.threads.list": 10,
    "gmail.users.threads.get": 10,  # (ref)
    "gmail.users.threads.modify": 10,
    "gmail.users.threads.trash": 10,
    "gmail.users.threads.untrash": 10,
    "gmail.users.threads.delete": 20,
    "gmail.users.drafts.create": 10,  # (ref)
    "gmail.users.drafts.get": 5,
    "gmail.users.drafts.list": 5,
    "gmail.users.drafts.update": 15,
    "gmail.users.drafts.send": 100,
    "gmail.users.drafts.delete": 10,
    "gmail.users.settings.sendAs.list": 1,
    "gmail.users.settings.sendAs.get": 1,
    "gmail.users.settings.sendAs.patch": 100,
    "gmail.users.settings.sendAs.update": 100,
}
# What a project created from May 2026 pays where it differs: messages.get 20 (ref); drafts.get,
# messages.attachments.get and messages.trash 20 (Google's table); threads.get 40 (Google's table as Nylas's
# "Gmail API quotas and limits in 2026" quotes it; the copy of Google's page at hand ends before threads.*).
NEW: dict[str, int] = {**OLD, "gmail.users.messages.get": 20, "gmail.users.drafts.get": 20,
                       "gmail.users.messages.attachments.get": 20, "gmail.users.messages.trash": 20,
                       "gmail.users.threads.get": 40}
TABLES: dict[str, dict[str, int]] = {"new": NEW, "old": OLD}
PER_USER_PER_MINUTE = {"new": 6_000, "old": 15_000}  # (ref) Gmail's per-user limit, the ceiling of one mailbox
DEFAULT_TABLE = "new"
UNITS = NEW  # the default table
TASKS_UNITS = 1
DEFAULT_UNITS = 5
LARGEST_CALL = 100  # messages.send, watch: the bucket must hold one
LOWEST_RATE = 10.0  # slowing down stops here: a send (100 units) waits 10 s
RECOVERY_SECONDS = 60.0  # Gmail counts units per minute


def units_for(method_id: str, table: str = DEFAULT_TABLE) -> int:
    """Quota units one call of ``method_id`` (a discovery id like ``gmail.users.messages.get``) costs a Cloud
    project on ``table`` ("new": created from May 2026; "old")."""
    units = TABLES[table]
    if method_id in units:
        return units[method_id]
    if method_id.startswith("tasks."):
        return TASKS_UNITS
    if method_id.startswith(("drive.", "directory.")):
        return 0  # Drive and the Admin SDK have their own request quotas; they do not spend Gmail units
    return DEFAULT_UNITS


def bucket_for(settings, local: bool = False, clock: Callable[[], float] | None = None,
               sleep: Callable[[float], None] = time.sleep, state_dir: Path | str | None = None) -> "TokenBucket":
    """The token bucket of a mailbox (``MailboxSettings``): Gmail counts units per user per minute, so the bucket
    never lets a minute hold more than the project's limit (its capacity plus a minute at its rate): by default 85%
    of the limit's rate (85 units/s on a new project, 212.5 on an old one) and 15% of a minute's units at once
    (900, 2,250: an HTTP batch is sent when its calls' units are there, so it holds at most that).
    A local mailbox has no limit unless ``quota_units_per_second`` asks for one.

    With ``state_dir`` the bucket is the one every Labeldesk process on that state folder shares
    (:class:`SharedBucket`): ``serve`` and a cron sweep together keep under the limit, not each by itself."""
    limit = PER_USER_PER_MINUTE[settings.quota_table]
    rate = settings.quota_units_per_second or (1e9 if local else 0.85 * limit / 60)
    if rate >= 1e9:
        return TokenBucket(rate, capacity=rate, clock=clock or time.monotonic, sleep=sleep)
    capacity = max(LARGEST_CALL, limit - 60 * rate)
    if state_dir is not None:
        return SharedBucket(state_dir, settings.address, rate, capacity, clock=clock or time.time, sleep=sleep)
    return TokenBucket(rate, capacity=capacity, clock=clock or time.monotonic, sleep=sleep)


class TokenBucket:
    """Quota units per second for one mailbox; ``take`` waits until the units are available."""

    def __init__(self, rate_units_per_s: float = 250.0, capacity: float | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        if rate_units_per_s <= 0:
            raise ValueError("rate_units_per_s must be positive")
        self.rate = float(rate_units_per_s)
        self.capacity = float(capacity if capacity is not None else rate_units_per_s)
        self.clock, self.sleep = clock, sleep
        self.tokens = self.capacity
        self.updated = clock()
        self.lock = threading.Lock()
        self.waited = 0.0
        self.full_rate = self.rate  # what slow_down comes back to
        self.slowed_at: float | None = None

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.slowed_at is not None and now - self.slowed_at >= RECOVERY_SECONDS:  # a minute without refusal
            self.rate = min(self.full_rate, self.rate + self.full_rate / 10)
            self.slowed_at = None if self.rate == self.full_rate else now

    def slow_down(self) -> tuple[float, float]:
        """Gmail refused for its per-user (or project) rate: spend nothing more now, and half as fast from now on,
        a tenth of the full rate back after each minute without a refusal. Returns (rate before, rate now)."""
        with self.lock:
            return self._slow_down()

    def _slow_down(self) -> tuple[float, float]:
        self._refill()
        before = self.rate
        self.rate = max(min(LOWEST_RATE, self.full_rate), self.rate / 2)
        self.tokens = min(self.tokens, 0.0)
        self.slowed_at = self.clock()
        return before, self.rate

    def take(self, units: float) -> float:
        """Consume ``units`` (capped at capacity), sleeping as needed; returns seconds waited."""
        units = min(float(units), self.capacity)
        waited = 0.0
        with self.lock:
            while True:
                self._refill()
                if self.tokens >= units - 1e-6:  # float rounding: a wait of 1e-16 s would not move the clock
                    self.tokens -= units
                    self.waited += waited
                    return waited
                delay = (units - self.tokens) / self.rate
                self.sleep(delay)
                waited += delay


class SharedBucket(TokenBucket):
    """The token bucket of one mailbox shared by every Labeldesk process on its state folder: ``serve``, cron's
    ``labeldesk sweep`` and ``sync``, and an admin's ``kb gaps``, ``forget`` or ``agents sync`` spend one user's
    Gmail quota, so its units, rate and slowing live in ``<state>/quota.json``, read and written under an
    exclusive ``flock`` of the file for each call or HTTP batch.

    A call reserves its units at once, however far that takes the bucket below empty, and its process then sleeps
    off its share outside the lock: the others reserve behind it. A process that dies holding a reservation wasted
    no more than those units (at most the capacity, some ten seconds of the rate), which the bucket refills as ever;
    the operating system frees the lock of a killed process. Times are the wall clock's: a time ahead of the clock
    (set back, or another machine's) counts as now.

    A state folder whose file system takes no locks (or a file that cannot be written) leaves the process pacing
    itself alone, as before it shared, said once; a lock another process holds too long (stopped, not ended) is
    passed over for that call, said once too."""

    FILE = "quota.json"
    LOCK_WAIT_SECONDS = 5.0  # the lock is held for one small read and write, never across a call or a sleep

    def __init__(self, state_dir: Path | str, mailbox: str, rate_units_per_s: float, capacity: float,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep):
        super().__init__(rate_units_per_s, capacity=capacity, clock=clock, sleep=sleep)
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / self.FILE
        self.mailbox = mailbox.lower()
        self.shared = True  # False once the state folder could not be locked: this process paces itself alone
        self._said_busy = False

    def take(self, units: float) -> float:
        """Reserve ``units`` (capped at capacity) in the shared bucket, then sleep until they are there; returns
        seconds waited."""
        units = min(float(units), self.capacity)
        with self.lock, self._ledger():
            self._refill()
            self.tokens -= units
            delay = max(0.0, -self.tokens / self.rate)
            self.waited += delay
        if delay > 1e-9:
            self.sleep(delay)
        return delay

    def slow_down(self) -> tuple[float, float]:
        with self.lock, self._ledger():
            return self._slow_down()

    def _refill(self) -> None:
        now = self.clock()
        self.updated = min(self.updated, now)  # written ahead of this clock: from now on
        if self.slowed_at is not None:
            self.slowed_at = min(self.slowed_at, now)
        super()._refill()

    # -- the file --------------------------------------------------------------------------------

    @contextmanager
    def _ledger(self):
        """``quota.json`` locked and this mailbox's bucket read from it for the block, written back after it; this
        process's own copy alone when the state folder cannot share it."""
        fd = self._locked()
        if fd is None:
            yield
            return
        try:
            data = self._load(fd)
            yield
            try:
                self._save(fd, data)
            except OSError as exc:  # a full disk: what this process reserved is not shared, nor from now on
                self._alone(exc)
        finally:
            os.close(fd)  # and with it the lock

    def _locked(self) -> int | None:
        """``quota.json`` open and locked (``flock``, as filelock locks sync.lock); None when the state folder cannot
        share the bucket (said once). Written by hand rather than with filelock: this lock is taken for every Gmail
        call, and filelock's acquire and release cost 0.5 ms, where this with the read and the write costs 0.08."""
        if not self.shared:
            return None
        try:
            import fcntl
        except ImportError as exc:  # no flock (Windows)
            self._alone(exc)
            return None
        try:
            # never through a link planted in the folder: the host would write into a file of someone else's choosing
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except OSError as exc:
            self._alone(exc)
            return None
        deadline = time.monotonic() + self.LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):  # ENOLCK: NFS without lockd
                    os.close(fd)
                    self._alone(exc)
                    return None
            if time.monotonic() >= deadline:
                os.close(fd)
                if not self._said_busy:
                    self._said_busy = True
                    log.warning("%s was locked by another Labeldesk process for over %.0f s (stopped?); this process "
                                "paces its Gmail calls by itself while it is", self.path, self.LOCK_WAIT_SECONDS)
                return None
            time.sleep(0.001)  # real time, whatever clock the bucket counts by: the lock is held for microseconds

    def _alone(self, exc: BaseException) -> None:
        self.shared = False
        log.warning("%s cannot be shared (%s): this process keeps under Gmail's per-user limit by itself, not "
                    "together with the other Labeldesk processes on %s, so two at once (`serve` and a cron sweep) "
                    "may meet Gmail's refusals; put [host] state_dir on a local disk", self.path,
                    getattr(exc, "strerror", None) or str(exc) or type(exc).__name__, self.mailbox)

    def _load(self, fd: int) -> dict:
        """The whole file (other mailboxes' buckets are kept); this mailbox's bucket into this object. A missing or
        damaged entry leaves this process's own copy, which is written back."""
        try:
            data = json.loads(os.pread(fd, 1 << 20, 0) or b"{}")
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        mine = data.get(self.mailbox)
        try:
            tokens, updated, rate = float(mine["units"]), float(mine["at"]), float(mine["rate"])
            slowed_at = None if mine.get("slowed_at") is None else float(mine["slowed_at"])
        except (TypeError, KeyError, ValueError):
            return data
        if not all(math.isfinite(v) for v in (tokens, updated, rate, slowed_at or 0.0)) or rate <= 0:
            return data
        self.tokens = min(tokens, self.capacity)
        self.updated = updated
        self.rate = max(min(LOWEST_RATE, self.full_rate), min(rate, self.full_rate))
        self.slowed_at = slowed_at
        return data

    def _save(self, fd: int, data: dict) -> None:
        """Written in place, under the lock every reader takes (a temporary file renamed over it, as the other state
        files are written, cost 0.5 ms a Gmail call). A write cut short (a kill, a power cut) leaves a damaged file,
        which the next process reads as its own full bucket: at worst one minute's units at once, refused once."""
        data[self.mailbox] = {"units": self.tokens, "at": self.updated, "rate": self.rate, "slowed_at": self.slowed_at}
        text = json.dumps(data).encode()
        os.pwrite(fd, text, 0)
        os.ftruncate(fd, len(text))
