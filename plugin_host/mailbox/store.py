"""The local mailbox's state: messages, threads, labels, drafts, history, settings and tasks.

Pure in-memory model with Gmail's semantics (ids, threading, label rules, history records with
expiring ids); the HTTP layer in :mod:`plugin_host.mailbox.app` turns requests into calls here.
State can be saved to and loaded from a directory (one JSON document, replaced atomically), so a
``mailbox serve --data DIR`` survives a restart.
"""
from __future__ import annotations

import base64
import json
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from . import mime
from .errors import ApiError
from .index import SearchIndex

SYSTEM_LABELS = ("INBOX", "SENT", "UNREAD", "STARRED", "IMPORTANT", "TRASH", "SPAM", "DRAFT",
                 "CHAT", "CATEGORY_PERSONAL", "CATEGORY_SOCIAL", "CATEGORY_PROMOTIONS",
                 "CATEGORY_UPDATES", "CATEGORY_FORUMS")
# Labels a client may not put on a message by itself (Gmail answers 400 invalidArgument).
UNASSIGNABLE = {"SENT", "DRAFT", "CHAT"}
# Names of Gmail's own folders that are no label ids, refused like the system labels' names (400).
RESERVED_LABEL_NAMES = {"drafts", "chats", "muted", "archive"}
HISTORY_TYPES = ("messageAdded", "messageDeleted", "labelAdded", "labelRemoved")
ID_BASE = 0x19A0000000000000
SUBJECT_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|odp|pd|ответ|отв|ha)\s*(\[\d+\])?\s*:\s*)+", re.I)


def normalise_subject(subject: str) -> str:
    """Subject without reply/forward prefixes, for Gmail-style threading."""
    return SUBJECT_PREFIX.sub("", subject or "").strip().lower()


def check_id(value: str) -> str:
    """A message or thread id as Gmail takes one: its 64-bit hex number. Anything else is Gmail's 400 "Invalid
    id value" (a well-formed id of no message is the caller's 404)."""
    if not re.fullmatch(r"[0-9a-fA-F]{1,16}", value or "") or int(value, 16) >= 2 ** 63:
        raise ApiError(400, "Invalid id value", "invalidArgument")
    return value


INDEXED = ("label_ids", "internal_date", "raw")  # what the search index reads from a message


@dataclass
class StoredMessage:
    """One message. ``label_ids`` is a frozenset: a change of labels, date or bytes is a new value, set as an
    attribute, which tells the mailbox's search index (``index``) so searches stay true."""

    id: str
    thread_id: str
    raw: bytes
    label_ids: frozenset[str]
    internal_date: int  # epoch milliseconds
    history_id: int
    parsed: mime.ParsedMessage | None = None
    index: SearchIndex | None = field(default=None, repr=False, compare=False)

    def __setattr__(self, name: str, value) -> None:
        if name == "label_ids":
            value = frozenset(value)
        elif name == "raw":
            object.__setattr__(self, "parsed", None)
        object.__setattr__(self, name, value)
        index = self.__dict__.get("index")
        if index is not None and name in INDEXED:
            index.changed(self, name)

    def parse(self) -> mime.ParsedMessage:
        if self.parsed is None:
            self.parsed = mime.parse_raw(self.raw)
        return self.parsed


@dataclass
class HistoryRecord:
    id: int
    message_id: str
    thread_id: str
    kind: str  # one of HISTORY_TYPES
    label_ids: tuple[str, ...] = ()  # labels added/removed, or the message's labels when added
    message_labels: tuple[str, ...] = ()


