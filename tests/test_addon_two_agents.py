"""Two agents working the same ticket from the side panel at the same moment (each request on its own
waitress thread), and the same button pressed twice: one draft, one owner, and each agent told the truth."""
from __future__ import annotations

import threading

from . import test_agent_ux_review as ux
from .test_addon import body_for, post
from .test_agent_ux_review import open_ticket

desk = ux.desk  # the same fixture: the side panel on a host with that file's knowledge base, for both agents

ANNA, IVAN = "anna.kowalska@example.com", "ivan.petrov@example.com"


def press_as(desk, signer, agent, thread, **parameters) -> dict:
    body = body_for(signer, user=agent, threadId=thread)
    body["commonEventObject"]["parameters"] = {"threadId": thread, **parameters}
    return post(desk[2], signer, "/addon/action", body).get_json()


def toast(answer: dict) -> str:
    return answer["renderActions"].get("action", {}).get("notification", {}).get("text", "")


def drafts_in(local, thread) -> list[dict]:
    listed = local.gmail().users().drafts().list(userId="me").execute().get("drafts", [])
    return [d for d in listed if d["message"]["threadId"] == thread]


class _Watched:
    """A thread lock that says when a request has to wait for it (another request holds it)."""

    def __init__(self, lock, waits: threading.Event):
        self.lock, self.waits = lock, waits

    def __enter__(self):
        if not self.lock.acquire(blocking=False):
            self.waits.set()
            self.lock.acquire()
        return self

    def __exit__(self, *exc):
        self.lock.release()


def test_two_agents_pressing_insert_answer_at_once_get_one_draft(desk, signer, monkeypatch):
    local, host, client = desk
    thread, _ = open_ticket(desk, signer, "en")
    real_lock, real_create = host.thread_lock, host.client.create_draft
    ivan_waits_or_done, answers, started = threading.Event(), {}, []
    monkeypatch.setattr(host, "thread_lock", lambda thread_id: _Watched(real_lock(thread_id), ivan_waits_or_done))

    def ivan_presses():
        answers["ivan"] = press_as(desk, signer, IVAN, thread, name="kb.insert_answer", article="refunds")
        ivan_waits_or_done.set()

    def create_draft(raw, thread_id=None):  # while Anna's draft is being made, Ivan presses the same button
        if not started:
            started.append(threading.Thread(target=ivan_presses))
            started[0].start()
            ivan_waits_or_done.wait(10)
        return real_create(raw, thread_id=thread_id)

    monkeypatch.setattr(host.client, "create_draft", create_draft)
    anna = press_as(desk, signer, ANNA, thread, name="kb.insert_answer", article="refunds")
    started[0].join(10)
    assert len(drafts_in(local, thread)) == 1  # not two replies waiting to be sent to the same customer
    assert "openCreatedDraftActionMarkup" in str(anna)
    assert "has a draft already" in toast(answers["ivan"])


def test_the_same_insert_pressed_twice_makes_one_draft(desk, signer):
    local, host, client = desk
    thread, _ = open_ticket(desk, signer, "pl")
    first = press_as(desk, signer, ANNA, thread, name="kb.insert_answer", article="zwrot")
    second = press_as(desk, signer, ANNA, thread, name="kb.insert_link", article="zwrot")
    assert "openCreatedDraftActionMarkup" in str(first) and "has a draft already" in toast(second)
    assert len(drafts_in(local, thread)) == 1


def take_button(card: dict) -> dict:
    """The parameters of the card's Take button, as Gmail sends them back when it is pressed."""
    for section in card["sections"]:
        for widget in section["widgets"]:
            for button in widget.get("buttonList", {}).get("buttons", []):
                if button["text"] == "Take":
                    return {p["key"]: p["value"] for p in button["onClick"]["action"]["parameters"]}
    raise AssertionError("no Take button")


def card_for(desk, signer, agent, thread) -> dict:
    answer = post(desk[2], signer, "/addon/message", body_for(signer, user=agent, threadId=thread)).get_json()
    return answer["action"]["navigations"][0]["pushCard"]


def owners(host, thread) -> list[str]:
    return host.ticket(thread).labels_under("Owner")


def test_take_from_a_card_that_showed_nobody_does_not_take_a_ticket_a_colleague_just_took(desk, signer):
    local, host, client = desk
    thread, _ = open_ticket(desk, signer, "ru")
    ivans_card = card_for(desk, signer, IVAN, thread)  # "Owner: nobody yet", Take
    annas = press_as(desk, signer, ANNA, thread, **take_button(card_for(desk, signer, ANNA, thread)))
    assert toast(annas) == "Anna Kowalska now owns this ticket."
    ivans = press_as(desk, signer, IVAN, thread, **take_button(ivans_card))  # a moment later, from his card
    assert owners(host, thread) == ["Anna Kowalska"]  # Anna, told she owns it, still does
    assert "Anna Kowalska took this ticket" in toast(ivans) and "Take again" in toast(ivans)
    # his card now shows her as the owner; its Take takes it over, as Take beside a colleague's name does
    shown = ivans["renderActions"]["action"]["navigations"][0]["updateCard"]
    taken = press_as(desk, signer, IVAN, thread, **take_button(shown))
    assert owners(host, thread) == ["Ivan Petrov"] and toast(taken) == "Ivan Petrov now owns this ticket."


def test_two_agents_pressing_take_at_once_one_owns_it_and_the_other_is_told(desk, signer):
    local, host, client = desk
    thread, _ = open_ticket(desk, signer, "pl")
    buttons = {agent: take_button(card_for(desk, signer, agent, thread)) for agent in (ANNA, IVAN)}
    together, answers = threading.Barrier(2), {}

    def take(agent):
        together.wait()
        answers[agent] = toast(press_as(desk, signer, agent, thread, **buttons[agent]))

    pressing = [threading.Thread(target=take, args=(agent,)) for agent in (ANNA, IVAN)]
    [t.start() for t in pressing]
    [t.join(10) for t in pressing]
    (owner,) = owners(host, thread)
    winner, loser = (ANNA, IVAN) if owner == "Anna Kowalska" else (IVAN, ANNA)
    assert answers[winner] == f"{owner} now owns this ticket."
    assert answers[loser].startswith(f"{owner} took this ticket")


def test_take_pressed_twice_says_the_ticket_is_yours_already(desk, signer):
    local, host, client = desk
    thread, _ = open_ticket(desk, signer, "en")
    button = take_button(card_for(desk, signer, ANNA, thread))
    press_as(desk, signer, ANNA, thread, **button)
    again = press_as(desk, signer, ANNA, thread, **button)
    assert toast(again) == "You own this ticket already." and owners(host, thread) == ["Anna Kowalska"]
