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


def test_resumable_uploads_store_the_message_and_its_metadata(local, gmail):
    """googleapiclient's resumable uploads (``MediaFileUpload(..., resumable=True)``, recommended for large
    mail): the first request carries the metadata and must get a session ``Location``; the bytes follow
    in PUTs. Before, the metadata JSON was stored as a message and the client got an error."""
    users = gmail.users()
    before = len(local.mailbox.messages)
    media = MediaInMemoryUpload(CRLF_MESSAGE, mimetype="message/rfc822", resumable=True)
    inserted = users.messages().insert(userId="me", body={"labelIds": ["INBOX", "UNREAD"]}, media_body=media).execute()
    assert inserted["labelIds"] == ["INBOX", "UNREAD"]
    assert local.mailbox.messages[inserted["id"]].raw == CRLF_MESSAGE
    assert len(local.mailbox.messages) == before + 1

    reply = CRLF_MESSAGE.replace(b"Subject: Upload test", b"Subject: Re: Upload test\r\n"
                                 b"In-Reply-To: <upload-1@example.org>\r\nReferences: <upload-1@example.org>")
    reply = reply.replace(b"Message-ID: <upload-1@", b"Message-ID: <upload-2@")
    small_chunks = MediaInMemoryUpload(reply, mimetype="message/rfc822", chunksize=64, resumable=True)
    request = users.messages().send(userId="me", body={"threadId": inserted["threadId"]}, media_body=small_chunks)
    response = None
    while response is None:
        _status, response = request.next_chunk()
    assert response["threadId"] == inserted["threadId"] and "SENT" in response["labelIds"]
    assert local.mailbox.messages[response["id"]].parse().subject == "Re: Upload test"

    draft = users.drafts().create(userId="me", body={"message": {"threadId": inserted["threadId"]}},
                                  media_body=MediaInMemoryUpload(reply, mimetype="message/rfc822",
                                                                 resumable=True)).execute()
    assert draft["message"]["threadId"] == inserted["threadId"]
    updated = users.drafts().update(userId="me", id=draft["id"], body={"message": {}},
                                    media_body=MediaInMemoryUpload(CRLF_MESSAGE, mimetype="message/rfc822",
                                                                   resumable=True)).execute()
    assert updated["id"] == draft["id"] and updated["message"]["snippet"] == "Hello upload"
    another = CRLF_MESSAGE.replace(b"Message-ID: <upload-1@", b"Message-ID: <upload-3@")  # one id is one message
    imported = users.messages().import_(userId="me", body={"labelIds": ["INBOX"]},
                                        media_body=MediaInMemoryUpload(another, mimetype="message/rfc822",
                                                                       resumable=True)).execute()
    # import takes internalDate from the Date header by default
    assert users.messages().get(userId="me", id=imported["id"], format="minimal").execute()["internalDate"] \
        == "1780308000000"


def test_a_resumable_upload_of_a_bad_message_is_gmails_error_and_stores_nothing(local, gmail):
    from googleapiclient.errors import HttpError

    before = len(local.mailbox.messages)
    nobody = b"From: support@example.com\r\nSubject: To nobody\r\n\r\nHi\r\n"
    media = MediaInMemoryUpload(nobody, mimetype="message/rfc822", resumable=True)
    try:
        gmail.users().messages().send(userId="me", body={}, media_body=media).execute()
    except HttpError as exc:
        assert exc.resp.status == 400 and b"Recipient address required" in exc.content
    else:
        raise AssertionError("a message to nobody was sent")
    assert len(local.mailbox.messages) == before
