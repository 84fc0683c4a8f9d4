"""``labeldesk report`` as an admin runs it: the text summary, a broken configuration, and an HTML file the disk
will not take."""
from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from plugin_host.cli import get_cli
from plugin_host.sync import ChangeFeed

from .conftest import deliver, make_email
from .test_sla import monday, setup


@pytest.fixture
def reported(tmp_path, monkeypatch):
    """The host the report reads: one customer question, synced."""
    import plugin_host.runtime as runtime

    local, host, clock = setup(tmp_path, monday(17))
    deliver(local.gmail(), make_email(message_id="<rep-cli@example.org>", subject="Report me"))
    ChangeFeed(host).sync()
    monkeypatch.setattr(runtime, "host_from_cli", lambda path=None, http=None: host)
    return host


def test_report_prints_the_text_summary(reported):
    result = CliRunner().invoke(get_cli(), ["report", "--since", "30d"])
    assert result.exit_code == 0, result.output
    assert "Tickets: 1" in result.output.splitlines() and "By label: Awaiting reply 1" in result.output
    assert "unanswered 1" in result.output


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (a device that is always full)")
def test_report_html_onto_a_full_disk_says_it_could_not_write(reported):
    result = CliRunner().invoke(get_cli(), ["report", "--html", "/dev/full"])
    assert result.exit_code == 1 and "--html: cannot write /dev/full: No space left on device" in result.output


def test_report_with_a_broken_configuration_names_the_key(tmp_path):
    config = tmp_path / "labeldesk.toml"
    config.write_text('[mailbox]\naddress = "not an address"\n')
    result = CliRunner().invoke(get_cli(), ["report", "--config", str(config)])
    assert result.exit_code == 1 and result.output.startswith("Error: ") and "mailbox.address" in result.output
