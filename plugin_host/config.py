"""Configuration: ``labeldesk.toml`` plus ``LABELDESK_*`` environment overrides, validated once.

Found via ``--config``, then ``LABELDESK_CONFIG``, then ``./labeldesk.toml``. A bad value is a
:class:`~plugin_host.errors.ConfigError` naming the key. Environment variables override keys by
path: ``LABELDESK_MAILBOX__ADDRESS`` → ``[mailbox] address`` (double underscore between levels);
lists are comma-separated. Nothing reads configuration at import time.
"""
from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError
from .ticket import canonical_address

EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
DOTLESS_DOMAINS = {"gmail.com", "googlemail.com"}  # Gmail ignores dots in these addresses' local part
KNOWN_SECTIONS = {"mailbox", "agents", "plugins", "addon", "host", "admin"}


@dataclass(frozen=True)
class Agent:
    """A support agent: the person behind replies, always named in full."""

    email: str
    first_name: str
    last_name: str
    title: str = ""
    team_lead: bool = False
    # False: they left the support team (``agents sync`` marks them so). They stay here because their past replies
    # are still the team's; they sign nothing, get no ticket, no alert and no side panel.
    active: bool = True

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class MailboxSettings:
    address: str
    aliases: tuple[str, ...] = ()
    api_root: str = ""
    credentials: str = ""
    delegated_user: str = ""
    oauth_token: str = ""
    label_root: str = "Helpdesk"
    push_audience: str = ""
    push_service_account: str = ""
    ack_window_days: float = 4.0
    full_sync_days: int = 30
    quota_units_per_second: float = 0.0  # 0 = 85% of the project's per-user limit (unlimited for a local mailbox)
    quota_table: str = "new"  # the Cloud project's Gmail quota: "new" (created from May 2026) or "old"
    watch_topic: str = ""  # projects/<p>/topics/<t>: users.watch is renewed daily when set

    @property
    def own_addresses(self) -> frozenset[str]:
        return frozenset(a.lower() for a in (self.address, *self.aliases) if a)


@dataclass(frozen=True)
class AddonSettings:
    base_url: str = ""
    service_account_email: str = ""
    oauth_client_id: str = ""
    google_certs_url: str = "https://www.googleapis.com/oauth2/v1/certs"


@dataclass(frozen=True)
class HostSettings:
    state_dir: str = ".labeldesk"
    poll_seconds: int = 60
    sweep_minutes: int = 5
    timezone: str = "UTC"
    # Notifications (email or chat) automatic runs may send in any hour; 0: no limit (see plugin_host/alerts.py).
    alerts_per_hour: int = 30


def default_timezone(config) -> str:
    """``[host] timezone``, the zone a plugin's calendar uses unless it names its own ("UTC" without a
    configuration)."""
    host = getattr(config, "host", None)
    return getattr(host, "timezone", None) or "UTC"


@dataclass
class Config:
    """The validated configuration handed to the host and every plugin hook."""

    mailbox: MailboxSettings
    agents: dict[str, Agent] = field(default_factory=dict)
    enabled_plugins: tuple[str, ...] = ()
    plugin_raw: dict[str, dict] = field(default_factory=dict)
    addon: AddonSettings = field(default_factory=AddonSettings)
    host: HostSettings = field(default_factory=HostSettings)
    admins: tuple[str, ...] = ()
    path: Path | None = None
    plugin_settings: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)  # dotted key → LABELDESK_… variable that set it
    hook: Any = None  # the plugin manager's hook relay, set by the Host (plugins asking plugins)
    switched_on: dict[str, Any] = field(default_factory=dict)  # plugin → datetime or None, set by the Host

    def switched_on_at(self, name: str):
        """When plugin ``name`` was switched on (a datetime), or None when it counts as on from the start (see
        ``plugin_host/switch_ons.py``): what was over before that time, such as a deadline missed, is not its news."""
        return self.switched_on.get(name)

    def plugin(self, name: str) -> Any:
        """The validated settings object of plugin ``name`` (raw dict if it declared none)."""
        if name in self.plugin_settings:
            return self.plugin_settings[name]
        return self.plugin_raw.get(name, {})

    def agent(self, email: str) -> Agent | None:
        return self.agents.get(canonical_address(email))

    @property
    def active_agents(self) -> dict[str, Agent]:
        """The agents on the roster: those who left (``active = false``) sign, own and hear of nothing new."""
        return {email: agent for email, agent in self.agents.items() if agent.active}

    def is_own_address(self, email: str) -> bool:
        """Whether ``email`` reaches this mailbox: the address or an alias, in any case, with any +tag."""
        return bool(own_address_in(email, self.mailbox.own_addresses))

    @property
    def state_path(self) -> Path:
        base = Path(self.host.state_dir)
        if not base.is_absolute() and self.path is not None:
            base = self.path.parent / base
        return base


