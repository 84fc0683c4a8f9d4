"""The add-on as Google drives it: every shared fixture request body posted to every endpoint, and each
answer checked against the add-on protocol reference (../shared/reference/gmail-addon.md): the response
wrapper, valid Card v1 JSON, widget limits and the fields Card v1 marks "Required" (which
``Card.from_json`` does not check)."""
from __future__ import annotations

import json

import pytest
import responses

from plugin_host.web import create_app

from .conftest import deliver, make_email
from .test_addon import CLIENT_ID, addon_host, body_for, post, validate_card
from .tokens import serve_certs



@pytest.fixture
def desk(tmp_path, signer):
    """The add-on served by a host on a local mailbox, Google's certificates mocked (as tests/test_addon.py)."""
    local, host = addon_host(tmp_path)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serve_certs(mock, signer)
        yield local, host, create_app(host).test_client()


ENDPOINTS = ("/addon/homepage", "/addon/message", "/addon/compose", "/addon/action")
FIXTURES = ("compose_post.json", "generate_reply_post.json")


def required_fields_present(card: dict) -> None:
    """Card v1's "Required" fields are non-empty: an empty string is an unset field in proto3 JSON."""
    assert card.get("header", {}).get("title"), "card header without a title"

    def walk(node, where="card"):
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}[{i}]")
            return
        if not isinstance(node, dict):
            return
        for kind, value in node.items():
            if kind == "decoratedText":
                assert value.get("text"), f"{where}.decoratedText without text: {value}"
            if kind == "buttons":
                for button in value:
                    assert button.get("onClick") and (button.get("text") or button.get("icon")), f"{where}: {button}"
            if kind in ("selectionInput", "textInput"):
                assert value.get("name"), f"{where}.{kind} without a name"
            if kind == "action" and isinstance(value, dict) and "function" in value:
                assert value["function"].startswith("https://") and "?" not in value["function"], value
            walk(value, f"{where}.{kind}")
    walk(card)


def cards_of(answer: dict, endpoint: str) -> list[dict]:
    """The cards of an answer, after checking its wrapper: a trigger's is a bare ``action``, a button's
    ``renderActions`` (reference: "What we return")."""
    if endpoint == "/addon/action":
        assert set(answer) == {"renderActions"}, answer
        action = answer["renderActions"].get("action", {})
    else:
        assert set(answer) == {"action"}, answer
        action = answer["action"]
    found = []
    for navigation in action.get("navigations", []):
        assert len(navigation) == 1 and set(navigation) <= {"pushCard", "updateCard", "pop", "popToRoot"}
        found += [c for c in navigation.values() if isinstance(c, dict)]
    return found


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("fixture", FIXTURES)
def test_every_fixture_body_on_every_endpoint(desk, signer, shared, fixture, endpoint):
    local, host, client = desk
    deliver(local.gmail(), make_email())
    body = json.loads((shared / "fixtures" / "addon" / fixture).read_text())
    body["authorizationEventObject"]["userIdToken"] = signer.token(CLIENT_ID, "anna.kowalska@example.com")
    response = post(client, signer, endpoint, body)
    assert response.status_code == 200 and response.is_json
    shown = cards_of(response.get_json(), endpoint)
    assert shown
    for card in shown:
        validate_card(card)
        required_fields_present(card)


def test_an_earlier_ticket_without_a_subject_is_still_named(desk, signer):
    """Card v1's DecoratedText.text is required: an earlier ticket whose Subject header is empty made the
    "Earlier tickets" line empty, a card Gmail would not render."""
    local, host, client = desk
    gmail = local.gmail()
    deliver(gmail, make_email(sender="kim@example.org", subject="", body="First question", message_id="<k1@example.org>"))
    ref = deliver(gmail, make_email(sender="kim@example.org", subject="Second question", body="Another one",
                                    message_id="<k2@example.org>"))
    response = post(client, signer, "/addon/message", body_for(signer, threadId=ref["threadId"], messageId=ref["id"]))
    card = response.get_json()["action"]["navigations"][0]["pushCard"]
    validate_card(card)
    required_fields_present(card)
    assert "(no subject)" in json.dumps(card)
