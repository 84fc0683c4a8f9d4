"""Behaviours a hand mutation test found unguarded: each test here failed with its mutation in place."""
from __future__ import annotations

from plugin_host import hookimpl

from .conftest import deliver, make_email
from .test_host_sync import synced_host, thread_label_names


class ReplyTo:
    """A plugin that answers each new ticket's first message, addressed to ``to`` (None: its writer)."""

    def __init__(self, to=None):
        self.to = to

    @hookimpl
    def on_ticket_opened(self, ticket, actions):
        actions.reply(in_reply_to=ticket.first_customer_message.id, to=self.to or ticket.customer.email,
                      subject="Re: " + ticket.subject, text="Hello, we are on it.", key="note",
                      from_name="Anna Kowalska")


def sent_notes(local) -> list:
    return [m for m in local.mailbox.messages.values()
            if "SENT" in m.label_ids and b"X-Labeldesk: note" in m.raw]


def test_an_automatic_reply_goes_only_to_whoever_wrote_the_answered_message(tmp_path):
    """The loop guard sends an automatic reply only to the writer of the message it answers: a plugin that
    addresses it elsewhere (a Cc'd third party, an address from the body) must not make Labeldesk mail
    strangers. The control thread, answered to its writer, shows the plugin's replies do go out."""
    for to, expected in ((None, 1), ("someone.else@example.net", 0)):
        local, host, _, feed = synced_host(tmp_path / (to or "writer"), plugin=ReplyTo(to))
        ref = deliver(local.gmail(), make_email(sender="Jane <jane@example.org>", subject=f"Order {expected}",
                                                headers={"Cc": "someone.else@example.net"}))
        feed.sync()
        assert len(sent_notes(local)) == expected, to
        if not expected:
            assert "Helpdesk/Auto-reply suppressed" in thread_label_names(local, ref["threadId"])
