"""Host core review: the loop guard knows our addresses in every spelling, configuration mistakes are
explained (with a suggestion for a typo), push notifications are taken once, credentials are named."""
from __future__ import annotations

import json

import pytest
import responses

from plugin_host.loopguard import should_acknowledge
from tests.conftest import cli_runner, deliver, fake_waitress, lose_first_response, make_email, search_lags
from tests.test_host_sync import sent_acks, synced_host


def parsed(raw: bytes):
    import email
    import email.policy

    return email.message_from_bytes(raw, policy=email.policy.compat32)


OWN = frozenset({"support@example.com", "help@example.com"})


# 1. Our own address with a +tag, in other letters, or as the Reply-To is never answered.
@pytest.mark.parametrize("sender, headers", [
    ("Support <Support+Test@Example.COM>", {}),
    ("HELP+shop@example.com", {}),
    ("Jane Customer <jane@example.org>", {"Reply-To": "Support <support+replies@example.com>"}),
    ("Jane Customer <jane@example.org>", {"Reply-To": "jane@example.org, HELP@example.com"}),
    ("Jane Customer <jane@example.org>", {"Return-Path": "<support+caf_=fwd@example.com>"}),  # forwarded back to us
])
def test_our_own_address_in_any_spelling_is_not_acknowledged(sender, headers):
    decision = should_acknowledge(parsed(make_email(sender=sender, headers=headers)), OWN)
    assert not decision.acknowledge and "own address" in decision.reason


def test_a_customer_with_a_plus_address_is_still_acknowledged():
    assert should_acknowledge(parsed(make_email(sender="jane+shop@example.org")), OWN).acknowledge


def test_mail_from_our_plus_address_gets_no_acknowledgement(tmp_path):
    local, host, _, feed = synced_host(tmp_path)
    deliver(local.gmail(), make_email(sender="Support <Support+test@example.com>", message_id="<self@example.com>"))
    deliver(local.gmail(), make_email(headers={"Reply-To": "support+x@example.com"}, message_id="<rt@example.org>"))
    assert feed.sync().ok
    assert sent_acks(local) == []


# 2. A misspelt section, key or plugin name is an error that suggests the right one; a bad environment
#    override names the variable to fix (the file does not hold the value).
GOOD = {"mailbox": {"address": "support@example.com", "api_root": "http://127.0.0.1:9/"}}


@pytest.mark.parametrize("data, environ, expected", [
    ({**GOOD, "mailbx": {}}, {}, "mailbx: unknown section (did you mean [mailbox]?)"),
    ({"mailbox": {**GOOD["mailbox"], "aliasses": []}}, {}, "mailbox.aliasses: unknown setting (did you mean aliases?)"),
    ({**GOOD, "host": {"poll_second": 5}}, {}, "(did you mean poll_seconds?)"),
    (GOOD, {"LABELDESK_MAILBOX__ADRESS": "x@example.com"}, "LABELDESK_MAILBOX__ADRESS"),
    (GOOD, {"LABELDESK_MAILBOX__ADRESS": "x@example.com"}, "(did you mean address?)"),
    (GOOD, {"LABELDESK_HOST__POLL_SECONDS": "soon"}, "host.poll_seconds (from LABELDESK_HOST__POLL_SECONDS)"),
    (GOOD, {"LABELDESK_MAILBOX__ADDRESS": "nobody"}, "(from LABELDESK_MAILBOX__ADDRESS)"),
    (GOOD, {"LABELDESK_MAILBX__ADDRESS": "x@example.com"}, "LABELDESK_MAILBX__ADDRESS"),
    ({**GOOD, "plugins": {"enable": ["sla"]}}, {}, "plugins.enable: unknown setting (did you mean enabled?)"),
])
def test_config_mistakes_say_what_to_fix(tmp_path, data, environ, expected):
    from plugin_host.config import load_config
    from plugin_host.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "x.toml", data=data, environ=environ)
    assert expected in str(info.value)


