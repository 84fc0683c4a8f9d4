"""The side panel in an agent's own Gmail: support@ is a Google Group that delivers each message to every agent and
to the support mailbox Labeldesk reads. The event names the agent's copy (their mailbox's ids); the ticket is the
support mailbox's thread with the same Message-ID."""
from __future__ import annotations

import json

from plugin_host.mailbox import LocalMailbox

from . import test_addon
from .conftest import deliver, make_email
from .test_addon import body_for, post, pushed, validate_card

env = test_addon.env  # the same fixture: the add-on on a host with its support mailbox

ANNA = "anna.kowalska@example.com"


class Recording:
    """The agent's mailbox transport, keeping the headers of each request."""

    def __init__(self, http):
        self.http, self.headers = http, []

    def request(self, uri, method="GET", body=None, headers=None, **kwargs):
        self.headers.append(dict(headers or {}))
        return self.http.request(uri, method, body=body, headers=headers, **kwargs)


def own_mailbox(app, filler: int = 5) -> tuple[LocalMailbox, Recording]:
    """Anna's mailbox, with mail of her own first, so her copies' ids are not the support mailbox's."""
    mine = LocalMailbox(ANNA)
    for n in range(filler):
        deliver(mine.gmail(), make_email(sender=f"Colleague {n} <c{n}@example.com>", subject=f"Lunch {n}"))
    recording = Recording(mine.http)
    app.extensions["labeldesk.viewer_http"] = recording
    return mine, recording


def opened(copy: dict, **tokens) -> dict:
    """What Gmail sends when Anna opens her copy: legacy-looking ids of her mailbox, and her tokens."""
    return {"messageId": copy["id"], "threadId": "thread-f:1789000000000000001", "accessToken": "message-token",
            **tokens}


def with_user_token(body: dict, token: str = "anna-oauth-token") -> dict:
    body["authorizationEventObject"]["userOAuthToken"] = token
    return body


def test_a_copy_in_the_agents_own_mailbox_shows_the_support_mailboxs_ticket(env, signer):
    local, host, client = env
    mine, recording = own_mailbox(client.application)
    raw = make_email(subject="Refund for order 77", message_id="<refund-77@customer.example.org>")
    in_support = deliver(local.gmail(), raw)
    copy = deliver(mine.gmail(), raw)
    assert copy["id"] != in_support["id"]
    body = with_user_token(body_for(signer, **opened(copy)))
    card = pushed(post(client, signer, "/addon/message", body))
    validate_card(card)
    assert card["header"]["title"] == "Refund for order 77"  # was "This message could not be opened by Labeldesk."
    assert in_support["threadId"] in json.dumps(card)  # its buttons act on the support mailbox's thread
    read = recording.headers[-1]
    assert read.get("x-goog-gmail-access-token", read.get("X-Goog-Gmail-Access-Token")) == "message-token"
    assert read.get("authorization", read.get("Authorization")) == "Bearer anna-oauth-token"


def test_a_message_the_support_mailbox_does_not_have_says_so(env, signer):
    local, host, client = env
    mine, _ = own_mailbox(client.application)
    personal = deliver(mine.gmail(), make_email(sender="Mum <mum@example.net>", to=ANNA, subject="Sunday"))
    body = with_user_token(body_for(signer, **opened(personal)))
    card = pushed(post(client, signer, "/addon/message", body))
    validate_card(card)
    said = json.dumps(card)
    assert "support mailbox (support@example.com)" in said and "Try again" not in said


def test_without_the_agents_token_the_copy_is_not_guessed(env, signer, caplog):
    # No userOAuthToken (or Gmail refusing it): nothing is read from the agent's mailbox, and the card says where
    # Labeldesk looked rather than that the message is unreadable.
    local, host, client = env
    mine, recording = own_mailbox(client.application)
    raw = make_email(subject="Where is my parcel", message_id="<parcel@customer.example.org>")
    deliver(local.gmail(), raw)
    copy = deliver(mine.gmail(), raw)
    card = pushed(post(client, signer, "/addon/message", body_for(signer, **opened(copy))))
    assert "support mailbox (support@example.com)" in json.dumps(card) and recording.headers == []


def test_composing_in_the_own_mailbox_keeps_the_inserts_without_a_ticket(env, signer):
    # A reply to mail the support mailbox does not have (a colleague's, a personal one): the compose panel still
    # offers what needs no ticket (the agent's full-name signature) instead of an error card.
    local, host, client = env
    mine, _ = own_mailbox(client.application)
    personal = deliver(mine.gmail(), make_email(sender="Mum <mum@example.net>", to=ANNA, subject="Sunday"))
    body = with_user_token(body_for(signer, messageId=personal["id"], threadId="thread-f:1789000000000000002"))
    card = pushed(post(client, signer, "/addon/compose", body))
    validate_card(card)
    assert card["sections"][0]["widgets"][0]["buttonList"]["buttons"], json.dumps(card)


def test_a_message_id_holding_a_search_shows_no_other_ticket(env, signer):
    # Anyone writing to an agent chooses their Message-ID. One holding search words would, as an rfc822msgid: term,
    # find another customer's ticket, and the agent's Take or Insert would act on it: such a header is searched for
    # nothing, and the card says the support mailbox lacks the message.
    local, host, client = env
    mine, _ = own_mailbox(client.application)
    deliver(local.gmail(), make_email(subject="Refund for order 77", message_id="<refund-77@customer.example.org>"))
    raw = make_email(sender="Mallory <m@example.net>", to=ANNA, subject="Hi", message_id="<x@example.net>")
    odd = deliver(mine.gmail(), raw.replace(b"<x@example.net>", b"<x@example.net> OR subject:Refund"))
    card = pushed(post(client, signer, "/addon/message", with_user_token(body_for(signer, **opened(odd)))))
    said = json.dumps(card)
    assert "support mailbox (support@example.com)" in said and "Refund for order 77" not in said
