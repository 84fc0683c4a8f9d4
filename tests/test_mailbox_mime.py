"""Raw messages to Gmail payloads and back (plugin_host.mailbox.mime), on real Gmail and real mail."""
from __future__ import annotations

import base64
import json
import re
from datetime import timedelta
from email.message import EmailMessage
from email.policy import compat32

import pytest

from plugin_host.mailbox import mime

CRLF = "\r\n"


def raw(*lines: str, body: bytes | str = "") -> bytes:
    if isinstance(body, str):
        body = body.encode("utf-8")
    return (CRLF.join(lines) + CRLF + CRLF).encode("utf-8") + body


def data_of(node: dict) -> bytes:
    return mime.unb64url(node["body"]["data"]) if "data" in node["body"] else b""


def customer_email_with_attachment() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Anna Kowalska <anna@example.pl>"
    msg["To"] = "support@example.com"
    msg["Subject"] = "Faktura za maj"
    msg["Message-ID"] = "<order-12@example.pl>"
    msg.set_content("Dzień dobry, w załączniku faktura.\n")
    msg.add_alternative("<p>Dzień dobry, w <b>załączniku</b> faktura.</p>", subtype="html")
    msg.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="faktura maj.pdf")
    return msg.as_bytes()


# ---------------------------------------------------------------- real Gmail output

@pytest.mark.parametrize("name", ["sample_message_1_of_2.json", "sample_message_2_of_2.json"])
def test_matches_gmail_payload_and_snippet(shared, name):
    gmail = json.loads((shared / "fixtures" / "addon" / name).read_text())
    rebuilt = mime.payload_to_raw(gmail["payload"])
    parsed = mime.parse_raw(rebuilt)
    assert parsed.payload == gmail["payload"]  # partIds, headers, body sizes, padded base64url
    assert parsed.snippet == gmail["snippet"]  # from the HTML alternative, &lt;/&gt; escaped
    assert abs(parsed.size_estimate - gmail["sizeEstimate"]) < gmail["sizeEstimate"] * 0.1


def test_reply_fields_from_gmail_sample(shared):
    gmail = json.loads((shared / "fixtures" / "addon" / "sample_message_2_of_2.json").read_text())
    parsed = mime.parse_raw(mime.payload_to_raw(gmail["payload"]))
    assert parsed.subject == "Re: Hello!"
    assert parsed.in_reply_to == "<CAAX2jEPvr_KyLdJ03J7KauLc-2fZYu31ekSbwknDmosWUL+HZw@mail.gmail.com>"
    assert parsed.references == parsed.in_reply_to
    assert parsed.date.utcoffset() == timedelta(hours=-4)
    assert "*some*" in parsed.text and "\r" not in parsed.text  # search text prefers text/plain


# ---------------------------------------------------------------- structure

def test_single_part_message_keeps_raw_headers_and_charset_bytes():
    body = "Zażółć gęślą jaźń".encode("iso-8859-2")
    message = raw("From: =?utf-8?q?Anna_Kowalska?= <anna@example.pl>",
                  "To: support@example.com",
                  "Subject: =?iso-8859-2?q?Zam=F3wienie?=",
                  "  nr 12",
                  "Date: Tue, 18 Apr 2023 10:23:34 -0000",
                  "Content-Type: text/plain; charset=iso-8859-2",
                  "Content-Transfer-Encoding: quoted-printable",
                  body=b"Za=BF=F3=B3=E6 g=EA=B6l=B1 ja=BC=F1")
    parsed = mime.parse_raw(message)
    payload = parsed.payload
    assert payload["partId"] == "" and payload["mimeType"] == "text/plain" and "parts" not in payload
    assert [h["name"] for h in payload["headers"]][:3] == ["From", "To", "Subject"]
    # unfolded, still encoded, as Gmail shows them
    assert mime.header(payload, "subject") == "=?iso-8859-2?q?Zam=F3wienie?=  nr 12"
    assert data_of(payload) == body and payload["body"]["size"] == len(body)
    assert payload["body"]["data"] == base64.urlsafe_b64encode(body).decode()
    assert parsed.subject == "Zamówienie nr 12"
    assert parsed.from_ == "Anna Kowalska <anna@example.pl>"
    assert parsed.text == "Zażółć gęślą jaźń"
    assert parsed.date is not None and parsed.date.utcoffset() == timedelta(0)  # -0000: UTC


