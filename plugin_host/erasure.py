"""What Labeldesk itself wrote to Google about a customer, found by its own markers and removed by ``labeldesk forget``.

The executor marks what it writes for every plugin: a task's notes end with ``[labeldesk:<key>]``; an email notice
carries ``X-Labeldesk: notify:<key>`` and a Message-ID ``<labeldesk.<digest>@<our domain>>``, and is in Sent. Those
markers, never a text alone, say a record is Labeldesk's: a task or mail someone else wrote is never touched. Whose
it is:

- a task: the lines above the first blank line of its notes (what the plugin wrote; the customer's own words come
  after it) name the customer (``Customer: <address>``) or a thread Gmail still holds that they wrote, were written
  to or copied on (``Thread:``);
- a notice: its conversation holds one of Labeldesk's notices whose text names the customer's address. Labeldesk
  keeps a ticket's notices in one conversation (each answers the one before), so "still unanswered", which names
  nobody, goes with the at-risk and breach notices before it.

Tasks are deleted (``tasks.delete``) after their title and notes are blanked: Google still lists a deleted task to
whoever asks with ``showDeleted``. Notices go to the Trash (``messages.trash``), which Gmail empties after 30 days, as
when the team deletes a thread: deleting at once needs the full ``https://mail.google.com/`` scope, which Labeldesk
does not ask for. The copies the people notified received are in their own mailboxes, and a Google Chat post cannot be
taken back through an incoming webhook: both are said, for people to delete.
"""
from __future__ import annotations

import email.policy
import re
from collections import Counter
from dataclasses import dataclass, field

from .errors import GmailError
from .executor import TASK_KEY
from .ticket import CUSTOMER_LINE, THREAD_LINK

ERASED = "Erased by labeldesk forget."  # the notes of a task blanked and not yet deleted (a run stopped between)
MAX_NOTICE_THREADS = 500  # notice conversations naming one customer that one run reads


@dataclass
class Erasure:
    """What one run removed (or, in a dry run, would remove), left for people, and could not do."""

    removed: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def names_address(text: str, address: str) -> bool:
    """Whether ``text`` holds ``address`` as a whole address, not inside another (mary.jane@… is not jane@…)."""
    return re.search(rf"(?<![\w.+-]){re.escape(address)}(?![\w-]|\.\w)", text.lower()) is not None


def about_customer(task: dict, address: str, threads: frozenset) -> bool:
    """Whether ``task`` is one Labeldesk made about the customer (or one a stopped run blanked)."""
    notes = task.get("notes") or ""
    if not TASK_KEY.search(notes):
        return False  # not Labeldesk's
    head = notes.split("\n\n", 1)[0]
    return (head == ERASED or any(found.lower() == address for found in CUSTOMER_LINE.findall(head))
            or any(thread in threads for thread in THREAD_LINK.findall(head)))


def erase_tasks(client, address: str, threads: frozenset, dry_run: bool, result: Erasure) -> None:
    """Delete the customer's Labeldesk tasks in every list of the mailbox's Google Tasks (each list read once)."""
    try:
        listed = [(tasklist, task) for tasklist in client.list_tasklists() for task in client.list_tasks(tasklist["id"])
                  if not task.get("deleted") and TASK_KEY.search(task.get("notes") or "")]
    except GmailError as exc:
        result.problems.append(f"Google Tasks could not be read ({exc}): their tasks, if any, were left; run "
                               "`labeldesk forget` again once Tasks answers")
        return
    found = [(tasklist, task) for tasklist, task in listed if about_customer(task, address, threads)]
    theirs = {(tasklist["id"], task["id"]) for tasklist, task in found}
    for tasklist, task in listed:  # another customer's ticket, whose message quotes them: that ticket's, left
        text = f"{task.get('title', '')}\n{task.get('notes', '')}"
        if (tasklist["id"], task["id"]) not in theirs and names_address(text, address):
            result.left.append(f"Google Tasks: {task.get('title', '')!r} ({tasklist.get('title', '')}) is about "
                               "another customer's ticket and quotes their address: edit or delete it by hand")
    deleted: Counter = Counter()
    for tasklist, task in found:
        title = tasklist.get("title", "")
        if dry_run:
            result.removed.append(f"Google Tasks: would delete {task.get('title', '')!r} ({title})")
            continue
        try:
            _delete_task(client, tasklist["id"], task)
        except GmailError as exc:
            result.problems.append(f"Google Tasks: {task.get('title', '')!r} ({title}) was not deleted ({exc}); "
                                   "run `labeldesk forget` again")
        else:
            deleted[title] += 1
    if deleted:
        total = sum(deleted.values())
        lists = ", ".join(f"{title}: {count}" for title, count in sorted(deleted.items()))
        result.removed.append(f"Google Tasks: {total} task{'s' if total != 1 else ''} deleted ({lists})")


