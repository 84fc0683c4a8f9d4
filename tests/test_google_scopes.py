"""Labeldesk asks Google for the scopes the enabled plugins use, and no others (review 55).

A service account's token is refused whole (``unauthorized_client``) when the Admin console's delegation lacks any
scope asked for, so an admin who never granted Tasks (no SLA plugin) or the send-as settings (no signatures) could
not run Labeldesk at all. Each case goes through google-auth and googleapiclient as against Google (the stand-in in
``google_refusals.py`` answers the token endpoint, the local mailbox the rest)."""
from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from .conftest import deliver, make_email
from .google_refusals import DELEGATION_MISSING, GRANTED, Google, asked_for, service_account_key
from .test_google_refusals import _labeldesk

GMAIL = "https://www.googleapis.com/auth/gmail.modify"
TASKS = "https://www.googleapis.com/auth/tasks"
SEND_AS = "https://www.googleapis.com/auth/gmail.settings.basic"
DRIVE = "https://www.googleapis.com/auth/drive.readonly"
DIRECTORY = "https://www.googleapis.com/auth/admin.directory.user.readonly"
FOLDER = "1AbCdEfGhIjKlMnOpQrStUvWxYz012345"


def write_config(folder, plugins, extra: str = "", credentials: str = 'credentials = "sa.json"'):
    (folder / "sa.json").write_text(json.dumps(service_account_key()), encoding="utf-8")
    (folder / "labeldesk.toml").write_text(
        f'[mailbox]\naddress = "support@example.com"\n{credentials}\n[host]\nstate_dir = "state"\n'
        f'[plugins]\nenabled = {json.dumps(list(plugins))}\n{extra}', encoding="utf-8")
    return folder / "labeldesk.toml"


@pytest.fixture
def desk(tmp_path, monkeypatch):
    """``desk(plugins, token_answers)`` → (host, google): a host on a service account, one ticket waiting."""
    from plugin_host.config import load_config
    from plugin_host.mailbox import LocalMailbox
    from plugin_host.runtime import build_host

    monkeypatch.setattr("time.sleep", lambda seconds: None)
    local = LocalMailbox("support@example.com")
    deliver(local.gmail(), make_email(sender="Customer <c@example.org>", subject="Order late", body="Where is it?"))

    def make(plugins, token_answers=(GRANTED,), extra="", now=None):
        google = Google(local, token_answers)
        monkeypatch.setattr("plugin_host.gmail.AnswerOrError", lambda timeout=60: google)
        host = build_host(load_config(write_config(tmp_path, plugins, extra), environ={}), now=now)
        host.client.sleep = lambda seconds: None
        return host, google
    return make


# 1. Every install asked for Gmail send, send-as settings and Google Tasks: a delegation without Tasks (SLA plugin
#    off) or without gmail.settings.basic (no signatures) was refused whole, and Labeldesk could not run at all.
#    The running host now asks for Gmail, and for Tasks only while the SLA plugin (which makes tasks) is enabled,
#    with a token of its own (review 60), so that a delegation without Tasks refuses the breach tasks alone.
@pytest.mark.parametrize("plugins", [("autoreply",), ("autoreply", "sla"), ("kb_suggest",)],
                         ids=["no-sla", "sla", "kb-only"])
def test_the_host_asks_google_only_for_what_the_enabled_plugins_use(desk, plugins):
    from plugin_host.sync import ChangeFeed

    host, google = desk(plugins)
    assert ChangeFeed(host).sync().ok
    assert google.token_requests == 1
    assert asked_for(google.token_bodies[0]) == [GMAIL]


# Tasks' own token costs one more token request per token lifetime (an hour), not one per Tasks call: a sync and
# sweeps making and reading breach tasks ask the token endpoint once for Gmail and once for Tasks.
def test_the_tasks_token_is_asked_for_once_however_many_tasks_calls(desk):
    from datetime import datetime, timedelta, timezone

    from plugin_host.sync import ChangeFeed

    clock = {"now": datetime.now(timezone.utc)}
    host, google = desk(("autoreply", "sla"), extra='[plugins.sla]\nteam_lead = "lead@example.com"\n',
                        now=lambda: clock["now"])
    assert ChangeFeed(host).sync().ok
    clock["now"] += timedelta(days=30)  # breached: the sweep makes its breach task
    host.sweep()
    host.sweep()
    tasks_calls = sum(n for method, n in host.client.stats["calls"].items() if method.startswith("tasks."))
    assert tasks_calls >= 3 and host.client.stats["calls"]["tasks.tasks.insert"] == 1
    assert sorted(asked_for(body) for body in google.token_bodies) == [[GMAIL], [TASKS]]


