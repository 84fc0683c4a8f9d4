"""Gmail's two quota tables (review 70): a Cloud project created from May 2026 — every new install's — pays 20
units for messages.get (40 for threads.get) and may spend 6,000 units per user per minute; older projects pay
5 (10) and may spend 15,000. What a new install meets, counted through the local mailbox."""
from __future__ import annotations

import json

import pytest
from googleapiclient.errors import HttpError

from plugin_host.mailbox import LocalMailbox
from tests.conftest import deliver, make_email


def test_the_local_mailbox_counts_what_a_new_project_pays_and_an_old_one_on_request():
    for table, message, thread in (("new", 20, 40), ("old", 5, 10)):
        local = LocalMailbox(quota_table=table)
        g = local.gmail()
        ref = deliver(g, make_email())
        local.app.reset_counters()
        g.users().messages().get(userId="me", id=ref["id"]).execute()
        g.users().threads().get(userId="me", id=ref["threadId"]).execute()
        assert dict(local.app.units) == {"gmail.users.messages.get": message, "gmail.users.threads.get": thread}
    assert LocalMailbox().app.quota_table == "new"  # what Google gives a project made today


@pytest.mark.parametrize("table, limit", [("new", 6_000), ("old", 15_000)])
def test_the_local_mailbox_refuses_past_the_per_user_minute_as_gmail_does(table, limit):
    clock = [0.0]
    local = LocalMailbox(quota_table=table, per_user_limit=True)
    local.app.clock = lambda: clock[0]
    g = local.gmail()
    passed = 0
    with pytest.raises(HttpError) as info:
        while True:
            g.users().messages().list(userId="me").execute(num_retries=0)  # 5 units
            passed += 5
            clock[0] += 0.001
    assert passed == limit  # the whole minute's units, however fast they came
    error = json.loads(info.value.content)["error"]
    assert info.value.resp.status == 403 and error["errors"][0]["reason"] == "userRateLimitExceeded"
    assert error["errors"][0]["domain"] == "usageLimits"
    clock[0] = 60.0  # a minute after the first call: its units are free again
    g.users().messages().list(userId="me").execute(num_retries=0)
