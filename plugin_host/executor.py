"""The executor: the only code that carries out what plugins recorded.

Per thread it merges label changes into one ``threads.modify``, sends automatic replies after the
loop guard agreed (stamped ``Auto-Submitted: auto-replied``, ``X-Auto-Response-Suppress: All``, a
deterministic Message-ID and an ``X-Labeldesk`` key so a retry never sends twice), creates drafts,
tasks and notifications idempotently. ``dry_run`` returns the plan without touching anything.
Notifications of automatic runs (syncs, sweeps) keep to the host's alert budget (:mod:`plugin_host.alerts`):
one over ``[host] alerts_per_hour`` is held back with its key free, so a later sweep sends it if it is still due.
Replies go out before labels, so a crash between the two is repaired by the next run: the thread
then holds the marked reply, the reply is skipped, and the labels converge. A task or notification
that fails does not stop the rest (labels included); it is logged and kept in ``Outcome.errors`` (only
Gmail itself refusing is raised), and its key lets the next run retry it.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from .actions import Action, Actions, Draft, LabelChange, Notification, Reply, Task, TaskDone
from .alerts import AlertBudget
from .config import Config
from .mailpolicy import OUTGOING
from .own_labels import OwnLabels
from .errors import GmailError
from .refusals import level
from .sent import SentLedger
from .ticket import Ticket

log = logging.getLogger(__name__)
MAX_CLAIMS = 200_000  # idempotency keys remembered in memory (a few MB); Gmail and Tasks remain the record
SUPPRESSED_LABEL = "Auto-reply suppressed"
MAX_REFERENCES = 20  # message ids in the References of what we send
# One message id as written in Message-ID, In-Reply-To and References: <…> without control characters, and without
# spaces but in a quoted local part (RFC 5322's obsolete '<"john smith"@host>', which receivers must accept).
# A customer's header of another shape (an RFC 2047 encoded word decoding to "<a@b>\r\nBcc: …") is never copied
# into ours: the email package would decode it when the header is set and write its line break out. The quoted and
# unquoted parts start differently and neither holds "<" or ">": one pass, however hostile the quotes.
MESSAGE_ID = re.compile(r'<(?:"(?:[^"\\<>\x00-\x1f\x7f]|\\[^<>\x00-\x1f\x7f])*"|[^"<>\s\x00-\x1f\x7f])+>')
SYSTEM_LABELS = {"INBOX", "UNREAD", "STARRED", "IMPORTANT", "SPAM", "TRASH"}
MADE = ("task created", "sent ", "notified ", "posted ", "drafted ")
TASK_KEY = re.compile(r"\[labeldesk:([^\]]+)\]")  # the idempotency key a task's notes end with
LABEL_COLORS = {
    "SLA/Breached": {"backgroundColor": "#cc3a21", "textColor": "#ffffff"},
    "SLA/At risk": {"backgroundColor": "#ffad47", "textColor": "#000000"},
    "Priority/Urgent": {"backgroundColor": "#fb4c2f", "textColor": "#ffffff"},
    "Escalated": {"backgroundColor": "#8e63ce", "textColor": "#ffffff"},
    "Awaiting reply": {"backgroundColor": "#4a86e8", "textColor": "#ffffff"},
}


@dataclass
class Outcome:
    """What one execution did: human-readable lines, also printed by ``--dry-run``; a ``done`` line starting
    with one of ``MADE`` made something new for people to see (a task, a mail, a chat post, a draft).
    ``held_back``: notifications the alert budget kept for a later sweep (neither sent nor failed)."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    held_back: list[str] = field(default_factory=list)

    @property
    def made_something(self) -> bool:
        """Whether this execution made a task, mail, chat post or draft (not only labels, not only skips)."""
        return any(line.startswith(MADE) for line in self.done)


@dataclass
class AlertRun:
    """One automatic run (a sync, a sweep) as the alert budget sees it: what it held back, for one warning at its
    end, and in a dry run the alerts it would have sent, which count against the budget as a real run's would."""

    what: str
    held_back: int = 0
    reason: str = ""
    planned: int = 0
    dry_run: bool = False


def message_id_for(key: str, thread_id: str, domain: str) -> str:
    digest = hashlib.sha256(f"{thread_id}:{key}".encode()).hexdigest()[:20]
    return f"<labeldesk.{digest}@{domain}>"


