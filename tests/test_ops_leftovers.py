"""Operational leftovers: the admin's config file written atomically, plugins that are off never stopping
start-up, a stale keep-alive connection costing no retry, the local mailbox's upload sessions expiring."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import httplib2
import pytest

from plugin_host.config import load_config

FILE = '# our desk: keep this comment\n[mailbox]\naddress = "support@example.com"\n\n[agents]\n' \
       '"anna@example.com" = { first_name = "Anna", last_name = "Kowalska" }\n'


# 1. `labeldesk agents sync` rewrote labeldesk.toml in place: a full disk (or a crash) halfway through the write
#    left the admin a truncated config, and the host would not start again.
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_FSIZE simulates the full disk")
def test_agents_sync_on_a_full_disk_leaves_the_config_as_it_was(tmp_path):
    file = tmp_path / "labeldesk.toml"
    file.write_text(FILE, encoding="utf-8")
    found = {f"agent{n}@example.com": {"first_name": "Agent", "last_name": f"Number {n}"} for n in range(40)}
    # The child process may write no file beyond len(FILE) + 100 bytes: the disk is full past that point.
    script = textwrap.dedent(f"""
        import resource, signal, sys
        from pathlib import Path
        from plugins.autoreply.directory import merge_into_config
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit is then an OSError (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({len(FILE) + 100}, resource.RLIM_INFINITY))
        try:
            merge_into_config(Path(sys.argv[1]), {found!r})
        except OSError as exc:
            print("failed:", exc)
    """)
    done = subprocess.run([sys.executable, "-c", script, str(file)], capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(__file__)), timeout=60)
    assert "failed:" in done.stdout, done.stdout + done.stderr
    assert file.read_text(encoding="utf-8") == FILE  # the admin's file as it was, not cut off halfway
    assert [p.name for p in tmp_path.iterdir()] == ["labeldesk.toml"]  # no temporary file left behind


def test_agents_sync_keeps_the_files_mode_its_link_and_its_byte_order_mark(tmp_path):
    from plugins.autoreply.directory import merge_into_config

    real = tmp_path / "etc" / "labeldesk.toml"
    real.parent.mkdir()
    real.write_bytes(b"\xef\xbb\xbf" + FILE.encode())
    real.chmod(0o640)  # readable by the service's group, not by everyone
    link = tmp_path / "labeldesk.toml"
    link.symlink_to(real)  # a config managed elsewhere and linked in
    assert merge_into_config(link, {"olga@example.com": {"first_name": "Olga", "last_name": "Nowak"}}) == (1, 0)
    assert link.is_symlink() and (real.stat().st_mode & 0o777) == 0o640
    written = real.read_bytes()
    assert written.startswith(b"\xef\xbb\xbf# our desk: keep this comment\n")
    assert set(load_config(link, environ={}).agents) == {"anna@example.com", "olga@example.com"}
    assert sorted(p.name for p in real.parent.iterdir()) == ["labeldesk.toml"]


def test_agents_sync_that_cannot_write_says_so_and_leaves_the_file(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from plugin_host.cli import get_cli
    from plugins.autoreply import directory

    file = tmp_path / "labeldesk.toml"
    file.write_text(FILE, encoding="utf-8")
    monkeypatch.setattr(directory, "build_directory", lambda config: object())
    monkeypatch.setattr(directory, "directory_agents", lambda service, query, left_out=None, aliases=None: {
        "olga@example.com": {"first_name": "Olga", "last_name": "Nowak"}})

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("tempfile.mkstemp", full_disk)
    result = CliRunner().invoke(get_cli(), ["agents", "sync", "--config", str(file)])
    assert result.exit_code == 1 and "No space left on device" in result.output, result.output
    assert "left as it was" in result.output and file.read_text(encoding="utf-8") == FILE


# 2. A third-party plugin that is installed but off must not stop the host, whatever its registration hooks do;
#    one that is enabled and breaks stops start-up with an error naming it, not a traceback.
def _with_plugin(monkeypatch, name: str, **hooks):
    """Install a plugin ``name`` with ``hooks`` as a third party does: a module behind a ``labeldesk`` entry point."""
    import sys
    import types
    from importlib import metadata

    from plugin_host import hookimpl

    module = types.ModuleType(f"labeldesk_test_{name}")
    for hook, function in hooks.items():
        setattr(module, hook, hookimpl(function))
    monkeypatch.setitem(sys.modules, module.__name__, module)
    entry_points = metadata.entry_points
    ours = metadata.EntryPoint(name=name, value=module.__name__, group="labeldesk")

    def with_ours(**selection):
        found = [ep for ep in entry_points(**selection) if ep.name != name]
        return found + [ours] if selection.get("group") == "labeldesk" else entry_points(**selection)

    monkeypatch.setattr(metadata, "entry_points", with_ours)
    return module


def _config(tmp_path, enabled, sections=None):
    return load_config(tmp_path / "labeldesk.toml", environ={}, data={
        "mailbox": {"address": "support@example.com"}, "host": {"state_dir": str(tmp_path / "state")},
        "plugins": {"enabled": enabled, **(sections or {})}})


def _broken_settings(register):
    raise RuntimeError("settings module missing")


def test_a_disabled_plugin_whose_register_settings_raises_does_not_stop_start_up(tmp_path, monkeypatch, caplog):
    from plugin_host.mailbox import LocalMailbox
    from plugin_host.runtime import build_host

    _with_plugin(monkeypatch, "extra", register_settings=_broken_settings)
    host = build_host(_config(tmp_path, ["autoreply"], {"extra": {"colour": "red"}}), http=LocalMailbox().http)
    assert set(host.config.plugin_settings) == {"autoreply"}
    said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("extra" in line and "not enabled" in line and "settings module missing" in line for line in said), said


def test_an_enabled_plugin_whose_register_settings_raises_stops_start_up_naming_it(tmp_path, monkeypatch):
    from plugin_host.errors import LabeldeskError
    from plugin_host.mailbox import LocalMailbox
    from plugin_host.runtime import build_host

    _with_plugin(monkeypatch, "extra", register_settings=_broken_settings)
    with pytest.raises(LabeldeskError) as raised:
        build_host(_config(tmp_path, ["autoreply", "extra"]), http=LocalMailbox().http)
    said = str(raised.value)
    assert "plugin extra" in said and "RuntimeError: settings module missing" in said and "enabled" in said


def test_an_enabled_plugins_validator_that_breaks_stops_start_up_naming_it(tmp_path, monkeypatch):
    from plugin_host.errors import LabeldeskError
    from plugin_host.mailbox import LocalMailbox
    from plugin_host.runtime import build_host

    _with_plugin(monkeypatch, "extra", register_settings=lambda register: register("extra", lambda raw: raw["colour"]))
    with pytest.raises(LabeldeskError) as raised:
        build_host(_config(tmp_path, ["extra"], {"extra": {"size": 3}}), http=LocalMailbox().http)
    assert "plugin extra" in str(raised.value) and "KeyError" in str(raised.value) and "[plugins.extra]" in str(raised.value)


def test_two_plugins_declaring_one_settings_section_are_both_named(tmp_path, monkeypatch):
    from plugin_host.errors import ConfigError
    from plugin_host.mailbox import LocalMailbox
    from plugin_host.runtime import build_host

    _with_plugin(monkeypatch, "extra", register_settings=lambda register: register("sla", lambda raw: raw))
    with pytest.raises(ConfigError) as raised:
        build_host(_config(tmp_path, ["sla", "extra"]), http=LocalMailbox().http)
    assert "extra" in str(raised.value) and "sla" in str(raised.value) and "two plugins" in str(raised.value)


def test_a_disabled_plugin_with_a_hook_of_a_wrong_shape_does_not_stop_start_up_or_the_sweep(tmp_path, monkeypatch,
                                                                                             caplog):
    """A plugin written for another version: a hook argument Labeldesk does not have, and owned_labels raising."""
    from plugin_host.mailbox import LocalMailbox
    from plugin_host.runtime import build_host

    def register_settings(register, colour):
        register("extra", lambda raw: raw)

    def owned_labels(settings):
        raise RuntimeError("labels module missing")

    from plugin_host.errors import PluginError

    _with_plugin(monkeypatch, "extra", register_settings=register_settings)
    host = build_host(_config(tmp_path, ["autoreply"], {"extra": {"size": 3}}), http=LocalMailbox().http)
    assert any(r.levelname == "WARNING" and "plugin extra left out" in r.getMessage() for r in caplog.records)
    with pytest.raises(PluginError, match="plugin extra does not fit this Labeldesk"):  # enabled: it stops start-up
        build_host(_config(tmp_path, ["autoreply", "extra"]), http=LocalMailbox().http)
    _with_plugin(monkeypatch, "extra", owned_labels=owned_labels)
    caplog.clear()
    host.sweep()  # the labels of plugins that are off are tidied up; this one's cannot be known
    assert any("extra" in r.getMessage() and "labels module missing" in r.getMessage() for r in caplog.records)


def test_a_plugin_whose_commands_break_leaves_the_other_commands(monkeypatch, caplog):
    import click
    from click.testing import CliRunner

    from plugin_host import cli as cli_module

    def register_commands(cli):
        raise RuntimeError("commands module missing")

    _with_plugin(monkeypatch, "extra", register_commands=register_commands)
    monkeypatch.setattr(cli_module, "_plugin_commands_loaded", False)
    monkeypatch.setattr(cli_module, "cli", click.Group("labeldesk"))  # no command from an earlier test
    group = cli_module.get_cli()
    assert CliRunner().invoke(group, ["sla", "--help"]).exit_code == 0  # the other plugins' commands are there
    assert any("extra" in r.getMessage() and "commands module missing" in r.getMessage() for r in caplog.records)


# 3. A keep-alive connection the server had closed while idle (Google closes them after a few minutes) was used
#    for the next call: it failed with RemoteDisconnected, and GmailClient paid a retry after a backoff sleep (for a
#    send, after a read to check it had not gone through). A connection the server has closed is now seen before
#    anything is sent on it, and a fresh one is opened: nothing was sent, so nothing can be sent twice.
def test_a_connection_the_server_closed_while_idle_costs_no_retry():
    import json
    import select
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from plugin_host.config import MailboxSettings
    from plugin_host.gmail import GmailClient

    received, closed = [], threading.Event()

    class OneAnswerPerConnection(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the client keeps the connection for its next call

        def answer(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append((self.command, self.path.split("?")[0]))
            body = json.dumps({"emailAddress": "support@example.com", "historyId": "7", "id": "m1",
                               "threadId": "t1", "labelIds": ["SENT"]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True  # closed once answered, as an idle connection is closed by Google

        do_GET = do_POST = answer

        def finish(self):
            super().finish()
            closed.set()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), OneAnswerPerConnection)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    slept = []
    try:
        client = GmailClient(MailboxSettings(address="support@example.com",
                                             api_root=f"http://127.0.0.1:{server.server_address[1]}/"),
                             sleep=slept.append)
        for call in (client.profile, lambda: client.send(b"To: a@example.org\r\nMessage-ID: <x@y>\r\n\r\nHi")):
            closed.clear()
            call()
            assert closed.wait(10)
            connection = next(iter(client.connection().connections.values()))
            assert select.select([connection.sock], [], [], 10)[0]  # the server's close has reached this side
        client.profile()
    finally:
        server.shutdown()
        server.server_close()
    assert received == [("GET", "/gmail/v1/users/me/profile"), ("POST", "/gmail/v1/users/me/messages/send"),
                        ("GET", "/gmail/v1/users/me/profile")]
    assert not client.stats["retries"] and not slept  # no failed attempt, no backoff, no check for a lost send


def test_a_connection_that_broke_while_a_request_was_written_is_not_written_into_again(monkeypatch):
    """httplib2 leaves a connection whose request failed half-written (BrokenPipe) open: the next attempt wrote
    into the same broken socket and failed again before one on a new connection went through."""
    import http.client
    import socket

    from plugin_host.config import MailboxSettings
    from plugin_host.gmail import GmailClient

    idle, _other_end = socket.socketpair()  # a healthy idle connection: nothing to read

    class Socket:
        def fileno(self):
            return idle.fileno()

        def close(self):
            pass

    connects = []

    def connect(self):
        connects.append(self.host)
        self.sock = Socket()

    def broken_pipe(self, *args, **kwargs):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(httplib2.HTTPSConnectionWithTimeout, "connect", connect)
    monkeypatch.setattr(http.client.HTTPConnection, "request", broken_pipe)
    transport = GmailClient(MailboxSettings(address="support@example.com")).connection()
    with pytest.raises(BrokenPipeError):
        transport.request("https://gmail.googleapis.com/gmail/v1/users/me/messages/send", "POST", body="{}")
    assert [c.sock for c in transport.connections.values()] == [None]  # the next attempt opens a new connection
    idle.close()
    _other_end.close()


# 4. Google's resumable upload sessions expire a week after they start: a PUT to an expired session URI is a
#    404 and the upload must start again. The local mailbox kept every session for ever (and its bytes in memory).
def test_the_local_mailboxs_upload_sessions_expire_after_a_week_like_gmails(local, gmail):
    from googleapiclient.errors import HttpError
    from googleapiclient.http import MediaInMemoryUpload

    now = [1000.0]
    local.mailbox.clock = lambda: now[0]  # the mailbox's time, which also dates its mail
    message = (b"From: Bob <bob@example.org>\r\nTo: support@example.com\r\nSubject: Large\r\n\r\n" + b"x" * 300)

    def upload():
        media = MediaInMemoryUpload(message, mimetype="message/rfc822", chunksize=128, resumable=True)
        return gmail.users().messages().insert(userId="me", body={"labelIds": ["INBOX"]}, media_body=media)

    in_time = upload()
    assert in_time.next_chunk()[1] is None  # the first chunk; the session is open
    now[0] += 7 * 24 * 3600 - 1  # a second short of a week: the session still takes the rest
    while (done := in_time.next_chunk())[1] is None:
        pass
    assert local.mailbox.messages[done[1]["id"]].raw == message

    late = upload()
    status, response = late.next_chunk()
    assert response is None and status.resumable_progress == 128
    now[0] += 7 * 24 * 3600  # a week after it started
    with pytest.raises(HttpError) as raised:
        late.next_chunk()
    assert raised.value.resp.status == 404  # as Gmail: the session is gone, the upload must start again
    assert not local.app._uploads  # and its bytes with it

    abandoned = upload()
    abandoned.next_chunk()
    now[0] += 8 * 24 * 3600
    upload().next_chunk()  # a new session clears the ones that expired meanwhile
    assert len(local.app._uploads) == 1


# 5. serve does not reload labeldesk.toml (see README, "Configuration changes": what a restart applies and why);
#    it says in the log what a restart would do. It said "restart serve to apply it" for a new state_dir that every
#    user can write, where the restart then refused to start.
def test_a_changed_config_whose_state_folder_would_stop_start_up_is_said_before_the_restart(tmp_path, caplog):
    from plugin_host.config_watch import ConfigWatch

    path = tmp_path / "labeldesk.toml"
    text = '[mailbox]\naddress = "support@example.com"\napi_root = "http://127.0.0.1:9/"\n'
    path.write_text(text, encoding="utf-8")
    watch = ConfigWatch(path)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with caplog.at_level("WARNING"):
        path.write_text(text + f'[host]\nstate_dir = "{shared}"\n', encoding="utf-8")
        assert watch.check() is True
        path.write_text(text + f'[host]\nstate_dir = "{tmp_path / "new" / "state"}"\n', encoding="utf-8")
        assert watch.check() is True
    said = [r.getMessage() for r in caplog.records if r.name == "plugin_host.config_watch"]
    assert "has an error" in said[0] and "host.state_dir" in said[0] and "every user" in said[0]
    assert "restart serve to apply it" in said[1]
    assert not (tmp_path / "new").exists()  # checking the new version creates nothing


def test_a_disabled_plugin_claiming_the_hosts_labels_cannot_get_them_deleted(tmp_path, monkeypatch, caplog):
    """A plugin that is off and declares "Awaiting reply", an agent's Owner/ label or a Gmail label as its own:
    the sweep deleted the host's queue label from the whole mailbox."""
    from plugin_host.mailbox import LocalMailbox
    from plugin_host.runtime import build_host

    from .conftest import deliver, make_email
    from .test_host_sync import thread_label_names

    _with_plugin(monkeypatch, "extra", owned_labels=lambda settings: ["Awaiting reply", "Owner/Anna Kowalska",
                                                                       "Helpdesk/Owner", "INBOX", "SENT", "Extra/Old"])
    local = LocalMailbox()
    host = build_host(_config(tmp_path, ["autoreply"]), http=local.http)
    from plugin_host.sync import ChangeFeed

    local.gmail().users().labels().create(userId="me", body={"name": "Helpdesk/Extra/Old"}).execute()
    ref = deliver(local.gmail(), make_email())
    ChangeFeed(host).sync()
    assert "Helpdesk/Awaiting reply" in thread_label_names(local, ref["threadId"])
    gone = host.retire_labels()
    assert "Helpdesk/Awaiting reply" in thread_label_names(local, ref["threadId"])
    assert gone == ["Helpdesk/Extra/Old"]  # what the plugin does own still goes
    assert any("Awaiting reply" in r.getMessage() and "kept" in r.getMessage() for r in caplog.records)
    caplog.clear()
    assert ChangeFeed(host).sync().ok  # deleted by Labeldesk itself: no news of an agent deleting it
    assert not any("deleted in Gmail" in r.getMessage() for r in caplog.records)


