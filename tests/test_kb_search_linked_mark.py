"""`kb search` marks "(linked in acknowledgements)" only on articles an acknowledgement can link."""
from __future__ import annotations

import pytest

from tests.test_kb_admin import kb_cli, kb_config, write


@pytest.mark.parametrize("url, linked", [("https://help.example.com/refunds", True),
                                         ("http://help.example.com/refunds", False), ("", False)])
def test_only_https_articles_are_marked_linked_in_acknowledgements(tmp_path, url, linked):
    # Was: an imported http:// help centre's articles, and articles without any url, were marked "(linked in
    # acknowledgements)", though acknowledgements link only https pages: the admin believed customers got them.
    config = kb_config(tmp_path)
    write(tmp_path, "kb/refunds.md", f"---\ntitle: Refunds\nurl: {url}\n---\nRefunds reach your card within five "
                                     "business days.")
    result = kb_cli("search", "--config", str(config), "how long do refunds take to reach my card")
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[1]
    assert first.split()[1] == "Refunds" and ("(linked in acknowledgements)" in first) is linked
