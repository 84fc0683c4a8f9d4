"""What the first run after losing the state folder costs and sends, over a mailbox Labeldesk worked for weeks.

A mailbox with BACKLOG questions left unanswered while only autoreply was on, then sla switched on over them (their
breaches labelled, nobody told), then a week of new questions, each acknowledged and, when it breached, escalated.
The state folder is then deleted and one `sync` and one `sweep` run on the empty folder. Measured for this tree and,
with ``--baseline DIR`` (a ``git worktree`` of the commit before), in the same run: Gmail calls and units (old quota
table), emails sent to the team lead, breach tasks made; and what a first install (a new folder over a mailbox
Labeldesk never worked) pays for telling the two apart.

    python benchmarks/state_folder_lost.py [--backlog 40] [--week 20] [--baseline /tmp/base74]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from trees import measure_in

HERE = Path(__file__).resolve().parent.parent

MEASURE = r'''
import json, shutil, sys, tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from plugin_host.config import load_config
from plugin_host.mailbox import LocalMailbox
from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed
from tests.conftest import deliver, make_email

backlog, week = int(sys.argv[1]), int(sys.argv[2])
LEAD = "lead@example.com"
SLA = {"hours": "24/7", "timezone": "UTC", "team_lead": LEAD, "targets": {"normal": {"first_response": "4h"}}}
START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
tmp = Path(tempfile.mkdtemp())
local = LocalMailbox()
clock = {"now": START}
local.mailbox.clock = lambda: clock["now"].timestamp()

def host(enabled, at):
    clock["now"] = at
    data = {"mailbox": {"address": "support@example.com"}, "plugins": {"enabled": enabled, "sla": SLA},
            "host": {"state_dir": str(tmp / "state"), "alerts_per_hour": 0}}
    made = build_host(load_config(tmp / "labeldesk.toml", data=data, environ={}), http=local.http,
                      now=lambda: clock["now"])
    made.client.sleep = lambda s: None
    return made

def question(n, at):
    clock["now"] = at
    deliver(local.gmail(), make_email(sender=f"c{n}@example.org", subject=f"Order {n}", message_id=f"<q{n}@x>", date=at))

def work(enabled, at):
    made = host(enabled, at)
    ChangeFeed(made).sync()
    made.sweep()
    return made

def lead_mails():
    return sum(1 for m in local.mailbox.messages.values() if b"To: " + LEAD.encode() in m.raw)

def tasks(made):
    listed = made.client.list_tasks(made.executor.tasklist_id("Labeldesk escalations"))
    return sum(1 for t in listed if "[labeldesk:breach:" in t.get("notes", ""))

both = ["autoreply", "sla"]
for n in range(backlog):
    question(n, START + timedelta(hours=n))
work(["autoreply"], START + timedelta(days=3))
switched = START + timedelta(days=14)
work(both, switched)
for n in range(week):
    question(1000 + n, switched + timedelta(hours=6 * n))
    work(both, switched + timedelta(hours=6 * n, minutes=1))
    work(both, switched + timedelta(hours=6 * n + 5))
before = (lead_mails(), tasks(work(both, switched + timedelta(hours=6 * week))))

shutil.rmtree(tmp / "state")
made = host(both, switched + timedelta(hours=6 * week + 1))
stats = made.client.stats
ChangeFeed(made).sync()
made.sweep()
after = (lead_mails(), tasks(made))

fresh = LocalMailbox()  # a first install: a new folder over a mailbox Labeldesk never worked
deliver(fresh.gmail(), make_email(sender="c@example.org", subject="First", message_id="<first@x>"))
data = {"mailbox": {"address": "support@example.com"}, "plugins": {"enabled": both, "sla": SLA},
        "host": {"state_dir": str(Path(tempfile.mkdtemp()) / "state")}}
first = build_host(load_config(tmp / "x.toml", data=data, environ={}), http=fresh.http)
ChangeFeed(first).sync()
print(json.dumps({"calls": sum(stats["calls"].values()), "units": sum(stats["units"].values()),
                  "lead_mails": after[0] - before[0], "tasks": after[1] - before[1],
                  "first_install_units": sum(first.client.stats["units"].values())}))
'''


def run(tree: Path, backlog: int, week: int) -> dict:
    return measure_in(tree, MEASURE, backlog, week, isolated=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", type=int, default=40)
    parser.add_argument("--week", type=int, default=20)
    parser.add_argument("--baseline", type=Path)
    args = parser.parse_args()
    this = run(HERE, args.backlog, args.week)
    base = run(args.baseline, args.backlog, args.week) if args.baseline else {}
    print(f"backlog {args.backlog}, a week of {args.week} questions; first sync + sweep on an empty state folder")
    for name, got in this.items():
        was = base.get(name)
        ratio = f"  ×{got / was:.3f}" if was else ""
        print(f"{name:<20} {got:>7} (baseline {was if was is not None else '-'}){ratio}")


if __name__ == "__main__":
    main()
