"""Seeded, deterministic fault injection for failure tests and benchmarks.

``FaultPlan(seed=1, error_rates={"gmail.users.messages.send": 0.5}, status=503)`` fails half the
sends; ``"*"`` applies to every method. ``latency_ms`` adds a delay; ``drop_push_rate`` loses push
notifications. ``fail_next(method_id, count, status)`` fails exactly the next calls (crash tests).
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from .errors import ApiError

MESSAGES = {500: ("Internal error encountered.", "backendError"),
            503: ("The service is currently unavailable.", "backendError"),
            429: ("User-rate limit exceeded.  Retry after 1s", "rateLimitExceeded")}


@dataclass
class FaultPlan:
    seed: int = 0
    error_rates: dict[str, float] = field(default_factory=dict)
    status: int = 503
    latency_ms: float = 0.0
    drop_push_rate: float = 0.0
    scheduled: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.injected = 0

    def fail_next(self, method_id: str, count: int = 1, status: int = 503) -> None:
        self.scheduled.setdefault(method_id, []).extend([status] * count)

    def before_call(self, method_id: str) -> None:
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        queue = self.scheduled.get(method_id)
        if queue:
            self._raise(queue.pop(0))
        rate = self.error_rates.get(method_id, self.error_rates.get("*", 0.0))
        if rate and self.rng.random() < rate:
            self._raise(self.status)

    def _raise(self, status: int) -> None:
        self.injected += 1
        message, reason = MESSAGES.get(status, ("Injected fault", "backendError"))
        headers = {"Retry-After": "1"} if status == 429 else {}
        raise ApiError(status, message, reason, headers=headers)

    def drop_push(self) -> bool:
        return bool(self.drop_push_rate) and self.rng.random() < self.drop_push_rate
