"""Running ``labeldesk sync`` and ``sweep`` from cron or a systemd timer: what they print, how they exit, how they
stop, and what the environment can set."""
from __future__ import annotations

import pytest

from plugin_host.cli import get_cli

from .conftest import cli_runner, deliver, make_email
from .test_host_sync import make_host


def hosted(monkeypatch, host) -> None:
    """The CLI's commands run on ``host`` (an in-process local mailbox) instead of one built from a file."""
    import plugin_host.runtime

    monkeypatch.setattr(plugin_host.runtime, "host_from_cli", lambda config_path=None: host)


# 1. Cron mails whatever a job writes, and the usual crontab line keeps stderr (`labeldesk sync >/dev/null`) so
#    that problems reach the operator. Every clean run still wrote its progress bar's label ("Syncing",
#    "Sweeping") to stderr: click writes the label even when nobody watches the bar, so cron mailed every minute.
#    Off a terminal the bar now writes nothing; stderr carries problems only.
@pytest.mark.parametrize("command", ["sync", "sweep"])
def test_a_clean_run_writes_nothing_to_stderr_off_a_terminal(tmp_path, monkeypatch, command):
    local, host, _ = make_host(tmp_path)
    deliver(local.gmail(), make_email())
    hosted(monkeypatch, host)
    result = cli_runner().invoke(get_cli(), [command])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert ("sync:" if command == "sync" else "sweep:") in result.stdout


# 2. An environment override of a list written as in labeldesk.toml was read as one comma-separated string:
#    LABELDESK_MAILBOX__ALIASES='["help@example.com", "sales@example.com"]' passed validation as the two
#    "addresses" '["help@example.com"' and '"sales@example.com"]' (so mail from either alias was a stranger's),
#    and LABELDESK_PLUGINS__ENABLED='["sla"]' named a plugin '["sla"]'. A value in TOML's brackets or braces is
#    now read as TOML; one that is not valid TOML is an error naming the variable.
def test_an_environment_override_written_as_a_toml_array_is_read_as_one(tmp_path):
    from plugin_host.config import load_config

    data = {"mailbox": {"address": "support@example.com"}, "plugins": {"enabled": ["autoreply"]}}
    environ = {"LABELDESK_MAILBOX__ALIASES": '["help@example.com", "Sales@example.com"]',
               "LABELDESK_PLUGINS__ENABLED": '["sla"]',
               "LABELDESK_PLUGINS__SLA__HOLIDAYS": "['PL', 'DE-BY']",
               "LABELDESK_PLUGINS__SLA__TARGETS__URGENT": "{ business_hours = false }"}
    config = load_config(tmp_path / "x.toml", data=data, environ=environ)
    assert config.mailbox.aliases == ("help@example.com", "sales@example.com")
    assert config.enabled_plugins == ("sla",)
    assert config.plugin_raw["sla"]["holidays"] == ["PL", "DE-BY"]
    assert config.plugin_raw["sla"]["targets"]["urgent"] == {"business_hours": False}
    commas = load_config(tmp_path / "x.toml", data=data, environ={"LABELDESK_PLUGINS__ENABLED": "sla, autoreply"})
    assert commas.enabled_plugins == ("sla", "autoreply")  # the comma-separated form still works


def test_an_environment_override_in_broken_toml_brackets_names_the_variable(tmp_path):
    from plugin_host.config import load_config
    from plugin_host.errors import ConfigError

    data = {"mailbox": {"address": "support@example.com", "label_root": "Helpdesk"}}
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path / "x.toml", data=data, environ={"LABELDESK_PLUGINS__ENABLED": '["sla"'})
    assert "LABELDESK_PLUGINS__ENABLED" in str(raised.value) and "TOML" in str(raised.value)
    assert 'e.g. ["sla", "autoreply"]' in str(raised.value) and "sla,autoreply" in str(raised.value)
    # A text setting may begin with a bracket: it stays text.
    config = load_config(tmp_path / "x.toml", data=data, environ={"LABELDESK_MAILBOX__LABEL_ROOT": "[Support]"})
    assert config.mailbox.label_root == "[Support]"
