"""Every Gmail call of every write path broken in turn (tests/crash_sweep.py): nothing lost or sent twice.

Write paths: the sync of new customer mail (acknowledgements, labels), the SLA sweep (at-risk and breach labels,
alert emails, breach tasks, second notices, a breach notice answering its at-risk notice), the add-on's buttons (Take, Set priority, Escalate, Insert answer)
and a Gmail push. Each runs on a small mailbox so that every call can be broken in every way and the whole
file stays fast.
"""
from __future__ import annotations

import base64
import json
import threading
from datetime import datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import responses

from plugin_host.sync import ChangeFeed

from .conftest import make_email
from .crash_sweep import KILLS, LEAD, SUPPORT, SWEPT, Scenario, World, sweep
from .tokens import CERTS_URL, serve_certs

WAW = ZoneInfo("Europe/Warsaw")
MONDAY = datetime(2026, 11, 16, 9, 0, tzinfo=WAW)  # an ordinary working Monday
FRIDAY = MONDAY - timedelta(days=3)
SLA = {"hours": "Mon-Fri 09:00-17:00", "team_lead": LEAD,
       "targets": {"normal": {"first_response": "4h", "next_response": "4h"}}}
BASE = "https://labeldesk.example.com"
ADDON = {"base_url": BASE, "service_account_email": "service-42@gcp-sa-gsuiteaddons.iam.gserviceaccount.com",
         "oauth_client_id": "42-abc.apps.googleusercontent.com", "google_certs_url": CERTS_URL}
PUSHER = "gmail-push@project.iam.gserviceaccount.com"
PUSH = {"push_audience": BASE + "/gmail/push", "push_service_account": PUSHER}
MAILBOX = {**PUSH, "aliases": ["help@example.com"]}
SIGNER = {}


def plugins(tmp_path, kb: bool = False) -> dict:
    """autoreply and sla; kb_suggest too for the Insert button (elsewhere it only adds time: it writes nothing)."""
    if not kb:
        return {"enabled": ["autoreply", "sla"], "sla": SLA}
    articles = tmp_path.parent / "kb"
    articles.mkdir(exist_ok=True)
    (articles / "refunds.md").write_text("---\ntitle: How refunds work\nurl: https://help.example.com/refunds\n---\n"
                                         "Refunds reach your card within 5 business days of the return.\n")
    return {"enabled": ["autoreply", "sla", "kb_suggest"], "sla": SLA,
            "kb_suggest": {"articles": str(articles), "semantic": "off"}}


def world(tmp_path) -> World:
    return World(tmp_path, plugins(tmp_path), MONDAY, addon=ADDON, mailbox=MAILBOX)


def world_with_kb(tmp_path) -> World:
    return World(tmp_path, plugins(tmp_path, kb=True), MONDAY, addon=ADDON, mailbox=MAILBOX)


def customer(name: str, address: str, subject: str, n: int, body: str = "Hello, my order has not arrived yet.",
             **kw) -> bytes:
    return make_email(sender=f"{name} <{address}>", subject=subject, body=body, message_id=f"<c{n}@example.org>", **kw)


# -- the sync of new customer mail ---------------------------------------------------------------------

def new_mail(w: World) -> None:
    """A ticket from this morning, then: two new tickets, the same question from one of them to the other
    address (one acknowledgement a customer), and a follow-up in the morning's ticket."""
    w.clock.now = MONDAY
    old = w.deliver(customer("Tom Baker", "tom@example.net", "Invoice 77 is wrong", 1), at=MONDAY)
    w.feed.sync()
    w.clock.now = MONDAY + timedelta(hours=1)
    w.deliver(customer("Jane Cooper", "jane@example.org", "Order 12 has not arrived", 2), at=w.clock.now)
    w.deliver(customer("Zofia Nowak", "zofia@example.pl", "Pytanie o zwrot", 3,
                       body="Dzień dobry, kiedy dostanę zwrot pieniędzy?"), at=w.clock.now)
    w.deliver(customer("Jane Cooper", "jane@example.org", "Order 12 has not arrived", 5, to="help@example.com"),
              at=w.clock.now)
    w.deliver(customer("Tom Baker", "tom@example.net", "Re: Invoice 77 is wrong", 4, in_reply_to="<c1@example.org>",
                       body="Any news? The invoice is still wrong."), at=w.clock.now, threadId=old["threadId"])