@pytest.mark.parametrize("plugins, environ, expected", [
    ({"enabled": ["autorepy"]}, {}, "unknown plugin 'autorepy' (did you mean 'autoreply'?)"),
    ({"enabled": [], "autorepy": {"x": 1}}, {},
     "plugins.autorepy: no plugin 'autorepy' is installed (did you mean 'autoreply'?)"),
    ({"enabled": ["autoreply"]}, {"LABELDESK_PLUGINS__AUTOREPLY__BOGUS": "1"},
     "(from LABELDESK_PLUGINS__AUTOREPLY__BOGUS)"),
    ({"enabled": []}, {"LABELDESK_PLUGINS__ENABLED": "sla,autorepy"},
     "plugins.enabled (from LABELDESK_PLUGINS__ENABLED): unknown plugin 'autorepy'"),
])
def test_a_misspelt_plugin_name_is_an_error_with_a_suggestion(tmp_path, plugins, environ, expected):
    from plugin_host.config import load_config
    from plugin_host.errors import ConfigError
    from plugin_host.mailbox import LocalMailbox
    from plugin_host.runtime import build_host

    config = load_config(tmp_path / "x.toml", data={**GOOD, "plugins": plugins}, environ=environ)
    with pytest.raises(ConfigError) as info:
        build_host(config, http=LocalMailbox().http)
    assert expected in str(info.value)


@pytest.mark.parametrize("plugin, settings, expected", [
    ("autoreply", {"max_age_hour": 2}, "plugins.autoreply.max_age_hour: unknown setting (did you mean max_age_hours?)"),
    ("sla", {"timezon": "UTC"}, "plugins.sla.timezon: unknown setting (did you mean timezone?)"),
    ("sla", {"targets": {"urgnt": {}}}, "plugins.sla.targets.urgnt: unknown priority (did you mean urgent?)"),
    ("sla", {"targets": {"high": {"first_reponse": "1h"}}},
     "plugins.sla.targets.high.first_reponse: unknown target (did you mean first_response?)"),
    ("kb_suggest", {"artciles": "kb"}, "plugins.kb_suggest.artciles: unknown setting (did you mean articles?)"),
    ("kb_suggest", {"semantic": "statc"}, "plugins.kb_suggest.semantic: must be one of auto, static, full, off, "
                                          "not 'statc' (did you mean 'static'?)"),
    ("sla", {"label_priorities": {"Outage": "urgnt"}}, "plugins.sla.label_priorities.Outage: 'urgnt' is not a priority "
                                                        "(did you mean 'urgent'?)"),
])
def test_a_misspelt_plugin_setting_suggests_the_right_name(tmp_path, plugin, settings, expected):
    from plugin_host.config import load_config
    from plugin_host.errors import ConfigError
    from plugin_host.mailbox import LocalMailbox
    from plugin_host.runtime import build_host

    config = load_config(tmp_path / "x.toml", data={**GOOD, "plugins": {"enabled": [plugin], plugin: settings}},
                         environ={})
    with pytest.raises(ConfigError) as info:
        build_host(config, http=LocalMailbox().http)
    assert expected in str(info.value)


# 3. A push is taken once: the same Pub/Sub message again (a replay, or Pub/Sub's duplicate delivery) starts no
#    sync and is acknowledged with a 200 (an error would make Pub/Sub redeliver it for days); a push
#    without its messageId is malformed; a signed token with claims of the wrong type is a 401, not a 500.
@responses.activate
def test_a_replayed_push_is_refused_and_starts_no_sync(tmp_path):
    from tests.test_push import AUDIENCE, PUSHER, push_app, push_body
    from tests.tokens import TokenSigner, serve_certs

    signer = TokenSigner()
    serve_certs(responses, signer)
    _, _, feed, client = push_app(tmp_path)
    syncs = []
    feed.sync_soon = lambda *history_id: syncs.append(1) or True
    auth = {"Authorization": "Bearer " + signer.token(AUDIENCE, PUSHER)}
    assert client.post("/gmail/push", data=push_body(), headers=auth).status_code == 200
    replay = client.post("/gmail/push", data=push_body(), headers=auth)
    assert replay.status_code == 200 and replay.json == {"duplicate": True}
    assert len(syncs) == 1
    unnamed = json.loads(push_body())
    del unnamed["message"]["messageId"]
    unnamed = client.post("/gmail/push", data=json.dumps(unnamed), headers=auth)  # no id: a replay for all we know
    assert unnamed.status_code == 200 and unnamed.json == {"malformed": True}  # acknowledged: Pub/Sub stops
    for email, claims in ((PUSHER, {"exp": "soon"}), (PUSHER, {"iat": "x"}), ([PUSHER], {})):
        odd = {"Authorization": "Bearer " + signer.token(AUDIENCE, email, **claims)}
        assert client.post("/gmail/push", data=push_body(), headers=odd).status_code == 401
    assert len(syncs) == 1


