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
