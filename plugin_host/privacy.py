"""Forgetting a customer: what Labeldesk keeps and wrote about them goes with ``labeldesk forget``.

Gmail is the database: a customer who asks to have their data erased (GDPR art. 17) is forgotten when the
support team deletes their threads, except for what a plugin copied into a file of its own (the knowledge base's
``kb-feedback.jsonl`` keeps the questions agents answered with an article) and what Labeldesk itself wrote to Google
about their tickets: tasks in Google Tasks and email notices in the support mailbox (:mod:`plugin_host.erasure`).
The host's own state files hold thread and message ids and times, never an address or a customer's words
(docs/architecture.md, "Personal data outside Gmail"). A file that needs to know whose entry it is names the
customer by :func:`customer_digest`, not by address.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .errors import LabeldeskError

MAX_THREADS = 5000  # the customer's threads looked up in Gmail (for entries older versions wrote by thread only)


def customer_digest(address: str) -> str:
    """A customer's address as a file keeps it when it only needs to find their entries again: a SHA-256 digest
    of the address in lower case (16 hex digits). Not a secret — anyone holding the address can compute it —
    but the file names nobody in clear."""
    return hashlib.sha256(b"labeldesk customer\0" + address.strip().lower().encode("utf-8")).hexdigest()[:16]


@dataclass
class Forgotten:
    """What ``labeldesk forget`` removed (one line per kind of thing; in a dry run, what it would remove), what is
    left for people to delete (no run of Labeldesk can), and what it could not do (a later run can)."""

    removed: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def customer_threads(host, address: str) -> tuple[set[str], set[str]]:
    """Ids of the threads Gmail still holds (trash and spam too) that the customer wrote, was written to or copied
    on, and of those that also name them anywhere (a forward of their mail, a colleague quoting them); both empty
    once the support team deleted them."""
    parties = {t["id"] for t in host.client.list_threads(f"in:anywhere (from:{address} OR to:{address} OR "
                                                         f"cc:{address})", max_results=MAX_THREADS)}
    query = f'in:anywhere (from:{address} OR to:{address} OR cc:{address} OR "{address}")'
    return parties, parties | {t["id"] for t in host.client.list_threads(query, max_results=MAX_THREADS)}


def forget_customer(host, address: str, dry_run: bool = False) -> Forgotten:
    """Ask every plugin to remove what it keeps about ``address`` (the one place ``forget_customer`` is called),
    then remove what Labeldesk wrote about them to Google (tasks, email notices). Gmail is searched first for the
    customer's threads, for entries that older versions wrote naming only a thread; when Gmail cannot be read the
    plugins still remove what names the customer, and the problem is said. ``dry_run``: only say what would go."""
    address = address.strip().lower()
    result = Forgotten()
    try:
        theirs, threads = customer_threads(host, address)
    except LabeldeskError as exc:
        theirs, threads = set(), set()
        result.problems.append(f"Gmail could not be searched for their threads ({exc}): entries that name only a "
                               "thread were kept; run `labeldesk forget` again when Gmail answers")
    asked = dict(addresses=[address], digests=[customer_digest(address)], threads=frozenset(threads),
                 settings=host.config, dry_run=dry_run)
    hook = host.pm.hook.forget_customer
    if dry_run:  # a plugin that cannot say what it would remove without removing it is not asked
        blind = [impl for impl in hook.get_hookimpls() if "dry_run" not in impl.argnames]
        hook = host.pm.subset_hook_caller("forget_customer", remove_plugins=[impl.plugin for impl in blind])
        result.left += [_not_asked(impl.plugin_name) for impl in blind]
    for lines in hook(**asked):
        result.removed.extend(lines or [])
    forget_in_plugins_switched_off(host, asked, result)
    _erase_in_google(host, address, frozenset(theirs), dry_run, result)
    return result


def _not_asked(plugin: str) -> str:
    return (f"plugin {plugin} was not asked (it cannot tell what it keeps without removing it): run without "
            "--dry-run")


def forget_in_plugins_switched_off(host, asked: dict, result: Forgotten) -> None:
    """A plugin switched off keeps its files for when it is on again (kb_suggest its agents' inserts): the
    customer's part of them goes too. One that raises is said as a problem naming it; the others still forget."""
    from .plugins import disabled_plugin_manager, hook_callers

    disabled = disabled_plugin_manager(host.config, host.pm)
    blind = {impl.plugin_name for impl in disabled.hook.forget_customer.get_hookimpls()
             if "dry_run" not in impl.argnames}
    for plugin, call in hook_callers(disabled, "forget_customer"):
        if asked["dry_run"] and plugin in blind:
            result.left.append(_not_asked(plugin))
            continue
        try:
            for lines in call(**asked):
                result.removed.extend(lines or [])
        except Exception as exc:  # a plugin that is off must not keep the others from forgetting
            result.problems.append(f"{plugin} (not enabled) could not remove what it keeps about them "
                                   f"({type(exc).__name__}: {exc}); enable it or fix it, and run `labeldesk forget` "
                                   "again")


def _erase_in_google(host, address: str, threads: frozenset, dry_run: bool, result: Forgotten) -> None:
    """``threads``: those the customer wrote, was written to or copied on (a thread that only names them is
    another customer's ticket, whose tasks stay)."""
    from .erasure import Erasure, erase_notices, erase_tasks
    from .executor import WebhookLog
    from .scopes import TASKS, needed

    erased = Erasure()
    if any(scope.url == TASKS for scope in needed(host.pm, host.config)):
        erase_tasks(host.client, address, threads, dry_run, erased)
    else:
        erased.left.append("Google Tasks was not checked: no enabled plugin uses it. Tasks a plugin made while it was "
                           "on (sla's breach and escalation tasks, in its `tasklist`) may name them: in Google Tasks, "
                           f"delete the tasks naming {address} (a `Customer:` line in their notes), or switch that "
                           "plugin on again and run `labeldesk forget`")
    erase_notices(host.client, host.config, address, dry_run, erased)
    if WebhookLog(host.config.state_path).path.exists():
        erased.left.append("Google Chat: posts about their tickets cannot be deleted through an incoming webhook; "
                           f"delete those naming {address} in the space")
    result.removed += erased.removed
    result.left += erased.left
    result.problems += erased.problems
