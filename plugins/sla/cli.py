"""``labeldesk sla due`` (check a calendar) and ``labeldesk report`` (support metrics)."""
from __future__ import annotations

from datetime import datetime

import click

from plugin_host.cli import PERIOD

from .policy import PRIORITIES


def register(cli: click.Group) -> None:
    @cli.group("sla")
    def sla():
        """Service levels: deadlines in business hours."""

    @sla.command("due")
    @click.option("--received", required=True, help="When the request arrived (ISO 8601).")
    @click.option("--target", required=True, help="Target duration, e.g. 4h, 30m, 2d.")
    @click.option("--timezone", "tz", help="Calendar time zone, e.g. Europe/Warsaw.")
    @click.option("--hours", help='Working hours, e.g. "Mon-Fri 09:00-18:00".')
    @click.option("--holidays", help="Country or region code(s) for public holidays, e.g. PL, PL,DE or DE-BY.")
    @click.option("--priority", type=click.Choice(PRIORITIES),
                  help="Count in this priority's hours (targets.<priority>.business_hours); default: business_hours.")
    @click.option("--config", "config_path", type=click.Path(), help="Path to labeldesk.toml.")
    def due(received, target, tz, hours, holidays, priority, config_path):
        """Print the deadline as ISO 8601 in the calendar's time zone (flags override the config)."""
        from plugin_host.errors import ConfigError, LabeldeskError

        from .calendar import parse_duration

        from plugin_host.config import find_config_file, load_config

        from .policy import validate

        raw, config = {}, None
        try:  # the configuration as every command finds it (--config, $LABELDESK_CONFIG, ./labeldesk.toml), if any:
            if config_path or find_config_file() is not None:  # one found is read whole, a mistake in it an error
                config = load_config(config_path)
                raw = dict(config.plugin_raw.get("sla", {}))
        except LabeldeskError as exc:
            raise click.ClickException(str(exc))
        overrides = {k: v for k, v in (("hours", hours), ("timezone", tz), ("holidays", holidays)) if v}
        try:
            try:
                policy = validate({**raw, **overrides}, config)  # the settings are checked as at start-up
            except ConfigError as exc:  # a flag's value is named as the flag, not as a setting
                flag = exc.key.removeprefix("plugins.sla.")
                raise ConfigError(f"--{flag}", exc.problem) if flag in overrides else exc from None
            calendar = policy.calendar
            start = datetime.fromisoformat(received)
            duration = parse_duration(target, "--target")
        except LabeldeskError as exc:
            raise click.ClickException(str(exc))
        except ValueError:
            raise click.ClickException(f"--received {received!r} is not an ISO 8601 time")
        if start.tzinfo is None:
            start = start.replace(tzinfo=calendar.zone)
        business = policy.business(priority) if priority else policy.business_hours
        try:
            due = calendar.add_business_time(start, duration) if business else start + duration
        except OverflowError:
            raise click.ClickException(f"--received {received!r}: the deadline would be after the year 9999")
        except ValueError:  # beyond the ten years the calendar looks ahead
            raise click.ClickException(f"--target {target} ends beyond the ten years of working time the calendar "
                                       "looks ahead (1d is 24 working hours)")
        click.echo(due.astimezone(calendar.zone).isoformat())

    @cli.command("report")
    @click.option("--since", "days", type=PERIOD, default="30d", show_default=True,
                  help="Period: hours, days, weeks or months, e.g. 12h, 30d, 2w, 3m (a bare number is days).")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.option("--html", "html_file", type=click.Path(dir_okay=False), help="Write an HTML report here.")
    @click.option("--config", "config_path", type=click.Path(), help="Path to labeldesk.toml.")
    def report(days, as_json, html_file, config_path):
        """Support metrics: first response, resolution, SLA attainment, volume per label and agent."""
        import json

        from plugin_host.cli import period_tickets
        from plugin_host.errors import LabeldeskError
        from plugin_host.runtime import host_from_cli

        from .metrics import compute, render_html, render_text

        if html_file:
            writable_folder(html_file)  # said now, not after the whole report was read from Gmail
        try:
            host = host_from_cli(config_path)
            tickets = period_tickets(host, days)
        except LabeldeskError as exc:
            raise click.ClickException(str(exc))
        from . import policy_of

        metrics = compute(tickets, policy_of(host.config), host.config, host.now())  # the clock the search used
        if html_file:
            try:
                with open(html_file, "w", encoding="utf-8") as fh:
                    fh.write(render_html(metrics))
            except OSError as exc:  # a full disk, a folder removed meanwhile
                raise click.ClickException(f"--html: cannot write {html_file}: {exc.strerror or exc}")
            click.echo(f"Wrote {html_file}", err=as_json)  # with --json, stdout holds the JSON alone
        if as_json:
            click.echo(json.dumps(metrics, ensure_ascii=False, indent=2, default=str))
        elif not html_file:
            click.echo(render_text(metrics))


def writable_folder(path: str) -> None:
    """A ClickException naming ``--html`` unless the file's folder exists and can be written in."""
    import os
    from pathlib import Path

    folder = Path(path).expanduser().absolute().parent
    if not folder.is_dir():
        raise click.ClickException(f"--html: the folder {folder} does not exist; create it or choose another file")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise click.ClickException(f"--html: the folder {folder} cannot be written in; choose another file")
