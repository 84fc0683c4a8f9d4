"""Pushing agents' full-name signatures to Gmail's send-as settings (``settings.sendAs.patch``).

With a Workspace service account each agent's own mailbox is patched (delegation as the agent);
against a single mailbox (consumer Gmail, the local mailbox) the support address's send-as entry
gets the signature of the first agent in ``[agents]`` (one send-as entry: docs/autoreply.md).
"""
from __future__ import annotations

import html


def signature_html(agent) -> str:
    lines = [html.escape(agent.full_name)] + ([html.escape(agent.title)] if agent.title else [])
    return "<br>".join(lines)


def sync_signatures(host, dry_run: bool = False) -> list[str]:
    config = host.config
    out = []
    if not config.agents:
        return ["No [agents] configured: nothing to do."]
    if config.mailbox.credentials:
        from dataclasses import replace

        from plugin_host.auth import credentials_for
        from plugin_host.gmail import GmailClient

        for agent in config.agents.values():
            body = {"signature": signature_html(agent)}
            if dry_run:
                out.append(f"(dry run) {agent.email}: {body['signature']}")
                continue
            settings = replace(config.mailbox, delegated_user=agent.email)
            client = GmailClient(settings, credentials=credentials_for(settings, config.state_path))
            client.patch_send_as(config.mailbox.address, body)
            out.append(f"{agent.email}: signature set for {config.mailbox.address}")
        return out
    agent = next(iter(config.agents.values()))
    body = {"signature": signature_html(agent)}
    if dry_run:
        return [f"(dry run) {config.mailbox.address}: {body['signature']}"]
    host.client.patch_send_as(config.mailbox.address, body)
    return [f"{config.mailbox.address}: signature of {agent.full_name} set"]
