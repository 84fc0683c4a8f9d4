"""``[plugins.sla]`` settings: targets and their hours per priority, the calendar, priority rules, escalation.

Priority of a ticket, first match wins: a level an agent chose (``Priority/<Level>`` together with
the ``SLA/Priority set by agent`` marker the side-panel buttons add; the plugin's own
``Priority/<Level>`` label alone is only its last answer and follows the rules); a label rule; the
channel (social media → ``social`` targets); a VIP sender or domain (high); urgency keywords in
English, Russian and Polish, matched as whole words or word stems, never inside other words
(urgent); otherwise normal.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from plugin_host.config import EMAIL_RE, default_timezone, did_you_mean, read_flag, read_list
from plugin_host.errors import ConfigError
from plugin_host.ticket import canonical_address

from .calendar import BusinessCalendar, parse_duration

PRIORITIES = ("urgent", "high", "normal", "low")
AGENT_PRIORITY = "SLA/Priority set by agent"  # marker: the Priority/<Level> label is an agent's choice
TARGET_KINDS = ("first_response", "next_response", "resolution")
PRIORITY_KEYS = TARGET_KINDS + ("business_hours",)  # what a ``targets.<priority>`` table may hold
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
    business_hours: bool  # the default; ``hours_of`` says it per priority
    hours_of: dict = field(default_factory=dict)  # priority -> True (business hours) | False (calendar hours, 24/7)
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

    def business(self, priority: str) -> bool:
        """Whether ``priority``'s targets count business hours (False: calendar hours, round the clock)."""
        return self.hours_of.get(priority, self.business_hours)

    def calendar_priorities(self) -> list[str]:
        """The priorities whose targets count calendar hours, most urgent first."""
        return [p for p in PRIORITIES if not self.business(p)]

    def due(self, start, duration: timedelta, priority: str):
        return self.calendar.add_business_time(start, duration) if self.business(priority) else start + duration

    def elapsed(self, start, now, priority: str) -> timedelta:
        if self.business(priority):
            return self.calendar.business_time_between(start, now)
        return max(now - start, timedelta(0))

    def shortest_response_target(self) -> timedelta:
        """The shortest response target any ticket may run, a social channel's included."""
        return min([min(t["first_response"], t["next_response"]) for t in self.targets.values()]
                   + [self.social_first_response])


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
    """(priority, why) for a ticket: the level an agent chose, else the rules' answer."""
    chosen = agent_priority(ticket)
    return (chosen, "set by an agent") if chosen else _rule_priority(ticket, policy)


def agent_priority(ticket) -> str:
    """The level an agent chose with the priority buttons, or "" (then the rules decide)."""
    if not ticket.has_label(AGENT_PRIORITY):
        return ""
    return next((level for level in PRIORITIES if ticket.has_label(f"Priority/{level.capitalize()}")), "")


def _rule_priority(ticket, policy: SlaPolicy) -> tuple[str, str]:
    for label, level in policy.label_priorities.items():
        if ticket.has_label(label):
            return level, f"label {label}"
    if any(email in policy.vip_senders or email.rsplit("@", 1)[-1] in policy.vip_domains
           for email in ticket.customer_addresses):
        return "high", "VIP customer"
    # The first message, and the latest: "still down, we are losing money" in a follow-up counts too.
    latest = ticket.latest_customer_message
    extra = latest.text if latest is not ticket.first_customer_message else ""
    found = urgency_keyword(f"{ticket.subject}\n{ticket.first_customer_message.text}\n{extra}", policy.keywords)
    if found:
        return "urgent", f"urgency keyword “{found}”"
    return "normal", "default"