class Executor:
    """Carries out Actions against one mailbox through a :class:`~plugin_host.gmail.GmailClient`."""

    def __init__(self, config: Config, client, now=None):
        self.config = config
        self.client = client
        self.now = now or (lambda: datetime.now(timezone.utc))
        self._labels: dict[str, str] | None = None
        self.own_labels = OwnLabels(config.state_path, config.mailbox.label_root)  # ours by id: renamed in Gmail
        self._tasklist_ids: dict[str, str] = {}
        # Ids of messages this process sent: their history records need no second look.
        self.sent_ids: set[str] = set()
        # "Was this already sent?" for every automatic mail: this process's sends, Gmail's search, and what the
        # search may not show yet (plugin_host.sent).
        self.sent = SentLedger(client, lambda: self.now())
        # The feed, the sweep and add-on requests run on their own threads over one executor: label and
        # task-list creation, and each idempotency key (reply, draft, task, notification), one at a time.
        self._lock = threading.RLock()
        self._claims: OrderedDict[tuple, None] = OrderedDict()
        self._local = threading.local()  # .tasks: list id → its tasks, read once within tasks_read_once(); .run
        self.alert_budget = AlertBudget(config.state_path, config.host.alerts_per_hour)
        self._held_back: dict[tuple[str, str], None] = {}  # (channel, key) this process found unsent and held back

    def _claim(self, key: tuple) -> bool:
        """Take an idempotency key for this process: False when another run holds it or has done it."""
        with self._lock:
            if key in self._claims:
                return False
            self._claims[key] = None
            while len(self._claims) > MAX_CLAIMS:
                self._claims.popitem(last=False)
            return True

    def _release(self, key: tuple) -> None:
        """Give a key back after a failure or a decision not to act, so a later run may try again."""
        with self._lock:
            self._claims.pop(key, None)

    # -- labels ------------------------------------------------------------------------------

    def full_name(self, name: str) -> str:
        root = self.config.mailbox.label_root
        if not root or name.startswith(root + "/") or name in SYSTEM_LABELS:
            return name
        return f"{root}/{name}"

    def label_ids(self) -> dict[str, str]:
        with self._lock:
            if self._labels is None:
                self._labels = {l["name"]: l["id"] for l in self.client.list_labels()}
            return self._labels

    def label_id(self, full_name: str) -> str:
        with self._lock:  # two threads must not both create a new label (Gmail answers the second with 409)
            return self._label_id(full_name)

    def _label_id(self, full_name: str) -> str:
        labels = self.label_ids()
        if full_name in labels:
            self.own_labels.know(full_name, labels[full_name])
            return labels[full_name]
        root = self.config.mailbox.label_root
        short = full_name[len(root) + 1:] if root and full_name.startswith(root + "/") else full_name
        # Create parents first so Gmail's UI nests them.
        parts = full_name.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent not in labels:
                labels[parent] = self.client.create_label(parent)["id"]
                self.own_labels.know(parent, labels[parent])
        labels[full_name] = self.client.create_label(full_name, color=LABEL_COLORS.get(short))["id"]
        self.own_labels.know(full_name, labels[full_name])
        return labels[full_name]

    def forget_labels(self) -> None:
        with self._lock:
            self._labels = None

    def check_labels(self, dry_run: bool = False) -> list[str]:
        """List the mailbox's labels again (1 unit) and give Labeldesk's labels an agent renamed, moved or
        re-cased in Gmail their names back; the names whose threads lost them (deleted) are returned
        (:mod:`plugin_host.own_labels`)."""
        with self._lock:
            listed = self.client.list_labels()
            self._labels = {l["name"]: l["id"] for l in listed}

            def rename(label_id: str, name: str) -> None:
                self.client.rename_label(label_id, name)
                self._labels = {n: i for n, i in self._labels.items() if i != label_id}
                self._labels[name] = label_id

            return self.own_labels.check(listed, rename, dry_run)

    def label_names(self) -> dict[str, str]:
        with self._lock:  # _label_id adds to the same dict from other threads
            return {v: k for k, v in self.label_ids().items()}

    # -- planning ------------------------------------------------------------------------------

    def merge_labels(self, actions: list[Action], ticket: Ticket | None) -> dict[str, tuple[set, set]]:
        """Per thread: (names to add, names to remove), later actions winning, no-ops dropped."""
        merged: dict[str, tuple[set, set]] = {}
        for action in actions:
            if not isinstance(action, LabelChange) or not action.thread_id:
                continue
            add, remove = merged.setdefault(action.thread_id, (set(), set()))
            for name in action.remove:
                full = self.full_name(name)
                add.discard(full)
                remove.add(full)
            for name in action.add:
                full = self.full_name(name)
                remove.discard(full)
                add.add(full)
        if ticket is not None and ticket.thread_id in merged:
            add, remove = merged[ticket.thread_id]
            current = ticket.labels
            merged[ticket.thread_id] = ({n for n in add if n not in current}, {n for n in remove if n in current})
        return {t: (a, r) for t, (a, r) in merged.items() if a or r}

    def describe(self, actions: Actions, ticket: Ticket | None, by_agent: bool = False) -> list[str]:
        lines = []
        for thread_id, (add, remove) in self.merge_labels(list(actions), ticket).items():
            lines.append(f"label {thread_id}: +{sorted(add)} -{sorted(remove)}")
        for action in actions:
            done = isinstance(action, (Reply, Draft)) and ticket is not None and ticket.has_marker(action.key)
            if done:  # what a real run would skip is not listed as if it would happen
                lines.append(f"skip {type(action).__name__.lower()} ({action.key}): already in thread {action.thread_id}")
            elif isinstance(action, Reply):
                then = f" (then +{sorted(self.full_name(n) for n in action.labels)})" if action.labels else ""
                lines.append(f"reply ({action.key}) to {action.to} in {action.thread_id}: {action.subject}{then}")
            elif isinstance(action, Draft):
                lines.append(f"draft ({action.key}) in {action.thread_id}")
            elif isinstance(action, Task) and self.task_exists(action):
                lines.append(f"skip task ({action.key}): exists")
            elif isinstance(action, Task):
                lines.append(f"task ({action.key}) {action.title}")
            elif isinstance(action, TaskDone):
                lines += [f"complete task ({key}) {task.get('title', '')}: {line}"
                          for task, key, line in self.open_tasks(action)]
            elif isinstance(action, Notification) and self.notified(action):
                lines.append(f"skip notification ({action.key}): already sent")
            elif isinstance(action, Notification) and not by_agent and (held := self._would_hold_back()):
                lines.append(f"hold back notification ({action.key}) to {action.to} via {redact_url(action.channel)}: "
                             f"{held}")
            elif isinstance(action, Notification):
                lines.append(f"notify {action.to} via {redact_url(action.channel)}: {action.subject}")
        return lines

    def _would_hold_back(self) -> str:
        """In a dry run, why the alert budget would hold the next notification back, or "" when it would go out
        (then it counts against the budget for the rest of the run, as a real run's would). Reads only."""
        budget = self.alert_budget
        if not budget.limit:
            return ""
        run = getattr(self._local, "run", None)
        sent = budget.sent(self.now()) + (run.planned if run else 0)
        if sent >= budget.limit:
            self._note_held(sent)
            return budget.reason(sent)
        if run is not None:
            run.planned += 1
        return ""

    # -- execution -----------------------------------------------------------------------------

    @contextmanager
    def alert_run(self, what: str):
        """Within the block, on this thread, executions are one run (``what``: "sync", "sweep"): the notifications
        the alert budget holds back are counted, and logged in one warning when the block ends, not one each."""
        if getattr(self._local, "run", None) is not None:  # already inside one
            yield self._local.run
            return
        run = self._local.run = AlertRun(what)
        try:
            yield run
        finally:
            self._local.run = None
            if run.held_back:
                log.warning("%s: %d alert(s) %s: %s", run.what, run.held_back,
                            "would be held back (dry run)" if run.dry_run else "held back", run.reason)

    def _note_held(self, sent: int) -> None:
        run = getattr(self._local, "run", None)
        if run is not None:
            run.held_back += 1
            run.reason = run.reason or (
                f"{sent} alerts in the last hour, limit [host] alerts_per_hour = {self.alert_budget.limit} "
                "(the support mailbox's own sending, about 2,000 a day, is kept for customers); a later sweep sends "
                "those still due")

    def execute(self, actions: Actions, ticket: Ticket | None = None, dry_run: bool = False,
                by_agent: bool = False) -> Outcome:
        """Carry out ``actions``. ``by_agent``: an agent's button asked for them, so their notifications are never
        held back by the alert budget (they still count toward it)."""
        with self.alert_run("button press" if by_agent else "execution") as run:
            run.dry_run = dry_run
            return self._execute(actions, ticket, dry_run, by_agent)

    def _execute(self, actions: Actions, ticket: Ticket | None, dry_run: bool, by_agent: bool) -> Outcome:
        outcome = Outcome()
        if dry_run:
            outcome.done = ["(dry run) " + line for line in self.describe(actions, ticket, by_agent)]
            return outcome
        extra_labels: list[LabelChange] = []
        failed: list[Exception] = []
        for action in actions:
            if isinstance(action, Reply):
                extra_labels += self.send_reply(action, ticket, outcome)
            elif isinstance(action, Draft):
                self.create_draft(action, ticket, outcome)
            elif isinstance(action, (Task, Notification)):
                failed += self.carry_out_alert(action, outcome, by_agent)
            elif isinstance(action, TaskDone):
                problems = self.carry_out_alert(action, outcome)
                failed += problems
                if action.remove_labels and not problems:  # the label stays the record of a task left open
                    extra_labels.append(LabelChange(action.thread_id, remove=action.remove_labels))
        self.apply_labels(list(actions) + extra_labels, ticket, outcome)
        outage = next((exc for exc in failed if getattr(exc, "unavailable", False)), None)
        if outage is not None:
            raise outage  # after the labels: Gmail itself is down or out of quota, the batch stops
        for exc in failed:  # Tasks or a chat webhook down: the reply and labels went through; keys retry it
            said = str(exc) if getattr(exc, "refusal", None) else f"{type(exc).__name__}: {exc}"[:300]  # a refusal whole
            log.log(level(exc), "an alert for thread %s did not go out (%s); the next run tries again",
                    ticket.thread_id if ticket else "-", said)
        return outcome

    def carry_out_alert(self, action: Task | TaskDone | Notification, outcome: Outcome,
                        by_agent: bool = False) -> list[Exception]:
        """A task (made or completed) or notification; its failure (Tasks or a webhook down) is returned, not raised, so the
        other alerts and the labels still happen. Its key makes the next run try it again, once."""
        try:
            if isinstance(action, Task):
                self.create_task(action, outcome)
            elif isinstance(action, TaskDone):
                self.complete_tasks(action, outcome)
            else:
                self.notify(action, outcome, by_agent)
        except Exception as exc:
            outcome.errors.append(f"{type(action).__name__.lower()} {action.key} failed: {type(exc).__name__}")
            return [exc]
        return []

    def apply_labels(self, actions: list[Action], ticket: Ticket | None, outcome: Outcome) -> None:
        for thread_id, (add, remove) in self.merge_labels(actions, ticket).items():
            add_ids = [self.label_id(n) for n in sorted(add)]
            known = self.label_ids()
            remove_ids = [known[n] for n in sorted(remove) if n in known]
            if not (add_ids or remove_ids):
                continue
            try:
                self._modify(thread_id, ticket, add_ids, remove_ids)
            except GmailError as exc:
                if getattr(exc, "status", 0) != 400:
                    raise
                # A label deleted in Gmail since we cached the list: look the labels up again, once.
                self.forget_labels()
                add_ids = [self.label_id(n) for n in sorted(add)]
                known = self.label_ids()
                self._modify(thread_id, ticket, add_ids, [known[n] for n in sorted(remove) if n in known])
            outcome.done.append(f"labelled {thread_id}: +{sorted(add)} -{sorted(remove)}")

    def _modify(self, thread_id: str, ticket: Ticket | None, add_ids: list[str], remove_ids: list[str]) -> None:
        if ticket is not None and ticket.thread_id == thread_id and len(ticket.messages) == 1 and not ticket.drafts:
            # One message: messages.modify costs half of threads.modify.
            self.client.modify_message(ticket.messages[0].id, add_ids, remove_ids)
        else:
            self.client.modify_thread(thread_id, add_ids, remove_ids)

    # -- replies ---------------------------------------------------------------------------------

    def send_reply(self, reply: Reply, ticket: Ticket | None, outcome: Outcome) -> list[LabelChange]:
        from .guard import reply_verdict

        if ticket is None:
            outcome.errors.append(f"reply {reply.key} without a ticket was dropped")
            return []
        went_out = [LabelChange(ticket.thread_id, add=tuple(reply.labels))] if reply.labels else []
        if ticket.has_marker(reply.key):
            outcome.skipped.append(f"reply {reply.key} already in thread {ticket.thread_id}")
            return went_out
        claim = ("reply", ticket.thread_id, reply.key)
        if not self._claim(claim):
            outcome.skipped.append(f"reply {reply.key} in {ticket.thread_id} sent by another run of this process")
            return went_out
        sent = None
        try:
            verdict = reply_verdict(reply, ticket, self.config, self.sent)
            if not verdict.allowed:
                log.info("no %s for thread %s: %s", reply.reply_kind, ticket.thread_id, verdict.reason)
                outcome.skipped.append(f"{reply.reply_kind} suppressed in {ticket.thread_id}: {verdict.reason}")
                return [LabelChange(ticket.thread_id, add=(SUPPRESSED_LABEL,))]
            sent = self.client.send(self.compose(reply, ticket), thread_id=ticket.thread_id)
        finally:
            if sent is None:
                self._release(claim)
        self.sent_ids.add(sent.get("id", ""))
        domain = ticket.support_address.split("@")[-1]
        self.sent.record(sent, message_id_for(reply.key, ticket.thread_id, domain), reply.to, reply.key,
                         ticket.thread_id)
        outcome.done.append(f"sent {reply.reply_kind} ({reply.key}) to {reply.to} in {ticket.thread_id}")
        return went_out

    def compose(self, reply: Reply | Draft, ticket: Ticket, automatic: bool = True, from_name: str = "") -> bytes:
        answered = next((m for m in ticket.messages if m.id == reply.in_reply_to), ticket.latest_customer_message)
        msg = EmailMessage(policy=OUTGOING)
        domain = ticket.support_address.split("@")[-1]
        display = clean_header_text(getattr(reply, "from_name", "") or from_name)
        msg["From"] = Address(display_name=display, addr_spec=ticket.support_address)
        msg["To"] = Address(addr_spec=reply.to)
        if getattr(reply, "cc", ()):
            msg["Cc"] = [Address(addr_spec=a) for a in reply.cc]
        msg["Subject"] = clean_header_text(reply.subject, limit=2000)  # shortened, Gmail would not thread it
        msg["Message-ID"] = message_id_for(reply.key, ticket.thread_id, domain)
        answered_id = message_ids(answered.message_id)[:1]
        if answered_id:
            msg["In-Reply-To"] = answered_id[0]
            refs = message_ids(answered.references) + answered_id
            # The first and the latest ids thread a reply (RFC 5322 3.6.4); a hostile message's 50,000 made a
            # 1 MB header that took the stdlib 4 s to write.
            msg["References"] = " ".join(refs[:1] + refs[1:][-MAX_REFERENCES + 1:])
        msg["X-Labeldesk"] = reply.key
        if automatic:
            msg["Auto-Submitted"] = "auto-replied"
            msg["X-Auto-Response-Suppress"] = "All"
        msg.set_content(reply.text)
        html = getattr(reply, "html", None)
        if html:
            msg.add_alternative(html, subtype="html")
        return msg.as_bytes()

    def create_draft(self, draft: Draft, ticket: Ticket | None, outcome: Outcome) -> None:
        if ticket is None:
            outcome.errors.append(f"draft {draft.key} without a ticket was dropped")
            return
        if ticket.has_marker(draft.key):
            outcome.skipped.append(f"draft {draft.key} already in thread")
            return
        claim = ("draft", ticket.thread_id, draft.key)
        if not self._claim(claim):
            outcome.skipped.append(f"draft {draft.key} in {ticket.thread_id} made by another run of this process")
            return
        try:
            self.client.create_draft(self.compose(draft, ticket, automatic=False), thread_id=ticket.thread_id)
        except BaseException:
            self._release(claim)
            raise
        outcome.done.append(f"drafted ({draft.key}) in {ticket.thread_id}")

    # -- tasks and notifications ---------------------------------------------------------------

    def tasklist_id(self, title: str, create: bool = True) -> str | None:
        with self._lock:  # one new list, not one per thread that needs it
            return self._tasklist_id(title, create)

    def _tasklist_id(self, title: str, create: bool) -> str | None:
        if title not in self._tasklist_ids:
            lists = self.client.list_tasklists()
            found = next((l["id"] for l in lists if l.get("title") == title), None)
            if found is None and not create:
                return None
            self._tasklist_ids[title] = found or self.client.insert_tasklist(title)["id"]
        return self._tasklist_ids[title]

    @contextmanager
    def tasks_read_once(self):
        """Within the block, on this thread (one sweep), each task list is read once, not once per task
        checked; tasks made meanwhile are added to what was read."""
        if getattr(self._local, "tasks", None) is not None:  # already inside one
            yield
            return
        self._local.tasks = {}
        try:
            yield
        finally:
            self._local.tasks = None

    def list_tasks(self, list_id: str) -> list[dict]:
        read = getattr(self._local, "tasks", None)
        if read is None:
            return self.client.list_tasks(list_id)
        if list_id not in read:
            read[list_id] = self.client.list_tasks(list_id)
        return read[list_id]

    def task_exists(self, task: Task, list_id: str | None = None) -> bool:
        """Whether a task with this key is in its list already, completed ones included, or with
        ``again_when_done`` only open ones (reads only)."""
        list_id = list_id or self.tasklist_id(task.tasklist, create=False)
        tag = f"[labeldesk:{task.key}]" if task.key else ""
        if not (tag and list_id):
            return False
        found = [t for t in self.list_tasks(list_id) if tag in (t.get("notes") or "")]
        return any(t.get("status") != "completed" for t in found) if task.again_when_done else bool(found)

    def _keyed(self, claim: tuple, work, outcome: Outcome, busy: str, keep: bool = True) -> None:
        """Run ``work`` holding the idempotency key ``claim`` (its last item; none: just run). ``work``
        returns True once the thing is done, now or before; otherwise the key is given back."""
        if not claim[-1]:
            work()
            return
        if not self._claim(claim):
            outcome.skipped.append(busy)
            return
        done = False
        try:
            done = work()
        finally:
            if not done or not keep:
                self._release(claim)

    def create_task(self, task: Task, outcome: Outcome) -> None:
        # Tasks lists a new task at once: the list, not this process's memory, says whether it exists
        # (a task the team deleted is made again, as before); the key only keeps two runs from racing.
        self._keyed(("task", task.tasklist, task.key), lambda: self._create_task(task, outcome), outcome,
                    f"task {task.key} exists", keep=False)

    def _create_task(self, task: Task, outcome: Outcome) -> bool:
        list_id = self.tasklist_id(task.tasklist)
        tag = f"[labeldesk:{task.key}]" if task.key else ""
        if self.task_exists(task, list_id):
            outcome.skipped.append(f"task {task.key} exists")
            return True  # done before: the key stays taken
        body = {"title": task.title[:1024], "notes": (task.notes + ("\n\n" + tag if tag else ""))[:8192],
                "status": "needsAction"}
        if task.due:
            body["due"] = f"{task.due.isoformat()}T00:00:00.000Z"
        created = self.client.insert_task(list_id, body)
        read = getattr(self._local, "tasks", None)
        if read is not None and list_id in read:
            read[list_id].append(created)
        outcome.done.append(f"task created: {task.title}")
        return True

    def open_tasks(self, done: TaskDone):
        """(task, key, line) for each open task of ``done``'s list that carries one of its keys (reads only; in a
        sweep the list read once serves every ticket). Completed tasks and deleted ones (Tasks lists them only on
        request) are not open."""
        list_id = self.tasklist_id(done.tasklist, create=False)
        reasons = dict(done.reasons)
        if list_id is None or not reasons:
            return
        for task in self.list_tasks(list_id):
            if task.get("status") == "completed" or task.get("deleted"):
                continue
            key = next((k for k in TASK_KEY.findall(task.get("notes") or "") if k in reasons), None)
            if key is not None:
                yield task, key, reasons[key]

    def complete_tasks(self, done: TaskDone, outcome: Outcome) -> None:
        """Complete each open task of ``done`` in one ``tasks.patch`` (status and the line why together), once: the
        task's id stays claimed in this process, and a later run reads it completed."""
        list_id = self.tasklist_id(done.tasklist, create=False)
        for task, key, line in list(self.open_tasks(done)):
            self._keyed(("task-done", list_id, task["id"]), lambda: self._complete_task(list_id, task, line, outcome),
                        outcome, f"task {key} completed by another run of this process")

    def _complete_task(self, list_id: str, task: dict, line: str, outcome: Outcome) -> bool:
        notes = (task.get("notes") or "").rstrip("\n")
        patched = self.client.patch_task(list_id, task["id"], {"status": "completed",
                                                               "notes": f"{notes}\n{line}"[-8192:]})
        task.update(patched)  # the sweep's read of the list now says so too
        outcome.done.append(f"task completed: {task.get('title', '')} ({line})")
        return True

    def _notification_id(self, note: Notification) -> str | None:
        domain = self.config.mailbox.address.split("@")[-1]
        return message_id_for("notify:" + note.key, note.thread_id, domain) if note.key else None

    def notified(self, note: Notification) -> bool:
        """Whether a keyed notification went out already, by email (its message in the mailbox) or to a chat
        webhook (the webhook log). One key is one alert whichever way it went: an at-risk warning posted to the
        team's chat before anyone owned the ticket is not mailed to the owner who takes it. The cheap check of
        the note's own channel comes first, so the other is read only before something would go out."""
        if not note.key:
            return False
        posted = lambda: WebhookLog(self.config.state_path).has(note.key)  # noqa: E731
        if note.channel == "email":
            return self._mailed(note) or posted()
        return posted() or self._mailed(note)

    def _mailed(self, note: Notification) -> bool:
        return self.sent.notification_sent(self._notification_id(note))

    def notify(self, note: Notification, outcome: Outcome, by_agent: bool = False) -> None:
        already = f"notification {note.key} already {'sent' if note.channel == 'email' else 'posted'}"
        self._keyed(("notify", note.channel, note.key), lambda: self._notify(note, outcome, already, by_agent),
                    outcome, already)

    def _notify(self, note: Notification, outcome: Outcome, already: str, by_agent: bool = False) -> bool:
        memo = (note.channel, note.key)
        if not by_agent and note.key and memo in self._held_back:
            # This process found it unsent and held it back: while the budget stays spent, it is held back again
            # without searching the mailbox once more (a backlog's 2,700 held-back alerts: 2,700 searches a sweep).
            # Nothing is sent on this path; once there is room, the "already sent" check below comes first again.
            sent = self.alert_budget.sent(self.now())
            if sent >= self.alert_budget.limit > 0:
                return self._hold_back(note, outcome, sent)
        if self.notified(note):  # first: what went out before is skipped, neither held back nor counted again
            outcome.skipped.append(already)
            return True  # done before: the key stays taken
        slot = self.alert_budget.take(self.now(), by_agent)
        if not slot.granted:
            if note.key:
                with self._lock:
                    self._held_back[memo] = None
                    while len(self._held_back) > MAX_CLAIMS:
                        self._held_back.pop(next(iter(self._held_back)))
            return self._hold_back(note, outcome, slot.sent)
        with self._lock:
            self._held_back.pop(memo, None)
        try:
            self._send_notification(note, outcome)
        except BaseException:
            self._give_back(slot)
            raise
        self._went_out(slot)
        return True

    def _hold_back(self, note: Notification, outcome: Outcome, sent: int) -> bool:
        outcome.held_back.append(f"notification {note.key or '(no key)'} to {note.to} held back: "
                                 f"{self.alert_budget.reason(sent)}")
        self._note_held(sent)
        return False  # not done: the key is free, so a later sweep sends it if the plugin still asks for it

    def _went_out(self, slot) -> None:
        """The alert went out: its slot is recorded as sent (a failure to write it is only logged: the slot stays
        pending, counted while this process runs)."""
        try:
            self.alert_budget.went_out(slot)
        except Exception as exc:
            log.warning("an alert that went out is counted against alerts_per_hour only while this process runs: %s",
                        exc)

    def _give_back(self, slot) -> None:
        """The alert did not go out: it no longer counts against the budget (a failure to say so is only logged:
        the alert's own failure is what the run reports)."""
        try:
            self.alert_budget.give_back(slot)
        except Exception as exc:
            log.warning("an alert that did not go out still counts against alerts_per_hour this hour: %s", exc)

    def _send_notification(self, note: Notification, outcome: Outcome) -> None:
        if note.channel == "email":
            msgid = self._notification_id(note)
            msg = EmailMessage(policy=OUTGOING)
            msg["From"] = Address(display_name="Labeldesk", addr_spec=self.config.mailbox.address)
            msg["To"] = note.to
            msg["Subject"] = clean_header_text(note.subject)
            if msgid:
                msg["Message-ID"] = msgid
            earlier, thread = self._conversation(note)
            if earlier:  # the notice answers the last one that went out: one conversation in the reader's Gmail
                msg["In-Reply-To"] = earlier[-1]
                msg["References"] = " ".join(earlier)
            msg["X-Labeldesk"] = "notify:" + (note.key or "once")
            msg["Auto-Submitted"] = "auto-generated"
            msg["X-Auto-Response-Suppress"] = "All"
            msg.set_content(note.text)
            sent = self.client.send(msg.as_bytes(), thread_id=thread)
            self.sent_ids.add(sent.get("id", ""))
            if msgid:
                self.sent.record(sent, msgid, note.to, "notify:" + note.key)
            outcome.done.append(f"notified {note.to}: {note.subject}")
        else:
            posted = WebhookLog(self.config.state_path)
            post_webhook(with_request_id(note.channel, note.key), {"text": f"*{note.subject}*\n{note.text}"})
            if note.key:
                self._record_posted(posted, note.key)
            outcome.done.append(f"posted to chat webhook: {note.subject}")

    def _conversation(self, note: Notification) -> tuple[list[str], str | None]:
        """(the Message-IDs of the earlier notifications ``note`` follows that went out, oldest first; the thread
        of the last one) — Gmail keeps a message in a thread only with its threadId, references and the same
        subject. References name only mail that was sent: an unknown Message-ID would join no conversation."""
        if not note.follows or not note.key:
            return [], None
        ids = [self._notification_id(replace(note, key=key)) for key in note.follows]
        found = self.sent.threads_of(ids)
        earlier = [message_id for message_id in ids if message_id in found]
        return earlier, found[earlier[-1]] if earlier else None

    def _record_posted(self, posted: "WebhookLog", key: str) -> None:
        """Write a posted alert's key to the webhook log. The post went out: when the state folder cannot take
        the key (a full or read-only disk) this process keeps the key taken, so it does not post again, and the
        log names the file to make room for (a restart may post it once more; Google Chat shows it once)."""
        try:
            posted.add(key)
        except OSError as exc:
            log.error("chat alert %s was posted, but %s cannot be written (%s): free space or make state_dir "
                      "writable; this process will not post it again", key, posted.path, exc.strerror or exc)


