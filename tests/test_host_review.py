"""Host core review: the loop guard knows our addresses in every spelling, configuration mistakes are
explained (with a suggestion for a typo), push notifications are taken once, credentials are named."""
from __future__ import annotations

import pytest

from plugin_host.loopguard import should_acknowledge
from tests.conftest import deliver, make_email
from tests.test_host_sync import sent_acks, synced_host


def parsed(raw: bytes):
    import email
    import email.policy

    return email.message_from_bytes(raw, policy=email.policy.compat32)


OWN = frozenset({"support@example.com", "help@example.com"})


# 1. Our own address with a +tag, in other letters, or as the Reply-To is never answered.
@pytest.mark.parametrize("sender, headers", [
    ("Support <Support+Test@Example.COM>", {}),
    ("HELP+shop@example.com", {}),
    ("Jane Customer <jane@example.org>", {"Reply-To": "Support <support+replies@example.com>"}),
    ("Jane Customer <jane@example.org>", {"Reply-To": "jane@example.org, HELP@example.com"}),
])
def test_our_own_address_in_any_spelling_is_not_acknowledged(sender, headers):
    decision = should_acknowledge(parsed(make_email(sender=sender, headers=headers)), OWN)
    assert not decision.acknowledge and "own address" in decision.reason


def test_a_customer_with_a_plus_address_is_still_acknowledged():
    assert should_acknowledge(parsed(make_email(sender="jane+shop@example.org")), OWN).acknowledge


def test_mail_from_our_plus_address_gets_no_acknowledgement(tmp_path):
    local, host, _, feed = synced_host(tmp_path)
    deliver(local.gmail(), make_email(sender="Support <Support+test@example.com>", message_id="<self@example.com>"))
    deliver(local.gmail(), make_email(headers={"Reply-To": "support+x@example.com"}, message_id="<rt@example.org>"))
    assert feed.sync().ok
    assert sent_acks(local) == []
