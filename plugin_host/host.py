"""The Host: one mailbox's Gmail client, configuration, plugins and executor, wired together.

It turns threads into Tickets, calls the event hooks from exactly one place
(:meth:`Host.dispatch`), and hands recorded Actions to the executor. The add-on, the CLI and the
Flask app all reach Labeldesk through a Host.
"""
from __future__ import annotations

import dataclasses
import logging
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from .actions import Actions
from .config import Config
from .errors import ConfigError, GmailError, LabeldeskError, PluginError
from .executor import TASK_KEY, Executor, Outcome
from .files import exclusive, remove_stale_temp_files
from .loopguard import ROBOT_LOCAL, google_group_in
from .plugins import listed_answers, log_broken
from . import switch_ons
from .refusals import level
from .sent import last_sent_by_labeldesk
from .ticket import CONTINUED, THREAD_LINK, CardReply, Ticket, is_plain_address
from .tickets import build_ticket

log = logging.getLogger(__name__)
KNOWN_THREADS = 2048  # tickets kept by thread history id (the add-on's queue); all forgotten beyond this
KNOWN_SUBJECTS = 20_000  # message subjects kept for the add-on card's earlier tickets (a few MB at most)
FOLLOW_UP_LOOKUPS = 3  # referenced messages looked up to tell a customer's reply in a split thread from a new request
READ_AHEAD = 50  # tickets a sweep reads in one HTTP batch (Gmail's recommended batch size), as the sync does
# A Message-ID a Gmail search can hold as one value: no quotes, parentheses, braces, colons or spaces, which
# would end it or add the sender's own operators ("<x(a)OR(in:anywhere)>", '<"a>' is a 400 on every sync).
SEARCHABLE_ID = re.compile(r"<[\w.@+=$%&'*/!#^`|~\[\]-]+>")
EVENTS = ("on_ticket_opened", "on_customer_replied", "on_agent_replied", "on_sweep")
# The most people a prepared reply copies (Reply all); a message to more is a mailing, answered to its writer only.
MAX_COPIED = 20


@dataclass
class Processed:
    """The result of processing one thread: the ticket, events fired and what was done."""

    thread_id: str
    ticket: Ticket | None
    events: list[str] = field(default_factory=list)
    outcome: Outcome = field(default_factory=Outcome)


class SweepReport(list):
    """The tickets a sweep visited (:class:`Processed`, in order), and what it did not do: ``failed`` (thread id,
    why) for each ticket that failed, and ``not_reached``, how many it left when Gmail refused (the next sweep visits
    them first) or the host was stopping."""

    def __init__(self):
        super().__init__()
        self.failed: list[tuple[str, str]] = []
        self.not_reached = 0
        self.partly: list[Processed] = []  # failed tickets on which the other plugins' actions were carried out


@dataclass(frozen=True)
class EarlierTicket:
    thread_id: str
    subject: str


def event_message_id(ticket: Ticket) -> str:
    """The message an event is about: the thread's latest one a person wrote (Labeldesk's own replies, sent
    while the ticket was handled, do not make the next try of the same event a new one)."""
    people = [m for m in ticket.messages if m.kind != "automatic"]
    return (people or list(ticket.messages))[-1].id


