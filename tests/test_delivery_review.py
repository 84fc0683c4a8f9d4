"""Nothing lost or sent twice: faults injected around batches, lost responses and the state folder."""
from __future__ import annotations

import httplib2

from plugin_host.errors import GmailError
from plugin_host.mailbox import LocalMailbox

from .conftest import deliver, lose_a_send_while_others_are_sent, make_email
from .test_gmail_client import client_for


def three_messages(local) -> list[str]:
    return [deliver(local.gmail(), make_email(message_id=f"<batch{i}@example.org>"))["id"] for i in range(3)]


def gets(client, ids) -> list:
    return [(client.users.messages().get(userId="me", id=i, format="minimal"), "gmail.users.messages.get")
            for i in ids]


# 1. A call inside a batch answered 429 with a Retry-After of an hour was slept through — the sync (and its
#    lock) held for an hour — where a single call leaves such a wait to the next run.
def test_a_retry_after_of_an_hour_inside_a_batch_is_left_to_the_next_run(monkeypatch):
    import plugin_host.gmail as gmail

    local = LocalMailbox()
    ids = three_messages(local)
    local.app.faults.fail_next("gmail.users.messages.get", count=1, status=429)
    monkeypatch.setattr(gmail, "retry_after_seconds", lambda exc: 3600.0)
    sleeps = []
    client = client_for(local, sleeps, base_delay=0.01)
    results = client.batch(gets(client, ids))
    assert sleeps == []
    assert isinstance(results[0], GmailError) and "429" in str(results[0])
    assert [r["id"] for r in results[1:]] == ids[1:]  # the rest of the batch is not lost


def failing_batches(local, count: int) -> list:
    """The next ``count`` HTTP batch requests themselves fail (503, then a timeout), none of their calls run."""
    original, failed = local.http.request, []

    def request(uri, method="GET", body=None, headers=None, **kw):
        if uri.endswith("/batch") and len(failed) < count:
            failed.append(uri)
            if len(failed) % 2:
                return httplib2.Response({"status": "503"}), b'{"error": {"code": 503, "message": "unavailable"}}'
            raise TimeoutError("timed out")
        return original(uri, method, body, headers, **kw)

    local.http.request = request
    return failed


# 2. The batch request itself failing (503 or a timeout: Gmail down a moment) escaped as googleapiclient's own
#    HttpError or TimeoutError: not retried, and not the readable GmailError the add-on's queue and reports show.
def test_a_whole_batch_that_fails_is_retried_and_then_named_readably():
    local = LocalMailbox()
    ids = three_messages(local)
    sleeps = []
    client = client_for(local, sleeps, base_delay=0.01)
    failing_batches(local, 2)
    assert [r["id"] for r in client.batch(gets(client, ids))] == ids and len(sleeps) == 2
    failing_batches(local, 100)
    results = client.batch(gets(client, ids))
    assert all(isinstance(r, GmailError) and "gmail.users.messages.get (in batch) failed" in str(r) for r in results)


# 3. A breach email to the team lead whose send response was lost was looked for only through search (it is sent
#    in no thread), whose index may not show a message sent a second ago: the retry sent the lead a second one.
def test_a_lost_notification_send_is_found_in_sent_while_search_lags(tmp_path):
    from plugin_host.sync import ChangeFeed

    from .conftest import lose_first_response, search_lags
    from .test_sla import monday, setup

    local, host, clock = setup(tmp_path, monday(9))
    ref = deliver(local.gmail(), make_email(message_id="<lagging@example.org>", subject="Question"))
    local.mailbox.messages[ref["id"]].internal_date = int(monday(9).timestamp() * 1000)
    ChangeFeed(host).sync()
    clock["now"] = monday(14)  # the 4h target was due at 13:00: breached, the lead is mailed
    search_lags(local)
    lost = lose_first_response(local, lambda uri, method: "/messages/send" in uri)
    host.sweep()
    assert lost
    assert len([m for m in local.mailbox.messages.values() if b"To: lead@example.com" in m.raw]) == 1