# 4. Credentials: a configured token file that is missing is named (not "no credentials"), and a key or
#    token file that cannot be read is a clear error, not a traceback.
def test_a_missing_oauth_token_file_is_named(tmp_path):
    from plugin_host.auth import credentials_for
    from plugin_host.config import load_config
    from plugin_host.errors import ConfigError

    config = load_config(tmp_path / "x.toml", data={"mailbox": {"address": "support@example.com",
                                                                "oauth_token": "secrets/token.json"}}, environ={})
    with pytest.raises(ConfigError) as info:
        credentials_for(config.mailbox, config.state_path)
    assert info.value.key == "mailbox.oauth_token"
    assert str(tmp_path / "secrets" / "token.json") in str(info.value) and "labeldesk auth" in str(info.value)


@pytest.mark.parametrize("key, loader", [
    ("credentials", "google.oauth2.service_account.Credentials.from_service_account_file"),
    ("oauth_token", "google.oauth2.credentials.Credentials.from_authorized_user_file"),
])
def test_an_unreadable_credentials_file_is_a_clear_error(tmp_path, monkeypatch, key, loader):
    from plugin_host.auth import credentials_for
    from plugin_host.config import load_config
    from plugin_host.errors import ConfigError

    secret = tmp_path / "secret.json"
    secret.write_text("{}")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(secret))

    monkeypatch.setattr(loader, refuse)
    config = load_config(tmp_path / "x.toml", data={"mailbox": {"address": "support@example.com",
                                                                key: str(secret)}}, environ={})
    with pytest.raises(ConfigError) as info:
        credentials_for(config.mailbox, config.state_path)
    assert info.value.key == f"mailbox.{key}" and "cannot be read (Permission denied)" in str(info.value)


# 5. A full sync after an expired history id, with no terminal (``serve``), reports its progress in the log.
def test_a_full_sync_after_expired_history_logs_its_progress(tmp_path, caplog):
    import logging

    local, host, _, feed = synced_host(tmp_path)
    for number in range(30):
        deliver(local.gmail(), make_email(subject=f"Question {number}", message_id=f"<q{number}@example.org>"))
    local.mailbox.expire_history()
    with caplog.at_level(logging.WARNING, logger="plugin_host.sync"):
        report = feed.sync()
    assert report.full and report.ok
    progress = [r.getMessage() for r in caplog.records if "threads processed" in r.getMessage()]
    assert progress and progress[-1] == "full sync: 30 of 30 threads processed" and len(progress) <= 11


# 6. A damaged cursor file costs a full sync (like a lost one), never a traceback or a stuck feed; one that
#    cannot be read or written at all is a configuration error naming it.
@pytest.mark.parametrize("text", ["[1]", '{"history_id": {"a": 1}, "watch_renewed_at": "x", "strikes": []}',
                                  '{"history_id": "abc"}', '{"history_id": "²"}', "\x00\xff"])
def test_a_damaged_cursor_file_costs_a_full_sync(tmp_path, text):
    from plugin_host.sync import ChangeFeed
    from tests.test_host_sync import make_host

    local, host, _ = make_host(tmp_path)
    deliver(local.gmail(), make_email(message_id="<damaged@example.org>"))
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "cursor.json").write_text(text, encoding="latin-1")
    report = ChangeFeed(host).sync()
    assert report.full and report.ok and len(sent_acks(local)) == 1
    assert ChangeFeed(host).cursor.history_id == report.history_id


def test_damaged_strike_counts_in_the_cursor_are_dropped_not_added_to(tmp_path):
    """A hand-edited cursor whose strike count for a thread is no number ("x", true, 1.5) made the next failure of
    that thread a TypeError in the middle of a sync; such counts are dropped, the good ones kept."""
    from plugin_host.sync import Cursor

    (tmp_path / "cursor.json").write_text(json.dumps({"history_id": "5",
                                                      "strikes": {"t1": "x", "t2": 2, "t3": True, "t4": 1.5, "t5": -1}}))
    cursor = Cursor.load(tmp_path)
    assert cursor.strikes == {"t2": 2} and cursor.history_id == "5"


