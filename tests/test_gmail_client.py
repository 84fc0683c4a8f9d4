"""GmailClient: retries with backoff honouring Retry-After, clear errors, batching, quota bucket."""
from __future__ import annotations

import random

import pytest

from plugin_host.config import MailboxSettings
from plugin_host.errors import GmailError
from plugin_host.gmail import GmailClient, HistoryExpired
from plugin_host.mailbox import FaultPlan, LocalMailbox
from plugin_host.quota import TokenBucket, units_for

from .conftest import deliver, make_email


def client_for(local, sleeps=None, **kwargs):
    settings = MailboxSettings(address="support@example.com", api_root=local.root)
    sleeps = sleeps if sleeps is not None else []
    return GmailClient(settings, http=local.http, sleep=sleeps.append, rng=random.Random(1), **kwargs)


def test_retries_5xx_with_exponential_backoff_and_jitter():
    local = LocalMailbox()
    local.app.faults.fail_next("gmail.users.getProfile", count=3, status=503)
    sleeps = []
    client = client_for(local, sleeps, base_delay=1.0)
    assert client.profile()["emailAddress"] == "support@example.com"
    assert len(sleeps) == 3
    for attempt, delay in enumerate(sleeps):
        assert 2 ** attempt / 2 <= delay <= 2 ** attempt
    assert client.stats["retries"]["gmail.users.getProfile"] == 3


def test_429_honours_retry_after():
    local = LocalMailbox()
    local.app.faults.fail_next("gmail.users.labels.list", count=1, status=429)
    sleeps = []
    client = client_for(local, sleeps, base_delay=0.01)
    client.list_labels()
    assert sleeps == [1.0]  # the mailbox answered Retry-After: 1


def test_a_retry_after_of_an_hour_is_left_to_the_next_run(monkeypatch):
    import plugin_host.gmail as gmail

    local = LocalMailbox()
    local.app.faults.fail_next("gmail.users.labels.list", count=1, status=429)
    monkeypatch.setattr(gmail, "retry_after_seconds", lambda exc: 3600.0)
    sleeps = []
    with pytest.raises(GmailError):
        client_for(local, sleeps, base_delay=0.01).list_labels()
    assert sleeps == []  # never holds the sync (and its lock) for an hour


def test_give_up_error_names_mailbox_and_call():
    local = LocalMailbox()
    local.app.faults.fail_next("gmail.users.threads.get", count=10, status=500)
    client = client_for(local, max_attempts=3)
    with pytest.raises(GmailError) as info:
        client.get_thread("abc")
    text = str(info.value)
    assert "support@example.com" in text and "gmail.users.threads.get abc" in text and "500" in text


def test_client_errors_are_not_retried():
    local = LocalMailbox()
    sleeps = []
    with pytest.raises(GmailError) as info:
        client_for(local, sleeps).get_message("7fffffffffffffff")
    assert sleeps == [] and "404" in str(info.value)
    with pytest.raises(GmailError) as info:
        client_for(local, sleeps).get_message("missing")
    assert sleeps == [] and "400" in str(info.value)  # Gmail's "Invalid id value"


def test_history_expired_is_its_own_error():
    local = LocalMailbox()
    client = client_for(local)
    deliver(local.gmail(), make_email())
    local.mailbox.expire_history()
    with pytest.raises(HistoryExpired):
        client.list_history("1000")


def test_batch_chunks_by_50_and_retries_only_failures():
    local = LocalMailbox(faults=FaultPlan(seed=3, error_rates={"gmail.users.messages.get": 0.2}, status=503))
    g = local.gmail()
    local.app.faults.error_rates = {}
    ids = [deliver(g, make_email(message_id=f"<b{i}@example.org>"))["id"] for i in range(120)]
    local.app.faults.error_rates = {"gmail.users.messages.get": 0.2}
    client = client_for(local)
    calls = [(client.users.messages().get(userId="me", id=i, format="minimal"), "gmail.users.messages.get")
             for i in ids]
    results = client.batch(calls)
    assert [r["id"] for r in results] == ids
    assert client.stats["calls"]["batch"] >= 3  # 120 calls → at least 3 batches of ≤50
    assert local.app.faults.injected > 0


def test_token_bucket_waits_for_units():
    now = [0.0]
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(100, capacity=100, clock=lambda: now[0], sleep=sleep)
    bucket.take(100)
    assert waits == []
    bucket.take(units_for("gmail.users.messages.send"))  # 100 more units at 100/s
    assert abs(sum(waits) - 1.0) < 1e-9


def test_quota_table_matches_reference():
    assert units_for("gmail.users.messages.get") == 20  # a Cloud project created from May 2026
    assert units_for("gmail.users.messages.get", "old") == 5
    assert units_for("gmail.users.messages.send") == 100
    assert units_for("gmail.users.history.list") == 2
    assert units_for("gmail.users.messages.batchModify") == 50
    assert units_for("gmail.users.watch") == 100


