"""What Gmail push notifications cost as Pub/Sub delivers them: one at a time, a backlog at once, late ones.

Drives the host's push endpoint (``create_app`` as ``labeldesk serve`` builds it) with Pub/Sub-shaped requests —
base64 ``{"emailAddress", "historyId"}``, a messageId each, a Google-signed OIDC token (a local test key) — against
the local mailbox, and reads its call and quota counters:

- ``one``: a new customer email and its one notice, WAVES times in a row (each sync ends before the next mail);
- ``backlog``: NEW customer emails arrived while the host was away, then Pub/Sub delivers BURST notices for them
  at once from 8 connections (waitress's threads), history ids spread over the changes, oldest first mostly;
- ``late``: LATE notices for changes the last sync already applied (out of order, or delivered late).

Run against this tree and, with ``--baseline DIR`` (a ``git worktree`` of the commit before), against it in the
same run.

    python benchmarks/push.py [--burst 500] [--new 20] [--late 50] [--baseline /tmp/base67]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from trees import measure_in

HERE = Path(__file__).resolve().parent.parent

MEASURE = r'''
import base64, json, statistics, sys, tempfile, threading, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import responses
from plugin_host.sync import ChangeFeed
from plugin_host.web import create_app
from tests.conftest import deliver, make_email
from tests.test_host_sync import CONFIG, make_host
from tests.tokens import CERTS_URL, TokenSigner, serve_certs

scenario, burst, new, late = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
AUDIENCE, PUSHER = "https://labeldesk.example.com/gmail/push", "gmail-push@project.iam.gserviceaccount.com"
ids = iter(range(1, 10**9))

def body(history_id):
    data = json.dumps({"emailAddress": "support@example.com", "historyId": history_id}).encode()
    return json.dumps({"message": {"data": base64.urlsafe_b64encode(data).decode(), "messageId": str(next(ids)),
                                   "publishTime": "2026-11-23T10:00:00.000Z", "attributes": {}},
                       "subscription": "projects/p/subscriptions/labeldesk"}).encode()

def settle(feed):
    while True:
        with feed._queue:
            pass
        if not feed._waiting.is_set() and not feed._queue.locked():
            return

with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
    signer = TokenSigner()
    serve_certs(mock, signer)
    config = {**CONFIG, "mailbox": {**CONFIG["mailbox"], "push_audience": AUDIENCE, "push_service_account": PUSHER},
              "addon": {"google_certs_url": CERTS_URL}}
    local, host, _ = make_host(Path(tempfile.mkdtemp()), config=config)
    feed = ChangeFeed(host)
    feed.sync()
    client = create_app(host, feed).test_client()
    auth = {"Authorization": "Bearer " + signer.token(AUDIENCE, PUSHER)}
    gmail = local.gmail()
    answers, syncs = [], [0]
    real_sync = feed.sync
    def counted(*args, **kwargs):
        syncs[0] += 1
        return real_sync(*args, **kwargs)
    feed.sync = counted

    def post(history_id):
        began = time.perf_counter()
        status = client.post("/gmail/push", data=body(history_id), headers=auth).status_code
        answers.append(time.perf_counter() - began)
        return status

    def customer(n):
        deliver(gmail, make_email(sender=f"Customer {n} <c{n}@example.org>", message_id=f"<n{n}@example.org>",
                                  subject=f"Order {n} is late"))
        return local.mailbox.history_id

    local.app.reset_counters()
    statuses = []
    if scenario == "one":
        for n in range(new):
            statuses.append(post(customer(n)))
            settle(feed)
    elif scenario == "backlog":
        first = local.mailbox.history_id
        last = [customer(n) for n in range(new)][-1]
        spread = [first + 1 + (last - first - 1) * i // max(1, burst - 1) for i in range(burst)]
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(post, spread))
        settle(feed)
    else:  # late
        top = [customer(n) for n in range(new)][-1]
        statuses.append(post(top))
        settle(feed)
        local.app.reset_counters()
        syncs[0] = 0
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(post, [top - i % (top - 1000) for i in range(late)]))
        settle(feed)
    acks = sum(b"X-Labeldesk: ack" in m.raw for m in local.mailbox.messages.values())
    print(json.dumps({"history_reads": local.app.calls.get("gmail.users.history.list", 0), "syncs": syncs[0],
                      "units": sum(local.app.units.values()), "statuses": sorted(set(statuses)), "acks": acks,
                      "answer_p50_ms": round(statistics.median(answers) * 1000, 1),
                      "answer_max_ms": round(max(answers) * 1000, 1), "pushes": len(statuses)}))
'''


def run(code: Path, scenario: str, burst: int, new: int, late: int) -> dict:
    return measure_in(code, MEASURE, scenario, burst, new, late)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=500, help="notices in the backlog")
    parser.add_argument("--new", type=int, default=20, help="new customer emails behind them")
    parser.add_argument("--late", type=int, default=50, help="notices for changes already synced")
    parser.add_argument("--baseline", type=Path)
    args = parser.parse_args()
    print("| delivery | notices | history.list (baseline) | syncs (baseline) | Gmail units (baseline) | "
          "acknowledgements | answer p50 / max ms (baseline) |")
    print("|---|---|---|---|---|---|---|")
    for scenario in ("one", "backlog", "late"):
        now = run(HERE, scenario, args.burst, args.new, args.late)
        base = run(args.baseline, scenario, args.burst, args.new, args.late) if args.baseline else None
        assert now["statuses"] == [200], now

        def cell(key):
            if not base:
                return f"{now[key]}"
            ratio = f", ×{now[key] / base[key]:.2f}" if base[key] else ""
            return f"{now[key]} ({base[key]}{ratio})"

        times = f"{now['answer_p50_ms']} / {now['answer_max_ms']}"
        if base:
            times += f" ({base['answer_p50_ms']} / {base['answer_max_ms']})"
        print(f"| {scenario} | {now['pushes']} | {cell('history_reads')} | {cell('syncs')} | {cell('units')} | "
              f"{now['acks']}{' (%d)' % base['acks'] if base else ''} | {times} |", flush=True)


if __name__ == "__main__":
    main()