def test_a_socket_that_cannot_be_asked_is_taken_for_closed():
    """A socket closed under us (or none at all) cannot carry a request: a new connection is opened."""
    import socket

    from plugin_host.gmail import closed_by_server

    one, other = socket.socketpair()
    assert closed_by_server(one) is False  # idle and open: reused
    other.close()
    assert closed_by_server(one) is True  # the other end hung up: readable (EOF)
    one.close()
    assert closed_by_server(one) is True  # closed here: fileno() is -1
    assert closed_by_server(None) is True


def test_making_an_upload_session_forgets_the_expired_ones(local):
    """Sessions abandoned right after they were made (never used again) are dropped by the next one made."""
    import json

    now = [1000.0]
    local.mailbox.clock = lambda: now[0]
    url = "https://gmail.googleapis.com/upload/gmail/v1/users/me/messages?uploadType=resumable"
    headers = {"content-type": "application/json", "x-upload-content-type": "message/rfc822"}
    local.http.request(url, "POST", body=json.dumps({"labelIds": ["INBOX"]}), headers=headers)
    now[0] += 8 * 24 * 3600
    local.http.request(url, "POST", body=json.dumps({"labelIds": ["INBOX"]}), headers=headers)
    assert len(local.app._uploads) == 1


def test_listing_every_installed_plugin_leaves_out_one_that_does_not_fit(monkeypatch, caplog):
    """The command line loads every installed plugin (enabled=None): one written for another version is left
    out with a warning naming it (an enabled one stops start-up), not registered half-way, and the others still
    load."""
    from plugin_host.plugins import make_plugin_manager

    def register_settings(register, colour):
        register("extra", lambda raw: raw)

    _with_plugin(monkeypatch, "extra", register_settings=register_settings)
    pm = make_plugin_manager(enabled=None)
    assert pm.get_plugin("extra") is None and pm.get_plugin("sla") is not None
    assert any(r.levelname == "WARNING" and "plugin extra left out" in r.getMessage() for r in caplog.records)


