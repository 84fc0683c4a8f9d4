"""The two tables of Gmail quota units per API method (a Cloud project's), and a per-mailbox token bucket.

Google changed the Gmail API's usage limits on 1 May 2026 (Gmail "Usage limits" page): Cloud projects created
from then on ("new") pay more for reading mail and may spend 6,000 units per user per minute; projects that used
the Gmail API between November 2025 and April 2026 ("old") keep 15,000 units per user per minute and the costs
before. Every install made today has a new project, so "new" is the default (``[mailbox] quota_table``).

Units marked (ref) are from ../shared/reference/gmail-api.md; the others are Google's published
per-method costs (Gmail "Usage limits" page), and Tasks calls are counted as 1 unit each (Tasks has
a request quota rather than units).
"""
from __future__ import annotations

import threading
import time
from typing import Callable

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


def bucket_for(settings, local: bool = False, clock: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], None] = time.sleep) -> "TokenBucket":
    """The token bucket of a mailbox (``MailboxSettings``): Gmail counts units per user per minute, so the bucket
    never lets a minute hold more than the project's limit (its capacity plus a minute at its rate): by default 85%
    of the limit's rate (85 units/s on a new project, 212.5 on an old one) and 15% of a minute's units at once
    (900, 2,250: an HTTP batch is sent when its calls' units are there, so it holds at most that).
    A local mailbox has no limit unless ``quota_units_per_second`` asks for one."""
    limit = PER_USER_PER_MINUTE[settings.quota_table]
    rate = settings.quota_units_per_second or (1e9 if local else 0.85 * limit / 60)
    capacity = max(LARGEST_CALL, limit - 60 * rate) if rate < 1e9 else rate
    return TokenBucket(rate, capacity=capacity, clock=clock, sleep=sleep)


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
