"""The local mailbox, driven only through googleapiclient, answers like Gmail does."""
from __future__ import annotations

import base64
import json
import threading
import time

import pytest
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from plugin_host.mailbox import FaultPlan, LocalMailbox

from .conftest import ROOT, b64, deliver, make_email


def status_of(call) -> int:
    with pytest.raises(HttpError) as info:
        call.execute()
    return info.value.resp.status


def error_body(call) -> dict:
    with pytest.raises(HttpError) as info:
        call.execute()
    return json.loads(info.value.content)


# -- profile and labels ------------------------------------------------------------------------

def test_profile_counts_and_history_id(gmail):
    before = gmail.users().getProfile(userId="me").execute()
    deliver(gmail, make_email())
    after = gmail.users().getProfile(userId="me").execute()
    assert after["emailAddress"] == "support@example.com"
    assert after["messagesTotal"] == before["messagesTotal"] + 1
    assert int(after["historyId"]) > int(before["historyId"])


def test_system_labels_and_user_label_lifecycle(gmail):
    names = {l["name"] for l in gmail.users().labels().list(userId="me").execute()["labels"]}
    assert {"INBOX", "SENT", "UNREAD", "STARRED", "IMPORTANT", "TRASH", "SPAM", "DRAFT"} <= names
    color = {"backgroundColor": "#cc3a21", "textColor": "#ffffff"}
    parent = gmail.users().labels().create(userId="me", body={"name": "Helpdesk"}).execute()
    child = gmail.users().labels().create(userId="me", body={"name": "Helpdesk/SLA/Breached", "color": color}).execute()
    assert child["color"] == color and child["type"] == "user"
    assert status_of(gmail.users().labels().create(userId="me", body={"name": "helpdesk/sla/breached"})) == 409
    patched = gmail.users().labels().patch(userId="me", id=child["id"], body={"name": "Helpdesk/SLA/Late"}).execute()
    assert patched["name"] == "Helpdesk/SLA/Late"
    got = gmail.users().labels().get(userId="me", id=parent["id"]).execute()
    assert got["messagesTotal"] == 0
    gmail.users().labels().delete(userId="me", id=child["id"]).execute()
    assert status_of(gmail.users().labels().get(userId="me", id=child["id"])) == 404
    assert status_of(gmail.users().labels().delete(userId="me", id="INBOX")) == 400
    bad = {"name": "Odd", "color": {"backgroundColor": "#123456", "textColor": "#ffffff"}}
    assert status_of(gmail.users().labels().create(userId="me", body=bad)) == 400


# -- messages ----------------------------------------------------------------------------------

def test_get_formats(local, gmail):
    ref = deliver(gmail, make_email(subject="Formats", body="Body text here"))
    minimal = gmail.users().messages().get(userId="me", id=ref["id"], format="minimal").execute()
    assert "payload" not in minimal and minimal["labelIds"] == ["INBOX", "UNREAD"]
    meta = gmail.users().messages().get(userId="me", id=ref["id"], format="metadata",
                                        metadataHeaders=["Subject", "From"]).execute()
    assert {h["name"] for h in meta["payload"]["headers"]} == {"Subject", "From"}
    full = gmail.users().messages().get(userId="me", id=ref["id"]).execute()
    data = base64.urlsafe_b64decode(full["payload"]["body"]["data"])
    assert b"Body text here" in data
    raw = gmail.users().messages().get(userId="me", id=ref["id"], format="raw").execute()
    assert b"Body text here" in base64.urlsafe_b64decode(raw["raw"]) and "payload" not in raw
    # googleapiclient refuses a bad enum itself, so ask over plain HTTP.
    resp, _ = local.http.request(f"{local.root}gmail/v1/users/me/messages/{ref['id']}?format=weird")
    assert resp.status == 400


def test_raw_round_trip_is_exact(gmail):
    raw = make_email(subject="Zażółć gęślą jaźń", body="Привет, у меня не работает оплата")
    ref = deliver(gmail, raw)
    got = gmail.users().messages().get(userId="me", id=ref["id"], format="raw").execute()
    assert base64.urlsafe_b64decode(got["raw"]) == raw


