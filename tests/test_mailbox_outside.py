"""The local mailbox as an outside Gmail integration sees it: googleapiclient calls as a third party
writes them (uploads, formats, errors), compared with the Gmail API facts in ../shared/reference."""
from __future__ import annotations

from googleapiclient.http import MediaInMemoryUpload

CRLF_MESSAGE = (b"From: Bob <bob@example.org>\r\nTo: support@example.com\r\nSubject: Upload test\r\n"
                b"Message-ID: <upload-1@example.org>\r\nDate: Mon, 01 Jun 2026 10:00:00 +0000\r\n\r\n"
                b"Hello upload\r\n")


def test_multipart_upload_of_a_crlf_message_keeps_its_headers(local, gmail):
    """googleapiclient writes the multipart/related part headers with bare LF; the message itself
    (RFC 5322) has CRLF lines: the whole message must be stored, not just its body."""
    users = gmail.users()
    inserted = users.messages().insert(userId="me", body={"labelIds": ["INBOX"]},
                                       media_body=MediaInMemoryUpload(CRLF_MESSAGE, mimetype="message/rfc822")).execute()
    assert local.mailbox.messages[inserted["id"]].raw == CRLF_MESSAGE
    draft = users.drafts().create(userId="me", body={"message": {}},
                                  media_body=MediaInMemoryUpload(CRLF_MESSAGE, mimetype="message/rfc822")).execute()
    got = users.messages().get(userId="me", id=draft["message"]["id"], format="metadata",
                               metadataHeaders=["Subject"]).execute()
    assert got["payload"]["headers"] == [{"name": "Subject", "value": "Upload test"}]
    sent = users.messages().send(userId="me", body={"threadId": inserted["threadId"]},
                                 media_body=MediaInMemoryUpload(CRLF_MESSAGE.replace(b"Subject: Upload test",
                                                                                     b"Subject: Re: Upload test"),
                                                                mimetype="message/rfc822")).execute()
    assert local.mailbox.messages[sent["id"]].parse().subject == "Re: Upload test"
