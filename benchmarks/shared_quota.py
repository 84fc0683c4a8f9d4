"""Several Labeldesk processes on one mailbox at Gmail's per-user limit: `serve`, cron's sweep, an admin's report.

Gmail here is the local mailbox in its quota-enforcing mode (``per_user_limit``: each call charged by a new Cloud
project's table, a call past 6,000 units in the minute refused with 403 ``userRateLimitExceeded``). Each process is
a thread with a host of its own (client, bucket, locks) built by the tree's ``build_host`` on one state folder; the
processes share virtual time (``tests/virtual_time.py`` of this tree): each HTTP request takes LATENCY seconds,
and the clock moves on when every process sleeps, so minutes of Gmail's pace take seconds.

Scenarios (BURST new customer emails, BREACHED open tickets a day old):
``one``: `serve` syncs the burst alone; ``sweep``: cron's ``labeldesk sweep`` visits the breached tickets alone;
``two``: both at once; ``three``: and an admin's ``labeldesk report`` (or ``kb gaps``) reads the last 30 days' conversations too.
`serve` polls again after 60 s while its sync left threads for later; the sweep and the report run once.

    python benchmarks/shared_quota.py [--burst 200] [--breached 200] [--baseline /tmp/base72]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from trees import measure_in

HERE = Path(__file__).resolve().parent.parent

MEASURE = r'''
import importlib.util, json, logging, random, sys, tempfile, time as real_time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from plugin_host.config import load_config
from plugin_host.mailbox import InProcessHttp, LocalMailbox
from plugin_host.mailbox.errors import ApiError
from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed
from tests.conftest import make_email

scenario, burst, breached, helper = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
spec = importlib.util.spec_from_file_location("virtual_time", helper)
virtual_time = importlib.util.module_from_spec(spec)
spec.loader.exec_module(virtual_time)
LATENCY = 0.1  # seconds a request to Gmail takes (a batch counts once)


class Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.records = []

    def emit(self, record):
        self.records.append((record.levelno, record.getMessage()))


time = virtual_time.SharedVirtualTime()
lines = Lines()
logging.getLogger().addHandler(lines)
logging.getLogger().setLevel(logging.INFO)
started = datetime.now(timezone.utc).replace(microsecond=0)
local = LocalMailbox(quota_table="new")
local.app.clock = time.clock
refused, spent = [0], Counter()
account = local.app.account


def counted(method_id):
    try:
        account(method_id)
    except ApiError:
        refused[0] += 1
        raise
    spent[method_id] += 1


local.app.account = counted
state = tempfile.mkdtemp()
# a local mailbox is not paced unless asked: 85 units a second is what a new project's host gets on Gmail
data = {"mailbox": {"address": "support@example.com", "quota_units_per_second": 85}, "host": {"state_dir": state},
        "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}},
        "plugins": {"enabled": ["autoreply", "sla"], "sla": {"hours": "24/7"}}}
config = load_config(Path(state) / "labeldesk.toml", data=data, environ={})


def now():
    return started + timedelta(seconds=time.now)


class Slow(InProcessHttp):
    def request(self, *args, **kwargs):
        time.sleep(LATENCY)
        return super().request(*args, **kwargs)


made = [0]


def process():
    made[0] += 1
    host = build_host(config, http=Slow(local.app), now=now)
    bucket = host.client.bucket
    bucket.clock, bucket.sleep, bucket.updated = time.clock, time.sleep, time.clock()
    host.client.sleep, host.client.rng = time.sleep, random.Random(made[0])
    return host


def customers(first, count, written):
    for n in range(first, first + count):
        local.mailbox.add_message(make_email(sender=f"Customer {n} <c{n}@example.org>", subject=f"Question {n}",
                                             message_id=f"<q{n}@example.org>", date=written), ["INBOX", "UNREAD"],
                                  internal_date=int(written.timestamp() * 1000))


serve = process()
feed = ChangeFeed(serve)
feed.sync()
customers(0, breached, now() - timedelta(hours=3))
assert feed.sync().ok
time.sleep(24 * 3600)  # a day later every one of them is breached
customers(breached, burst, now())
cron, admin = process(), process()
local.app.per_user_limit = True
spent.clear()
first_line = len(lines.records)
finished = {}


def serving():
    polls = 0
    while True:
        polls += 1
        report = feed.sync()
        if report.ok or polls >= 40:
            finished["serve"] = time.now
            return polls
        time.sleep(60)  # serve's next poll


def sweeping():
    report = cron.sweep()
    finished["sweep"] = time.now
    return not report.failed and not report.not_reached


def reporting():
    tickets, _ = admin.tickets_since(30, 2000)
    finished["report"] = time.now
    return len(tickets)


began, clock_began = time.now, real_time.perf_counter()
work = {"one": [serving], "sweep": [sweeping], "two": [serving, sweeping],
        "three": [serving, sweeping, reporting]}[scenario]
results = time.run(*work)
real = real_time.perf_counter() - clock_began
acks = Counter(m.thread_id for m in local.mailbox.messages.values() if b"X-Labeldesk: ack" in m.raw)
said = [text for level, text in lines.records[first_line:] if level >= logging.WARNING]
units = sum(count * local.app.units[m] // max(local.app.calls[m], 1) for m, count in spent.items())
print(json.dumps({
    "seconds": round(time.now - began), "finished": {k: round(v - began) for k, v in finished.items()},
    # serve: polls until its sync ended with nothing left; sweep: whether it visited every ticket; report: tickets
    "results": {f.__name__: (repr(r)[:200] if isinstance(r, BaseException) else r) for f, r in zip(work, results)},
    "refused": refused[0], "units": units, "warnings": len(said), "said": sorted({s[:140] for s in said})[:4],
    "acks": sum(acks.values()), "twice": sum(1 for c in acks.values() if c > 1), "real_seconds": round(real, 2)}))
'''


def run(code: Path, scenario: str, burst: int, breached: int) -> dict:
    return measure_in(code, MEASURE, scenario, burst, breached, HERE / "tests" / "virtual_time.py")


def overhead(calls: int = 5000) -> dict:
    """Real time one call's units cost to take: from the shared bucket (the lock, a read, a write of quota.json)
    and from a process's own, on a rate that never makes either wait."""
    import tempfile
    import time

    sys.path.insert(0, str(HERE))
    from plugin_host.quota import SharedBucket, TokenBucket

    took = {}
    for name, bucket in (("own", TokenBucket(1e9, capacity=1e9)),
                         ("shared", SharedBucket(tempfile.mkdtemp(), "support@example.com", 1e9, 1e9))):
        began = time.perf_counter()
        for _ in range(calls):
            bucket.take(40)
        took[f"{name}_us_per_call"] = round((time.perf_counter() - began) / calls * 1e6, 1)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--breached", type=int, default=200)
    parser.add_argument("--scenarios", default="one,sweep,two,three")
    parser.add_argument("--baseline", type=Path)
    parser.add_argument("--overhead", action="store_true", help="also time one take of each bucket, for real")
    args = parser.parse_args()
    if args.overhead:
        print(json.dumps({"overhead": overhead()}), flush=True)
    for scenario in args.scenarios.split(","):
        for tree, code in (("this", HERE), ("baseline", args.baseline)):
            if code is None:
                continue
            print(json.dumps({"scenario": scenario, "tree": tree, **run(code, scenario, args.burst, args.breached)}),
                  flush=True)


if __name__ == "__main__":
    main()
