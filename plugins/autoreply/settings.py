"""``[plugins.autoreply]`` settings, validated at start-up with errors that name the key."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from plugin_host.config import EMAIL_RE, default_timezone, did_you_mean, own_address_in, read_flag, read_list
from plugin_host.errors import ConfigError
from plugin_host.ticket import canonical_address

DEFAULT_EXPECTATION = {
    "en": "We usually answer within one business day.",
    "ru": "Обычно мы отвечаем в течение одного рабочего дня.",
    "pl": "Zazwyczaj odpowiadamy w ciągu jednego dnia roboczego.",
}


@dataclass(frozen=True)
class AutoreplySettings:
    addresses: tuple[str, ...] = ()  # support addresses that acknowledge; empty = all of them
    templates_dir: str = ""  # admin-edited templates, <lang>/<variant>.txt.j2, override shipped ones
    expectation: dict = field(default_factory=lambda: dict(DEFAULT_EXPECTATION))
    max_age_hours: float = 24.0  # never acknowledge requests older than this (e.g. after a backfill)
    skip_senders: tuple[str, ...] = ()
    skip_domains: tuple[str, ...] = ()
    skip_labels: tuple[str, ...] = ()
    hours: str = "Mon-Fri 09:00-18:00"  # used for the out-of-hours variant when the SLA plugin is off
    timezone: str = "UTC"
    holidays: str | tuple = ""  # country codes for public holidays, e.g. "PL" or ["PL", "DE-BY"]
    days_off: tuple = ()  # the team's own days off (YYYY-MM-DD), as the SLA plugin's
    working_days: tuple = ()  # extra working days (YYYY-MM-DD), e.g. a Saturday the team works
    on_duty: tuple[str, ...] = ()  # agents who sign acknowledgements / get round-robin tickets
    round_robin: bool = False
    articles: int = 3
    directory_admin: str = ""  # admin to impersonate for `labeldesk agents sync`
    directory_query: str = ""  # Admin SDK users.list query, e.g. "orgUnitPath='/Support'"


def _key(key: str) -> str:
    return f"plugins.autoreply.{key}"


def _list(raw: dict, key: str, lower: bool = True) -> tuple[str, ...]:
    """A list of strings; a single string is a comma-separated list (``skip_labels = "VIP"``)."""
    return tuple(v.lower() if lower else v for v in read_list(raw.get(key, []), _key(key)))


def _addresses(raw: dict, key: str) -> tuple[str, ...]:
    """A list of email addresses, lower-cased and with an internationalised domain in A-labels, as tickets and
    [agents] spell them (jan@exämple.org is jan@xn--exmple-cua.org): a plain "support" would never match a
    message's address."""
    addresses = _list(raw, key)
    for address in addresses:
        if not EMAIL_RE.match(address):
            raise ConfigError(_key(key), f"{address!r} is not an email address")
    return tuple(canonical_address(address) for address in addresses)


def _address(raw: dict, key: str) -> str:
    """One email address, lower-cased, or "" when not set."""
    address = _text(raw, key).lower()
    if address and not EMAIL_RE.match(address):
        raise ConfigError(_key(key), f"{address!r} is not an email address, e.g. \"admin@example.com\"")
    return address


def _domains(raw: dict, key: str) -> tuple[str, ...]:
    """Mail domains, lower-cased, an internationalised one in A-labels as tickets spell addresses (exämple.org is
    xn--exmple-cua.org); "@example.com" is example.com (an address is an error: skip_senders takes those)."""
    domains = tuple(d.removeprefix("@") for d in _list(raw, key))
    for domain in domains:
        if "@" in domain or "." not in domain:
            raise ConfigError(_key(key), f"{domain!r} is not a domain, e.g. example.com")
    return tuple(canonical_address(f"x@{domain}").rpartition("@")[2] for domain in domains)


def _text(raw: dict, key: str, default: str = "") -> str:
    value = raw.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(_key(key), f"must be a string, got {type(value).__name__}")
    return value.strip()


def _flag(raw: dict, key: str, default: bool) -> bool:
    return read_flag(raw.get(key, default), _key(key))


def _number(raw: dict, key: str, default: float) -> float:
    value = _numeric(raw.get(key, default))
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigError(_key(key), f"must be a number of 0 or more, got {raw.get(key, default)!r}")
    return float(value)


