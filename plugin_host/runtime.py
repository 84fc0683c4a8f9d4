"""Building a running Host from configuration: plugins, settings validation, Gmail client.

Shared by the CLI, the demo and tests, so all of them start Labeldesk the same way.
"""
from __future__ import annotations

from pathlib import Path

from .config import Config, load_config
from .host import Host
from .plugins import make_plugin_manager, validate_plugin_settings


def build_host(config: Config, http=None, extra_plugins: dict | None = None, now=None) -> Host:
    """A Host for ``config``; ``http`` overrides the transport (the in-process local mailbox)."""
    from .auth import credentials_for
    from .gmail import GmailClient

    pm = make_plugin_manager(enabled=config.enabled_plugins, extra=extra_plugins)
    validate_plugin_settings(pm, config)
    credentials = None if http is not None else credentials_for(config.mailbox, config.state_path)
    client = GmailClient(config.mailbox, credentials=credentials, http=http)
    return Host(config, pm, client, now=now)


def host_from_cli(config_path: str | Path | None = None, http=None) -> Host:
    """The Host for a CLI command: ``--config``, ``LABELDESK_CONFIG`` or ``./labeldesk.toml``."""
    return build_host(load_config(config_path), http=http)