def test_hook_callers_follow_pluggys_order_skip_wrappers_and_take_none_for_no_result():
    import pluggy

    from plugin_host import hookimpl, hookspecs
    from plugin_host.plugins import GROUP, hook_callers

    class First:
        @hookimpl
        def owned_labels(self, settings):
            return ["First"]

    class Second:
        @hookimpl
        def owned_labels(self, settings):
            return None

    class Wrapper:
        @hookimpl(wrapper=True)
        def owned_labels(self, settings):
            return (yield)

    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    for name, plugin in (("first", First()), ("second", Second()), ("wrapper", Wrapper())):
        pm.register(plugin, name=name)
    callers = list(hook_callers(pm, "owned_labels"))
    assert [name for name, _ in callers] == ["second", "first"]  # as pluggy calls them: the latest first
    assert [call(settings=None) for _, call in callers] == [[], [["First"]]]


def test_what_a_disabled_plugin_declared_before_it_broke_is_not_checked(tmp_path, monkeypatch, caplog):
    from plugin_host.mailbox import LocalMailbox
    from plugin_host.runtime import build_host

    def half_declared(register):
        register("extra", lambda raw: raw["colour"])
        raise RuntimeError("second section missing")

    _with_plugin(monkeypatch, "extra", register_settings=half_declared)
    build_host(_config(tmp_path, ["autoreply"], {"extra": {"size": 3}}), http=LocalMailbox().http)
    said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "extra" in r.getMessage()]
    assert len(said) == 1 and "second section missing" in said[0], said