def test_a_lost_send_is_found_in_sent_though_a_few_others_were_sent_after_it():
    """The newest few in Sent are read, not only the newest: the feed's acknowledgements go out the same second."""
    local = LocalMailbox()
    client = client_for(local)
    raw = make_email(message_id="<alert@example.org>", sender="support@example.com", to="lead@example.com")
    lost = lose_a_send_while_others_are_sent(local, 3)
    client.send(raw)
    assert lost
    assert len([m for m in local.mailbox.messages.values() if b"<alert@example.org>" in m.raw]) == 1


# 4. A chat alert posted while the state folder could not take its key (a full disk) was given back as "did not
#    go out" (an OSError, the key released), so every sweep posted the breach again; now the process keeps the key
#    and the log says the alert went out and which file to make room for.
def test_a_chat_alert_whose_key_cannot_be_saved_is_posted_once_and_the_file_named(tmp_path, monkeypatch, caplog):
    from plugin_host import executor, files
    from plugin_host.sync import ChangeFeed

    from .test_sla import monday, setup

    posted = []
    monkeypatch.setattr(executor, "post_webhook", lambda url, payload: posted.append(url))
    write = files.write_private_json

    def disk_full_for_the_log(path, data, durable=True):
        if str(path).endswith("webhook-posted.json"):
            raise OSError(28, "No space left on device")
        return write(path, data, durable)

    monkeypatch.setattr(files, "write_private_json", disk_full_for_the_log)
    local, host, clock = setup(tmp_path, monday(9), sla={"chat_webhook": "https://chat.example.com/hooks/x"})
    ref = deliver(local.gmail(), make_email(message_id="<diskfull@example.org>", subject="Question"))
    local.mailbox.messages[ref["id"]].internal_date = int(monday(9).timestamp() * 1000)
    ChangeFeed(host).sync()
    clock["now"] = monday(14)  # breached: the alert goes to the chat webhook
    with caplog.at_level("ERROR"):
        host.sweep()
        host.sweep()
    assert len(posted) == 1
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "webhook-posted.json" in said and "No space left on device" in said and "did not go out" not in said


# 5. When the connection closed after Gmail had taken a request but before its answer came (RemoteDisconnected),
#    httplib2 sent the request again by itself, as it does for a stale keep-alive connection: a messages.send Gmail
#    had stored went out twice, before GmailClient's own retry (which first looks for the message) could decide.
def test_a_connection_closed_before_the_answer_is_not_resent_by_the_transport(monkeypatch):
    import http.client

    import pytest

    from plugin_host.config import MailboxSettings
    from plugin_host.gmail import GmailClient

    sent = []

    class Socket:
        def close(self):
            pass

    def connect(self):
        self.sock = Socket()

    closed = [http.client.RemoteDisconnected("Remote end closed connection without response")]

    def gone(self):
        raise closed[0]

    monkeypatch.setattr(httplib2.HTTPSConnectionWithTimeout, "connect", connect)
    monkeypatch.setattr(http.client.HTTPConnection, "request", lambda self, *args, **kw: sent.append(args[:2]))
    monkeypatch.setattr(http.client.HTTPConnection, "getresponse", gone)
    transport = GmailClient(MailboxSettings(address="support@example.com")).connection()
    with pytest.raises(ConnectionError):
        transport.request("https://gmail.googleapis.com/gmail/v1/users/me/messages/send", "POST", body="{}")
    assert sent == [("POST", "/gmail/v1/users/me/messages/send")]  # once: GmailClient.execute decides about a retry
    for other in (http.client.BadStatusLine("garbled"), http.client.ResponseNotReady("Idle")):  # httplib2 resent these too
        closed[0], sent[:] = other, []
        with pytest.raises(ConnectionError):
            transport.request("https://gmail.googleapis.com/gmail/v1/users/me/messages/send", "POST", body="{}")
        assert sent == [("POST", "/gmail/v1/users/me/messages/send")], other
