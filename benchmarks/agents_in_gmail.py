"""What looking after Labeldesk's labels and reading Spam/Trash restorations costs a sync.

Each sync now lists the labels (``labels.list``, 1 unit) to see Labeldesk's renamed or deleted in Gmail, and reads
``labelRemoved`` history records beside ``messageAdded`` ones (a message taken out of Spam or the Trash). Measured on
the local mailbox for this tree and, with ``--baseline DIR`` (a ``git worktree`` of the commit before), in the same
run, on TICKETS open tickets:

- ``idle``: a poll with nothing new (what ``serve`` pays every ``poll_seconds``);
- ``read``: agents read and archive every ticket (a label change on each message), then one sync;
- ``new``: one new customer email, then one sync.

    python benchmarks/agents_in_gmail.py [--tickets 200] [--baseline /tmp/base73]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from trees import measure_in

HERE = Path(__file__).resolve().parent.parent

MEASURE = r'''
import json, sys, tempfile
from pathlib import Path
from plugin_host.sync import ChangeFeed
from tests.conftest import deliver, make_email
from tests.test_host_sync import CONFIG, make_host

tickets = int(sys.argv[1])
local, host, _ = make_host(Path(tempfile.mkdtemp()), config=CONFIG)
g = local.gmail()
feed = ChangeFeed(host)
feed.sync()
refs = [deliver(g, make_email(sender=f"c{n}@example.org", subject=f"Question {n}", message_id=f"<q{n}@x>"))
        for n in range(tickets)]
feed.sync()

def measured(step):
    stats = host.client.stats
    calls, units = sum(stats["calls"].values()), sum(stats["units"].values())
    step()
    assert feed.sync().ok
    return {"calls": sum(stats["calls"].values()) - calls, "units": sum(stats["units"].values()) - units}

def read_all():
    for ref in refs:
        g.users().messages().modify(userId="me", id=ref["id"], body={"removeLabelIds": ["UNREAD", "INBOX"]}).execute()

out = {"idle": measured(lambda: None), "read": measured(read_all),
       "new": measured(lambda: deliver(g, make_email(sender="late@example.org", subject="Late", message_id="<l@x>")))}
print(json.dumps(out))
'''


def run(tree: Path, tickets: int) -> dict:
    return measure_in(tree, MEASURE, tickets, isolated=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--baseline", type=Path)
    args = parser.parse_args()
    this = run(HERE, args.tickets)
    base = run(args.baseline, args.tickets) if args.baseline else None
    print(f"{'sync':<6} {'calls':>12} {'units':>12}  (baseline)")
    for step, got in this.items():
        was = base[step] if base else {}
        print(f"{step:<6} {got['calls']:>5} ({was.get('calls', '-'):>4}) {got['units']:>5} ({was.get('units', '-'):>4})"
              + (f"  units ×{got['units'] / was['units']:.2f}" if was.get("units") else ""))


if __name__ == "__main__":
    main()
