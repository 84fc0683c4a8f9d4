"""Mail from Russian- and Polish-speaking customers, end to end: charsets their clients still send,
their clients' quoting and signatures, their auto-replies and robots, their names, their greetings."""
from __future__ import annotations

import pytest

from plugin_host.config import load_config
from plugin_host.tickets import build_ticket

from .conftest import deliver, make_email


@pytest.fixture
def config(tmp_path):
    data = {"mailbox": {"address": "support@example.com"}, "host": {"state_dir": str(tmp_path / "state")}}
    return load_config(tmp_path / "labeldesk.toml", data=data, environ={})


def ticket_of(gmail, config, raw: bytes):
    """The ticket the host builds for ``raw`` delivered to the local mailbox (None: no customer mail)."""
    thread_id = deliver(gmail, raw)["threadId"]
    thread = gmail.users().threads().get(userId="me", id=thread_id, format="full").execute()
    return build_ticket(thread, config)


def eight_bit(body: bytes, content_type: str = "text/plain", sender: bytes = b"Jan <jan@example.org>") -> bytes:
    """A message whose 8-bit body declares no charset (or only US-ASCII), as old clients and web forms send."""
    return (b"From: " + sender + b"\r\nTo: support@example.com\r\nSubject: test\r\n"
            b"Message-ID: <" + str(abs(hash(body))).encode() + b"@example.org>\r\n"
            b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: " + content_type.encode() + b"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body)


# ------------------------------------------------------------------ charsets

@pytest.mark.parametrize("charset, text, language", [
    ("cp1251", "Здравствуйте! Не могу оплатить заказ, пишет ошибка.", "ru"),
    ("koi8_r", "Здравствуйте! Не могу оплатить заказ, пишет ошибка.", "ru"),
    ("iso8859_2", "Dzień dobry, nie mogę zapłacić za zamówienie, błąd płatności.", "pl"),
    ("cp1250", "Dzień dobry, nie mogę zapłacić za zamówienie, świeży błąd.", "pl"),
])
@pytest.mark.parametrize("declared", ["text/plain", "text/plain; charset=us-ascii"])
def test_undeclared_8bit_charset_is_guessed_from_the_body(gmail, config, charset, text, language, declared):
    """Undeclared Windows-1251/KOI8-R/ISO-8859-2 bodies were read as Windows-1252 ("Çäðàâñòâóéòå")."""
    ticket = ticket_of(gmail, config, eight_bit(text.encode(charset), declared))
    assert ticket.messages[0].text == text
    assert ticket.language == language


def test_charset_is_guessed_from_the_start_of_a_long_body():
    from plugin_host.mailbox.mime import GUESS_BYTES, decode_text

    text = "Не могу оплатить заказ. " * 20_000
    assert len(text.encode("cp1251")) > GUESS_BYTES
    assert decode_text(text.encode("cp1251"), None) == text