@dataclass
class Mailbox:
    """One user's mailbox. All methods are thread-safe; ``changed`` callbacks fire after writes."""

    email: str = "support@example.com"
    history_retention: int = 100_000  # history records kept; older start ids answer 404
    clock: Callable[[], float] = time.time
    messages: dict[str, StoredMessage] = field(default_factory=dict)
    threads: dict[str, list[str]] = field(default_factory=dict)
    labels: dict[str, dict] = field(default_factory=dict)
    drafts: dict[str, str] = field(default_factory=dict)  # draft id -> message id
    history: list[HistoryRecord] = field(default_factory=list)
    history_id: int = 1000
    counter: int = 0
    label_counter: int = 0
    send_as: dict[str, dict] = field(default_factory=dict)
    watch_state: dict | None = None
    tasklists: dict[str, dict] = field(default_factory=dict)
    tasks: dict[str, dict[str, dict]] = field(default_factory=dict)
    drive_files: dict[str, dict] = field(default_factory=dict)  # Drive v3 files (help-article Docs)
    directory_users: list[dict] = field(default_factory=list)  # the Workspace directory (Admin SDK users)
    directory_denied: bool = False  # the caller is no Workspace admin: users.list answers 403
    listeners: list[Callable[[int], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.index = SearchIndex()
        self.reindex()
        for name in SYSTEM_LABELS:
            self.labels.setdefault(name, {"id": name, "name": name, "type": "system"})
        self.send_as.setdefault(self.email, {
            "sendAsEmail": self.email, "displayName": "", "replyToAddress": "", "signature": "",
            "isPrimary": True, "isDefault": True, "treatAsAlias": False, "verificationStatus": "accepted"})

    # -- ids and history -------------------------------------------------------------------

    def new_id(self) -> str:
        self.counter += 1
        return format(ID_BASE + self.counter, "x")

    def record(self, kind: str, message: StoredMessage, label_ids: Iterable[str] = ()) -> None:
        self.history_id += 1
        message.history_id = self.history_id
        self.history.append(HistoryRecord(self.history_id, message.id, message.thread_id, kind,
                                          tuple(label_ids), tuple(sorted(message.label_ids))))
        overflow = len(self.history) - self.history_retention
        if overflow > 0:
            del self.history[:overflow]

    @property
    def oldest_history_id(self) -> int:
        return self.history[0].id - 1 if self.history else self.history_id

    def expire_history(self, keep_last: int = 0) -> None:
        """Forget all but the newest ``keep_last`` records (tests of the 404 full-sync path)."""
        with self.lock:
            self.history = self.history[-keep_last:] if keep_last else []
            if not self.history:
                self.history_id += 1  # so the current id is newer than every expired one

    def notify(self) -> None:
        for listener in list(self.listeners):
            listener(self.history_id)

    # -- labels ------------------------------------------------------------------------------

    def label_by_name(self, name: str) -> dict | None:
        wanted = name.lower()
        return next((l for l in self.labels.values() if l["name"].lower() == wanted), None)

    def create_label(self, body: dict) -> dict:
        name = _label_name(body.get("name"))
        with self.lock:
            self._check_name_free(name)
            self.label_counter += 1
            label = {"id": f"Label_{self.label_counter}", "name": name, "type": "user",
                     "messageListVisibility": "show", "labelListVisibility": "labelShow"}
            label.update(_visibilities(body))
            if body.get("color"):
                label["color"] = _check_color(body["color"])
            self.labels[label["id"]] = label
            return label

    def _check_name_free(self, name: str, label_id: str | None = None) -> None:
        """A label name may not be one Gmail reserves (400) nor another label's in any case (409)."""
        if name.upper() in SYSTEM_LABELS or name.lower() in RESERVED_LABEL_NAMES:
            raise ApiError(400, "Invalid label name", "invalidArgument")
        other = self.label_by_name(name)
        if other is not None and other["id"] != label_id:
            raise ApiError(409, "Label name exists or conflicts", "aborted", status="ABORTED")

    def get_label(self, label_id: str) -> dict:
        label = self.labels.get(label_id)
        if label is None:
            raise ApiError(404, "Requested entity was not found.", "notFound")
        return label

    def patch_label(self, label_id: str, body: dict) -> dict:
        with self.lock:
            label = self.get_label(label_id)
            if label["type"] == "system":
                raise ApiError(400, "Invalid label: system labels cannot be changed", "invalidArgument")
            changes = _visibilities(body)  # every value is checked before anything changes
            if body.get("name") is not None:
                name = _label_name(body["name"])
                if name != label["name"]:
                    self._check_name_free(name, label_id)
                    changes["name"] = name
            if "color" in body:
                changes["color"] = _check_color(body["color"])
            label.update(changes)
            return label

    def delete_label(self, label_id: str) -> None:
        with self.lock:
            label = self.get_label(label_id)
            if label["type"] == "system":
                raise ApiError(400, "Invalid label: system labels cannot be deleted", "invalidArgument")
            for message_id in sorted(self.index.with_label(label_id)):  # ids grow: the order they came in
                message = self.messages[message_id]
                message.label_ids = message.label_ids - {label_id}
                self.record("labelRemoved", message, [label_id])
            del self.labels[label_id]
        self.notify()

    def label_counts(self, label_id: str) -> dict:
        with self.lock:
            with_label = [self.messages[i] for i in self.index.with_label(label_id)]
        thread_ids = {m.thread_id for m in with_label}
        unread = [m for m in with_label if "UNREAD" in m.label_ids]
        return {"messagesTotal": len(with_label), "messagesUnread": len(unread),
                "threadsTotal": len(thread_ids), "threadsUnread": len({m.thread_id for m in unread})}

    # -- messages ----------------------------------------------------------------------------

    def get_message(self, message_id: str) -> StoredMessage:
        message = self.messages.get(check_id(message_id))
        if message is None:
            raise ApiError(404, "Requested entity was not found.", "notFound")
        return message

    def add_message(self, raw: bytes, label_ids: Iterable[str], *, thread_id: str | None = None,
                    internal_date: int | None = None, explicit_thread: bool = True,
                    parsed: mime.ParsedMessage | None = None) -> StoredMessage:
        """Store a message (send, insert, import, draft) and thread it like Gmail does (``parsed``: ``raw`` parsed
        already)."""
        if not raw:
            raise ApiError(400, "'raw' RFC822 payload message string or uploading message via /upload/* URL required",
                           "invalidArgument")
        parsed = parsed or mime.parse_raw(raw)
        labels = set(label_ids)
        with self.lock:
            for label_id in labels:
                self.get_label_for_message(label_id)
            # Sent mail and drafts join a thread only through threadId; received mail also by its headers.
            target = self.find_thread(parsed, thread_id) if thread_id or not explicit_thread else None
            message = StoredMessage(self.new_id(), "", raw, labels,
                                    internal_date if internal_date is not None else int(self.clock() * 1000),
                                    0, parsed)
            message.thread_id = target or message.id
            self.store(message)
            self.threads.setdefault(message.thread_id, []).append(message.id)
            self.record("messageAdded", message, sorted(labels))
        self.notify()
        return message

    def received_copy(self, parsed: mime.ParsedMessage) -> StoredMessage | None:
        """The message already kept with ``parsed``'s Message-ID (not a draft), or None. Gmail keeps one copy of a
        received message per Message-ID and drops later ones on arrival (mail to support@ and an alias of it,
        or through a Google Group of ours as well): github.com/rgladwell/imap-upload/issues/22, and "Gmail only
        keeps one copy of a message per user and message ID" (news.wingman.actor/item/46993618)."""
        found = (parsed.message_id or "").strip().strip("<>").lower()
        if not found:
            return None
        with self.lock:
            self.index._read_headers()
            kept = sorted((self.messages[i] for i in self.index.by_message_id.get(found, ())
                           if "DRAFT" not in self.messages[i].label_ids), key=lambda m: (m.internal_date, m.id))
        return kept[0] if kept else None

    def reindex(self) -> None:
        """Index every message again (messages put in ``messages`` past :meth:`store`)."""
        with self.lock:
            self.index.rebuild(self.messages.values())
            for message in self.messages.values():
                message.index = self.index

    def store(self, message: StoredMessage) -> None:
        """Keep a new message (and index it for search)."""
        self.messages[message.id] = message
        self.index.add(message)
        message.index = self.index

    def get_label_for_message(self, label_id: str) -> dict:
        label = self.labels.get(label_id)
        if label is None:
            raise ApiError(400, f"Invalid label: {label_id}", "invalidArgument")
        return label

    def find_thread(self, parsed: mime.ParsedMessage, thread_id: str | None) -> str | None:
        """Gmail's rule: same thread only if headers reference it AND the subject matches."""
        wanted = normalise_subject(parsed.subject or "")
        referenced = set(re.findall(r"<[^<>]+>", f"{parsed.in_reply_to or ''} {parsed.references or ''}"))
        candidates = [thread_id] if thread_id else self._threads_referenced(referenced)
        for candidate in candidates:
            ids = self.threads.get(candidate)
            if not ids:
                if thread_id:
                    raise ApiError(404, "Requested entity was not found.", "notFound")
                continue
            members = [self.messages[i].parse() for i in ids]
            if not any(m.message_id in referenced for m in members):
                continue
            if any(normalise_subject(m.subject or "") == wanted for m in members):
                return candidate
        return None

    def _threads_referenced(self, referenced: set[str]) -> list[str]:
        if not referenced:
            return []
        found = []
        for message in self.messages.values():
            if message.parse().message_id in referenced and message.thread_id not in found:
                found.append(message.thread_id)
        return found

    def modify_message(self, message: StoredMessage, add: Iterable[str], remove: Iterable[str]) -> None:
        add, remove = list(dict.fromkeys(add or [])), list(dict.fromkeys(remove or []))
        if len(add) + len(remove) > 100:
            raise ApiError(400, "Too many label ids: at most 100 may be added or removed", "invalidArgument")
        for label_id in add + remove:
            self.get_label_for_message(label_id)
            if label_id in UNASSIGNABLE and label_id in add:
                raise ApiError(400, f"Invalid label: {label_id}", "invalidArgument")
        added = [l for l in add if l not in message.label_ids]
        removed = [l for l in remove if l in message.label_ids and l not in add]
        if added or removed:
            message.label_ids = (message.label_ids | set(added)) - set(removed)
        if added:
            self.record("labelAdded", message, added)
        if removed:
            self.record("labelRemoved", message, removed)

    def modify(self, message_ids: list[str], add: Iterable[str], remove: Iterable[str]) -> None:
        add, remove = list(add or []), list(remove or [])
        with self.lock:
            messages = [self.get_message(i) for i in message_ids]
            for message in messages:
                self.modify_message(message, add, remove)
        self.notify()

    def trash(self, message_ids: list[str], to_trash: bool) -> None:
        if to_trash:
            self.modify(message_ids, ["TRASH"], ["INBOX", "SPAM"])
        else:
            self.modify(message_ids, [], ["TRASH"])

    def delete(self, message_ids: list[str]) -> None:
        with self.lock:
            for message_id in message_ids:
                message = self.get_message(message_id)
                self.record("messageDeleted", message)
                del self.messages[message_id]
                self.index.remove(message)
                message.index = None
                thread = self.threads[message.thread_id]
                thread.remove(message_id)
                if not thread:
                    del self.threads[message.thread_id]
                for draft_id, mid in list(self.drafts.items()):
                    if mid == message_id:
                        del self.drafts[draft_id]
        self.notify()

    def thread_messages(self, thread_id: str) -> list[StoredMessage]:
        ids = self.threads.get(check_id(thread_id))
        if not ids:
            raise ApiError(404, "Requested entity was not found.", "notFound")
        return sorted((self.messages[i] for i in ids), key=lambda m: (m.internal_date, m.id))

    # -- drafts ------------------------------------------------------------------------------

    def create_draft(self, raw: bytes, thread_id: str | None) -> tuple[str, StoredMessage]:
        with self.lock:
            message = self.add_message(raw, ["DRAFT"], thread_id=thread_id)
            draft_id = "r" + format(ID_BASE + self.counter, "d")[-19:]
            self.drafts[draft_id] = message.id
            return draft_id, message

    def get_draft(self, draft_id: str) -> StoredMessage:
        message_id = self.drafts.get(draft_id)
        if message_id is None:
            raise ApiError(404, "Requested entity was not found.", "notFound")
        return self.messages[message_id]

    def update_draft(self, draft_id: str, raw: bytes, thread_id: str | None) -> StoredMessage:
        """Replace a draft's message with a new one (a new message id, the same draft id).

        As on create, the new message is in a thread only through ``thread_id``; it is stored
        before the old one goes, so naming the draft's own thread is never a missing thread.
        """
        with self.lock:
            old = self.get_draft(draft_id)
            message = self.add_message(raw, ["DRAFT"], thread_id=thread_id)
            self.delete([old.id])
            self.drafts[draft_id] = message.id
            return message

    def delete_draft(self, draft_id: str) -> None:
        """Remove a draft and its message (drafts.delete, and drafts.send once sent)."""
        with self.lock:
            message = self.get_draft(draft_id)
            self.delete([message.id])
            self.drafts.pop(draft_id, None)

    # -- send-as -----------------------------------------------------------------------------

    def add_send_as(self, address: str, display_name: str = "") -> dict:
        """A verified send-as alias, as an admin sets up under "Send mail as" (seeds and tests)."""
        with self.lock:
            return self.send_as.setdefault(address, {
                "sendAsEmail": address, "displayName": display_name, "replyToAddress": "", "signature": "",
                "isPrimary": False, "isDefault": False, "treatAsAlias": True, "verificationStatus": "accepted"})

    def may_send_as(self, address: str) -> bool:
        """Whether Gmail would send mail From ``address``: a send-as address that is verified."""
        wanted = address.strip().lower()
        return any(entry["sendAsEmail"].lower() == wanted and entry.get("verificationStatus") == "accepted"
                   for entry in self.send_as.values())

    def default_sender(self) -> str:
        """The From Gmail writes for the default send-as address (with its display name, if any)."""
        from email.utils import formataddr

        entry = next((e for e in self.send_as.values() if e.get("isDefault")), None) or self.send_as[self.email]
        return formataddr((entry.get("displayName") or "", entry["sendAsEmail"]), charset="utf-8")

    # -- tasks -------------------------------------------------------------------------------

    def new_task_id(self) -> str:
        self.counter += 1
        return base64.urlsafe_b64encode((ID_BASE + self.counter).to_bytes(8, "big")).decode().rstrip("=")

    # -- persistence -------------------------------------------------------------------------

    def to_json(self) -> dict:
        with self.lock:
            return {
                "email": self.email, "history_id": self.history_id, "counter": self.counter,
                "label_counter": self.label_counter, "labels": self.labels, "drafts": self.drafts,
                "messages": [{"id": m.id, "thread_id": m.thread_id, "raw": base64.b64encode(m.raw).decode(),
                              "label_ids": sorted(m.label_ids), "internal_date": m.internal_date,
                              "history_id": m.history_id} for m in self.messages.values()],
                "history": [r.__dict__ for r in self.history], "send_as": self.send_as,
                "watch": self.watch_state, "tasklists": self.tasklists, "tasks": self.tasks,
                "drive_files": self.drive_files, "directory_users": self.directory_users,
            }

    @classmethod
    def from_json(cls, data: dict, **kwargs) -> "Mailbox":
        box = cls(email=data["email"], **kwargs)
        box.history_id, box.counter = data["history_id"], data["counter"]
        box.label_counter, box.labels, box.drafts = data["label_counter"], data["labels"], data["drafts"]
        for m in data["messages"]:
            message = StoredMessage(m["id"], m["thread_id"], base64.b64decode(m["raw"]), set(m["label_ids"]),
                                    m["internal_date"], m["history_id"])
            box.store(message)
            box.threads.setdefault(message.thread_id, []).append(message.id)
        box.history = [HistoryRecord(**{**r, "label_ids": tuple(r["label_ids"]),
                                        "message_labels": tuple(r["message_labels"])}) for r in data["history"]]
        box.send_as, box.watch_state = data["send_as"], data["watch"]
        box.tasklists, box.tasks = data["tasklists"], data["tasks"]
        box.drive_files = data.get("drive_files", {})
        box.directory_users = data.get("directory_users", [])
        return box

    def save(self, directory: str | Path) -> None:
        """Write the state atomically to ``directory/mailbox.json`` (mode 0600; concurrent requests take
        turns, each through its own temporary file)."""
        from ..files import write_private_json

        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        with _save_lock:
            write_private_json(path / "mailbox.json", self.to_json(), durable=False)  # a stand-in: speed first

    @classmethod
    def load(cls, directory: str | Path, **kwargs) -> "Mailbox | None":
        target = Path(directory) / "mailbox.json"
        if not target.exists():
            return None
        try:
            return cls.from_json(json.loads(target.read_text(encoding="utf-8")), **kwargs)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{target} is not a saved local mailbox ({type(exc).__name__}: {exc}); "
                             "move it away to start afresh") from None


_save_lock = threading.Lock()


# Gmail's fixed label colour palette: the values the discovery document's LabelColor lists, the same for
# backgroundColor and textColor (labels.create/patch/update refuse any other with a 400).
PALETTE = {
    "#000000", "#434343", "#666666", "#999999", "#cccccc", "#efefef", "#f3f3f3", "#ffffff",
    "#fb4c2f", "#ffad47", "#fad165", "#16a766", "#43d692", "#4a86e8", "#a479e2", "#f691b3",
    "#f6c5be", "#ffe6c7", "#fef1d1", "#b9e4d0", "#c6f3de", "#c9daf8", "#e4d7f5", "#fcdee8",
    "#efa093", "#ffd6a2", "#fce8b3", "#89d3b2", "#a0eac9", "#a4c2f4", "#d0bcf1", "#fbc8d9",
    "#e66550", "#ffbc6b", "#fcda83", "#44b984", "#68dfa9", "#6d9eeb", "#b694e8", "#f7a7c0",
    "#cc3a21", "#eaa041", "#f2c960", "#149e60", "#3dc789", "#3c78d8", "#8e63ce", "#e07798",
    "#ac2b16", "#cf8933", "#d5ae49", "#0b804b", "#2a9c68", "#285bac", "#653e9b", "#b65775",
    "#822111", "#a46a21", "#aa8831", "#076239", "#1a764d", "#1c4587", "#41236d", "#83334c",
    "#464646", "#e7e7e7", "#0d3472", "#b6cff5", "#0d3b44", "#98d7e4", "#3d188e", "#e3d7ff",
    "#711a36", "#fbd3e0", "#8a1c0a", "#f2b2a8", "#7a2e0b", "#ffc8af", "#7a4706", "#ffdeb5",
    "#594c05", "#fbe983", "#684e07", "#fdedc1", "#0b4f30", "#b3efd3", "#04502e", "#a2dcc1",
    "#c2c2c2", "#4986e7", "#2da2bb", "#b99aff", "#994a64", "#f691b2", "#ff7537", "#ffad46",
    "#662e37", "#ebdbde", "#cca6ac", "#094228", "#42d692", "#16a765", "#757575", "#1e53b8",
    "#007286", "#7858c3", "#c2185b", "#d93025", "#54240e", "#633e04", "#521d28", "#202124",
    "#083018",
}


VISIBILITIES = {"messageListVisibility": ("show", "hide"),
                "labelListVisibility": ("labelShow", "labelShowIfUnread", "labelHide")}  # the Label schema's enums


def _visibilities(body: dict) -> dict:
    """The visibility settings a label body sets; a value outside the schema's enum is a 400."""
    found = {key: body[key] for key in VISIBILITIES if body.get(key) is not None}
    for key, value in found.items():
        if value not in VISIBILITIES[key]:
            raise ApiError(400, f"Invalid value for {key}: {value}", "invalidArgument")
    return found


def _label_name(value) -> str:
    """A label name as stored: without surrounding blanks, never empty."""
    name = value.strip() if isinstance(value, str) else ""
    if not name:
        raise ApiError(400, "Invalid label name", "invalidArgument")
    return name


def _check_color(color: dict) -> dict:
    background, text = color.get("backgroundColor", ""), color.get("textColor", "")
    for value in (background, text):
        if value.lower() not in PALETTE:
            raise ApiError(400, f"Label color {value} is not on the allowed color palette", "invalidArgument")
    return {"backgroundColor": background, "textColor": text}
