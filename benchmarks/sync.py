"""Gmail quota units and API calls per new ticket, on the local mailbox.

Feeds batches of new customer emails (each a new ticket from a new customer) into a local mailbox,
runs the change feed with the shipped plugins, and reads the mailbox's quota counters. The minimum
possible per new ticket is computed from the same quota table: its share of one history.list per
batch, one read (messages.get), one label change (messages.modify) and one send.

The same with a new process for each sync (``labeldesk sync`` from cron) is reported beside it.

Units are what the Cloud project's table charges (``--quota-table``): ``new`` for a project created from May 2026
(messages.get 20, threads.get 40: every install made today), ``old`` for one from before (5 and 10).

    python benchmarks/sync.py [--batches 5] [--per-batch 20] [--plugins autoreply,sla,kb_suggest] [--quota-table new]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from plugin_host.config import load_config  # noqa: E402
from plugin_host.mailbox import LocalMailbox  # noqa: E402
from plugin_host.quota import units_for  # noqa: E402
from plugin_host.runtime import build_host  # noqa: E402
from plugin_host.sync import ChangeFeed  # noqa: E402

SUBJECTS = ["Where is my order {n}?", "Refund for invoice {n}", "Cannot log in (account {n})",
            "Nie działa płatność {n}", "Не приходит письмо {n}"]


def customer_email(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Customer {n} <customer{n}@example.org>"
    msg["To"] = "support@example.com"
    msg["Subject"] = SUBJECTS[n % len(SUBJECTS)].format(n=n)
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    msg["Message-ID"] = f"<bench-{n}@example.org>"
    msg.set_content(f"Hello,\n\nI need help with request {n}. Thanks!\n")
    return msg.as_bytes()


def run(batches: int, per_batch: int, plugins: list[str], new_process: bool = False, table: str = "new") -> dict:
    """``new_process``: each sync by a new host and feed (``labeldesk sync`` from cron), not one serving process."""
    with tempfile.TemporaryDirectory() as state:
        data = {"mailbox": {"address": "support@example.com", "quota_table": table},
                "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}},
                "plugins": {"enabled": plugins}, "host": {"state_dir": state}}
        config = load_config(Path(state) / "labeldesk.toml", data=data, environ={})
        local = LocalMailbox("support@example.com", quota_table=table)
        host = build_host(config, http=local.http)
        feed = ChangeFeed(host)
        feed.sync()  # initial full sync of the empty mailbox sets the cursor
        local.app.reset_counters()
        requests_before = local.http.requests
        n = 0
        for _ in range(batches):
            for _ in range(per_batch):
                n += 1
                local.mailbox.add_message(customer_email(n), ["INBOX", "UNREAD"])
            if new_process:
                feed = ChangeFeed(build_host(config, http=local.http))
            feed.sync()
        units, calls = Counter(local.app.units), Counter(local.app.calls)
        http_requests = local.http.requests - requests_before
    tickets = batches * per_batch
    minimum = (units_for("gmail.users.history.list", table) / per_batch + units_for("gmail.users.messages.get", table)
               + units_for("gmail.users.messages.modify", table) + units_for("gmail.users.messages.send", table))
    return {"tickets": tickets, "plugins": plugins, "units_per_ticket": round(sum(units.values()) / tickets, 2),
            "calls_per_ticket": round(sum(calls.values()) / tickets, 2),
            "http_requests_per_ticket": round(http_requests / tickets, 2), "minimum_units_per_ticket": round(minimum, 2),
            "ratio_to_minimum": round(sum(units.values()) / tickets / minimum, 3),
            "units_by_method": dict(sorted(units.items())), "calls_by_method": dict(sorted(calls.items()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--per-batch", type=int, default=20)
    parser.add_argument("--plugins", default="autoreply,sla,kb_suggest")
    parser.add_argument("--quota-table", choices=("new", "old"), default="new")
    args = parser.parse_args()
    plugins = [p for p in args.plugins.split(",") if p]
    result = run(args.batches, args.per_batch, plugins, table=args.quota_table)
    bare = run(args.batches, args.per_batch, [], table=args.quota_table)
    cron = run(args.batches, args.per_batch, plugins, new_process=True, table=args.quota_table)
    print(json.dumps({"with_plugins": result, "host_only": bare, "with_plugins_new_process_each_sync": cron}, indent=2))


if __name__ == "__main__":
    main()
