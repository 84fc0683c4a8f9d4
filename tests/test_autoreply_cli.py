"""``labeldesk autoreply preview`` on what is no customer request, on a configuration that sends nothing, on a
broken configuration."""
from __future__ import annotations

from click.testing import CliRunner

from plugin_host.cli import get_cli

from .conftest import make_email

CONFIG = ('[mailbox]\naddress = "support@example.com"\n[agents]\n'
          '"anna.kowalska@example.com" = { first_name = "Anna", last_name = "Kowalska" }\n'
          '[plugins]\nenabled = [{enabled}]\n[host]\nstate_dir = "state"\n')


def preview(tmp_path, raw, enabled='"autoreply"', *extra):
    config = tmp_path / "labeldesk.toml"
    config.write_text(CONFIG.replace("{enabled}", enabled))
    eml = tmp_path / "q.eml"
    eml.write_bytes(raw)
    return CliRunner().invoke(get_cli(), ["autoreply", "preview", str(eml), "--config", str(config), *extra])


def test_an_out_of_office_reply_gets_no_acknowledgement_and_the_reason(tmp_path):
    raw = make_email(subject="Automatic reply: Order 1234", headers={"Auto-Submitted": "auto-replied"})
    result = preview(tmp_path, raw)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("No acknowledgement: not a customer request (")
    assert "Auto-Submitted" in result.output and "From:" not in result.output


def test_with_autoreply_switched_off_nothing_would_be_sent(tmp_path):
    result = preview(tmp_path, make_email(), "")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "No acknowledgement would be sent (see the log with -v for the reason)."


def test_a_broken_configuration_is_an_error_naming_the_key(tmp_path):
    config = tmp_path / "labeldesk.toml"
    config.write_text('[mailbox]\naddress = "not an address"\n')
    eml = tmp_path / "q.eml"
    eml.write_bytes(make_email())
    result = CliRunner().invoke(get_cli(), ["autoreply", "preview", str(eml), "--config", str(config)])
    assert result.exit_code == 1 and result.output.startswith("Error: ") and "mailbox.address" in result.output
