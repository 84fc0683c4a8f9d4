"""What the host does when Google refuses as admins meet it in production: credentials refused at the token
endpoint, an API not enabled, a scope not granted, a user without Gmail, quotas, networks down (review 52).

Each case goes through google-auth, google-auth-httplib2 and googleapiclient as against Google (the stand-in in
``google_refusals.py`` answers the token endpoint and the refusals; the local mailbox the rest)."""
from __future__ import annotations

import json
import logging

import httplib2
import pytest

from .conftest import deliver, make_email
from .google_refusals import (GRANTED, SECRETS, TOKEN_ENDPOINT_DOWN, Google, authorized_user_token,
                              service_account_key)


@pytest.fixture
def desk(tmp_path, monkeypatch):
    """``desk(token_answers, refuse, oauth=False)`` → (host, google): a host on a service account (or a stored OAuth
    token) whose every request goes through the Google stand-in, with three new customer tickets waiting."""
    from plugin_host.config import load_config
    from plugin_host.mailbox import LocalMailbox
    from plugin_host.runtime import build_host

    monkeypatch.setattr("time.sleep", lambda seconds: None)  # google-auth's own backoff on the token endpoint
    local = LocalMailbox("support@example.com")
    for number in range(3):
        deliver(local.gmail(), make_email(sender=f"Customer {number} <c{number}@example.org>",
                                          subject=f"Order {number} is late", body=f"Where is order {number}?"))

    def make(token_answers=(GRANTED,), refuse=None, oauth=False, plugins=("autoreply", "sla"), now=None,
             delegated=None, extra=""):
        if oauth:
            (tmp_path / "token.json").write_text(json.dumps(authorized_user_token()), encoding="utf-8")
            credentials = 'oauth_token = "token.json"'
        else:
            (tmp_path / "sa.json").write_text(json.dumps(service_account_key()), encoding="utf-8")
            credentials = 'credentials = "sa.json"'
        (tmp_path / "labeldesk.toml").write_text(
            f'[mailbox]\naddress = "support@example.com"\n{credentials}\n[host]\nstate_dir = "state"\n'
            f'[plugins]\nenabled = {json.dumps(list(plugins))}\n{extra}', encoding="utf-8")
        google = Google(local, token_answers, refuse, delegated)
        monkeypatch.setattr("plugin_host.gmail.AnswerOrError", lambda timeout=60: google)
        host = build_host(load_config(tmp_path / "labeldesk.toml", environ={}), now=now)
        host.client.sleep = lambda seconds: None
        return host, google
    make.local = local
    return make


def _sync(host):
    from plugin_host.sync import ChangeFeed

    return ChangeFeed(host).sync()


def _acknowledged(local) -> int:
    return sum(1 for m in local.mailbox.messages.values() if "SENT" in m.label_ids)


# 1. The token endpoint unreachable a moment (DNS, a reset connection) while the token was refreshed: google-auth's
#    TransportError was no retryable failure, so the whole sync failed at once, while the same blip on an API call
#    is retried; the token endpoint's 503 after google-auth's own three tries (RefreshError, retryable) likewise.
@pytest.mark.parametrize("blip", [httplib2.ServerNotFoundError("Unable to find the server at oauth2.googleapis.com"),
                                  ConnectionResetError(104, "Connection reset by peer"), TOKEN_ENDPOINT_DOWN],
                         ids=["dns", "reset", "token-endpoint-503"])
def test_a_token_endpoint_blip_is_retried_like_any_call(desk, blip):
    host, google = desk(token_answers=[blip, blip, blip, GRANTED] if isinstance(blip, tuple) else [blip, GRANTED])
    report = _sync(host)
    assert report.ok and len(report.threads) == 3
    assert _acknowledged(desk.local) == 3
    assert host.client.stats["retries"]["gmail.users.labels.list"] == 1  # a sync's first call: its labels checked


def _labeldesk(desk_dir, *args):
    """``labeldesk <args> --config <desk_dir>/labeldesk.toml`` as the console script runs it (main()'s handler)."""
    from click.testing import CliRunner

    from plugin_host import cli

    cli._load_plugin_commands()
    runner = CliRunner()
    with pytest.raises(SystemExit) as exited:
        with runner.isolated_filesystem():
            import sys
            argv, sys.argv = sys.argv, ["labeldesk", *args, "--config", str(desk_dir / "labeldesk.toml")]
            try:
                cli.main()
            finally:
                sys.argv = argv
    return exited.value.code