def test_credentials_for_each_kind_of_mailbox(tmp_path):
    import json as _json

    from plugin_host.auth import credentials_for
    from plugin_host.errors import ConfigError

    local = MailboxSettings(address="support@example.com", api_root="http://127.0.0.1:8025/")
    assert credentials_for(local) is None
    with pytest.raises(ConfigError, match="mailbox.credentials"):
        credentials_for(MailboxSettings(address="support@example.com", credentials=str(tmp_path / "missing.json")))
    with pytest.raises(ConfigError, match="mailbox.credentials"):
        credentials_for(MailboxSettings(address="support@example.com"))  # nothing configured for real Gmail
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    key = tmp_path / "sa.json"
    key.write_text(_json.dumps({"type": "service_account", "client_email": "labeldesk@p.iam.gserviceaccount.com",
                                "private_key": pem, "private_key_id": "k1", "token_uri": "https://oauth2.googleapis.com/token",
                                "project_id": "p", "client_id": "1"}))
    creds = credentials_for(MailboxSettings(address="support@example.com", credentials=str(key),
                                            delegated_user="support@example.com"))
    assert creds._subject == "support@example.com" and "gmail.modify" in " ".join(creds._scopes)
    token = tmp_path / "token.json"
    token.write_text(_json.dumps({"refresh_token": "r", "client_id": "c", "client_secret": "s", "type": "authorized_user"}))
    user = credentials_for(MailboxSettings(address="me@gmail.com", oauth_token=str(token)))
    assert user.refresh_token == "r"
    from plugin_host.scopes import DRIVE

    drive = credentials_for(MailboxSettings(address="support@example.com", credentials=str(key)), scopes=[DRIVE])
    assert drive._scopes == [DRIVE]  # Drive is asked for read-only, and only when a Drive source needs it


def test_drive_client_is_built_on_first_use_with_read_only_drive_credentials(tmp_path):
    from plugin_host.gmail import GmailClient

    asked = []
    client = GmailClient(MailboxSettings(address="support@example.com", api_root="https://example.test/"),
                         credentials=None, drive_credentials=lambda: asked.append("drive") or None)
    assert asked == [] and client._drive is None  # nothing for Drive until a Drive source reads
    assert client.drive.files is not None and asked == ["drive"]
    assert client.drive._baseUrl == "https://example.test/drive/v3/"


def test_each_thread_calls_gmail_on_its_own_connection():
    """httplib2 is not thread-safe; serve's feed, sweep and add-on requests share one client. Over real
    sockets every thread gets its own connection, reused for its later calls, batches included."""
    import threading

    from werkzeug.serving import make_server

    local = LocalMailbox()
    for number in range(3):
        deliver(local.gmail(), make_email(subject=f"Hello {number}", message_id=f"<t{number}@example.org>"))
    server = make_server("127.0.0.1", 0, local.app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = MailboxSettings(address="support@example.com", api_root=f"http://127.0.0.1:{server.server_port}/")
        client = GmailClient(settings, sleep=lambda s: None)
        used, failures = {}, []

        def work(name):
            try:
                for _ in range(15):
                    request = client.gmail.users().labels().list(userId="me")
                    used.setdefault(name, set()).add(id(request.http))
                    client.execute(request, "gmail.users.labels.list")
                    ids = [m["id"] for m in client.list_message_ids(q="")]
                    calls = [(client.gmail.users().messages().get(userId="me", id=i, format="minimal"),
                              "gmail.users.messages.get") for i in ids]
                    assert [m["id"] for m in client.batch(calls)] == ids  # a batch on this thread's connection
            except Exception as exc:  # noqa: BLE001 — reported below with the thread's name
                failures.append((name, exc))

        threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert failures == []
        assert all(len(connections) == 1 for connections in used.values())  # reused within a thread
        assert len(set().union(*used.values())) == 4  # never shared between threads
    finally:
        server.shutdown()


def test_a_name_lookup_that_fails_is_a_blip_and_marks_gmail_unreachable():
    """httplib2's ServerNotFoundError (DNS down a moment) is no OSError: it was neither retried nor taken as Gmail
    being unreachable, so a sync went on trying every thread, each failing the same way."""
    import httplib2

    local = LocalMailbox()
    original, failures = local.http.request, []

    def request(uri, method="GET", body=None, headers=None, **kw):
        if len(failures) < 2:
            failures.append(uri)
            raise httplib2.ServerNotFoundError("Unable to find the server at gmail.googleapis.com")
        return original(uri, method, body, headers, **kw)

    local.http.request = request
    sleeps = []
    client = client_for(local, sleeps, base_delay=0.01)
    assert client.execute(client.users.getProfile(userId="me"), "gmail.users.getProfile")["emailAddress"]
    assert len(sleeps) == 2
    failures.clear()
    local.http.request = lambda *a, **kw: (_ for _ in ()).throw(httplib2.ServerNotFoundError("no DNS"))
    with pytest.raises(GmailError) as caught:
        client.execute(client.users.getProfile(userId="me"), "gmail.users.getProfile")
    assert caught.value.unavailable and "ServerNotFoundError" in str(caught.value)


def test_gmail_resources_are_made_once_not_on_every_call(monkeypatch):
    """googleapiclient builds a resource's methods from the discovery document each time ``users()`` or
    ``threads()`` is asked for (a third of a 5,000-thread full sync's CPU): the client keeps them."""
    from googleapiclient import discovery

    local = LocalMailbox()
    first = deliver(local.gmail(), make_email(message_id="<made-once@example.org>"))
    client = client_for(local)
    client.get_thread(first["threadId"])
    client.get_message(first["id"])
    client.list_labels()
    made = []
    original = discovery.createMethod
    monkeypatch.setattr(discovery, "createMethod", lambda *a, **k: (made.append(a[0]), original(*a, **k))[1])
    for _ in range(3):
        assert client.get_thread(first["threadId"])["id"] == first["threadId"]
        assert client.get_message(first["id"])["id"] == first["id"]
        client.list_labels()
        client.modify_message(first["id"], ["STARRED"], [])
    assert made == []
    assert "STARRED" in local.mailbox.messages[first["id"]].label_ids
