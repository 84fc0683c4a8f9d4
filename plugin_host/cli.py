"""The ``labeldesk`` command line: init, auth, serve, demo, sync, sweep, plugins, inspect, mailbox.

Each command is a thin shell over host functions; errors become :class:`click.ClickException`
messages here and nowhere else. Plugins add their own commands through ``register_commands``.
"""
from __future__ import annotations

import json
import logging
import sys

import click

from .errors import LabeldeskError

log = logging.getLogger("labeldesk")


@click.group()
@click.version_option(package_name="labeldesk")
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
def cli(verbose: int) -> None:
    """Labeldesk: a help desk inside a shared Gmail inbox."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _load_plugin_commands() -> None:
    from .plugins import make_plugin_manager

    try:
        pm = make_plugin_manager(enabled=None)
    except LabeldeskError as exc:  # pragma: no cover - shown to the user
        log.error("plugins: %s", exc)
        return
    pm.hook.register_commands(cli=cli)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON list instead of a table.")
@click.option("--config", "config_path", type=click.Path(), help="Path to labeldesk.toml.")
def plugins(as_json: bool, config_path: str | None) -> None:
    """Show installed plugins: name, version, enabled, hooks."""
    from .config import load_config
    from .plugins import make_plugin_manager, plugin_infos

    enabled = None
    try:
        enabled = load_config(config_path).enabled_plugins
    except LabeldeskError:
        if config_path:
            raise
    infos = plugin_infos(make_plugin_manager(enabled=None), enabled)
    if as_json:
        click.echo(json.dumps([info.__dict__ | {"hooks": list(info.hooks)} for info in infos], indent=2))
        return
    for info in infos:
        state = "enabled" if info.enabled else "disabled"
        click.echo(f"{info.name:<12} {info.version:<8} {state:<9} {', '.join(info.hooks)}")


def main() -> None:
    """Entry point of the ``labeldesk`` script."""
    _load_plugin_commands()
    try:
        cli(standalone_mode=True)
    except LabeldeskError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
