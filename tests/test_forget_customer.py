"""``labeldesk forget``: a customer who asked to be forgotten (GDPR art. 17) leaves nothing in the state folder.

The support team deletes the customer's threads in Gmail; what Labeldesk copied out of them (the questions an
agent answered with an article, kept in ``kb-feedback.jsonl`` so later questions rank it) goes with one command,
also while ``serve`` runs and writes the same file."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from plugin_host.cli import get_cli
from plugin_host.config import load_config
from plugin_host.mailbox import LocalMailbox
from plugin_host.runtime import build_host
from plugins.kb_suggest import store

from .conftest import deliver, make_email

AGENTS = {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}}


def kb_host(tmp_path, local=None):
    folder = tmp_path / "kb"
    folder.mkdir(exist_ok=True)
    (folder / "refunds.md").write_text("---\ntitle: How refunds work\nurl: https://help.example.com/r\n---\n"
                                       "Refunds reach your card within 5 business days.\n")
    data = {"mailbox": {"address": "support@example.com"}, "agents": AGENTS,
            "plugins": {"enabled": ["kb_suggest"], "kb_suggest": {"articles": str(folder)}},
            "host": {"state_dir": str(tmp_path / "state")}}
    local = local or LocalMailbox()
    return local, build_host(load_config(tmp_path / "labeldesk.toml", data=data, environ={}), http=local.http)


def insert_for(local, host, sender: str, body: str) -> str:
    """A customer writes; an agent presses Insert answer in the side panel. Returns the thread id."""
    ref = deliver(local.gmail(), make_email(sender=sender, subject="Refund", body=body,
                                            message_id=f"<{body[:8].replace(' ', '')}@example.org>"))
    agent = host.config.agents["anna.kowalska@example.com"]
    reply = host.card_action("kb.insert_answer", {"article": "refunds"}, {}, ref["threadId"], agent)
    assert "Inserted" in reply.notification
    return ref["threadId"]


def feedback(tmp_path) -> list[dict]:
    path = tmp_path / "state" / "kb-feedback.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def forgetting(tmp_path, monkeypatch):
    """Two customers' inserts; Jane asked to be forgotten and her thread was deleted in Gmail."""
    import plugin_host.runtime as runtime

    local, host = kb_host(tmp_path)
    jane = insert_for(local, host, "Jane Cooper <Jane.Cooper@example.org>", "When will my refund reach my card?")
    insert_for(local, host, "Bob <bob@example.net>", "Refund for order 77 still missing")
    local.gmail().users().threads().delete(userId="me", id=jane).execute()
    monkeypatch.setattr(runtime, "host_from_cli", lambda path=None, http=None: host)
    return local, host


def test_forget_removes_the_customers_inserts_and_says_so(tmp_path, forgetting):
    result = CliRunner().invoke(get_cli(), ["forget", "jane.cooper@EXAMPLE.org"])
    assert result.exit_code == 0, result.output
    assert "kb-feedback.jsonl: 1 insert" in result.output
    questions = [item["question"] for item in feedback(tmp_path)]
    assert questions == ["Refund\nRefund for order 77 still missing"]
    assert "jane" not in (tmp_path / "state" / "kb-feedback.jsonl").read_text().lower()
    again = CliRunner().invoke(get_cli(), ["forget", "jane.cooper@example.org"])
    assert again.exit_code == 0 and "nothing" in again.output.lower()


def test_an_insert_names_its_customer_only_by_a_digest(tmp_path, forgetting):
    """The file needs to know whose question it is only to forget it: no address in it, in clear."""
    text = (tmp_path / "state" / "kb-feedback.jsonl").read_text()
    assert "@" not in text and all(item.get("customers") for item in feedback(tmp_path))


