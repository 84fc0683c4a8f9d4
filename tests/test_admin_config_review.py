"""The admin configuring Labeldesk: every wrong setting is a start-up error naming the key and the fix."""
from __future__ import annotations

from plugin_host.config import load_config

BASE = '[mailbox]\naddress = "support@example.com"\n[plugins]\nenabled = ["sla"]\n'


# 1. Notepad saves UTF-8 with a byte order mark: the file is UTF-8 TOML all the same.
def test_a_config_saved_with_a_byte_order_mark_and_crlf_is_read(tmp_path):
    file = tmp_path / "labeldesk.toml"
    file.write_bytes(b"\xef\xbb\xbf" + BASE.replace("\n", "\r\n").encode("utf-8"))
    config = load_config(file, environ={})
    assert config.mailbox.address == "support@example.com" and config.enabled_plugins == ("sla",)

