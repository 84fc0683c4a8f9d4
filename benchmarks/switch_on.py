"""What switching the SLA plugin on costs the team lead, on ``scale.py``'s mailbox with 60 days of history.

Labeldesk runs with acknowledgements only (plugin ``autoreply``; its first full sync of ``full_sync_days`` = 60 labels
the backlog ``Awaiting reply``); a day later the admin adds ``sla`` with ``team_lead`` set. Then: a sync, a sweep at
once, a sweep an hour later and one a day later (the alert budget, ``alerts_per_hour`` = 30, frees 30 notices an
hour). Prints, per step, the breach tasks made, the notices sent and held back, and ``SLA/Breached`` tickets.
``--code DIR`` runs another tree (a baseline worktree) instead of this one.

    python benchmarks/switch_on.py [--threads 2000] [--code /tmp/base66]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import timedelta
from pathlib import Path


def measure(threads: int) -> dict:
    from benchmarks.scale import AGENTS, NOW, SUPPORT, build_mailbox
    from plugin_host.config import load_config
    from plugin_host.runtime import build_host
    from plugin_host.sync import ChangeFeed

    clock = {"now": NOW}
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        local, _ = build_mailbox(threads)

        def host(enabled):
            data = {"mailbox": {"address": SUPPORT, "full_sync_days": 60},
                    "agents": {a: {"first_name": f, "last_name": l} for a, (f, l) in AGENTS.items()},
                    "plugins": {"enabled": enabled, "sla": {"team_lead": "lead@example.com"}},
                    "host": {"state_dir": str(state), "alerts_per_hour": 30}}
            made = build_host(load_config(state / "labeldesk.toml", data=data, environ={}), http=local.http,
                              now=lambda: clock["now"])
            made.client.sleep = lambda s: None
            return made

        ChangeFeed(host(["autoreply"])).sync()
        clock["now"] = NOW + timedelta(days=1)
        with_sla = host(["autoreply", "sla"])
        out: dict = {"threads": threads}
        steps = (("sync", lambda: ChangeFeed(with_sla).sync().threads, timedelta(0)),
                 ("sweep", with_sla.sweep, timedelta(0)),
                 ("sweep_an_hour_later", with_sla.sweep, timedelta(minutes=61)),
                 ("sweep_a_day_later", with_sla.sweep, timedelta(days=1)))
        for step, run, wait in steps:
            clock["now"] += wait
            outcomes = [p.outcome for p in run()]
            out[step] = {"tasks_made": sum(line.startswith("task created") for o in outcomes for line in o.done),
                         "notices_sent": sum(line.startswith("notified") for o in outcomes for line in o.done),
                         "held_back": sum(len(o.held_back) for o in outcomes)}
        refs = with_sla.client.list_message_ids(q="label:helpdesk-sla-breached")
        out["tickets_labelled_breached"] = len({ref["threadId"] for ref in refs})
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2000)
    parser.add_argument("--code", default=str(Path(__file__).resolve().parent.parent),
                        help="the Labeldesk tree to run (a baseline worktree)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # benchmarks.scale: this tree's mailbox
    sys.path.insert(0, args.code)
    print(json.dumps(measure(args.threads), indent=1))


if __name__ == "__main__":
    main()
