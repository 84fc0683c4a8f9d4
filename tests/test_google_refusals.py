"""What the host does when Google refuses as admins meet it in production: credentials refused at the token
endpoint, an API not enabled, a scope not granted, a user without Gmail, quotas, networks down (review 52).

Each case goes through google-auth, google-auth-httplib2 and googleapiclient as against Google (the stand-in in
``google_refusals.py`` answers the token endpoint and the refusals; the local mailbox the rest)."""
from __future__ import annotations

import json
import logging

import httplib2
import pytest

from .conftest import deliver, make_email
from .google_refusals import (GRANTED, SECRETS, TOKEN_ENDPOINT_DOWN, Google, authorized_user_token,
                              service_account_key)


@pytest.fixture
def desk(tmp_path, monkeypatch):
    """``desk(token_answers, refuse, oauth=False)`` → (host, google): a host on a service account (or a stored OAuth
    token) whose every request goes through the Google stand-in, with three new customer tickets waiting."""
    from plugin_host.config import load_config
    from plugin_host.mailbox import LocalMailbox
    from plugin_host.runtime import build_host

    monkeypatch.setattr("time.sleep", lambda seconds: None)  # google-auth's own backoff on the token endpoint
    local = LocalMailbox("support@example.com")
    for number in range(3):
        deliver(local.gmail(), make_email(sender=f"Customer {number} <c{number}@example.org>",
                                          subject=f"Order {number} is late", body=f"Where is order {number}?"))

    def make(token_answers=(GRANTED,), refuse=None, oauth=False, plugins=("autoreply", "sla")):
        if oauth:
            (tmp_path / "token.json").write_text(json.dumps(authorized_user_token()), encoding="utf-8")
            credentials = 'oauth_token = "token.json"'
        else:
            (tmp_path / "sa.json").write_text(json.dumps(service_account_key()), encoding="utf-8")
            credentials = 'credentials = "sa.json"'
        (tmp_path / "labeldesk.toml").write_text(
            f'[mailbox]\naddress = "support@example.com"\n{credentials}\n[host]\nstate_dir = "state"\n'
            f'[plugins]\nenabled = {json.dumps(list(plugins))}\n', encoding="utf-8")
        google = Google(local, token_answers, refuse)
        monkeypatch.setattr("plugin_host.gmail.AnswerOrError", lambda timeout=60: google)
        host = build_host(load_config(tmp_path / "labeldesk.toml", environ={}))
        host.client.sleep = lambda seconds: None
        return host, google
    make.local = local
    return make


def _sync(host):
    from plugin_host.sync import ChangeFeed

    return ChangeFeed(host).sync()


def _acknowledged(local) -> int:
    return sum(1 for m in local.mailbox.messages.values() if "SENT" in m.label_ids)


# 1. The token endpoint unreachable a moment (DNS, a reset connection) while the token was refreshed: google-auth's
#    TransportError was no retryable failure, so the whole sync failed at once, while the same blip on an API call
#    is retried; the token endpoint's 503 after google-auth's own three tries (RefreshError, retryable) likewise.
@pytest.mark.parametrize("blip", [httplib2.ServerNotFoundError("Unable to find the server at oauth2.googleapis.com"),
                                  ConnectionResetError(104, "Connection reset by peer"), TOKEN_ENDPOINT_DOWN],
                         ids=["dns", "reset", "token-endpoint-503"])
def test_a_token_endpoint_blip_is_retried_like_any_call(desk, blip):
    host, google = desk(token_answers=[blip, blip, blip, GRANTED] if isinstance(blip, tuple) else [blip, GRANTED])
    report = _sync(host)
    assert report.ok and len(report.threads) == 3
    assert _acknowledged(desk.local) == 3
    assert host.client.stats["retries"]["gmail.users.getProfile"] == 1