def test_list_paging_labels_and_spam_trash(gmail):
    ids = [deliver(gmail, make_email(subject=f"Question {i}", message_id=f"<q{i}@example.org>"))["id"]
           for i in range(7)]
    first = gmail.users().messages().list(userId="me", maxResults=3).execute()
    assert len(first["messages"]) == 3 and "nextPageToken" in first
    seen = [m["id"] for m in first["messages"]]
    token = first["nextPageToken"]
    while token:
        page = gmail.users().messages().list(userId="me", maxResults=3, pageToken=token).execute()
        seen += [m["id"] for m in page["messages"]]
        token = page.get("nextPageToken")
    assert seen == list(reversed(ids))  # newest first
    gmail.users().messages().trash(userId="me", id=ids[0]).execute()
    listed = {m["id"] for m in gmail.users().messages().list(userId="me").execute()["messages"]}
    assert ids[0] not in listed
    with_trash = gmail.users().messages().list(userId="me", includeSpamTrash=True).execute()
    assert ids[0] in {m["id"] for m in with_trash["messages"]}
    gmail.users().messages().untrash(userId="me", id=ids[0]).execute()
    by_label = gmail.users().messages().list(userId="me", labelIds=["UNREAD"]).execute()
    assert by_label["resultSizeEstimate"] == 7
    empty = gmail.users().messages().list(userId="me", labelIds=["STARRED"]).execute()
    assert "messages" not in empty and empty["resultSizeEstimate"] == 0


def test_modify_batch_modify_and_limits(gmail):
    ids = [deliver(gmail, make_email(message_id=f"<m{i}@example.org>"))["id"] for i in range(3)]
    changed = gmail.users().messages().modify(userId="me", id=ids[0],
                                              body={"addLabelIds": ["STARRED"], "removeLabelIds": ["UNREAD"]}).execute()
    assert changed["labelIds"] == ["INBOX", "STARRED"]
    gmail.users().messages().batchModify(userId="me", body={"ids": ids, "removeLabelIds": ["INBOX"]}).execute()
    for message_id in ids:
        got = gmail.users().messages().get(userId="me", id=message_id, format="minimal").execute()
        assert "INBOX" not in got.get("labelIds", [])
    too_many = {"ids": [ids[0]] * 1001, "addLabelIds": ["STARRED"]}
    assert status_of(gmail.users().messages().batchModify(userId="me", body=too_many)) == 400
    assert status_of(gmail.users().messages().modify(userId="me", id=ids[0], body={"addLabelIds": ["Nope"]})) == 400
    assert status_of(gmail.users().messages().modify(userId="me", id=ids[0], body={"addLabelIds": ["SENT"]})) == 400


def test_delete_and_not_found(gmail):
    ref = deliver(gmail, make_email())
    gmail.users().messages().delete(userId="me", id=ref["id"]).execute()
    assert status_of(gmail.users().messages().get(userId="me", id=ref["id"])) == 404
    body = error_body(gmail.users().messages().get(userId="me", id="0000"))
    assert body["error"]["code"] == 404 and body["error"]["status"] == "NOT_FOUND"
    assert body["error"]["errors"][0]["reason"] == "notFound"


def test_import_uses_date_header(gmail):
    from datetime import datetime, timezone

    when = datetime(2026, 3, 2, 10, 30, tzinfo=timezone.utc)
    raw = make_email(date=when)
    ref = gmail.users().messages().import_(userId="me", internalDateSource="dateHeader",
                                           body={"raw": b64(raw), "labelIds": ["INBOX"]}).execute()
    got = gmail.users().messages().get(userId="me", id=ref["id"], format="minimal").execute()
    assert got["internalDate"] == str(int(when.timestamp() * 1000))


