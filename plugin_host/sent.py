"""What the support mailbox already sent: the one answer every automatic send asks before it goes out.

Acknowledgements (one per customer within ``[mailbox] ack_window_days``) and email alerts (at-risk warnings, breach
notices, second notices: one per key) must not go out twice, also when the process that sent them was killed a
moment ago and a new one starts. :class:`SentLedger` answers from three sources, cheapest first:

1. this process's memory of what it sent (Gmail's search lags behind a send by seconds);
2. Gmail's search (``rfc822msgid:``, ``in:sent to:``), which finds what was sent before that lag (Trash and Spam
   included: a mail an agent binned was sent all the same);
3. what the search may not show yet, read once a process on first need: Sent's listing, which shows a message as
   soon as it is stored, from the newest back to the first message older than the process's start less
   ``SEARCH_LAG``. Only the headers of the messages the search does not show are read, so a restart after a
   burst of sends costs one listing, one search and a read per message still missing from the index; a quiet
   mailbox costs one listing and one read. At most ``MOST_READ`` messages are walked (a warning says so).

What another process sends after this one's read, this one does not see until the search shows it: one process
per mailbox sends (``serve``, or cron runs that take turns through the state folder's locks).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import getaddresses

log = logging.getLogger(__name__)
# How far Gmail's search may lag behind a send: a message sent longer ago than this before the process started is
# taken to be found by search. Generous, because only the messages the search does not show are read one by one.
SEARCH_LAG = timedelta(minutes=10)
MOST_READ = 500  # Sent messages walked back at most (one listing page)
CHUNK = 10  # headers read per HTTP batch while walking back
MEMORY = 200_000  # sends remembered by this process (a few MB); the search has long caught up with the oldest


@dataclass(frozen=True)
class SentMail:
    """One message in Sent as far as "already sent?" needs it."""

    id: str
    thread_id: str
    message_id: str  # the Message-ID header, <…> included
    to: frozenset[str]  # lower-case addresses
    key: str  # X-Labeldesk: "ack…" for an acknowledgement, "notify:…" for an alert
    at: datetime


class SentLedger:
    """The "was this already sent?" of one mailbox, for every automatic send path (see the module docstring)."""

    def __init__(self, client, now):
        self.client = client
        self.now = now
        self.started = now()
        self._lock = threading.RLock()  # the feed, the sweep and add-on requests send from their own threads
        self._by_message_id: dict[str, SentMail] = {}  # this process's sends
        self._acknowledged: dict[str, SentMail] = {}  # address → this process's newest acknowledgement to it
        self._unindexed: list[SentMail] | None = None  # see unindexed()

    # -- what this process sends ---------------------------------------------------------------

    def record(self, answer: dict, message_id: str, to: str, key: str, thread_id: str = "") -> None:
        """This process sent ``message_id`` (Gmail's ``answer`` to the send) to ``to``, marked ``key``."""
        mail = SentMail(answer.get("id", ""), answer.get("threadId", thread_id), message_id.strip(),
                        frozenset(a.lower() for _, a in getaddresses([to]) if a), key, self.now())
        with self._lock:
            if len(self._by_message_id) >= MEMORY:  # forget the oldest half (dicts keep their order)
                for stale in list(self._by_message_id)[:MEMORY // 2]:
                    del self._by_message_id[stale]
                self._acknowledged = {a: m for a, m in self._acknowledged.items() if m.message_id in self._by_message_id}
            self._by_message_id[mail.message_id] = mail
            if key.startswith("ack"):
                for address in mail.to:
                    self._acknowledged[address] = mail

    # -- the questions --------------------------------------------------------------------------

    def notification_sent(self, message_id: str) -> bool:
        """Whether the alert email with this deterministic Message-ID is in the mailbox (Trash and Spam too)."""
        message_id = message_id.strip()
        with self._lock:
            if message_id in self._by_message_id:
                return True
        if self.client.list_message_ids(q=f"rfc822msgid:{message_id}", include_spam_trash=True):
            return True
        return any(mail.message_id == message_id for mail in self.unindexed())

    def threads_of(self, message_ids: list[str]) -> dict[str, str]:
        """Message-ID → thread id of those of ``message_ids`` (alert emails) that are in the mailbox: this process's
        memory, then one ``rfc822msgid:`` search each, then what the search may not show yet."""
        found, rest = {}, []
        with self._lock:
            for message_id in (m.strip() for m in message_ids):
                mail = self._by_message_id.get(message_id)
                if mail is not None:
                    found[message_id] = mail.thread_id
                else:
                    rest.append(message_id)
        for message_id in rest:
            refs = self.client.list_message_ids(q=f"rfc822msgid:{message_id}", include_spam_trash=True)
            if refs:
                found[message_id] = refs[0]["threadId"]
        if set(rest) - set(found):
            found.update({mail.message_id: mail.thread_id for mail in self.unindexed()
                          if mail.message_id in rest and mail.message_id not in found})
        return found

    def acknowledgement_to(self, address: str, thread_id: str, window: timedelta) -> str | None:
        """Thread id of an acknowledgement sent to ``address`` within ``window`` in another thread than
        ``thread_id``, if any; ``None`` too when the window is zero (every thread is acknowledged)."""
        if window.total_seconds() <= 0:
            return None
        address, now = address.lower(), self.now()
        with self._lock:
            mine = self._acknowledged.get(address)
        if mine and mine.thread_id != thread_id and now - mine.at < window:
            return mine.thread_id
        found = self._searched_acknowledgement(address, thread_id, now - window)
        if found:
            return found
        return next((mail.thread_id for mail in self.unindexed() if mail.thread_id != thread_id
                     and mail.key.startswith("ack") and address in mail.to and mail.at > now - window), None)

    def _searched_acknowledgement(self, address: str, thread_id: str, since: datetime) -> str | None:
        # Trash and Spam too: an acknowledgement an agent binned (with its thread) was still sent to this customer.
        for ref in self.client.list_message_ids(q=f"in:sent to:{address} after:{int(since.timestamp())}",
                                                include_spam_trash=True):
            if ref["threadId"] == thread_id:
                continue
            message = self.client.get_message(ref["id"], format="metadata", metadata_headers=["X-Labeldesk"])
            headers = message.get("payload", {}).get("headers", [])
            if any(h["name"].lower() == "x-labeldesk" and h["value"].startswith("ack") for h in headers):
                return ref["threadId"]
        return None

    # -- what the search may not show yet ---------------------------------------------------------

    def unindexed(self) -> list[SentMail]:
        """The messages in Sent since ``started - SEARCH_LAG`` that the search did not show, read on first use."""
        with self._lock:
            if self._unindexed is None:
                self._unindexed = self._read_unindexed()
            return self._unindexed

    def _read_unindexed(self) -> list[SentMail]:
        since = self.started - SEARCH_LAG
        listed = self.client.list_message_ids(label_ids=["SENT"], max_results=MOST_READ, include_spam_trash=True)
        with self._lock:
            mine = {mail.id for mail in self._by_message_id.values()}
        refs = [ref for ref in listed if ref["id"] not in mine]
        if not refs:
            return []
        newest = self.client.sent_headers(refs[:1])
        if newest and newest[0].at < since:  # a quiet mailbox: nothing was sent within the search's lag
            return []
        searched = self.client.list_message_ids(q=f"in:sent after:{int(since.timestamp())}", max_results=MOST_READ,
                                                include_spam_trash=True)
        indexed = {ref["id"] for ref in searched}
        found = list(newest)
        missing = [ref for ref in refs[1:] if ref["id"] not in indexed]
        for start in range(0, len(missing), CHUNK):
            for mail in self.client.sent_headers(missing[start:start + CHUNK]):
                if mail.at < since:  # older than the lag: the search shows it and everything before it
                    return found
                found.append(mail)
        if len(listed) >= MOST_READ:
            log.warning("the newest %d sent messages were all sent within %s of this process's start; an automatic "
                        "mail sent before them that Gmail's search does not show yet could go out again",
                        MOST_READ, SEARCH_LAG)
        return found


def last_sent_by_labeldesk(client, label_root: str) -> datetime | None:
    """When Labeldesk last sent mail from this mailbox (an acknowledgement, a notice: a message in Sent with an
    X-Labeldesk key), or None when nothing says it worked this mailbox before: no label under ``label_root`` in
    Gmail (a first install costs this one ``labels.list``), or no such mail among the newest ``MOST_READ`` sent.
    Asked only when the state folder keeps no record of when the plugins were switched on (``switch_ons``)."""
    root = label_root.lower()
    if root and not any(label["name"].lower() == root or label["name"].lower().startswith(root + "/")
                        for label in client.list_labels()):
        return None
    listed = client.list_message_ids(label_ids=["SENT"], max_results=MOST_READ, include_spam_trash=True)
    for start in range(0, len(listed), CHUNK):  # newest first: agents' replies lie between Labeldesk's mail
        for mail in client.sent_headers(listed[start:start + CHUNK]):
            if mail.key:
                return mail.at
    return None


def sent_mail(ref: dict, message: dict) -> SentMail:
    """A :class:`SentMail` from ``messages.get`` (format metadata) of the listed ``ref``."""
    headers = {h["name"].lower(): h["value"] for h in message.get("payload", {}).get("headers", [])}
    at = datetime.fromtimestamp(int(message.get("internalDate") or 0) / 1000, timezone.utc)
    return SentMail(ref["id"], message.get("threadId", ref["threadId"]), headers.get("message-id", "").strip(),
                    frozenset(a.lower() for _, a in getaddresses([headers.get("to", "")]) if a),
                    headers.get("x-labeldesk", ""), at)