def test_since_takes_at_most_a_hundred_years():
    import click

    from plugin_host.cli import PERIOD

    assert PERIOD.convert("36500d", None, None) == 36500
    with pytest.raises(click.BadParameter, match="at most 36500 days"):
        PERIOD.convert("36501d", None, None)


def test_a_plugin_implementing_a_hook_labeldesk_does_not_have_is_left_out_whole(monkeypatch, caplog):
    """pluggy registers it and only check_pending objects: it is taken out again, so it neither stays half-loaded
    nor makes the next plugin's check fail in its name."""
    from plugin_host.plugins import make_plugin_manager

    _with_plugin(monkeypatch, "extra", on_ticket_archived=lambda ticket: None)
    pm = make_plugin_manager(enabled=None)
    assert pm.get_plugin("extra") is None and pm.get_plugin("sla") is not None
    assert [r.getMessage().split(" left out")[0] for r in caplog.records if "left out" in r.getMessage()] == [
        "plugin extra"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_FSIZE simulates the full disk")
def test_init_force_on_a_full_disk_leaves_the_config_as_it_was(tmp_path):
    """`labeldesk init --force` wrote the starter file in place: a full disk left a truncated config."""
    file = tmp_path / "labeldesk.toml"
    file.write_text(FILE, encoding="utf-8")
    script = textwrap.dedent(f"""
        import resource, signal, sys
        from click.testing import CliRunner
        from plugin_host.cli import get_cli
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({len(FILE) + 100}, resource.RLIM_INFINITY))
        print(CliRunner().invoke(get_cli(), ["init", sys.argv[1], "--force"]).output)
    """)
    done = subprocess.run([sys.executable, "-c", script, str(file)], capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(__file__)), timeout=60)
    assert "cannot write" in done.stdout, done.stdout + done.stderr
    assert file.read_text(encoding="utf-8") == FILE
    assert [p.name for p in tmp_path.iterdir()] == ["labeldesk.toml"]