def first_mail(w: World) -> None:
    """A mailbox Labeldesk has never synced: its first sync is a full sync of recent mail."""
    new_mail(w)
    (w.state / "cursor.json").unlink()
    w.restart()


SYNC = Scenario("sync of new mail", world, new_mail, lambda w: w.feed.sync())
FULL_SYNC = Scenario("first (full) sync", world, first_mail, lambda w: w.feed.sync())


def full_sync_stopped(w: World) -> None:
    """A first (full) sync of five tickets stopped by SIGTERM after two; while it was stopped a sixth customer
    wrote and one of the two done wrote again; then serve starts again, and goes on where it stopped."""
    w.clock.now = MONDAY
    for n in range(1, 6):
        w.deliver(customer(f"Customer {n}", f"customer{n}@example.net", f"Order {n} is missing", n), at=MONDAY)

    def sigterm(done, total):
        if done == 2:
            w.host.stopping.set()

    ChangeFeed(w.host, progress=sigterm).sync()
    w.clock.now = MONDAY + timedelta(minutes=30)
    w.deliver(customer("Customer 6", "customer6@example.net", "Order 6 is missing", 6), at=w.clock.now)
    done = next(t for t in w.local.mailbox.threads if b"Order 5 is" in w.local.mailbox.thread_messages(t)[0].raw)
    w.deliver(customer("Customer 5", "customer5@example.net", "Re: Order 5 is missing", 7, in_reply_to="<c5@example.org>",
                       body="Any news on my order?"), at=w.clock.now, threadId=done)
    w.restart()


def marker_every_two(operation):
    """``operation`` with the full sync's place-marker saved every two threads (every 50 in production), so that
    the process is killed on both sides of each save."""
    def run(w: World):
        with mock.patch("plugin_host.sync.PREFETCH", 2):
            return operation(w)
    return run


FULL_SYNC_CONTINUED = Scenario("full sync continued after a stop", world, full_sync_stopped,
                               marker_every_two(lambda w: w.feed.sync()),
                               again=marker_every_two(lambda w: (w.feed.sync(), w.feed.sync())))


# -- the SLA sweep ------------------------------------------------------------------------------------

def overdue_tickets(w: World) -> None:
    """Friday's ticket long breached (a breach task, alert and second notice due), a noon one at risk and owned
    (its owner is warned)."""
    for n, (when, name, address, subject) in enumerate([
            (FRIDAY + timedelta(hours=1), "Tom Baker", "tom@example.net", "Invoice 77 is wrong"),
            (MONDAY + timedelta(hours=3), "Zofia Nowak", "zofia@example.pl", "Pytanie o zwrot")], 1):
        w.clock.now = when
        ref = w.deliver(customer(name, address, subject, n), at=when)
        w.feed.sync()
    owner = w.host.executor.label_id("Helpdesk/Owner/Anna Kowalska")
    w.gmail.users().threads().modify(userId="me", id=ref["threadId"], body={"addLabelIds": [owner]}).execute()
    w.clock.now = MONDAY + timedelta(hours=6, minutes=10)


SWEEP = Scenario("SLA sweep", world, overdue_tickets, lambda w: w.host.sweep())


def many_overdue_tickets(w: World) -> None:
    """Twelve of Friday's tickets long breached: the sweep sends twelve second notices, more than Sent's newest ten
    that a restarted process once read (a notice it sent first was then sent again)."""
    for n in range(1, 13):
        w.clock.now = FRIDAY + timedelta(hours=1, minutes=n)
        w.deliver(customer(f"Customer {n}", f"customer{n}@example.net", f"Order {n} is missing", n), at=w.clock.now)
    w.feed.sync()
    w.clock.now = MONDAY + timedelta(hours=6, minutes=10)