def test_signatures_sync_asks_each_agent_mailbox_for_the_send_as_scope_only(tmp_path, monkeypatch):
    from plugin_host.mailbox import LocalMailbox

    google = Google(LocalMailbox("support@example.com"), [DELEGATION_MISSING])
    monkeypatch.setattr("plugin_host.gmail.AnswerOrError", lambda timeout=60: google)
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    write_config(tmp_path, ["autoreply"], '[agents]\n"anna@example.com" = { first_name = "Anna", last_name = "Kowalska" }\n')
    _labeldesk(tmp_path, "signatures", "sync")
    assert google.token_bodies and asked_for(google.token_bodies[-1]) == [SEND_AS]


# 2. The README listed one fixed set of scopes for the Admin console, and nothing printed the list for a given
#    configuration. `labeldesk auth --scopes` prints the comma-separated list to paste, and who needs each scope.
def test_auth_scopes_prints_the_admin_console_list_for_this_config(tmp_path, capsys):
    write_config(tmp_path, ["autoreply", "sla", "kb_suggest"],
                 f'[plugins.kb_suggest]\ndrive_folder = "{FOLDER}"\n[plugins.autoreply]\ndirectory_admin = "admin@example.com"\n')
    assert _labeldesk(tmp_path, "auth", "--scopes") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ",".join([GMAIL, SEND_AS, DIRECTORY, TASKS, DRIVE])
    said = "\n".join(out[1:])
    for words in ("gmail.modify: the host", "tasks: plugin sla", "drive.readonly: plugin kb_suggest",
                  "gmail.settings.basic: plugin autoreply, `labeldesk signatures sync` only",
                  "admin.directory.user.readonly: plugin autoreply, `labeldesk agents sync` only"):
        assert words in said, (words, said)


def test_auth_scopes_leaves_out_what_the_config_does_not_use(tmp_path, capsys):
    write_config(tmp_path, ["kb_suggest"])
    assert _labeldesk(tmp_path, "auth", "--scopes") == 0
    assert capsys.readouterr().out.splitlines()[0] == GMAIL


# 3. The delegation refusal said "give client ID … exactly these scopes:" and listed only the scopes of the token
#    refused: following it for the Gmail token dropped Drive from the delegation, and for the Drive token Gmail.
#    It now lists every scope the configuration uses, comma-separated as the Admin console takes them.
def test_the_delegation_refusal_lists_every_scope_the_config_uses(desk, tmp_path, capsys):
    desk(("autoreply", "sla", "kb_suggest"), [DELEGATION_MISSING], extra=f'[plugins.kb_suggest]\ndrive_folder = "{FOLDER}"\n')
    assert _labeldesk(tmp_path, "sync") != 0
    line = next(line for line in capsys.readouterr().err.splitlines() if line.startswith("Error:"))
    assert f"exactly these scopes: {','.join([GMAIL, SEND_AS, TASKS, DRIVE])}" in line, line


# 4. `labeldesk auth` did not look at what Google granted. Google's consent screen lets a user untick each box
#    (granular consent); oauthlib then raised "Warning: Scope has changed from … to …" out of the command (a
#    traceback, no token), or, with OAUTHLIB_RELAX_TOKEN_SCOPE set, the token was stored listing every scope asked
#    for and the first task or send failed later. Now the granted scopes are compared with the needed ones: the
#    token is stored with what Google granted, and the command says which are missing and what will not work.
def consent(monkeypatch, tmp_path, granted: list[str]):
    """The consent screen answered with ``granted`` ticked: the browser step is skipped, the code is exchanged at
    the token endpoint (``responses``) by google-auth-oauthlib's own fetch_token."""
    import responses
    from google_auth_oauthlib.flow import InstalledAppFlow

    from .google_refusals import ACCESS_TOKEN, REFRESH_TOKEN, TOKEN_URI

    (tmp_path / "client.json").write_text(json.dumps({"installed": {
        "client_id": "1234-desk.apps.googleusercontent.com", "client_secret": "GOCSPX-SECRET-CLIENT-SECRET",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": TOKEN_URI,
        "redirect_uris": ["http://localhost"]}}), encoding="utf-8")

    def browser(self, **kwargs):
        self.redirect_uri = "http://localhost:8765/"
        self.fetch_token(code="4/0AQSTgQ-code")
        return self.credentials
    monkeypatch.setattr(InstalledAppFlow, "run_local_server", browser)
    mock = responses.RequestsMock(assert_all_requests_are_fired=True)
    mock.add(responses.POST, TOKEN_URI, json={"access_token": ACCESS_TOKEN, "refresh_token": REFRESH_TOKEN,
                                              "expires_in": 3599, "token_type": "Bearer", "scope": " ".join(granted)})
    return mock


