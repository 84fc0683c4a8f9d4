"""What the local mailbox's one-copy-per-Message-ID rule and the sync's handling of how mail arrives cost.

- ``insert``: N customer emails delivered through googleapiclient (``messages.insert``, as the tests and the demo
  deliver mail), each with its own Message-ID: the CPU time of the deliveries (the local mailbox now looks each
  Message-ID up before keeping a message);
- ``sync``: one sync of those N new tickets with acknowledgements and the SLA plugin on: Gmail units and CPU time;
- ``aliases``: M customers each writing once to support@ and an alias, each message delivered twice (as two
  deliveries into one mailbox): threads awaiting a reply and acknowledgements sent after a sync.

Run against this tree and, with ``--baseline DIR`` (a ``git worktree`` of the commit before), against it in the same
run, each in its own process.

    python benchmarks/mail_arrival.py [--tickets 300] [--pairs 20] [--baseline /tmp/base75]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from trees import measure_in

HERE = Path(__file__).resolve().parent.parent

MEASURE = r'''
import json, sys, tempfile, time
from pathlib import Path
from plugin_host.config import load_config
from plugin_host.mailbox import LocalMailbox
from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed
from tests.conftest import deliver, make_email

tickets, pairs = int(sys.argv[1]), int(sys.argv[2])


def desk():
    tmp = Path(tempfile.mkdtemp())
    data = {"mailbox": {"address": "support@example.com", "aliases": ["sales@example.com"]},
            "plugins": {"enabled": ["autoreply", "sla"], "autoreply": {"hours": "24/7"}},
            "host": {"state_dir": str(tmp / "state")}}
    config = load_config(tmp / "labeldesk.toml", data=data, environ={})
    local = LocalMailbox()
    host = build_host(config, http=local.http)
    host.client.sleep = lambda s: None
    feed = ChangeFeed(host)
    feed.sync()
    return local, host, feed


local, host, feed = desk()
g = local.gmail()
raws = [make_email(sender=f"Customer {n} <c{n}@example.org>", subject=f"Order {n} is late", message_id=f"<m{n}@example.org>")
        for n in range(tickets)]
started = time.process_time()
for raw in raws:
    deliver(g, raw)
insert_cpu = time.process_time() - started
before = sum(local.app.units.values())
started = time.process_time()
feed.sync()
sync_cpu = time.process_time() - started
sync_units = sum(local.app.units.values()) - before

local, host, feed = desk()
g = local.gmail()
for n in range(pairs):
    raw = make_email(sender=f"Buyer {n} <b{n}@example.org>", to="support@example.com, sales@example.com",
                     subject=f"Quote {n}", message_id=f"<q{n}@example.org>")
    deliver(g, raw)
    deliver(g, raw)
feed.sync()
names = {l["id"]: l["name"] for l in local.mailbox.labels.values()}
awaiting = sum(1 for t in local.mailbox.threads
               if any(names.get(l) == "Helpdesk/Awaiting reply" for m in local.mailbox.thread_messages(t) for l in m.label_ids))
acks = sum(1 for m in local.mailbox.messages.values() if "SENT" in m.label_ids and b"X-Labeldesk: ack" in m.raw)
print(json.dumps({"insert_cpu": insert_cpu, "sync_cpu": sync_cpu, "sync_units": sync_units, "awaiting": awaiting, "acks": acks}))
'''


def run(tree: Path, tickets: int, pairs: int) -> dict:
    return measure_in(tree, MEASURE, tickets, pairs, isolated=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=300)
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--baseline", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    trees = {"this tree": HERE, **({"baseline": args.baseline} if args.baseline else {})}
    results: dict[str, list[dict]] = {name: [] for name in trees}
    for _ in range(args.repeat):  # interleaved, so that a busy moment of a shared machine falls on both trees
        for name, tree in trees.items():
            results[name].append(run(tree, args.tickets, args.pairs))
    for name, runs in results.items():
        best = {k: min(r[k] for r in runs) for k in ("insert_cpu", "sync_cpu")}
        last = runs[-1]
        print(f"{name}: {args.tickets} deliveries {best['insert_cpu']:.2f} s CPU, their sync {best['sync_cpu']:.2f} s CPU and {last['sync_units']} units; "
              f"{args.pairs} messages to support@ and sales@ delivered twice: {last['awaiting']} awaiting reply, "
              f"{last['acks']} acknowledgements")
    if args.baseline:
        this, base = results["this tree"], results["baseline"]
        for key in ("insert_cpu", "sync_cpu"):
            print(f"{key}: {min(r[key] for r in this) / min(r[key] for r in base):.2f}x the baseline")


if __name__ == "__main__":
    main()
