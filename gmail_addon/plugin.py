"""Registers the add-on with the host like any plugin: its routes and the ``addon`` commands."""
from __future__ import annotations

import json

import click

from plugin_host import hookimpl


@hookimpl
def register_routes(app):
    from .blueprint import addon

    app.register_blueprint(addon)
    if app.config.get("LABELDESK_DEMO"):
        from .demo_tokens import DemoSigner
        from .preview import preview

        app.extensions["labeldesk.demo_signer"] = DemoSigner()
        app.register_blueprint(preview)


@hookimpl
def register_commands(cli):
    @cli.group("addon")
    def addon_group():
        """The Gmail add-on: deployment manifest."""

    @addon_group.command("manifest")
    @click.option("--base-url", required=True, help="Public https:// URL where `labeldesk serve` runs.")
    @click.option("--config", "config_path", type=click.Path(),
                  help="Path to labeldesk.toml: --base-url is checked against its [addon] base_url.")
    @click.option("--name", default="Labeldesk", show_default=True, help="The add-on's name in Gmail.")
    def manifest(base_url, config_path, name):
        """Print the deployment JSON (homepage, contextual and compose triggers, minimal scopes)."""
        from plugin_host.config import load_config
        from plugin_host.errors import LabeldeskError

        from .manifest import deployment

        try:
            click.echo(json.dumps(deployment(base_url, name), indent=2))
        except ValueError as exc:
            raise click.ClickException(str(exc))
        try:
            configured = load_config(config_path).addon.base_url
        except LabeldeskError as exc:
            if config_path:
                raise click.ClickException(str(exc))
            return
        if not configured:
            click.echo(f"warning: [addon] base_url is not set, so the host refuses every add-on request (503): set "
                       f"base_url = \"{base_url.rstrip('/')}\" in [addon]", err=True)
        elif configured != base_url.rstrip("/"):
            click.echo(f"warning: [addon] base_url is {configured}: the host accepts only requests signed for it, "
                       f"so with this manifest ({base_url}) every request would be refused", err=True)