def test_attachments_get_ids_for_attachment_parts(gmail):
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.org", "support@example.com", "Invoice"
    msg.set_content("See attached.")
    msg.add_attachment(b"%PDF-1.4 fake" * 100, maintype="application", subtype="pdf", filename="invoice.pdf")
    ref = deliver(gmail, msg.as_bytes())
    full = gmail.users().messages().get(userId="me", id=ref["id"]).execute()
    part = next(p for p in full["payload"]["parts"] if p["filename"] == "invoice.pdf")
    assert "attachmentId" in part["body"] and "data" not in part["body"]
    data = gmail.users().messages().attachments().get(userId="me", messageId=ref["id"],
                                                      id=part["body"]["attachmentId"]).execute()
    assert base64.urlsafe_b64decode(data["data"]) == b"%PDF-1.4 fake" * 100


# -- threading and send ------------------------------------------------------------------------

def test_send_threads_like_gmail(gmail):
    first = deliver(gmail, make_email(subject="Refund please", message_id="<r1@example.org>"))
    reply = make_email(sender="support@example.com", to="jane@example.org", subject="Re: Refund please",
                       message_id="<s1@example.com>", in_reply_to="<r1@example.org>")
    sent = gmail.users().messages().send(userId="me", body={"raw": b64(reply), "threadId": first["threadId"]}).execute()
    assert sent["threadId"] == first["threadId"] and sent["labelIds"] == ["SENT"]
    # Subject mismatch starts a new thread even with threadId, like Gmail.
    other = make_email(sender="support@example.com", to="jane@example.org", subject="Something else",
                       message_id="<s2@example.com>", in_reply_to="<r1@example.org>")
    sent2 = gmail.users().messages().send(userId="me", body={"raw": b64(other), "threadId": first["threadId"]}).execute()
    assert sent2["threadId"] != first["threadId"]
    # Incoming follow-up is threaded by References + subject without a threadId.
    follow = deliver(gmail, make_email(subject="RE: Refund please", message_id="<r2@example.org>",
                                       in_reply_to="<s1@example.com>"))
    assert follow["threadId"] == first["threadId"]
    thread = gmail.users().threads().get(userId="me", id=first["threadId"]).execute()
    assert [m["id"] for m in thread["messages"]] == [first["id"], sent["id"], follow["id"]]
    assert status_of(gmail.users().messages().send(userId="me", body={"raw": ""})) == 400


def test_send_adds_message_id_and_drops_bcc(gmail):
    raw = b"From: support@example.com\r\nTo: x@example.org\r\nBcc: secret@example.org\r\nSubject: Hi\r\n\r\nHello\r\n"
    sent = gmail.users().messages().send(userId="me", body={"raw": b64(raw)}).execute()
    got = gmail.users().messages().get(userId="me", id=sent["id"], format="metadata").execute()
    names = {h["name"].lower() for h in got["payload"]["headers"]}
    assert "message-id" in names and "date" in names and "bcc" not in names


def test_threads_list_modify_trash(gmail):
    a = deliver(gmail, make_email(subject="Thread A", message_id="<ta@example.org>"))
    deliver(gmail, make_email(subject="Re: Thread A", message_id="<ta2@example.org>", in_reply_to="<ta@example.org>"))
    deliver(gmail, make_email(subject="Thread B", message_id="<tb@example.org>"))
    listed = gmail.users().threads().list(userId="me").execute()
    assert listed["resultSizeEstimate"] == 2 and all("snippet" in t for t in listed["threads"])
    label = gmail.users().labels().create(userId="me", body={"name": "Helpdesk/Awaiting reply"}).execute()
    modified = gmail.users().threads().modify(userId="me", id=a["threadId"], body={"addLabelIds": [label["id"]]}).execute()
    assert all(label["id"] in m["labelIds"] for m in modified["messages"])
    gmail.users().threads().trash(userId="me", id=a["threadId"]).execute()
    assert gmail.users().threads().list(userId="me").execute()["resultSizeEstimate"] == 1


# -- drafts --------------------------------------------------------------------------------------

