"""The sweep's Gmail cost stays flat as the mailbox grows: same open tickets, more closed mail.

Builds local mailboxes of 100, 1,000 and 10,000 threads where the same 20 tickets are open
(awaiting a reply) and the rest are answered and archived, runs one sweep with the SLA plugin, and
reads the mailbox's call and quota counters. Time is reported as measured; the Gmail calls are the
point.

Units are what the Cloud project's table charges (``--quota-table new``, the default: a project created from May
2026, threads.get 40; ``old``: 10).

    python benchmarks/sweep.py [--sizes 100,1000,10000] [--quota-table new]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from plugin_host.config import load_config  # noqa: E402
from plugin_host.mailbox import LocalMailbox  # noqa: E402
from plugin_host.runtime import build_host  # noqa: E402
from plugin_host.sync import ChangeFeed  # noqa: E402
from tests.conftest import make_email  # noqa: E402

OPEN = 20


def mailbox_with(threads: int, now: datetime, table: str = "new") -> tuple[LocalMailbox, object]:
    local = LocalMailbox(quota_table=table)
    box = local.mailbox
    for i in range(threads - OPEN):  # closed history: answered long ago, archived
        when = now - timedelta(days=31 + i % 300)
        box.add_message(make_email(sender=f"old{i}@example.org", subject=f"Old question {i}",
                                   message_id=f"<old{i}@example.org>", date=when), [],
                        internal_date=int(when.timestamp() * 1000))
    tmp = tempfile.mkdtemp()
    data = {"mailbox": {"address": "support@example.com", "quota_table": table},
            "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}},
            "plugins": {"enabled": ["sla"], "sla": {"hours": "24/7"}}, "host": {"state_dir": tmp}}
    config = load_config(Path(tmp) / "x.toml", data=data, environ={})
    host = build_host(config, http=local.http, now=lambda: now)
    ChangeFeed(host).sync()  # cursor at the current history id; nothing open yet
    for i in range(OPEN):
        when = now - timedelta(hours=1 + i)
        box.add_message(make_email(sender=f"open{i}@example.org", subject=f"Open question {i}",
                                   message_id=f"<open{i}@example.org>", date=when), ["INBOX", "UNREAD"],
                        internal_date=int(when.timestamp() * 1000))
    ChangeFeed(host).sync()  # the open tickets get their labels
    return local, host


def measure(threads: int, table: str = "new") -> dict:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
    local, host = mailbox_with(threads, now, table)
    local.app.reset_counters()
    began = time.perf_counter()
    visited = host.sweep()
    seconds = time.perf_counter() - began
    return {"threads": threads, "open_tickets": OPEN, "visited": len(visited), "calls": sum(local.app.calls.values()),
            "units": local.app.total_units, "seconds": round(seconds, 3), "calls_by_method": dict(local.app.calls)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--quota-table", choices=("new", "old"), default="new")
    args = parser.parse_args()
    print(json.dumps([measure(int(n), args.quota_table) for n in args.sizes.split(",")], indent=2))


if __name__ == "__main__":
    main()
