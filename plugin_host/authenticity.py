"""Whether Gmail vouches for a message that claims to come from one of us (an agent, our address, our group).

Anyone can write ``From: anna@example.com``. Gmail records what it checked on every message it receives in an
``Authentication-Results: mx.google.com; dkim=…; spf=…; dmarc=…`` header (RFC 8601), put on top of the ones the
message came with. The rules:

- Only the topmost ``Authentication-Results`` whose authserv-id is Google's counts; one the sender wrote (below
  Google's, or naming another server) never does. One that cannot be read vouches for nothing.
- No such header at all (what we sent, mail inserted or imported, the local mailbox's mail): no verdict, and
  the message is judged by its From as before.
- A domain is vouched for when Google says ``dmarc=pass`` for it, not when ``dmarc=fail``; with no DMARC
  verdict for it (a domain without a DMARC record), when a DKIM signature of that domain passed or the
  envelope sender SPF checked is at that domain (DMARC's relaxed alignment: the domain or a subdomain).
  Both failing, neither there, an error, or passes for some other domain: not vouched for.
- A post through our own Google Group: Google's verdict at our mailbox is about the group's hop (the group's
  envelope and signature), so it vouches for the group, not for whoever posted. The writer's own verdict is
  the one Google recorded when the group took the post in, which it seals into the ARC chain: an
  ``ARC-Authentication-Results`` whose ``ARC-Seal`` is Google's (``d=google.com``), believed only when Google's
  verdict at our mailbox says ``arc=pass`` (every seal checked), and not the one about the group's own envelope.

The header is parsed with ``authres`` (RFC 8601, as Mailman does); ARC's ``i=`` prefix is taken off here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

import authres

from .config import own_address_in

GOOGLE_AUTHSERV_ID = "mx.google.com"
GOOGLE_SEALER = "google.com"
CHECKED = ("dmarc", "dkim", "spf")
AUTHSERV_ID = re.compile(r"^\s*(?:\([^()]*\)\s*)*([^\s;()]+)")
ARC_INSTANCE = re.compile(r"^\s*i\s*=\s*(\d{1,3})\s*;", re.I)
SEAL_TAG = re.compile(r"(?:^|;)\s*([a-z]+)\s*=\s*([^;\s]*)", re.I)
_FEATURES = authres.all_features()


@dataclass(frozen=True)
class Check:
    """One result Google recorded: ``dkim=pass`` for ``example.com``."""

    method: str
    result: str
    domain: str = ""  # what it is about: header.from, the signature's domain, the envelope's domain
    identity: str = ""  # the value it was read from (SPF: the whole envelope sender)

    def __str__(self) -> str:
        return f"{self.method}={self.result}" + (f" ({self.domain})" if self.domain else "")


@dataclass(frozen=True)
class Verdict:
    """Google's authentication results for one hop of a message."""

    checks: tuple[Check, ...] = ()
    readable: bool = True

    def of(self, method: str) -> list[Check]:
        return [c for c in self.checks if c.method == method]

    def vouches_for(self, domain: str) -> bool:
        """Whether this verdict authenticates ``domain`` (rules in the module docstring)."""
        domain = domain.lower()
        if not self.readable or not domain:
            return False
        dmarc = [c for c in self.of("dmarc") if _aligned(c.domain, domain)]
        if any(c.result == "fail" for c in dmarc):
            return False
        if any(c.result == "pass" for c in dmarc):
            return True
        return any(c.result == "pass" and _aligned(c.domain, domain) for c in self.of("dkim") + self.of("spf"))

    def __str__(self) -> str:
        if not self.readable:
            return "Google's Authentication-Results could not be read"
        shown = [str(c) for c in self.checks if c.method in CHECKED]
        return ", ".join(shown) or "no DKIM, SPF or DMARC result"


def gmail_verdict(msg: Message) -> Verdict | None:
    """Google's verdict at our mailbox: the topmost ``Authentication-Results`` whose authserv-id is Google's,
    or None when the message has none (sent by us, inserted, imported)."""
    for value in _values(msg, "Authentication-Results"):
        if authserv_id(value) == GOOGLE_AUTHSERV_ID:
            return parse_verdict(value)
    return None


def authserv_id(value: str) -> str:
    """The server that wrote an Authentication-Results value, read leniently (before any full parse)."""
    found = AUTHSERV_ID.match(value)
    return found.group(1).lower() if found else ""