def test_drafts_lifecycle(gmail):
    first = deliver(gmail, make_email(subject="Draft me", message_id="<d1@example.org>"))
    raw = make_email(sender="support@example.com", to="jane@example.org", subject="Re: Draft me",
                     message_id="<dr@example.com>", in_reply_to="<d1@example.org>")
    draft = gmail.users().drafts().create(userId="me", body={"message": {"raw": b64(raw), "threadId": first["threadId"]}}).execute()
    assert draft["message"]["threadId"] == first["threadId"] and draft["message"]["labelIds"] == ["DRAFT"]
    got = gmail.users().drafts().get(userId="me", id=draft["id"]).execute()
    assert got["message"]["payload"]["mimeType"].startswith("text/")
    assert len(gmail.users().drafts().list(userId="me").execute()["drafts"]) == 1
    raw2 = make_email(sender="support@example.com", to="jane@example.org", subject="Re: Draft me",
                      body="Updated answer", message_id="<dr2@example.com>", in_reply_to="<d1@example.org>")
    gmail.users().drafts().update(userId="me", id=draft["id"],
                                  body={"message": {"raw": b64(raw2), "threadId": first["threadId"]}}).execute()
    sent = gmail.users().drafts().send(userId="me", body={"id": draft["id"]}).execute()
    assert sent["labelIds"] == ["SENT"] and sent["threadId"] == first["threadId"]
    assert "drafts" not in gmail.users().drafts().list(userId="me").execute()
    other = gmail.users().drafts().create(userId="me", body={"message": {"raw": b64(raw)}}).execute()
    gmail.users().drafts().delete(userId="me", id=other["id"]).execute()
    assert status_of(gmail.users().drafts().get(userId="me", id=other["id"])) == 404


# -- history -------------------------------------------------------------------------------------

def test_history_types_paging_label_filter_and_expiry(local, gmail):
    start = gmail.users().getProfile(userId="me").execute()["historyId"]
    ref = deliver(gmail, make_email())
    gmail.users().messages().modify(userId="me", id=ref["id"], body={"addLabelIds": ["STARRED"]}).execute()
    gmail.users().messages().modify(userId="me", id=ref["id"], body={"removeLabelIds": ["UNREAD"]}).execute()
    everything = gmail.users().history().list(userId="me", startHistoryId=start).execute()
    kinds = [next(k for k in r if k not in ("id", "messages")) for r in everything["history"]]
    assert kinds == ["messagesAdded", "labelsAdded", "labelsRemoved"]
    ids = [int(r["id"]) for r in everything["history"]]
    assert ids == sorted(ids) and ids[0] > int(start)
    added = gmail.users().history().list(userId="me", startHistoryId=start, historyTypes=["messageAdded"]).execute()
    assert len(added["history"]) == 1 and added["history"][0]["messagesAdded"][0]["message"]["id"] == ref["id"]
    paged = gmail.users().history().list(userId="me", startHistoryId=start, maxResults=2).execute()
    assert len(paged["history"]) == 2 and paged["nextPageToken"]
    starred = gmail.users().history().list(userId="me", startHistoryId=start, labelId="STARRED").execute()
    assert len(starred["history"]) >= 1
    gmail.users().messages().delete(userId="me", id=ref["id"]).execute()
    deleted = gmail.users().history().list(userId="me", startHistoryId=start, historyTypes=["messageDeleted"]).execute()
    assert deleted["history"][0]["messagesDeleted"][0]["message"]["id"] == ref["id"]
    local.mailbox.expire_history()
    assert status_of(gmail.users().history().list(userId="me", startHistoryId=start)) == 404
    assert status_of(gmail.users().history().list(userId="me")) == 400


def test_history_retention_window(gmail):
    from plugin_host.mailbox import LocalMailbox

    small = LocalMailbox(history_retention=3)
    g = small.gmail()
    start = g.users().getProfile(userId="me").execute()["historyId"]
    for i in range(5):
        deliver(g, make_email(message_id=f"<h{i}@example.org>"))
    assert status_of(g.users().history().list(userId="me", startHistoryId=start)) == 404
    recent = g.users().getProfile(userId="me").execute()["historyId"]
    assert "history" not in g.users().history().list(userId="me", startHistoryId=recent).execute()


