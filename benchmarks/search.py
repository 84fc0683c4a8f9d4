"""The local mailbox's search as the mailbox grows: ``messages.list``/``threads.list`` with the queries Labeldesk sends.

Builds mailboxes of ``--sizes`` messages (support conversations of 1–4 messages over 120 days: customers'
questions in INBOX, agents' replies in SENT, the plugins' labels, some archived, read, trashed or spam) and times
each query through the real googleapiclient against the in-process local mailbox (median of ``--repeat`` calls
after one warm-up). The queries are the ones the host and plugins build (``grep q= plugin_host plugins``): the
queue's ``label:``, the sweep's ``OR`` of four labels and a ``before:``, the card's ``{from: to:}``, the
SentLedger's ``in:sent after:`` (with and without ``to:``), the sync's ``after: -in:chats``, ``rfc822msgid:``
with spam and trash; plus ``is:unread in:inbox``, a ``-label:`` with ``newer_than:``, and a quoted phrase that
no index can narrow (it stays a scan of every message by design).

With ``--baseline DIR`` (a worktree of an older commit: ``git worktree add /tmp/base <commit>``) the same
measurement runs on that tree's code too, in the same run, each in its own process, taking
turns (``--rounds``; each cell keeps the faster of its medians), and the table shows the ratio baseline/current;
it stops if the two trees find different numbers of results. Absolute times are noisy on the shared machine;
compare within one run.

    python benchmarks/search.py [--sizes 1000,5000,20000] [--repeat 7] [--rounds 2] [--baseline /tmp/base]
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from email.message import EmailMessage
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
SUPPORT = "support@example.com"
LABELS = ["Helpdesk/Awaiting reply", "Helpdesk/SLA/At risk", "Helpdesk/SLA/Breached", "Helpdesk/Escalated",
          "Helpdesk/Acknowledged", "Billing", "Bug"]
SUBJECTS = ["Refund request for order", "Cannot log in", "Invoice missing", "Delivery late", "Password reset",
            "Feature request: dark mode", "App crashes on start", "Change my plan", "Double charge", "Where is my parcel"]
WORDS = ("please help account order invoice refund payment login error parcel delivery tracking plan upgrade "
         "cancel subscription password reset app crash screen settings email address thanks").split()


def _raw(sender: str, to: str, subject: str, body: str, when: datetime, message_id: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"], msg["Message-ID"] = format_datetime(when), message_id
    msg.set_content(body)
    return msg.as_bytes()


def build(local, size: int, seed: int = 7) -> dict:
    """``size`` messages in conversations; returns what the queries need (a customer, a Message-ID)."""
    rng = random.Random(seed)
    box = local.mailbox
    label_ids = {name: box.create_label({"name": name})["id"] for name in LABELS}
    customers = [f"customer{i}@example.org" for i in range(max(10, size // 6))]
    made, last_id, newest = 0, "", (NOW - timedelta(days=999), customers[0])
    while made < size:
        customer, subject = rng.choice(customers), rng.choice(SUBJECTS)
        start = NOW - timedelta(minutes=rng.randrange(120 * 24 * 60))
        thread, fate, turns = None, rng.random(), min(rng.randint(1, 4), size - made)
        if turns > 1 and fate >= 0.1:  # a conversation with a reply of ours, out of spam and trash
            newest = max(newest, (start, customer))
        for turn in range(turns):
            when = start + timedelta(hours=turn * 5)
            ours = turn % 2 == 1
            body = " ".join(rng.choice(WORDS) for _ in range(40))
            last_id = f"<m{made}.{seed}@example.org>"
            raw = _raw(SUPPORT if ours else customer, customer if ours else SUPPORT,
                       ("Re: " if turn else "") + subject, body, when, last_id)
            labels = {"SENT"} if ours else {"INBOX", "CATEGORY_PERSONAL"}
            if not ours and rng.random() < 0.3:
                labels.add("UNREAD")
            if fate < 0.1 and not ours:
                labels = {"SPAM"} if fate < 0.03 else {"TRASH"}
            elif fate < 0.4:
                labels.discard("INBOX")  # resolved and archived
            elif not ours:
                labels.add(label_ids[rng.choice(LABELS[:4] if fate < 0.7 else LABELS[4:])])
            message = box.add_message(raw, sorted(labels), thread_id=thread, internal_date=int(when.timestamp() * 1000))
            thread = message.thread_id
            made += 1
    return {"customer": newest[1], "message_id": last_id.strip("<>")}  # the newest answered conversation's customer


def queries(facts: dict) -> list[tuple[str, str, dict]]:
    """(name, method, list arguments) of the searches measured."""
    day = 86_400
    now = int(NOW.timestamp())
    customer = facts["customer"]
    sweep = " OR ".join(f"({q})" for q in (f"label:helpdesk-awaiting-reply before:{now - 3 * 3600}",
                                             "label:helpdesk-sla-at-risk", "label:helpdesk-sla-breached",
                                             "label:helpdesk-escalated"))
    return [
        ("queue: label:", "threads", {"q": "label:helpdesk-awaiting-reply"}),
        ("sweep: (label: before:) OR label: ×3", "messages", {"q": sweep}),
        ("card: {from: to:}", "messages", {"q": f"{{from:{customer} to:{customer}}}", "maxResults": 50}),
        ("ledger: in:sent to: after:", "messages", {"q": f"in:sent to:{customer} after:{now - 30 * day}"}),
        ("ledger: in:sent after: (3 days)", "messages", {"q": f"in:sent after:{now - 3 * day}", "maxResults": 500}),
        ("sync: after: -in:chats (7 days)", "messages", {"q": f"after:{now - 7 * day} -in:chats"}),
        ("report: after: (60 days)", "threads", {"q": f"after:{now - 60 * day}", "maxResults": 500}),
        ("rfc822msgid: (spam, trash too)", "messages", {"q": f"rfc822msgid:{facts['message_id']}",
                                                        "includeSpamTrash": True}),
        ("is:unread in:inbox", "messages", {"q": "is:unread in:inbox"}),
        ("-label: in:inbox newer_than:2d", "messages", {"q": "-label:helpdesk-awaiting-reply in:inbox newer_than:2d"}),
        ('free phrase "refund request" (a scan)', "messages", {"q": '"refund request"'}),
    ]


def measure(sizes: list[int], repeat: int) -> dict:
    """Median milliseconds per query and size, on the code importable as ``plugin_host``."""
    from plugin_host.mailbox import LocalMailbox

    results: dict = {}
    for size in sizes:
        local = LocalMailbox(clock=lambda: NOW.timestamp())
        facts = build(local, size)
        gmail = local.gmail().users()
        for name, method, args in queries(facts):
            call = getattr(gmail, method)().list
            found = call(userId="me", **args).execute().get("resultSizeEstimate")  # warm-up (parses, caches)
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                call(userId="me", **args).execute()
                times.append((time.perf_counter() - start) * 1000)
            results.setdefault(name, {})[str(size)] = {"ms": statistics.median(times), "found": found}
    return results


def run_tree(tree: Path, sizes: list[int], repeat: int) -> dict:
    """The measurement in a fresh process importing ``plugin_host`` from ``tree``."""
    out = subprocess.run([sys.executable, __file__, "--worker", str(tree), "--sizes", ",".join(map(str, sizes)),
                          "--repeat", str(repeat)], capture_output=True, text=True, check=True, cwd=tree)
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(current: dict, baseline: dict | None, sizes: list[int]) -> str:
    head = "| query | " + " | ".join(f"{s:,} msgs: ms" + (" (baseline, ×)" if baseline else "") for s in sizes) + \
        " | found |"
    lines = [head, "|" + "---|" * (len(sizes) + 2)]
    for name, row in current.items():
        cells = []
        for s in sizes:
            ms = row[str(s)]["ms"]
            if baseline:
                old = baseline[name][str(s)]
                assert old["found"] == row[str(s)]["found"], f"{name} at {s}: results differ from the baseline"
                cells.append(f"{ms:.1f} ({old['ms']:.1f}, {old['ms'] / ms:.1f}×)")
            else:
                cells.append(f"{ms:.1f}")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {row[str(sizes[-1])]['found']} |")
    return "\n".join(lines)


def _keep_fastest(kept: dict, new: dict) -> None:
    for name, row in new.items():
        for size, cell in row.items():
            old = kept.setdefault(name, {}).get(size)
            if old is None or cell["ms"] < old["ms"]:
                kept[name][size] = cell


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,5000,20000")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=2, help="turns each tree takes; the faster median is kept")
    parser.add_argument("--baseline", type=Path, help="a worktree of the commit to compare with")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.worker:
        sys.path.insert(0, str(args.worker))
        print(json.dumps(measure(sizes, args.repeat)))
        return
    current, baseline = {}, {} if args.baseline else None
    for _ in range(args.rounds):  # the trees take turns, so a busy minute on the machine hits both
        _keep_fastest(current, run_tree(HERE.parent, sizes, args.repeat))
        if args.baseline:
            _keep_fastest(baseline, run_tree(args.baseline.resolve(), sizes, args.repeat))
    print(table(current, baseline, sizes))


if __name__ == "__main__":
    main()
