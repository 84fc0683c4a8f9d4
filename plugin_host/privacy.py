"""Forgetting a customer: what Labeldesk keeps about them outside Gmail goes with ``labeldesk forget``.

Gmail is the database: a customer who asks to have their data erased (GDPR art. 17) is forgotten when the
support team deletes their threads, except for what a plugin copied into a file of its own (the knowledge base's
``kb-feedback.jsonl`` keeps the questions agents answered with an article). The host's own state files hold
thread and message ids and times, never an address or a customer's words (docs/architecture.md, "Personal data
outside Gmail"). A file that needs to know whose entry it is names the customer by :func:`customer_digest`,
not by address.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .errors import LabeldeskError

MAX_THREADS = 5000  # the customer's threads looked up in Gmail (for entries older versions wrote by thread only)


def customer_digest(address: str) -> str:
    """A customer's address as a file keeps it when it only needs to find their entries again: a SHA-256 digest
    of the address in lower case (16 hex digits). Not a secret — anyone holding the address can compute it —
    but the file names nobody in clear."""
    return hashlib.sha256(b"labeldesk customer\0" + address.strip().lower().encode("utf-8")).hexdigest()[:16]


@dataclass
class Forgotten:
    """What ``labeldesk forget`` removed (one line per kind of thing) and what it could not check."""

    removed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def customer_threads(host, address: str) -> set[str]:
    """Ids of the threads Gmail still holds that the customer wrote, was written to or copied on (trash and spam
    too); empty once the support team deleted them."""
    query = f'in:anywhere (from:{address} OR to:{address} OR cc:{address} OR "{address}")'
    return {t["id"] for t in host.client.list_threads(query, max_results=MAX_THREADS)}


def forget_customer(host, address: str) -> Forgotten:
    """Ask every plugin to remove what it keeps about ``address`` (the one place ``forget_customer`` is called).
    Gmail is searched first for the customer's threads, for entries that older versions wrote naming only a
    thread; when Gmail cannot be read the plugins still remove what names the customer, and the problem is said."""
    address = address.strip().lower()
    result = Forgotten()
    try:
        threads = customer_threads(host, address)
    except LabeldeskError as exc:
        threads = set()
        result.problems.append(f"Gmail could not be searched for their threads ({exc}): entries that name only a "
                               "thread were kept; run `labeldesk forget` again when Gmail answers")
    for lines in host.pm.hook.forget_customer(addresses=[address], digests=[customer_digest(address)],
                                              threads=frozenset(threads), settings=host.config):
        result.removed.extend(lines or [])
    return result
