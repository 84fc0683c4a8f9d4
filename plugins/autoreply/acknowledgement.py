"""The acknowledgement rule: who gets one, signed by whom, saying what and when.

Only the first customer message of a thread to an enabled support address, from a customer who is
not opted out, recent enough (never a backfill of old mail), in a thread no agent has written in
(neither an answer nor an agent's own first message that the customer is replying to).
The host's loop guard adds the rest (automatic mail, once per thread, once per sender per window).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from plugin_host.datetext import customer_time

from .hours import office_hours
from plugin_host.people import round_robin, safe_first_name
from plugin_host.text import readable_url
from .templates import render, written_language

OWNER_PHRASE = {
    "en": ("{name} will look after it", "our team will look after it"),
    "ru": ("им займётся {name}", "им займётся наша команда"),
    "pl": ("zajmie się nim {name}", "zajmie się nim nasz zespół"),
}
EXPECT_BY = {
    "en": "You can expect an answer by {when}.",
    "ru": "Ответ вы получите не позднее {when}.",
    "pl": "Odpowiedź otrzymasz najpóźniej {when}.",
}
EXPECT_SOON = {  # the deadline passed before we could acknowledge (an outage, a late sync)
    "en": "We will get back to you as soon as possible.",
    "ru": "Мы ответим вам как можно скорее.",
    "pl": "Odpowiemy najszybciej, jak to możliwe.",
}


def skip_reason(ticket, settings, config, now: datetime) -> str:
    """Why this ticket gets no acknowledgement from the plugin, or ""."""
    first = ticket.first_customer_message
    if first.kind != "customer":
        return "first message is not a customer's"
    if first.forwarded_by:  # the customer wrote to an agent, not to us: they expect no acknowledgement
        return f"{first.forwarded_by} forwarded the customer's mail"
    if ticket.agent_messages:  # answered, or the agent started the conversation ("Thanks a lot!")
        return "an agent already wrote in this thread"
    if settings.addresses and ticket.support_address not in settings.addresses:
        return f"acknowledgements are off for {ticket.support_address}"
    if any(email in settings.skip_senders for email in ticket.customer_addresses):
        return "sender opted out"
    if any(email.rsplit("@", 1)[-1] in settings.skip_domains for email in ticket.customer_addresses):
        return "domain opted out"
    if any(ticket.has_label(label) for label in settings.skip_labels):
        return "label opted out"
    if now - first.sent_at > timedelta(hours=settings.max_age_hours):
        return f"request older than {settings.max_age_hours:g} hours"
    switched_on = config.switched_on_at("autoreply") if config is not None else None
    if switched_on is not None and first.sent_at < switched_on:  # a full sync reads it again: hours late, no news
        return "request received before autoreply was switched on"
    return ""


def on_duty_agents(settings, config) -> list:
    """Who signs and, with round robin, gets new tickets: ``on_duty`` (else every agent), less those who left."""
    roster = config.active_agents
    emails = settings.on_duty or tuple(roster)
    return [roster[e] for e in emails if e in roster]


def owner_of(ticket, settings, config):
    """(owner agent or None, whether the owner is newly assigned by round robin)."""
    if ticket.owner_name:
        # An owner who left signs nothing: an on-duty agent does, as for a ticket nobody owns.
        owner = next((a for a in config.active_agents.values() if a.full_name == ticket.owner_name), None)
        return owner, False
    if settings.round_robin:
        return round_robin(ticket.thread_id, on_duty_agents(settings, config)), True
    return None, False


def signer(ticket, settings, config):
    owner, _ = owner_of(ticket, settings, config)
    if owner is not None:
        return owner
    duty = on_duty_agents(settings, config)
    return round_robin(ticket.thread_id, duty) if duty else None


def deadline_of(ticket, config, now):
    """The SLA plugin's deadline for the ticket (None without it): asked once per acknowledgement."""
    hook = getattr(config, "hook", None)
    return hook.ticket_deadline(ticket=ticket, settings=config, now=now) if hook is not None else None


def team_at_work(deadline, hours, now) -> bool:
    """By the SLA calendar when the SLA plugin answers (so "out of the office" never contradicts the
    deadline it promises); by autoreply's own ``hours`` otherwise."""
    if deadline is not None and deadline.open_now is not None:
        return deadline.open_now
    return hours.is_open(now)


