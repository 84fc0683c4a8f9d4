"""The local mailbox answers like Gmail where the product could otherwise pass tests and fail for real."""
from __future__ import annotations

import json

from .conftest import b64, deliver, make_email, send
from .test_mailbox_api import status_of


def test_sent_mail_joins_a_thread_only_through_its_thread_id(gmail):
    customer = deliver(gmail, make_email(subject="Refund", message_id="<c1@cust.example>"))
    reply = make_email(sender="support@example.com", to="jane@example.org", subject="Re: Refund",
                       in_reply_to="<c1@cust.example>", message_id="<r1@example.com>")
    alone = gmail.users().messages().send(userId="me", body={"raw": b64(reply)}).execute()
    assert alone["threadId"] != customer["threadId"]  # headers alone do not thread what we send
    joined = gmail.users().messages().send(userId="me", body={"raw": b64(reply), "threadId": customer["threadId"]}).execute()
    assert joined["threadId"] == customer["threadId"]
    received = deliver(gmail, make_email(subject="Re: Refund", in_reply_to="<c1@cust.example>",
                                         message_id="<c2@cust.example>"))
    assert received["threadId"] == customer["threadId"]  # received mail is threaded by its headers


def test_a_message_to_nobody_is_not_sent(gmail):
    for to in ("", "not an address"):
        raw = make_email(sender="support@example.com", to=to, subject="Hello")
        assert status_of(gmail.users().messages().send(userId="me", body={"raw": b64(raw)})) == 400


def test_bodies_of_the_wrong_shape_are_400_not_500(gmail):
    assert status_of(gmail.users().labels().create(userId="me", body={"name": 123})) == 400
    assert status_of(gmail.users().messages().batchModify(userId="me", body={"ids": None})) == 400


def test_history_records_list_their_messages_by_ids_only(gmail):
    start = gmail.users().getProfile(userId="me").execute()["historyId"]
    deliver(gmail, make_email(subject="Hi", message_id="<h@x>"))
    history = gmail.users().history().list(userId="me", startHistoryId=start).execute()["history"]
    [listed] = [record["messages"][0] for record in history if "messagesAdded" in record]
    assert set(listed) == {"id", "threadId"}  # the labels are said only in messagesAdded/labelsAdded/labelsRemoved


def test_updating_a_draft_without_a_thread_id_keeps_the_draft(gmail):
    raw = make_email(sender="support@example.com", to="jane@example.org", subject="Note", message_id="<n1@example.com>")
    draft = gmail.users().drafts().create(userId="me", body={"message": {"raw": b64(raw)}}).execute()
    new = make_email(sender="support@example.com", to="jane@example.org", subject="Note", body="Second version",
                     message_id="<n2@example.com>")
    updated = gmail.users().drafts().update(userId="me", id=draft["id"], body={"message": {"raw": b64(new)}}).execute()
    assert updated["id"] == draft["id"] and updated["message"]["id"] != draft["message"]["id"]
    assert updated["message"]["labelIds"] == ["DRAFT"]
    got = gmail.users().drafts().get(userId="me", id=draft["id"]).execute()
    assert got["message"]["snippet"] == "Second version"
    assert status_of(gmail.users().messages().get(userId="me", id=draft["message"]["id"])) == 404


def draft_reply_in_thread(gmail, subject: str, asked: str, drafted: str):
    """A customer's message and an agent's reply drafted in its thread: (customer ref, reply raw, draft)."""
    customer = deliver(gmail, make_email(subject=subject, message_id=f"<{asked}@cust.example>"))
    reply = make_email(sender="support@example.com", to="jane@example.org", subject=f"Re: {subject}",
                       in_reply_to=f"<{asked}@cust.example>", message_id=f"<{drafted}@example.com>")
    draft = gmail.users().drafts().create(
        userId="me", body={"message": {"raw": b64(reply), "threadId": customer["threadId"]}}).execute()
    return customer, reply, draft


