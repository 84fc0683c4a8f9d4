"""How mail really reaches a shared support mailbox, played through the sync: one message to two of our addresses,
Google Chat history in the mailbox, drafts in a ticket's thread, the support address only on copy or in the
envelope, a customer writing from a second address (docs/architecture.md, "Ticket")."""
from __future__ import annotations

from plugin_host.config import load_config
from plugin_host.mailbox import LocalMailbox
from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed

from .conftest import b64, deliver, make_email
from .test_agents_in_gmail import AWAITING, arrived
from .test_host_sync import sent_acks, thread_label_names
from .test_sla import monday


def help_desk(tmp_path, aliases=("sales@example.com",)):
    """support@ with an alias, acknowledgements and the SLA clock on: (local, host, clock, feed)."""
    data = {"mailbox": {"address": "support@example.com", "aliases": list(aliases)},
            "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}},
            "plugins": {"enabled": ["autoreply", "sla"]}, "host": {"state_dir": str(tmp_path / "state")}}
    config = load_config(tmp_path / "labeldesk.toml", data=data, environ={})
    local, clock = LocalMailbox(), {"now": monday(9)}
    host = build_host(config, http=local.http, now=lambda: clock["now"])
    host.client.sleep = lambda seconds: None
    feed = ChangeFeed(host)
    feed.sync()
    return local, host, clock, feed


def awaiting(local) -> list[str]:
    return sorted(t for t in local.mailbox.threads if AWAITING in thread_label_names(local, t))


# -- one message to support@ and an alias ---------------------------------------------------------------

def test_one_message_to_support_and_an_alias_is_one_ticket_and_one_acknowledgement(tmp_path):
    """Jane writes to support@ and sales@, both delivering into the mailbox: Gmail keeps the one copy, so the
    reference's rule (one ticket, one acknowledgement) holds through the sync, whether the second copy comes in
    the same sync or seconds later in the next."""
    raw = make_email(to="support@example.com, sales@example.com", message_id="<quote@example.org>", subject="Quote")
    for apart in (False, True):
        local, host, clock, feed = help_desk(tmp_path / str(apart))
        g = local.gmail()
        first = arrived(local, deliver(g, raw), monday(9))
        if apart:
            feed.sync()
            clock["now"] = monday(9, 1)
        deliver(g, raw)
        feed.sync()
        assert awaiting(local) == [first["threadId"]]
        assert [m.thread_id for m in sent_acks(local)] == [first["threadId"]]
