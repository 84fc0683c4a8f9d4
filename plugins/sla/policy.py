"""``[plugins.sla]`` settings: targets per priority, the calendar, priority rules, escalation.

Priority of a ticket, first match wins: an agent-set ``Priority/<Level>`` label; a label rule; the
channel (social media → ``social`` targets); a VIP sender or domain (high); urgency keywords in
English, Russian and Polish, matched as whole words or word stems, never inside other words
(urgent); otherwise normal.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from plugin_host.errors import ConfigError

from .calendar import BusinessCalendar, parse_duration

PRIORITIES = ("urgent", "high", "normal", "low")
TARGET_KINDS = ("first_response", "next_response", "resolution")
DEFAULT_TARGETS = {
    "urgent": {"first_response": "1h", "next_response": "2h", "resolution": "8h"},
    "high": {"first_response": "4h", "next_response": "4h", "resolution": "24h"},
    "normal": {"first_response": "8h", "next_response": "8h", "resolution": "40h"},
    "low": {"first_response": "24h", "next_response": "24h", "resolution": "80h"},
}
# Stems: a keyword matches a word that starts with it ("awari" → "awaria", "awarii"); phrases match
# word sequences. Kept short and specific so that ordinary words never trigger urgency.
DEFAULT_KEYWORDS = [
    "urgent", "urgently", "asap", "outage", "is down", "are down", "production down", "losing money",
    "lose money", "emergency", "critical", "not working at all",
    "срочно", "срочн", "не работает", "авари", "теряем деньги", "упал сервер", "сломалось всё",
    "pilne", "pilnie", "awari", "nie działa", "tracimy pieniądze", "tracimy klientów",
]


@dataclass(frozen=True)
class SlaPolicy:
    targets: dict  # priority -> kind -> timedelta
    calendar: BusinessCalendar
    business_hours: bool
    at_risk_share: float = 0.75
    vip_senders: frozenset = frozenset()
    vip_domains: frozenset = frozenset()
    keywords: tuple[str, ...] = tuple(DEFAULT_KEYWORDS)
    label_priorities: dict = field(default_factory=dict)  # label name -> priority
    social_first_response: timedelta = timedelta(minutes=10)
    waiting_label: str = "Waiting on customer"
    resolved_label: str = "Resolved"
    resolve_on_archive: bool = False
    team_lead: str = ""
    chat_webhook: str = ""
    notify_owner_at_risk: bool = True
    teams: tuple[str, ...] = ("engineering", "billing", "logistics")
    tasklist: str = "Labeldesk escalations"
    second_step_after: timedelta = timedelta(hours=4)

    def target(self, priority: str, kind: str, channel: str = "email") -> timedelta:
        if channel != "email" and kind in ("first_response", "next_response"):
            return min(self.social_first_response, self.targets[priority][kind])
        return self.targets[priority][kind]

    def due(self, start, duration: timedelta):
        return self.calendar.add_business_time(start, duration) if self.business_hours else start + duration

    def elapsed(self, start, now) -> timedelta:
        return self.calendar.business_time_between(start, now) if self.business_hours else max(now - start, timedelta(0))

    def shortest_response_target(self) -> timedelta:
        return min(min(t["first_response"], t["next_response"]) for t in self.targets.values())


def _keyword_pattern(keyword: str) -> re.Pattern:
    """A single word of 5+ letters is a stem ("awari" → "awaria", "awarii"); else an exact phrase."""
    words = keyword.lower().split()
    if len(words) == 1 and len(words[0]) >= 5:
        body = re.escape(words[0]) + r"\w*"
    else:
        body = r"\s+".join(re.escape(w) for w in words)
    return re.compile(rf"(?<!\w){body}(?!\w)", re.I)


def urgency_keyword(text: str, keywords) -> str:
    """The first urgency keyword found in ``text`` as a word or stem, or ""."""
    for keyword in keywords:
        if _keyword_pattern(keyword).search(text or ""):
            return keyword
    return ""


def priority_of(ticket, policy: SlaPolicy) -> tuple[str, str]:
    """(priority, why) for a ticket: the rules' answer, unless an agent set another level."""
    ruled, why = _rule_priority(ticket, policy)
    labelled = [level for level in PRIORITIES if ticket.has_label(f"Priority/{level.capitalize()}")]
    if labelled and labelled[0] != ruled:
        return labelled[0], "set by an agent"
    return ruled, why


