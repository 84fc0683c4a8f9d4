"""The alert budget: at most ``[host] alerts_per_hour`` notifications (email or chat) from automatic runs.

Every notification email goes out from the support mailbox itself, and Google Workspace lets one mailbox send
about 2,000 messages a day; a Google Chat space takes about one webhook post a second. Installed on an inbox
with a backlog, the first full sync and sweep find every overdue open ticket at once (1,373 breached tickets in
``benchmarks/scale.py``: some 2,700 alerts), which would spend the mailbox's day of sending on alerts and leave
customers without acknowledgements and agents unable to answer as support@. So syncs and sweeps send at most
``alerts_per_hour`` notifications in any hour (a rolling hour); one over that is held back, not lost: its
idempotency key stays free, and a later sweep sends it if the plugin still asks for it. An alert an agent's
button asked for is never held back, and counts like any other.

The send times live in ``<state>/alerts-sent.json`` (mode 0600, replaced atomically, pruned to the last hour),
so ``serve`` and cron's ``labeldesk sweep`` processes share one budget across restarts; ``alerts.lock`` (a
``filelock`` lock, like the sync's and the sweep's) guards its read-modify-write. A slot is taken just before the
send as *pending*, owned by this process, and then recorded as sent (``went_out``) or given back (``give_back``).
A pending slot whose process has ended (killed between the two: kill -9, OOM, a deploy) no longer counts, so a
restart does not keep it reserved for the rest of the hour.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .errors import LabeldeskError

log = logging.getLogger(__name__)
HOUR = 3600.0
LOCK_WAIT_SECONDS = 30.0  # the lock is held for one small read and write, never across a send
# Who holds a pending slot: this machine, this process, and a token that tells this process from an earlier one
# that had the same pid.
PROCESS = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class AlertBudgetBusy(LabeldeskError):
    """Another process held the alert budget's lock far longer than a small file's read and write take."""


@dataclass(frozen=True)
class Slot:
    """The budget's answer for one notification: ``granted`` with the send time it recorded (``stamp``, given back
    if the send fails), or held back; ``sent`` alerts were counted in the last hour before it."""

    granted: bool
    sent: int
    stamp: float = 0.0


class AlertBudget:
    """The notifications sent in the last hour, shared through a file in the state folder by every process."""

    FILE = "alerts-sent.json"
    _lock = threading.Lock()  # the feed, the sweep and add-on requests send from their own threads

    def __init__(self, state_dir: Path | str, limit: int):
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / self.FILE
        self.limit = limit
        self._warned_damaged = False

    def sent(self, now: datetime) -> int:
        """How many alerts went out in the hour before ``now`` (reads only: dry runs, the fast refusal)."""
        sent, pending = self._load()
        return len(self._counted(sent, pending, now.timestamp()))

    def reason(self, sent: int) -> str:
        """Why an alert is held back, as the outcome and the log say it."""
        return (f"{sent} alerts in the last hour, limit alerts_per_hour = {self.limit}; "
                "the next sweep sends it if it is still due")

    def take(self, now: datetime, by_agent: bool = False) -> Slot:
        """Count one alert about to go out at ``now``, unless the hour's budget is spent and no agent asked for it
        (an agent's alert always goes out and is counted, uncounted with a warning when the state folder cannot
        take the write). A refusal costs no lock and no write."""
        if not self.limit:
            return Slot(True, 0)
        if not by_agent:
            sent = self.sent(now)
            if sent >= self.limit:
                return Slot(False, sent)
        stamp = now.timestamp()
        try:
            with self._exclusive():  # another process may have sent since the read above: count again under the lock
                sent, pending = self._load()
                counted = self._counted(sent, pending, stamp)
                if len(counted) >= self.limit and not by_agent:
                    return Slot(False, len(counted))
                self._save(self._recent(sent, stamp), self._live(pending, stamp) + [[stamp, PROCESS]])
        except (OSError, AlertBudgetBusy) as exc:
            if not by_agent:  # the budget is the safeguard of automatic alerts: none goes out uncounted
                raise
            # An agent's alert is never held back, so a full disk or a stuck lock does not stop it either.
            log.warning("an agent's alert goes out not counted against alerts_per_hour: %s", exc)
            return Slot(True, 0)
        return Slot(True, len(counted), stamp)

    def went_out(self, slot: Slot) -> None:
        """The alert of ``slot`` was sent: its pending slot becomes a send time, which counts for the hour whatever
        becomes of this process."""
        self._settle(slot, sent=True)

    def give_back(self, slot: Slot) -> None:
        """The alert of ``slot`` did not go out (a webhook down, Gmail refused): it no longer counts."""
        self._settle(slot, sent=False)

    def _settle(self, slot: Slot, sent: bool) -> None:
        """Take ``slot`` off the pending list: into the send times if its alert was ``sent``, else out of the file
        (from the send times too, where a slot already stands there)."""
        if not (self.limit and slot.granted and slot.stamp):
            return
        with self._exclusive():
            times, pending = self._load()
            if [slot.stamp, PROCESS] in pending:
                pending.remove([slot.stamp, PROCESS])
            elif not sent and slot.stamp in times:
                times.remove(slot.stamp)
            elif not sent:
                return
            times = times + [slot.stamp] if sent else times
            self._save(self._recent(times, slot.stamp), self._live(pending, slot.stamp))

    # -- the file --------------------------------------------------------------------------------

    @staticmethod
    def _recent(times: list[float], now: float) -> list[float]:
        """The times within an hour of ``now``; one further ahead is from a clock set wrong, and is dropped
        rather than blocking alerts for as long as the clock was off."""
        return sorted(t for t in times if now - HOUR < t < now + HOUR)

    @classmethod
    def _live(cls, pending: list[list], now: float) -> list[list]:
        """The pending slots of the last hour whose process still runs (it may be sending their alerts)."""
        recent = set(cls._recent([stamp for stamp, _ in pending], now))
        return [[stamp, owner] for stamp, owner in pending if stamp in recent and running(owner)]

    @classmethod
    def _counted(cls, sent: list[float], pending: list[list], now: float) -> list[float]:
        """What counts against the budget at ``now``: the last hour's send times and live pending slots."""
        return cls._recent(sent, now) + [stamp for stamp, _ in cls._live(pending, now)]

    def _load(self) -> tuple[list[float], list[list]]:
        """(send times, pending slots as ``[time, owner]``)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return [], []
        except (OSError, ValueError) as exc:
            return self._damaged(f"cannot be read ({type(exc).__name__})")
        times = data.get("sent") if isinstance(data, dict) else None
        pending = data.get("pending", []) if isinstance(data, dict) else None  # none in files before review 30
        if not isinstance(times, list) or not all(_is_time(t) for t in times):
            return self._damaged("does not hold a list of send times")
        if not isinstance(pending, list) or not all(isinstance(p, list) and len(p) == 2 and _is_time(p[0])
                                                    and isinstance(p[1], str) for p in pending):
            return self._damaged("does not hold a list of pending alerts")
        return [float(t) for t in times], [[float(t), owner] for t, owner in pending]

    def _damaged(self, problem: str) -> tuple[list[float], list[list]]:
        """A damaged file counts as no alert sent (the budget then allows one more hour's worth); the next
        alert that goes out writes it anew."""
        if not self._warned_damaged:
            self._warned_damaged = True
            log.warning("%s %s; counted as no alert sent in the last hour (it is written anew with the next alert)",
                        self.path, problem)
        return [], []

    def _save(self, times: list[float], pending: list[list]) -> None:
        from .files import write_private_json

        write_private_json(self.path, {"sent": times, "pending": pending})
        self._warned_damaged = False

    @contextmanager
    def _exclusive(self):
        """This process's threads one at a time, then ``alerts.lock`` between processes."""
        from filelock import FileLock, Timeout

        with AlertBudget._lock:
            self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            lock = FileLock(self.state_dir / "alerts.lock", mode=0o600)
            try:
                lock.acquire(timeout=LOCK_WAIT_SECONDS)
            except Timeout:
                raise AlertBudgetBusy(f"{lock.lock_file} was held by another Labeldesk process for over "
                                      f"{LOCK_WAIT_SECONDS:.0f} s; the alert was not sent, the next run tries again") \
                    from None
            try:
                yield
            finally:
                lock.release()


def _is_time(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def running(owner: str) -> bool:
    """Whether the process that took a pending slot (``PROCESS`` there) still runs. One on another machine, or
    where this cannot be told (not POSIX), counts as running: its slot then counts for the hour, as a sent one."""
    try:
        host, pid_text, token = owner.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return True
    mine_host, mine_pid, mine_token = PROCESS.rsplit(":", 2)
    if host != mine_host or os.name != "posix":  # Windows' os.kill(pid, 0) would end the process
        return True
    if pid == int(mine_pid):
        return token == mine_token  # an earlier process with this pid has ended
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # alive, another user's
        return True
    return True
