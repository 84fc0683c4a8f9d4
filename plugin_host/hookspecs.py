"""The hooks Labeldesk plugins implement.

Every hook is called with keyword arguments from exactly one place in the host. Arguments may be
added over time but are never renamed or removed, so implementations should accept only the
arguments they need (pluggy passes just those).

Plugins never call Gmail: they read a :class:`~plugin_host.ticket.Ticket` and record
:class:`~plugin_host.actions.Actions`; the host's executor carries them out.
"""
from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("labeldesk")


# ---------------------------------------------------------------------------------------------
# Event hooks: something happened to a ticket, or the clock ticked.
# ---------------------------------------------------------------------------------------------

@hookspec
def on_ticket_opened(ticket, actions, settings, now) -> None:
    """A new ticket: the first customer message of a thread to a support address arrived.

    Record what should happen (labels, an acknowledgement, …) on ``actions``; return nothing.

    :param ticket: the :class:`~plugin_host.ticket.Ticket` derived from the thread.
    :param actions: the :class:`~plugin_host.actions.Actions` recorder for this ticket.
    :param settings: the validated :class:`~plugin_host.config.Config`.
    :param now: the current time, timezone-aware UTC.
    """


@hookspec
def on_customer_replied(ticket, actions, settings, now) -> None:
    """The customer wrote again on an existing ticket; also when Gmail put the reply in a thread of its own
    (a subject changed in a reply, a conversation past 100 messages): that thread's first message answers a
    message of another thread of ours, so it continues a conversation and opens no ticket. When that earlier
    thread is the same customer's, ``ticket.continues_conversation`` is true (the host labels the thread
    ``Continued``, so it stays true after a restart): its first message is the customer's next message, not a
    new request.

    :param ticket: the ticket. Its latest customer message is ``ticket.latest_customer_message``; when an agent
        answered too since the last sync, :func:`on_agent_replied` follows and ``ticket.latest_message`` is theirs.
    :param actions: the recorder for this ticket.
    :param settings: the validated configuration.
    :param now: the current time, timezone-aware UTC.
    """


@hookspec
def on_agent_replied(ticket, actions, settings, now) -> None:
    """A human agent (not an automatic message) replied on a ticket: wrote to a customer. A message to
    none of the customers (a forward to engineering) is internal and fires no event; a draft Labeldesk
    prepared counts once the agent sends it.

    :param ticket: the ticket. The agent's reply is ``ticket.agent_messages[-1]``; when the customer wrote again
        since the last sync, :func:`on_customer_replied` came first and ``ticket.latest_message`` is theirs.
    :param actions: the recorder for this ticket.
    :param settings: the validated configuration.
    :param now: the current time, timezone-aware UTC.
    """


@hookspec
def sweep_queries(settings, now) -> list[str]:
    """Gmail search queries whose threads the sweep should look at.

    Return a list of ``q`` strings (labels plus ``after:``/``before:`` epoch bounds), so the
    sweep reads open tickets, never the whole mailbox. Results of all plugins are merged.

    :param settings: the validated configuration.
    :param now: the current time, timezone-aware UTC.
    """


@hookspec
def sweep_tasklists(settings) -> list[str]:
    """Titles of Google Tasks lists whose completed tasks the sweep should report.

    The host reads each list once per sweep and passes the idempotency keys of completed tasks
    to :func:`on_sweep` as ``completed_tasks`` (closing the loop on escalations); a key that
    also has an open task (made again for a problem that came back) is not completed. The ticket
    of each open Labeldesk task (the ``Thread:`` link of ``Ticket.gmail_url`` in its notes) is
    swept too, even when no :func:`sweep_queries` search finds it.

    :param settings: the validated configuration.
    """


@hookspec
def owned_labels(settings) -> list[str]:
    """Labels (names under ``[mailbox] label_root``) that only this plugin keeps true: derived state such
    as ``SLA/At risk``, recomputed by its own hooks.

    While the plugin is installed but not enabled, nothing would ever take them off a thread: the
    sweep deletes them from the mailbox (one ``labels.delete`` each; enabling the plugin again makes
    them anew). Labels agents also set by hand (a priority, an owner) do not belong here.

    :param settings: the validated configuration.
    """


@hookspec
def background_jobs(settings) -> list:
    """Periodic work a plugin needs while ``labeldesk serve`` runs, besides the sweep.

    Return ``(every_seconds, name, job)`` triples; ``job(google)`` is called with the host's Google
    client (retries, quota, credentials) for *reading* sources such as a Drive folder of help
    articles. Jobs never change the mailbox: mailbox changes are Actions recorded by event hooks.
    A failing job is logged and tried again at its next turn.

    :param settings: the validated configuration.
    """


