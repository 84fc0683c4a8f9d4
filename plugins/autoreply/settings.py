"""``[plugins.autoreply]`` settings, validated at start-up with errors that name the key."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from plugin_host.errors import ConfigError

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
    holidays: str = ""  # country code for public holidays, e.g. "PL"
    on_duty: tuple[str, ...] = ()  # agents who sign acknowledgements / get round-robin tickets
    round_robin: bool = False
    articles: int = 3
    directory_admin: str = ""  # admin to impersonate for `labeldesk agents sync`
    directory_query: str = ""  # Admin SDK users.list query, e.g. "orgUnitPath='/Support'"


def _list(raw: dict, key: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"plugins.autoreply.{key}", "must be a list of strings")
    return tuple(v.strip().lower() for v in value)


def validate(raw: dict) -> AutoreplySettings:
    known = set(AutoreplySettings.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"plugins.autoreply.{sorted(unknown)[0]}", f"unknown setting; known: {sorted(known)}")
    templates_dir = str(raw.get("templates_dir", ""))
    if templates_dir and not Path(templates_dir).is_dir():
        raise ConfigError("plugins.autoreply.templates_dir", f"folder {templates_dir} does not exist")
    expectation = dict(DEFAULT_EXPECTATION)
    given = raw.get("expectation", {})
    if not isinstance(given, dict):
        raise ConfigError("plugins.autoreply.expectation", "must be a table of language = text")
    expectation.update({str(k): str(v) for k, v in given.items()})
    try:
        max_age = float(raw.get("max_age_hours", 24))
        articles = int(raw.get("articles", 3))
    except (TypeError, ValueError):
        raise ConfigError("plugins.autoreply.max_age_hours", "must be a number") from None
    settings = AutoreplySettings(
        addresses=_list(raw, "addresses"), templates_dir=templates_dir, expectation=expectation,
        max_age_hours=max_age, skip_senders=_list(raw, "skip_senders"), skip_domains=_list(raw, "skip_domains"),
        skip_labels=tuple(v for v in raw.get("skip_labels", [])), hours=str(raw.get("hours", AutoreplySettings.hours)),
        timezone=str(raw.get("timezone", "UTC")), holidays=str(raw.get("holidays", "")),
        on_duty=_list(raw, "on_duty"), round_robin=bool(raw.get("round_robin", False)),
        articles=max(0, min(articles, 3)), directory_admin=str(raw.get("directory_admin", "")),
        directory_query=str(raw.get("directory_query", "")))
    from .hours import OfficeHours

    OfficeHours.parse(settings.hours, settings.timezone, settings.holidays, key="plugins.autoreply.hours")
    from .templates import check_templates

    check_templates(settings)
    return settings
