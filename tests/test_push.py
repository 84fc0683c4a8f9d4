"""POST /gmail/push: verified before read, fast 2xx, malformed or unverified → 4xx, triggers a sync."""
from __future__ import annotations

import base64
import json
import time

import pytest
import responses

from plugin_host.errors import VerificationError
from plugin_host.push import BadPush, parse_push, verify_push_token
from plugin_host.sync import ChangeFeed
from plugin_host.web import create_app

from .conftest import deliver, make_email
from .test_host_sync import CONFIG, make_host
from .tokens import CERTS_URL, TokenSigner, serve_certs

AUDIENCE = "https://labeldesk.example.com/gmail/push"
PUSHER = "gmail-push@project.iam.gserviceaccount.com"


def push_body(address="support@example.com", history_id=1234) -> bytes:
    data = base64.urlsafe_b64encode(json.dumps({"emailAddress": address, "historyId": history_id}).encode()).decode()
    return json.dumps({"message": {"data": data, "messageId": "1", "publishTime": "2026-11-23T10:00:00Z"},
                       "subscription": "projects/p/subscriptions/s"}).encode()


def test_parse_push_accepts_pubsub_shape_and_rejects_garbage():
    notice = parse_push(push_body())
    assert notice.email_address == "support@example.com" and notice.history_id == 1234
    def data(raw: bytes) -> bytes:
        return json.dumps({"message": {"data": base64.b64encode(raw).decode()}}).encode()

    for bad in (b"not json", b"{}", b'{"message": {"data": "%%%"}}', data(b'{"historyId": 5}'), b"[" * 100_000,
                data(b"[" * 100_000), data(b'{"emailAddress": "a@b.c", "historyId": 1e999}'),
                data(b'{"emailAddress": "a@b.c", "historyId": Infinity}'), data(b'{"emailAddress": "a@b.c", "historyId": -3}')):
        with pytest.raises(BadPush):
            parse_push(bad)


@responses.activate
def test_verify_push_token_success_and_each_failure(signer):
    serve_certs(responses, signer)
    good = signer.token(AUDIENCE, PUSHER)
    assert verify_push_token(f"Bearer {good}", AUDIENCE, PUSHER, certs_url=CERTS_URL)["email"] == PUSHER
    failures = {
        "missing": "",
        "scheme": f"Basic {good}",
        "audience": "Bearer " + signer.token("https://evil.example.com/gmail/push", PUSHER),
        "email": "Bearer " + signer.token(AUDIENCE, "someone@evil.example.com"),
        "unverified": "Bearer " + signer.token(AUDIENCE, PUSHER, email_verified=False),
        "expired": "Bearer " + signer.token(AUDIENCE, PUSHER, expires_in=-3600),
        "issuer": "Bearer " + signer.token(AUDIENCE, PUSHER, issuer="https://evil.example.com"),
        "forged": "Bearer " + TokenSigner().token(AUDIENCE, PUSHER),
        "garbage": "Bearer abc.def.ghi",
    }
    for name, header in failures.items():
        with pytest.raises(VerificationError):
            verify_push_token(header, AUDIENCE, PUSHER, certs_url=CERTS_URL)
            pytest.fail(f"{name} token was accepted")


def push_app(tmp_path, configured=True):
    config = {**CONFIG, "mailbox": {**CONFIG["mailbox"], **({"push_audience": AUDIENCE,
                                                             "push_service_account": PUSHER} if configured else {})},
              "addon": {"google_certs_url": CERTS_URL}}
    local, host, plugin = make_host(tmp_path, config=config)
    feed = ChangeFeed(host)
    return local, host, feed, create_app(host, feed).test_client()


@responses.activate
def test_push_endpoint(tmp_path, signer):
    serve_certs(responses, signer)
    local, host, feed, client = push_app(tmp_path)
    feed.sync()
    deliver(local.gmail(), make_email(message_id="<pushed@example.org>"))
    auth = {"Authorization": "Bearer " + signer.token(AUDIENCE, PUSHER)}
    assert client.post("/gmail/push", data=push_body()).status_code == 401
    bad = client.post("/gmail/push", data=push_body(), headers={"Authorization": "Bearer " + TokenSigner().token(AUDIENCE, PUSHER)})
    assert bad.status_code == 401 and b"token" not in bad.data.lower()
    # Signed by Google but unreadable: a 4xx made Pub/Sub redeliver it for 7 days; it is acknowledged
    malformed = client.post("/gmail/push", data=b"{oops", headers=auth)
    assert malformed.status_code == 200 and malformed.json["malformed"]
    other = client.post("/gmail/push", data=push_body("someone@else.example"), headers=auth)
    assert other.status_code == 200 and other.json["ignored"]
    ok = client.post("/gmail/push", data=push_body(), headers=auth)
    assert ok.status_code == 200 and ok.json["accepted"]
    for _ in range(100):  # the sync runs in the background
        if any(b"X-Labeldesk: ack" in m.raw for m in local.mailbox.messages.values()):
            break
        time.sleep(0.05)
    assert any(b"X-Labeldesk: ack" in m.raw for m in local.mailbox.messages.values())


def test_push_endpoint_unconfigured_is_forbidden(tmp_path):
    *_, client = push_app(tmp_path, configured=False)
    assert client.post("/gmail/push", data=push_body()).status_code == 403
    assert client.get("/healthz").json["mailbox"] == "support@example.com"


def test_a_burst_of_pushes_queues_one_sync_behind_the_running_one(tmp_path):
    """Gmail may push many notices a second: one sync runs, one waits (it sees every change), the rest
    are dropped instead of each starting a thread that repeats history.list."""
    import threading

    _, _, feed, _ = push_app(tmp_path)
    started, release, runs = threading.Event(), threading.Event(), []

    def slow_sync(*args, **kwargs):
        runs.append(threading.current_thread().name)
        started.set()
        release.wait(5)

    feed.sync = slow_sync
    assert feed.sync_soon() is True
    assert started.wait(5)  # the first sync runs and holds the queue
    queued = [feed.sync_soon() for _ in range(50)]
    assert queued.count(True) == 1  # one waits its turn, 49 are redundant
    release.set()
    for _ in range(100):
        if len(runs) == 2 and not feed._waiting.is_set():
            break
        time.sleep(0.02)
    time.sleep(0.1)
    assert len(runs) == 2
    started.clear()
    assert feed.sync_soon() is True  # after the burst, a new push syncs again
    assert started.wait(5) and len(runs) == 3