def test_a_cursor_path_that_cannot_be_read_is_named(tmp_path):
    from plugin_host.errors import ConfigError
    from plugin_host.sync import ChangeFeed
    from tests.test_host_sync import make_host

    _, host, _ = make_host(tmp_path)
    (tmp_path / "state" / "cursor.json").mkdir(parents=True)
    with pytest.raises(ConfigError, match="cursor.json cannot be read"):
        ChangeFeed(host).sync()


# 7. Values of the wrong type are errors naming the key, never a traceback or a silent misreading.
@pytest.mark.parametrize("data, key", [
    ({"mailbox": {**GOOD["mailbox"], "aliases": [5]}}, "mailbox.aliases"),
    ({**GOOD, "admin": {"admins": [None]}}, "admin.admins"),
    ({**GOOD, "agents": {"a@example.com": {"first_name": "A", "last_name": "B", "team_lead": "maybe"}}}, "team_lead"),
    ({**GOOD, "agents": {"a@example.com": {"first_name": "A", "last_name": "B", "tittle": "x"}}}, "did you mean title"),
    ({"mailbox": {**GOOD["mailbox"], "ack_window_days": True}}, "mailbox.ack_window_days"),
    ({"mailbox": {**GOOD["mailbox"], "quota_units_per_second": float("nan")}}, "mailbox.quota_units_per_second"),
    ({"mailbox": {**GOOD["mailbox"], "quota_units_per_second": float("inf")}}, "mailbox.quota_units_per_second"),
    ({"mailbox": {**GOOD["mailbox"], "push_service_account": "gmail-push"}}, "mailbox.push_service_account"),
    ({"mailbox": {**GOOD["mailbox"], "delegated_user": "support"}}, "mailbox.delegated_user"),
    ({"mailbox": {**GOOD["mailbox"], "push_audience": "labeldesk.example.com/gmail/push"}}, "mailbox.push_audience"),
    ({**GOOD, "addon": {"google_certs_url": "certs"}}, "addon.google_certs_url"),
    ({**GOOD, "host": {"timezone": "Mars/Olympus"}}, "host.timezone"),
])
def test_wrong_types_are_errors_naming_the_key(tmp_path, data, key):
    from plugin_host.config import load_config
    from plugin_host.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "x.toml", data=data, environ={})
    assert key in str(info.value)


def test_a_team_lead_flag_reads_false_as_false(tmp_path):
    from plugin_host.config import load_config

    agents = {"a@example.com": {"first_name": "A", "last_name": "B", "team_lead": False},
              "b@example.com": {"first_name": "B", "last_name": "C", "team_lead": True},
              "c@example.com": {"first_name": "C", "last_name": "D", "team_lead": "no"}}
    config = load_config(tmp_path / "x.toml", data={**GOOD, "agents": agents}, environ={})
    assert [a.team_lead for a in config.agents.values()] == [False, True, False]


# 8. Tasks.insert is not idempotent: a task (or task list) created whose response was lost is found, not made twice.
@pytest.mark.parametrize("path", ["/tasks/v1/lists/", "/tasks/v1/users/@me/lists"])
def test_a_task_whose_response_was_lost_is_not_created_again(tmp_path, path):
    from plugin_host.actions import Actions
    from tests.test_host_sync import make_host

    local, host, _ = make_host(tmp_path)
    lost = lose_first_response(local, lambda uri, method: method == "POST" and path in uri)
    actions = Actions(thread_id="t1")
    actions.task(title="Escalated: order 1234", notes="Customer waits.", key="esc-1", tasklist="Escalations")
    outcome = host.executor.execute(actions)
    assert lost and outcome.done == ["task created: Escalated: order 1234"]
    titles = [l["title"] for l in host.client.list_tasklists()]
    assert titles.count("Escalations") == 1
    list_id = host.executor.tasklist_id("Escalations")
    assert [t["title"] for t in host.client.list_tasks(list_id)] == ["Escalated: order 1234"]


def test_a_message_inserted_whose_response_was_lost_is_not_inserted_again(tmp_path):
    from tests.test_host_sync import make_host

    local, host, _ = make_host(tmp_path)
    lost = lose_first_response(local, lambda uri, method: method == "POST" and "/users/me/messages?" in uri)
    host.client.insert(make_email(message_id="<post-1@social.example>"), ["INBOX"])
    assert lost and len(host.client.list_message_ids(q="rfc822msgid:post-1@social.example")) == 1


