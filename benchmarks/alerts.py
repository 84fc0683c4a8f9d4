"""Notifications the first full sync and sweeps send on ``scale.py``'s mailbox, with and without the alert budget.

Labeldesk installed on an inbox with a backlog: the first full sync (``full_sync_days`` = 60) finds every overdue
open ticket at once. Plugins ``autoreply, sla`` with ``team_lead`` set (breach notices to the lead), the clock
fixed at ``scale.NOW``: the full sync, a sweep at once, and a sweep an hour later. Prints, per step, the mails
sent from the support mailbox by kind, notifications held back, tasks made, Gmail calls, units and seconds.

    python benchmarks/alerts.py [--threads 5000] [--alerts-per-hour 30]   (0: no limit, as before the budget)
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.scale import AGENTS, NOW, SUPPORT, build_mailbox  # noqa: E402
from plugin_host.config import load_config  # noqa: E402
from plugin_host.runtime import build_host  # noqa: E402
from plugin_host.sync import ChangeFeed  # noqa: E402


def mails_sent(local) -> dict[str, int]:
    """What the support mailbox sent, by kind: each notification by its subject's first words, replies together."""
    kinds: Counter = Counter()
    for message in local.mailbox.messages.values():
        if "SENT" not in message.label_ids or b"X-Labeldesk: " not in message.raw:
            continue
        notice = b"X-Labeldesk: notify:" in message.raw
        kinds[(message.parse().subject or "").split(":")[0] if notice else "reply to a customer"] += 1
    return dict(sorted(kinds.items()))


def measured(local, results, began: float) -> dict:
    outcomes = [p.outcome for p in results]
    return {"seconds": round(time.perf_counter() - began, 1), "units": local.app.total_units,
            "calls": dict(sorted(local.app.calls.items())), "mails_sent_so_far": mails_sent(local),
            "held_back": sum(len(o.held_back) for o in outcomes),
            "tasks_made": sum(line.startswith("task created") for o in outcomes for line in o.done)}


def measure(threads: int, alerts_per_hour: int) -> dict:
    clock = {"now": NOW}
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        state.mkdir()
        local, _ = build_mailbox(threads)
        data = {"mailbox": {"address": SUPPORT, "full_sync_days": 60},
                "agents": {a: {"first_name": f, "last_name": l} for a, (f, l) in AGENTS.items()},
                "plugins": {"enabled": ["autoreply", "sla"], "sla": {"team_lead": "lead@example.com"}},
                "host": {"state_dir": str(state), "alerts_per_hour": alerts_per_hour}}
        host = build_host(load_config(state / "labeldesk.toml", data=data, environ={}), http=local.http,
                          now=lambda: clock["now"])
        out: dict = {"threads": threads, "alerts_per_hour": alerts_per_hour}
        for step, run in (("full_sync", lambda: ChangeFeed(host).sync().threads), ("sweep", host.sweep),
                          ("sweep_an_hour_later", host.sweep)):
            if step == "sweep_an_hour_later":
                clock["now"] = NOW + timedelta(minutes=61)
            local.app.reset_counters()
            began = time.perf_counter()
            out[step] = measured(local, run(), began)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=5000)
    parser.add_argument("--alerts-per-hour", type=int, default=30)
    args = parser.parse_args()
    print(json.dumps(measure(args.threads, args.alerts_per_hour), indent=1))


if __name__ == "__main__":
    main()