def test_a_draft_leaves_its_thread_when_an_update_names_no_thread(gmail):
    # Message.threadId: a draft is in a thread only if the Draft.Message supplied names it.
    customer, reply, draft = draft_reply_in_thread(gmail, "Refund", "c1", "d1")
    assert draft["message"]["threadId"] == customer["threadId"]
    updated = gmail.users().drafts().update(userId="me", id=draft["id"], body={"message": {"raw": b64(reply)}}).execute()
    assert updated["message"]["threadId"] != customer["threadId"]
    kept = gmail.users().drafts().update(
        userId="me", id=draft["id"], body={"message": {"raw": b64(reply), "threadId": customer["threadId"]}}).execute()
    assert kept["message"]["threadId"] == customer["threadId"]


def test_sending_a_draft_follows_the_rules_of_send(gmail):
    nobody = b"From: support@example.com\r\nSubject: Unfinished\r\n\r\nHello\r\n"
    draft = gmail.users().drafts().create(userId="me", body={"message": {"raw": b64(nobody)}}).execute()
    assert status_of(gmail.users().drafts().send(userId="me", body={"id": draft["id"]})) == 400
    assert gmail.users().drafts().get(userId="me", id=draft["id"]).execute()["id"] == draft["id"]  # still a draft
    bare = b"From: support@example.com\r\nTo: x@example.org\r\nBcc: secret@example.org\r\nSubject: Hi\r\n\r\nHello\r\n"
    draft = gmail.users().drafts().create(userId="me", body={"message": {"raw": b64(bare)}}).execute()
    sent = gmail.users().drafts().send(userId="me", body={"id": draft["id"]}).execute()
    got = gmail.users().messages().get(userId="me", id=sent["id"], format="metadata").execute()
    names = {h["name"].lower() for h in got["payload"]["headers"]}
    assert "message-id" in names and "date" in names and "bcc" not in names
    to_self = b"From: support@example.com\r\nTo: support@example.com\r\nSubject: Note to self\r\n\r\nHello\r\n"
    draft = gmail.users().drafts().create(userId="me", body={"message": {"raw": b64(to_self)}}).execute()
    sent = gmail.users().drafts().send(userId="me", body={"id": draft["id"]}).execute()
    assert sent["labelIds"] == ["INBOX", "SENT", "UNREAD"]


def test_a_draft_can_be_sent_with_a_new_message(local, gmail):
    # drafts.send takes a Draft (and media uploads): the message supplied replaces the draft's content.
    old = make_email(sender="support@example.com", to="jane@example.org", subject="Answer", body="First try",
                     message_id="<a1@example.com>")
    new = make_email(sender="support@example.com", to="jane@example.org", subject="Answer", body="Final answer",
                     message_id="<a2@example.com>")
    draft = gmail.users().drafts().create(userId="me", body={"message": {"raw": b64(old)}}).execute()
    sent = gmail.users().drafts().send(userId="me", body={"id": draft["id"], "message": {"raw": b64(new)}}).execute()
    assert gmail.users().messages().get(userId="me", id=sent["id"]).execute()["snippet"] == "Final answer"
    assert "drafts" not in gmail.users().drafts().list(userId="me").execute()
    draft = gmail.users().drafts().create(userId="me", body={"message": {"raw": b64(old)}}).execute()
    from googleapiclient.http import MediaInMemoryUpload

    media = MediaInMemoryUpload(new, mimetype="message/rfc822")
    sent = gmail.users().drafts().send(userId="me", body={"id": draft["id"]}, media_body=media).execute()
    assert gmail.users().messages().get(userId="me", id=sent["id"]).execute()["snippet"] == "Final answer"
    assert "drafts" not in gmail.users().drafts().list(userId="me").execute()


def _all_pages(call, key, first_page, **kwargs):
    ids, token = [item["id"] for item in first_page[key]], first_page.get("nextPageToken")
    while token:
        page = call(pageToken=token, **kwargs).execute()
        ids += [item["id"] for item in page.get(key, [])]
        token = page.get("nextPageToken")
    return ids