def test_auth_says_which_scopes_the_consent_screen_left_out(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("OAUTHLIB_RELAX_TOKEN_SCOPE", raising=False)
    write_config(tmp_path, ["autoreply", "sla"], credentials='oauth_token = "token.json"')
    with consent(monkeypatch, tmp_path, [GMAIL, SEND_AS]):
        code = _labeldesk(tmp_path, "auth", "--client-secrets", str(tmp_path / "client.json"))
    said = capsys.readouterr()
    assert code == 0 and "Traceback" not in said.err, said.err
    assert "Token stored" in said.out
    assert "tasks" in said.out and "was not granted" in said.out and "plugin sla" in said.out
    assert "breach and escalation tasks for the team lead" in said.out and "labeldesk auth" in said.out
    stored = json.loads((tmp_path / "token.json").read_text(encoding="utf-8"))
    assert sorted(stored["scopes"]) == sorted([GMAIL, SEND_AS])  # what Google granted, not what was asked
    import os
    assert "OAUTHLIB_RELAX_TOKEN_SCOPE" not in os.environ  # relaxed for the exchange only


def test_auth_without_gmail_granted_fails_plainly(tmp_path, monkeypatch, capsys):
    write_config(tmp_path, ["autoreply", "sla"], credentials='oauth_token = "token.json"')
    with consent(monkeypatch, tmp_path, [TASKS]):
        code = _labeldesk(tmp_path, "auth", "--client-secrets", str(tmp_path / "client.json"))
    said = capsys.readouterr()
    assert code == 1 and "Traceback" not in said.err, said.err
    assert "gmail.modify" in said.err and "nothing" in said.err.lower() and "labeldesk auth" in said.err


def test_auth_with_every_box_ticked_says_nothing_is_missing(tmp_path, monkeypatch, capsys):
    write_config(tmp_path, ["autoreply", "sla"], credentials='oauth_token = "token.json"')
    with consent(monkeypatch, tmp_path, [TASKS, GMAIL, SEND_AS]):  # Google's order is its own
        code = _labeldesk(tmp_path, "auth", "--client-secrets", str(tmp_path / "client.json"))
    said = capsys.readouterr()
    assert code == 0 and "not granted" not in said.out and "Token stored" in said.out


# 5. A stored OAuth token made before a plugin was enabled (SLA switched on later) lacks that plugin's scope: the
#    host asked Google to refresh it with the new scope too, which a token endpoint refuses (RFC 6749 §6:
#    invalid_scope, the whole token), or the first task failed with a 403. Now the start says which scope is missing,
#    which plugin needs it and to run `labeldesk auth` again, and the token is refreshed for what it holds.
def oauth_desk(tmp_path, monkeypatch, plugins, token_scopes):
    from plugin_host.config import load_config
    from plugin_host.mailbox import LocalMailbox
    from plugin_host.runtime import build_host

    from .google_refusals import authorized_user_token

    monkeypatch.setattr("time.sleep", lambda seconds: None)
    local = LocalMailbox("support@example.com")
    deliver(local.gmail(), make_email(sender="Customer <c@example.org>", subject="Order late", body="Where is it?"))
    (tmp_path / "token.json").write_text(json.dumps({**authorized_user_token(), "scopes": token_scopes}))
    google = Google(local)
    monkeypatch.setattr("plugin_host.gmail.AnswerOrError", lambda timeout=60: google)
    return lambda: build_host(load_config(write_config(tmp_path, plugins, credentials='oauth_token = "token.json"'),
                                          environ={})), google


def test_a_stored_token_without_a_new_plugins_scope_is_named_at_start(tmp_path, monkeypatch, caplog):
    from plugin_host.sync import ChangeFeed

    start, google = oauth_desk(tmp_path, monkeypatch, ["autoreply", "sla"], [GMAIL])
    with caplog.at_level("WARNING"):
        host = start()
    said = caplog.text
    assert "tasks was not granted (plugin sla)" in said and "breach and escalation tasks" in said, said
    assert "labeldesk auth --client-secrets" in said and "token.json" in said
    host.client.sleep = lambda seconds: None
    assert ChangeFeed(host).sync().ok  # the rest works: acknowledgements, labels
    assert parse_qs(google.token_bodies[0])["scope"] == [GMAIL]  # refreshed for what the token holds, no more


def test_a_stored_token_without_gmail_stops_the_start(tmp_path, monkeypatch):
    from plugin_host.errors import ConfigError

    start, google = oauth_desk(tmp_path, monkeypatch, ["sla"], [TASKS])
    with pytest.raises(ConfigError, match="gmail.modify.*labeldesk auth --client-secrets"):
        start()
    assert google.token_requests == 0


def test_a_token_holding_every_scope_starts_quietly(tmp_path, monkeypatch, caplog):
    start, google = oauth_desk(tmp_path, monkeypatch, ["autoreply", "sla"], [GMAIL, SEND_AS, TASKS])
    with caplog.at_level("WARNING"):
        start()
    assert "not granted" not in caplog.text
