"""Every kind of response the local mailbox gives conforms to the shipped discovery schemas."""
from __future__ import annotations

from googleapiclient.http import BatchHttpRequest

from plugin_host.mailbox import LocalMailbox
from plugin_host.mailbox.drive_api import ROUTES as DRIVE_ROUTES
from plugin_host.mailbox.drive_api import Media
from plugin_host.mailbox.gmail_api import ROUTES as GMAIL_ROUTES
from plugin_host.mailbox.tasks_api import ROUTES as TASKS_ROUTES

from .conftest import b64, deliver, make_email
from .discovery_schema import check, method_response_schema


def exercise(local: LocalMailbox) -> None:
    """Call every implemented method at least once, through googleapiclient."""
    g, t = local.gmail(), local.tasks()
    u = g.users()
    u.getProfile(userId="me").execute()
    first = deliver(g, make_email(subject="Schema", message_id="<s1@example.org>"))
    reply = make_email(sender="support@example.com", to="jane@example.org", subject="Re: Schema",
                       message_id="<s2@example.com>", in_reply_to="<s1@example.org>")
    u.messages().send(userId="me", body={"raw": b64(reply), "threadId": first["threadId"]}).execute()
    u.messages().import_(userId="me", body={"raw": b64(make_email(message_id="<s3@example.org>")),
                                            "labelIds": ["INBOX"]}).execute()
    label = u.labels().create(userId="me", body={"name": "Helpdesk/SLA/Breached",
                                                 "color": {"backgroundColor": "#cc3a21", "textColor": "#ffffff"}}).execute()
    u.labels().list(userId="me").execute()
    u.labels().get(userId="me", id=label["id"]).execute()
    u.labels().get(userId="me", id="INBOX").execute()
    u.labels().patch(userId="me", id=label["id"], body={"name": "Helpdesk/SLA/Late"}).execute()
    u.labels().update(userId="me", id=label["id"], body={"name": "Helpdesk/SLA/Breached"}).execute()
    for fmt in ("minimal", "metadata", "full", "raw"):
        u.messages().get(userId="me", id=first["id"], format=fmt).execute()
    u.messages().list(userId="me", maxResults=1).execute()
    u.messages().list(userId="me", labelIds=["STARRED"]).execute()
    u.messages().modify(userId="me", id=first["id"], body={"addLabelIds": [label["id"]]}).execute()
    u.messages().batchModify(userId="me", body={"ids": [first["id"]], "removeLabelIds": ["UNREAD"]}).execute()
    u.messages().trash(userId="me", id=first["id"]).execute()
    u.messages().untrash(userId="me", id=first["id"]).execute()
    for fmt in ("minimal", "metadata", "full"):
        u.threads().get(userId="me", id=first["threadId"], format=fmt).execute()
    u.threads().list(userId="me", maxResults=1).execute()
    u.threads().modify(userId="me", id=first["threadId"], body={"addLabelIds": ["STARRED"]}).execute()
    u.threads().trash(userId="me", id=first["threadId"]).execute()
    u.threads().untrash(userId="me", id=first["threadId"]).execute()
    draft = u.drafts().create(userId="me", body={"message": {"raw": b64(reply), "threadId": first["threadId"]}}).execute()
    u.drafts().get(userId="me", id=draft["id"]).execute()
    u.drafts().list(userId="me").execute()
    u.drafts().update(userId="me", id=draft["id"], body={"message": {"raw": b64(reply)}}).execute()
    u.drafts().send(userId="me", body={"id": draft["id"]}).execute()
    other = u.drafts().create(userId="me", body={"message": {"raw": b64(reply)}}).execute()
    u.drafts().delete(userId="me", id=other["id"]).execute()
    u.history().list(userId="me", startHistoryId="1000", maxResults=3).execute()
    u.history().list(userId="me", startHistoryId="1000").execute()
    u.watch(userId="me", body={"topicName": "projects/p/topics/t"}).execute()
    u.stop(userId="me").execute()
    u.settings().sendAs().list(userId="me").execute()
    u.settings().sendAs().get(userId="me", sendAsEmail="support@example.com").execute()
    u.settings().sendAs().patch(userId="me", sendAsEmail="support@example.com", body={"signature": "x"}).execute()
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.org", "support@example.com", "Attachment"
    msg.set_content("see file")
    msg.add_attachment(b"x" * 5000, maintype="application", subtype="octet-stream", filename="a.bin")
    att = deliver(g, msg.as_bytes())
    full = u.messages().get(userId="me", id=att["id"]).execute()
    att_id = next(p["body"]["attachmentId"] for p in full["payload"]["parts"] if p["filename"])
    u.messages().attachments().get(userId="me", messageId=att["id"], id=att_id).execute()
    gone = deliver(g, make_email(message_id="<gone@example.org>", subject="Gone"))
    u.messages().delete(userId="me", id=gone["id"]).execute()
    gone2 = deliver(g, make_email(message_id="<gone2@example.org>", subject="Gone too"))
    u.messages().batchDelete(userId="me", body={"ids": [gone2["id"]]}).execute()
    gone3 = deliver(g, make_email(message_id="<gone3@example.org>", subject="Thread gone"))
    u.threads().delete(userId="me", id=gone3["threadId"]).execute()
    u.labels().delete(userId="me", id=label["id"]).execute()
    batch = BatchHttpRequest(batch_uri=local.root + "batch")
    batch.add(u.getProfile(userId="me"))
    batch.execute(http=local.http)
    lists = t.tasklists().list().execute()
    team = t.tasklists().insert(body={"title": "Escalations"}).execute()
    t.tasklists().get(tasklist=team["id"]).execute()
    task = t.tasks().insert(tasklist=team["id"], body={"title": "T", "notes": "n", "due": "2026-11-30T00:00:00Z"}).execute()
    t.tasks().list(tasklist=team["id"]).execute()
    t.tasks().get(tasklist=team["id"], task=task["id"]).execute()
    t.tasks().patch(tasklist=team["id"], task=task["id"], body={"status": "completed"}).execute()
    t.tasks().update(tasklist=team["id"], task=task["id"], body={"id": task["id"], "title": "T2", "status": "needsAction"}).execute()
    t.tasks().delete(tasklist=team["id"], task=task["id"]).execute()
    t.tasklists().delete(tasklist=team["id"]).execute()
    assert lists