def _delete_task(client, list_id: str, task: dict) -> None:
    """Blank the task, then delete it: a deleted task is still listed with ``showDeleted``. Blanked but not deleted
    (the run stopped), it keeps its key and the ``ERASED`` line, so the next run finds and deletes it."""
    notes = task.get("notes") or ""
    if notes.split("\n\n", 1)[0] != ERASED:
        key = TASK_KEY.findall(notes)[-1]
        client.patch_task(list_id, task["id"], {"title": "Erased", "notes": f"{ERASED}\n\n[labeldesk:{key}]"})
    client.delete_task(list_id, task["id"])


def notice_query(address: str) -> str:
    """Mail this mailbox sent that names the customer but was not sent to them: the notices about their tickets
    (and an agent's own mail mentioning them, which carries no marker and is left alone)."""
    return f'in:sent -to:{address} "{address}"'


def is_notice(message: dict, domain: str) -> bool:
    """Whether a message (``threads.get``) is one of Labeldesk's email notices, by its markers: sent by this mailbox,
    ``X-Labeldesk: notify:…`` and a Labeldesk Message-ID at our domain; not already in the Trash."""
    labels = set(message.get("labelIds", []))
    headers = {h["name"].lower(): h["value"] for h in message.get("payload", {}).get("headers", [])}
    message_id = re.fullmatch(r"<labeldesk\.[0-9a-f]{20}@([^>]+)>", headers.get("message-id", "").strip())
    return ("SENT" in labels and "TRASH" not in labels and headers.get("x-labeldesk", "").startswith("notify:")
            and message_id is not None and message_id.group(1).lower() == domain.lower())


def notice_text(message: dict) -> str:
    """A notice's plain text (Labeldesk writes notices as one text/plain part)."""
    from .mailbox.mime import payload_to_email

    msg = payload_to_email(message.get("payload") or {}, policy=email.policy.default)
    body = msg.get_body(("plain",))
    return body.get_content() if body is not None else ""


def erase_notices(client, config, address: str, dry_run: bool, result: Erasure) -> None:
    """Trash Labeldesk's notices about the customer's tickets: one search, one read of each conversation it finds,
    one ``messages.trash`` per notice (in HTTP batches)."""
    domain = config.mailbox.address.split("@")[-1]
    try:
        conversations = client.list_threads(notice_query(address), max_results=MAX_NOTICE_THREADS)
        read = client.read_threads([c["id"] for c in conversations]) if conversations else []
    except GmailError as exc:
        result.problems.append(f"Gmail could not be searched for Labeldesk's notices about them ({exc}); run "
                               "`labeldesk forget` again when Gmail answers")
        return
    notices = []
    for thread in read:
        if isinstance(thread, Exception):
            result.problems.append(f"Gmail: a conversation of notices could not be read ({thread}); run "
                                   "`labeldesk forget` again")
            continue
        ours = [m for m in thread.get("messages", []) if is_notice(m, domain)]
        if any(names_address(notice_text(m), address) for m in ours):
            notices += ours
    _trash(client, config, notices, dry_run, result)


def _header(message: dict, name: str) -> str:
    return next((h["value"] for h in message.get("payload", {}).get("headers", []) if h["name"].lower() == name), "")


def _trash(client, config, notices: list[dict], dry_run: bool, result: Erasure) -> None:
    if dry_run:
        result.removed += [f"Gmail: would move the notice {_header(m, 'subject')!r} to {_header(m, 'to')} to the "
                           "Trash" for m in notices]
        _readers(config, notices, result, dry_run)
        return
    trashed = []
    for message, answer in zip(notices, client.trash_messages([m["id"] for m in notices]) if notices else []):
        if isinstance(answer, Exception):
            result.problems.append(f"Gmail: the notice {_header(message, 'subject')!r} was not moved to the Trash "
                                   f"({answer}); run `labeldesk forget` again")
        else:
            trashed.append(message)
    if trashed:
        result.removed.append(f"Gmail: {len(trashed)} notice{'s' if len(trashed) != 1 else ''} moved to the Trash "
                              "(Gmail deletes them after 30 days; empty the Trash to delete them now)")
    _readers(config, trashed, result, dry_run)


def _readers(config, notices: list[dict], result: Erasure, dry_run: bool) -> None:
    """The people notified keep the copy delivered to their own mailbox, which Labeldesk cannot reach."""
    from email.utils import getaddresses

    own = config.mailbox.own_addresses
    readers = Counter(address.lower() for m in notices for _, address in getaddresses([_header(m, "to")])
                      if address and address.lower() not in own)
    for reader, count in readers.items():
        copies = "a copy" if count == 1 else f"{count} copies"
        result.left.append(f"{reader} {'has' if not dry_run else 'would keep'} {copies} of those notices in their own "
                           "mailbox, which Labeldesk cannot reach: ask them to delete "
                           f"{'it' if count == 1 else 'them'}")
