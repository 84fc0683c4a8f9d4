"""An agent who left the team (``active = false``, as ``agents sync`` marks them) opening the side panel:
every add-on endpoint answers with a card saying so, and no button of theirs changes a ticket."""
from __future__ import annotations

import dataclasses

import pytest

from . import test_agent_ux_review as ux
from .test_addon import body_for, post, validate_card
from .test_addon_two_agents import card_for, drafts_in, owners, take_button
from .test_agent_ux_review import open_ticket

desk = ux.desk  # the side panel on a host with a small knowledge base; Anna and Ivan are agents

ANNA, IVAN = "anna.kowalska@example.com", "ivan.petrov@example.com"


def ivan_left(host) -> None:
    host.config.agents[IVAN] = dataclasses.replace(host.config.agents[IVAN], active=False)


def shown(answer: dict) -> dict:
    """The card an answer shows: pushed by a trigger, or put in place of the card by a button."""
    if "action" in answer:
        return answer["action"]["navigations"][0]["pushCard"]
    return answer["renderActions"]["action"]["navigations"][0].get("updateCard") or \
        answer["renderActions"]["action"]["navigations"][0]["pushCard"]


def says_left(answer: dict) -> bool:
    card = shown(answer)
    validate_card(card)
    text = " ".join(w.get("textParagraph", {}).get("text", "") for s in card["sections"] for w in s["widgets"])
    return card["header"]["title"] == "Not a Labeldesk agent" and "left the support team" in text \
        and "active = false" in text


@pytest.mark.parametrize("path", ["/addon/homepage", "/addon/message", "/addon/compose"])
def test_an_agent_who_left_is_shown_no_queue_ticket_or_compose_text(desk, signer, path):
    local, host, client = desk
    thread, _ = open_ticket(desk, signer, "ru")
    ivan_left(host)
    answer = post(client, signer, path, body_for(signer, user=IVAN, threadId=thread)).get_json()
    assert says_left(answer)
    assert "Возврат" not in str(answer)  # nothing of the customer's ticket


def test_an_agent_who_left_cannot_take_a_ticket_nor_insert_into_it(desk, signer):
    local, host, client = desk
    thread, _ = open_ticket(desk, signer, "ru")
    take = take_button(card_for(desk, signer, IVAN, thread))  # the card he opened while still on the team
    ivan_left(host)
    presses = [take, {"name": "kb.insert_link", "article": "vozvrat"}, {"name": "kb.insert_answer", "article": "vozvrat"},
               {"name": "compose.insert", "key": "anything"}, {"name": "ticket.refresh"}]
    for parameters in presses:
        body = body_for(signer, user=IVAN, threadId=thread)
        body["commonEventObject"]["parameters"] = {"threadId": thread, **parameters}
        answer = post(client, signer, "/addon/action", body).get_json()
        assert says_left(answer), parameters["name"]
    assert owners(host, thread) == [] and drafts_in(local, thread) == []
    # Anna, on the team, still can: the refusal is his, not the ticket's
    post(client, signer, "/addon/action", {**body_for(signer, user=ANNA, threadId=thread), "commonEventObject": {
        "hostApp": "GMAIL", "parameters": {"threadId": thread, **take_button(card_for(desk, signer, ANNA, thread))}}})
    assert owners(host, thread) == ["Anna Kowalska"]


def test_someone_never_on_the_team_is_still_told_to_ask_to_be_added(desk, signer):
    local, host, client = desk
    answer = post(client, signer, "/addon/homepage", body_for(signer, user="guest@example.com")).get_json()
    card = shown(answer)
    assert card["header"]["title"] == "Not a Labeldesk agent" and "Ask your admin to add you" in str(card)


def test_the_demo_preview_offers_only_agents_on_the_team(tmp_path):
    """The preview's agent picker: an agent who left is neither listed nor the default (their panel would be the
    "Not a Labeldesk agent" card), and asking for them by address shows the panel of one on the team."""
    from plugin_host.demo import demo_host
    from plugin_host.sync import ChangeFeed
    from plugin_host.web import create_app

    local, host = demo_host(str(tmp_path))
    ChangeFeed(host).sync()
    first = next(iter(host.config.agents))
    host.config.agents[first] = dataclasses.replace(host.config.agents[first], active=False)
    client = create_app(host, demo=True).test_client()
    index = client.get("/preview/").get_data(as_text=True)
    picker = index.split('<nav aria-label="Agent">', 1)[1].split("</nav>", 1)[0]
    assert first not in picker and host.config.agents[first].full_name not in picker
    assert 'aria-current="true"' in picker and f"agent={first}" not in index  # the default is one on the team
    thread_id = next(t for t in local.mailbox.threads if host.ticket(t) is not None)
    for query in ("", f"?agent={first}"):
        page = client.get(f"/preview/{thread_id}{query}").get_data(as_text=True)
        assert "Not a Labeldesk agent" not in page and "Service level" in page
        assert f"agent={first}" not in page and f'value="{first}"' not in page
