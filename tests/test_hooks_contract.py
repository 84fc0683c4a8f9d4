"""Every hook is called by the host with its documented keyword arguments (one-off plugin)."""
from __future__ import annotations

import click
from flask import Blueprint

from plugin_host import hookimpl
from plugin_host.ticket import CardReply, Deadline, Suggestion
from plugin_host.web import create_app

from .conftest import deliver, make_email
from .test_host_sync import make_host


class EveryHook:
    def __init__(self):
        self.calls = {}

    def seen(self, name, **kwargs):
        self.calls[name] = kwargs

    @hookimpl
    def register_settings(self, register):
        self.seen("register_settings")
        register("everyhook", lambda raw: {"threshold": int(raw.get("threshold", 3))})

    @hookimpl
    def register_routes(self, app):
        self.seen("register_routes")
        bp = Blueprint("everyhook", __name__)
        bp.add_url_rule("/everyhook", "ping", lambda: "pong")
        app.register_blueprint(bp)

    @hookimpl
    def register_commands(self, cli):
        self.seen("register_commands")

        @cli.command("everyhook")
        def everyhook():
            click.echo("hi")

    @hookimpl
    def sweep_queries(self, settings, now):
        self.seen("sweep_queries")
        return [f"label:helpdesk-awaiting-reply before:{int(now.timestamp()) + 60}"]

    @hookimpl
    def sweep_tasklists(self, settings):
        self.seen("sweep_tasklists")
        return ["Everyhook"]

    @hookimpl
    def on_sweep(self, ticket, actions, settings, now, completed_tasks):
        self.seen("on_sweep", ticket=ticket, completed_tasks=completed_tasks)
        actions.add_labels("Swept")

    @hookimpl
    def ticket_deadline(self, ticket, settings, now):
        self.seen("ticket_deadline")
        return Deadline(due=now, target="first_response", priority="normal", business_hours=False, text="now")

    @hookimpl
    def suggest_articles(self, text, language, limit, settings):
        self.seen("suggest_articles", text=text, language=language)
        return [Suggestion("a1", "Refunds", "https://help.example.com/refunds", "How refunds work", 1.0, "refund")]

    @hookimpl
    def ticket_sections(self, ticket, agent, settings, now, urls):
        self.seen("ticket_sections")
        return [{"header": "Test", "widgets": [{"textParagraph": {"text": ticket.subject}}]}]

    @hookimpl
    def compose_suggestions(self, ticket, agent, settings):
        self.seen("compose_suggestions")
        return [{"label": "Signature", "content": f"{agent.full_name}", "content_type": "TEXT"}]

    @hookimpl
    def homepage_sections(self, agent, tickets, settings, now, urls):
        self.seen("homepage_sections", tickets=tickets)
        return [{"header": "Queue", "widgets": [{"textParagraph": {"text": str(len(tickets))}}]}]

    @hookimpl
    def on_card_action(self, name, parameters, form_inputs, ticket, agent, actions, settings, now):
        if name != "everyhook.tag":
            return None
        self.seen("on_card_action", parameters=parameters)
        actions.add_labels(parameters["label"])
        return CardReply(notification="Tagged")

    @hookimpl
    def forget_customer(self, addresses, digests, threads, settings):
        self.seen("forget_customer", addresses=addresses, digests=digests, threads=threads)
        return [f"everyhook: {len(threads)} thread(s)"]


def test_every_hook_is_called_with_documented_arguments(tmp_path):
    plugin = EveryHook()
    local, host, _ = make_host(tmp_path)
    local, host, _ = make_host(tmp_path, local=local, plugin=plugin)
    assert host.config.plugin("everyhook") == {"threshold": 3}
    ref = deliver(local.gmail(), make_email(message_id="<hooks@example.org>"))
    from plugin_host.sync import ChangeFeed

    ChangeFeed(host).sync()
    swept = host.sweep()
    assert [p.thread_id for p in swept] == [ref["threadId"]]
    ticket = host.ticket(ref["threadId"])
    assert "Helpdesk/Swept" in ticket.labels
    agent = host.config.agent("anna.kowalska@example.com")
    assert host.deadline(ticket).text == "now"
    assert host.suggestions(ticket)[0].title == "Refunds"
    assert plugin.calls["suggest_articles"]["language"] == "en"
    urls = lambda name: f"https://labeldesk.example.com/addon/{name}"  # noqa: E731
    assert host.side_panel_sections(ticket, agent, urls)[0]["header"] == "Test"
    assert host.compose_suggestions(ticket, agent)[0]["content"] == "Anna Kowalska"
    assert host.homepage_sections(agent, [ticket], urls)[0]["widgets"][0]["textParagraph"]["text"] == "1"
    reply = host.card_action("everyhook.tag", {"label": "Tagged"}, {}, ticket, agent)
    assert reply.notification == "Tagged" and "Helpdesk/Tagged" in host.ticket(ticket.thread_id).labels
    assert host.card_action("someone-else.button", {}, {}, ticket, agent) is None
    app = create_app(host)
    assert app.test_client().get("/everyhook").data == b"pong"
    group = click.Group()
    host.pm.hook.register_commands(cli=group)
    assert "everyhook" in group.commands
    assert plugin.calls["on_sweep"]["completed_tasks"] == frozenset()
    from plugin_host.privacy import customer_digest, forget_customer

    assert forget_customer(host, "Jane@Example.org").removed == ["everyhook: 1 thread(s)"]
    assert plugin.calls["forget_customer"] == {"addresses": ["jane@example.org"], "threads": {ref["threadId"]},
                                               "digests": [customer_digest("jane@example.org")]}
    assert {"register_settings", "register_routes", "register_commands", "sweep_queries", "on_sweep", "sweep_tasklists",
            "ticket_deadline", "suggest_articles", "ticket_sections", "compose_suggestions",
            "homepage_sections", "on_card_action", "forget_customer"} <= set(plugin.calls)