def _rule_priority(ticket, policy: SlaPolicy) -> tuple[str, str]:
    for label, level in policy.label_priorities.items():
        if ticket.has_label(label):
            return level, f"label {label}"
    email = ticket.customer.email
    if email in policy.vip_senders or email.rsplit("@", 1)[-1] in policy.vip_domains:
        return "high", "VIP customer"
    found = urgency_keyword(f"{ticket.subject}\n{ticket.first_customer_message.text}", policy.keywords)
    if found:
        return "urgent", f"urgency keyword “{found}”"
    return "normal", "default"


def validate(raw: dict) -> SlaPolicy:
    key = "plugins.sla"
    known = {"targets", "hours", "timezone", "holidays", "days_off", "working_days", "business_hours",
             "at_risk_share", "vip_senders", "vip_domains", "keywords", "extra_keywords", "label_priorities",
             "social_first_response", "waiting_label", "resolved_label", "resolve_on_archive", "team_lead",
             "chat_webhook", "notify_owner_at_risk", "teams", "tasklist", "second_step_after"}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"{key}.{sorted(unknown)[0]}", f"unknown setting; known: {sorted(known)}")
    targets = {}
    given = raw.get("targets", {})
    if not isinstance(given, dict):
        raise ConfigError(f"{key}.targets", "must be a table per priority")
    for level in PRIORITIES:
        level_given = given.get(level, {})
        targets[level] = {kind: parse_duration(level_given.get(kind, DEFAULT_TARGETS[level][kind]),
                                               f"{key}.targets.{level}.{kind}") for kind in TARGET_KINDS}
    for level in set(given) - set(PRIORITIES):
        raise ConfigError(f"{key}.targets.{level}", f"unknown priority; use {list(PRIORITIES)}")
    calendar = BusinessCalendar.parse(raw.get("hours", "Mon-Fri 09:00-18:00"), raw.get("timezone", "UTC"),
                                      raw.get("holidays", ""), raw.get("days_off"), raw.get("working_days"), key)
    share = float(raw.get("at_risk_share", 0.75))
    if not 0 < share < 1:
        raise ConfigError(f"{key}.at_risk_share", "must be between 0 and 1, e.g. 0.75")
    label_priorities = dict(raw.get("label_priorities", {}))
    for label, level in label_priorities.items():
        if level not in PRIORITIES:
            raise ConfigError(f"{key}.label_priorities.{label}", f"{level!r} is not one of {list(PRIORITIES)}")
    webhook = str(raw.get("chat_webhook", ""))
    if webhook and not webhook.startswith("https://"):
        raise ConfigError(f"{key}.chat_webhook", "must be an https:// URL (Google Chat incoming webhook)")
    lower = lambda values: frozenset(str(v).lower() for v in values)  # noqa: E731
    return SlaPolicy(
        targets=targets, calendar=calendar, business_hours=bool(raw.get("business_hours", True)),
        at_risk_share=share, vip_senders=lower(raw.get("vip_senders", [])), vip_domains=lower(raw.get("vip_domains", [])),
        keywords=tuple(raw.get("keywords", DEFAULT_KEYWORDS)) + tuple(raw.get("extra_keywords", [])),
        label_priorities=label_priorities,
        social_first_response=parse_duration(raw.get("social_first_response", "10m"), f"{key}.social_first_response"),
        waiting_label=str(raw.get("waiting_label", "Waiting on customer")),
        resolved_label=str(raw.get("resolved_label", "Resolved")),
        resolve_on_archive=bool(raw.get("resolve_on_archive", False)), team_lead=str(raw.get("team_lead", "")).lower(),
        chat_webhook=webhook, notify_owner_at_risk=bool(raw.get("notify_owner_at_risk", True)),
        teams=tuple(raw.get("teams", ("engineering", "billing", "logistics"))),
        tasklist=str(raw.get("tasklist", "Labeldesk escalations")),
        second_step_after=parse_duration(raw.get("second_step_after", "4h"), f"{key}.second_step_after"))
