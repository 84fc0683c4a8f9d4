"""Message ids of legal but unusual shape copied into what we send (review 27)."""
from __future__ import annotations

import email
import email.policy

import pytest

from plugin_host.executor import message_ids
from plugin_host.sync import ChangeFeed

from .conftest import deliver
from .test_pentest_review25 import hostile, sent_raw


@pytest.mark.parametrize("header, ids", [
    ('<"john smith"@example.org>', ['<"john smith"@example.org>']),  # RFC 5322's obs-id-left: a quoted local part
    ('<"a\\" b"@example.org> <r2@example.org>', ['<"a\\" b"@example.org>', "<r2@example.org>"]),
    ("<abc@[192.0.2.1]>", ["<abc@[192.0.2.1]>"]),  # a domain literal
    ("<DM6PR11MB4475A1B2C3D4E5F6A7B8C9D0E1F2A3B4@DM6PR11MB4475.namprd11.prod.outlook.com>",
     ["<DM6PR11MB4475A1B2C3D4E5F6A7B8C9D0E1F2A3B4@DM6PR11MB4475.namprd11.prod.outlook.com>"]),  # Exchange Online
    ("<CAKx=ab+cd/ef==@mail.gmail.com>", ["<CAKx=ab+cd/ef==@mail.gmail.com>"]),
    ("<a b@example.org>", []),  # a space outside quotes: no id
    ('<"=?utf-8?q?=0D=0ABcc:_v@e?="@example.org>', []),  # an encoded word, also when quoted
    ('<"a\r\nBcc: v@e"@example.org>', []),
    ("<a\x01b@example.org>", []),  # other control characters, unquoted or quoted
    ('<"a\x7f"@example.org>', []),
])
def test_message_ids_of_every_legal_shape_are_read_and_no_other(header, ids):
    assert message_ids(header) == ids


def test_hostile_quotes_are_read_in_one_pass():
    """Quotes that could pair up in many ways (an ambiguous pattern backtracks exponentially on them)."""
    assert message_ids('<"' + '"' * 50_000 + "x" * 50_000) == []
    assert message_ids("<" + '""' * 50_000) == []
    assert message_ids("<" + '""' * 50_000 + "@example.org>") == ["<" + '""' * 50_000 + "@example.org>"]


def acknowledgement_of(tmp_path, headers: str):
    """The acknowledgement a sync sends for a customer's message with ``headers``: its bytes and its parse."""
    from tests.test_host_sync import make_host

    local, host, _ = make_host(tmp_path)
    sent = sent_raw(host)
    deliver(local.gmail(), hostile(headers))
    assert ChangeFeed(host).sync().ok
    (raw,) = sent
    return raw, email.message_from_bytes(raw, policy=email.policy.default)


def test_an_acknowledgement_answers_a_message_id_with_a_quoted_local_part(tmp_path):
    """A Message-ID of RFC 5322's obsolete quoted form ('<"john smith"@…>', which receivers must accept) was
    dropped: the acknowledgement went out without In-Reply-To and References, and Gmail threads a sent message
    into the customer's thread only when they name it."""
    raw, parsed = acknowledgement_of(tmp_path, 'Subject: Order 1234\r\nMessage-ID: <"john smith"@example.org>')
    assert str(parsed["In-Reply-To"]) == '<"john smith"@example.org>'
    assert str(parsed["References"]) == '<"john smith"@example.org>'
    assert "bcc" not in raw.split(b"\r\n\r\n", 1)[0].decode().lower()


def test_only_the_id_of_a_message_id_header_with_more_in_it_goes_into_in_reply_to(tmp_path):
    """A Message-ID holding a real id and, after it, an encoded word with a line break: In-Reply-To is the id."""
    from .test_pentest_review25 import ENCODED_BCC

    raw, parsed = acknowledgement_of(tmp_path, f"Subject: Order 1234\r\nMessage-ID: <m3@example.org> {ENCODED_BCC}")
    assert str(parsed["In-Reply-To"]) == "<m3@example.org>"
    assert str(parsed["References"]) == "<m3@example.org>"
    assert "bcc" not in raw.split(b"\r\n\r\n", 1)[0].decode().lower()


# ------------------------------------------------------------------ header text of what we send

def _b_word(text: str) -> str:
    import base64

    return f"=?utf-8?b?{base64.b64encode(text.encode()).decode()}?="


def test_a_subject_encoded_twice_by_a_broken_client_is_read_as_its_words():
    from plugin_host.executor import clean_header_text

    assert clean_header_text("Re: " + _b_word(_b_word("Zamówienie 1234"))) == "Re: Zamówienie 1234"


def test_a_subject_encoded_deeper_than_the_decodings_still_sets_as_written():
    """Encoded words nested past MAX_DECODINGS: what is left is no encoded word the email package would decode."""
    from email.message import EmailMessage
    from email.policy import SMTP

    from plugin_host.executor import MAX_DECODINGS, clean_header_text

    value = "Help\r\nBcc: victim@example.net"
    for _ in range(MAX_DECODINGS + 1):
        value = _b_word(value)
    text = clean_header_text(value, limit=2000)  # as a reply's subject
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = text
    msg.set_content("x")
    head = msg.as_bytes().split(b"\r\n\r\n", 1)[0].decode().lower()
    assert "bcc" not in [line.split(":", 1)[0] for line in head.split("\r\n")]
    assert str(msg["Subject"]) == text
