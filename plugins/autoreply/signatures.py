"""Pushing agents' full-name signatures to Gmail's send-as settings (``settings.sendAs.patch``).

With a Workspace service account each agent's own mailbox is patched (delegation as the agent);
against a single mailbox (consumer Gmail, the local mailbox) the support address's send-as entry
gets the signature of the first active agent in ``[agents]`` (one send-as entry: docs/autoreply.md).
"""
from __future__ import annotations

import html

from plugin_host.errors import GmailError, LabeldeskError


class SignaturesNotSet(LabeldeskError):
    """Some agents' mailboxes refused their signature; ``lines`` says, agent by agent, what was done."""

    def __init__(self, message: str, lines: list[str]):
        super().__init__(message)
        self.lines = lines


def signature_html(agent) -> str:
    lines = [html.escape(agent.full_name)] + ([html.escape(agent.title)] if agent.title else [])
    return "<br>".join(lines)


def sync_signatures(host, dry_run: bool = False) -> list[str]:
    """Each active agent's signature set (an agent who left, ``active = false``, has a suspended mailbox or none
    of ours to sign from: named and left out)."""
    config = host.config
    if not config.agents:
        return ["No [agents] configured: nothing to do."]
    out = [f"{agent.email}: left out (active = false: no longer an agent)"
           for agent in config.agents.values() if not agent.active]
    agents = list(config.active_agents.values())
    if not agents:
        return out + ["No active [agents] configured: nothing to do."]
    if config.mailbox.credentials:
        from dataclasses import replace

        from plugin_host.auth import credentials_for
        from plugin_host.gmail import GmailClient
        from plugin_host.scopes import SEND_AS

        failed = 0
        for agent in agents:
            body = {"signature": signature_html(agent)}
            if dry_run:
                out.append(f"(dry run) {agent.email}: {body['signature']}")
                continue
            settings = replace(config.mailbox, delegated_user=agent.email)
            # the send-as settings alone: a delegation granting the host's scopes but not this one refuses only this
            client = GmailClient(settings, credentials=credentials_for(settings, config.state_path, [SEND_AS]),
                                 delegation_scopes=host.client.delegation_scopes)
            try:  # one agent's mailbox refusing (no such send-as, delegation denied) does not stop the others
                client.patch_send_as(config.mailbox.address, body)
            except GmailError as exc:
                failed += 1
                out.append(f"{agent.email}: not set ({exc}): add {config.mailbox.address} as a send-as address in "
                           "this agent's Gmail settings (and check the service account's domain-wide delegation)")
                continue
            out.append(f"{agent.email}: signature set for {config.mailbox.address}")
        if failed:
            raise SignaturesNotSet(f"signatures set for {len(agents) - failed} of {len(agents)} "
                                   "agents; see above for the rest", out)
        return out
    agent = agents[0]
    body = {"signature": signature_html(agent)}
    if dry_run:
        return out + [f"(dry run) {config.mailbox.address}: {body['signature']}"]
    host.client.patch_send_as(config.mailbox.address, body)
    return out + [f"{config.mailbox.address}: signature of {agent.full_name} set"]