def address_key(email: str) -> str:
    """An address as the mailbox receives it: lower case, without a ``+tag`` (``support+x@`` reaches
    ``support@``), and for gmail.com without dots. Two addresses with one key are one mailbox."""
    local, at, domain = canonical_address(email).rpartition("@")
    if not at:
        return domain
    local = local.split("+", 1)[0] or local
    if domain in DOTLESS_DOMAINS:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def own_address_in(email: str, own_addresses) -> str:
    """The configured address among ``own_addresses`` that ``email`` is another spelling of, or ""."""
    key = address_key(email)
    return next((a for a in sorted(own_addresses) if key and address_key(a) == key), "")


def find_config_file(explicit: str | None = None) -> Path | None:
    """``--config``, then ``LABELDESK_CONFIG``, then ``./labeldesk.toml``; None if none exists."""
    for source, candidate in (("--config", explicit), ("LABELDESK_CONFIG", os.environ.get("LABELDESK_CONFIG"))):
        if candidate:
            path = Path(candidate)
            if path.is_dir():
                raise ConfigError(source, f"{path} is a folder: name the labeldesk.toml file itself")
            if not path.is_file():
                raise ConfigError(source, f"file {path} does not exist")
            return path
    local = Path.cwd() / "labeldesk.toml"
    return local if local.is_file() else None


def load_config(path: str | Path | None = None, *, environ=None, data: dict | None = None) -> Config:
    """Read, override from the environment and validate the configuration."""
    environ = os.environ if environ is None else environ
    if data is None:
        file = find_config_file(str(path) if path else None)
        if file is None:
            raise ConfigError("config", "no labeldesk.toml found: run `labeldesk init` or pass --config")
        file = file.absolute()  # paths in it are read from its folder: "." would leave them relative
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8-sig"))  # a BOM (Notepad) is no TOML
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(file), f"is not valid TOML: {exc}") from None
        except UnicodeDecodeError:
            raise ConfigError(str(file), "is not UTF-8 text: save it as UTF-8") from None
        except OSError as exc:
            raise ConfigError(str(file), f"cannot be read ({exc.strerror or exc})") from None
    else:
        file = Path(path) if path else None
    overrides = environment_keys(environ)
    try:
        config = validate(apply_environment(data, environ), file)
    except ConfigError as exc:
        raise from_environment(exc, overrides) from None
    config.environment = overrides
    return config


def environment_keys(environ) -> dict[str, str]:
    """Dotted setting → the ``LABELDESK_SECTION__KEY`` variable overriding it."""
    return {".".join(p.lower() for p in name[len("LABELDESK_"):].split("__")): name
            for name in environ if name.startswith("LABELDESK_") and "__" in name}


def from_environment(exc: ConfigError, overrides: dict[str, str]) -> ConfigError:
    """``exc`` naming the environment variable behind its key, if one is: the file does not hold that value."""
    for path, name in overrides.items():
        if path == exc.key or path.startswith(exc.key + ".") or exc.key.startswith(path + "."):
            return ConfigError(f"{exc.key} (from {name})", exc.problem)
    return exc


def did_you_mean(name: str, known, shown=str) -> str:
    """" (did you mean X?)" when ``name`` looks like a typo of one of ``known``, else ""."""
    close = difflib.get_close_matches(str(name).lower(), [str(k) for k in known], n=1, cutoff=0.6)
    return f" (did you mean {shown(close[0])}?)" if close else ""


