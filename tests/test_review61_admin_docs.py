"""Review 61: the admin-facing commands followed literally from the README and docs, as a new admin would run them."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from plugin_host.cli import get_cli
from plugin_host.mailbox import LocalMailbox

from .conftest import served


@pytest.fixture
def served_sample():
    """`labeldesk mailbox serve --seed sample` on a loopback port."""
    local = LocalMailbox(seed="sample")
    with served(local):
        yield local


def _starter(tmp_path, monkeypatch, local):
    """`labeldesk init && sed -i 's#^api_root = ""#api_root = "<root>"#' labeldesk.toml`, as the README says."""
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(get_cli(), ["init"]).exit_code == 0
    file = tmp_path / "labeldesk.toml"
    file.write_text(file.read_text().replace('api_root = ""', f'api_root = "{local.served_root}"', 1))
    return file


def test_agents_sync_dry_run_against_the_sample_mailbox_shows_the_sample_team(tmp_path, monkeypatch, served_sample):
    _starter(tmp_path, monkeypatch, served_sample)
    result = CliRunner().invoke(get_cli(), ["agents", "sync", "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "ivan.petrov@example.com: Ivan Petrov Support Engineer" in lines
    assert "sam.taylor@example.com: Sam Taylor Team Lead" in lines
    assert "not added support@example.com: the support mailbox itself" in lines
    assert any(line.startswith("not added olga.nowak@example.com: suspended") for line in lines)
    assert lines[-1] == "2 agent(s) would be added, 1 already configured (dry run: nothing written)."


def test_the_breach_notice_states_the_deadline_missed_and_who_owns_the_ticket(tmp_path):
    """docs/sla.md: notices state deadlines in the calendar's zone; the lead's breach email said only the subject."""
    from plugin_host.sync import ChangeFeed

    from .test_outbound_mail import ask, product
    from .test_sla_notice_threads import AT_RISK, BREACHED, notices

    local, host, clock = product(tmp_path)
    ask(local, "Order 1234 is late", "late")
    ChangeFeed(host).sync()
    for now in (AT_RISK, BREACHED):
        clock["now"] = now
        host.sweep()
    (at_risk, _), (breach, _) = notices(local)
    due = at_risk.get_content().split(" is due ", 1)[1].split(".", 1)[0]  # "2026-11-23 13:00 UTC"
    lines = breach.get_content().splitlines()
    assert lines[0].startswith("SLA breached (normal, first response): Order 1234 is late")
    assert lines[1].endswith(f"was due {due}. Nobody owns it yet."), lines
    assert lines[2].startswith("https://mail.google.com/")


def test_kb_gaps_without_articles_says_every_question_is_listed(tmp_path, monkeypatch):
    """The starter file leaves `articles` commented out: kb search refused, kb gaps listed every question as a gap
    without a word that the knowledge base is empty."""
    from types import SimpleNamespace

    import plugin_host.runtime as runtime
    from plugin_host.config import load_config
    from plugin_host.runtime import build_host

    from .test_kb_admin import kb_cli

    data = {"mailbox": {"address": "support@example.com"},
            "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}},
            "plugins": {"enabled": ["kb_suggest"]}, "host": {"state_dir": str(tmp_path / "state")}}
    host = build_host(load_config(tmp_path / "x.toml", data=data, environ={}), http=LocalMailbox().http)
    tickets = [SimpleNamespace(question="Do you ship to Iceland?", language="en")] * 2
    monkeypatch.setattr(runtime, "host_from_cli", lambda path=None: host)
    monkeypatch.setattr(host, "tickets_since", lambda days, limit, progress=None: (tickets, False))
    result = kb_cli("gaps")
    assert result.exit_code == 0, result.output
    assert "Do you ship to Iceland?" in result.stdout
    assert "the knowledge base has no articles" in result.stderr and "every question" in result.stderr
    assert "[plugins.kb_suggest] articles" in result.stderr


def test_auth_does_not_ask_to_set_oauth_token_when_the_host_reads_the_default_file(tmp_path, monkeypatch):
    """README: without [mailbox] oauth_token the token goes to <state_dir>/token.json, 'where the host then reads
    it'; the command told the admin to set oauth_token to it 'if it is not already', which it never needs."""
    import json

    from google_auth_oauthlib import flow

    class Flow:
        def run_local_server(self, port):
            return type("Creds", (), {"to_json": lambda self: json.dumps({"refresh_token": "REFRESH"})})()

    monkeypatch.setattr(flow.InstalledAppFlow, "from_client_secrets_file", classmethod(lambda cls, p, scopes: Flow()))
    (tmp_path / "client.json").write_text("{}")
    config = tmp_path / "labeldesk.toml"
    config.write_text(f'[mailbox]\naddress = "me@gmail.com"\n[host]\nstate_dir = "{tmp_path / "state"}"\n')
    result = CliRunner().invoke(get_cli(), ["auth", "--config", str(config), "--client-secrets",
                                            str(tmp_path / "client.json")])
    assert result.exit_code == 0, result.output
    token = tmp_path / "state" / "token.json"
    assert f"Token stored in {token}" in result.output and "Set [mailbox] oauth_token" not in result.output
    assert "the host reads it there" in result.output

    mine = tmp_path / "elsewhere.json"
    config.write_text(f'[mailbox]\naddress = "me@gmail.com"\noauth_token = "{mine}"\n'
                      f'[host]\nstate_dir = "{tmp_path / "state"}"\n')
    result = CliRunner().invoke(get_cli(), ["auth", "--config", str(config), "--client-secrets",
                                            str(tmp_path / "client.json")])
    assert result.exit_code == 0 and f"Token stored in {mine} ([mailbox] oauth_token)." in result.output