class Host:
    def __init__(self, config: Config, pm, client, now: Callable[[], datetime] | None = None):
        self.config = config
        self.pm = pm
        self.client = client
        self.now = now or (lambda: datetime.now(timezone.utc))
        client.now = self.now  # a lost send is looked for in Sent back to when it began, by this clock
        self.executor = Executor(config, client, now=self.now)
        self._tickets: dict = {}
        self._subjects: dict[str, str] = {}  # message id → Subject (the customer's earlier tickets on the card)
        self._retired: list[str] | None = None  # labels of installed plugins that are not enabled
        self._known: dict[str, tuple[str, Ticket | None]] = {}  # thread id → (its history id, its ticket) when read
        self._reading_ahead = threading.local()  # each thread's own read-ahead (see ``_prefetched``)
        # One reader-planner-writer per Gmail thread at a time (feed, sweep, add-on requests): striped locks.
        self._thread_locks = [threading.RLock() for _ in range(64)]
        self._warned_group_writable = False
        self._unlisted_groups: set[str] = set()  # our domain's Google Groups said to be no alias
        self._swept_temp_files = False
        self._recorded_switch_ons = False
        self._switch_ons_unsure = False  # the record is lost or damaged: the mailbox is asked (keep_switch_ons)
        self._kept_switch_ons = False
        self._sweep_refused: set[str] = set()  # tickets whose read stopped a sweep: visited last next time
        # Set when ``serve`` is told to stop: syncs and sweeps finish the ticket in hand and take no other.
        self.stopping = threading.Event()
        config.hook = pm.hook

    def thread_lock(self, thread_id: str):
        return self._thread_locks[hash(thread_id) % len(self._thread_locks)]

    @property
    def state_dir(self) -> Path:
        path = self.config.state_path
        try:
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise ConfigError("host.state_dir", f"{path} cannot be created ({exc.strerror or exc}): "
                                                "point state_dir at a writable folder") from None
        mode = path.stat().st_mode
        if mode & 0o002:  # anyone could replace the cursor or the webhook log, or plant links where we write
            raise ConfigError("host.state_dir", f"{path} can be written by every user (mode {mode & 0o777:o}): "
                                                f"`chmod 700 {path}`, or point state_dir at a folder of your own")
        if mode & 0o020 and not self._warned_group_writable:  # often the user's own group (umask 002): a warning
            self._warned_group_writable = True
            log.warning("state_dir %s can be written by its group (mode %o); `chmod 700 %s` if others share it",
                        path, mode & 0o777, path)
        if not self._swept_temp_files:  # once a process: a state file's write a kill cut short left its temp file
            self._swept_temp_files = True
            remove_stale_temp_files(path)
        if not self._recorded_switch_ons:  # once a process, before any ticket: which plugins were switched on when
            self._recorded_switch_ons = True  # (written by the first run that acts: ``keep_switch_ons``)
            enabled, now = self.config.enabled_plugins, self.now()
            if switch_ons.lost(path):  # the mailbox says, asked by the first run that acts; until then: now
                self._switch_ons_unsure = True
                self.config.switched_on = {name: now for name in enabled}
            else:
                self.config.switched_on = switch_ons.record(path, enabled, now, save=False)
        return path

    def keep_switch_ons(self, dry_run: bool = False) -> None:
        """A sync or sweep that acts (not a dry run) makes when each plugin was switched on what later runs go by
        (``plugins-on.json``); once a process. A lost or damaged record is first recovered from the mailbox (when
        Labeldesk last sent mail from it), by a dry run too, which writes nothing; Gmail failing fails this sync or
        sweep, and the next one asks again."""
        path = self.state_dir
        if self._switch_ons_unsure:
            self.config.switched_on = switch_ons.record(
                path, self.config.enabled_plugins, self.now(), save=False,
                worked_since=lambda: last_sent_by_labeldesk(self.client, self.config.mailbox.label_root))
            self._switch_ons_unsure = False
        if not self._kept_switch_ons and not dry_run:
            self._kept_switch_ons = True
            switch_ons.keep(path, self.config.switched_on)

    # -- reading tickets ---------------------------------------------------------------------

    @property
    def _prefetched(self) -> dict[str, dict]:
        """Threads this thread of the process read ahead (a sync's or a sweep's batch), by id. Each has its own:
        a background sync never takes a copy a sweep read before the sync's new message came (nor an add-on
        request either's), which would hide that message from it."""
        threads = getattr(self._reading_ahead, "threads", None)
        if threads is None:
            threads = self._reading_ahead.threads = {}
        return threads

    def prefetch(self, changes: dict[str, set[str] | None]) -> None:
        """Read many changed threads in HTTP batches (≤50 calls each) before processing them."""
        calls, keys = [], []
        for thread_id, new_ids in changes.items():
            if new_ids == {thread_id}:
                calls.append((self.client.users.messages().get(userId="me", id=thread_id, format="full"),
                              "gmail.users.messages.get"))
            else:
                calls.append((self.client.users.threads().get(userId="me", id=thread_id, format="full"),
                              "gmail.users.threads.get"))
            keys.append((thread_id, new_ids == {thread_id}))
        if len(calls) < 2:
            return
        for (thread_id, single), result in zip(keys, self.client.batch(calls)):
            if isinstance(result, dict):
                self._prefetched[thread_id] = {"id": thread_id, "messages": [result]} if single else result

    def drop_prefetched(self) -> None:
        """Forget threads read ahead and not processed (a batch stopped early): later reads must be fresh."""
        self._prefetched.clear()

    def _read_ahead(self, thread_ids: list[str]) -> None:
        """Read the next tickets of a sweep in one HTTP batch (the same units as one read each)."""
        try:
            self.prefetch(dict.fromkeys(thread_ids))
        except Exception:  # an optimisation: each ticket is read on its own instead
            log.warning("batched read of swept tickets failed; reading them one by one", exc_info=True)

    def _read_thread(self, thread_id: str, new_message_ids: set[str] | None) -> dict:
        prefetched = self._prefetched.pop(thread_id, None)
        if prefetched is not None:
            return prefetched
        if new_message_ids == {thread_id}:
            # Gmail gives a new thread the id of its first message: a brand-new one-message thread
            # costs one messages.get (5 units) instead of threads.get (10).
            return {"id": thread_id, "messages": [self.client.get_message(thread_id, format="full")]}
        return self.client.get_thread(thread_id, format="full")

    def ticket(self, thread_id: str, new_message_ids: set[str] | None = None) -> Ticket | None:
        try:
            thread = self._read_thread(thread_id, new_message_ids)
        except GmailError as exc:
            if getattr(exc, "status", 0) == 404:  # deleted since the change was recorded: nothing to do
                log.info("thread %s is gone; skipped", thread_id)
                return None
            raise
        return self._remember(thread_id, thread, self._ticket_of(thread_id, thread))

    def _remember(self, thread_id: str, thread: dict, ticket: Ticket | None) -> Ticket | None:
        """Keep a thread's ticket with the thread's history id, which any change to the thread (a message,
        a label) moves: a search that lists the same history id needs no second read."""
        if thread.get("historyId"):
            if len(self._known) > KNOWN_THREADS:
                self._known.clear()
            self._known[thread_id] = (thread["historyId"], ticket)
        return ticket

    def _ticket_of(self, thread_id: str, thread: dict) -> Ticket | None:
        names = self.executor.label_names()
        used = {l for m in thread.get("messages", []) for l in m.get("labelIds", [])}
        if used - set(names):  # a label made elsewhere since we cached the list
            self.executor.forget_labels()
            names = self.executor.label_names()
        # A thread whose messages, labels and history are unchanged gives the same Ticket: reuse it.
        key = (thread_id, tuple((m["id"], m.get("historyId"), tuple(m.get("labelIds", [])))
                                for m in thread.get("messages", [])))
        cached = self._tickets.get(key)
        if cached is None:
            cached = build_ticket(thread, self.config, names)
            if cached is None:
                self._say_unlisted_group(thread_id, thread)
            if len(self._tickets) > 512:
                self._tickets.clear()
            self._tickets[key] = cached
        return cached

    def _say_unlisted_group(self, thread_id: str, thread: dict) -> None:
        """Warn once per group when a thread is no ticket and came through a Google Group at one of our own domains
        that is not among our addresses: when support@ is such a group delivering into the mailbox, every request
        is a mailing-list post (no ticket, no acknowledgement) until the admin adds it to ``[mailbox] aliases``.
        Only a warning: an all-staff@ group of the same domain is a real mailing list."""
        domains = {a.rpartition("@")[2] for a in self.config.mailbox.own_addresses}
        for message in thread.get("messages", []):
            group = google_group_in((message.get("payload") or {}).get("headers") or [])
            if group and group not in self._unlisted_groups and group.rpartition("@")[2] in domains \
                    and not self.config.is_own_address(group):
                self._unlisted_groups.add(group)
                log.warning("thread %s came through the Google Group %s and is read as a mailing list's (no ticket, "
                            "no acknowledgement); if customers write to %s, add it to [mailbox] aliases",
                            thread_id, group, group)

    def newer_than(self, days: int) -> str:
        """Gmail search terms for "the last ``days`` days" by this host's clock (``after:`` in epoch seconds),
        not by the server's as ``newer_than:`` would be: a replayed or simulated clock sees the same mail."""
        return f"after:{int((self.now() - timedelta(days=days)).timestamp())}"

    def search_tickets(self, q: str, limit: int = 500,
                       progress: Callable[[int, int], None] | None = None) -> list[Ticket]:
        """Tickets of the threads a search finds. ``threads.list`` gives each thread's history id, so a
        thread unchanged since this host last read it is not read again (the add-on's queue, opened all
        day, costs one search and the threads that changed); the others are read in HTTP batches of ≤50,
        a few round trips, not one per ticket. ``progress(done, total)`` follows the reading, batch by batch
        (a report over 2,000 conversations reads for minutes at Gmail's pace); only one batch of whole threads
        is held at a time."""
        return self._search_tickets(q, limit, progress)[0]

    def tickets_since(self, days: int, limit: int,
                      progress: Callable[[int, int], None] | None = None) -> tuple[list[Ticket], bool]:
        """The tickets of the last ``days`` days (reports), newest first, at most ``limit`` threads; True beside
        them when the period has more threads than that (the oldest are left out: say so)."""
        return self._search_tickets(self.newer_than(days), limit, progress, tell_more=True)

    def _search_tickets(self, q: str, limit: int, progress, tell_more: bool = False) -> tuple[list[Ticket], bool]:
        """The tickets and whether the search found more threads than ``limit`` (asked only with ``tell_more``:
        one thread more is listed to know)."""
        listed = self.client.list_threads(q=q, max_results=limit + 1 if tell_more else limit)
        found = [(ref["id"], ref.get("historyId")) for ref in listed[:limit]]
        known = {t: self._known.get(t) for t, _ in found}
        stale = [t for t, history in found if known[t] is None or known[t][0] != history]
        for start in range(0, len(stale), READ_AHEAD):
            chunk = stale[start:start + READ_AHEAD]
            calls = [(self.client.users.threads().get(userId="me", id=thread_id, format="full"),
                      "gmail.users.threads.get") for thread_id in chunk]
            for thread_id, thread in zip(chunk, self.client.batch(calls)):
                if isinstance(thread, GmailError):
                    if getattr(thread, "status", 0) == 404:  # deleted since the search
                        known[thread_id] = None
                        continue
                    raise thread
                ticket = self._ticket_of(thread_id, thread)
                known[thread_id] = (thread.get("historyId"), self._remember(thread_id, thread, ticket))
            if progress:
                progress(start + len(chunk), len(stale))
        tickets = [known[t][1] for t, _ in found if known[t] is not None and known[t][1] is not None]
        return tickets, len(listed) > limit

    def open_tickets(self) -> list[Ticket]:
        """Tickets awaiting an agent's reply (found by the Awaiting reply label)."""
        label = self.executor.full_name("Awaiting reply")
        if label not in self.executor.label_ids():
            return []
        q = f"label:{label.replace(' ', '-').replace('/', '-').lower()}"
        return [t for t in self.search_tickets(q) if t.awaiting_reply]

    def customer_tickets(self, email: str, limit: int = 20) -> list[Ticket]:
        return self.search_tickets(customer_query(email), limit=limit) if customer_query(email) else []

    def customer_history(self, email: str, exclude_thread: str = "", limit: int = 5) -> list["EarlierTicket"]:
        """The customer's other threads, newest first: one metadata read each, not whole threads, and only
        the first time (a message's subject never changes)."""
        seen, out = {exclude_thread}, []
        if not customer_query(email):
            return out
        for ref in self.client.list_message_ids(q=customer_query(email), max_results=50):
            if ref["threadId"] in seen:
                continue
            seen.add(ref["threadId"])
            out.append(EarlierTicket(ref["threadId"], self._subject(ref["id"])))
            if len(out) == limit:
                break
        return out

    def _subject(self, message_id: str) -> str:
        subject = self._subjects.get(message_id)
        if subject is None:
            message = self.client.get_message(message_id, format="metadata", metadata_headers=["Subject"])
            subject = next((h["value"] for h in message.get("payload", {}).get("headers", [])
                            if h["name"].lower() == "subject"), "").strip() or "(no subject)"  # empty: no subject either
            if len(self._subjects) > KNOWN_SUBJECTS:
                self._subjects.clear()
            self._subjects[message_id] = subject
        return subject

    # -- events ------------------------------------------------------------------------------

    def events_for(self, ticket: Ticket, new_message_ids: set[str] | None) -> list[str]:
        """Which event hooks a change fires: derived from which messages are new."""
        if new_message_ids is None:  # full sync: judge from the thread alone
            new = [ticket.messages[-1]]
            if not ticket.first_agent_reply_at:
                new = list(ticket.customer_messages[:1]) + new
        else:
            new = [m for m in ticket.messages if m.id in new_message_ids]
        events = []
        if any(m.id == ticket.first_customer_message.id for m in new):
            events.append("on_ticket_opened")
        elif any(m.kind == "customer" for m in new):
            events.append("on_customer_replied")
        if any(m.kind == "agent" for m in new):
            events.append("on_agent_replied")
        return events

    def continued_from(self, ticket: Ticket) -> str:
        """The thread of ours a new ticket's first message answers, or "": Gmail starts a new thread when a
        customer changes the subject in a reply, and after 100 messages, so that message is the customer
        writing again in a conversation, no new request. Its In-Reply-To and latest References are looked up
        (one search each, only for a new ticket's first message that answers something; ids a search cannot
        hold are skipped)."""
        first = ticket.first_customer_message
        ids = [i for i in re.findall(r"<[^<>\s]+>", f"{first.references} {first.in_reply_to}")
               if SEARCHABLE_ID.fullmatch(i)]
        for message_id in list(dict.fromkeys(reversed(ids)))[:FOLLOW_UP_LOOKUPS]:
            # Trash and Spam too: a conversation an agent binned is still one the customer is answering.
            found = self.client.list_message_ids(q=f"rfc822msgid:{message_id}", max_results=5, include_spam_trash=True)
            other = next((ref["threadId"] for ref in found if ref["threadId"] != ticket.thread_id), "")
            if other:
                return other
        return ""

    def carried_over(self, origin: str, ticket: Ticket) -> tuple[Ticket, Actions]:
        """What a thread Gmail split off keeps from the conversation it continues, when the earlier thread is the
        same customer's (one read of it, only for such threads; a stranger's References take nothing): the label
        ``Continued``, which makes it the customer's next message (the SLA clock runs the next-response target
        from it, reports count no new ticket; read back from Gmail after a restart, so it costs no call of its
        own), and the owner, so the agent who has the customer keeps them. Returns the ticket as the hooks see it
        (with both labels: an agent's answer read in the same batch takes no second owner) and the labels to add."""
        actions = Actions(thread_id=ticket.thread_id, label_root=self.config.mailbox.label_root)
        try:
            earlier = self.ticket(origin)
        except GmailError as exc:  # gone or refused: the split thread is still handled, unowned, as a new request
            log.info("thread %s continues %s, which could not be read (%s)", ticket.thread_id, origin, exc)
            return ticket, actions
        if earlier is None or not self.personal_addresses(earlier) & self.personal_addresses(ticket):
            return ticket, actions
        actions.add_labels(CONTINUED)
        labels = set(ticket.labels)
        if earlier.owner_name and not ticket.owner_name:
            owner = f"Owner/{earlier.owner_name}"
            actions.add_labels(owner)
            labels.add(ticket.full_label(owner))  # the hooks see the owner: an agent's answer in this batch takes none
        return dataclasses.replace(ticket, continues_conversation=True, labels=frozenset(labels)), actions

    def personal_addresses(self, ticket: Ticket) -> set[str]:
        """The customer's own addresses, by which two threads are one customer's: not a web form's or robot's
        sender (no-reply@, notifications@), which every visitor's mail shares, and none of ours."""
        return {a for a in ticket.customer_addresses
                if not ROBOT_LOCAL.match(a.partition("@")[0]) and not self.config.is_own_address(a)}

    def dispatch(self, event: str, ticket: Ticket, **extra) -> tuple[Actions, list[str]]:
        """Call one event hook for a ticket; the only place event hooks are called. Each plugin is called on its
        own, in pluggy's order, so that one that raises (a third-party plugin's bug) is named and keeps no other
        plugin from the ticket: what it recorded is dropped, and it is returned beside the others' actions as one
        line saying what broke. Gmail refusing (a :class:`GmailError` from a facts hook) still stops the thread."""
        actions = Actions(thread_id=ticket.thread_id, label_root=self.config.mailbox.label_root)
        failures = []
        impls = getattr(self.pm.hook, event).get_hookimpls()
        now = self.now()
        for impl in reversed(impls):
            own = Actions(thread_id=ticket.thread_id, label_root=self.config.mailbox.label_root,
                          source=impl.plugin_name, event=f"{event}:{event_message_id(ticket)}")
            call = self.pm.subset_hook_caller(event, remove_plugins=[i.plugin for i in impls if i is not impl])
            try:
                call(ticket=ticket, actions=own, settings=self.config, now=now, **extra)
            except GmailError:
                raise
            except Exception as exc:
                failure = f"plugin {impl.plugin_name} failed in {event} ({type(exc).__name__}: {exc})"[:300]
                log.error("thread %s: %s; what it recorded is dropped, the other plugins' actions are carried out",
                          ticket.thread_id, failure, exc_info=exc)
                failures.append(failure)
                continue
            actions.recorded.extend(own.recorded)
        return actions, failures

    def process_thread(self, thread_id: str, new_message_ids: set[str] | None = None,
                       dry_run: bool = False, events: list[str] | None = None, **extra) -> Processed:
        with self.thread_lock(thread_id):
            return self._process_thread(thread_id, new_message_ids, dry_run, events, **extra)

    def _process_thread(self, thread_id, new_message_ids, dry_run, events, **extra) -> Processed:
        ticket = self.ticket(thread_id, new_message_ids)
        result = Processed(thread_id, ticket)
        if ticket is None:
            return result
        result.events = events if events is not None else self.events_for(ticket, new_message_ids)
        for message in ticket.messages:
            if message.forged_from and (new_message_ids is None or message.id in new_message_ids):
                log.warning("thread %s: message %s read as a customer's: %s",
                            thread_id, message.id, message.forged_from)
        opened = "on_ticket_opened" in result.events
        # A thread already labelled Continued (a full sync reads it again) needs no search to say so.
        origin = self.continued_from(ticket) if opened and not ticket.continues_conversation else ""
        if opened and (origin or ticket.continues_conversation):
            result.events = [e if e != "on_ticket_opened" else "on_customer_replied" for e in result.events]
        actions = Actions(thread_id=ticket.thread_id, label_root=self.config.mailbox.label_root)
        in_gmail = ticket  # the labels the thread carries: what the executor adds and removes is measured on them
        if origin:
            ticket, carried = self.carried_over(origin, ticket)
            result.ticket = ticket
            actions.recorded.extend(carried.recorded)
        failures = []
        for event in result.events:
            recorded, failed = self.dispatch(event, ticket, **(extra if event == "on_sweep" else {}))
            actions.recorded.extend(recorded.recorded)
            failures += failed
        actions.recorded.extend(self.state_labels(ticket).recorded)
        result.outcome = self.executor.execute(actions, in_gmail, dry_run=dry_run)
        if failures:  # after the other plugins' actions: the thread fails, so the broken plugin is tried again
            error = PluginError("; ".join(failures) + "; the other plugins' actions were carried out")
            error.processed = result
            raise error
        return result

    def state_labels(self, ticket: Ticket) -> Actions:
        """The host's own projection: ``Awaiting reply`` while the customer spoke last."""
        actions = Actions(thread_id=ticket.thread_id)
        if ticket.awaiting_reply:
            actions.add_labels("Awaiting reply")
        else:
            actions.remove_labels("Awaiting reply")
        return actions

    def execute(self, actions: Actions, ticket: Ticket | None = None, dry_run: bool = False) -> Outcome:
        if ticket is None and actions.thread_id:
            ticket = self.ticket(actions.thread_id)
        return self.executor.execute(actions, ticket, dry_run=dry_run)

    # -- UI hooks: the one place the add-on's hooks are called ----------------------------------

    def deadline(self, ticket: Ticket):
        """The next-answer deadline from whichever plugin answers ``ticket_deadline`` (or None)."""
        return self.pm.hook.ticket_deadline(ticket=ticket, settings=self.config, now=self.now())

    def suggestions(self, ticket: Ticket, limit: int = 3) -> list:
        found = self.pm.hook.suggest_articles(text=ticket.question, language=ticket.language, limit=limit,
                                              settings=self.config)
        return list(found or [])

    def side_panel_sections(self, ticket: Ticket, agent, urls) -> list[dict]:
        return self._in_admin_order("ticket_sections", ticket=ticket, agent=agent, settings=self.config,
                                    now=self.now(), urls=urls)

    def compose_suggestions(self, ticket: Ticket | None, agent) -> list[dict]:
        return self._in_admin_order("compose_suggestions", ticket=ticket, agent=agent, settings=self.config)

    def homepage_sections(self, agent, tickets: list[Ticket], urls) -> list[dict]:
        return self._in_admin_order("homepage_sections", agent=agent, tickets=tickets, settings=self.config,
                                    now=self.now(), urls=urls)

    def plugin_order(self, names) -> list[str]:
        """Plugin names as the admin listed them in ``[plugins] enabled``, the others (third-party, always-on)
        after them by name: the side panel reads in the order the admin chose, not in install order."""
        listed = {name: at for at, name in enumerate(self.config.enabled_plugins)}
        return sorted(names, key=lambda name: (listed.get(name, len(listed)), name))

    def _in_admin_order(self, hook_name: str, **kwargs) -> list:
        """A UI hook's answers (lists of dicts) joined in :meth:`plugin_order`. Each plugin is called on its own
        (``subset_hook_caller``, which hook-call monitoring and tracing still see): pluggy drops None answers
        from a joint call, so a joint call's results cannot be matched to the plugins that gave them. One that
        raises or answers something else is logged by name and left out: the agent still sees the others'."""
        return listed_answers(self.pm, hook_name, dict, log_broken, order=self.plugin_order, **kwargs)

    def card_action(self, name: str, parameters: dict, form_inputs: dict, ticket: Ticket | str | None, agent,
                    dry_run: bool = False):
        """Route a button to the plugin that owns it; execute what it recorded. Returns its CardReply.
        ``ticket`` may be just its thread id: the thread is read here, under its lock, either way."""
        thread_id = ticket if isinstance(ticket, str) else ticket.thread_id if ticket is not None else ""
        if not thread_id:
            return self._card_action(name, parameters, form_inputs, None, agent, dry_run)
        with self.thread_lock(thread_id):  # decide from the thread as it is now, not as the card saw it
            fresh = self.ticket(thread_id)
            if fresh is None:  # deleted since the card was shown: no plugin acts on the stale copy
                return CardReply(notification="This conversation no longer exists (deleted?); nothing was changed.")
            return self._card_action(name, parameters, form_inputs, fresh, agent, dry_run)

    def reply_draft(self, ticket: Ticket, agent, text: str, content_type: str = "TEXT", plain: str | None = None) -> dict:
        """A new reply draft to the customer in the ticket's thread holding ``text``, HTML when
        ``content_type`` says so, with ``plain`` (or the HTML's text) as its plain-text part (what a side-panel
        "Insert" button makes when no draft is open: Gmail inserts into a draft only from compose)."""
        from .actions import Draft
        from .mailbox.mime import html_to_text

        key = f"insert-{secrets.token_hex(6)}"  # each press its own draft and Message-ID
        html = text if content_type.upper() == "HTML" else None
        latest = ticket.latest_customer_message  # answered: its writer gets the draft, not the first customer
        draft = Draft(thread_id=ticket.thread_id, in_reply_to=latest.id, to=latest.sender.email, subject=ticket.reply_subject,
                      text=(plain or html_to_text(html)) if html else text, html=html, key=key,
                      cc=self.copied(latest))
        raw = self.executor.compose(draft, ticket, automatic=False, from_name=agent.full_name if agent else "")
        return self.client.create_draft(raw, thread_id=ticket.thread_id)

    def copied(self, message) -> tuple[str, ...]:
        """Whom a reply to ``message`` copies, as Gmail's Reply all: everyone it was written to, but never
        the person answered, our own addresses (aliases, +tags) or an agent (they read the shared inbox). The
        headers are the customer's to write: an entry that is no plain ASCII address (a bare word, a space, a
        non-ASCII name no Cc header can carry) is left out, not allowed to stop the draft. A message to more than
        ``MAX_COPIED`` others is a mailing: nobody is copied, or one Send would mail a stranger's list from us. A
        message that reached us blind-copied (none of our addresses in To or Cc) copies nobody either: Reply all
        from a blind copy would tell the others the writer had copied us."""
        if not any(self.config.is_own_address(a) for a in (*message.to, *message.cc)):
            return ()
        others = tuple(dict.fromkeys(a for a in (*message.to, *message.cc)
                                     if addressable(a) and a != message.sender.email
                                     and not self.config.is_own_address(a) and self.config.agent(a) is None))
        return others if len(others) <= MAX_COPIED else ()

    def _card_action(self, name, parameters, form_inputs, ticket, agent, dry_run):
        # A reply, draft, task or notice the button records without a key is keyed by the button and the message it
        # answers: pressed twice (or the press sent again), it acts once; after the customer writes again, anew.
        actions = Actions(thread_id=ticket.thread_id if ticket else "", label_root=self.config.mailbox.label_root,
                          source="card", event=f"{name}:{event_message_id(ticket)}" if ticket else "")
        reply = self.pm.hook.on_card_action(name=name, parameters=parameters, form_inputs=form_inputs,
                                            ticket=ticket, agent=agent, actions=actions, settings=self.config,
                                            now=self.now())
        if len(actions):
            # An agent asked for it: never held back by the alert budget (it counts toward it).
            outcome = self.executor.execute(actions, ticket, dry_run=dry_run, by_agent=True)
            if outcome.errors:  # the agent must know the task or alert behind the button did not happen
                raise GmailError("; ".join(outcome.errors))
            if reply is not None and reply.already and not dry_run and not outcome.made_something:
                reply = dataclasses.replace(reply, notification=reply.already)
        return reply

    # -- sweep -------------------------------------------------------------------------------

    def sweep(self, dry_run: bool = False, progress: Callable[[int, int], None] | None = None) -> SweepReport:
        """Visit the tickets the plugins' sweep queries find and run ``on_sweep`` on each; ``progress(done,
        total)`` after each (the CLI's bar)."""
        with exclusive(self.state_dir, "sweep"):  # one sweep at a time across processes (cron beside serve)
            self.keep_switch_ons(dry_run)
            return self._sweep_locked(dry_run, progress)

    def _sweep_locked(self, dry_run: bool, progress) -> SweepReport:
        now = self.now()
        try:
            self.retire_labels(dry_run)
        except GmailError as exc:  # tidying up must not keep the tickets from their deadlines; the next sweep retries
            if getattr(exc, "unavailable", False):  # Gmail down or refusing us: the sweep's own calls would fail too
                raise
            log.error("deleting the labels of plugins that are not enabled failed: %s", exc)
        queries = list(dict.fromkeys(listed_answers(self.pm, "sweep_queries", str, log_broken, settings=self.config,
                                                    now=now)))
        # One search for all of them (5 units, not 5 a query): Gmail groups with parentheses and ORs them.
        search = " OR ".join(f"({q})" for q in queries) if len(queries) > 1 else "".join(queries)
        refs = self.client.list_message_ids(q=search) if search else []
        thread_ids = list(dict.fromkeys(ref["threadId"] for ref in refs))
        # Each task list read once this sweep, not once per escalation; one warning for the alerts held back.
        with self.executor.tasks_read_once(), self.executor.alert_run("sweep"):
            try:
                completed, open_threads = self.watched_tasks()
            except LabeldeskError as exc:  # Google Tasks down or not allowed: deadlines and alerts still go on
                if getattr(exc, "unavailable", False):  # the shared token refused: Gmail's calls would fail too
                    raise
                log.log(level(exc), "reading completed tasks failed: %s; no escalation is closed this sweep", exc)
                completed, open_threads = frozenset(), []
            except Exception:  # a bug: its traceback is what a developer needs
                log.exception("reading completed tasks failed; no escalation is closed this sweep")
                completed, open_threads = frozenset(), []
            # A ticket with an open task is visited though no query finds it: an older version took its label off.
            thread_ids = list(dict.fromkeys(thread_ids + open_threads))
            # A ticket Gmail refused last time goes last: one thread Gmail cannot serve must not stop every sweep.
            thread_ids.sort(key=lambda t: t in self._sweep_refused)
            return self._sweep(thread_ids, dry_run, progress, completed)

    def _sweep(self, thread_ids: list[str], dry_run: bool, progress, completed: frozenset) -> SweepReport:
        results = SweepReport()
        try:
            self._sweep_each(thread_ids, dry_run, progress, completed, results)
        finally:
            self.drop_prefetched()  # what a stopped sweep read ahead would be stale by the next one
        return results

    def _sweep_each(self, thread_ids: list[str], dry_run: bool, progress, completed, results: SweepReport) -> None:
        for done, thread_id in enumerate(thread_ids, 1):
            if self.stopping.is_set():  # the next sweep visits them; a deadline label is a few minutes late
                results.not_reached = len(thread_ids) - done + 1
                log.warning("sweep stopped: the host is stopping; %d ticket(s) left for the next sweep",
                            results.not_reached)
                break
            # One HTTP round trip for the next 50 tickets, not one each; from the second ticket on, once Gmail has
            # answered: when it refuses (out of quota, down), one ticket's retries say so, not a whole batch's.
            if done % READ_AHEAD == 2 and results:
                self._read_ahead(thread_ids[done - 1:done - 1 + READ_AHEAD])
            try:
                results.append(self.process_thread(thread_id, dry_run=dry_run, events=["on_sweep"],
                                                   completed_tasks=completed))
            except Exception as exc:  # one bad ticket must not keep the others from their deadlines
                if isinstance(exc, LabeldeskError):  # Gmail refusing: its message names the call and the answer
                    log.log(level(exc), "sweeping thread %s failed: %s", thread_id, exc)
                else:  # a plugin or parser bug: the traceback is what a developer needs
                    log.exception("sweeping thread %s failed", thread_id)
                results.failed.append((thread_id, str(exc) if isinstance(exc, LabeldeskError)
                                       else f"{type(exc).__name__}: {exc}"[:300]))
                if getattr(exc, "processed", None) is not None:  # another plugin's actions went through
                    results.partly.append(exc.processed)
                if getattr(exc, "unavailable", False):  # Gmail out of quota or down: the rest would fail alike
                    log.log(level(exc), "sweep stopped: Gmail refused; the next sweep visits the other tickets first")
                    self._sweep_refused.add(thread_id)
                    results.not_reached = len(thread_ids) - done
                    break
            else:
                self._sweep_refused.discard(thread_id)
            if progress:
                progress(done, len(thread_ids))

    def retire_labels(self, dry_run: bool = False) -> list[str]:
        """Delete from the mailbox the labels that installed plugins which are not enabled own (``owned_labels``,
        e.g. ``SLA/At risk``): nothing would ever take them off a thread again. One ``labels.delete`` each,
        once; the label list is the executor's cached one, so a sweep with nothing to retire costs no call."""
        from .plugins import disabled_plugins_labels

        if self._retired is None:
            self._retired = sorted(self.executor.full_name(n) for n in disabled_plugins_labels(self.config, self.pm))
        present = self.executor.label_ids()
        gone = [name for name in self._retired if name in present]
        for name in gone:
            log.warning("label %s belongs to a plugin that is not enabled; %s", name,
                        "it would be deleted (dry run)" if dry_run else "deleted")
            if not dry_run:
                self.client.delete_label(present[name])
                self.executor.own_labels.forget(name)
        if gone and not dry_run:
            self.executor.forget_labels()
        return gone

    def background_jobs(self) -> list[tuple[float, str, object]]:
        """The plugins' periodic jobs, each bound to this host's Google client: (seconds, name, callable)."""
        jobs = []
        for answer in self.pm.hook.background_jobs(settings=self.config):
            for every, name, job in answer or []:
                jobs.append((float(every), name, lambda job=job: job(self.client)))
        return jobs

    def watched_tasks(self) -> tuple[frozenset[str], list[str]]:
        """Of the lists plugins watch: the keys (``[labeldesk:KEY]`` in notes) whose tasks are all completed (a
        key made again for a problem that came back is open until its new task is done), and the threads of the
        open Labeldesk tasks (the ``Thread:`` link of :attr:`Ticket.gmail_url` in their notes)."""
        titles = set(listed_answers(self.pm, "sweep_tasklists", str, log_broken, settings=self.config))
        if not titles:
            return frozenset(), []
        done, open_, threads = set(), set(), []
        for tasklist in self.client.list_tasklists():
            if not any(tasklist.get("title", "").startswith(t) for t in titles):
                continue
            for task in self.executor.list_tasks(tasklist["id"]):
                notes = task.get("notes") or ""
                keys = TASK_KEY.findall(notes)
                (done if task.get("status") == "completed" else open_).update(keys)
                if keys and task.get("status") != "completed" and not task.get("deleted"):
                    threads += THREAD_LINK.findall(notes)[:1]
        return frozenset(done - open_), list(dict.fromkeys(threads))


def customer_query(email: str) -> str:
    """A Gmail search for a customer's mail: from one plain address, or to it (a web form's visitor
    writes from the form's no-reply address; our answers go to the visitor), or "" for an address
    Gmail's search syntax cannot hold (a quoted local part with spaces, "OR", braces, or a leading "-"
    would widen or invert the search and show another customer's threads)."""
    return f"{{from:{email} to:{email}}}" if is_plain_address(email) else ""



def addressable(email: str) -> bool:
    """Whether ``email``, read from a customer's header, is a plain address a reply's Cc can carry as it is: not
    a bare word, a quoted or spaced local part, nor an encoded or non-ASCII one (which the ``email`` package
    refuses or writes as an RFC 2047 word no server delivers to)."""
    from email.errors import HeaderParseError
    from email.headerregistry import Address

    if not (is_plain_address(email) and email.isascii()):
        return False
    try:
        return str(Address(addr_spec=email)) == email
    except (ValueError, HeaderParseError):
        return False