def test_page_tokens_stay_put_while_mail_arrives_or_goes(gmail):
    # Gmail's page tokens are opaque positions, not offsets: paging on while new mail arrives at the
    # top (or a listed message is deleted) neither repeats nor skips what was there.
    ids = [deliver(gmail, make_email(subject=f"Question {i}", message_id=f"<pq{i}@example.org>"))["id"]
           for i in range(7)]
    messages = gmail.users().messages()
    first = messages.list(userId="me", maxResults=3).execute()
    deliver(gmail, make_email(subject="Newcomer", message_id="<new@example.org>"))
    assert _all_pages(messages.list, "messages", first, userId="me", maxResults=3) == list(reversed(ids))
    first = messages.list(userId="me", maxResults=3).execute()
    messages.delete(userId="me", id=first["messages"][0]["id"]).execute()
    rest = _all_pages(messages.list, "messages", first, userId="me", maxResults=3)
    assert rest[3:] == list(reversed(ids))[2:]  # the first page was the newcomer and the two newest
    threads = gmail.users().threads()
    first = threads.list(userId="me", maxResults=2).execute()
    deliver(gmail, make_email(subject="Another newcomer", message_id="<new2@example.org>"))
    listed = _all_pages(threads.list, "threads", first, userId="me", maxResults=2)
    assert len(listed) == len(set(listed)) == 7  # the threads there when paging began, each once


def test_batch_takes_utf8_bodies_at_either_batch_path(local, gmail):
    # Clients other than googleapiclient send UTF-8 JSON unescaped; the batch guide's default path is
    # /batch/<api>/<version>, the discovery document's batchPath is /batch: Gmail answers both.
    body = json.dumps({"name": "Поддержка/Срочно"}, ensure_ascii=False)
    for path in ("batch", "batch/gmail/v1"):
        parts = ("--b\r\nContent-Type: application/http\r\nContent-ID: <1>\r\n\r\n"
                 "POST /gmail/v1/users/me/labels HTTP/1.1\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n"
                 f"{body}\r\n--b--\r\n").encode()
        resp, content = local.http.request(local.root + path, "POST", body=parts,
                                           headers={"content-type": "multipart/mixed; boundary=b"})
        assert resp.status == 200
        assert ("HTTP/1.1 409" if path != "batch" else "HTTP/1.1 200") in content.decode("utf-8")
    names = [label["name"] for label in gmail.users().labels().list(userId="me").execute()["labels"]]
    assert "Поддержка/Срочно" in names


def _sent_from(gmail, sent: dict) -> str:
    got = gmail.users().messages().get(userId="me", id=sent["id"], format="metadata", metadataHeaders=["From"]).execute()
    return got["payload"]["headers"][0]["value"]


def test_send_puts_the_default_send_as_address_in_a_from_gmail_would_not_send_as(local, gmail):
    # Gmail sends only as the account's send-as addresses: any other From is silently replaced by the
    # default one (display name included); a send-as alias is kept as written.
    local.mailbox.add_send_as("help@example.com")
    gmail.users().settings().sendAs().patch(userId="me", sendAsEmail="support@example.com",
                                            body={"displayName": "Example Support"}).execute()

    def sent(sender: str) -> dict:
        raw = make_email(sender=sender, to="jane@example.org", subject="Hello", message_id=None)
        return gmail.users().messages().send(userId="me", body={"raw": b64(raw)}).execute()

    assert _sent_from(gmail, sent("Anna <help@example.com>")) == "Anna <help@example.com>"
    assert _sent_from(gmail, sent("Anna <SUPPORT@example.com>")) == "Anna <SUPPORT@example.com>"
    assert _sent_from(gmail, sent("Mallory <ceo@bank.example>")) == "Example Support <support@example.com>"
    raw = make_email(sender="ceo@bank.example", to="jane@example.org", subject="Draft")
    draft = gmail.users().drafts().create(userId="me", body={"message": {"raw": b64(raw)}}).execute()
    assert _sent_from(gmail, gmail.users().drafts().send(userId="me", body={"id": draft["id"]}).execute()) == \
        "Example Support <support@example.com>"