@hookspec
def on_sweep(ticket, actions, settings, now, completed_tasks) -> None:
    """The periodic sweep visits a ticket found by the merged :func:`sweep_queries`.

    Re-derive time-based state (deadlines, at risk, breached) and record label changes,
    tasks and notifications.

    :param ticket: an open ticket.
    :param actions: the recorder for this ticket.
    :param settings: the validated configuration.
    :param now: the current time, timezone-aware UTC.
    :param completed_tasks: keys of completed Labeldesk tasks in the lists named by
        :func:`sweep_tasklists` (a frozenset of strings).
    """


# ---------------------------------------------------------------------------------------------
# Facts hooks: plugins answering questions other plugins and the add-on ask.
# ---------------------------------------------------------------------------------------------

@hookspec(firstresult=True)
def ticket_deadline(ticket, settings, now) -> Any:
    """The deadline for the next answer on a ticket, or None. First non-None answer wins.

    Return a :class:`~plugin_host.ticket.Deadline` (due time, target, business-hours text, and whether
    the team is at work now by the same calendar, ``open_now``, today's holiday by it, ``holiday``, and
    when the team is back, ``back_at`` as text and ``reopens`` as a time; with the calendar's ``zone``
    acknowledgements tell ``due`` and ``reopens`` in the customer's language; ``left``, how long is left
    as an agent reads it, heads the side panel's ticket card).

    :param ticket: the ticket.
    :param settings: the validated configuration.
    :param now: the current time, timezone-aware UTC.
    """


@hookspec(firstresult=True)
def suggest_articles(text, language, limit, settings) -> Any:
    """Help articles that answer a customer's text, best first. First non-None answer wins.

    Return a list of :class:`~plugin_host.ticket.Suggestion` (possibly empty when nothing fits).

    :param text: the customer's question (subject plus latest message, cleaned).
    :param language: ISO 639-1 code of the text, e.g. ``"en"``, ``"ru"``, ``"pl"``.
    :param limit: the most suggestions wanted.
    :param settings: the validated configuration.
    """


# ---------------------------------------------------------------------------------------------
# UI hooks: what plugins add to the Gmail side panel.
# ---------------------------------------------------------------------------------------------

@hookspec
def ticket_sections(ticket, agent, settings, now, urls) -> list[dict]:
    """Card sections (Card v1 JSON dicts) for the side panel of an opened ticket.

    Plugins' sections appear in the order of ``[plugins] enabled``, third-party plugins after by name.

    :param ticket: the ticket the agent is reading.
    :param agent: the :class:`~plugin_host.config.Agent` looking at it.
    :param settings: the validated configuration.
    :param now: the current time, timezone-aware UTC.
    :param urls: a callable ``urls(endpoint_name) -> https URL`` for button actions.
    """


@hookspec
def compose_suggestions(ticket, agent, settings) -> list[dict]:
    """Text the compose panel offers to insert into the agent's draft.

    Return a list of ``{"label", "content", "content_type"}`` dicts (content_type ``TEXT`` or
    ``MUTABLE_HTML``). ``ticket`` may be None when composing a new message. Items appear in the order of
    ``[plugins] enabled``, third-party plugins after by name.

    :param ticket: the ticket being answered, or None.
    :param agent: the agent composing.
    :param settings: the validated configuration.
    """


@hookspec
def homepage_sections(agent, tickets, settings, now, urls) -> list[dict]:
    """Card sections for the add-on homepage (the agent's queue), in the order of ``[plugins] enabled``.

    :param agent: the agent.
    :param tickets: open tickets awaiting a reply.
    :param settings: the validated configuration.
    :param now: the current time, timezone-aware UTC.
    :param urls: a callable ``urls(endpoint_name) -> https URL``.
    """


@hookspec(firstresult=True)
def on_card_action(name, parameters, form_inputs, ticket, agent, actions, settings, now) -> Any:
    """A side-panel button was pressed. The plugin owning ``name`` answers; first answer wins.

    Return a :class:`~plugin_host.ticket.CardReply` (notification text, a card to show, or text to
    insert: the host puts it in a new reply draft that Gmail opens, unless the thread holds a draft
    already), or None if the button is not yours.

    :param name: the button's action name, e.g. ``"sla.escalate"``.
    :param parameters: the action's parameters as a dict of strings.
    :param form_inputs: form inputs as a dict of lists of strings.
    :param ticket: the ticket the panel shows, or None.
    :param agent: the agent who pressed it.
    :param actions: a recorder the host executes after the hook returns.
    :param settings: the validated configuration.
    :param now: the current time, timezone-aware UTC.
    """