def _no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


# 2. Google refusing for good said "RefreshError: ('invalid_grant: …', {'error': …})" or "HTTP 403
#    accessNotConfigured": no cause an admin can act on. Each lasting refusal is now one line naming the cause and
#    the next step (the key to replace, the scopes to grant and where, the API to enable and its page, `labeldesk
#    auth` again), and the sync stops at the first (the rest would hit the same wall).
from .google_refusals import (CLIENT_REFUSED, DAILY_LIMIT, DELEGATION_MISSING, DOMAIN_POLICY, KEY_DELETED,  # noqa: E402
                              NO_GMAIL, TOKEN_REVOKED, api_disabled, scope_missing)

# every scope autoreply + sla use (review 55), comma-separated as the Admin console takes them
ALL_SCOPES = ("https://www.googleapis.com/auth/gmail.modify,https://www.googleapis.com/auth/gmail.settings.basic,"
              "https://www.googleapis.com/auth/tasks")
GMAIL_SCOPE = "https://www.googleapis.com/auth/gmail.modify"
SEND_AS_SCOPE = "https://www.googleapis.com/auth/gmail.settings.basic"
GMAIL_OFF = api_disabled("gmail.googleapis.com", "Gmail API")


@pytest.mark.parametrize("token, refuse, oauth, expected", [
    (KEY_DELETED, None, False, ["Invalid JWT Signature", "sa.json", "new key for labeldesk@desk.iam.gserviceaccount.com"]),
    (DELEGATION_MISSING, None, False, ["unauthorized_client", "Manage Domain Wide Delegation",
                                       "client ID 104123456789012345678", f"exactly these scopes: {ALL_SCOPES}"]),
    (TOKEN_REVOKED, None, True, ["Token has been expired or revoked", "7 days", "labeldesk auth --client-secrets"]),
    (CLIENT_REFUSED, None, True, ["invalid_client", "APIs & Services > Credentials", "labeldesk auth"]),
    (GRANTED, GMAIL_OFF, False, ["Gmail API is not enabled", "accessNotConfigured",
                                 "https://console.developers.google.com/apis/api/gmail.googleapis.com/overview?project="]),
    (GRANTED, NO_GMAIL, False, ["no Gmail", "Mail service not enabled", "licence"]),
    (GRANTED, DOMAIN_POLICY, False, ["domainPolicy", "API controls"]),
    (GRANTED, DAILY_LIMIT, False, ["daily quota", "dailyLimitExceeded", "midnight Pacific"]),
], ids=["key-deleted", "delegation", "token-revoked", "client-secret", "gmail-off", "no-licence", "domain-policy",
        "daily-limit"])
def test_a_lasting_refusal_says_its_cause_and_the_way_out(desk, tmp_path, capsys, caplog, token, refuse, oauth,
                                                          expected):
    host, google = desk(token_answers=[token], refuse=(lambda uri, method: refuse) if refuse else None, oauth=oauth)
    code = _labeldesk(tmp_path, "sync")
    said = capsys.readouterr().err
    assert code != 0 and "Traceback" not in said
    line = next(line for line in said.splitlines() if line.startswith("Error:"))
    for words in expected:
        assert words in line, (words, line)
    _no_secret(said + caplog.text)
    assert google.token_requests == 1 and len(google.api_requests) <= 1  # asked once, not once a thread
    assert _acknowledged(desk.local) == 0


# A token that may read but not send (the consent screen's box for sending left unticked): the first refused send
# stops the sync, instead of each of the tickets trying its own and logging it.
def test_a_send_refused_for_its_scope_stops_the_sync_at_the_first(desk, caplog):
    refused = scope_missing("gmail.googleapis.com", "caribou.api.proto.MailboxService.SendMessage")
    host, google = desk(refuse=lambda uri, method: refused if uri.split("?")[0].endswith("/messages/send") else None,
                        oauth=True)
    report = _sync(host)
    sends = [r for r in google.api_requests if "/messages/send" in r.split("?")[0]]
    assert len(sends) == 1 and len(report.failed) == 3
    assert "no scope for the Gmail API" in caplog.text and "labeldesk auth --client-secrets" in caplog.text
    assert "not tried" in report.failed[-1][1]
    _no_secret(caplog.text)