# 9. Gmail out of quota (or down) half-way through a batch: the sync stops at the first thread Gmail refused
#    after its retries, instead of spending every other thread's retries against the same wall. Nothing is
#    lost: the cursor stays, every unprocessed thread is reported, and the next sync does them.
def test_a_batch_stops_when_gmail_refuses_and_the_next_sync_finishes_it(tmp_path):
    local, host, _, feed = synced_host(tmp_path)
    for number in range(5):
        deliver(local.gmail(), make_email(sender=f"Customer {number} <c{number}@example.org>", subject=f"Parcel {number}",
                                          message_id=f"<parcel{number}@example.org>"))
    cursor = feed.cursor.history_id
    local.app.faults.error_rates.update({"gmail.users.messages.get": 1.0, "gmail.users.threads.get": 1.0})
    local.app.faults.status = 429
    report = feed.sync()
    tries = local.app.faults.injected
    assert not report.ok and len(report.failed) == 5 and feed.cursor.history_id == cursor
    assert tries <= 6 * host.client.max_attempts, tries  # the batched reads, then one thread's tries, not five
    local.app.faults.error_rates.clear()
    assert feed.sync().ok and len(sent_acks(local)) == 5


# 10. `labeldesk inspect` says what is wrong with a file that is no email, instead of guessing a language
#     for random bytes and reporting a missing sender.
def test_inspect_names_empty_and_headerless_files(tmp_path):
    import os

    from plugin_host.cli_inspect import inspect_file

    (tmp_path / "empty.eml").write_bytes(b"")
    (tmp_path / "binary.eml").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(3000))
    (tmp_path / "body-only.eml").write_bytes(b"Hello, where is my order?\n\nThanks\n")
    empty, binary, body = (inspect_file(tmp_path / n, None) for n in ("empty.eml", "binary.eml", "body-only.eml"))
    assert empty["reason"] == "empty file" and empty["acknowledge"] is False
    for result in (binary, body):
        assert result["reason"].startswith("no mail headers") and result["language"] == "" and not result["acknowledge"]


# 11. A long sync reads threads in batches as it goes: memory holds one batch, and progress moves from the start.
def test_a_long_sync_reads_threads_batch_by_batch(tmp_path):
    from plugin_host.sync import ChangeFeed
    from tests.test_host_sync import make_host

    local, host, _ = make_host(tmp_path)
    for number in range(120):
        deliver(local.gmail(), make_email(sender=f"C{number} <c{number}@example.org>", subject=f"Q {number}",
                                          message_id=f"<long{number}@example.org>"))
    held, progress = [], []
    prefetch = host.prefetch
    host.prefetch = lambda changes: (prefetch(changes), held.append(len(host._prefetched)))
    report = ChangeFeed(host, progress=lambda done, total: progress.append((done, len(held)))).sync()
    assert report.ok and len(report.threads) == 120
    assert max(held) <= 50 and len(held) == 3
    assert progress[0] == (1, 1)  # the first thread is done after the first batch was read, not all of them


# 12. A damaged webhook log (the record of chat alerts posted) is read as far as it makes sense, never a crash.
@pytest.mark.parametrize("text", ['{"sla:1": null, "sla:2": "x", "sla:3": 1700000000}', "[1, 2]", "{oops"])
def test_a_damaged_webhook_log_is_read_not_raised(tmp_path, text, caplog):
    from plugin_host.executor import WebhookLog

    (tmp_path / "webhook-posted.json").write_text(text)
    log = WebhookLog(tmp_path)
    assert log.has("sla:3") == text.startswith("{\"")
    assert log.has("sla:3") == text.startswith("{\"")  # read twice: warned once
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == (0 if text.startswith("{\"") else 1)
    assert all("webhook-posted.json" in w and "written anew" in w for w in warnings)
    log.add("sla:4")
    assert log.has("sla:4")


# 13. historyId is Gmail's unsigned 64-bit number (JSON number or digit string); true, 1.5 or 400 digits are not.
@pytest.mark.parametrize("history_id", [True, 1.5, 10 ** 400, "12a", " 7", "²", 0])
def test_a_push_with_an_odd_history_id_is_malformed(history_id):
    import base64

    from plugin_host.push import BadPush, parse_push

    data = base64.b64encode(json.dumps({"emailAddress": "support@example.com", "historyId": history_id}).encode())
    with pytest.raises(BadPush):
        parse_push(json.dumps({"message": {"data": data.decode(), "messageId": "9"}}).encode())


