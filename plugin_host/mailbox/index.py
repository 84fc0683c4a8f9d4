"""Indexes that narrow a search to the messages it may match, so ``q`` does not read every message.

:class:`SearchIndex` keeps, for the mailbox's messages: label id → message ids, (internal date, id) in
date order, header word → message ids for ``from``/``to``/``cc``/``subject``, and Message-ID → message ids.
:meth:`SearchIndex.candidates` turns a parsed query into a set of message ids that holds every message the
query can match (or ``None``: the query gives nothing to narrow by, read them all). The candidates only narrow:
:func:`plugin_host.mailbox.searching.select` still runs the full matcher of :mod:`.search` on each one, so
that matcher alone decides what is found; an index can only make a search faster, never change its answer.

The store tells the index of every change (:class:`~.store.StoredMessage` reports new label ids, dates and raw
bytes itself, so a test that sets ``message.internal_date`` keeps the index true too). Header words are
indexed when a message is stored already parsed, else on the first search that needs them.
"""
from __future__ import annotations

import math
from bisect import bisect_left, insort
from datetime import datetime
from typing import Iterable

from . import search as s

HEADER_FIELDS = ("sender", "to", "cc", "subject")
_ANYTHING = None  # a part of a query that narrows nothing


class SearchIndex:
    """Label, date, header-word and Message-ID indexes over one mailbox's messages (guarded by its lock)."""

    def __init__(self) -> None:
        self.by_label: dict[str, set[str]] = {}
        self.by_date: list[tuple[int, str]] = []
        self.labels: dict[str, frozenset[str]] = {}  # message id -> the label ids indexed for it
        self.dates: dict[str, int] = {}  # message id -> the internal date indexed for it
        self.by_word: dict[tuple[str, str], set[str]] = {}
        self.by_message_id: dict[str, set[str]] = {}
        self.header_keys: dict[str, tuple[tuple[str, str], ...]] = {}  # message id -> its by_word keys
        self.message_ids: dict[str, str] = {}  # message id -> its by_message_id key
        self.unread_headers: dict[str, object] = {}  # message id -> message whose headers are not indexed yet

    def __len__(self) -> int:
        return len(self.dates)

    # -- keeping it true -------------------------------------------------------------------------

    def add(self, message) -> None:
        self._set_labels(message.id, frozenset(message.label_ids))
        self.dates[message.id] = message.internal_date
        insort(self.by_date, (message.internal_date, message.id))
        if message.parsed is not None:
            self._index_headers(message)
        else:
            self.unread_headers[message.id] = message

    def remove(self, message) -> None:
        self._set_labels(message.id, frozenset())
        del self.labels[message.id]
        self._drop_date(message.id)
        self._drop_headers(message.id)

    def changed(self, message, attribute: str) -> None:
        """``message.<attribute>`` was set to a new value (label_ids, internal_date or raw)."""
        if message.id not in self.dates:
            return
        if attribute == "label_ids":
            self._set_labels(message.id, frozenset(message.label_ids))
        elif attribute == "internal_date":
            self._drop_date(message.id)
            self.dates[message.id] = message.internal_date
            insort(self.by_date, (message.internal_date, message.id))
        elif attribute == "raw":
            self._drop_headers(message.id)
            self.unread_headers[message.id] = message

    def rebuild(self, messages: Iterable) -> None:
        self.__init__()
        for message in messages:
            self.add(message)

    def _set_labels(self, message_id: str, labels: frozenset[str]) -> None:
        old = self.labels.get(message_id, frozenset())
        for label_id in old - labels:
            holders = self.by_label[label_id]
            holders.discard(message_id)
            if not holders:
                del self.by_label[label_id]
        for label_id in labels - old:
            self.by_label.setdefault(label_id, set()).add(message_id)
        self.labels[message_id] = labels

    def _drop_date(self, message_id: str) -> None:
        entry = (self.dates.pop(message_id), message_id)
        at = bisect_left(self.by_date, entry)
        del self.by_date[at]

    def _index_headers(self, message) -> None:
        parsed = message.parse()
        values = {"sender": parsed.from_, "to": parsed.to, "cc": parsed.cc, "subject": parsed.subject}
        keys = tuple({(name, word) for name in HEADER_FIELDS for word in s.words(values[name] or "")})
        for key in keys:
            self.by_word.setdefault(key, set()).add(message.id)
        self.header_keys[message.id] = keys
        found = (parsed.message_id or "").strip().strip("<>").lower()
        self.by_message_id.setdefault(found, set()).add(message.id)
        self.message_ids[message.id] = found

    def _drop_headers(self, message_id: str) -> None:
        if self.unread_headers.pop(message_id, None) is not None:
            return
        for key in self.header_keys.pop(message_id, ()):
            _discard(self.by_word, key, message_id)
        _discard(self.by_message_id, self.message_ids.pop(message_id), message_id)

    def _read_headers(self) -> None:
        while self.unread_headers:
            _, message = self.unread_headers.popitem()
            self._index_headers(message)

    # -- narrowing a search ----------------------------------------------------------------------

    def candidates(self, root: s.Node, names: dict[str, str], now: datetime, owner: str) -> set[str] | None:
        """Ids of every message ``root`` may match, or ``None`` when the query narrows nothing."""
        plan = self._plan(root, names, now, owner)
        return None if plan is _ANYTHING else self._ids(plan)

    def with_label(self, label_id: str) -> set[str]:
        return self.by_label.get(label_id, set())

    def _plan(self, node: s.Node, names, now, owner):
        """A plan is ``(ids or None, lowest date, date after the highest)``: ids and a date range, both to hold."""
        if isinstance(node, s.All):
            parts = [p for p in (self._plan(c, names, now, owner) for c in node.children_) if p is not _ANYTHING]
            return _intersect(parts) if parts else _ANYTHING
        if isinstance(node, s.Any):
            parts = [self._plan(c, names, now, owner) for c in node.children_]
            if not parts or any(p is _ANYTHING for p in parts):
                return _ANYTHING
            return _around(parts)
        ids = self._leaf_ids(node, names, owner)
        if ids is not None:
            return (ids, None, None)
        return self._leaf_dates(node, now)

    def _leaf_ids(self, node: s.Node, names, owner) -> set[str] | None:
        if isinstance(node, s.HasLabelId) and node.expected:
            return self.with_label(node.label_id)
        if isinstance(node, s.LabelNamed):
            return _union(h for l, h in self.by_label.items() if s.label_key(names.get(l) or l) == node.key)
        if isinstance(node, s.HasUserLabels) and node.expected:
            return _union(h for l, h in self.by_label.items() if l.startswith("Label_"))
        if isinstance(node, s.MessageIdIs):
            self._read_headers()
            return self.by_message_id.get(node.value, set())
        phrase, field = _header_phrase(node, owner)
        if phrase:
            self._read_headers()
            found = [self.by_word.get((field, word), set()) for word in set(phrase)]
            return set.intersection(*sorted(found, key=len)) if len(found) > 1 else found[0]
        return None

    def _leaf_dates(self, node: s.Node, now: datetime):
        if isinstance(node, s.Bound):
            kind, instant = node.kind, node.instant
        elif isinstance(node, s.Age):
            kind, instant = ("after" if node.kind == "newer_than" else "before"), node.threshold(now)
        else:
            return _ANYTHING
        ms = instant.timestamp() * 1000  # a millisecond of slack either side: the matcher decides
        return (None, math.floor(ms) - 1, None) if kind == "after" else (None, None, math.ceil(ms) + 1)

    def _ids(self, plan) -> set[str]:
        ids, low, high = plan
        if low is None and high is None:
            return ids if ids is not None else set(self.dates)
        if ids is not None and len(ids) < len(self.by_date) // 8:
            return {i for i in ids if (low is None or self.dates[i] >= low) and (high is None or self.dates[i] < high)}
        start = 0 if low is None else bisect_left(self.by_date, (low, ""))
        stop = len(self.by_date) if high is None else bisect_left(self.by_date, (high, ""))
        in_range = {i for _, i in self.by_date[start:stop]}
        return in_range if ids is None else in_range & ids


