"""``labeldesk autoreply preview`` and ``labeldesk signatures sync``."""
from __future__ import annotations

from datetime import datetime, timezone

import click


def register(cli: click.Group) -> None:
    @cli.group("autoreply")
    def autoreply():
        """Acknowledgements: preview what a customer would receive."""

    @autoreply.command("preview")
    @click.argument("eml", type=click.Path(exists=True, dir_okay=False))
    @click.option("--config", "config_path", type=click.Path(), help="Path to labeldesk.toml.")
    @click.option("--now", "now_text", help="Pretend it is this ISO time (for out-of-hours variants).")
    def preview(eml, config_path, now_text):
        """Show exactly what would be sent in answer to EML (headers and body)."""
        from email.parser import BytesParser
        from email.policy import default

        from plugin_host.actions import Actions
        from plugin_host.errors import LabeldeskError
        from plugin_host.runtime import build_host
        from plugin_host.config import load_config
        from plugin_host.tickets import ticket_from_eml

        try:
            now = datetime.fromisoformat(now_text) if now_text else datetime.now(timezone.utc)
        except ValueError:
            raise click.BadParameter(f"{now_text!r} is not an ISO time, e.g. 2026-11-23T20:00+01:00",
                                     param_hint="--now") from None
        if now.tzinfo is None:
            now = now.replace(tzinfo=timezone.utc)
        try:
            config = load_config(config_path)
            host = build_host(config, http=_offline_http())
        except LabeldeskError as exc:
            raise click.ClickException(str(exc))
        raw = open(eml, "rb").read()
        ticket = ticket_from_eml(raw, config)
        if ticket is None:
            from plugin_host.loopguard import should_acknowledge

            verdict = should_acknowledge(BytesParser(policy=default).parsebytes(raw), config.mailbox.own_addresses)
            click.echo(f"No acknowledgement: not a customer request ({verdict.reason}).")
            return
        ticket = _recent(ticket, now)
        actions = Actions(thread_id=ticket.thread_id)
        host.pm.hook.on_ticket_opened(ticket=ticket, actions=actions, settings=config, now=now)
        replies = [a for a in actions if a.__class__.__name__ == "Reply"]
        if not replies:
            click.echo("No acknowledgement would be sent (see the log with -v for the reason).")
            return
        raw_out = host.executor.compose(replies[0], ticket)
        message = BytesParser(policy=default).parsebytes(raw_out)
        for name, value in message.items():
            click.echo(f"{name}: {value}")
        click.echo("")
        click.echo(message.get_body(("plain",)).get_content())

    @cli.group("agents")
    def agents():
        """The agent directory ([agents] in labeldesk.toml)."""

    @agents.command("sync")
    @click.option("--config", "config_path", type=click.Path(), help="Path to labeldesk.toml.")
    @click.option("--query", default=None, help="Admin SDK users.list query (overrides directory_query).")
    @click.option("--dry-run", is_flag=True, help="Print who would be added; write nothing.")
    def agents_sync(config_path, query, dry_run):
        """Add agents (first name, last name, title) from the Google Workspace directory."""
        from plugin_host.config import find_config_file, is_local, load_config
        from plugin_host.errors import LabeldeskError
        from plugin_host.plugins import make_plugin_manager, validate_plugin_settings

        from .directory import (build_directory, directory_agents, new_agents, update_config,
                                roster_changes, without_the_mailbox)

        try:
            config = load_config(config_path)
            validate_plugin_settings(make_plugin_manager(enabled=("autoreply",)), config)
            service = build_directory(config)
        except LabeldeskError as exc:
            raise click.ClickException(str(exc))
        settings = config.plugin("autoreply")
        query = query if query is not None else settings.directory_query
        left_out: dict[str, str] = {}
        aliases: dict[str, str] = {}
        try:  # every page is read before anything is judged or written: a failed page changes nothing
            found = without_the_mailbox(directory_agents(service, query, left_out, aliases), left_out,
                                        (config.mailbox.address, *config.mailbox.aliases))
        except LabeldeskError as exc:
            raise click.ClickException(str(exc))
        target = config.path or find_config_file(config_path)
        local = config.mailbox.api_root if is_local(config.mailbox.api_root) else ""
        left, back, notes = roster_changes(found, left_out, config.agents, query, aliases, local_root=local)
        would = "would " if dry_run else ""
        if dry_run:
            new = new_agents(target.read_bytes().decode("utf-8-sig"), found)
            for email, entry in sorted(new.items()):
                click.echo(f"{email}: {entry['first_name']} {entry['last_name']} {entry.get('title', '')}".rstrip())
        else:
            try:
                added, kept = update_config(target, found, {**{email: False for email in left},
                                                            **{email: True for email in back}})
            except OSError as exc:  # a full disk, a read-only folder: the file was left as it was
                raise click.ClickException(f"cannot write {target} ({exc.strerror or exc}); it was left as it was: "
                                           "free space or make its folder writable, then run agents sync again")
            except LabeldeskError as exc:
                raise click.ClickException(str(exc))
        for email, why in left.items():
            click.echo(f"{would}mark{'' if dry_run else 'ed'} inactive {email} ({config.agents[email].full_name}): {why}")
            for line in _tickets_left(config, config.agents[email].full_name):
                click.echo(line)
        for email, why in back.items():
            click.echo(f"{would + 'mark ' if dry_run else ''}active again {email} ({config.agents[email].full_name}): "
                       f"{why}")
        for line in notes:
            click.echo(line)
        if dry_run:
            click.echo(f"{len(new)} agent(s) would be added, {len(found) - len(new)} already configured "
                       "(dry run: nothing written).")
            return
        click.echo(f"{added} agent(s) added, {kept} already configured.")
        if left or back:
            click.echo(f"{len(left)} agent(s) marked inactive, {len(back)} active again.")

    @cli.group("signatures")
    def signatures():
        """Full-name signatures for agents."""

    @signatures.command("sync")
    @click.option("--config", "config_path", type=click.Path(), help="Path to labeldesk.toml.")
    @click.option("--dry-run", is_flag=True, help="Print the signatures instead of setting them.")
    def sync(config_path, dry_run):
        """Set each agent's full-name signature as the Gmail send-as signature for the support address."""
        from plugin_host.errors import LabeldeskError
        from plugin_host.runtime import host_from_cli

        from .signatures import SignaturesNotSet, sync_signatures

        try:
            host = host_from_cli(config_path)
            lines = sync_signatures(host, dry_run=dry_run)
        except SignaturesNotSet as exc:
            lines = exc.lines
            for line in lines:
                click.echo(line)
            raise click.ClickException(str(exc))
        except LabeldeskError as exc:
            raise click.ClickException(str(exc))
        for line in lines:
            click.echo(line)


