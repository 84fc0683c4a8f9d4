"""Building a running Host from configuration: plugins, settings validation, Gmail client.

Shared by the CLI, the demo and tests, so all of them start Labeldesk the same way.
"""
from __future__ import annotations

import logging
from pathlib import Path

from .config import Config, from_environment, load_config
from .errors import ConfigError
from .host import Host
from .plugins import check_plugin_sections, make_plugin_manager, validate_plugin_settings, warn_disabled_settings

log = logging.getLogger(__name__)


def build_host(config: Config, http=None, extra_plugins: dict | None = None, now=None) -> Host:
    """A Host for ``config``; ``http`` overrides the transport (the in-process local mailbox)."""
    from .auth import credentials_for
    from .gmail import GmailClient

    try:
        pm = make_plugin_manager(enabled=config.enabled_plugins, extra=extra_plugins)
        check_plugin_sections(config, extra_plugins)
    except ConfigError as exc:  # LABELDESK_PLUGINS__ENABLED may be what names the unknown plugin
        raise from_environment(exc, config.environment) from None
    validate_plugin_settings(pm, config)
    warn_disabled_settings(config, pm)
    _warn_unused(config)
    from .config import is_local
    from .quota import bucket_for

    from .scopes import DRIVE, TASKS, for_host, needed

    scopes = needed(pm, config)
    if http is None:
        _check_stored_token(config, scopes)
    service_account = bool(config.mailbox.credentials)
    credentials = None if http is not None else credentials_for(config.mailbox, config.state_path,
                                                                     for_host(scopes, service_account))
    # A service account's token is refused whole when the delegation lacks one scope it asks for: Tasks asks for its
    # own (same account and user), so a delegation without Tasks refuses the breach tasks alone, not Gmail.
    tasks_credentials = (credentials_for(config.mailbox, config.state_path, scopes=[TASKS])
                         if credentials is not None and service_account else credentials)
    local = http is not None or is_local(config.mailbox.api_root)
    def drive_credentials():
        return credentials_for(config.mailbox, config.state_path, scopes=[DRIVE])

    client = GmailClient(config.mailbox, credentials=credentials, tasks_credentials=tasks_credentials, http=http,
                         bucket=bucket_for(config.mailbox, local=local, state_dir=config.state_path),
                         drive_credentials=None if local else drive_credentials,
                         delegation_scopes=[scope.url for scope in scopes])
    return Host(config, pm, client, now=now)


def _check_stored_token(config: Config, scopes) -> None:
    """An installed-app token without a scope the configuration uses (a plugin enabled after `labeldesk auth`, a
    box unticked): said at start, with what will not work and what to do, rather than at the first refused call."""
    from pathlib import Path

    from .auth import token_path, token_scopes
    from .config import is_local
    from .scopes import GMAIL, missing_lines, not_granted

    token = token_path(config.mailbox, config.state_path)
    if config.mailbox.credentials or is_local(config.mailbox.api_root) or not Path(token).is_file():
        return
    held = token_scopes(token)
    missing = not_granted(scopes, held) if held is not None else []
    again = "run `labeldesk auth --client-secrets <client.json>` again and allow every access"
    if any(scope.url == GMAIL for scope in missing):
        raise ConfigError("mailbox.oauth_token", f"the stored OAuth token {token} was not granted {GMAIL}: nothing "
                                                 f"can work without it; {again}")
    for line in missing_lines(missing):
        log.warning("the stored OAuth token %s: %s; %s", token, line, again)


def _warn_unused(config: Config) -> None:
    """Settings accepted but read by nothing yet: said at start, with where the working setting lives."""
    if config.admins:
        log.warning("[admin] admins is not used yet: Labeldesk has no admin site, so the list grants nothing")
    lead = getattr(config.plugin("sla"), "team_lead", "")
    for agent in config.agents.values():
        if agent.team_lead and agent.email != lead:
            log.warning('[agents] "%s" team_lead = true is not used: breach notices and escalations go to '
                        '[plugins.sla] team_lead (set it to "%s")', agent.email, agent.email)


def host_from_cli(config_path: str | Path | None = None, http=None) -> Host:
    """The Host for a CLI command: ``--config``, ``LABELDESK_CONFIG`` or ``./labeldesk.toml``."""
    return build_host(load_config(config_path), http=http)