def apply_environment(data: dict, environ) -> dict:
    """Overlay ``LABELDESK_SECTION__KEY=value`` variables onto the parsed file."""
    merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for name, value in environ.items():
        if not name.startswith("LABELDESK_"):
            continue
        if "__" not in name:  # LABELDESK_CONFIG and friends, or a misspelt override
            _check_single_underscore(name)
            continue
        parts = [p.lower() for p in name[len("LABELDESK_"):].split("__")]
        target = merged
        for part in parts[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ConfigError(name, "overrides a value that is not a table")
        key = parts[-1]
        existing = target.get(key)
        if parts[0] == "agents":
            raise ConfigError(name, "cannot set an agent: agents are keyed by their email address, which a "
                                    "variable's name cannot hold; list them under [agents] in labeldesk.toml")
        is_text = isinstance(existing, str) or (existing is None and ".".join(parts) in _text_settings())
        written = _written_as_toml(name, value, is_text)
        if written is not None:
            target[key] = written
        elif isinstance(existing, list) or key in {"aliases", "enabled", "admins"}:
            target[key] = [v.strip() for v in value.split(",") if v.strip()]
        elif isinstance(existing, bool):
            if value.strip().lower() not in FLAGS:  # "ture" must not quietly switch a setting off
                raise ConfigError(name, f"must be true or false, got {value!r}")
            target[key] = FLAGS[value.strip().lower()]
        elif isinstance(existing, (int, float)):
            try:
                target[key] = int(value)
            except ValueError:
                try:  # "2.5" over a file's 4: the setting may take fractions; validation decides
                    target[key] = float(value)
                except ValueError:
                    raise ConfigError(name, f"must be a number, got {value!r}") from None
        else:
            target[key] = value
    return merged


def _text_settings() -> set[str]:
    """The host's settings that are text (``mailbox.label_root``, …), as dotted keys."""
    sections = {"mailbox": MailboxSettings, "addon": AddonSettings, "host": HostSettings}
    return {f"{name}.{f.name}" for name, cls in sections.items() for f in dataclasses.fields(cls)
            if f.type in (str, "str")}


def _written_as_toml(name: str, value: str, is_text: bool):
    """The list or table an override writes as in labeldesk.toml (``["sla", "autoreply"]``, ``{ business_hours =
    false }``), else None. Split at its commas, ``'["sla"]'`` would name a plugin '["sla"]'. Text that only begins
    with a bracket stays text where the setting is text (a label root "[Support]"), whether the file sets it or not."""
    text = value.strip()
    if not text.startswith(("[", "{")):
        return None
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError as exc:
        if is_text:
            return None
        raise ConfigError(name, f"is not valid TOML ({exc}): write a list as in labeldesk.toml, e.g. "
                                '["sla", "autoreply"], or separated by commas: sla,autoreply') from None


def _check_single_underscore(name: str) -> None:
    """LABELDESK_MAILBOX_ADDRESS would override nothing (levels are joined by two underscores): say so."""
    rest = name[len("LABELDESK_"):]
    section = next((s for s in sorted(KNOWN_SECTIONS) if rest.lower().startswith(s + "_")), None)
    if section:
        raise ConfigError(name, f"overrides nothing: did you mean LABELDESK_{section.upper()}__"
                                f"{rest[len(section) + 1:]}? (two underscores between levels)")


FLAGS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}


def read_flag(value, key: str) -> bool:
    """A boolean setting; the strings environment overrides give ("true", "false", "yes", "no", …) are
    read as such ("false" never counts as true). For plugins' settings too."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in FLAGS:
        return FLAGS[value.strip().lower()]
    raise ConfigError(key, f"must be true or false, got {value!r}")


def read_list(value, key: str, what: str = "strings") -> list[str]:
    """A list-of-strings setting; a single string is a comma-separated list (as environment overrides
    give it). For plugins' settings too."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ConfigError(key, f"must be a list of {what}, e.g. [\"a\", \"b\"], got {value!r}")
    return [v.strip() for v in value if v.strip()]


def _str(section: dict, key: str, where: str, default: str = "", required: bool = False) -> str:
    value = section.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{where}.{key}", f"must be a string, got {type(value).__name__}")
    if required and not value.strip():
        raise ConfigError(f"{where}.{key}", "is required")
    return value.strip()


def _email(value: str, key: str) -> str:
    if not isinstance(value, str) or not EMAIL_RE.match(value):
        raise ConfigError(key, f"{value!r} is not an email address")
    return canonical_address(value)  # an internationalised domain as mail and Gmail's search spell it (A-labels)


