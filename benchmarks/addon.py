"""Server time of the add-on's message-opened card: a 50-message thread, 1,000 help articles.

Requests go through the real Flask endpoint with verified tokens (a local test key; certificates
served from memory), the local mailbox in-process, all shipped plugins on. The baseline measured in
the same run is a bare ``threads.get`` of the same thread, the floor any side panel pays. Also the Gmail
units of the homepage (the queue) with 150 open tickets, opened twice.

    python benchmarks/addon.py [--runs 60]
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        kb = Path(tmp) / "kb"
        kb.mkdir()
        articles(kb)
        data = {"mailbox": {"address": "support@example.com"},
                "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}},
                "plugins": {"enabled": ["autoreply", "sla", "kb_suggest"], "kb_suggest": {"articles": str(kb), "semantic": args.semantic}},
                "addon": {"base_url": BASE, "service_account_email": SA, "oauth_client_id": CLIENT,
                          "google_certs_url": CERTS_URL}, "host": {"state_dir": str(Path(tmp) / "state")}}
        config = load_config(Path(tmp) / "x.toml", data=data, environ={})
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
