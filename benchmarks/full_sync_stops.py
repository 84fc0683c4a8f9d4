"""A full sync stopped half-way, then run again: what the stops cost, this tree against a baseline tree.

A first (full) sync of THREADS one-message tickets of the last 30 days (autoreply and sla on, as
``quota_wall.py``'s ``first``), on the local mailbox counting Gmail's units by the new table (a Cloud project made
since May 2026: messages.get 20, threads.get 40). Each run is a new process (a new host on the same mailbox and
state folder). A run is stopped after it has processed a number of threads, in one of two ways:

``sigterm``  as systemd's SIGTERM: the thread in hand is finished, no other is taken, the run ends as it ends then;
``refused``  Gmail answers 429 ``rateLimitExceeded`` to every call from then to the end of the run (the client
             retries each call, then the sync stops as it does when Gmail is out of quota);
``killed``   as kill -9 or a reboot, 25 threads later (halfway into a batch of 50, where a kill at a random moment
             falls on average): the process dies after that thread, nothing of the run's ending runs.

Units, calls and threads read are those Gmail answered; the calls it refused are counted apart.
Scenarios: ``30%`` (the first run stopped after 30% of the threads, the second runs to the end), ``60%``, and
``every 200`` (each run stopped after 200 threads, until the full sync is done, at most ``--cap`` runs). Units
and calls are all the runs' together; "quota minutes" are the units at the 85 units a second a new project's host
paces itself at (``plugin_host.quota``).

    python benchmarks/full_sync_stops.py [--threads 1000] [--baseline /tmp/base71] [--cap 10]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from trees import measure_in

HERE = Path(__file__).resolve().parent.parent

MEASURE = r'''
import json, logging, random, sys, tempfile
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from plugin_host.config import load_config
from plugin_host.mailbox import LocalMailbox
from plugin_host.quota import TokenBucket
from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed
from tests.conftest import make_email

threads, kind, stops, cap = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
logging.disable(logging.CRITICAL)
now = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
local = LocalMailbox(quota_table="new", clock=lambda: now.timestamp())
box = local.mailbox
for n in range(threads):
    when = now - timedelta(seconds=300 + n * (29 * 86400 // max(threads, 1)))
    box.add_message(make_email(sender=f"Customer {n} <customer{n}@example.org>", subject=f"Question {n}",
                               message_id=f"<q{n}@example.org>", date=when), ["INBOX", "UNREAD"],
                    internal_date=int(when.timestamp() * 1000))
state = tempfile.mkdtemp()
data = {"mailbox": {"address": "support@example.com"}, "host": {"state_dir": state},
        "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}},
        "plugins": {"enabled": ["autoreply", "sla"], "sla": {"hours": "24/7"}}}
config = load_config(Path(state) / "labeldesk.toml", data=data, environ={})
refused = Counter()  # calls Gmail refused (the local mailbox counts them with the others: they are taken off)
real_before_call = local.app.faults.before_call


def before_call(method_id):
    try:
        real_before_call(method_id)
    except Exception:
        refused[method_id] += 1
        raise


local.app.faults.before_call = before_call


class Killed(BaseException):
    """kill -9: no ``except Exception`` sees it, nothing after it runs."""


def new_process():
    host = build_host(config, http=local.http, now=lambda: now)
    host.client.bucket = TokenBucket(1e9)  # units are counted, not waited for
    host.client.sleep, host.client.rng = (lambda s: None), random.Random(7)
    return host


runs, processed, finished = 0, 0, False
local.app.reset_counters()
while runs < cap and not finished:
    stop_after = stops[min(runs, len(stops) - 1)] if stops else None
    host = new_process()
    seen = [0]

    def progress(done, total, host=host, seen=seen, stop_after=stop_after):
        seen[0] += 1
        if stop_after is None:
            return
        if kind == "killed" and seen[0] == stop_after + 25:
            raise Killed()
        if kind == "refused" and seen[0] == stop_after:
            local.app.faults.error_rates["*"], local.app.faults.status = 1.0, 429
        if kind == "sigterm" and seen[0] == stop_after:
            host.stopping.set()

    runs += 1
    try:
        report = ChangeFeed(host, progress=progress).sync()
        finished = report.ok
    except Killed:
        pass
    local.app.faults.error_rates.clear()  # Gmail is back for the next run
    processed += seen[0]
acks = Counter(m.thread_id for m in box.messages.values() if b"X-Labeldesk: ack" in m.raw)
from plugin_host.quota import units_for
calls = local.app.calls - refused
units = local.app.total_units - sum(units_for(m, "new") * n for m, n in refused.items())
print(json.dumps({"runs": runs, "done": finished, "units": units, "calls": sum(calls.values()),
                  "refused": sum(refused.values()), "threads_read": calls.get("gmail.users.threads.get", 0),
                  "processed": processed,
                  "acks": sum(acks.values()), "twice": sum(1 for c in acks.values() if c > 1)}))
'''

SCENARIOS = {"whole": [], "30%": [0.3, None], "60%": [0.6, None], "every 200": [200]}


def stops_for(scenario: str, threads: int) -> list:
    return [s if s is None or s >= 1 else int(s * threads) for s in SCENARIOS[scenario]]


def run(code: Path, threads: int, kind: str, stops: list, cap: int) -> dict:
    return measure_in(code, MEASURE, threads, kind, json.dumps(stops), cap)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1000)
    parser.add_argument("--scenarios", default="whole,30%,60%,every 200")
    parser.add_argument("--kinds", default="sigterm,refused,killed")
    parser.add_argument("--cap", type=int, default=10, help="runs at most, per scenario")
    parser.add_argument("--baseline", type=Path)
    args = parser.parse_args()
    for scenario in args.scenarios.split(","):
        for kind in args.kinds.split(",") if SCENARIOS[scenario] else ["-"]:
            for tree, code in (("this", HERE), ("baseline", args.baseline)):
                if code is None:
                    continue
                result = run(code, args.threads, kind, stops_for(scenario, args.threads), args.cap)
                result["quota_minutes"] = round(result["units"] / 85 / 60, 1)
                print(json.dumps({"scenario": scenario, "kind": kind, "tree": tree, **result}), flush=True)


if __name__ == "__main__":
    main()