def test_the_sample_mailbox_may_send_as_its_alias():
    from plugin_host.mailbox import LocalMailbox

    sample = LocalMailbox(seed="sample")
    listed = sample.gmail().users().settings().sendAs().list(userId="me").execute()["sendAs"]
    assert {entry["sendAsEmail"] for entry in listed} == {"support@example.com", "help@example.com"}


def test_labelling_a_thread_leaves_its_draft_with_only_the_draft_label(gmail):
    # Drafts guide: "Draft messages cannot have any label other than the DRAFT system label".
    customer, reply, draft = draft_reply_in_thread(gmail, "Broken login", "bl", "bl-draft")
    label = gmail.users().labels().create(userId="me", body={"name": "Helpdesk/Open"}).execute()
    thread = gmail.users().threads().modify(userId="me", id=customer["threadId"],
                                            body={"addLabelIds": [label["id"], "STARRED"]}).execute()
    labels = {m["id"]: m["labelIds"] for m in thread["messages"]}
    assert labels[draft["message"]["id"]] == ["DRAFT"]
    assert label["id"] in labels[customer["id"]] and "STARRED" in labels[customer["id"]]
    assert gmail.users().labels().get(userId="me", id=label["id"]).execute()["messagesTotal"] == 1


def test_push_notifications_honour_the_watch_label_filter(local, gmail):
    # WatchRequest.labelIds "dictates which labels are required for a push notification to be generated".
    pushes = []
    local.app.push_callback = pushes.append
    gmail.users().watch(userId="me", body={"topicName": "projects/p/topics/t", "labelIds": ["INBOX"],
                                           "labelFilterBehavior": "include"}).execute()
    inbox = deliver(gmail, make_email(subject="In the inbox", message_id="<in@cust.example>"))
    assert len(pushes) == 1
    deliver(gmail, make_email(subject="Filed away", message_id="<away@cust.example>"), labels=["UNREAD"])
    send(gmail, make_email(sender="support@example.com", to="jane@example.org", subject="Agent note",
                           message_id="<note@example.com>"))
    assert len(pushes) == 1  # neither change relates to INBOX
    gmail.users().messages().modify(userId="me", id=inbox["id"], body={"removeLabelIds": ["INBOX"]}).execute()
    assert len(pushes) == 2  # taking INBOX away relates to INBOX
    gmail.users().watch(userId="me", body={"topicName": "projects/p/topics/t", "labelIds": ["SPAM"],
                                           "labelFilterBehavior": "exclude"}).execute()
    deliver(gmail, make_email(subject="Spammy", message_id="<spam@cust.example>"), labels=["SPAM"])
    assert len(pushes) == 2
    deliver(gmail, make_email(subject="Fine", message_id="<fine@cust.example>"))
    assert len(pushes) == 3


def test_renaming_a_label_follows_the_rules_of_creating_one(gmail):
    label = gmail.users().labels().create(userId="me", body={"name": "  Helpdesk/Waiting  "}).execute()
    assert label["name"] == "Helpdesk/Waiting"
    for bad in ("", "   "):
        assert status_of(gmail.users().labels().patch(userId="me", id=label["id"], body={"name": bad})) == 400
    assert status_of(gmail.users().labels().patch(userId="me", id=label["id"], body={"name": "Inbox"})) == 400  # reserved: Gmail's "Invalid label name"
    renamed = gmail.users().labels().patch(userId="me", id=label["id"], body={"name": " Helpdesk/Pending "}).execute()
    assert renamed["name"] == "Helpdesk/Pending"
    assert gmail.users().labels().get(userId="me", id=label["id"]).execute()["name"] == "Helpdesk/Pending"


