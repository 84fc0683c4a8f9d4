"""The SLA ladder when a breach is first seen past second_step_after (review 27)."""
from __future__ import annotations

from datetime import timedelta


# ------------------------------------------------------------------ the SLA ladder, a breach first seen late

def test_a_late_breach_with_only_a_chat_webhook_is_one_post_and_no_email_to_nobody():
    from .test_sla_practice import CALENDAR_URGENT, FRIDAY_EVENING, _ladder_notices, validate

    webhook = "https://chat.googleapis.com/v1/spaces/AAA/messages?key=k&token=t"
    policy = validate({**CALENDAR_URGENT, "chat_webhook": webhook})
    notices = _ladder_notices(policy, FRIDAY_EVENING + timedelta(hours=6))
    assert [(n.subject, n.to) for n in notices] == [("SLA breached", "team")]


def test_the_second_step_is_taken_at_second_step_after_itself():
    from .test_sla_practice import CALENDAR_URGENT, FRIDAY_EVENING, _ladder_notices, validate

    policy = validate({**CALENDAR_URGENT, "team_lead": "lead@example.com"})
    due = FRIDAY_EVENING + timedelta(hours=1)  # urgent on calendar hours: due an hour after the message
    at_step = _ladder_notices(policy, due + policy.second_step_after)
    assert [n.key.split(":")[0] for n in at_step] == ["breach2"]  # "Still unanswered"
    just_before = _ladder_notices(policy, due + policy.second_step_after - timedelta(minutes=1))
    assert [n.key.split(":")[0] for n in just_before] == ["breach"]