def _header_phrase(node: s.Node, owner: str) -> tuple[tuple[str, ...], str]:
    """The words a header-field node needs all of, and the field ("" when it is no header field)."""
    if isinstance(node, s.Words) and node.field in HEADER_FIELDS:
        return node.phrase, node.field
    if isinstance(node, s.Me) and node.field in HEADER_FIELDS:
        return tuple(s.words(owner) if owner else ["me"]), node.field
    return (), ""


def _intersect(plans: list) -> tuple:
    sets = sorted((p[0] for p in plans if p[0] is not None), key=len)
    ids = None
    if sets:
        ids = sets[0].intersection(*sets[1:]) if len(sets) > 1 else sets[0]
    lows = [p[1] for p in plans if p[1] is not None]
    highs = [p[2] for p in plans if p[2] is not None]
    return (ids, max(lows) if lows else None, min(highs) if highs else None)


def _around(plans: list) -> tuple | None:
    """One plan holding every message any of ``plans`` holds (an OR's): their ids joined, each set once (an OR
    of one label many times), and the dates from the lowest to the highest of theirs. Joined as one, not each
    plan made a set first: 2,000 dates in an OR made as many sets of every message after each."""
    ids = None
    if all(p[0] is not None for p in plans):
        ids = _union({id(p[0]): p[0] for p in plans}.values())
    low = None if any(p[1] is None for p in plans) else min(p[1] for p in plans)
    high = None if any(p[2] is None for p in plans) else max(p[2] for p in plans)
    return _ANYTHING if ids is None and low is None and high is None else (ids, low, high)


def _union(sets: Iterable[set[str]]) -> set[str]:
    return set().union(*sets)


def _discard(index: dict, key, message_id: str) -> None:
    holders = index.get(key)
    if holders is not None:
        holders.discard(message_id)
        if not holders:
            del index[key]
