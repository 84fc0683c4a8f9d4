"""What a new install meets at Gmail's per-user quota: first syncs, a burst of new mail, a sweep.

Gmail here is the local mailbox with the per-user limit modelled in this script, so that one model of Google
serves this tree and a baseline alike: every call costs what Google's table of the Cloud project says — a project
created from May 2026 ("new": messages.get 20, threads.get 40, 6,000 units per user in any minute) or an older one
("old": 5 and 10, 15,000) — and a call past the minute's units is refused as Gmail refuses it, 403
``userRateLimitExceeded``, without ``Retry-After``. Time is virtual (each HTTP request takes LATENCY seconds,
the host's sleeps advance it), so a run takes seconds however long the sync would take; ``serve`` is modelled as
a sync every ``poll_seconds`` (60) until one ends with nothing left for later.

Scenarios: ``demo`` (the sample inbox's first sync), ``first`` (THREADS one-message tickets of the last 30 days,
first sync), ``burst`` (THREADS new customer emails at once after the first sync, the sync a push starts),
``sweep`` (THREADS open tickets breached, one sweep).

    python benchmarks/quota_wall.py [--threads 1000] [--baseline /tmp/base70]
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

from plugin_host import quota
from plugin_host.config import MailboxSettings, load_config
from plugin_host.mailbox import LocalMailbox
from plugin_host.mailbox.errors import ApiError
from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed
from tests.conftest import make_email

scenario, project, setting, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
LATENCY = 0.1  # seconds a request to Gmail takes (a batch counts once)
NEW = {"gmail.users.messages.get": 20, "gmail.users.drafts.get": 20, "gmail.users.messages.attachments.get": 20,
       "gmail.users.messages.trash": 20, "gmail.users.threads.get": 40}
LIMIT = {"new": 6000, "old": 15000}[project]


def old_units(method_id):
    try:
        return quota.units_for(method_id, "old")
    except TypeError:  # a tree with one table: the old one
        return quota.units_for(method_id)


def google_units(method_id):
    return NEW[method_id] if project == "new" and method_id in NEW else old_units(method_id)


class Clock:
    t = 0.0

    def now(self):
        return self.t

    def sleep(self, seconds):
        self.t += max(1e-6, seconds)  # a wait of 1e-16 s would not move a clock at 100 s (float), and a bucket
        # without a tolerance for it (the baseline's) would wait for ever


class Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.records = []

    def emit(self, record):
        self.records.append((record.levelno, record.getMessage()))


clock = Clock()
lines = Lines()
logging.getLogger().addHandler(lines)
logging.getLogger().setLevel(logging.INFO)
now = datetime.now(timezone.utc)
local = LocalMailbox(seed="sample", now=now) if scenario == "demo" else LocalMailbox()
window, spent, refused, limited = [], Counter(), [0], [False]


def account(method_id):
    units = google_units(method_id)
    if limited[0]:
        at = clock.now()
        window[:] = [(t, u) for t, u in window if at - t < 60.0]
        if sum(u for _, u in window) + units > LIMIT:
            refused[0] += 1
            raise ApiError(403, "User Rate Limit Exceeded", "userRateLimitExceeded", domain="usageLimits")
        window.append((at, units))
    spent[method_id] += units


local.app.account = account
real_request = local.http.request


def request(*args, **kwargs):
    clock.sleep(LATENCY)
    return real_request(*args, **kwargs)


local.http.request = request
box = local.mailbox
state = tempfile.mkdtemp()
mailbox = {"address": "support@example.com"}
if setting != "-" and "quota_table" in MailboxSettings.__dataclass_fields__:
    mailbox["quota_table"] = setting
sla = {"hours": "24/7"}
data = {"mailbox": mailbox, "host": {"state_dir": state},
        "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}},
        "plugins": {"enabled": ["autoreply", "sla"], "sla": sla}}
config = load_config(Path(state) / "labeldesk.toml", data=data, environ={})


def host_now():
    return now + timedelta(seconds=clock.now())


def new_host():
    host = build_host(config, http=local.http, now=host_now)
    # the bucket the tree builds for real Gmail (a local mailbox gets none), on the virtual clock
    if hasattr(quota, "bucket_for"):
        bucket = quota.bucket_for(config.mailbox, clock=clock.now, sleep=clock.sleep)
    else:  # before quota_table: runtime.build_host's 250 units/s, 500 at once
        rate = config.mailbox.quota_units_per_second or 250.0
        bucket = quota.TokenBucket(rate, capacity=max(rate, 500.0), clock=clock.now, sleep=clock.sleep)
    host.client.bucket = bucket
    host.client.sleep, host.client.rng = clock.sleep, random.Random(7)
    return host


def customer(n, when):
    box.add_message(make_email(sender=f"Customer {n} <customer{n}@example.org>", subject=f"Question {n}",
                               message_id=f"<q{n}@example.org>", date=when), ["INBOX", "UNREAD"],
                    internal_date=int(when.timestamp() * 1000))


host = new_host()
feed = ChangeFeed(host)
if scenario == "first":
    for n in range(threads):
        customer(n, now - timedelta(seconds=300 + n * (29 * 86400 // max(threads, 1))))
elif scenario in ("burst", "sweep"):
    feed.sync()  # the first sync, of an empty mailbox: the cursor
    for n in range(threads):
        customer(n, now - timedelta(hours=3) if scenario == "sweep" else now)
    if scenario == "sweep":
        feed.sync()  # labelled and acknowledged, without a limit: what is measured is the sweep
        clock.sleep(24 * 3600)  # a day later every one of them is breached
sent_before = sum(1 for m in box.messages.values() if "SENT" in m.label_ids)
spent.clear()
limited[0] = True
began = clock.now()
rounds = 0
first_lines = len(lines.records)
while True:
    rounds += 1
    ok = False
    try:
        if scenario == "sweep":
            report = host.sweep()
            ok = not report.failed and not report.not_reached
        else:
            ok = feed.sync().ok
    except Exception as exc:
        lines.records.append((logging.ERROR, f"(raised) {type(exc).__name__}: {exc}"))
    if scenario == "sweep":
        break
    if ok or rounds >= 40:
        break
    clock.sleep(60)  # serve's next poll
took = clock.now() - began
acks = Counter()
for m in box.messages.values():
    if b"X-Labeldesk: ack" in m.raw:
        acks[m.thread_id] += 1
said = [(logging.getLevelName(level), text[:160]) for level, text in lines.records[first_lines:]
        if level >= logging.WARNING]
retries = sum(1 for level, text in lines.records[first_lines:] if level == logging.INFO and "retry" in text)
print(json.dumps({"seconds": round(took), "syncs": rounds, "done": ok, "refused": refused[0],
                  "units": sum(spent.values()), "threads_read": spent.get("gmail.users.threads.get", 0)
                  // google_units("gmail.users.threads.get") + spent.get("gmail.users.messages.get", 0)
                  // google_units("gmail.users.messages.get"),
                  "acks": sum(acks.values()), "twice": sum(1 for c in acks.values() if c > 1),
                  "retry_lines": retries, "warnings": len(said), "said": sorted(set(t for _, t in said))[:6]}))
'''


def run(code: Path, scenario: str, project: str, setting: str, threads: int) -> dict:
    return measure_in(code, MEASURE, scenario, project, setting, threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1000)
    parser.add_argument("--scenarios", default="demo,first,burst,sweep")
    parser.add_argument("--projects", default="new,old", help="the Cloud project's quota table(s) to model")
    parser.add_argument("--baseline", type=Path)
    parser.add_argument("--trees", default="this,baseline")
    args = parser.parse_args()
    for project in args.projects.split(","):
        for scenario in args.scenarios.split(","):
            for tree, code in (("this", HERE), ("baseline", args.baseline)):
                if code is None or tree not in args.trees:
                    continue
                # left at its default ("-", which is "new" here), and told an old project's truth
                for setting in ("-", project) if tree == "this" and project != "new" else ("-",):
                    result = run(code, scenario, project, setting, args.threads)
                    print(json.dumps({"project": project, "scenario": scenario, "tree": tree, "setting": setting,
                                      **result}), flush=True)


if __name__ == "__main__":
    main()
