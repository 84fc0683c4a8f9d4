"""Server time of the add-on's message-opened card: a 50-message thread, 1,000 help articles.

Requests go through the real Flask endpoint with verified tokens (a local test key; certificates
served from memory), the local mailbox in-process, all shipped plugins on. The baseline measured in
the same run is a bare ``threads.get`` of the same thread, the floor any side panel pays. Also the Gmail
units of the homepage (the queue) with 150 open tickets, opened twice.

With ``--inserts``, the server time of an agent's "Insert answer" press instead (``POST /addon/action``:
the article learnt into ``kb-feedback.jsonl``, the reply draft made), with that file empty, 1 MB and about 4 MB
(inserts spread over the 1,000 articles, under the per-article bound, as a large team's file is). Each press is
another article in the same ticket, its draft deleted and the index rebuilt between presses (outside the time).
With ``--baseline DIR`` (a worktree of an older commit: ``git worktree add --detach /tmp/base <commit>``) the
same presses run on that tree's code too, in the same run, each tree in its own process, taking turns
(``--rounds``; each size keeps the faster of its medians).

    python benchmarks/addon.py [--runs 60]
    python benchmarks/addon.py --inserts [--runs 20] [--rounds 2] [--baseline /tmp/base]
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# ``--tree DIR`` (a worker of ``--inserts``): the code measured is that checkout's, this script's own otherwise.
TREE = Path(sys.argv[sys.argv.index("--tree") + 1]).resolve() if "--tree" in sys.argv else HERE.parent
sys.path.insert(0, str(TREE))

import numpy as np  # noqa: E402
import responses  # noqa: E402

from plugin_host.config import load_config  # noqa: E402
from plugin_host.mailbox import LocalMailbox  # noqa: E402
from plugin_host.runtime import build_host  # noqa: E402
from plugin_host.web import create_app  # noqa: E402
from tests.conftest import b64, make_email  # noqa: E402
from tests.tokens import CERTS_URL, TokenSigner, serve_certs  # noqa: E402

BASE = "https://labeldesk.example.com"
SA = "service-1@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"
CLIENT = "1-x.apps.googleusercontent.com"


def articles(folder: Path, n: int = 1000) -> None:
    rng = random.Random(5)
    topics = ["refund", "delivery", "password", "invoice", "return", "card", "subscription", "warranty", "api", "login"]
    for i in range(n):
        topic = topics[i % len(topics)]
        words = " ".join(rng.choices(topics + ["order", "account", "payment", "email", "update", "issue"], k=120))
        (folder / f"a{i}.md").write_text(f"---\ntitle: {topic.capitalize()} help {i}\nurl: https://help.example.com/{i}\n---\n"
                                         f"How to fix your {topic}: {words}\n")


def make_config(tmp: Path, semantic: str):
    """All shipped plugins on, 1,000 articles, the add-on verified by a local key; state in ``tmp/state``."""
    kb = tmp / "kb"
    kb.mkdir()
    articles(kb)
    data = {"mailbox": {"address": "support@example.com"},
            "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}},
            "plugins": {"enabled": ["autoreply", "sla", "kb_suggest"], "kb_suggest": {"articles": str(kb), "semantic": semantic}},
            "addon": {"base_url": BASE, "service_account_email": SA, "oauth_client_id": CLIENT,
                      "google_certs_url": CERTS_URL}, "host": {"state_dir": str(tmp / "state")}}
    return load_config(tmp / "x.toml", data=data, environ={})


QUESTION_WORDS = ("refund order card payment delivery parcel invoice password login account subscription warranty "
                  "zwrot zamówienie karta płatność dostawa faktura hasło возврат заказ карта оплата доставка счёт "
                  "пароль when where why still not arrived charged twice cannot reset my the is was").split()


def feedback_file(path: Path, size: int) -> None:
    """About ``size`` bytes of inserts as agents make them (questions of 60–900 characters, English, Polish,
    Russian), spread over the 1,000 articles so no article passes the per-article bound."""
    rng = random.Random(7)
    lines, total, n = [], 0, 0
    while total < size - 1200:
        words = rng.choices(QUESTION_WORDS, k=rng.randint(10, 140))
        item = {"question": " ".join(words)[:1000], "article": f"a{rng.randrange(1000)}",
                "content": f"{rng.getrandbits(64):016x}", "thread": f"19b{n:013x}",
                "customers": [f"{rng.getrandbits(64):016x}"]}
        line = json.dumps(item, ensure_ascii=False) + "\n"
        lines.append(line)
        total += len(line.encode("utf-8"))
        n += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines), encoding="utf-8")


def insert_times(sizes_mb: str, runs: int, semantic: str) -> dict:
    """Median and p95 server time (ms) of an Insert answer press through the real endpoint, per feedback size."""
    import plugins.kb_suggest as kb_suggest

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        config = make_config(Path(tmp), semantic)
        local = LocalMailbox()
        g = local.gmail()
        thread = g.users().messages().insert(userId="me", body={"raw": b64(make_email(
            message_id="<ins@example.org>", subject="My refund is late")), "labelIds": ["INBOX"]}).execute()["threadId"]
        host = build_host(config, http=local.http)
        client = create_app(host).test_client()
        signer = TokenSigner()
        path = config.state_path / "kb-feedback.jsonl"
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            serve_certs(mock, signer)
            body = {"commonEventObject": {"hostApp": "GMAIL"}, "gmail": {"threadId": thread},
                    "authorizationEventObject": {"userIdToken": signer.token(CLIENT, "anna.kowalska@example.com")}}
            headers = {"Authorization": "Bearer " + signer.token(BASE + "/addon/action", SA)}
            for size in (float(s) for s in sizes_mb.split(",")):
                feedback_file(path, int(size * 1024 * 1024))
                start, times = path.stat().st_size, []
                for run in range(runs + 1):  # the first press warms up (certificates, the ticket)
                    for draft in g.users().drafts().list(userId="me").execute().get("drafts", []):
                        g.users().drafts().delete(userId="me", id=draft["id"]).execute()
                    while kb_suggest._rebuilding:  # a rebuild the last press started, then the index of this file
                        time.sleep(0.01)
                    kb_suggest.knowledge_base(config, wait=True)
                    before = path.stat().st_size
                    body["commonEventObject"]["parameters"] = {"name": "kb.insert_answer", "article": f"a{run}",
                                                               "threadId": thread}
                    t = time.perf_counter()
                    response = client.post("/addon/action", json=body, headers=headers)
                    elapsed = (time.perf_counter() - t) * 1000
                    opened = response.get_json()["renderActions"]["hostAppAction"]["gmailAction"]
                    assert response.status_code == 200 and opened["openCreatedDraftActionMarkup"]["draftId"]
                    assert path.stat().st_size > before, "the insert was not learnt"
                    times.append(elapsed) if run else None
                results[f"{size:g}"] = {"bytes": start, "p50_ms": statistics.median(times),
                                        "p95_ms": float(np.percentile(times, 95))}
        while kb_suggest._rebuilding:
            time.sleep(0.01)
    return results


def run_tree(tree: Path, args) -> dict:
    """``insert_times`` in a fresh process importing the code of ``tree``."""
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--tree", str(tree), "--sizes", args.sizes,
                          "--runs", str(args.runs), "--semantic", args.semantic], capture_output=True, text=True,
                         cwd=tree)
    if out.returncode:
        sys.exit(f"{tree}: {out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def insert_table(args) -> str:
    """The trees take turns (a busy minute on the machine hits both); each size keeps its faster median."""
    current, baseline = {}, {}
    for _ in range(args.rounds):
        for kept, tree in ((current, HERE.parent), (baseline, args.baseline)):
            if tree is None:
                continue
            for size, cell in run_tree(tree.resolve(), args).items():
                if size not in kept or cell["p50_ms"] < kept[size]["p50_ms"]:
                    kept[size] = cell
    lines = ["| kb-feedback.jsonl | this tree p50 / p95 ms" + (" | baseline p50 / p95 ms | ratio p50 (this / baseline)"
                                                            if baseline else "") + " |",
             "|---|---|" + ("---|---|" if baseline else "")]
    for size, cell in current.items():
        row = f"| {cell['bytes'] / 1048576:.2f} MB | {cell['p50_ms']:.1f} / {cell['p95_ms']:.1f}"
        if baseline:
            old = baseline[size]
            row += f" | {old['p50_ms']:.1f} / {old['p95_ms']:.1f} | {cell['p50_ms'] / old['p50_ms']:.2f}×"
        lines.append(row + " |")
    return "\n".join(lines)


def queue_units(config, signer, mock, tickets: int = 150) -> dict:
    """Gmail units of the add-on's homepage (the queue) with ``tickets`` open: its first open after a sync,
    and an open when nothing changed since."""
    from plugin_host.sync import ChangeFeed

    local = LocalMailbox()
    g = local.gmail()
    for i in range(tickets):
        g.users().messages().insert(userId="me", body={"raw": b64(make_email(
            sender=f"q{i}@example.org", message_id=f"<q{i}@example.org>", subject=f"Question {i}")),
            "labelIds": ["INBOX", "UNREAD"]}).execute()
    host = build_host(config, http=local.http)
    ChangeFeed(host).sync()
    client = create_app(host).test_client()
    body = {"commonEventObject": {"hostApp": "GMAIL"}, "gmail": {},
            "authorizationEventObject": {"userIdToken": signer.token(CLIENT, "anna.kowalska@example.com")}}
    headers = {"Authorization": "Bearer " + signer.token(BASE + "/addon/homepage", SA)}
    units = []
    for _ in range(2):
        local.app.reset_counters()
        assert client.post("/addon/homepage", json=body, headers=headers).status_code == 200
        units.append(local.app.total_units)
    return {"open_tickets": tickets, "first_open_units": units[0], "unchanged_open_units": units[1]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--profile", action="store_true", help="print where the time goes")
    parser.add_argument("--semantic", default="static", help="kb_suggest semantic mode (static: the default install)")
    parser.add_argument("--inserts", action="store_true", help="time Insert answer presses (kb-feedback.jsonl sizes)")
    parser.add_argument("--sizes", default="0,1,3.9", help="--inserts: feedback file sizes in MB")
    parser.add_argument("--rounds", type=int, default=2, help="--inserts: turns each tree takes")
    parser.add_argument("--baseline", type=Path, help="--inserts: a worktree of the commit to compare with")
    parser.add_argument("--tree", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tree:
        print(json.dumps(insert_times(args.sizes, args.runs, args.semantic)))
        return
    if args.inserts:
        print(insert_table(args))
        return
    with tempfile.TemporaryDirectory() as tmp:
        config = make_config(Path(tmp), args.semantic)
        local = LocalMailbox()
        g = local.gmail()
        first = g.users().messages().insert(userId="me", body={"raw": b64(make_email(
            message_id="<t0@example.org>", subject="My refund is late")), "labelIds": ["INBOX"]}).execute()
        for i in range(1, 50):
            sender = "Anna Kowalska <support@example.com>" if i % 2 else "Jane <jane@example.org>"
            raw = make_email(sender=sender, subject="Re: My refund is late", message_id=f"<t{i}@example.org>",
                             in_reply_to=f"<t{i - 1}@example.org>", body=f"Message {i} about the refund and card.")
            g.users().messages().insert(userId="me", body={"raw": b64(raw), "labelIds": ["INBOX"],
                                                           "threadId": first["threadId"]}).execute()
        assert len(local.mailbox.threads[first["threadId"]]) == 50
        host = build_host(config, http=local.http)
        client = create_app(host).test_client()
        signer = TokenSigner()
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            serve_certs(mock, signer)
            body = {"commonEventObject": {"hostApp": "GMAIL"}, "gmail": {"threadId": first["threadId"]},
                    "authorizationEventObject": {"userIdToken": signer.token(CLIENT, "anna.kowalska@example.com")}}
            headers = {"Authorization": "Bearer " + signer.token(BASE + "/addon/message", SA)}
            client.post("/addon/message", json=body, headers=headers)  # warm: index built, certs cached
            profile = cProfile.Profile()
            if args.profile:
                profile.enable()
            card_ms, floor_ms = [], []
            for _ in range(args.runs):
                t = time.perf_counter()
                response = client.post("/addon/message", json=body, headers=headers)
                card_ms.append((time.perf_counter() - t) * 1000)
                assert response.status_code == 200
                t = time.perf_counter()
                host.client.get_thread(first["threadId"])
                floor_ms.append((time.perf_counter() - t) * 1000)
            queue = queue_units(config, signer, mock)
    if args.profile:
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
    result = {"runs": args.runs, "thread_messages": 50, "articles": 1000, "semantic": args.semantic,
              "p50_ms": round(float(np.percentile(card_ms, 50)), 1), "p95_ms": round(float(np.percentile(card_ms, 95)), 1),
              "threads_get_p50_ms": round(statistics.median(floor_ms), 1),
              "ratio_p50_to_threads_get": round(float(np.percentile(card_ms, 50)) / statistics.median(floor_ms), 1),
              "homepage_queue": queue}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