def _errors(caplog, words: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and words in r.getMessage()]


# 3. `serve` logged a lasting refusal at every round of every loop (poll, sweep, each push's sync, each card), with
#    the backoff at most every 10 minutes for days. It now says it once; the rounds after it are at INFO (-v), the
#    round that works says so, and a refusal that comes back after that is said again. Nothing is lost or sent
#    twice once the admin has fixed it.
def test_serve_says_a_lasting_refusal_once_and_catches_up_when_it_clears(desk, caplog):
    from plugin_host.scheduler import Scheduler
    from plugin_host.sync import ChangeFeed

    host, google = desk(token_answers=[DELEGATION_MISSING])
    feed = ChangeFeed(host)
    scheduler = Scheduler(host, feed)
    caplog.set_level(logging.INFO)
    for _ in range(3):
        scheduler.once(feed.sync, "poll", "retrying")
        scheduler.once(host.sweep, "sweep", "retrying")
        feed._background_sync()  # a push
    said = _errors(caplog, "Manage Domain Wide Delegation")
    assert len(said) == 1 and said[0].startswith("poll failed: mailbox support@example.com"), said
    assert "Traceback" not in caplog.text
    again = [r for r in caplog.records if "Manage Domain Wide Delegation" in r.getMessage() and r.levelno == logging.INFO]
    assert len(again) >= 8  # the other rounds of poll, sweep and pushes, at INFO

    google.token_answers = [GRANTED]  # the admin granted the scopes
    scheduler.once(feed.sync, "poll", "retrying")
    assert "poll works again after 3 failed round(s)" in caplog.text
    assert _acknowledged(desk.local) == 3 and feed.cursor.history_id
    scheduler.once(feed.sync, "poll", "retrying")
    assert _acknowledged(desk.local) == 3

    google.token_answers = [TOKEN_REVOKED]  # gone again later: news again
    host.client._credentials["gmail"].token = None  # google-auth refreshes an hour later
    scheduler.once(feed.sync, "poll", "retrying")
    assert len(_errors(caplog, "Invalid JWT") + _errors(caplog, "Token has been expired")) == 1

    google.token_answers = [GRANTED]  # mended once more, and then the same refusal again: said again, as news
    host.client._credentials["gmail"].token = None
    scheduler.once(feed.sync, "poll", "retrying")
    google.token_answers = [TOKEN_REVOKED]
    host.client._credentials["gmail"].token = None
    scheduler.once(feed.sync, "poll", "retrying")
    assert len(_errors(caplog, "Invalid JWT") + _errors(caplog, "Token has been expired")) == 2


# 4. An optional API refused (Google Tasks not enabled in the project): every sweep logged "reading completed tasks
#    failed" with a traceback. The sweep goes on with the tickets' deadlines; the cause is said once, without one.
def test_the_sweep_goes_on_without_google_tasks_and_says_why_once(desk, caplog):
    tasks_off = api_disabled("tasks.googleapis.com", "Google Tasks API")
    host, google = desk(refuse=lambda uri, method: tasks_off if "/tasks/v1/" in uri else None)
    assert _sync(host).ok and _acknowledged(desk.local) == 3
    caplog.set_level(logging.INFO)
    host.sweep()
    host.sweep()
    assert "Traceback" not in caplog.text
    said = _errors(caplog, "Google Tasks API is not enabled")
    assert len(said) == 1 and "https://console.developers.google.com/apis/api/tasks.googleapis.com" in said[0]
    assert any("gmail.users.messages.list" in call or "/messages?" in call for call in google.api_requests)


# The breach task's Google Tasks shares the stored OAuth token with Gmail: Tasks refusing the token (revoked, its
# refresh answered invalid_grant) is Gmail refusing it too. Met where the sweep reads the watched task lists, it was
# logged as "reading completed tasks failed ... no escalation is closed this sweep" and the sweep went on to its
# first ticket, whose breach task asked Google again (a second refresh) before stopping. It now stops the sweep at
# once, said once by `serve` ("sweep failed", then INFO), no ticket visited; Tasks refusing because its API is not
# enabled says nothing about Gmail, and every ticket is swept.
TASK_TOKEN_REFUSED = (401, {"error": {"code": 401, "message": "Request had invalid authentication credentials.",
                                      "status": "UNAUTHENTICATED"}})


