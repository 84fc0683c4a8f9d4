"""Virtual seconds shared by several Labeldesk "processes" run as threads on one mailbox and state folder.

A process's sleeps (the quota bucket's waits, Gmail's backoff) move the clock only when every process sleeps:
the clock then jumps to the earliest wake-up, as real time would pass for processes side by side. Nothing waits
for real, so a run of minutes of Gmail's quota takes a second. A sleep from a thread that is none of the
processes (a test's set-up) simply moves the clock on. ``benchmarks/multi_process_quota.py`` loads this file too.
"""
from __future__ import annotations

import threading
from typing import Callable

REAL_SECONDS_ALLOWED = 120.0  # a run that stalls this long (a process blocked on a lock another holds asleep) fails


class SharedVirtualTime:
    def __init__(self, start: float = 0.0):
        self.now = start
        self._cond = threading.Condition()
        self._processes: set[int] = set()
        self._running = 0
        self._wakes: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._cond:
            if threading.get_ident() not in self._processes:
                self.now += max(0.0, seconds)
                return
            wake = self.now + max(seconds, 1e-6)  # a wait of 1e-16 s would not move a clock at 100 s (float)
            self._wakes.append(wake)
            self._running -= 1
            self._advance()
            while self.now < wake:
                if not self._cond.wait(REAL_SECONDS_ALLOWED):
                    raise RuntimeError("virtual time stalled: a process waits on something another holds asleep")
            self._wakes.remove(wake)
            self._running += 1

    def _advance(self) -> None:
        if self._running == 0 and self._wakes:
            self.now = max(self.now, min(self._wakes))
            self._cond.notify_all()

    def run(self, *processes: Callable[[], object]) -> list:
        """Run each of ``processes`` in a thread of its own at once; their results (or exceptions) in order."""
        results: list = [None] * len(processes)
        started = threading.Barrier(len(processes) + 1)

        def body(index: int, process: Callable[[], object]) -> None:
            with self._cond:
                self._processes.add(threading.get_ident())
                self._running += 1
            started.wait()
            try:
                results[index] = process()
            except BaseException as exc:  # handed back to the test, which says what it expected
                results[index] = exc
            finally:
                with self._cond:
                    self._processes.discard(threading.get_ident())
                    self._running -= 1
                    self._advance()

        threads = [threading.Thread(target=body, args=(i, p), daemon=True) for i, p in enumerate(processes)]
        for thread in threads:
            thread.start()
        started.wait()  # every process counts as running before any of them may sleep
        for thread in threads:
            thread.join(REAL_SECONDS_ALLOWED)
            if thread.is_alive():
                raise RuntimeError("a process did not finish: virtual time stalled")
        return results