def breach_answered(w: World) -> None:
    """The breaches of the sweep above made (their tasks), then Anna answers Friday's ticket: the sync that sees
    her answer completes its breach task, once, with the line why."""
    overdue_tickets(w)
    w.host.sweep()
    w.clock.now += timedelta(minutes=20)
    friday = next(t for t in w.local.mailbox.threads if b"Invoice 77" in w.local.mailbox.thread_messages(t)[0].raw)
    answer = make_email(sender="Anna Kowalska <support@example.com>", to="tom@example.net", body="Fixed, sorry.",
                        subject="Re: Invoice 77 is wrong", message_id="<a1@example.com>", in_reply_to="<c1@example.org>")
    w.gmail.users().messages().send(userId="me", body={"raw": base64.urlsafe_b64encode(answer).decode(),
                                                       "threadId": friday}).execute()


BREACH_ANSWERED = Scenario("sync of an answer to a breached ticket", world, breach_answered, lambda w: w.feed.sync(),
                           again=lambda w: (w.feed.sync(), w.host.sweep()))


def warned_then_breached(w: World) -> None:
    """A morning ticket nobody owns: at 12:10 the lead was warned it is at risk; at 13:10 it breached. The sweep's
    breach notice answers the warning (found by its Message-ID for its thread): one conversation, sent once."""
    w.clock.now = MONDAY
    w.deliver(customer("Jane Cooper", "jane@example.org", "Order 12 has not arrived", 1), at=MONDAY)
    w.feed.sync()
    w.clock.now = MONDAY + timedelta(hours=3, minutes=10)
    w.host.sweep()
    w.clock.now = MONDAY + timedelta(hours=4, minutes=10)


WARNED_THEN_BREACHED = Scenario("SLA sweep of a breach after its at-risk notice", world, warned_then_breached,
                                lambda w: w.host.sweep())


# The process is killed at each of its calls; the other modes keep the process (and its memory of what it sent).
MANY_ALERTS = Scenario("SLA sweep of twelve breaches", world, many_overdue_tickets, lambda w: w.host.sweep(),
                       modes=KILLS)


# -- add-on buttons -----------------------------------------------------------------------------------

def one_ticket(w: World) -> None:
    w.clock.now = MONDAY
    w.deliver(customer("Jane Cooper", "jane@example.org", "Refund missing", 1,
                       body="When will my refund reach my card?"), at=MONDAY)
    w.feed.sync()
    w.clock.now = MONDAY + timedelta(minutes=30)


def press(name: str, inputs: dict | None = None, **params):
    def pressing(w: World) -> None:
        signer = SIGNER["signer"]
        thread = next(iter(w.local.mailbox.threads))
        body = {"commonEventObject": {"hostApp": "GMAIL", "platform": "WEB",
                                      "parameters": {"name": name, "threadId": thread, **params}},
                "gmail": {"threadId": thread},
                "authorizationEventObject": {"userIdToken": signer.token(ADDON["oauth_client_id"],
                                                                         "anna.kowalska@example.com")}}
        if inputs:
            body["commonEventObject"]["formInputs"] = {k: {"stringInputs": {"value": [v]}} for k, v in inputs.items()}
        token = signer.token(BASE + "/addon/action", ADDON["service_account_email"])
        w.app.test_client().post("/addon/action", json=body, headers={"Authorization": f"Bearer {token}"})
    return pressing


BUTTONS = [Scenario("Take", world, one_ticket, press("autoreply.take")),
           # Labels only, as Take: the process killed at each call is what differs (which labels it made).
           Scenario("Set priority", world, one_ticket, press("sla.set_priority", priority="urgent"), modes=KILLS),
           Scenario("Escalate", world, one_ticket, press("sla.escalate", {"team": "billing"})),
           Scenario("Insert answer", world_with_kb, one_ticket, press("kb.insert_answer", article="refunds"))]


# -- a push --------------------------------------------------------------------------------------------

