"""`serve` polling while Google refuses a call mid-batch (a token that may read but not send): the summary
"N thread(s) failed or not tried; cursor stays" was an ERROR at every poll for as long as it lasted. It is said
once (ERROR), then at INFO, and the round that moves the cursor again says so."""
from __future__ import annotations

import logging

from .google_refusals import scope_missing
from .test_google_refusals import _acknowledged, desk  # noqa: F401 - desk: the fixture

SUMMARY = "failed or not tried; cursor stays"


def _summaries(caplog, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == level and SUMMARY in r.getMessage()]


def test_threads_left_for_later_are_an_error_once_and_the_round_that_catches_up_says_so(desk, caplog):  # noqa: F811
    from plugin_host.scheduler import Scheduler
    from plugin_host.sync import ChangeFeed

    refused = scope_missing("gmail.googleapis.com", "caribou.api.proto.MailboxService.SendMessage")
    refusing = {"on": True}
    host, google = desk(refuse=lambda uri, method: refused if refusing["on"] and uri.split("?")[0].endswith(
        "/messages/send") else None, oauth=True)
    feed = ChangeFeed(host)
    scheduler = Scheduler(host, feed)
    caplog.set_level(logging.INFO)
    caplog.clear()
    for _ in range(4):
        scheduler.once(feed.sync, "poll", "retrying")
    assert len(_summaries(caplog, logging.ERROR)) == 1
    assert len(_summaries(caplog, logging.INFO)) == 3
    assert "cursor moves again" not in caplog.text

    refusing["on"] = False  # the admin ran labeldesk auth with the send scope
    caplog.clear()
    scheduler.once(feed.sync, "poll", "retrying")
    assert _acknowledged(desk.local) == 3
    cleared = [r for r in caplog.records if "cursor moves again" in r.getMessage()]
    assert len(cleared) == 1 and cleared[0].levelno == logging.WARNING
    assert "after 4 sync(s) that left threads for later" in cleared[0].getMessage()

    refusing["on"] = True  # and if it comes back, it is news again
    from .conftest import deliver, make_email
    deliver(desk.local.gmail(), make_email(sender="Late <late@example.org>", subject="One more", body="Hello?"))
    caplog.clear()
    scheduler.once(feed.sync, "poll", "retrying")
    assert len(_summaries(caplog, logging.ERROR)) == 1