def test_multipart_part_ids_attachments_and_container_bodies():
    parsed = mime.parse_raw(customer_email_with_attachment())
    top = parsed.payload
    assert top["mimeType"] == "multipart/mixed" and top["body"] == {"size": 0}
    ids = [(p["partId"], p["mimeType"]) for p in top["parts"]]
    assert ids == [("0", "multipart/alternative"), ("1", "application/pdf")]
    assert [p["partId"] for p in top["parts"][0]["parts"]] == ["0.0", "0.1"]
    pdf = top["parts"][1]
    assert pdf["filename"] == "faktura maj.pdf" and "data" not in pdf["body"]
    assert parsed.attachments[pdf["body"]["attachmentId"]] == b"%PDF-1.4 fake"
    assert pdf["body"]["size"] == len(b"%PDF-1.4 fake")
    assert re.fullmatch(r"[A-Za-z0-9_-]+", pdf["body"]["attachmentId"])
    assert mime.parse_raw(customer_email_with_attachment()).attachments.keys() == parsed.attachments.keys()
    assert parsed.text == "Dzień dobry, w załączniku faktura.\n"
    assert parsed.snippet == "Dzień dobry, w załączniku faktura."
    assert parsed.has_attachment


def test_forwarded_message_is_nested_under_its_part():
    inner = raw("From: customer@example.org", "Subject: Original question", body="Where is my parcel?\r\n")
    outer = raw("From: agent@example.com", "Subject: Fwd", 'Content-Type: multipart/mixed; boundary="b"',
                body=b"--b\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n--b\r\n"
                     b"Content-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--b--\r\n")
    parsed = mime.parse_raw(outer)
    forwarded = parsed.payload["parts"][1]
    assert forwarded["mimeType"] == "message/rfc822" and forwarded["body"]["size"] > 0
    nested = forwarded["parts"][0]
    assert nested["partId"] == "1.0" and mime.header(nested, "Subject") == "Original question"
    assert data_of(nested) == b"Where is my parcel?\r\n"
    assert "See below." in parsed.text and "Where is my parcel?" in parsed.text


def test_snippet_escapes_like_gmail_and_stops_at_a_word():
    long_text = "It's <fine> & \"ok\"   " + " ".join(["word"] * 80)
    parsed = mime.parse_raw(raw("Subject: x", "Content-Type: text/plain; charset=utf-8", body=long_text))
    assert parsed.snippet.startswith("It&#39;s &lt;fine&gt; &amp; &quot;ok&quot; word")
    plain = parsed.snippet.replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">")
    plain = plain.replace("&quot;", '"').replace("&amp;", "&")
    assert len(plain) <= mime.SNIPPET_LENGTH and plain.endswith(" word")


def test_html_only_body_becomes_text_for_search_and_snippet():
    html = "<html><head><style>p{color:red}</style></head><body><p>Hello&nbsp;Anna,</p><div>Your order&#39;s late</div></body></html>"
    parsed = mime.parse_raw(raw("Subject: x", "Content-Type: text/html; charset=utf-8", body=html))
    assert parsed.text == "Hello Anna,\nYour order's late"
    assert parsed.snippet == "Hello Anna, Your order&#39;s late"


def test_missing_headers_and_bad_date_do_not_crash():
    parsed = mime.parse_raw(b"no headers at all, just text")
    assert parsed.subject is None and parsed.message_id is None and parsed.date is None
    assert mime.parse_raw(raw("Date: yesterday-ish", body="x")).date is None
    assert mime.parse_raw(b"").payload["body"] == {"size": 0}


def test_raw_utf8_headers_are_text():
    parsed = mime.parse_raw("Subject: Ваш заказ\r\nFrom: Иван <ivan@example.ru>\r\n\r\nТекст".encode())
    assert mime.header(parsed.payload, "Subject") == "Ваш заказ"
    assert parsed.subject == "Ваш заказ" and parsed.text == "Текст"


def test_unknown_charset_falls_back_to_utf8():
    parsed = mime.parse_raw(raw("Content-Type: text/plain; charset=x-unknown-bogus", body="naïve café"))
    assert parsed.text == "naïve café"
    assert mime.decode_text("Łódź".encode("cp1250"), "utf-8") != ""  # never raises


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(TypeError, match="bytes"):
        mime.parse_raw(123)
    with pytest.raises(ValueError, match="payload must be an object"):
        mime.payload_to_email("not a payload")
    with pytest.raises(ValueError, match="invalid base64url"):
        mime.payload_to_raw({"mimeType": "text/plain", "headers": [], "body": {"data": "***"}})


