"""The Google OAuth scopes Labeldesk asks for: the host's own, and those the enabled plugins declare.

Google refuses a service account's whole token (``unauthorized_client``) when the Admin console's domain-wide
delegation lacks any scope it asks for, and a consent screen lets a user untick any box. So Labeldesk asks only for
what the configuration uses: Gmail for the host, and each plugin's scopes as its :func:`google_scopes` hook names
them for its settings (Tasks for SLA escalations, send-as settings for ``labeldesk signatures sync``, Drive for a
Drive knowledge base, the directory for ``labeldesk agents sync``).
"""
from __future__ import annotations

from dataclasses import dataclass

GOOGLE = "https://www.googleapis.com/auth/"
# gmail.modify covers everything the host does in the mailbox: read, label, draft, send, insert, watch
# (the discovery document lists it for each of those methods; gmail.send would add nothing).
GMAIL = GOOGLE + "gmail.modify"
TASKS = GOOGLE + "tasks"
SEND_AS = GOOGLE + "gmail.settings.basic"
DRIVE = GOOGLE + "drive.readonly"
DIRECTORY = GOOGLE + "admin.directory.user.readonly"


@dataclass(frozen=True)
class Scope:
    """One scope a plugin (or the host) needs: ``purpose`` says what stops working without it; ``command`` names the
    ``labeldesk`` command that alone uses it ("" when the running host does)."""

    url: str
    purpose: str
    command: str = ""
    plugin: str = ""

    @property
    def name(self) -> str:
        """The scope as the Admin console and consent screen show it, without Google's prefix."""
        return self.url.removeprefix(GOOGLE)


HOST = Scope(GMAIL, "reading, labelling and answering the support mailbox", plugin="host")


def needed(pm, config) -> list[Scope]:
    """Every scope the configuration uses: the host's, then each enabled plugin's (one entry per scope, the first
    that names it)."""
    order = {name: place for place, name in enumerate(config.enabled_plugins)}
    from .plugins import listed_answers

    def broken(error):  # asked at start: the host cannot know which token to ask Google for
        raise type(error)(f"{error}: update or reinstall it, or take it out of [plugins] enabled") from error.__cause__

    declared = listed_answers(pm, "google_scopes", Scope, broken, settings=config)
    found = [HOST] + sorted(declared, key=lambda scope: order.get(scope.plugin, len(order)))  # as [plugins] enabled
    seen: set[str] = set()
    return [scope for scope in found if not (scope.url in seen or seen.add(scope.url))]


def admin_console_list(scopes: list[Scope]) -> str:
    """The comma-separated list the Admin console's domain-wide delegation takes."""
    return ",".join(scope.url for scope in scopes)


def for_host(scopes: list[Scope], service_account: bool) -> list[str]:
    """What the running host's Gmail token asks for: not Drive (a token of its own, so that Drive refused stops
    nothing else), and, for a service account, neither Tasks (its own token too: a delegation without Tasks must not
    refuse Gmail's) nor a command's scope (a command asks for its own token then). An installed-app token is one
    for everything, Tasks included."""
    return [s.url for s in scopes if not (service_account and (s.command or s.url == TASKS)) and s.url != DRIVE]


def not_granted(scopes: list[Scope], granted) -> list[Scope]:
    """The needed ``scopes`` a token was not granted."""
    held = set(granted or ())
    return [scope for scope in scopes if scope.url not in held]


def missing_lines(missing: list[Scope]) -> list[str]:
    """What will not work, one line per scope not granted."""
    lines = []
    for scope in missing:
        who = "the host" if scope.plugin == "host" else f"plugin {scope.plugin}"
        what = f"`labeldesk {scope.command}`" if scope.command else scope.purpose
        lines.append(f"{scope.name} was not granted ({who}): {what} will not work")
    return lines


def described(scopes: list[Scope]) -> list[str]:
    """One line per scope: who needs it and what for."""
    lines = []
    for scope in scopes:
        who = "the host" if scope.plugin == "host" else f"plugin {scope.plugin}"
        only = f", `labeldesk {scope.command}` only" if scope.command else ""
        lines.append(f"{scope.name}: {who}{only} ({scope.purpose})")
    return lines