def test_every_response_kind_matches_the_discovery_schema():
    local = LocalMailbox()
    local.app.recorded = []
    exercise(local)
    folder = local.add_folder("Help centre")
    doc = local.add_document("Refunds", "Money back in 5 days.", folder)
    d = local.drive()
    d.files().list(q=f"'{folder}' in parents and trashed = false", pageSize=1).execute()
    d.files().list(q="trashed = false", fields="nextPageToken, files(id, name, mimeType, modifiedTime, webViewLink, "
                   "parents, trashed)").execute()
    d.files().get(fileId=doc, fields="id, name, modifiedTime").execute()
    d.files().export(fileId=doc, mimeType="text/markdown").execute()
    covered = {method_id for method_id, _ in local.app.recorded}
    implemented = {r[2] for r in GMAIL_ROUTES + TASKS_ROUTES + DRIVE_ROUTES}
    assert implemented - covered == set(), "every implemented method is exercised"
    problems = []
    for method_id, body in local.app.recorded:
        doc = {"tasks": "tasks.v1.json", "drive": "drive.v3.json"}.get(method_id.split(".")[0], "gmail.v1.json")
        schema = method_response_schema(doc, method_id)
        if schema is None:
            assert body is None or isinstance(body, Media), f"{method_id} has no JSON response body in Google's API"
            continue
        problems += [f"{method_id}: {p}" for p in check(body, schema, doc)]
    assert problems == []


def test_shared_mail_round_trips_through_the_api(shared):
    """Real messages go in raw and come out raw byte-for-byte, with a schema-valid full format; a second message
    of a Message-ID already kept comes back as the first copy, as Gmail keeps one."""
    import base64
    import email
    import email.policy

    local = LocalMailbox()
    g = local.gmail()
    files = sorted((shared / "data" / "mail").rglob("*.eml"))[::9] + \
        sorted((shared / "data" / "mail" / "cpython-email-tests").glob("*.txt"))[::3]
    assert len(files) > 50
    problems, first_copy = [], {}
    for path in files:
        raw = path.read_bytes()
        ref = deliver(g, raw)
        message_id = email.message_from_bytes(raw, policy=email.policy.compat32)["Message-ID"]
        if message_id and str(message_id).strip() in first_copy:  # Gmail keeps one copy per Message-ID
            assert ref["id"] == first_copy[str(message_id).strip()], path.name
            continue
        first_copy[str(message_id or "").strip() or path.name] = ref["id"]
        got = g.users().messages().get(userId="me", id=ref["id"], format="raw").execute()
        assert base64.urlsafe_b64decode(got["raw"]) == raw, path.name
        full = g.users().messages().get(userId="me", id=ref["id"], format="full").execute()
        problems += [f"{path.name}: {p}" for p in check(full, "Message")]
    assert problems == []
