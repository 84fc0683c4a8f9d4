"""Gmail's ``q`` search language for the local mailbox: parse once, match many messages.

Supported (see reference/gmail-api.md): free words and "quoted phrases" (whole words, case- and
accent-insensitive, on subject, body, from, to and cc), ``label:``, ``in:``, ``is:``,
``category:``, ``has:attachment``, ``from:``/``to:``/``cc:``/``bcc:``/``subject:`` (also with a
group, ``subject:(refund late)``), ``rfc822msgid:``, ``after:``/``before:`` (``newer:``/``older:``),
``newer_than:``/``older_than:``, ``OR``, ``{a b}`` (any of), ``-`` negation, parentheses and
``AND``. Terms are ANDed by default; ``OR`` binds tighter (``a b OR c`` is a AND (b OR c)),
as in Gmail.

Deliberate differences from Gmail, so mistakes surface in tests instead of as silent misses:

- ``after:``/``before:`` take epoch seconds (exact instant) or a date ``YYYY/MM/DD``,
  ``YYYY-MM-DD`` or ``MM/DD/YYYY`` meaning midnight in America/Los_Angeles (Gmail's "PST"). Other
  shapes are errors.
- ``newer_than:``/``older_than:`` take ``<N>d``, ``<N>m`` or ``<N>y`` only. Gmail has no hour
  unit and quietly returns wrong results for ``newer_than:2h``; here it is a
  :class:`SearchSyntaxError` (the mailbox answers 400 invalidArgument).
- ``in:archive`` is mail out of the Inbox, Spam and Trash. ``in:snoozed`` is an error: snoozing has no label
  in the API and the local mailbox cannot snooze, so an empty answer would only look like Gmail's.
- Unknown ``is:`` values and Gmail operators this mailbox does not implement (``larger:``,
  ``filename:``…) are errors too. A word with a colon that is no operator (``10:30``) is a word.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import cached_property, lru_cache
from typing import Callable, Iterator
from zoneinfo import ZoneInfo

from plugin_host.errors import LabeldeskError

__all__ = ["SearchSyntaxError", "SearchableMessage", "Query", "parse_query", "label_key", "words"]

GMAIL_DATE_ZONE = ZoneInfo("America/Los_Angeles")
IN_LABELS = {"inbox": "INBOX", "sent": "SENT", "trash": "TRASH", "spam": "SPAM", "draft": "DRAFT",
             "drafts": "DRAFT", "starred": "STARRED", "important": "IMPORTANT", "chats": "CHAT",
             "unread": "UNREAD"}
IS_FLAGS = {"unread": ("UNREAD", True), "read": ("UNREAD", False), "starred": ("STARRED", True),
            "important": ("IMPORTANT", True), "unimportant": ("IMPORTANT", False)}
CATEGORIES = {"primary": "CATEGORY_PERSONAL", "personal": "CATEGORY_PERSONAL",
              "social": "CATEGORY_SOCIAL", "promotions": "CATEGORY_PROMOTIONS",
              "updates": "CATEGORY_UPDATES", "forums": "CATEGORY_FORUMS"}
ADDRESS_FIELDS = {"from": "sender", "to": "to", "cc": "cc", "bcc": "bcc", "subject": "subject"}
DATE_OPERATORS = {"after": "after", "newer": "after", "before": "before", "older": "before"}
AGE_OPERATORS = {"newer_than", "older_than"}
OTHER_OPERATORS = {"label", "in", "is", "category", "has", "rfc822msgid"}
UNSUPPORTED = {"larger", "smaller", "size", "filename", "list", "deliveredto", "around", "dblquote"}
OPERATORS = set(ADDRESS_FIELDS) | set(DATE_OPERATORS) | AGE_OPERATORS | OTHER_OPERATORS
FREE_TEXT_FIELDS = ("subject", "text", "sender", "to", "cc")
# Letters NFKD does not decompose, folded so "Łódź" finds "lodz" (and ё is spelt е in practice).
FOLDS = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe", "ё": "е", "ı": "i"})


class SearchSyntaxError(LabeldeskError, ValueError):
    """The search query is malformed; the message says where and what Gmail expects."""


# ---------------------------------------------------------------- text folding

def fold(text: str) -> str:
    """Lower-case, accent-free spelling of Latin text; other scripts only lower-cased."""
    text = text.casefold()
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.translate(FOLDS))
    # Drop accents on Latin letters only: й or ї must stay distinct from и or і.
    stripped = re.sub(r"(?<=[\u0000-\u024f])[\u0300-\u036f]+", "", decomposed)
    return unicodedata.normalize("NFC", stripped).translate(FOLDS)


def words(text: str) -> list[str]:
    """The searchable words of a text: folded runs of letters and digits."""
    return re.findall(r"[^\W_]+", fold(text or ""))


@lru_cache(maxsize=4096)
def _padded_words(text: str) -> str:
    # Cached by text: the mailbox builds a fresh SearchableMessage per search, bodies repeat.
    return " " + " ".join(words(text)) + " "


def _phrase_in(phrase: list[str], haystack: str) -> bool:
    """Whole-word phrase match; ``haystack`` is ``" " + " ".join(words) + " "``."""
    return bool(phrase) and f" {' '.join(phrase)} " in haystack


def label_key(name: str) -> str:
    """A label name the way Gmail writes it in ``q``: lower case, spaces and ``/`` as ``-``."""
    return re.sub(r"[\s/\-]+", "-", fold(name.strip())).strip("-")


# ---------------------------------------------------------------- the message being matched

@dataclass
class SearchableMessage:
    """What a query can see of one message. Flags are derived from the label ids."""

    label_ids: frozenset[str] | set[str]
    label_names: dict[str, str] | Callable[[str], str | None] = field(default_factory=dict)
    sender: str = ""
    to: str = ""
    cc: str = ""
    bcc: str = ""
    subject: str = ""
    text: str = ""
    rfc822msgid: str = ""
    internal_date: datetime = datetime(1970, 1, 1, tzinfo=timezone.utc)
    has_attachment: bool = False
    owner: str = ""  # the mailbox's own address, what "me" means in from:me / to:me

    def label_name(self, label_id: str) -> str:
        names = self.label_names
        found = names(label_id) if callable(names) else names.get(label_id)
        return found or label_id

    @cached_property
    def label_keys(self) -> frozenset[str]:
        return frozenset(label_key(self.label_name(i)) for i in self.label_ids)

    @cached_property
    def received_at(self) -> datetime:
        when = self.internal_date
        return when if when.tzinfo else when.replace(tzinfo=timezone.utc)

    def haystack(self, field_name: str) -> str:
        """The words of a field, padded with spaces for whole-word matching."""
        return _padded_words(getattr(self, field_name) or "")

    @property
    def unread(self) -> bool:
        return "UNREAD" in self.label_ids

    @property
    def starred(self) -> bool:
        return "STARRED" in self.label_ids

    @property
    def important(self) -> bool:
        return "IMPORTANT" in self.label_ids


# ---------------------------------------------------------------- query tree

class Node:
    """One part of a parsed query."""

    def matches(self, msg: SearchableMessage, now: datetime) -> bool:
        raise NotImplementedError

    def children(self) -> tuple[Node, ...]:
        return ()


@dataclass(frozen=True)
class All(Node):
    children_: tuple[Node, ...]

    def matches(self, msg, now):
        return all(child.matches(msg, now) for child in self.children_)

    def children(self):
        return self.children_


@dataclass(frozen=True)
class Any(Node):
    children_: tuple[Node, ...]

    def matches(self, msg, now):
        return any(child.matches(msg, now) for child in self.children_)

    def children(self):
        return self.children_


@dataclass(frozen=True)
class Not(Node):
    child: Node

    def matches(self, msg, now):
        return not self.child.matches(msg, now)

    def children(self):
        return (self.child,)


@dataclass(frozen=True)
class Words(Node):
    """A word or phrase in one field (``field``) or in any free-text field (``None``)."""

    phrase: tuple[str, ...]
    field: str | None = None

    def matches(self, msg, now):
        if not self.phrase:  # only punctuation: Gmail ignores it
            return True
        fields = (self.field,) if self.field else FREE_TEXT_FIELDS
        return any(_phrase_in(list(self.phrase), msg.haystack(f)) for f in fields)


@dataclass(frozen=True)
class Me(Node):
    field: str

    def matches(self, msg, now):
        phrase = words(msg.owner) if msg.owner else ["me"]
        return _phrase_in(phrase, msg.haystack(self.field))


@dataclass(frozen=True)
class LabelNamed(Node):
    key: str

    def matches(self, msg, now):
        return self.key in msg.label_keys


@dataclass(frozen=True)
class HasLabelId(Node):
    label_id: str
    expected: bool = True

    def matches(self, msg, now):
        return (self.label_id in msg.label_ids) == self.expected


@dataclass(frozen=True)
class Everywhere(Node):
    def matches(self, msg, now):
        return True


@dataclass(frozen=True)
class Archived(Node):
    """``in:archive``: mail out of the Inbox, Spam and Trash (archived, sent, or only labelled)."""

    def matches(self, msg, now):
        return not msg.label_ids & {"INBOX", "SPAM", "TRASH"}


@dataclass(frozen=True)
class HasAttachment(Node):
    def matches(self, msg, now):
        return bool(msg.has_attachment)


@dataclass(frozen=True)
class HasUserLabels(Node):
    expected: bool = True

    def matches(self, msg, now):
        return any(i.startswith("Label_") for i in msg.label_ids) == self.expected


@dataclass(frozen=True)
class MessageIdIs(Node):
    value: str

    def matches(self, msg, now):
        return msg.rfc822msgid.strip().strip("<>").lower() == self.value


@dataclass(frozen=True)
class Bound(Node):
    """``after:`` (at or after ``instant``) or ``before:`` (strictly before it)."""

    kind: str
    instant: datetime

    def matches(self, msg, now):
        if self.kind == "after":
            return msg.received_at >= self.instant
        return msg.received_at < self.instant


@dataclass(frozen=True)
class Age(Node):
    """``newer_than:``/``older_than:`` relative to the time of the search."""

    kind: str
    amount: int
    unit: str

    def threshold(self, now: datetime) -> datetime:
        now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
        if self.unit == "d":
            return now - timedelta(days=self.amount)
        return _months_before(now, self.amount * (12 if self.unit == "y" else 1))

    def matches(self, msg, now):
        if self.kind == "newer_than":
            return msg.received_at >= self.threshold(now)
        return msg.received_at < self.threshold(now)


def _months_before(when: datetime, months: int) -> datetime:
    import calendar

    index = when.year * 12 + when.month - 1 - months
    year, month = divmod(index, 12)
    if year < 1:
        return datetime.min.replace(tzinfo=timezone.utc)
    day = min(when.day, calendar.monthrange(year, month + 1)[1])
    return when.replace(year=year, month=month + 1, day=day)


@dataclass(frozen=True)
class Query:
    """A parsed ``q``: ``matches(message, now)`` tells whether one message is found."""

    root: Node
    text: str = ""

    def matches(self, msg: SearchableMessage, now: datetime | None = None) -> bool:
        return self.root.matches(msg, now or datetime.now(timezone.utc))

    def mentions_spam_or_trash(self) -> bool:
        """True when the query asks for spam or trash (``in:spam``, ``in:anywhere``, ``label:trash``…).

        Gmail leaves SPAM and TRASH out of results unless the query names them positively.
        """
        return any(_names_spam_or_trash(node) for node in _positive_nodes(self.root))


def _positive_nodes(node: Node) -> Iterator[Node]:
    if isinstance(node, Not):
        return
    yield node
    for child in node.children():
        yield from _positive_nodes(child)


def _names_spam_or_trash(node: Node) -> bool:
    return (isinstance(node, Everywhere)
            or (isinstance(node, HasLabelId) and node.expected and node.label_id in {"SPAM", "TRASH"})
            or (isinstance(node, LabelNamed) and node.key in {"spam", "trash"}))


# ---------------------------------------------------------------- tokens

@dataclass(frozen=True)
class Token:
    kind: str  # "(" ")" "{" "}" "-" OR AND WORD PHRASE OP OPGROUP
    text: str
    position: int
    operator: str = ""


_WORD_END = set('(){}"')


def _quoted(q: str, start: int) -> tuple[str, int]:
    """The text of a quoted string starting at ``q[start] == '"'`` and the index after it."""
    end = q.find('"', start + 1)
    if end < 0:
        raise SearchSyntaxError(f'unclosed quote " at position {start + 1}')
    return q[start + 1:end], end + 1


def tokenize(q: str) -> list[Token]:
    """Split a query into tokens; operators are recognised by name, anything else is a word."""
    tokens, i, n = [], 0, len(q)
    while i < n:
        char = q[i]
        if char.isspace():
            i += 1
        elif char in "(){}":
            tokens.append(Token(char, char, i))
            i += 1
        elif char == "-" and i + 1 < n and not q[i + 1].isspace():
            tokens.append(Token("-", char, i))
            i += 1
        elif char == '"':
            text, after = _quoted(q, i)
            tokens.append(Token("PHRASE", text, i))
            i = after
        else:
            j = i
            while j < n and not q[j].isspace() and q[j] not in _WORD_END:
                j += 1
            token, i = _word_token(q, i, j)
            tokens.append(token)
    return tokens


def _word_token(q: str, start: int, end: int) -> tuple[Token, int]:
    word = q[start:end]
    if word in ("OR", "AND"):
        return Token(word, word, start), end
    found = re.fullmatch(r"([A-Za-z0-9_]+):(.*)", word, re.S)
    name = found.group(1).lower() if found else ""
    if name not in OPERATORS and name not in UNSUPPORTED:
        return Token("WORD", word, start), end
    value = found.group(2)
    if name in UNSUPPORTED:
        raise SearchSyntaxError(f"{name}: (position {start + 1}) is a Gmail operator the local mailbox does not support")
    if value:
        return Token("OP", value, start, name), end
    if end < len(q) and q[end] == '"':
        value, after = _quoted(q, end)
        return Token("OP", value, start, name), after
    if end < len(q) and q[end] == "(":
        return Token("OPGROUP", word, start, name), end
    raise SearchSyntaxError(f"{name}: at position {start + 1} needs a value, e.g. {name}:something")


# ---------------------------------------------------------------- parser

MAX_DEPTH = 50


class _Parser:
    """Recursive descent: sequence := or-term+ ; or-term := unary (OR unary)* ;
    unary := "-" unary | "(" sequence ")" | "{" or-term+ "}" | term. ``scope`` is the operator a
    group applies to its words, as in ``subject:(refund late)``."""

    def __init__(self, tokens: list[Token]):
        self.tokens, self.index, self.depth = tokens, 0, 0

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def sequence(self, closing: str | None, scope: str | None) -> Node:
        items: list[Node] = []
        while (token := self.peek()) is not None and token.kind != closing:
            if token.kind == "AND":
                self.take()
                if not items or self.peek() is None or self.peek().kind in {")", "}", "OR", "AND"}:
                    raise SearchSyntaxError(f"AND at position {token.position + 1} needs a term on both sides")
                continue
            items.append(self.any_of(scope))
        return items[0] if len(items) == 1 else All(tuple(items))

    def any_of(self, scope: str | None) -> Node:
        options = [self.unary(scope)]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.take()
            following = self.peek()
            if following is None or following.kind in {")", "}", "OR", "AND"}:
                raise SearchSyntaxError(f"OR at position {token.position + 1} needs a term on both sides")
            options.append(self.unary(scope))
        return options[0] if len(options) == 1 else Any(tuple(options))

    def unary(self, scope: str | None) -> Node:
        token = self.take()
        if token.kind == "-":
            if self.peek() is None or self.peek().kind in {")", "}", "OR", "AND"}:
                raise SearchSyntaxError(f"- at position {token.position + 1} must be followed by a term")
            self.enter(token)
            node = Not(self.unary(scope))
            self.depth -= 1
            return node
        if token.kind in {"(", "{"}:
            return self.group(token, scope)
        if token.kind == "OPGROUP":
            return self.group(self.take(), token.operator)
        if token.kind in {")", "}"}:
            raise SearchSyntaxError(f"unbalanced {token.text} at position {token.position + 1}")
        if token.kind in {"OR", "AND"}:
            raise SearchSyntaxError(f"{token.kind} at position {token.position + 1} needs a term on both sides")
        if token.kind == "OP":
            return operator_node(token.operator, token.text, token.position)
        if scope:
            return operator_node(scope, token.text, token.position)
        return Words(tuple(words(token.text)))

    def enter(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise SearchSyntaxError(f"groups and negations nest more than {MAX_DEPTH} deep at position "
                                    f"{token.position + 1}")

    def group(self, opening: Token, scope: str | None) -> Node:
        closing = ")" if opening.kind == "(" else "}"
        self.enter(opening)
        if closing == ")":
            inner = self.sequence(")", scope)
        else:
            options = []
            while self.peek() is not None and self.peek().kind != "}":
                options.append(self.any_of(scope))
            inner = Any(tuple(options))
        if self.peek() is None:
            raise SearchSyntaxError(f"unclosed {opening.text} at position {opening.position + 1}")
        self.take()
        self.depth -= 1
        if not inner.children() and isinstance(inner, (All, Any)):
            raise SearchSyntaxError(f"empty {opening.text}{closing} at position {opening.position + 1}")
        return inner


def parse_query(q: str) -> Query:
    """Parse Gmail's ``q`` syntax; raises :class:`SearchSyntaxError` with the position of a mistake."""
    if not isinstance(q, str):
        raise SearchSyntaxError(f"the query must be text, got {type(q).__name__}")
    parser = _Parser(tokenize(q))
    root = parser.sequence(None, None) if parser.tokens else All(())
    return Query(root=root, text=q)