@pytest.mark.parametrize("history_id", [12345, "12345"])
def test_a_push_history_id_as_number_or_text(history_id):
    import base64

    from plugin_host.push import parse_push

    data = base64.b64encode(json.dumps({"emailAddress": "support@example.com", "historyId": history_id}).encode())
    assert parse_push(json.dumps({"message": {"data": data.decode(), "messageId": "9"}}).encode()).history_id == 12345


# 14. An acknowledgement an agent deleted (Trash) is still an acknowledgement sent: a later full sync (lost or
#     expired cursor) must not send another.
def test_a_trashed_acknowledgement_is_not_sent_again_by_a_full_sync(tmp_path):
    from plugin_host.sync import ChangeFeed
    from tests.test_host_sync import make_host

    local, host, _, feed = synced_host(tmp_path)
    deliver(local.gmail(), make_email(message_id="<trash-ack@example.org>"))
    assert feed.sync().ok and len(sent_acks(local)) == 1
    local.gmail().users().messages().trash(userId="me", id=sent_acks(local)[0].id).execute()
    _, restarted, _ = make_host(tmp_path, local=local)  # a new process: nothing remembered in memory
    assert ChangeFeed(restarted).sync(full=True).ok
    assert len(sent_acks(local)) == 1


def inbox_sweeper(tmp_path, tag: str, count: int):
    """A host whose only plugin sweeps the inbox, with ``count`` customer emails in it: (local, host)."""
    from plugin_host import hookimpl
    from tests.test_host_sync import make_host

    class Sweeper:
        @hookimpl
        def sweep_queries(self, settings, now):
            return ["in:inbox"]

    local, host, _ = make_host(tmp_path, plugin=Sweeper())
    for number in range(count):
        deliver(local.gmail(), make_email(sender=f"{tag}{number}@example.org", subject=f"{tag}{number}",
                                          message_id=f"<{tag}{number}@x>"))
    return local, host


# 15. The sweep, like the feed, stops at the first ticket Gmail refuses after its retries (quota, outage):
#     the next sweep visits them all again anyway.
def test_the_sweep_stops_when_gmail_refuses(tmp_path):
    local, host = inbox_sweeper(tmp_path, "s", 4)
    local.app.faults.error_rates.update({"gmail.users.messages.get": 1.0, "gmail.users.threads.get": 1.0})
    local.app.faults.status = 503
    assert host.sweep() == []
    assert local.app.faults.injected == host.client.max_attempts  # one ticket's tries, not four


def test_progress_is_logged_every_ten_seconds_and_at_the_end(caplog):
    import logging

    from plugin_host.sync import ProgressLog

    ticks = iter(range(0, 10_000, 3))
    progress = ProgressLog(full=True, clock=lambda: next(ticks))
    with caplog.at_level(logging.WARNING, logger="plugin_host.sync"):
        for done in range(1, 101):
            progress(done, 100)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "full sync: 4 of 100 threads processed" and lines[-1] == "full sync: 100 of 100 threads processed"
    assert len(lines) == 25


# 16. `labeldesk serve` says where it listens and for which mailbox, without -v.
def test_serve_announces_where_it_listens(tmp_path, monkeypatch):
    from plugin_host.scheduler import run_server
    from tests.test_host_sync import make_host

    fake_waitress(monkeypatch)
    _, host, _ = make_host(tmp_path)
    said = []
    run_server(host, "127.0.0.1", 8099, announce=said.append)
    assert said and "support@example.com" in said[0] and "http://127.0.0.1:8099" in said[0]


# 17. An environment override of a true/false setting that is neither is an error, not a silent false.
def test_a_flag_override_that_is_no_flag_is_an_error(tmp_path):
    from plugin_host.config import load_config
    from plugin_host.errors import ConfigError

    data = {**GOOD, "plugins": {"enabled": [], "autoreply": {"round_robin": True}}}
    with pytest.raises(ConfigError, match="LABELDESK_PLUGINS__AUTOREPLY__ROUND_ROBIN: must be true or false"):
        load_config(tmp_path / "x.toml", data=data, environ={"LABELDESK_PLUGINS__AUTOREPLY__ROUND_ROBIN": "ture"})
    config = load_config(tmp_path / "x.toml", data=data, environ={"LABELDESK_PLUGINS__AUTOREPLY__ROUND_ROBIN": "off"})
    assert config.plugin_raw["autoreply"]["round_robin"] is False


