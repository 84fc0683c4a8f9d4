"""Two agents working the same ticket from the side panel at the same moment (each request on its own
waitress thread), and the same button pressed twice: one draft, one owner, and each agent told the truth."""
from __future__ import annotations

import threading

import pytest
import responses

from plugin_host.web import create_app

from .test_addon import addon_host, body_for, post
from .test_agent_ux_review import ARTICLES, open_ticket
from .tokens import serve_certs

ANNA, IVAN = "anna.kowalska@example.com", "ivan.petrov@example.com"


@pytest.fixture
def desk(tmp_path, signer):
    """Both agents' side panel on a host with the knowledge base of tests/test_agent_ux_review.py."""
    folder = tmp_path / "kb"
    folder.mkdir()
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")
    local, host = addon_host(tmp_path, {"enabled": ["autoreply", "sla", "kb_suggest"],
                                        "kb_suggest": {"articles": str(folder)}})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serve_certs(mock, signer)
        yield local, host, create_app(host).test_client()


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