def parse_verdict(value: str) -> Verdict:
    """One Authentication-Results value as a :class:`Verdict` (unreadable: one that vouches for nothing)."""
    try:
        header = _FEATURES.parse_value(" ".join(value.split()))
    except (authres.AuthResError, ValueError, TypeError, AttributeError, IndexError):
        return Verdict(readable=False)
    checks = []
    for result in header.results:
        identity = _subject_of(result)
        checks.append(Check(str(result.method).lower(), str(result.result or "").lower(), _domain(identity), identity))
    return Verdict(tuple(checks))


def group_writer_verdict(msg: Message, outer: Verdict, group: str) -> Verdict | None:
    """What Google found when our group ``group`` took this post in: the highest ARC instance sealed by Google
    that is not about the group's own envelope, when Google's verdict at our mailbox says ``arc=pass``."""
    if not any(c.result == "pass" for c in outer.of("arc")):
        return None
    sealed_by = {}
    for value in _values(msg, "ARC-Seal"):
        tags = {k.lower(): v for k, v in SEAL_TAG.findall(value.replace("\n", " "))}
        if tags.get("i", "").isdigit():  # two seals of one instance: neither is believed
            instance = int(tags["i"])
            sealed_by[instance] = "" if instance in sealed_by else tags.get("d", "").lower()
    hops = []
    for value in _values(msg, "ARC-Authentication-Results"):
        found = ARC_INSTANCE.match(value)
        rest = value[found.end():] if found else ""
        if found and sealed_by.get(int(found.group(1))) == GOOGLE_SEALER and authserv_id(rest) == GOOGLE_AUTHSERV_ID:
            hops.append((int(found.group(1)), parse_verdict(rest)))
    for _, verdict in sorted(hops, key=lambda hop: hop[0], reverse=True):
        if not any(own_address_in(c.identity, (group,)) for c in verdict.of("spf")):
            return verdict  # one about the group's own envelope (help+bnc…@) is the hop to our mailbox
    return None


def sender_doubt(msg: Message, sender: str, outer: Verdict | None, group: str = "") -> str:
    """Why ``sender`` (the From address, one of ours or an agent's) is not believed, or "" when it is or when
    Gmail gave no verdict. ``group``: our own Google Group that delivered the post ("" for none)."""
    if outer is None:
        return ""
    if not group:
        if outer.vouches_for(_domain(sender)):
            return ""
        return f"From {sender} is not authenticated by Gmail ({outer})"
    if not _envelope_of(outer, group):
        return f"not delivered by our group {group}: Gmail did not authenticate it ({outer})"
    writer = group_writer_verdict(msg, outer, group)
    if writer is None:
        return f"{sender} wrote through our group {group}, and Gmail's ARC record of the post is missing"
    if writer.vouches_for(_domain(sender)):
        return ""
    return f"{sender} wrote through our group {group} and is not authenticated by Gmail ({writer})"


def _envelope_of(verdict: Verdict, group: str) -> bool:
    """Whether the group's envelope (or a DKIM signature of its domain) passed: the group sent this post even
    when its From is the writer's own (a domain without DMARC p=reject is not rewritten)."""
    domain = _domain(group)
    return any(c.result == "pass" and _aligned(c.domain, domain) for c in verdict.of("dkim") + verdict.of("spf"))


def _subject_of(result) -> str:
    """What a result is about: DMARC's header.from, DKIM's d= (else i=), SPF's envelope sender."""
    wanted = {"dmarc": (("header", "from"),), "dkim": (("header", "d"), ("header", "i")),
              "spf": (("smtp", "mailfrom"),)}.get(str(result.method).lower(), ())
    for ptype, name in wanted:
        value = next((str(p.value) for p in result.properties if (p.type, p.name) == (ptype, name)), "")
        if value:
            return value.strip().lower()
    return ""


def _domain(value: str) -> str:
    return value.strip().strip("<>").rpartition("@")[2].strip().rstrip(".").lower()


def _aligned(one: str, other: str) -> bool:
    """DMARC's relaxed alignment, without the public suffix list: the same domain, or one below the other."""
    return bool(one) and bool(other) and (one == other or one.endswith("." + other) or other.endswith("." + one))


def _values(msg: Message, name: str) -> list[str]:
    """A header's values, topmost first, unfolded; an unreadable one is skipped."""
    try:
        return [" ".join(str(v).split()) for v in msg.get_all(name) or []]
    except Exception:
        return []