def message_ids(text: str) -> list[str]:
    """The message ids in a Message-ID, In-Reply-To or References header, in order; anything else is left out."""
    return [found for found in MESSAGE_ID.findall(text or "") if "=?" not in found]


def clean_header_text(value: str, limit: int = 300) -> str:
    """One line, no control characters: a display name or subject can never inject headers. Encoded words in it
    ("=?utf-8?q?=0D=0ABcc:…?=", which a customer's subject holds as text once its own encoding is read) are
    decoded and cleaned here, because the email package decodes them when the header is set, and Python before
    its CVE-2024-6923 fix writes a line break so decoded out as it is: the text given is set as written."""
    text = _one_line(value)[:limit]
    for _ in range(MAX_DECODINGS):
        try:
            decoded = _one_line(str(SMTP.header_factory("subject", text)))
        except Exception:  # noqa: BLE001 - the parser is lenient; whatever it cannot read, it is not given
            decoded = text.replace("=?", "=")
        if decoded == text:
            return text
        text = decoded
    return text.replace("=?", "=")  # encoded within encoded without end: no encoded word left to decode


MAX_DECODINGS = 4


def _one_line(value: str) -> str:
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value or "").split())


def redact_url(url: str) -> str:
    """A webhook URL for messages and logs: its path and query carry the secret, so only the host shows."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…" if parts.scheme and parts.netloc else url


def with_request_id(url: str, key: str | None) -> str:
    """A Google Chat webhook URL with ``requestId`` derived from the notification's key: Chat creates one
    message per request id, so a post whose answer was lost (or a crash before the key was written to
    ``webhook-posted.json``) is not shown twice when retried. Other hosts' URLs are left as they are."""
    import uuid
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    if not key or parts.hostname != "chat.googleapis.com":
        return url
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "requestId"]
    query.append(("requestId", str(uuid.uuid5(uuid.NAMESPACE_URL, f"labeldesk:{key}"))))
    return urlunsplit(parts._replace(query=urlencode(query)))