# -- watch, push, sendAs ---------------------------------------------------------------------------

def test_watch_push_and_stop(local, gmail):
    pushes = []
    local.app.push_callback = pushes.append
    bad = gmail.users().watch(userId="me", body={"topicName": "not-a-topic"})
    assert status_of(bad) == 400
    watched = gmail.users().watch(userId="me", body={"topicName": "projects/p/topics/gmail", "labelIds": ["INBOX"]}).execute()
    assert int(watched["expiration"]) > time.time() * 1000
    deliver(gmail, make_email())
    assert len(pushes) == 1
    data = json.loads(base64.urlsafe_b64decode(pushes[0]["message"]["data"]))
    assert data == {"emailAddress": "support@example.com", "historyId": int(watched["historyId"]) + 1}
    gmail.users().stop(userId="me").execute()
    deliver(gmail, make_email(message_id="<after-stop@example.org>"))
    assert len(pushes) == 1


def test_dropped_push_notifications_are_seeded():
    pushes = []
    local = LocalMailbox(faults=FaultPlan(seed=7, drop_push_rate=0.5))
    local.app.push_callback = pushes.append
    g = local.gmail()
    g.users().watch(userId="me", body={"topicName": "projects/p/topics/t"}).execute()
    for i in range(20):
        deliver(g, make_email(message_id=f"<p{i}@example.org>"))
    assert 0 < len(pushes) < 20 and local.app.pushes_dropped == 20 - len(pushes)


def test_send_as_signature(gmail):
    listed = gmail.users().settings().sendAs().list(userId="me").execute()["sendAs"]
    assert listed[0]["sendAsEmail"] == "support@example.com" and listed[0]["isPrimary"] is True
    patched = gmail.users().settings().sendAs().patch(userId="me", sendAsEmail="support@example.com",
                                                      body={"signature": "Anna Kowalska<br>Support"}).execute()
    assert patched["signature"] == "Anna Kowalska<br>Support"
    got = gmail.users().settings().sendAs().get(userId="me", sendAsEmail="support@example.com").execute()
    assert got["signature"] == "Anna Kowalska<br>Support"
    assert status_of(gmail.users().settings().sendAs().get(userId="me", sendAsEmail="x@example.com")) == 404


# -- batch -----------------------------------------------------------------------------------------

def test_googleapiclients_own_batch_goes_to_google_as_the_docs_warn(local, gmail):
    """``new_batch_http_request()`` takes the discovery document's rootUrl, not ``api_endpoint``: a tester's
    batch went to gmail.googleapis.com. docs/local-mailbox.md says so and gives the batch URI that works."""
    from plugin_host.mailbox import IN_PROCESS_ROOT

    assert gmail.new_batch_http_request()._batch_uri.startswith("https://gmail.googleapis.com/batch")
    doc = (ROOT / "docs" / "local-mailbox.md").read_text(encoding="utf-8")
    assert "new_batch_http_request()" in doc and 'BatchHttpRequest(batch_uri=ROOT + "batch/gmail/v1")' in doc
    results = []
    batch = BatchHttpRequest(batch_uri=IN_PROCESS_ROOT + "batch/gmail/v1", callback=lambda *r: results.append(r[1]))
    batch.add(gmail.users().getProfile(userId="me"))
    batch.execute(http=local.http)
    assert results[0]["emailAddress"] == "support@example.com"