@pytest.mark.parametrize("refused, swept, said", [
    (TASK_TOKEN_REFUSED, 0, "sweep failed: mailbox support@example.com: tasks.tasklists.list failed: Google no longer "
                            "accepts the stored OAuth token (invalid_grant"),
    (api_disabled("tasks.googleapis.com", "Google Tasks API"), 3,
     "reading completed tasks failed: mailbox support@example.com: tasks.tasklists.list failed: the Google Tasks API "
     "is not enabled")], ids=["token-revoked", "tasks-not-enabled"])
def test_tasks_refusing_the_shared_token_stops_the_sweep_but_tasks_not_enabled_does_not(desk, caplog, refused, swept,
                                                                                       said):
    from datetime import datetime, timedelta, timezone

    from plugin_host.scheduler import Scheduler
    from plugin_host.sync import ChangeFeed

    clock = {"now": datetime.now(timezone.utc)}
    host, google = desk(token_answers=[GRANTED, TOKEN_REVOKED], oauth=True, now=lambda: clock["now"],
                        refuse=lambda uri, method: refused if "/tasks/v1/" in uri else None)
    assert _sync(host).ok and _acknowledged(desk.local) == 3
    clock["now"] += timedelta(days=30)  # every ticket breached: each sweep visit makes its breach task
    scheduler = Scheduler(host, ChangeFeed(host))
    for _ in range(2):  # two rounds of `serve`'s sweep
        scheduler.once(host.sweep, "sweep", "retrying")
    breached = [t for t in {m.thread_id for m in desk.local.mailbox.messages.values()}
                if host.ticket(t).has_label("SLA/Breached")]
    assert len(breached) == swept
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].startswith(said), errors
    if not swept:  # one read of the task lists a round, no ticket's breach task asking Google again
        assert sum("/tasks/v1/" in call for call in google.api_requests) == 2 and not host._sweep_refused
        assert "no escalation is closed" not in caplog.text


# A service account whose domain-wide delegation lacks Google Tasks (the SLA plugin enabled later, the Admin console
# not updated): the host's one token asked for gmail.modify and tasks, Google refused it whole (unauthorized_client),
# and labels, acknowledgements and the lead's alert emails stopped with the breach tasks. Tasks now has a token of
# its own (same service account and user, the tasks scope alone): only Tasks is refused, said once, and the sync and
# sweep go on without it as when the Tasks API is not enabled.
def test_a_delegation_without_tasks_refuses_only_the_breach_tasks(desk, caplog):
    from datetime import datetime, timedelta, timezone

    clock = {"now": datetime.now(timezone.utc)}
    host, google = desk(delegated=[GMAIL_SCOPE, SEND_AS_SCOPE], now=lambda: clock["now"],
                        extra='[plugins.sla]\nteam_lead = "lead@example.com"\n')
    assert _sync(host).ok and _acknowledged(desk.local) == 3
    caplog.set_level(logging.INFO)
    clock["now"] += timedelta(days=30)  # every ticket breached: each wants its breach task and the lead's notice
    host.sweep()
    host.sweep()
    tickets = [host.ticket(t) for t in {m.thread_id for m in desk.local.mailbox.messages.values()}]
    assert len([t for t in tickets if t and t.has_label("SLA/Breached")]) == 3
    notices = [m for m in desk.local.mailbox.messages.values() if "SENT" in m.label_ids and b"lead@example.com" in m.raw]
    assert len(notices) == 3  # the lead hears of each breach by mail
    said = _errors(caplog, "Manage Domain Wide Delegation")
    assert len(said) == 1 and "tasks" in said[0] and f"exactly these scopes: {ALL_SCOPES}" in said[0], said
    assert "Traceback" not in caplog.text
    _no_secret(caplog.text)


# A user whose Gmail licence was taken away: Gmail answers every read with 400 failedPrecondition "Mail service not
# enabled". A 400 is otherwise one thread's own bad request (three syncs set it aside), but this refusal is the
# mailbox's: no thread strikes, and once the licence is back every ticket is handled, none left to answer by hand.
def test_a_mailbox_without_gmail_strikes_no_thread_and_sets_none_aside(desk):
    from plugin_host.sync import STRIKES, ChangeFeed

    licence = {"taken": True}
    host, google = desk(refuse=lambda uri, method: NO_GMAIL if licence["taken"] and (
        "/threads/" in uri or uri.split("?")[0].endswith("/batch")) else None)
    feed = ChangeFeed(host)
    reports = [feed.sync() for _ in range(STRIKES + 1)]
    assert not any(r.set_aside for r in reports) and feed.cursor.strikes == {}
    assert all(not r.ok and "Mail service not enabled" in r.failed[0][1] for r in reports)
    licence["taken"] = False
    assert feed.sync().ok and _acknowledged(desk.local) == 3