def test_plugins_command_suggests_the_plugin_a_misspelt_name_means(tmp_path, monkeypatch):
    from plugin_host.cli import get_cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LABELDESK_CONFIG", raising=False)
    (tmp_path / "labeldesk.toml").write_text('[mailbox]\naddress = "s@example.com"\n[plugins]\nenabled = ["kb_sugest"]\n')
    result = cli_runner().invoke(get_cli(), ["plugins", "--json"])
    assert "kb_sugest, which is not installed (did you mean 'kb_suggest'?)" in result.stderr
    assert json.loads(result.stdout)  # the warning goes to stderr: stdout stays one JSON document


# 18. The configuration file's own path: a folder, or a LABELDESK_CONFIG that names no file, says which and why.
def test_a_config_path_that_is_a_folder_or_comes_from_the_environment_is_named(tmp_path, monkeypatch):
    from plugin_host.config import load_config
    from plugin_host.errors import ConfigError

    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path, environ={})
    monkeypatch.setenv("LABELDESK_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError) as info:
        load_config(None, environ={})
    assert str(info.value).startswith("LABELDESK_CONFIG: file ") and "missing.toml does not exist" in str(info.value)


# 19. A sweep reports its progress (the CLI shows a bar, like sync).
def test_the_sweep_reports_progress(tmp_path):
    local, host = inbox_sweeper(tmp_path, "p", 3)
    seen = []
    assert len(host.sweep(progress=lambda done, total: seen.append((done, total)))) == 3
    assert seen == [(1, 3), (2, 3), (3, 3)]


# 20. LABELDESK_MAILBOX_ADDRESS (one underscore) overrides nothing: an error shows the spelling that does.
def test_an_override_with_one_underscore_after_the_section_is_an_error(tmp_path):
    from plugin_host.config import load_config
    from plugin_host.errors import ConfigError

    with pytest.raises(ConfigError, match="did you mean LABELDESK_MAILBOX__ADDRESS"):
        load_config(tmp_path / "x.toml", data=GOOD, environ={"LABELDESK_MAILBOX_ADDRESS": "help@example.com"})
    assert load_config(tmp_path / "x.toml", data=GOOD, environ={"LABELDESK_LOAD_PLUGINS": "sla",
                                                                "LABELDESK_SECRET_KEY": "x"}).mailbox.address


# 21. inspect reads at most what a mail message can be: a file beyond Gmail's limit (or /dev/zero) is named,
#     not read into memory whole.
def test_inspect_refuses_a_file_larger_than_any_mail(tmp_path):
    from plugin_host.cli_inspect import MAX_BYTES, inspect_file

    big = tmp_path / "big.eml"
    with open(big, "wb") as fh:
        fh.truncate(MAX_BYTES + 1)  # sparse: no disk used
    result = inspect_file(big, None)
    assert "larger than" in result["error"]


# 22. `labeldesk auth` that cannot store the token says where and why (after the browser step, not a traceback).
def test_auth_that_cannot_write_the_token_is_a_clear_error(tmp_path, monkeypatch):
    from google_auth_oauthlib.flow import InstalledAppFlow

    from plugin_host.auth import run_oauth_flow
    from plugin_host.errors import ConfigError

    class Flow:
        def run_local_server(self, port):
            return type("Creds", (), {"to_json": lambda self: '{"refresh_token": "secret-refresh"}'})()

    monkeypatch.setattr(InstalledAppFlow, "from_client_secrets_file", classmethod(lambda cls, *a, **k: Flow()))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError) as info:
        run_oauth_flow("client.json", str(blocker / "token.json"))
    assert "mailbox.oauth_token" in str(info.value) and "cannot be written" in str(info.value)
    assert "secret-refresh" not in str(info.value)


