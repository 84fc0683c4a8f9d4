"""A customer's thank-you after an agent's answer owes no answer: no "Awaiting reply", no SLA clock."""
from __future__ import annotations

import pytest

from plugin_host.sync import ChangeFeed
from plugin_host.thanks import says_only_thanks
from plugins.sla.clock import sla_state
from plugins.sla.policy import validate

from .conftest import deliver, make_email
from .test_sla import answered, labels_of, monday, setup
from .test_sla_fixes import ASKED, MON9, message, ticket, timedelta

THANKS_ONLY = [
    "Thanks!", "Thank you so much for your help!", "Thanks Anna, that worked. Have a great weekend!",
    "Great, thanks a lot — all sorted now.", "Perfect, thank you!", "ok thx", "Cheers!",
    "Hi Anna,\n\nthank you, the problem is solved.\n\nBest regards,\nJane",
    "Спасибо за помощь!", "Большое спасибо, всё заработало.", "Спасибо, понятно.",
    "Dziękuję bardzo za pomoc!", "Dzieki, juz dziala", "Dziękuję, wszystko jasne. Pozdrawiam",
]
STILL_ASKING = [
    "Thanks, but it still does not work.", "Thanks! One more question: can I change the address?",
    "Thank you. Could you also send the invoice", "Thanks, please cancel order 1234.",
    "Thanks for nothing, I want a refund.", "Thanks, I will try it tomorrow and let you know.",
    "Спасибо, но не работает.", "Спасибо, а когда будет доставка", "Dzięki, ale nadal nie działa.",
    "Dziękuję, a kiedy wysyłka?", "Sure, the order number is A-1234.", "That worked.",
    "Thanks! " + "Here is what happens when I log in and click the button " * 3,
    # every word a word of thanks or closing: only the question mark makes these questions
    "Thanks, is it fixed?", "Спасибо, всё работает?", "Dziękuję, już działa?", "Thank you, all done？",
    # a number is an order, a date or an amount: "Thanks, 1234" asks about something
    "Thanks, 1234", "Спасибо, 5", "Thanks, it works 2 times",
    # more than MAX_WORDS words, even of thanks, is more than a thank-you
    "Thank you " * 13 + "so much",
]


@pytest.mark.parametrize("text", THANKS_ONLY)
def test_a_thank_you_is_recognised(text):
    assert says_only_thanks(text, names=("Anna Kowalska", "Jane Customer"))


@pytest.mark.parametrize("text", STILL_ASKING)
def test_anything_more_than_thanks_stays_a_request(text):
    assert not says_only_thanks(text, names=("Anna Kowalska", "Jane Customer"))


def test_a_name_counts_only_when_it_is_somebody_on_the_thread():
    assert says_only_thanks("Thanks Anna!", names=("Anna Kowalska",))
    assert not says_only_thanks("Thanks Oracle!", names=("Anna Kowalska",))


def test_thanks_after_an_answer_starts_no_clock_and_awaits_nothing():
    thanked = ticket(ASKED + [message(3, "customer", MON9 + timedelta(hours=2), "Thanks, that worked!")])
    assert not thanked.awaiting_reply
    state = sla_state(thanked, validate({}), MON9 + timedelta(days=7))
    assert state.kind == "" and state.due is None and not state.breached


def test_thanks_before_any_answer_is_still_a_request():
    first = ticket([message(1, "customer", MON9, "Thanks!")])
    assert first.awaiting_reply
    assert sla_state(first, validate({}), MON9 + timedelta(days=7)).kind == "first_response"


def test_a_question_then_thanks_in_advance_still_awaits_the_answer():
    later = ASKED + [message(3, "customer", MON9 + timedelta(hours=2), "Can I also pay by card?"),
                     message(4, "customer", MON9 + timedelta(hours=3), "Thanks in advance!")]
    asking = ticket(later)
    assert asking.awaiting_reply
    state = sla_state(asking, validate({}), MON9 + timedelta(days=7))
    assert state.kind == "next_response" and state.started_at == MON9 + timedelta(hours=2) and state.breached


def test_a_thank_you_in_the_mailbox_leaves_the_ticket_answered(tmp_path):
    """End to end: Jane's "Спасибо!" arrives a day after Anna's answer; the sweep a week later finds no
    breach and the host does not put "Awaiting reply" back."""
    local, host, clock = setup(tmp_path, monday(9))
    ref = answered(local, "t1", "Question", monday(9), monday(10), body="Yes, you can.")
    thanks = deliver(local.gmail(), make_email(message_id="<t2@example.org>", subject="Re: Question",
                                               in_reply_to="<t1r@example.com>", body="Спасибо большое, всё понятно!"),
                     threadId=ref["threadId"])
    local.mailbox.messages[thanks["id"]].internal_date = int(monday(11).timestamp() * 1000)
    clock["now"] = monday(9, days=7)
    ChangeFeed(host).sync()
    host.sweep()
    found = labels_of(host, ref["threadId"])
    assert "Helpdesk/Awaiting reply" not in found and "Helpdesk/SLA/Breached" not in found


def test_the_question_behind_a_thank_you_is_the_one_asked():
    """The side panel and `kb gaps` read the customer's question, not their closing thanks."""
    later = ASKED + [message(3, "customer", MON9 + timedelta(hours=2), "Can I also pay by card?"),
                     message(4, "agent", MON9 + timedelta(hours=3), "Yes."),
                     message(5, "customer", MON9 + timedelta(hours=4), "Thanks!")]
    assert ticket(later).question == "Order\nCan I also pay by card?"


def test_a_display_name_of_ordinary_words_does_not_excuse_them():
    """A sender named "Still Broken" made "thanks, still broken" a mere thank-you; names count only as written
    with a capital, as names are."""
    assert not says_only_thanks("thanks, still broken", names=("Still Broken", "Anna Kowalska"))
    assert says_only_thanks("Thanks Anna!", names=("Still Broken", "Anna Kowalska"))
