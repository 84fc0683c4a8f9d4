"""Hostile and malformed mail end to end: the local mailbox, the host and the add-on never crash on it."""
from __future__ import annotations

from datetime import datetime, timezone

from .conftest import b64, make_email


def test_a_date_header_beyond_year_9999_does_not_break_every_search(gmail):
    """messages.import takes the internal date from the Date header: "31 Dec 9999 23:59:59 -1200" is in
    year 10000 in UTC, which no datetime holds, and from then on every messages.list answered 500."""
    raw = make_email(message_id="<y10k@example.org>").replace(b"Date: ", b"Date: Fri, 31 Dec 9999 23:59:59 -1200\nX-Old-Date: ", 1)
    ref = gmail.users().messages().import_(userId="me", internalDateSource="dateHeader",
                                           body={"raw": b64(raw), "labelIds": ["INBOX"]}).execute()
    found = gmail.users().messages().list(userId="me", q="newer_than:30d").execute()
    assert [m["id"] for m in found["messages"]] == [ref["id"]]  # the time it was received instead, as Gmail does


def test_a_date_header_beyond_year_9999_previews_as_received_now(tmp_path):
    """``autoreply preview`` and ``inspect`` build a ticket from the file's Date: year 10000 was a traceback."""
    from plugin_host.config import load_config
    from plugin_host.tickets import ticket_from_eml

    config = load_config(tmp_path / "x.toml", data={"mailbox": {"address": "support@example.com"}}, environ={})
    raw = make_email(message_id="<y10k@example.org>").replace(b"Date: ", b"Date: Fri, 31 Dec 9999 23:59:59 -1200\nX-Old-Date: ", 1)
    ticket = ticket_from_eml(raw, config)
    assert ticket is not None and ticket.first_customer_at.year == datetime.now(timezone.utc).year