def test_batch_delete_takes_ids_that_are_gone_already(gmail):
    # Discovery: batchDelete "Provides no guarantees that messages were not already deleted or even existed at all."
    kept = deliver(gmail, make_email(subject="Keep", message_id="<keep@cust.example>"))
    gone = deliver(gmail, make_email(subject="Gone", message_id="<gone@cust.example>"))
    gmail.users().messages().delete(userId="me", id=gone["id"]).execute()
    doomed = deliver(gmail, make_email(subject="Doomed", message_id="<doomed@cust.example>"))
    gmail.users().messages().batchDelete(userId="me", body={"ids": [doomed["id"], gone["id"], "0123abc"]}).execute()
    assert status_of(gmail.users().messages().get(userId="me", id=doomed["id"])) == 404
    assert gmail.users().messages().get(userId="me", id=kept["id"]).execute()["id"] == kept["id"]


def test_a_taken_label_name_answers_gmails_409_error(gmail):
    # As Gmail answers (quoted in client bug reports): 409 "Label name exists or conflicts", reason "aborted".
    from .test_mailbox_api import error_body

    gmail.users().labels().create(userId="me", body={"name": "Helpdesk/New"}).execute()
    error = error_body(gmail.users().labels().create(userId="me", body={"name": "helpdesk/new"}))["error"]
    assert error["code"] == 409 and error["message"] == "Label name exists or conflicts"
    assert error["errors"][0]["reason"] == "aborted" and error["status"] == "ABORTED"


def test_user_id_is_the_address_in_any_case(gmail):
    assert gmail.users().getProfile(userId="Support@Example.COM").execute()["emailAddress"] == "support@example.com"
    assert status_of(gmail.users().getProfile(userId="someone.else@example.com")) == 403


def test_a_fields_mask_naming_no_field_of_the_response_is_a_400(gmail):
    # Google's partial responses: an invalid fields selection answers 400 "Invalid field selection ...";
    # the request is not carried out.
    from .test_mailbox_api import error_body

    ref = deliver(gmail, make_email(subject="Fields", message_id="<fields@cust.example>"))
    messages = gmail.users().messages()
    error = error_body(messages.get(userId="me", id=ref["id"], fields="id,labelIDs"))["error"]
    assert error["code"] == 400 and error["message"] == "Invalid field selection labelIDs"
    assert status_of(messages.list(userId="me", fields="messages(id,thread)")) == 400
    assert status_of(messages.modify(userId="me", id=ref["id"], body={"addLabelIds": ["STARRED"]}, fields="nope")) == 400
    assert "STARRED" not in messages.get(userId="me", id=ref["id"], format="minimal").execute()["labelIds"]
    got = messages.get(userId="me", id=ref["id"], fields="id,payload/headers(name),labelIds").execute()
    assert set(got) == {"id", "payload", "labelIds"} and set(got["payload"]["headers"][0]) == {"name"}
    assert messages.get(userId="me", id=ref["id"], fields="*").execute()["id"] == ref["id"]


def test_one_send_as_address_is_the_default(local, gmail):
    # SendAs.isDefault: exactly one default; setting it on one address unsets it on the previous one, and
    # true is the only value a client may write. The default is what a From Gmail cannot send as becomes.
    local.mailbox.add_send_as("help@example.com", display_name="Help Desk")
    send_as = gmail.users().settings().sendAs()
    send_as.patch(userId="me", sendAsEmail="help@example.com", body={"isDefault": True}).execute()
    defaults = {e["sendAsEmail"]: e["isDefault"] for e in send_as.list(userId="me").execute()["sendAs"]}
    assert defaults == {"support@example.com": False, "help@example.com": True}
    assert status_of(send_as.patch(userId="me", sendAsEmail="help@example.com", body={"isDefault": False})) == 400
    raw = make_email(sender="ceo@bank.example", to="jane@example.org", subject="Hello")
    assert _sent_from(gmail, send(gmail, raw)) == "Help Desk <help@example.com>"