def test_forget_finds_the_inserts_older_versions_wrote(tmp_path, forgetting):
    """Lines written before inserts named their customer: by the customer's threads Gmail still holds, or by
    the address in the question's text."""
    local, host = forgetting
    path = tmp_path / "state" / "kb-feedback.jsonl"
    kept = path.read_text()
    thread = deliver(local.gmail(), make_email(sender="jane.cooper@example.org", subject="Again",
                                               message_id="<again@example.org>"))["threadId"]
    older = [{"question": "refund please", "article": "refunds", "content": "0123456789abcdef", "thread": thread},
             {"question": "my login is jane.cooper@example.org, refund?", "article": "refunds"},
             {"question": "someone else's refund", "article": "refunds", "thread": "19affff"}]
    path.write_text("".join(json.dumps(item) + "\n" for item in older) + kept)
    result = CliRunner().invoke(get_cli(), ["forget", "jane.cooper@example.org"])
    assert result.exit_code == 0 and "kb-feedback.jsonl: 3 inserts" in result.output, result.output
    assert [item["question"] for item in feedback(tmp_path)] == ["someone else's refund",
                                                                 "Refund\nRefund for order 77 still missing"]


def test_forget_refuses_what_is_no_address(forgetting):
    result = CliRunner().invoke(get_cli(), ["forget", "jane"])
    assert result.exit_code == 2 and "not an email address" in result.output


def test_an_insert_while_forget_holds_the_file_is_not_lost(tmp_path, forgetting, monkeypatch):
    """``serve`` appends while ``forget`` rewrites: both take ``kb-feedback.lock``, so an insert is never written
    into the file forget is about to replace. One that cannot get the lock in time is not learnt, with a warning
    (the agent's draft is made all the same)."""
    from plugin_host.files import exclusive

    monkeypatch.setattr(store, "FEEDBACK_LOCK_SECONDS", 0.05)
    before = (tmp_path / "state" / "kb-feedback.jsonl").read_text()
    with exclusive(tmp_path / "state", "kb-feedback"):
        store.remember_insert(tmp_path / "state", "refund?", "refunds", thread="19a9", customers=("x",))
    assert (tmp_path / "state" / "kb-feedback.jsonl").read_text() == before
    store.remember_insert(tmp_path / "state", "refund?", "refunds", thread="19a9", customers=("x",))
    assert feedback(tmp_path)[-1]["question"] == "refund?"


def test_the_log_does_not_name_the_customer_a_skipped_acknowledgement_was_for(tmp_path, caplog):
    """The log outlives a forgotten customer (journald, log files): an acknowledgement left out says why and names
    the thread, not the customer's address (``labeldesk sync`` prints both to the admin running it)."""
    import logging

    from plugin_host.sync import ChangeFeed

    from .test_host_sync import make_host

    config = {"mailbox": {"address": "support@example.com"}, "plugins": {"enabled": ["autoreply", "sla"]}}
    local, host, _ = make_host(tmp_path, config=config)
    g = local.gmail()
    deliver(g, make_email(sender="Jane <jane.cooper@example.org>", message_id="<log1@example.org>", subject="One"))
    deliver(g, make_email(sender="Jane <jane.cooper@example.org>", message_id="<log2@example.org>", subject="Two"))
    deliver(g, make_email(message_id="<log3@example.org>", subject="Three").replace(
        b"From: Jane Customer <jane@example.org>", "From: Jän <jän@example.org>".encode()))
    with caplog.at_level(logging.INFO):
        report = ChangeFeed(host).sync()
    skipped = [line for p in report.threads for line in p.outcome.skipped]
    assert any("acknowledged within" in line for line in skipped)
    assert any("internationalised address" in line for line in skipped)
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert any("acknowledged within" in line for line in logged)
    assert not [line for line in logged if "jane.cooper@" in line or "jän@" in line]


def test_a_search_that_gmail_failed_is_logged_without_the_customers_address(tmp_path, caplog):
    """The "acknowledged lately?" search (``in:sent to:<customer>``) retried after Gmail's 503, then failing: the log
    line and the error (logged by the sync) name the method and the search without the address."""
    import logging

    from plugin_host.errors import GmailError

    from .test_host_sync import make_host

    local, host, _ = make_host(tmp_path)
    host.client.sleep = lambda seconds: None
    local.app.faults.fail_next("gmail.users.messages.list", 1)
    with caplog.at_level(logging.INFO):
        host.client.list_message_ids(q="in:sent to:jane.cooper@example.org after:1")
    local.app.faults.fail_next("gmail.users.messages.list", 20)
    with pytest.raises(GmailError) as failed:
        host.client.list_message_ids(q="in:sent to:jane.cooper@example.org after:1")
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert any("gmail.users.messages.list in:sent to:… after:1" in line for line in logged), logged
    assert "in:sent to:… after:1" in str(failed.value) and "jane" not in str(failed.value)
    assert not [line for line in logged if "jane" in line]