def test_batch_endpoint_per_call_status_and_limit(local, gmail):
    ref = deliver(gmail, make_email())
    results = {}
    batch = BatchHttpRequest(batch_uri=local.root + "batch",
                             callback=lambda rid, resp, exc: results.__setitem__(rid, (resp, exc)))
    batch.add(gmail.users().messages().get(userId="me", id=ref["id"], format="minimal"), request_id="ok")
    batch.add(gmail.users().messages().get(userId="me", id="7fffffffffffffff"), request_id="missing")
    batch.add(gmail.users().messages().modify(userId="me", id=ref["id"], body={"addLabelIds": ["STARRED"]}),
              request_id="modify")
    local.app.reset_counters()
    batch.execute(http=local.http)
    assert results["ok"][0]["id"] == ref["id"]
    assert results["missing"][1].resp.status == 404
    assert "STARRED" in results["modify"][0]["labelIds"]
    assert local.app.calls["gmail.users.messages.get"] == 2  # each inner call is accounted
    # More than 100 calls in one batch are refused as a whole.
    parts = "".join(f"--b\r\nContent-Type: application/http\r\nContent-ID: <{i}>\r\n\r\n"
                    f"GET /gmail/v1/users/me/profile HTTP/1.1\r\n\r\n" for i in range(101)) + "--b--"
    resp, content = local.http.request(local.root + "batch", "POST", body=parts,
                                       headers={"content-type": "multipart/mixed; boundary=b"})
    assert resp.status == 400


# -- quota, rate limit, faults --------------------------------------------------------------------

def test_quota_units_are_counted_per_method(local, gmail):
    from plugin_host.quota import units_for

    ref = deliver(gmail, make_email())
    local.app.reset_counters()
    gmail.users().messages().get(userId="me", id=ref["id"]).execute()
    gmail.users().threads().get(userId="me", id=ref["threadId"]).execute()
    assert local.app.units["gmail.users.messages.get"] == units_for("gmail.users.messages.get")
    assert local.app.total_units == units_for("gmail.users.messages.get") + units_for("gmail.users.threads.get")


def test_rate_limit_answers_429_like_gmail():
    clock = [0.0]
    local = LocalMailbox(rate_limit_units_per_s=250)
    local.app.clock = lambda: clock[0]
    g = local.gmail()
    statuses = []
    for _ in range(60):  # 60 x 5 units > 250 units/s
        try:
            g.users().messages().list(userId="me").execute(num_retries=0)
            statuses.append(200)
        except HttpError as exc:
            statuses.append(exc.resp.status)
            body = json.loads(exc.content)
            assert body["error"]["errors"][0]["reason"] == "rateLimitExceeded"
    assert 429 in statuses and statuses.index(429) > 0
    clock[0] += 1.5
    assert g.users().getProfile(userId="me").execute()["emailAddress"]


def test_fault_injection_is_seeded_and_deterministic():
    def run():
        local = LocalMailbox(faults=FaultPlan(seed=42, error_rates={"gmail.users.getProfile": 0.3}, status=503))
        g = local.gmail()
        out = []
        for _ in range(30):
            try:
                g.users().getProfile(userId="me").execute()
                out.append(200)
            except HttpError as exc:
                out.append(exc.resp.status)
        return out

    first, second = run(), run()
    assert first == second and 503 in first and 200 in first


def test_fail_next_and_latency():
    local = LocalMailbox(faults=FaultPlan(latency_ms=5))
    local.app.faults.fail_next("gmail.users.messages.send", 1, status=500)
    g = local.gmail()
    raw = b64(make_email(sender="support@example.com", to="x@example.org"))
    assert status_of(g.users().messages().send(userId="me", body={"raw": raw})) == 500
    began = time.perf_counter()
    assert g.users().messages().send(userId="me", body={"raw": raw}).execute()["labelIds"] == ["SENT"]
    assert time.perf_counter() - began >= 0.004


# -- persistence and real sockets -------------------------------------------------------------------

def test_state_persists_across_restart(tmp_path):
    first = LocalMailbox(data_dir=tmp_path)
    g = first.gmail()
    ref = deliver(g, make_email(subject="Persist me"))
    label = g.users().labels().create(userId="me", body={"name": "Helpdesk/Kept"}).execute()
    g.users().messages().modify(userId="me", id=ref["id"], body={"addLabelIds": [label["id"]]}).execute()
    g.users().settings().sendAs().patch(userId="me", sendAsEmail="support@example.com", body={"signature": "S"}).execute()
    history = g.users().getProfile(userId="me").execute()["historyId"]
    second = LocalMailbox(data_dir=tmp_path)
    g2 = second.gmail()
    got = g2.users().messages().get(userId="me", id=ref["id"]).execute()
    assert label["id"] in got["labelIds"]
    assert g2.users().getProfile(userId="me").execute()["historyId"] == history
    new = deliver(g2, make_email(subject="After restart", message_id="<after@example.org>"))
    assert new["id"] != ref["id"]
    assert g2.users().settings().sendAs().get(userId="me", sendAsEmail="support@example.com").execute()["signature"] == "S"