# 5. An agent opening a card while Google refuses Labeldesk's credentials was told "Try again in a minute", at
#    every card, and the log said it at every card. The card now says that it will not clear by itself and that the
#    admin must act; the log says why once.
def test_the_side_panel_sends_the_agent_to_the_admin_when_google_refuses_for_good(tmp_path, signer, caplog,
                                                                                    monkeypatch):
    import responses
    from googleapiclient.errors import HttpError

    from plugin_host.web import create_app

    from .test_addon import addon_host, body_for, post, pushed, validate_card
    from .tokens import serve_certs

    local, host = addon_host(tmp_path)
    ref = deliver(local.gmail(), make_email())
    status, body = GMAIL_OFF
    refused = HttpError(httplib2.Response({"status": str(status)}), json.dumps(body).encode())
    monkeypatch.setattr(host, "ticket", lambda *a, **k: (_ for _ in ()).throw(
        host.client.failure("gmail.users.threads.get", ref["threadId"], refused)))
    client = create_app(host).test_client()
    caplog.set_level(logging.INFO)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serve_certs(mock, signer)
        answers = [post(client, signer, "/addon/message", body_for(signer, threadId=ref["threadId"])) for _ in range(3)]
    for answer in answers:
        card = pushed(answer)
        validate_card(card)
        text = json.dumps(card)
        assert "Tell your admin" in text and "will not clear by itself" in text and "Try again" not in text
        assert "console.developers.google.com" not in text  # the way out is the admin's, in the log
    assert len(_errors(caplog, "Gmail API is not enabled")) == 1
    assert sum("Gmail API is not enabled" in r.getMessage() for r in caplog.records) == 3


# 6. `agents sync` with the Admin SDK API not enabled in the project told the admin that directory_admin must be a
#    Workspace admin and to grant a scope; with the service account's key deleted, to grant the scope too. Neither
#    helps: it now names the API to enable (its page) and the key to replace.
@pytest.mark.parametrize("token, refuse, expected", [
    (GRANTED, api_disabled("admin.googleapis.com", "Admin SDK API"),
     ["Admin SDK API is not enabled", "apis/api/admin.googleapis.com/overview?project=", "nothing was written"]),
    (KEY_DELETED, None, ["Invalid JWT Signature", "IAM & Admin > Service accounts > Keys", "nothing was written"]),
], ids=["admin-sdk-off", "key-deleted"])
def test_agents_sync_names_the_api_to_enable_or_the_key_to_replace(tmp_path, monkeypatch, token, refuse, expected):
    from click.testing import CliRunner

    from plugin_host.cli import get_cli
    from plugin_host.mailbox import LocalMailbox

    monkeypatch.setattr("time.sleep", lambda seconds: None)
    google = Google(LocalMailbox(), [token], (lambda uri, method: refuse) if refuse else None)
    monkeypatch.setattr("googleapiclient.http.build_http", lambda: google)
    (tmp_path / "sa.json").write_text(json.dumps(service_account_key()), encoding="utf-8")
    (tmp_path / "labeldesk.toml").write_text(
        '[mailbox]\naddress = "support@example.com"\ncredentials = "sa.json"\n[plugins]\nenabled = ["autoreply"]\n'
        '[plugins.autoreply]\ndirectory_admin = "admin@example.com"\n', encoding="utf-8")
    before = (tmp_path / "labeldesk.toml").read_text(encoding="utf-8")
    result = CliRunner().invoke(get_cli(), ["agents", "sync", "--config", str(tmp_path / "labeldesk.toml")])
    assert result.exit_code == 1, result.output
    for words in expected:
        assert words in result.output, (words, result.output)
    assert "directory_admin must be a Workspace admin" not in result.output and "Traceback" not in result.output
    _no_secret(result.output)
    assert (tmp_path / "labeldesk.toml").read_text(encoding="utf-8") == before