def holiday_today(deadline, hours, now, language: str = "") -> str:
    """Today's holiday by the calendar that decided the wording (the SLA plugin's when it answers, which names
    it in the ticket's language), in the customer's ``language``."""
    if deadline is not None and deadline.open_now is not None:
        return deadline.holiday
    return hours.holiday(now, language)


def back_at(deadline, hours, now, language: str) -> str:
    """When the team is next at work, by the calendar that decided the wording, in the customer's
    ``language`` ("" while at work)."""
    if deadline is not None and deadline.open_now is not None:
        if deadline.reopens is None or not deadline.zone:
            return deadline.back_at  # a plugin that gives only text
        return customer_time(deadline.reopens, ZoneInfo(deadline.zone), language)
    opens = None if hours.is_open(now) else hours.next_opening(now)
    return customer_time(opens, hours.zone, language) if opens else ""


def expectation(deadline, settings, language: str, now: datetime) -> str:
    """When to expect an answer: the SLA deadline, never one already past, else the configured text. A language
    we ship no deadline sentence for gets the admin's own ``expectation`` text when there is one, not an English
    sentence around its date (its template says the date itself with ``deadline``)."""
    if language not in EXPECT_BY and settings.expectation.get(language):
        return settings.expectation[language]
    if deadline is not None and deadline.due <= now:
        return EXPECT_SOON.get(language, EXPECT_SOON["en"])
    if deadline is not None:
        return EXPECT_BY.get(language, EXPECT_BY["en"]).format(when=deadline_text(deadline, language, now))
    return settings.expectation.get(language) or settings.expectation.get("en", "")


def deadline_text(deadline, language: str, now: datetime) -> str:
    """The SLA deadline as the customer's template writes dates; "" without one, or once it has passed."""
    if deadline is None or deadline.due <= now:
        return ""
    return customer_time(deadline.due, ZoneInfo(deadline.zone), language) if deadline.zone else \
        deadline.text or deadline.due.strftime("%Y-%m-%d %H:%M %Z")


def articles(ticket, settings, config) -> list:
    """Help articles worth linking for the customer: those confident enough for customers only (agents also
    see less certain ones and close alternatives in the side panel), https links, and in the customer's
    language when there are any."""
    hook = getattr(config, "hook", None)
    if hook is None or not settings.articles:
        return []
    # More than wanted: the side panel's bar is lower, so its best may not be sure enough for a customer.
    found = hook.suggest_articles(text=ticket.question, language=ticket.language, limit=settings.articles * 3,
                                  settings=config) or []
    found = [a for a in found if str(a.url).startswith("https://") and getattr(a, "confident", True)
             and getattr(a, "for_customers", True)]
    own_language = [a for a in found if getattr(a, "language", "") == ticket.language]
    return (own_language or found)[:settings.articles]


def compose(ticket, settings, config, now: datetime) -> dict:
    """Subject, text and signer of the acknowledgement for ``ticket``, all in the language of its template."""
    owner, _ = owner_of(ticket, settings, config)
    agent = signer(ticket, settings, config)
    hours = office_hours(settings)
    deadline = deadline_of(ticket, config, now)
    open_now = team_at_work(deadline, hours, now)
    variant = "acknowledgement" if open_now else "out_of_hours"
    written_in = written_language(settings.templates_dir, ticket.language, variant)
    phrase_known, phrase_team = OWNER_PHRASE.get(written_in, OWNER_PHRASE["en"])
    context = {
        "first_name": safe_first_name(ticket.customer.name),
        "subject": " ".join(ticket.subject.split())[:150],
        "owner_phrase": phrase_known.format(name=owner.full_name) if owner else phrase_team,
        "owner_name": owner.full_name if owner else "",  # for languages we ship no owner_phrase in
        "expectation": expectation(deadline, settings, written_in, now),  # an admin may add languages
        "deadline": deadline_text(deadline, written_in, now),  # for them to word it in their own language
        "articles": [{"title": a.title, "url": a.url, "readable_url": readable_url(a.url)}
                     for a in articles(ticket, settings, config)],
        "agent_name": agent.full_name if agent else "Customer Support",
        "agent_title": agent.title if agent else "",
        "holiday": holiday_today(deadline, hours, now, written_in),
        "back_at": back_at(deadline, hours, now, written_in),
    }
    text = render(settings, written_in, variant, context)
    return {"subject": ticket.reply_subject, "text": text, "from_name": agent.full_name if agent else "", "variant": variant}
