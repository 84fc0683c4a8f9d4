"""Security review: SSRF and secrets on the way out, hostile input on the way in."""
from __future__ import annotations

import pytest
import responses

from plugin_host.executor import post_webhook


@pytest.mark.parametrize("url", ["http://127.0.0.1.evil.example/v1/spaces/x/messages?key=SECRET",
                                 "http://127.0.0.1@evil.example/v1/spaces/x/messages?key=SECRET",
                                 "ftp://chat.googleapis.com/hook?key=SECRET"])
def test_a_chat_webhook_is_posted_only_over_https_or_to_this_machine(url):
    with responses.RequestsMock() as mock:  # nothing may be sent: any request fails the test
        with pytest.raises(ValueError, match="https") as info:
            post_webhook(url, {"text": "SLA breached"})
        assert not mock.calls
    assert "SECRET" not in str(info.value)


def test_a_chat_webhook_redirect_is_not_followed_with_the_message():
    url = "https://chat.googleapis.com/v1/spaces/x/messages?key=SECRET"
    with responses.RequestsMock() as mock:
        mock.post(url, status=307, headers={"Location": "http://169.254.169.254/latest/meta-data"})
        with pytest.raises(RuntimeError, match="redirect") as info:
            post_webhook(url, {"text": "SLA breached"})
        assert len(mock.calls) == 1
    assert "SECRET" not in str(info.value)