def _https_or_local(value: str, key: str) -> str:
    if value and (not re.match(r"^https?://", value) or not urlsplit(value).hostname):
        raise ConfigError(key, f"must be an http(s) URL with a host (https://… or a local mailbox's "
                               f"http://127.0.0.1:8025/), got {value!r}")
    return value


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in ("localhost", "mailbox.local")


def is_local(api_root: str) -> bool:
    """Whether ``api_root`` is a local mailbox on this machine: plain http to a loopback address (or the
    in-process stand-in's ``mailbox.local``). No Google credentials are made for one."""
    root = urlsplit(api_root)
    return root.scheme == "http" and _loopback(root.hostname or "")


def _no_credentials_in_clear(mailbox: MailboxSettings) -> MailboxSettings:
    """Google credentials go to ``api_root`` with every call: over plain http only to this machine."""
    root = urlsplit(mailbox.api_root)
    if root.scheme == "http" and not is_local(mailbox.api_root) and (mailbox.credentials or mailbox.oauth_token):
        raise ConfigError("mailbox.api_root", f"plain http to {root.hostname} would send the mailbox's Google "
                                              "credentials unencrypted: use https, a local mailbox on this machine "
                                              "(http://127.0.0.1:…), or no credentials for a test mailbox")
    return mailbox


def _beside(mailbox: MailboxSettings, file: Path | None) -> MailboxSettings:
    """Relative credential paths are read from the configuration file's folder, like ``state_dir``,
    whichever directory a command runs in."""
    if file is None:
        return mailbox
    moved = {key: str(Path(file).parent / value) for key in ("credentials", "oauth_token")
             if (value := getattr(mailbox, key)) and not Path(value).expanduser().is_absolute()}
    return dataclasses.replace(mailbox, **moved) if moved else mailbox


def _with_slash(root: str) -> str:
    """API roots end in "/": the client joins paths (and the batch endpoint) onto them."""
    return root if not root or root.endswith("/") else root + "/"


def validate(data: dict, file: Path | None) -> Config:
    unknown = set(data) - KNOWN_SECTIONS
    if unknown:
        name = sorted(unknown)[0]
        raise ConfigError(name, f"unknown section{did_you_mean(name, KNOWN_SECTIONS, '[{}]'.format)}; "
                                f"expected one of {sorted(KNOWN_SECTIONS)}")
    mailbox = _beside(_mailbox(data.get("mailbox")), file)
    agents = _agents(data.get("agents", {}))
    plugins = data.get("plugins", {})
    if not isinstance(plugins, dict):
        raise ConfigError("plugins", "must be a table")
    enabled = plugins.get("enabled", [])
    if not isinstance(enabled, list) or not all(isinstance(p, str) for p in enabled):
        raise ConfigError("plugins.enabled", "must be a list of plugin names")
    raw = {k: v for k, v in plugins.items() if k != "enabled"}
    for name, section in raw.items():
        if not isinstance(section, dict):  # `enable = [...]`: a misspelt setting, not a plugin's table
            raise ConfigError(f"plugins.{name}", f"unknown setting{did_you_mean(name, ['enabled'])}; [plugins] holds "
                                                 "`enabled` and one [plugins.<name>] table per plugin")
    addon = _table(data, "addon", ("base_url", "service_account_email", "oauth_client_id", "google_certs_url"))
    addon_settings = AddonSettings(
        base_url=_https_or_local(_str(addon, "base_url", "addon").rstrip("/"), "addon.base_url"),
        service_account_email=_str(addon, "service_account_email", "addon"),
        oauth_client_id=_str(addon, "oauth_client_id", "addon"),
        google_certs_url=_https_or_local(_str(addon, "google_certs_url", "addon", AddonSettings.google_certs_url),
                                         "addon.google_certs_url"),
    )
    host = _table(data, "host", ("state_dir", "poll_seconds", "sweep_minutes", "timezone", "alerts_per_hour"))
    host_settings = HostSettings(
        state_dir=_str(host, "state_dir", "host", ".labeldesk"),
        poll_seconds=_whole(host.get("poll_seconds", 60), "host.poll_seconds", least=1),
        sweep_minutes=_whole(host.get("sweep_minutes", 5), "host.sweep_minutes", least=1),
        timezone=_zone(_str(host, "timezone", "host", "UTC"), "host.timezone"),
        alerts_per_hour=_alerts_per_hour(host.get("alerts_per_hour", HostSettings.alerts_per_hour)),
    )
    admin = _table(data, "admin", ("admins",))
    if not isinstance(admin.get("admins", []), list):
        raise ConfigError("admin.admins", "must be a list of addresses")
    admins = tuple(_email(a, "admin.admins") for a in admin.get("admins", []))
    return Config(mailbox=mailbox, agents=agents, enabled_plugins=tuple(enabled), plugin_raw=raw,
                  addon=addon_settings, host=host_settings, admins=admins, path=file)