def test_drafts_list_takes_a_query(gmail):
    for to, subject in (("jane@example.org", "Refund"), ("bob@example.org", "Invoice")):
        raw = make_email(sender="support@example.com", to=to, subject=subject, message_id=f"<{to}>")
        gmail.users().drafts().create(userId="me", body={"message": {"raw": b64(raw)}}).execute()
    found = gmail.users().drafts().list(userId="me", q="to:bob@example.org").execute()
    assert [d["message"]["id"] for d in found["drafts"]] == [
        m["id"] for m in gmail.users().messages().list(userId="me", q="in:drafts to:bob@example.org").execute()["messages"]]
    assert "drafts" not in gmail.users().drafts().list(userId="me", q="subject:nothing").execute()


def test_label_visibilities_are_the_schema_enums(gmail):
    labels = gmail.users().labels()
    bad = {"name": "Helpdesk/Odd", "labelListVisibility": "visible"}
    assert status_of(labels.create(userId="me", body=bad)) == 400
    label = labels.create(userId="me", body={"name": "Helpdesk/Odd", "labelListVisibility": "labelHide"}).execute()
    assert label["labelListVisibility"] == "labelHide"
    assert status_of(labels.patch(userId="me", id=label["id"], body={"messageListVisibility": "shown"})) == 400
    assert labels.get(userId="me", id=label["id"]).execute()["messageListVisibility"] == "show"


def test_a_message_to_bcc_recipients_only_is_sent(gmail):
    # messages.send "Sends the specified message to the recipients in the To, Cc, and Bcc headers".
    raw = b"From: support@example.com\r\nBcc: x@example.org\r\nSubject: Notice\r\n\r\nHello\r\n"
    assert send(gmail, raw)["labelIds"] == ["SENT"]
    to_self = b"From: support@example.com\r\nTo: x@example.org\r\nBcc: support@example.com\r\nSubject: Copy\r\n\r\nHi\r\n"
    assert send(gmail, to_self)["labelIds"] == ["INBOX", "SENT", "UNREAD"]
    # The usual To of such mail is an empty RFC 5322 group.
    undisclosed = raw.replace(b"Bcc:", b"To: undisclosed-recipients:;\r\nBcc:")
    assert send(gmail, undisclosed)["labelIds"] == ["SENT"]


def test_a_message_delivered_twice_is_kept_once(gmail):
    """Gmail keeps one copy of a received message per Message-ID and drops later copies on arrival, with the
    first copy's labels (github.com/rgladwell/imap-upload/issues/22; "Gmail only keeps one copy of a message per
    user and message ID", a Hacker News thread, news.wingman.actor/item/46993618): mail to support@ and an alias of it, or through our Google Group
    as well, is one message. The local mailbox stored each copy, so a test could see two tickets Gmail never makes."""
    start = gmail.users().getProfile(userId="me").execute()["historyId"]
    raw = make_email(to="support@example.com, sales@example.com", subject="Quote", message_id="<twice@cust.example>")
    first = deliver(gmail, raw)
    again = deliver(gmail, raw, labels=("INBOX", "UNREAD", "STARRED"))
    imported = gmail.users().messages().import_(userId="me", body={"raw": b64(raw), "labelIds": ["INBOX"]}).execute()
    assert again["id"] == imported["id"] == first["id"] and again["threadId"] == first["threadId"]
    assert "STARRED" not in again["labelIds"]
    listed = gmail.users().messages().list(userId="me", q="rfc822msgid:<twice@cust.example>").execute()["messages"]
    assert [m["id"] for m in listed] == [first["id"]]
    history = gmail.users().history().list(userId="me", startHistoryId=start).execute()["history"]
    assert sum(len(record.get("messagesAdded", [])) for record in history) == 1
    other = deliver(gmail, make_email(subject="Quote", message_id="<other@cust.example>"))
    assert other["id"] != first["id"]  # another Message-ID is another message
