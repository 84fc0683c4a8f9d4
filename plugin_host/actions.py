"""Actions: what plugins want done, recorded as data and executed only by the host.

A plugin receives an :class:`Actions` recorder bound to one ticket and calls its methods. The
executor (:mod:`plugin_host.executor`) merges them per thread, runs every outgoing message
through the loop guard and executes them idempotently; ``--dry-run`` prints them instead.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .ticket import is_plain_address


@dataclass(frozen=True)
class LabelChange:
    """Add and remove label names (under the root unless already full names) on a thread."""

    thread_id: str
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reply:
    """An automatic reply into a thread (acknowledgement, notice) — passes the loop guard.

    ``key`` makes it idempotent: the executor stamps ``X-Labeldesk: <key>`` and a deterministic
    Message-ID, and skips the send when the thread already holds a message with that key.
    """

    thread_id: str
    in_reply_to: str  # Gmail message id of the message answered
    to: str
    subject: str
    text: str
    html: str | None = None
    key: str = "reply"
    from_name: str = ""
    reply_kind: str = "acknowledgement"  # acknowledgement is subject to the per-sender window
    # Labels that say this reply went out ("Acknowledged"): added once it is sent or already in the thread,
    # never when the loop guard holds it back (the thread gets "Auto-reply suppressed" instead).
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Draft:
    """A draft reply prepared for an agent in the thread."""

    thread_id: str
    in_reply_to: str
    to: str
    subject: str
    text: str
    key: str = "draft"
    html: str | None = None  # an HTML alternative to ``text``
    cc: tuple[str, ...] = ()  # the others the customer wrote to (Reply all), never our own addresses


@dataclass(frozen=True)
class Task:
    """A Google Task (escalation); ``key`` in the notes keeps it from being created twice.
    With ``again_when_done`` a new one is made when every task with the key is completed
    (a problem that came back after it was fixed)."""

    title: str
    notes: str
    due: date | None = None
    tasklist: str = "Labeldesk"
    key: str = ""
    thread_id: str = ""
    again_when_done: bool = False


@dataclass(frozen=True)
class TaskDone:
    """Complete the open Google Tasks of ``tasklist`` that carry one of these keys, each with its line appended
    to the notes saying why ("Answered by Anna Kowalska on 2026-12-07 14:05 CET"). A task already completed
    (by a person, or before) or deleted is left as it is: nothing is reopened or completed twice.
    ``remove_labels`` come off the thread only once no such task is left open (a failure keeps them, the record
    that a later run must try again)."""

    tasklist: str
    reasons: tuple[tuple[str, str], ...]  # (key, the line to append)
    thread_id: str = ""
    remove_labels: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return ",".join(key for key, _ in self.reasons)


@dataclass(frozen=True)
class Notification:
    """Tell a person something: by email (``channel='email'``) or a chat webhook URL."""

    to: str
    subject: str
    text: str
    channel: str = "email"
    key: str = ""
    thread_id: str = ""
    # Keys of the earlier notifications of the same conversation, oldest first (an SLA breach notice follows the
    # ticket's at-risk notice): an email answers those that went out (In-Reply-To, References, Gmail's thread).
    follows: tuple[str, ...] = ()


Action = LabelChange | Reply | Draft | Task | TaskDone | Notification


@dataclass
class Actions:
    """Records the actions plugins want for one ticket (or for none, e.g. a homepage button)."""

    thread_id: str = ""
    label_root: str = "Helpdesk"
    recorded: list[Action] = field(default_factory=list)
    source: str = ""  # the plugin currently recording, set by the host for logs
    # The event hook and message being handled ("on_ticket_opened:<message id>"), set by the host: a reply, draft,
    # task or notification recorded without a key gets one naming the plugin, the event and the message, so a
    # ticket tried again (another plugin raised, Gmail failed half-way) does not do it twice.
    event: str = ""

    def add_labels(self, *names: str) -> None:
        self.recorded.append(LabelChange(self.thread_id, add=label_names(names)))

    def remove_labels(self, *names: str) -> None:
        self.recorded.append(LabelChange(self.thread_id, remove=label_names(names)))

    def reply(self, **fields) -> None:
        fields.setdefault("thread_id", self.thread_id)
        self.recorded.append(Reply(**self._keyed("reply", fields)))

    def draft(self, **fields) -> None:
        fields.setdefault("thread_id", self.thread_id)
        self.recorded.append(Draft(**self._keyed("draft", fields)))

    def task(self, **fields) -> None:
        fields.setdefault("thread_id", self.thread_id)
        self.recorded.append(Task(**self._keyed("task", fields)))

    def complete_tasks(self, **fields) -> None:
        fields.setdefault("thread_id", self.thread_id)
        self.recorded.append(TaskDone(**fields))

    def notify(self, **fields) -> None:
        fields.setdefault("thread_id", self.thread_id)
        if fields.get("channel", "email") == "email" and not is_plain_address(fields.get("to", "")):
            raise ValueError(f"notify(to={fields.get('to')!r}): an email notification goes to one plain address "
                             "(or give channel= a chat webhook URL)")
        self.recorded.append(Notification(**self._keyed("notify", fields)))

    def _keyed(self, kind: str, fields: dict) -> dict:
        """``fields`` with a key of the event's own when an event hook gave none (see ``event``); the n-th keyless
        action of a kind is ``<plugin>:<event>:<message id>:<kind><n>``, the same at every try of the ticket."""
        if self.event and not fields.get("key"):
            # Counting only these (not the plugin's keyed ones, which may come and go between tries) keeps the n-th
            # keyless action's key the same at every try.
            own = f"{self.source}:{self.event}:{kind}"
            n = 1 + sum(str(getattr(a, "key", "")).startswith(own) for a in self.recorded)
            fields["key"] = f"{own}{n}"
        return fields

    def __iter__(self):
        return iter(self.recorded)

    def __len__(self) -> int:
        return len(self.recorded)


def label_names(names) -> tuple[str, ...]:
    """``names`` as recorded, each one a label Gmail can make: a string of ``/``-separated levels, none empty or with
    blanks around it (Gmail trims them, so the name would never be found again) nor a control character. A mistake
    is refused here, in the plugin's own hook, which the host then names, not later in the executor, when the
    thread's other labels would fail with it."""
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"label name {name!r}: a string, one per argument (add_labels(\"VIP\", \"Priority/High\"))")
        if any(not level or level != level.strip() for level in name.split("/")) or \
                any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
            raise ValueError(f"label name {name!r}: levels separated by single '/', none empty, no blanks around "
                             "them, no control characters")
    return tuple(names)