# ---------------------------------------------------------------------------------------------
# Registration hooks: plugins contributing routes, commands and settings at start-up.
# ---------------------------------------------------------------------------------------------

@hookspec
def register_routes(app) -> None:
    """Add Flask blueprints or routes to the host's app.

    HTML responses get the app's Content-Security-Policy unless they set their own: scripts and styles
    from the app's origin, or inline ones that carry this response's nonce
    (``<style nonce="{{ csp_nonce() }}">`` in a template); no other inline script or style runs.

    :param app: the :class:`flask.Flask` application being built.
    """


@hookspec
def register_commands(cli) -> None:
    """Add click commands or groups to the ``labeldesk`` command line.

    :param cli: the top-level :class:`click.Group`.
    """


@hookspec
def register_settings(register) -> None:
    """Declare this plugin's ``[plugins.<name>]`` settings.

    Call ``register(name, validate)`` where ``validate(raw: dict) -> object`` returns the parsed
    settings or raises :class:`~plugin_host.config.ConfigError` naming the bad key and what is wrong with it,
    ``ConfigError("plugins.vipdesk.domains", "a list of domains")``. Duplicate names
    are rejected at start-up. ``register(name, validate, paths=("templates_dir",))`` names settings
    that are file or folder paths: a relative one is made absolute from the configuration file's
    folder before ``validate`` sees it, so it means the same whichever directory a command runs in.
    A ``validate(raw, config)`` taking two arguments also gets the host's configuration, to check
    settings against it (e.g. that an address is one of ``[agents]``).

    :param register: the host's settings registry callback.
    """


@hookspec
def google_scopes(settings) -> list:
    """The Google OAuth scopes this plugin needs with these settings, and what each is for.

    Return :class:`~plugin_host.scopes.Scope` items: ``Scope(url, purpose, command="", plugin="<name>")``, where
    ``purpose`` says what stops working without it and ``command`` names the ``labeldesk`` command that alone uses
    it (e.g. ``"signatures sync"``). Name a scope only when the settings use it (a Drive source configured): the
    host asks Google for the host's scope and the enabled plugins' ones and nothing else, because a domain-wide
    delegation lacking any scope asked for refuses the whole token. ``labeldesk auth --scopes`` prints them.

    :param settings: the validated configuration.
    """


# ---------------------------------------------------------------------------------------------
# Data hooks: what plugins keep about customers outside Gmail.
# ---------------------------------------------------------------------------------------------

@hookspec
def forget_customer(addresses, digests, threads, settings, dry_run) -> list[str]:
    """Remove everything this plugin keeps outside Gmail about one customer (``labeldesk forget``: a request
    to erase their data, GDPR art. 17); return one line per kind of thing removed, e.g.
    ``"kb-feedback.jsonl: 2 inserts"``, or nothing when it kept nothing of theirs.

    Gmail is the database, so a plugin that keeps only what it derives from threads has nothing to do: the
    support team deletes the customer's threads. Nor has a plugin for the tasks and email notices it recorded
    as Actions: the host finds them by its own markers and removes them (docs/architecture.md, "Personal data
    outside Gmail"): a task's notes name the customer (``Customer: <address>``) above the first blank line, a
    notice's text their address (or it follows, in ``Notification.follows``, one that does). A plugin that
    copies a customer's words, address or name into a file of its own implements this. It may run while
    ``labeldesk serve`` writes the same files: take the lock the writers take, and replace a file atomically
    (``plugin_host.files``). It is asked also when it is installed but not enabled (switched off, its files
    wait for it): then ``settings.plugin(...)`` is its raw section, unchecked.

    :param addresses: the customer's addresses, lower case.
    :param digests: ``plugin_host.privacy.customer_digest`` of each address, for files that name a customer
        only by digest.
    :param threads: ids of the customer's threads Gmail still holds (from, to or copied; trash and spam
        included), for entries that name only a thread; empty once the threads are deleted.
    :param settings: the host's :class:`~plugin_host.config.Config`.
    :param dry_run: ``labeldesk forget --dry-run``: change nothing, return what would be removed. An
        implementation that does not take this argument is not called in a dry run (it would remove).
    """
