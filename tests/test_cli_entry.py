"""The ``labeldesk`` script's own entry point and ``mailbox serve`` before it serves: what an admin reads when a
configuration named with --config is broken, when --data cannot hold the mailbox, and when it listens on every
interface."""
from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from plugin_host.cli import get_cli, main

from .conftest import cli_runner


def run_main(monkeypatch, capsys, *args):
    """``labeldesk ARGS`` as the installed script runs it: (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["labeldesk", *args])
    with pytest.raises(SystemExit) as ended:
        main()
    out = capsys.readouterr()
    return ended.value.code, out.out, out.err


@pytest.mark.parametrize("command", [["plugins"], ["inspect", "{eml}"]])
def test_a_broken_config_named_with_config_is_an_error_not_a_fallback(tmp_path, monkeypatch, capsys, command):
    """Without --config a missing file is shown as "no configuration read"; with --config the admin meant that
    file, so its error is said (exit 2), not a listing made from defaults."""
    config = tmp_path / "labeldesk.toml"
    config.write_text('[mailbox]\naddress = "not an address"\n')
    eml = tmp_path / "m.eml"
    eml.write_bytes(b"From: a@example.org\r\nSubject: x\r\n\r\nx\r\n")
    args = [part.replace("{eml}", str(eml)) for part in command]
    code, out, err = run_main(monkeypatch, capsys, *args, "--config", str(config))
    assert code == 2 and err.startswith("Error: ") and "mailbox.address" in err and "Traceback" not in err
    assert out == ""


def test_mailbox_serve_with_data_where_no_folder_can_be_made_says_so_before_serving(tmp_path, monkeypatch):
    import plugin_host.mailbox as mailbox_module

    monkeypatch.setattr(mailbox_module, "serve", lambda *a, **k: pytest.fail("served"))
    (tmp_path / "a-file").write_text("")
    result = CliRunner().invoke(get_cli(), ["mailbox", "serve", "--data", str(tmp_path / "a-file" / "box")])
    assert result.exit_code == 1 and f"cannot keep the mailbox in {tmp_path / 'a-file' / 'box'}" in result.output


@pytest.mark.parametrize("bind, root, warned", [("0.0.0.0", "http://0.0.0.0:8025/", True),
                                                ("::1", "http://[::1]:8025/", False)])
def test_mailbox_serve_names_its_root_and_warns_when_others_can_reach_it(tmp_path, monkeypatch, bind, root, warned):
    import plugin_host.mailbox as mailbox_module

    served = []
    monkeypatch.setattr(mailbox_module, "serve", lambda local, host, port: served.append((host, port)))
    result = cli_runner().invoke(get_cli(), ["mailbox", "serve", "--host", bind, "--data", str(tmp_path / "box")])
    assert result.exit_code == 0, result.output
    assert served == [(bind, 8025)]
    assert f'api_root = "{root}"' in result.stdout and f"persisted in {tmp_path / 'box'}" in result.stdout
    assert ("has no authentication" in result.stderr) is warned