def pushed(w: World) -> None:
    """A push for the new mail; the sync it starts runs in the background: wait for it."""
    signer = SIGNER["signer"]
    data = base64.urlsafe_b64encode(json.dumps({"emailAddress": SUPPORT, "historyId": 5000}).encode()).decode()
    SIGNER["pushes"] = SIGNER.get("pushes", 0) + 1
    body = {"message": {"data": data, "messageId": str(SIGNER["pushes"])}, "subscription": "projects/p/subscriptions/s"}
    token = signer.token(PUSH["push_audience"], PUSHER)
    answer = w.app.test_client().post("/gmail/push", json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.data
    for running in [t for t in threading.enumerate() if t.name == "sync after push"]:
        running.join(10)


# The sync a push starts makes the calls the sync above does; what is the push's own is that the sync runs on a
# thread of its own after the push was acknowledged, so Pub/Sub never sends it again: killed, serve's poll repairs it.
PUSHED = Scenario("push", world, new_mail, pushed, again=lambda w: w.feed.sync(), modes=KILLS)


@pytest.fixture(autouse=True)
def certs(signer):
    SIGNER["signer"] = signer
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serve_certs(mock, signer)
        yield


@pytest.mark.parametrize("scenario", [SYNC, FULL_SYNC, FULL_SYNC_CONTINUED, SWEEP, BREACH_ANSWERED, WARNED_THEN_BREACHED, MANY_ALERTS, *BUTTONS,
                                      PUSHED], ids=lambda s: s.name)
def test_every_call_of_a_write_path_broken_in_turn_loses_nothing_and_repeats_nothing(scenario, tmp_path):
    """Also when serve, killed, starts again at once: Gmail's search does not show yet what it sent (an
    acknowledgement, an alert), and the new process remembers nothing of it."""
    result = sweep(scenario, tmp_path)
    assert result.http_calls and result.api_calls
    assert set(result.points) == set(scenario.modes or SWEPT)
    assert not result.broken, "\n".join(map(str, result.broken[:20]))


FIRST_FULL_SYNC_IN_TWOS = Scenario("first (full) sync, marker every two threads", world, first_mail,
                                   marker_every_two(lambda w: w.feed.sync()))


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("scenario", [FIRST_FULL_SYNC_IN_TWOS, FULL_SYNC_CONTINUED], ids=lambda s: s.name)
def test_a_full_sync_killed_at_each_save_of_its_place_marker_loses_nothing_and_repeats_nothing(scenario, when,
                                                                                               tmp_path):
    """The HTTP requests around each save are swept above; here the process dies at the save itself, before the
    file is replaced or right after, at each save of a first full sync and of one continued after a stop."""
    from plugin_host.full_sync import FullSync

    from .crash_sweep import ProcessKilled, differences, quick_restarts

    with quick_restarts():
        origin = scenario.make_world(tmp_path / "setup")
        scenario.setup(origin)
        origin.save(tmp_path / "image")
        base = origin.fork(tmp_path / "image", tmp_path / "baseline")
        real_save, saves = FullSync.save, []
        with mock.patch.object(FullSync, "save", lambda marker: (saves.append(1), real_save(marker))):
            scenario.operation(base)
        (scenario.again or scenario.operation)(base)
        expected = base.snapshot()
        assert len(saves) >= 2
        for at in range(1, len(saves) + 1):
            w = origin.fork(tmp_path / "image", tmp_path / f"{when}{at}")
            count = []

            def dying(marker, at=at):
                count.append(1)
                if len(count) == at and when == "before":
                    raise ProcessKilled(f"killed before save {at}")
                real_save(marker)
                if len(count) == at:
                    raise ProcessKilled(f"killed after save {at}")

            with mock.patch.object(FullSync, "save", dying), pytest.raises(ProcessKilled):
                scenario.operation(w)
            w.restart()
            (scenario.again or scenario.operation)(w)
            assert not w.unreadable_state_files()
            assert not differences(expected, w.snapshot()), (when, at)


def test_an_article_inserted_again_in_the_same_ticket_is_learnt_once(tmp_path):
    """Insert pressed again after Gmail failed the draft (or a restart): the article ranks up once for it."""
    from plugins.kb_suggest.store import feedback_path, load_feedback, remember_insert

    remember_insert(tmp_path, "Where is my refund?", "refunds", "d1", thread="19a01")
    remember_insert(tmp_path, "Where is my refund?", "refunds", "d1", thread="19a01")
    remember_insert(tmp_path, "Where is my refund?", "shipping", "d2", thread="19a01")  # another article: learnt
    remember_insert(tmp_path, "Where is my refund?", "refunds", "d1", thread="19a02")  # another ticket: learnt
    assert load_feedback(tmp_path) == {"refunds": ["Where is my refund?"] * 2, "shipping": ["Where is my refund?"]}
    assert len(feedback_path(tmp_path).read_text().splitlines()) == 3