MAILBOX_KEYS = ("address", "aliases", "api_root", "credentials", "delegated_user", "oauth_token", "label_root",
                "push_audience", "push_service_account", "ack_window_days", "full_sync_days",
                "quota_units_per_second", "quota_table", "watch_topic")


def _table(data: dict, name: str, known: tuple[str, ...]) -> dict:
    """An optional section: a table whose keys are all known (a misspelt key is an error, not ignored)."""
    section = data.get(name, {})
    if not isinstance(section, dict):
        raise ConfigError(name, "must be a table")
    _known_keys(section, name, known)
    return section


def _known_keys(section: dict, name: str, known: tuple[str, ...]) -> None:
    unknown = sorted(set(section) - set(known))
    if unknown:
        raise ConfigError(f"{name}.{unknown[0]}", f"unknown setting{did_you_mean(unknown[0], known)}; "
                                                 f"known: {', '.join(known)}")


def _whole(value, key: str, least: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().lstrip("-").isdigit():
        raise ConfigError(key, f"must be a whole number, got {value!r}")
    number = int(value)
    if number < least:
        raise ConfigError(key, f"must be at least {least}, got {number}")
    return number


def _alerts_per_hour(value) -> int:
    """``[host] alerts_per_hour``: a whole number, 0 for no limit."""
    try:
        return _whole(value, "host.alerts_per_hour")
    except ConfigError as exc:
        raise ConfigError("host.alerts_per_hour", f"{exc.problem}; it is how many notifications "
                          "(email or chat) syncs and sweeps may send in an hour, e.g. 30, or 0 for no limit") from None


def _mailbox(section: Any) -> MailboxSettings:
    if not isinstance(section, dict):
        raise ConfigError("mailbox", "section is required with at least `address = \"support@…\"`")
    _known_keys(section, "mailbox", MAILBOX_KEYS)
    address = _email(_str(section, "address", "mailbox", required=True), "mailbox.address")
    aliases = section.get("aliases", [])
    if not isinstance(aliases, list):
        raise ConfigError("mailbox.aliases", "must be a list of addresses")
    aliases = tuple(_email(a, "mailbox.aliases") for a in aliases)
    window = _positive(section.get("ack_window_days", 4), "mailbox.ack_window_days", "a number of days")
    full_days = _whole(section.get("full_sync_days", 30), "mailbox.full_sync_days", least=1)
    root = _str(section, "label_root", "mailbox", "Helpdesk").strip("/")
    return _push_complete(_no_credentials_in_clear(MailboxSettings(
        address=address, aliases=aliases,
        api_root=_with_slash(_https_or_local(_str(section, "api_root", "mailbox"), "mailbox.api_root")),
        credentials=_str(section, "credentials", "mailbox"),
        delegated_user=_optional_email(section, "delegated_user"),
        oauth_token=_str(section, "oauth_token", "mailbox"),
        label_root=root,
        push_audience=_https_or_local(_str(section, "push_audience", "mailbox"), "mailbox.push_audience"),
        push_service_account=_optional_email(section, "push_service_account"),
        ack_window_days=window, full_sync_days=full_days,
        quota_table=(table := _quota_table(section.get("quota_table", "new"))),
        quota_units_per_second=_quota_rate(section.get("quota_units_per_second", 0), table),
        watch_topic=_topic(_str(section, "watch_topic", "mailbox")),
    )))


def _push_complete(mailbox: MailboxSettings) -> MailboxSettings:
    """Push takes all three keys: with ``watch_topic`` Gmail pushes, and ``/gmail/push`` refuses (403) every push
    it cannot verify against ``push_audience`` and ``push_service_account`` — Pub/Sub would retry for a week."""
    keys = {"watch_topic": mailbox.watch_topic, "push_audience": mailbox.push_audience,
            "push_service_account": mailbox.push_service_account}
    given = [key for key, value in keys.items() if value]
    missing = [key for key in ("push_audience", "push_service_account") if not keys[key]]
    if given and missing:
        raise ConfigError(f"mailbox.{missing[0]}", f"is required with {given[0]}: push needs the Pub/Sub "
                                                   "subscription's audience (https://<your host>/gmail/push) and its "
                                                   "service account, or every push is refused (README, Push "
                                                   "notifications); or remove " + " and ".join(given) + " to poll only")
    return mailbox


def _optional_email(section: dict, key: str) -> str:
    value = _str(section, key, "mailbox")
    return _email(value, f"mailbox.{key}") if value else ""


def _zone(name: str, key: str) -> str:
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # not found is a KeyError; "../x" a ValueError; "Europe" a folder
        raise ConfigError(key, f"{name!r} is not a time zone; use an IANA name such as \"Europe/Warsaw\"") from None
    return name


def _topic(value: str) -> str:
    if value and not re.match(r"^projects/[^/]+/topics/[^/]+$", value):
        raise ConfigError("mailbox.watch_topic", f"{value!r} must look like projects/<project>/topics/<topic>")
    return value


def _positive(value, key: str, what: str = "a number") -> float:
    """A finite number, not negative (true/false, nan and inf are not numbers here)."""
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise ConfigError(key, f"must be {what}, got {value!r}")
    if number < 0:
        raise ConfigError(key, f"must not be negative, got {value!r}")
    return number


LOWEST_RATE = 10.0  # below 10 a send (100 units) waits over 10 s
QUOTA_TABLES = {"new": "a Cloud project created from May 2026: 6,000 units per user per minute, messages.get 20",
                "old": "a project that used the Gmail API before May 2026: 15,000 units per user per minute"}


def _quota_table(value) -> str:
    """``[mailbox] quota_table``: which of Google's two Gmail quota tables the credentials' Cloud project is on."""
    if value not in QUOTA_TABLES:
        raise ConfigError("mailbox.quota_table", f"must be \"new\" ({QUOTA_TABLES['new']}) or \"old\" "
                                                 f"({QUOTA_TABLES['old']}), got {value!r}")
    return value


def _quota_rate(value, table: str) -> float:
    """``[mailbox] quota_units_per_second``: 0 (the default) or a rate the host can live with, within the per-user
    limit of the project's table (Gmail refuses past it)."""
    from .quota import PER_USER_PER_MINUTE

    key = "mailbox.quota_units_per_second"
    rate = _positive(value, key)
    high = PER_USER_PER_MINUTE[table] / 60
    if rate and not LOWEST_RATE <= rate <= high:
        raise ConfigError(key, f"must be between {LOWEST_RATE:g} and {high:g} units a second (Gmail's per-user "
                               f"limit for {QUOTA_TABLES[table]}; [mailbox] quota_table = \"{table}\"), or 0 for the "
                               f"default, got {value!r}: below {LOWEST_RATE:g} every message sent (100 units) waits "
                               "longer than 10 s for its quota (at 0.001, more than a day)")
    return rate


AGENT_KEYS = ("first_name", "last_name", "title", "team_lead", "active")


def _agents(section: Any) -> dict[str, Agent]:
    if not isinstance(section, dict):
        raise ConfigError("agents", "must be a table of email = {first_name, last_name}")
    agents = {}
    for email, info in section.items():
        key = f"agents.\"{email}\""
        address = _email(email, key)
        if not isinstance(info, dict):
            raise ConfigError(key, "must be a table with first_name and last_name")
        _known_keys(info, key, AGENT_KEYS)
        first = _str(info, "first_name", key, required=True)
        last = _str(info, "last_name", key)
        if not last:
            raise ConfigError(f"{key}.last_name", "is required: replies are signed with first AND last name")
        agents[address] = Agent(address, first, last, _str(info, "title", key),
                                read_flag(info.get("team_lead", False), f"{key}.team_lead"),
                                read_flag(info.get("active", True), f"{key}.active"))
    return agents
