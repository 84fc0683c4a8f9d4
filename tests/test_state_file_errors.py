"""Writing state and admin files when the disk says no: the old file stays whole, no temporary file is left,
and the user reads what went wrong (plugin_host/files.py through its callers)."""
from __future__ import annotations

import errno
import json
import logging
import os
import stat
import time

from click.testing import CliRunner

from plugin_host import files
from plugin_host.cli import get_cli


def full_disk(monkeypatch):
    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(files.os, "fsync", no_space)


def test_init_force_on_a_full_disk_leaves_the_admins_file_whole(tmp_path, monkeypatch):
    config = tmp_path / "labeldesk.toml"
    config.write_text('[mailbox]\naddress = "support@example.com"\n')
    full_disk(monkeypatch)
    result = CliRunner().invoke(get_cli(), ["init", "--force", str(config)])
    assert result.exit_code == 1 and f"cannot write {config}: No space left on device" in result.output
    assert config.read_text() == '[mailbox]\naddress = "support@example.com"\n'
    assert os.listdir(tmp_path) == ["labeldesk.toml"]  # the temporary file went with the failed write


def test_a_state_file_written_on_a_full_disk_keeps_the_old_one_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    cursor = tmp_path / "cursor.json"
    files.write_private_json(cursor, {"history_id": "100"})
    full_disk(monkeypatch)
    try:
        files.write_private_json(cursor, {"history_id": "200"})
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    else:
        raise AssertionError("a write the disk refused was reported as done")
    assert json.loads(cursor.read_text()) == {"history_id": "100"} and os.listdir(tmp_path) == ["cursor.json"]


def test_a_stale_temporary_file_that_cannot_be_removed_is_logged_and_left(tmp_path, monkeypatch, caplog):
    """A state folder on a file system remounted read-only: the sweep of old temporary files says which it
    could not remove, and the host goes on."""
    stale = tmp_path / ".cursor.json.abcd1234.tmp"
    stale.write_text("{")
    old = time.time() - files.STALE_TEMP_SECONDS - 60
    os.utime(stale, (old, old))

    def read_only(path, *args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))
    monkeypatch.setattr(files.os, "unlink", read_only)
    with caplog.at_level(logging.WARNING, logger=files.log.name):
        assert files.remove_stale_temp_files(tmp_path) == []
    assert stale.exists() and f"{stale} was left by a write that never finished" in caplog.text
    assert "Read-only file system" in caplog.text


def test_auth_stores_the_token_in_the_state_folder_with_mode_0600(tmp_path, monkeypatch):
    """`labeldesk auth` (the browser step stood in for): the token goes to state_dir/token.json, the Drive scope
    is asked for only with --drive, and the admin is told where it is."""
    from google_auth_oauthlib import flow

    asked = []

    class Flow:
        def run_local_server(self, port):
            return type("Creds", (), {"to_json": lambda self: json.dumps({"refresh_token": "REFRESH"})})()

    def from_client_secrets_file(cls, path, scopes):
        asked.append(scopes)
        return Flow()
    monkeypatch.setattr(flow.InstalledAppFlow, "from_client_secrets_file", classmethod(from_client_secrets_file))
    (tmp_path / "client.json").write_text("{}")
    config = tmp_path / "labeldesk.toml"
    config.write_text(f'[mailbox]\naddress = "me@gmail.com"\n[host]\nstate_dir = "{tmp_path / "state"}"\n')
    for extra in ([], ["--drive"]):
        result = CliRunner().invoke(get_cli(), ["auth", "--config", str(config), "--client-secrets",
                                                str(tmp_path / "client.json"), *extra])
        assert result.exit_code == 0, result.output
    token = tmp_path / "state" / "token.json"
    assert f"Token stored in {token} (" in result.output
    # with no granted scopes in Google's answer, what was asked is what the token lists (review 55)
    assert json.loads(token.read_text()) == {"refresh_token": "REFRESH", "scopes": asked[1]}
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    drive = "https://www.googleapis.com/auth/drive.readonly"
    assert drive not in asked[0] and drive in asked[1]


def test_auth_with_a_broken_config_says_what_to_fix(tmp_path):
    config = tmp_path / "labeldesk.toml"
    config.write_text("[mailbox\n")
    (tmp_path / "client.json").write_text("{}")
    result = CliRunner().invoke(get_cli(), ["auth", "--config", str(config), "--client-secrets",
                                            str(tmp_path / "client.json")])
    assert result.exit_code == 1 and "Error:" in result.output and str(config) in result.output