@pytest.mark.parametrize("message_id", ["<CAGx=Ab+cD_eF@mail.gmail.com>", "<0100018c$a1%b@email.amazonses.com>"])
def test_a_failed_message_id_search_keeps_the_message_id(message_id):
    """A Message-ID names no one's mailbox and is what the admin looks the message up by; Gmail's own ones hold
    '=' (and other senders' '$', '%'), after which the rest of the id read as an address and was cut out
    ("rfc822msgid:<CAGx=…>"). The addresses searched for are still left out."""
    from plugin_host.gmail import search_detail

    assert search_detail(f"in:anywhere rfc822msgid:{message_id}") == f"in:anywhere rfc822msgid:{message_id}"
    assert search_detail(f"rfc822msgid:{message_id} OR to:jane@example.org") == f"rfc822msgid:{message_id} OR to:…"


def test_a_press_waits_for_the_file_no_longer_than_its_own_bound_while_another_press_waits(tmp_path, monkeypatch):
    """While ``labeldesk forget`` (or a stuck process) holds ``kb-feedback.lock``, every press in ``serve`` waits
    FEEDBACK_LOCK_SECONDS at most, then makes its draft unlearnt; the presses made meanwhile do not queue behind
    each other's waits (the fifth agent's draft made after five waits)."""
    import threading

    from plugin_host.files import exclusive

    state = tmp_path / "state"
    waiting, first_done = threading.Event(), threading.Event()
    real = store.exclusive

    def announced(*args, **kwargs):
        waiting.set()
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "exclusive", announced)
    with exclusive(state, "kb-feedback"):
        monkeypatch.setattr(store, "FEEDBACK_LOCK_SECONDS", 20.0)
        first = threading.Thread(target=lambda: (store.remember_insert(state, "one?", "refunds", thread="19b1"),
                                                 first_done.set()))
        first.start()
        assert waiting.wait(10)
        monkeypatch.setattr(store, "FEEDBACK_LOCK_SECONDS", 0.05)
        store.remember_insert(state, "two?", "refunds", thread="19b2")
        assert not first_done.is_set()  # the second press gave up while the first still waited
    first.join(60)
    questions = [item["question"] for item in feedback(tmp_path)]
    assert "one?" in questions and "two?" not in questions


def test_a_dry_run_counts_the_inserts_and_asks_no_plugin_that_would_remove_them(tmp_path, forgetting):
    """``forget --dry-run`` changes nothing: the knowledge base counts what it would remove; a plugin whose
    ``forget_customer`` takes no ``dry_run`` (written before it existed) would remove, so it is not asked, and said."""
    from plugin_host import hookimpl

    local, host = forgetting
    calls = []

    class Older:
        @hookimpl
        def forget_customer(self, addresses, digests, threads, settings):
            calls.append(addresses)
            return ["crm.json: 1 contact"]

    path = tmp_path / "state" / "kb-feedback.jsonl"
    before = path.read_text()
    host.pm.register(Older(), name="older")
    try:
        dry = CliRunner().invoke(get_cli(), ["forget", "--dry-run", "jane.cooper@example.org"])
        assert dry.exit_code == 0, dry.output
        assert "kb-feedback.jsonl: would remove 1 insert" in dry.output and "removed" not in dry.output
        assert "left: plugin older was not asked" in dry.output and not calls
        assert path.read_text() == before
        done = CliRunner().invoke(get_cli(), ["forget", "jane.cooper@example.org"])
        assert "removed kb-feedback.jsonl: 1 insert" in done.output and "removed crm.json: 1 contact" in done.output
        assert calls == [["jane.cooper@example.org"]]
    finally:
        host.pm.unregister(name="older")