def _whole_number(raw: dict, key: str, default: int) -> int:
    value = _numeric(raw.get(key, default))
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(_key(key), f"must be a whole number, got {raw.get(key, default)!r}")
    return value


def _articles(raw: dict) -> int:
    count = _whole_number(raw, "articles", 3)
    if count > 3:
        raise ConfigError(_key("articles"), f"must be 0 to 3 (help links in an acknowledgement), got {count}")
    return count


def _numeric(value):
    """Numbers as environment overrides give them ("4", "2.5") are numbers."""
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text) if text.lstrip("-").isdigit() else float(text)
        except ValueError:
            return value
    return value


def _codes(value):
    """Country codes as given (a string, maybe comma-separated, or a list), upper-cased; the calendar checks them."""
    if isinstance(value, str):
        return value.upper()
    if isinstance(value, (list, tuple)):
        return tuple(str(code).upper() for code in value)
    return value


def _as_tuple(value):
    """A list setting as a tuple; a string or a single date is left for the calendar to read (and to refuse)."""
    return tuple(value) if isinstance(value, list) else (value if value is not None else ())


def _expectation(raw: dict) -> dict:
    expectation = dict(DEFAULT_EXPECTATION)
    given = raw.get("expectation", {})
    if not isinstance(given, dict):
        raise ConfigError(_key("expectation"), "must be a table of language = text")
    for language, text in given.items():  # what the customer reads: "5" or "{'a': 1}" would be sent as it is
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(_key(f"expectation.{language}"), f"must be a sentence in quotes, e.g. "
                                                              f"\"{DEFAULT_EXPECTATION['en']}\", got {text!r}")
        expectation[str(language)] = text.strip()
    return expectation


def validate(raw: dict, config=None) -> AutoreplySettings:
    known = set(AutoreplySettings.__dataclass_fields__)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(_key(unknown[0]), f"unknown setting{did_you_mean(unknown[0], known)}; "
                                            f"known: {', '.join(sorted(known))}")
    templates_dir = _text(raw, "templates_dir")
    if templates_dir and not Path(templates_dir).is_dir():
        raise ConfigError(_key("templates_dir"), f"folder {templates_dir} does not exist")
    settings = AutoreplySettings(
        addresses=_addresses(raw, "addresses"), templates_dir=templates_dir, expectation=_expectation(raw),
        max_age_hours=_number(raw, "max_age_hours", 24.0), skip_senders=_addresses(raw, "skip_senders"),
        skip_domains=_domains(raw, "skip_domains"), skip_labels=_list(raw, "skip_labels", lower=False),
        hours=_text(raw, "hours", AutoreplySettings.hours), timezone=_text(raw, "timezone", default_timezone(config)),
        holidays=_codes(raw.get("holidays", "")), days_off=_as_tuple(raw.get("days_off")),
        working_days=_as_tuple(raw.get("working_days")), on_duty=_addresses(raw, "on_duty"),
        round_robin=_flag(raw, "round_robin", False), articles=_articles(raw),
        directory_admin=_address(raw, "directory_admin"), directory_query=_text(raw, "directory_query"))
    from .hours import office_hours

    office_hours(settings)  # a wrong hours, timezone, holidays or day stops start-up, naming the setting
    from .templates import check_templates

    check_templates(settings)
    if config is not None:
        _check_on_duty(settings, config)
        _check_addresses(settings, config)
    return settings


def _check_addresses(settings: AutoreplySettings, config) -> None:
    """``addresses`` picks among the mailbox's own addresses: any other never matches a ticket, and would
    switch acknowledgements off without a word."""
    own = config.mailbox.own_addresses
    for address in settings.addresses:
        if address in own:
            continue
        same = own_address_in(address, own)
        fix = f"write it as {same}, as [mailbox] spells it" if same else \
            "add it to [mailbox] aliases, or remove it (acknowledgements are only sent for mail to our own addresses)"
        raise ConfigError(_key("addresses"), f"{address} is not [mailbox] address or one of its aliases: {fix}")


def _check_on_duty(settings: AutoreplySettings, config) -> None:
    """Acknowledgements are signed by on-duty agents with their full names, which live in ``[agents]``."""
    unknown = [e for e in settings.on_duty if e not in config.agents]
    if unknown:
        raise ConfigError(_key("on_duty"), f"{unknown[0]} is not in [agents]: add it there with first_name and "
                                           f"last_name (acknowledgements are signed with the full name), or remove it")
