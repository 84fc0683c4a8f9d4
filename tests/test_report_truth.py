"""``labeldesk report`` figures that disagreed with the independent oracle (tests/test_report_oracle.py), each
pinned by the smallest mailbox that shows it."""
from __future__ import annotations

import json

from click.testing import CliRunner

from plugin_host.cli import get_cli
from plugin_host.sync import ChangeFeed

from .conftest import deliver, make_email
from .test_sla import monday, setup


def report_json(host, monkeypatch) -> dict:
    import plugin_host.runtime as runtime

    monkeypatch.setattr(runtime, "host_from_cli", lambda path=None, http=None: host)
    result = CliRunner().invoke(get_cli(), ["report", "--since", "30d", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def asked(local, key: str, at) -> dict:
    ref = deliver(local.gmail(), make_email(sender=f"{key} <{key}@example.org>", message_id=f"<{key}@example.org>",
                                            subject=f"Question {key}"))
    local.mailbox.messages[ref["id"]].internal_date = int(at.timestamp() * 1000)
    return ref


def label(local, thread_id: str, name: str) -> None:
    """An agent puts ``name`` on the thread in Gmail."""
    labels = local.gmail().users().labels()
    found = next((l["id"] for l in labels.list(userId="me").execute()["labels"] if l["name"] == name), None)
    found = found or labels.create(userId="me", body={"name": name}).execute()["id"]
    local.gmail().users().threads().modify(userId="me", id=thread_id, body={"addLabelIds": [found]}).execute()


def test_a_ticket_resolved_unanswered_is_not_counted_as_unanswered(tmp_path, monkeypatch):
    """Spam resolved without an answer owed none: "unanswered" counts the tickets still waiting for their first
    answer, the ones "longest waiting" is measured over."""
    local, host, clock = setup(tmp_path, monday(17))
    asked(local, "waiting", monday(9))
    spam = asked(local, "spam", monday(10))
    ChangeFeed(host).sync()
    label(local, spam["threadId"], "Helpdesk/Resolved")
    first = report_json(host, monkeypatch)["first_response"]
    assert (first["unanswered"], first["longest_waiting_h"]) == (1, 8.0)
    assert first["met"] + first["breached"] + first["pending"] == 1  # the spam owed no answer: no outcome either


def test_the_report_gives_the_average_first_response_the_practice_asks_for(tmp_path, monkeypatch):
    """support-practice.md, "Measuring": time to first response — average, share within target, longest wait."""
    from .test_sla import answered

    local, host, clock = setup(tmp_path, monday(17))
    answered(local, "a1", "One", monday(9), monday(10))
    answered(local, "a2", "Two", monday(9), monday(11))
    answered(local, "a3", "Three", monday(9), monday(15))
    ChangeFeed(host).sync()
    first = report_json(host, monkeypatch)["first_response"]
    assert (first["mean_h"], first["median_h"], first["max_h"]) == (3.0, 2.0, 6.0)
