"""The place-marker of a full sync, so that one stopped half-way goes on where it stopped at the next run.

A full sync (the first run, ``labeldesk sync --full``, a history id Gmail no longer keeps) lists the threads of
the last ``[mailbox] full_sync_days``, then reads and processes each. On a mailbox of thousands of threads that
takes hours at a new Cloud project's quota, and runs get stopped before the end: ``systemctl stop``, a deploy, a
crash, Gmail refusing for the rest of the day. ``<state>/full-sync.json`` keeps what the next run needs to go on:
the history id taken when the full sync began — the cursor it ends at, so mail that came while it ran or while it
was stopped is read from history after it — and the listed threads not done yet.

Why the listed thread ids and not Gmail's page token: the listing is ``messages.list``, whose pages hold messages
(a thread's messages lie on several pages, so going on from a page token would still need the ids already seen to
read each thread once); Gmail does not say how long a page token lives (Google's API guideline AIP-158 lets an API
expire them, naming no error); and the whole listing costs little (500 ids a call, 5 units) beside the reads it
saves (40 units a thread on a new project). The ids of 10,000 threads are some 200 kB.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError
from .files import write_private_json

log = logging.getLogger(__name__)
FILE = "full-sync.json"


@dataclass
class FullSync:
    """A full sync under way: begun at ``history_id``, ``left`` the listed threads not done yet (in listing
    order). Saved as ``<state>/full-sync.json`` (mode 0600) when it begins, after each batch of threads, and when
    a run stops."""

    path: Path
    mailbox: str
    history_id: str
    began_at: float  # epoch seconds
    listed: int  # threads the listing found
    left: list[str]
    settings: dict = field(default_factory=dict)  # what shaped the listing and the work (see ``shape``)
    _done: set[str] = field(default_factory=set, repr=False)

    @classmethod
    def begin(cls, state_dir: Path, mailbox: str, history_id: str, thread_ids: list[str], settings: dict,
              began_at: float | None = None) -> "FullSync":
        return cls(Path(state_dir) / FILE, mailbox, str(history_id), time.time() if began_at is None else began_at,
                   len(thread_ids), list(thread_ids), settings)

    @classmethod
    def load(cls, state_dir: Path, mailbox: str) -> tuple["FullSync | None", str]:
        """The full sync a run left unfinished, or None and why it cannot go on ("" when there is none)."""
        path = Path(state_dir) / FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None, ""
        except ValueError:
            return None, f"{path} is damaged"
        except OSError as exc:
            raise ConfigError("host.state_dir", f"{path} cannot be read ({exc.strerror or exc}): remove it or point "
                                                "state_dir at another folder") from None
        if not isinstance(data, dict):
            return None, f"{path} is damaged"
        history_id, left = data.get("history_id"), data.get("left")
        if not (isinstance(history_id, str) and history_id.isascii() and history_id.isdigit()) \
                or not isinstance(left, list) or not all(isinstance(t, str) for t in left):
            return None, f"{path} is damaged"
        if data.get("mailbox") != mailbox:
            return None, f"{path} belongs to {data.get('mailbox')}, not {mailbox}"
        listed = data.get("listed")
        listed = listed if type(listed) is int and listed >= len(left) else len(left)
        began = data.get("began_at")
        began = float(began) if isinstance(began, (int, float)) and not isinstance(began, bool) else 0.0
        settings = data.get("settings") if isinstance(data.get("settings"), dict) else {}
        return cls(path, mailbox, history_id, began, listed, left, settings), ""

    @property
    def stopped_at(self) -> int:
        """How many listed threads are done (the thread it stopped at, counting from 1, is the next one)."""
        return self.listed - len(self.left)

    def done(self, thread_id: str) -> None:
        """``thread_id`` was processed (or set aside): the next run need not read it again."""
        self._done.add(thread_id)

    @property
    def unsaved(self) -> bool:
        """Whether threads were done since the last save."""
        return bool(self._done)

    def save(self) -> None:
        if self._done:
            self.left = [t for t in self.left if t not in self._done]
            self._done.clear()
        try:
            write_private_json(self.path, {"mailbox": self.mailbox, "history_id": self.history_id,
                                           "began_at": self.began_at, "listed": self.listed,
                                           "settings": self.settings, "left": self.left})
        except OSError as exc:
            raise ConfigError("host.state_dir", f"{self.path} cannot be written ({exc.strerror or exc}): make the "
                                                "folder writable or point state_dir elsewhere") from None

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def shape(config) -> dict:
    """The settings a full sync's listing and work depend on: with others (a longer ``full_sync_days``, a plugin
    switched on since), going on would leave the threads done before as the old settings left them."""
    return {"full_sync_days": config.mailbox.full_sync_days, "plugins": sorted(config.enabled_plugins)}