def post_webhook(url: str, payload: dict) -> None:
    """POST ``payload`` to a chat webhook: https only (plain http to this machine alone, for tests), and a
    redirect is an error, not followed — the message would go to wherever the redirect points."""
    from urllib.parse import urlsplit

    import requests

    parts = urlsplit(url)
    local = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost") and "@" not in parts.netloc
    if not (parts.scheme == "https" and parts.hostname) and not local:
        raise ValueError(f"chat webhook must be an https URL, got {redact_url(url)!r}")
    try:
        response = requests.post(url, data=json.dumps(payload), timeout=10, allow_redirects=False,
                                 headers={"Content-Type": "application/json; charset=UTF-8"})
    except requests.RequestException as exc:
        raise RuntimeError(f"chat webhook {redact_url(url)} unreachable: {type(exc).__name__}") from None
    if response.is_redirect:
        raise RuntimeError(f"chat webhook {redact_url(url)} answered a redirect (HTTP {response.status_code}); "
                           "not followed: set chat_webhook to the URL Google Chat gave you")
    if response.status_code >= 400:
        raise RuntimeError(f"chat webhook {redact_url(url)} answered HTTP {response.status_code}")


class WebhookLog:
    """Keys of chat notifications already posted (``<state>/webhook-posted.json``, 0600): a webhook has no
    mailbox to search, so this small file is what keeps a keyed alert from being posted twice."""

    KEEP_DAYS = 60
    _lock = threading.Lock()  # the feed and the sweep post from their own threads: one read-modify-write at a time

    def __init__(self, state_dir: Path):
        self.path = Path(state_dir) / "webhook-posted.json"
        self._warned = False

    def _load(self) -> dict[str, float]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError:
            return self._damaged("is not JSON")
        if not isinstance(data, dict):
            return self._damaged("does not hold an object of alert keys")
        now = datetime.now(timezone.utc).timestamp()  # a key whose time is damaged was posted: kept, as if now
        return {str(k): float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else now
                for k, v in data.items()}

    def _damaged(self, problem: str) -> dict[str, float]:
        """A damaged log is read as empty, once with a warning: a keyed alert it held may be posted again (Google
        Chat's requestId still keeps that one message), and the next post writes the file anew."""
        if not self._warned:
            self._warned = True
            log.warning("%s %s; read as no chat alert posted yet (an alert may be posted again; Google Chat keeps one "
                        "message per key), it is written anew with the next alert", self.path, problem)
        return {}

    def has(self, key: str) -> bool:
        return key in self._load()

    def add(self, key: str) -> None:
        from .files import write_private_json

        with self._lock:
            now = datetime.now(timezone.utc).timestamp()
            kept = {k: t for k, t in self._load().items() if now - t < self.KEEP_DAYS * 86400}
            write_private_json(self.path, {**kept, key: now})
