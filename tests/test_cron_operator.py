"""Running ``labeldesk sync`` and ``sweep`` from cron or a systemd timer: what they print, how they exit, how they
stop, and what the environment can set."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading

import pytest

from plugin_host import hookimpl
from plugin_host.cli import get_cli

from .conftest import ROOT, cli_runner, deliver, make_email, served
from .test_host_sync import make_host, sent_acks, thread_label_names


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


# A label root "[Support]" set only in the environment (the file leaves label_root to its default) was refused as
# broken TOML, and a setting that is text decides, not whether the file happens to write it.
def test_a_text_setting_the_file_leaves_out_may_begin_with_a_bracket_in_the_environment(tmp_path):
    from plugin_host.config import load_config
    from plugin_host.errors import ConfigError

    data = {"mailbox": {"address": "support@example.com"}}
    config = load_config(tmp_path / "x.toml", data=data, environ={"LABELDESK_MAILBOX__LABEL_ROOT": "[Support]"})
    assert config.mailbox.label_root == "[Support]"
    for name, value in (("LABELDESK_MAILBOX__ALIASES", '["help@example.com"'),
                        ("LABELDESK_PLUGINS__ENABLED", "[sla"),
                        ("LABELDESK_PLUGINS__SLA__TARGETS__URGENT", "{ business_hours = }")):
        with pytest.raises(ConfigError) as raised:  # a list or table left out of the file is still TOML or wrong
            load_config(tmp_path / "x.toml", data=data, environ={name: value})
        assert name in str(raised.value) and "TOML" in str(raised.value)


# An agent set from the environment (LABELDESK_AGENTS__ANNA=…) was refused as `agents."anna": 'anna' is not an
# email address`, naming neither the variable nor what to do: a variable's name cannot hold an address.
def test_an_agent_set_from_the_environment_names_the_variable_and_where_agents_go(tmp_path):
    from plugin_host.config import load_config
    from plugin_host.errors import ConfigError

    data = {"mailbox": {"address": "support@example.com"}}
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path / "x.toml", data=data, environ={"LABELDESK_AGENTS__ANNA": "Anna Kowalska"})
    message = str(raised.value)
    assert "LABELDESK_AGENTS__ANNA" in message and "[agents]" in message and "labeldesk.toml" in message


class HeldAtFirstSend:
    """The local mailbox's WSGI app, holding the first messages.send until ``release`` is set: the ticket in hand
    when a signal comes (``in_hand`` is set once the send has arrived)."""

    def __init__(self, app):
        self.app, self.in_hand, self.release = app, threading.Event(), threading.Event()

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"].endswith("/messages/send") \
                and not self.in_hand.is_set():
            self.in_hand.set()
            assert self.release.wait(60)
        return self.app(environ, start_response)

    def __getattr__(self, name):
        return getattr(self.app, name)


def sync_process(config, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "plugin_host.cli", "sync", "--config", str(config), *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# 3. systemd stops a timer's unit (and `timeout` its command) with SIGTERM: a cron `labeldesk sync` died on the
#    spot, mid-ticket and without a word, and Ctrl-C said only "Aborted!". It now stops as `serve` does: the ticket
#    in hand is finished (its acknowledgement sent and its labels set), no other is taken, the cursor stays before
#    them, one line says so, and the process ends by the signal (systemd counts a unit stopped by SIGTERM as
#    stopped cleanly). The next run acknowledges the others, each once.
def test_sigterm_during_a_cron_sync_finishes_the_ticket_in_hand_and_the_next_run_sends_nothing_twice(tmp_path):
    from plugin_host.mailbox import LocalMailbox

    local = LocalMailbox("support@example.com")
    for n in range(3):
        deliver(local.gmail(), make_email(sender=f"customer{n}@example.org", subject=f"Question {n}",
                                          message_id=f"<q{n}@example.org>"))
    held = local.app = HeldAtFirstSend(local.app)
    with served(local):
        config = tmp_path / "labeldesk.toml"
        config.write_text(f'[mailbox]\naddress = "support@example.com"\napi_root = "{local.served_root}"\n'
                          '[agents]\n"anna.kowalska@example.com" = { first_name = "Anna", last_name = "Kowalska" }\n'
                          '[plugins]\nenabled = ["autoreply"]\n[host]\nstate_dir = "state"\n')
        stopped = sync_process(config)
        try:
            assert held.in_hand.wait(60)
            stopped.send_signal(signal.SIGTERM)
            said = stopped.stderr.readline()  # the signal is taken before the ticket in hand goes on
            held.release.set()
            out, err = stopped.communicate(timeout=60)
        finally:
            held.release.set()
            stopped.kill()
        assert said.startswith("SIGTERM: stopping after the ticket in hand"), said + err
        assert stopped.returncode == -signal.SIGTERM, err
        assert "Traceback" not in err and err.endswith("stopped.\n")
        assert "2 thread(s) not tried: the host is stopping; the next sync tries them" in err
        assert "failed: thread" not in err  # the threads not reached are no failures
        assert len(sent_acks(local)) == 1  # the ticket in hand was finished, no other taken
        (answered,) = sent_acks(local)
        assert "Helpdesk/Acknowledged" in thread_label_names(local, answered.thread_id)
        assert json.loads((tmp_path / "state" / "cursor.json").read_text())["history_id"] is None

        again = sync_process(config)
        out, err = again.communicate(timeout=60)
        assert again.returncode == 0, err
    assert sorted(m.raw.split(b"\nTo: ")[1].split(b"\r")[0].split(b"\n")[0] for m in sent_acks(local)) == [
        b"customer0@example.org", b"customer1@example.org", b"customer2@example.org"]


class SweepsInbox:
    """A one-off plugin whose sweep visits every inbox thread and breaks on the one asking about "boom"."""

    @hookimpl
    def sweep_queries(self, settings, now):
        return ["in:inbox"]

    @hookimpl
    def on_sweep(self, ticket, actions):
        if "boom" in ticket.subject:
            raise RuntimeError("a plugin bug")
        actions.add_labels("Swept")


# 4. A cron `labeldesk sweep` exited 0 ("sweep: N ticket(s) visited") when a ticket failed, and when Gmail refused
#    halfway and the sweep stopped with tickets not reached: cron and systemd saw a sweep that did its job, unlike
#    `labeldesk sync`, which exits 1 when a thread fails. It now names what failed on stderr and exits 1.
def test_a_sweep_that_failed_a_ticket_exits_non_zero_and_names_it(tmp_path, monkeypatch):
    local, host, _ = make_host(tmp_path, plugin=SweepsInbox())
    broken = deliver(local.gmail(), make_email(subject="boom", message_id="<boom@example.org>"))
    deliver(local.gmail(), make_email(subject="fine", message_id="<fine@example.org>", sender="b@example.org"))
    hosted(monkeypatch, host)
    result = cli_runner().invoke(get_cli(), ["sweep"])
    assert result.exit_code == 1, result.output
    assert "sweep: 1 ticket(s) visited, 1 failed" in result.stdout
    assert f"failed: thread {broken['threadId']}: plugin test-ack failed in on_sweep (RuntimeError: a plugin bug)" \
        in result.stderr


def test_a_sweep_gmail_stopped_halfway_exits_non_zero_and_says_what_was_not_reached(tmp_path, monkeypatch):
    local, host, _ = make_host(tmp_path, plugin=SweepsInbox())
    for n in range(3):
        deliver(local.gmail(), make_email(subject=f"fine {n}", message_id=f"<fine{n}@example.org>",
                                          sender=f"c{n}@example.org"))
    hosted(monkeypatch, host)
    local.app.faults.fail_next("gmail.users.threads.get", count=100, status=503)
    result = cli_runner().invoke(get_cli(), ["sweep"])
    assert result.exit_code == 1, result.output
    assert "sweep: 0 ticket(s) visited, 1 failed, 2 not reached" in result.stdout
    assert "HTTP 503" in result.stderr and "the next sweep visits them" in result.stderr


# 5. `labeldesk auth --scopes --drive` printed the Admin console's list without Drive: --drive (allow Drive before
#    drive_folder is set) counted only for the consent screen, so a Workspace admin preparing the delegation ahead of
#    the Drive folder pasted a list that Google then refused the Drive token for.
def test_auth_scopes_with_drive_lists_drive_before_drive_folder_is_set(tmp_path):
    from .test_google_scopes import DRIVE, GMAIL, write_config

    config = write_config(tmp_path, ["kb_suggest"])
    result = cli_runner().invoke(get_cli(), ["auth", "--scopes", "--drive", "--config", str(config)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"{GMAIL},{DRIVE}"
    assert "drive.readonly: plugin kb_suggest (help articles from a Drive folder" in result.stdout
    plain = cli_runner().invoke(get_cli(), ["auth", "--scopes", "--config", str(config)])
    assert plain.stdout.splitlines()[0] == GMAIL


# 6. `labeldesk agents sync` against a local mailbox with no directory users (`labeldesk mailbox serve` without
#    --seed sample) said to "check that directory_admin's account is the support team's": a setting a local mailbox
#    does not use (it needs no admin and no credentials). It now says the local mailbox lists no users and how it
#    gets some.
def test_agents_sync_against_an_unseeded_local_mailbox_does_not_blame_directory_admin(tmp_path, monkeypatch):
    from plugin_host.mailbox import LocalMailbox

    local = LocalMailbox("support@example.com")
    with served(local):
        config = tmp_path / "labeldesk.toml"
        config.write_text(f'[mailbox]\naddress = "support@example.com"\napi_root = "{local.served_root}"\n'
                          '[plugins]\nenabled = ["autoreply"]\n')
        result = cli_runner().invoke(get_cli(), ["agents", "sync", "--dry-run", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "directory_admin" not in result.output
    assert f"the local mailbox at {local.served_root} lists no directory users" in result.output
    assert "--seed sample" in result.output


# 7. The cron run in which a thread failed its third sync in a row and was set aside ("answer it by hand") exited 0:
#    the two runs before it exited 1, and the one run that asks a person to act looked like a run that did its job
#    to systemd (OnFailure=) and to a cron wrapper that mails on a failed exit. It now exits 1 too.
def test_the_sync_that_sets_a_thread_aside_exits_non_zero(tmp_path, monkeypatch):
    from .test_host_sync import synced_host

    local, host, _, feed = synced_host(tmp_path)
    bad = deliver(local.gmail(), make_email(sender="Bad Address <bad@example.org>", message_id="<bad400@example.org>"))
    local.app.faults.fail_next("gmail.users.messages.send", count=100, status=400)
    hosted(monkeypatch, host)
    runs = [cli_runner().invoke(get_cli(), ["sync"]) for _ in range(3)]
    assert [run.exit_code for run in runs] == [1, 1, 1]
    assert f"set aside after failing 3 syncs in a row: thread {bad['threadId']}" in runs[2].stderr
    assert "0 failed, cursor at" in runs[2].stdout  # the cursor moved on: the others are not held for it
    local.app.faults.scheduled.clear()
    assert cli_runner().invoke(get_cli(), ["sync"]).exit_code == 0


# 8. When Gmail refused a send mid-batch (out of quota, down), the threads after it were not tried, and the sync
#    listed each on stderr as "failed: thread …: not tried: Gmail refused an earlier thread of this batch": twenty
#    such lines and "… and 10 more" after the refusal itself, in cron's mail every run while it lasted. The threads
#    not tried are now one line with their number; the threads that failed are still named.
def test_threads_not_tried_after_a_refusal_are_one_line_not_one_each(tmp_path, monkeypatch):
    from .test_host_sync import synced_host

    local, host, _, feed = synced_host(tmp_path)
    first = deliver(local.gmail(), make_email(sender="c0@example.org", subject="Q 0", message_id="<q0@example.org>"))
    for n in range(1, 30):
        deliver(local.gmail(), make_email(sender=f"c{n}@example.org", subject=f"Q {n}", message_id=f"<q{n}@example.org>"))
    local.app.faults.fail_next("gmail.users.messages.send", count=100, status=503)
    hosted(monkeypatch, host)
    result = cli_runner().invoke(get_cli(), ["sync"])
    assert result.exit_code == 1
    said = [line for line in result.stderr.splitlines() if not line[:4].isdigit()]  # not the log's lines
    assert said == [f"failed: thread {first['threadId']}: GmailError: mailbox support@example.com: "
                    f"gmail.users.messages.send {first['threadId']} failed: HTTP 503 backendError",
                    "29 thread(s) not tried: Gmail refused an earlier thread of this batch; the next sync tries them"]


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# 9. `labeldesk demo` stopped by SIGTERM (`timeout`, a terminal closed, `docker stop`) died on the spot and left its
#    temporary state folder behind in /tmp, one per run; and Ctrl-C never printed the "stopped." its code meant to
#    (the web server swallows the interrupt). Both now stop the demo cleanly: "stopped.", exit 0, nothing left.
@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT])
def test_the_demo_stopped_by_a_signal_says_so_and_leaves_no_state_folder(tmp_path, stop_with):
    import os

    # Ctrl-C reaches a demo in a terminal's foreground; a suite started in the background of a script (`&`) runs
    # with SIGINT ignored, which the demo would inherit and never see the signal.
    demo = subprocess.Popen([sys.executable, "-m", "plugin_host.cli", "demo", "--port", str(_free_port())], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "TMPDIR": str(tmp_path)},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        said = []
        for line in demo.stdout:
            said.append(line)
            if "Ctrl-C stops" in line:
                break
        assert any(p.name.startswith("labeldesk-demo-") for p in tmp_path.iterdir())
        demo.send_signal(stop_with)
        out, _ = demo.communicate(timeout=60)
    finally:
        demo.kill()
    assert demo.returncode == 0, "".join(said) + out
    assert out.endswith("stopped.\n") and "Aborted" not in out and "Traceback" not in out
    assert not any(p.name.startswith("labeldesk-demo-") for p in tmp_path.iterdir())


# 6. A run in which one plugin raised on a ticket still carried out the other plugins' actions on it (an
#    acknowledgement mailed to the customer, the queue's labels), but stdout, which the README says has what was
#    done, listed nothing for that ticket: "incremental sync: 0 thread(s), 1 failed" and stderr's "the other
#    plugins' actions were carried out", without saying which. What was done for it is now printed like any other
#    ticket's, and the run still fails (the broken plugin is tried again).
def test_what_the_other_plugins_did_on_a_ticket_a_plugin_broke_is_on_stdout(tmp_path, monkeypatch):
    from .test_third_party_plugins import Acknowledger, two_plugin_host

    class Buggy:
        @hookimpl
        def on_ticket_opened(self, ticket, actions):
            raise RuntimeError("vip list not loaded")

    local, host = two_plugin_host(tmp_path, ack=Acknowledger(), vipdesk=Buggy())
    hosted(monkeypatch, host)
    assert cli_runner().invoke(get_cli(), ["sync"]).exit_code == 0
    ref = deliver(local.gmail(), make_email(sender="Jane <jane@bigcorp.example>", message_id="<vip@x>"))
    result = cli_runner().invoke(get_cli(), ["sync"])
    assert result.exit_code == 1, result.output
    assert len(sent_acks(local)) == 1
    done = [line for line in result.stdout.splitlines() if line.startswith(ref["threadId"])]
    assert any("jane@bigcorp.example: sent acknowledgement" in line for line in done), result.stdout
    assert "plugin vipdesk failed in on_ticket_opened" in result.stderr


def test_what_the_other_plugins_did_in_a_sweep_on_a_ticket_a_plugin_broke_is_on_stdout(tmp_path, monkeypatch):
    from .test_third_party_plugins import Buggy, Sweeper, two_plugin_host

    local, host = two_plugin_host(tmp_path, sweeper=Sweeper(), vipdesk=Buggy())
    ref = deliver(local.gmail(), make_email(subject="boom", message_id="<boom@example.org>"))
    hosted(monkeypatch, host)
    result = cli_runner().invoke(get_cli(), ["sweep"])
    assert result.exit_code == 1, result.output
    assert "Helpdesk/Swept" in thread_label_names(local, ref["threadId"])
    assert any(line.startswith(ref["threadId"]) and "Helpdesk/Swept" in line
               for line in result.stdout.splitlines()), result.stdout


# 7. The summary line of a sync Gmail stopped mid-batch counted every thread not tried as failed
#    ("incremental sync: 0 thread(s), 30 failed") while stderr said one failed and 29 were not tried; the sweep's
#    says "1 failed, 2 not reached". It now says how many failed and how many were not tried.
def test_the_sync_summary_counts_threads_not_tried_apart_from_those_that_failed(tmp_path, monkeypatch):
    from .test_host_sync import synced_host

    local, host, _, feed = synced_host(tmp_path)
    for n in range(3):
        deliver(local.gmail(), make_email(sender=f"c{n}@example.org", subject=f"Q {n}", message_id=f"<q{n}@example.org>"))
    local.app.faults.fail_next("gmail.users.messages.send", count=100, status=503)
    hosted(monkeypatch, host)
    result = cli_runner().invoke(get_cli(), ["sync"])
    assert result.exit_code == 1
    assert f"incremental sync: 0 thread(s), 1 failed, 2 not tried, cursor stays at {feed.cursor.history_id}" \
        in result.stdout, result.stdout


# Under systemd, stderr goes to the journal, which stamps each line itself: every line showed two timestamps, and
# `journalctl -p warning` could not tell a WARNING from an INFO (all at the unit's default priority). When stderr is
# the journal's stream (systemd sets JOURNAL_STREAM to its device and inode), a line carries the syslog priority
# prefix journald reads ("<4>") and no timestamp of ours; anywhere else (a terminal, a file, cron) it is as before.
def test_under_systemd_log_lines_carry_the_journals_priority_and_not_a_second_timestamp(tmp_path):
    import base64
    import os
    from datetime import datetime, timedelta, timezone

    from plugin_host.mailbox import LocalMailbox

    def logged(config, journal: bool) -> str:
        read, write = os.pipe()
        stat = os.fstat(write)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        # Not our stderr's inode: a unit whose command sends stderr to a file of its own.
        env["JOURNAL_STREAM"] = f"{stat.st_dev}:{stat.st_ino if journal else stat.st_ino + 1}"
        subprocess.run([sys.executable, "-m", "plugin_host.cli", "-v", "sync", "--config", str(config)],
                       cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=write, timeout=60)
        os.close(write)
        with os.fdopen(read) as stream:
            return stream.read()

    local = LocalMailbox("support@example.com")
    old = datetime.now(timezone.utc) - timedelta(days=3)  # too old to acknowledge: autoreply says why, at INFO
    local.gmail().users().messages().import_(userId="me", internalDateSource="dateHeader", body={
        "raw": base64.urlsafe_b64encode(make_email(date=old)).decode(), "labelIds": ["INBOX"]}).execute()
    with served(local):
        for name in ("journal", "elsewhere"):  # each its own state: the same first sync twice
            (tmp_path / f"{name}.toml").write_text(
                f'[mailbox]\naddress = "support@example.com"\napi_root = "{local.served_root}"\n'
                f'[plugins]\nenabled = ["autoreply"]\n[host]\nstate_dir = "{tmp_path / name}"\n')
        journal, elsewhere = logged(tmp_path / "journal.toml", True), logged(tmp_path / "elsewhere.toml", False)
    lines = journal.splitlines()
    assert lines and all(line[:3] in ("<6>", "<4>", "<3>") for line in lines), journal
    assert any(line.startswith("<6>INFO ") for line in lines), journal
    assert not any(line[3:4].isdigit() for line in lines), journal  # no timestamp after the prefix
    assert elsewhere and elsewhere[:4].isdigit(), elsewhere  # a file's lines keep our timestamp


def test_a_traceback_for_the_journal_carries_the_priority_on_each_of_its_lines():
    """journald takes each line as an entry of its own: a line without the prefix would be at the unit's default
    priority, so `journalctl -p err` would show the ERROR's first line without its traceback."""
    import logging

    from plugin_host.cli import JournalFormatter

    try:
        raise ValueError("a message the parser cannot read")
    except ValueError:
        record = logging.LogRecord("plugin_host.sync", logging.ERROR, __file__, 1, "processing thread %s failed",
                                   ("19a0000000000001",), sys.exc_info())
    lines = JournalFormatter().format(record).splitlines()
    assert len(lines) > 3 and all(line.startswith("<3>") for line in lines), lines
    assert lines[0] == "<3>ERROR plugin_host.sync: processing thread 19a0000000000001 failed"
