"""The local mailbox's guard against other sites' pages (review 27)."""
from __future__ import annotations

import pytest


# ------------------------------------------------------------------ the local mailbox and other sites' pages

@pytest.mark.parametrize("headers, status", [
    ({"Sec-Fetch-Site": "none"}, 200),  # the user typed the address or opened a bookmark
    ({"Origin": "http://127.0.0.1:8080"}, 200),  # a browser without Sec-Fetch-*: the demo's own page
    ({"Origin": "http://127.0.0.1:9999"}, 403),  # another local server's page: another origin
    ({"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:8080"}, 403),
])
def test_the_local_mailbox_tells_the_users_own_requests_from_other_sites(tmp_path, headers, status):
    from plugin_host.demo import demo_app, demo_host
    from plugin_host.sync import ChangeFeed

    local, host = demo_host(str(tmp_path))
    client = demo_app(local, host, ChangeFeed(host)).test_client()
    answer = client.get("/mailbox/gmail/v1/users/me/labels", base_url="http://127.0.0.1:8080", headers=headers)
    assert answer.status_code == status