def test_over_a_real_socket():
    from werkzeug.serving import make_server

    local = LocalMailbox()
    server = make_server("127.0.0.1", 0, local.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        root = f"http://127.0.0.1:{server.server_port}/"
        g = build("gmail", "v1", static_discovery=True, client_options={"api_endpoint": root},
                  credentials=None, developerKey="local")
        ref = deliver(g, make_email())
        assert g.users().messages().get(userId="me", id=ref["id"], format="minimal").execute()["id"] == ref["id"]
        results = []
        batch = BatchHttpRequest(batch_uri=root + "batch", callback=lambda *a: results.append(a))
        batch.add(g.users().getProfile(userId="me"))
        batch.execute(http=g._http)
        assert results[0][1]["emailAddress"] == "support@example.com"
    finally:
        server.shutdown()


# -- tasks ----------------------------------------------------------------------------------------

def test_tasks_api(local):
    tasks = local.tasks()
    lists = tasks.tasklists().list().execute()
    assert lists["items"][0]["title"] == "My Tasks"
    team = tasks.tasklists().insert(body={"title": "Escalations"}).execute()
    assert tasks.tasklists().get(tasklist=team["id"]).execute()["title"] == "Escalations"
    task = tasks.tasks().insert(tasklist=team["id"], body={"title": "Fix checkout", "notes": "thread link",
                                                            "due": "2026-11-25T15:30:00Z"}).execute()
    assert task["status"] == "needsAction" and task["due"] == "2026-11-25T00:00:00.000Z"
    done = tasks.tasks().patch(tasklist=team["id"], task=task["id"], body={"status": "completed"}).execute()
    assert done["status"] == "completed" and done["completed"]
    assert tasks.tasks().get(tasklist=team["id"], task=task["id"]).execute()["notes"] == "thread link"
    assert len(tasks.tasks().list(tasklist=team["id"]).execute()["items"]) == 1
    bad = tasks.tasks().patch(tasklist=team["id"], task=task["id"], body={"status": "done"})
    assert status_of(bad) == 400
    tasks.tasks().delete(tasklist=team["id"], task=task["id"]).execute()
    assert status_of(tasks.tasks().get(tasklist=team["id"], task=task["id"])) == 404
    tasks.tasklists().delete(tasklist=team["id"]).execute()
    assert status_of(tasks.tasklists().get(tasklist=team["id"])) == 404


def test_a_deleted_task_is_listed_only_when_deleted_tasks_are_asked_for(local):
    """Google's tasks.delete marks the task ``deleted``: tasks.list shows it only with ``showDeleted=true`` (the
    discovery document's flag), so whoever lists deleted tasks still reads its title and notes. The local mailbox
    dropped it outright, so nothing could show what a deleted task still holds."""
    tasks = local.tasks()
    team = tasks.tasklists().insert(body={"title": "Escalations"}).execute()
    kept = tasks.tasks().insert(tasklist=team["id"], body={"title": "Kept"}).execute()
    gone = tasks.tasks().insert(tasklist=team["id"], body={"title": "Gone", "notes": "Customer: x@example.org"}).execute()
    tasks.tasks().delete(tasklist=team["id"], task=gone["id"]).execute()
    listed = tasks.tasks().list(tasklist=team["id"], showHidden=True).execute()["items"]
    assert [t["id"] for t in listed] == [kept["id"]]
    with_deleted = tasks.tasks().list(tasklist=team["id"], showDeleted=True).execute()["items"]
    assert [(t["title"], t.get("deleted", False)) for t in with_deleted] == [("Kept", False), ("Gone", True)]
    assert with_deleted[1]["notes"] == "Customer: x@example.org"


def test_fields_partial_response(gmail):
    deliver(gmail, make_email())
    body = gmail.users().messages().list(userId="me", fields="messages(id),resultSizeEstimate").execute()
    assert set(body) == {"messages", "resultSizeEstimate"} and set(body["messages"][0]) == {"id"}


# -- search operators through the API ------------------------------------------------------------

def test_search_operators_through_googleapiclient(gmail):
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc)
    old = gmail.users().messages().import_(
        userId="me", internalDateSource="dateHeader",
        body={"raw": b64(make_email(sender="Олег <oleg@example.ru>", subject="Не работает оплата",
                                    body="Срочно: не работает оплата картой", message_id="<ru@example.ru>",
                                    date=now - timedelta(days=10))), "labelIds": ["INBOX"]}).execute()
    pl = deliver(gmail, make_email(sender="Łukasz <lukasz@example.pl>", to="help@example.com",
                                   subject="Pilne: zamówienie", body="Zażółć gęślą jaźń", message_id="<pl@example.pl>"))
    en = deliver(gmail, make_email(subject="Refund for order 77", body="Please refund my order",
                                   message_id="<en@example.org>"))
    label = gmail.users().labels().create(userId="me", body={"name": "Helpdesk/SLA/At risk"}).execute()
    gmail.users().messages().modify(userId="me", id=en["id"], body={"addLabelIds": [label["id"], "STARRED"],
                                                                   "removeLabelIds": ["UNREAD"]}).execute()

    def ids(q):
        body = gmail.users().messages().list(userId="me", q=q).execute()
        return {m["id"] for m in body.get("messages", [])}

    assert ids("label:helpdesk-sla-at-risk") == {en["id"]}
    assert ids('label:"Helpdesk/SLA/At risk"') == {en["id"]}
    assert ids("-label:helpdesk-sla-at-risk") == {old["id"], pl["id"]}
    assert ids("in:inbox is:starred") == {en["id"]}
    assert ids("is:unread") == {pl["id"]}
    assert ids("from:oleg@example.ru") == {old["id"]}
    assert ids("to:help@example.com") == {pl["id"]}
    assert ids("subject:refund") == {en["id"]}
    assert ids("rfc822msgid:<pl@example.pl>") == {pl["id"]}
    assert ids("оплата") == {old["id"]}
    assert ids("gęślą") == {pl["id"]}
    assert ids('"refund my order"') == {en["id"]}
    assert ids("refund OR pilne") == {en["id"], pl["id"]}
    assert ids(f"after:{int((now - timedelta(days=2)).timestamp())}") == {pl["id"], en["id"]}
    assert ids(f"before:{int((now - timedelta(days=2)).timestamp())}") == {old["id"]}
    assert ids("older_than:5d") == {old["id"]} and ids("newer_than:5d") == {pl["id"], en["id"]}
    threads = gmail.users().threads().list(userId="me", q="from:lukasz@example.pl").execute()
    assert [t["id"] for t in threads["threads"]] == [pl["threadId"]]
    resp = gmail.users().messages().list(userId="me", q='subject:"unclosed')
    assert status_of(resp) == 400


def test_media_uploads_send_insert_and_import(local, gmail):
    import io

    from googleapiclient.http import MediaIoBaseUpload

    raw = make_email(sender="support@example.com", to="x@example.org", subject="Uploaded")
    sent = gmail.users().messages().send(userId="me", body={},
                                         media_body=MediaIoBaseUpload(io.BytesIO(raw), mimetype="message/rfc822")).execute()
    assert local.mailbox.messages[sent["id"]].parse().subject == "Uploaded"
    incoming = make_email(subject="Inserted by upload", body="Hello from an upload")
    ref = gmail.users().messages().insert(userId="me", body={"labelIds": ["INBOX", "UNREAD"]},
                                          media_body=MediaIoBaseUpload(io.BytesIO(incoming), mimetype="message/rfc822")).execute()
    assert ref["labelIds"] == ["INBOX", "UNREAD"] and local.mailbox.messages[ref["id"]].raw == incoming