# 23. A send whose response was lost is looked for in its thread (read at once), not only through search,
#     whose index may not show a message sent a second ago.
def test_a_lost_send_is_found_in_its_thread_while_search_lags(tmp_path):
    from plugin_host.sync import ChangeFeed
    from tests.test_host_sync import make_host

    local, host, _ = make_host(tmp_path)
    deliver(local.gmail(), make_email(message_id="<lag@example.org>"))
    search_lags(local)
    lost = lose_first_response(local, lambda uri, method: "/messages/send" in uri)
    assert ChangeFeed(host).sync().ok and lost
    assert len(sent_acks(local)) == 1


# 24. Two new threads from one customer in one sync: the second gets no acknowledgement even when search does
#     not show yet the first acknowledgement, sent a moment ago (the host remembers what it sent).
def test_one_acknowledgement_per_sender_while_search_lags(tmp_path):
    from plugin_host.sync import ChangeFeed
    from tests.test_host_sync import make_host

    local, host, _ = make_host(tmp_path)
    for number in range(2):
        deliver(local.gmail(), make_email(subject=f"Problem {number}", message_id=f"<twice{number}@example.org>"))
    original = local.http.request

    def lagging_search(uri, method="GET", body=None, headers=None, **kw):
        if "in%3Asent" in uri:  # the acknowledgement sent a moment ago is not indexed yet
            uri = uri.replace("in%3Asent", "in%3Asent+not-indexed-yet")
        return original(uri, method, body, headers, **kw)

    local.http.request = lagging_search
    assert ChangeFeed(host).sync().ok
    assert len(sent_acks(local)) == 1


# 25. `labeldesk sync` names the threads that failed and why (on stderr), not only how many.
def test_sync_command_names_failed_threads(tmp_path, monkeypatch):
    import plugin_host.runtime
    from plugin_host.cli import get_cli

    local, host, _, feed = synced_host(tmp_path)
    ref = deliver(local.gmail(), make_email(message_id="<failing@example.org>"))
    local.app.faults.fail_next("gmail.users.messages.get", count=50, status=500)
    monkeypatch.setattr(plugin_host.runtime, "host_from_cli", lambda config_path=None: host)
    result = cli_runner().invoke(get_cli(), ["sync"])
    assert result.exit_code == 1
    assert f"failed: thread {ref['threadId']}: GmailError" in result.stderr and "HTTP 500" in result.stderr
    assert f"1 failed, cursor stays at {feed.cursor.history_id}" in result.stdout  # not the newest history id


# 26. Gmail refusing one thread's request as bad (HTTP 400: a customer address Gmail will not send to, a label
#     name it rejects) is that thread's problem, not an outage: it is set aside after three syncs like any
#     poisoned thread, instead of holding the cursor (and the whole mailbox) forever.
def test_a_thread_gmail_answers_with_400_is_set_aside_not_held_forever(tmp_path):
    local, host, _, feed = synced_host(tmp_path)
    deliver(local.gmail(), make_email(sender="Bad Address <bad@example.org>", message_id="<bad400@example.org>"))
    local.app.faults.fail_next("gmail.users.messages.send", count=100, status=400)
    reports = [feed.sync() for _ in range(3)]
    assert [len(r.failed) for r in reports[:2]] == [1, 1] and len(reports[2].set_aside) == 1
    assert "HTTP 400" in reports[2].set_aside[0][1]
    held = feed.cursor.history_id
    deliver(local.gmail(), make_email(sender="Next <next@example.org>", message_id="<next@example.org>"))
    local.app.faults.scheduled.clear()
    assert feed.sync().ok and feed.cursor.history_id != held


# 27. The cursor belongs to one mailbox: after [mailbox] address changes (same state_dir), the first sync of the
#     new mailbox is a full sync, not an incremental one from another mailbox's history id.
def test_a_cursor_of_another_mailbox_is_not_used(tmp_path):
    from plugin_host.mailbox import LocalMailbox
    from plugin_host.sync import ChangeFeed
    from tests.test_host_sync import CONFIG, make_host

    synced_host(tmp_path)
    other = {**CONFIG, "mailbox": {"address": "help@example.net"}}
    local = LocalMailbox("help@example.net")
    deliver(local.gmail(), make_email(to="help@example.net", message_id="<other-mailbox@example.org>"))
    _, host, _ = make_host(tmp_path, local=local, config=other)
    report = ChangeFeed(host).sync()
    assert report.full and report.ok and len(sent_acks(local)) == 1