def test_metadata_payload_and_header_injection():
    payload = {"partId": "", "mimeType": "text/plain",
               "headers": [{"name": "Subject", "value": "Hi\r\nBcc: victim@example.org"}]}
    msg = mime.payload_to_email(payload)  # format=metadata: no body
    assert msg["Bcc"] is None and msg["Subject"] == "Hi Bcc: victim@example.org"
    assert msg.get_payload() == ""


def test_header_helper_is_case_insensitive_and_takes_lists():
    headers = [{"name": "Message-Id", "value": "<a@b>"}, {"name": "Message-ID", "value": "<c@d>"}]
    assert mime.header(headers, "message-id") == "<a@b>"
    assert mime.header({"headers": headers}, "MESSAGE-ID") == "<a@b>"
    assert mime.header(headers, "Subject") is None


# ---------------------------------------------------------------- payload -> stdlib message

def test_payload_to_email_rebuilds_headers_bodies_and_attachments():
    parsed = mime.parse_raw(customer_email_with_attachment())
    msg = mime.payload_to_email(parsed.payload, parsed.attachments.get)
    assert msg["Subject"] == "Faktura za maj" and msg.get_content_type() == "multipart/mixed"
    assert msg.get_body(preferencelist=("plain",)).get_content() == "Dzień dobry, w załączniku faktura.\n"
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_filename() == "faktura maj.pdf"
    assert attachment.get_content() == b"%PDF-1.4 fake"
    without = mime.payload_to_email(parsed.payload)  # metadata only: empty attachment body
    assert list(without.iter_attachments())[0].get_payload(decode=True) == b""
    legacy = mime.payload_to_email(parsed.payload, parsed.attachments, policy=compat32)
    assert not hasattr(legacy, "get_body")


def _compare(node: dict, part, attachments: dict, problems: list[str], name: str) -> None:
    """The rebuilt stdlib part has the payload node's headers and decoded body."""
    rebuilt_headers = [(k, mime._header_text(v, None)) for k, v in part.raw_items()]
    if rebuilt_headers != [(h["name"], h["value"]) for h in node["headers"]]:
        problems.append(f"{name} {node['partId']!r}: headers differ")
    mime_type, children = node["mimeType"], node.get("parts")
    if children and mime_type.startswith("multipart/"):
        rebuilt = part.get_payload()
        if len(rebuilt) != len(children):
            problems.append(f"{name} {node['partId']!r}: {len(rebuilt)} parts instead of {len(children)}")
        for child, rebuilt_child in zip(children, rebuilt):
            _compare(child, rebuilt_child, attachments, problems, name)
    elif children:
        _compare(children[0], part.get_payload()[0], attachments, problems, name)
    elif mime_type.startswith("message/"):  # delivery-status fields: same lines
        stored = attachments.get(node["body"].get("attachmentId"), data_of(node))
        if set(mime.part_bytes(part).splitlines()) - {b""} != set(stored.splitlines()) - {b""}:
            problems.append(f"{name} {node['partId']!r}: report fields differ")
    elif mime.part_bytes(part) != attachments.get(node["body"].get("attachmentId"), data_of(node)):
        problems.append(f"{name} {node['partId']!r}: body differs")


@pytest.mark.parametrize("folder,expected", [("bounces-and-autoreplies", 629), ("cpython-email-tests", 48)])
def test_every_real_message_parses_and_round_trips(shared, folder, expected):
    files = sorted((shared / "data" / "mail" / folder).iterdir())
    assert len(files) == expected
    problems: list[str] = []
    for path in files:
        parsed = mime.parse_raw(path.read_bytes())
        assert parsed.payload["partId"] == "" and isinstance(parsed.snippet, str)
        rebuilt = mime.payload_to_email(parsed.payload, parsed.attachments.get)
        _compare(parsed.payload, rebuilt, parsed.attachments, problems, path.name)
        again = mime.parse_raw(mime.payload_to_raw(parsed.payload, parsed.attachments))
        if again.text != parsed.text:
            problems.append(f"{path.name}: search text changed after a round trip")
    assert problems == []


def test_cyrillic_bounce_is_decoded(shared):
    parsed = mime.parse_raw((shared / "data" / "mail" / "bounces-and-autoreplies" / "lhost-mailru-01.eml").read_bytes())
    assert parsed.subject.startswith("Ваше сообщение не доставлено")
    assert parsed.snippet.startswith("Это письмо создано автоматически")
    assert "Mail.Ru" in parsed.text