def validate(raw: dict, config=None) -> SlaPolicy:
    key = "plugins.sla"
    known = {"targets", "hours", "timezone", "holidays", "days_off", "working_days", "business_hours",
             "at_risk_share", "vip_senders", "vip_domains", "keywords", "extra_keywords", "label_priorities",
             "social_first_response", "waiting_label", "resolved_label", "resolve_on_archive", "team_lead",
             "chat_webhook", "notify_owner_at_risk", "teams", "tasklist", "second_step_after"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]}", f"unknown setting{did_you_mean(unknown[0], known)}; "
                                                 f"known: {', '.join(sorted(known))}")
    targets = _targets(raw.get("targets", {}), f"{key}.targets")
    business = read_flag(raw.get("business_hours", True), f"{key}.business_hours")
    calendar = BusinessCalendar.parse(raw.get("hours", "Mon-Fri 09:00-18:00"), raw.get("timezone", default_timezone(config)),
                                      raw.get("holidays", ""), raw.get("days_off"), raw.get("working_days"), key)
    hours_of = _hours_of(raw.get("targets", {}), business, f"{key}.targets")
    _fit_the_calendar({level: kinds for level, kinds in targets.items() if hours_of.get(level, business)}, calendar,
                      f"{key}.targets")
    share = _share(raw.get("at_risk_share", 0.75), f"{key}.at_risk_share")
    label_priorities = _label_priorities(raw.get("label_priorities", {}), f"{key}.label_priorities")
    webhook = str(raw.get("chat_webhook", ""))
    if webhook and not webhook.startswith("https://"):
        raise ConfigError(f"{key}.chat_webhook", "must be an https:// URL (Google Chat incoming webhook)")
    names = lambda name, default=(): tuple(read_list(raw.get(name, list(default)), f"{key}.{name}"))  # noqa: E731
    lower = lambda name: frozenset(v.lower() for v in names(name))  # noqa: E731
    flag = lambda name, default: read_flag(raw.get(name, default), f"{key}.{name}")  # noqa: E731
    return SlaPolicy(
        targets=targets, calendar=calendar, business_hours=business,
        hours_of=hours_of,
        at_risk_share=share, vip_senders=_vip_senders(lower("vip_senders"), f"{key}.vip_senders"),
        vip_domains=_vip_domains(lower("vip_domains"), f"{key}.vip_domains"),
        keywords=names("keywords", DEFAULT_KEYWORDS) + names("extra_keywords"),
        label_priorities=label_priorities,
        social_first_response=_duration(raw.get("social_first_response", "10m"), f"{key}.social_first_response"),
        waiting_label=_text(raw.get("waiting_label", "Waiting on customer"), f"{key}.waiting_label"),
        resolved_label=_text(raw.get("resolved_label", "Resolved"), f"{key}.resolved_label"),
        resolve_on_archive=flag("resolve_on_archive", False),
        team_lead=_address(raw.get("team_lead", ""), f"{key}.team_lead"),
        chat_webhook=webhook, notify_owner_at_risk=flag("notify_owner_at_risk", True),
        teams=_teams(names("teams", ("engineering", "billing", "logistics")), f"{key}.teams"),
        tasklist=_text(raw.get("tasklist", "Labeldesk escalations"), f"{key}.tasklist"),
        second_step_after=_duration(raw.get("second_step_after", "4h"), f"{key}.second_step_after"))


def _targets(given, key: str) -> dict:
    """priority -> kind -> timedelta from ``targets.<priority>.<kind>`` durations, defaults filled in."""
    if not isinstance(given, dict):
        raise ConfigError(key, "must be a table per priority")
    for level in sorted(set(given) - set(PRIORITIES)):
        raise ConfigError(f"{key}.{level}", f"unknown priority{did_you_mean(level, PRIORITIES)}; "
                                            f"use {', '.join(PRIORITIES)}")
    targets = {}
    for level in PRIORITIES:
        level_given = given.get(level, {})
        if not isinstance(level_given, dict):
            raise ConfigError(f"{key}.{level}", "must be a table of durations per target, e.g. "
                                                "{ first_response = \"4h\", next_response = \"8h\", resolution = \"40h\" }")
        for kind in sorted(set(level_given) - set(PRIORITY_KEYS)):
            raise ConfigError(f"{key}.{level}.{kind}", f"unknown target{did_you_mean(kind, PRIORITY_KEYS)}; "
                                                       f"use {', '.join(TARGET_KINDS)} (durations) or business_hours")
        targets[level] = {kind: _duration(level_given.get(kind, DEFAULT_TARGETS[level][kind]),
                                               f"{key}.{level}.{kind}") for kind in TARGET_KINDS}
    return targets