def _tickets_left(config, full_name: str) -> list[str]:
    """What the admin is told of the open tickets an agent who left owns: how many, the newest by subject and
    link, and where their SLA warnings go now. Read from the mailbox; when it cannot be, said so."""
    from plugin_host.auth import credentials_for
    from plugin_host.errors import LabeldeskError
    from plugin_host.gmail import GmailClient

    from .directory import owned_open_tickets

    label = f"{config.mailbox.label_root}/Owner/{full_name}" if config.mailbox.label_root else f"Owner/{full_name}"
    try:
        client = GmailClient(config.mailbox, credentials=credentials_for(config.mailbox, config.state_path),
                             state_dir=config.state_path)
        count, shown = owned_open_tickets(client, config.mailbox, full_name)
    except LabeldeskError as exc:
        return [f"  could not list the open tickets {full_name} owns ({exc}): see the label {label} in Gmail"]
    if not count:
        return [f"  {full_name} owns no open ticket"]
    return ([f"  {full_name} owns {count} open ticket(s) (label {label}); their SLA warnings go to the team lead "
             "until someone takes them (Take in the side panel):"] + [f"    {line}" for line in shown]
            + ([f"    … and {count - len(shown)} more"] if count > len(shown) else []))


def _recent(ticket, now):
    """A preview treats the message as just received, so the age rule does not hide it."""
    import dataclasses

    first = dataclasses.replace(ticket.messages[0], sent_at=now)
    return dataclasses.replace(ticket, messages=(first,) + ticket.messages[1:], first_customer_at=now)


def _offline_http():
    from plugin_host.mailbox import LocalMailbox

    return LocalMailbox().http  # the preview reads and sends nothing: an empty local mailbox suffices
