"""The local mailbox answers like Gmail where the product could otherwise pass tests and fail for real."""
from __future__ import annotations

from .conftest import b64, deliver, make_email
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


def test_history_records_carry_only_ids(gmail):
    start = gmail.users().getProfile(userId="me").execute()["historyId"]
    deliver(gmail, make_email(subject="Hi", message_id="<h@x>"))
    history = gmail.users().history().list(userId="me", startHistoryId=start).execute()["history"]
    [added] = [record["messagesAdded"][0]["message"] for record in history if "messagesAdded" in record]
    assert set(added) == {"id", "threadId"}
