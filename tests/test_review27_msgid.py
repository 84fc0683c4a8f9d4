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
])
def test_message_ids_of_every_legal_shape_are_read_and_no_other(header, ids):
    assert message_ids(header) == ids


def test_hostile_quotes_are_read_in_one_pass():
    """Quotes that could pair up in many ways (an ambiguous pattern backtracks exponentially on them)."""
    assert message_ids('<"' + '"' * 50_000 + "x" * 50_000) == []
    assert message_ids("<" + '""' * 50_000) == []
    assert message_ids("<" + '""' * 50_000 + "@example.org>") == ["<" + '""' * 50_000 + "@example.org>"]


def test_an_acknowledgement_answers_a_message_id_with_a_quoted_local_part(tmp_path):
    """A Message-ID of RFC 5322's obsolete quoted form ('<"john smith"@…>', which receivers must accept) was
    dropped: the acknowledgement went out without In-Reply-To and References, and Gmail threads a sent message
    into the customer's thread only when they name it."""
    from tests.test_host_sync import make_host

    local, host, _ = make_host(tmp_path)
    sent = sent_raw(host)
    deliver(local.gmail(), hostile('Subject: Order 1234\r\nMessage-ID: <"john smith"@example.org>'))
    assert ChangeFeed(host).sync().ok
    (raw,) = sent
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(parsed["In-Reply-To"]) == '<"john smith"@example.org>'
    assert str(parsed["References"]) == '<"john smith"@example.org>'
    assert "bcc" not in raw.split(b"\r\n\r\n", 1)[0].decode().lower()

