"""Selecting messages for ``messages.list``/``threads.list``: labelIds, spam/trash rules and ``q``."""
from __future__ import annotations

from datetime import datetime, timezone

from .errors import ApiError
from .store import Mailbox, StoredMessage


def select(box: Mailbox, q: str | None = None, label_ids: list[str] | None = None,
           include_spam_trash: bool = False) -> list[StoredMessage]:
    """Messages matching every label id and the query, newest first (Gmail's order)."""
    from . import search

    label_ids = label_ids or []
    query = None
    if q and q.strip():
        try:
            query = search.parse_query(q)
        except search.SearchSyntaxError as exc:
            raise ApiError(400, f"Invalid query: {exc}", "invalidArgument") from None
    now = datetime.fromtimestamp(box.clock(), timezone.utc)
    names = {label_id: label["name"] for label_id, label in box.labels.items()}
    explicit = set(label_ids) | ({"SPAM", "TRASH"} if query and query.mentions_spam_or_trash() else set())
    with box.lock:
        found = []
        for message in _candidates(box, query, label_ids, names, now):
            if not all(l in message.label_ids for l in label_ids):
                continue
            if not include_spam_trash and (message.label_ids & {"SPAM", "TRASH"}) - explicit:
                continue
            if query is not None and not query.matches(searchable(message, names, box.email), now):
                continue
            found.append(message)
    found.sort(key=lambda m: (m.internal_date, m.id), reverse=True)
    return found


def _candidates(box: Mailbox, query, label_ids: list[str], names: dict[str, str], now: datetime):
    """The messages the index says may match (every message when the query narrows nothing): only a narrowing,
    the caller still checks each one with the full matcher. Messages stored past the store (a mailbox's
    ``messages`` replaced) make the index rebuild itself first."""
    index = box.index
    if len(index) != len(box.messages):
        box.reindex()
    ids = index.candidates(query.root, names, now, box.email) if query is not None else None
    for label_id in label_ids:
        with_label = index.with_label(label_id)
        ids = with_label if ids is None else (ids & with_label)
    if ids is None:
        return list(box.messages.values())
    return [box.messages[i] for i in ids]


def searchable(message: StoredMessage, names: dict[str, str], owner: str = ""):
    from .search import SearchableMessage

    parsed = message.parse()
    return SearchableMessage(
        label_ids=frozenset(message.label_ids), label_names=names,
        sender=parsed.from_ or "", to=parsed.to or "", cc=parsed.cc or "", bcc="",
        subject=parsed.subject or "", text=parsed.text or "", rfc822msgid=parsed.message_id or "",
        internal_date=datetime.fromtimestamp(message.internal_date / 1000, timezone.utc),
        has_attachment=bool(parsed.attachments), owner=owner)
