"""What ``labeldesk forget`` costs in Google calls as the team's task lists and notices grow.

Builds a local mailbox where OTHERS customers' tickets and MINE of the forgotten customer's breached (each with its
breach task in Google Tasks and its "Still unanswered" email in Sent), the customer's threads deleted by the team,
then runs ``privacy.forget_customer`` once and reads the mailbox's call and quota counters. Run against this tree
and, with ``--baseline DIR``, against another (a ``git worktree`` of the commit before) in the same run: the
baseline's forget reads Gmail for the customer's threads and removes nothing in Google.

    python benchmarks/forget.py [--others 50,500] [--mine 1,5] [--baseline /tmp/base65]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from trees import measure_in

HERE = Path(__file__).resolve().parent.parent

MEASURE = r'''
import json, sys, tempfile, time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo
from plugin_host.config import load_config
from plugin_host.mailbox import LocalMailbox
from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed
from plugin_host.privacy import forget_customer
from tests.conftest import make_email

others, mine = int(sys.argv[1]), int(sys.argv[2])
WAW = ZoneInfo("Europe/Warsaw")
asked, late = datetime(2026, 11, 23, 9, tzinfo=WAW), datetime(2026, 11, 25, 17, tzinfo=WAW)
local = LocalMailbox()
tmp = tempfile.mkdtemp()
data = {"mailbox": {"address": "support@example.com"}, "host": {"state_dir": tmp, "alerts_per_hour": 0},
        "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}},
        "plugins": {"enabled": ["sla"], "sla": {"hours": "Mon-Fri 09:00-18:00", "timezone": "Europe/Warsaw",
                                                "team_lead": "lead@example.com", "second_step_after": "1h"}}}
clock = {"now": asked}
host = build_host(load_config(Path(tmp) / "x.toml", data=data, environ={}), http=local.http,
                  now=lambda: clock["now"])
host.client.sleep = lambda s: None
threads = []
for i in range(others + mine):
    sender = "jane@example.org" if i < mine else f"c{i}@example.net"
    ref = local.mailbox.add_message(make_email(sender=sender, subject=f"Order {i} is late", date=asked,
                                               message_id=f"<q{i}@example.org>"), ["INBOX", "UNREAD"],
                                    internal_date=int(asked.timestamp() * 1000))
    threads.append(ref.thread_id)
ChangeFeed(host).sync()
clock["now"] = late
host.sweep()
for thread in threads[:mine]:
    local.gmail().users().threads().delete(userId="me", id=thread).execute()
local.app.reset_counters()
began = time.perf_counter()
result = forget_customer(host, "jane@example.org")
seconds = time.perf_counter() - began
calls = {k: v for k, v in local.app.calls.items() if v}
print(json.dumps({"gmail_units": sum(v for k, v in local.app.units.items() if k.startswith("gmail.")),
                  "tasks_calls": sum(v for k, v in calls.items() if k.startswith("tasks.")),
                  "calls": calls, "seconds": round(seconds, 3), "removed": result.removed,
                  "problems": result.problems}))
'''


def run(code: Path, others: int, mine: int) -> dict:
    return measure_in(code, MEASURE, others, mine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--others", default="50,500")
    parser.add_argument("--mine", default="1,5")
    parser.add_argument("--baseline", type=Path)
    args = parser.parse_args()
    print("| others' tickets | hers | Gmail units (baseline) | Tasks calls (baseline) | tasks.list pages | "
          "notices trashed | tasks deleted | s (baseline) |")
    print("|---|---|---|---|---|---|---|---|")
    for others in map(int, args.others.split(",")):
        for mine in map(int, args.mine.split(",")):
            now = run(HERE, others, mine)
            assert not now["problems"], now["problems"]
            base = run(args.baseline, others, mine) if args.baseline else {}
            units = now["gmail_units"]
            ratio = f" ({base['gmail_units']}, ×{units / base['gmail_units']:.1f})" if base else ""
            calls = now["calls"]
            print(f"| {others} | {mine} | {units}{ratio} | {now['tasks_calls']}"
                  f"{' (%d)' % base['tasks_calls'] if base else ''} | {calls.get('tasks.tasks.list', 0)} | "
                  f"{calls.get('gmail.users.messages.trash', 0)} | {calls.get('tasks.tasks.delete', 0)} | "
                  f"{now['seconds']}{' (%s)' % base['seconds'] if base else ''} |", flush=True)

if __name__ == "__main__":
    main()