# ---------------------------------------------------------------- operators

def operator_node(name: str, value: str, position: int) -> Node:
    """The node for ``name:value``; a value Gmail would not understand is a clear error."""
    where = f"{name}:{value} (position {position + 1})"
    if name in ADDRESS_FIELDS:
        field_name = ADDRESS_FIELDS[name]
        if name != "subject" and fold(value) == "me":
            return Me(field_name)
        found = tuple(words(value))
        if not found:
            raise SearchSyntaxError(f"{where}: needs a word, name or address")
        return Words(found, field_name)
    if name in DATE_OPERATORS:
        return Bound(DATE_OPERATORS[name], _instant(value, where))
    if name in AGE_OPERATORS:
        found = re.fullmatch(r"(\d{1,6})([dmy])", value.strip().lower())
        if not found:
            raise SearchSyntaxError(f"{where}: expected a number and d, m or y (days, months, years), "
                                    "e.g. 2d; Gmail has no hour unit")
        return Age(name, int(found.group(1)), found.group(2))
    return _label_like(name, value, where)


def _label_like(name: str, value: str, where: str) -> Node:
    wanted = value.strip().lower()
    if name == "label":
        if not label_key(value):
            raise SearchSyntaxError(f"{where}: needs a label name")
        return LabelNamed(label_key(value))
    if name == "in":
        if wanted == "anywhere":
            return Everywhere()
        if wanted == "archive":
            return Archived()
        if wanted == "snoozed":
            raise SearchSyntaxError(f"{where}: Gmail's snoozed mail has no label in the API and the local mailbox "
                                    "cannot snooze, so it cannot answer in:snoozed; search the labels Labeldesk sets")
        return HasLabelId(IN_LABELS[wanted]) if wanted in IN_LABELS else LabelNamed(label_key(value))
    if name == "is":
        if wanted not in IS_FLAGS:
            raise SearchSyntaxError(f"{where}: is: takes one of {', '.join(sorted(IS_FLAGS))}")
        return HasLabelId(*IS_FLAGS[wanted])
    if name == "category":
        if wanted not in CATEGORIES:
            raise SearchSyntaxError(f"{where}: category: takes one of {', '.join(sorted(CATEGORIES))}")
        return HasLabelId(CATEGORIES[wanted])
    if name == "has":
        if wanted == "attachment":
            return HasAttachment()
        if wanted in {"userlabels", "nouserlabels"}:
            return HasUserLabels(wanted == "userlabels")
        raise SearchSyntaxError(f"{where}: has: takes attachment, userlabels or nouserlabels")
    # rfc822msgid: compared without angle brackets, case-insensitively
    if not wanted.strip("<>"):
        raise SearchSyntaxError(f"{where}: needs a Message-ID")
    return MessageIdIs(wanted.strip("<>"))


def _instant(value: str, where: str) -> datetime:
    """Epoch seconds (an exact instant) or a date at midnight in Gmail's zone (America/Los_Angeles)."""
    value = value.strip()
    if re.fullmatch(r"\d{1,12}", value):
        return datetime.fromtimestamp(int(value), timezone.utc)
    found = re.fullmatch(r"(?P<year>\d{4})([/-])(?P<month>\d{1,2})\2(?P<day>\d{1,2})", value) or \
        re.fullmatch(r"(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4})", value)  # Gmail's help: 04/16/2004
    if not found:
        raise SearchSyntaxError(f"{where}: expected epoch seconds or a date YYYY/MM/DD, YYYY-MM-DD or MM/DD/YYYY")
    try:
        day = date(int(found["year"]), int(found["month"]), int(found["day"]))
    except ValueError as exc:
        raise SearchSyntaxError(f"{where}: {exc}") from None
    return datetime.combine(day, time(0), GMAIL_DATE_ZONE)