def _hours_of(given: dict, default: bool, key: str) -> dict:
    """priority -> whether its targets count business hours: ``targets.<priority>.business_hours``, else the
    plugin's ``business_hours``. As in Freshdesk's and Zendesk's SLA policies, urgent tickets promised 24/7
    run on calendar hours (nights, weekends and holidays count) while the rest wait for the office."""
    return {level: read_flag(given.get(level, {}).get("business_hours", default), f"{key}.{level}.business_hours")
            for level in PRIORITIES}


def _fit_the_calendar(targets: dict, calendar: BusinessCalendar, key: str) -> None:
    """Every target ends within the ten years of working time the calendar looks ahead: a longer one would fail
    every ticket of its priority at run time ("no working time"), although the calendar works every week."""
    from datetime import datetime, timezone

    start = datetime.now(timezone.utc)
    for level, kinds in targets.items():
        for kind, duration in kinds.items():
            try:
                calendar.add_business_time(start, duration)
            except ValueError:
                raise ConfigError(f"{key}.{level}.{kind}", f"{duration.total_seconds() / 3600:g} h of working time do "
                                                           "not fit in the next ten years of these working hours; "
                                                           "shorten it (1d is 24 working hours)") from None


def _duration(value, key: str) -> timedelta:
    """A target or wait: a zero one would breach (or notify again) the moment a ticket arrives."""
    duration = parse_duration(value, key)
    if duration <= timedelta(0):
        raise ConfigError(key, f"must be longer than 0, got {value!r}; write e.g. 30m, 4h, 2d")
    return duration


def _address(value, key: str) -> str:
    """An email address, lower-cased, or "" when not set: breach notifications are mailed to it."""
    if not isinstance(value, str) or value.strip() and not EMAIL_RE.match(value.strip()):
        raise ConfigError(key, f"must be an email address, e.g. \"lead@example.com\", got {value!r}")
    return value.strip().lower()


def _vip_senders(senders: frozenset, key: str) -> frozenset:
    """Addresses: "ceo" or "ceo@bigclient" would never be a customer's address."""
    for sender in sorted(senders):
        if not EMAIL_RE.match(sender):
            raise ConfigError(key, f"{sender!r} is not an email address (whole domains go in vip_domains)")
    return frozenset(canonical_address(sender) for sender in senders)  # an IDN domain in A-labels, as tickets have it


def _vip_domains(domains: frozenset, key: str) -> frozenset:
    """Mail domains; "@example.com" is example.com, an address or a company name is an error."""
    domains = frozenset(d.removeprefix("@") for d in domains)
    for domain in sorted(domains):
        if "@" in domain or "." not in domain or not EMAIL_RE.match(f"x@{domain}"):
            raise ConfigError(key, f"{domain!r} is not a domain, e.g. example.com (addresses go in vip_senders)")
    return frozenset(canonical_address(f"x@{domain}").rpartition("@")[2] for domain in domains)  # A-labels


def _teams(teams: tuple, key: str) -> tuple:
    """The side panel's "Escalate" offers these: without one it could escalate to nobody."""
    if not teams:
        raise ConfigError(key, "must name at least one team, e.g. [\"engineering\"]: the side panel's Escalate offers them")
    return teams


def _text(value, key: str) -> str:
    """A label or task list name: text, not empty."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key, f"must be a name in quotes, e.g. \"Escalations\", got {value!r}")
    return value.strip()


def _share(value, key: str) -> float:
    """The share of a target after which a ticket is at risk: a number between 0 and 1."""
    try:
        share = float(value) if not isinstance(value, bool) else -1.0
    except (TypeError, ValueError):
        share = -1.0
    if not 0 < share < 1:
        raise ConfigError(key, f"must be a number between 0 and 1, e.g. 0.75, got {value!r}")
    return share


def _label_priorities(given, key: str) -> dict:
    """label name -> priority, from a table like ``{ Outage = "urgent" }``."""
    if not isinstance(given, dict):
        raise ConfigError(key, f"must be a table of label = priority, e.g. {{ Outage = \"urgent\" }}, got {given!r}")
    for label, level in given.items():
        if level not in PRIORITIES:
            raise ConfigError(f"{key}.{label}", f"{level!r} is not a priority{did_you_mean(level, PRIORITIES, repr)}; "
                                                f"use {', '.join(PRIORITIES)}")
    return dict(given)


