"""Running ``labeldesk serve`` as an operator does: health and readiness, stopping, outages, the state folder."""
from __future__ import annotations

from plugin_host import hookimpl
from plugin_host.sync import ChangeFeed
from plugin_host.web import create_app

from .conftest import deliver, fake_waitress, make_email
from .test_host_sync import Acknowledger, make_host, sent_acks


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def served(tmp_path, **kwargs):
    """(local mailbox, change feed, test client, clock) of a host as ``serve`` runs it."""
    local, host, _ = make_host(tmp_path, **kwargs)
    feed = ChangeFeed(host)
    clock = Clock()
    feed.health.clock = clock
    return local, feed, create_app(host, feed).test_client(), clock


# 1. A load balancer or uptime check could only learn that the process answered; now /readyz says whether the
#    last sync succeeded and when, and answers 503 with the reason when it failed or is long past.
def test_readyz_says_whether_the_last_sync_succeeded_and_when(tmp_path):
    local, feed, client, clock = served(tmp_path)
    first = client.get("/readyz")
    assert first.status_code == 503 and "first sync" in first.json["sync"]["problem"]
    feed.sync()
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["sync"]["last_successful_sync_at"] == "2027-01-15T08:00:00+00:00"
    local.app.faults.fail_next("gmail.users.history.list", 6, 503)
    deliver(local.gmail(), make_email())
    clock.now += 60
    try:
        feed.sync()
    except Exception:
        pass
    failed = client.get("/readyz")
    assert failed.status_code == 503 and "HTTP 503" in failed.json["sync"]["problem"]
    assert failed.json["sync"]["failed_syncs_in_a_row"] == 1
    assert client.get("/healthz").status_code == 200  # liveness: a restart would not bring Gmail back
    assert client.get("/healthz").json["sync"]["ok"] is False
    feed.sync()
    recovered = client.get("/readyz")
    assert recovered.status_code == 200 and recovered.json["sync"]["failed_syncs_in_a_row"] == 0  # "in a row"
    clock.now += 3600  # the poll stopped: nothing synced for an hour
    stale = client.get("/readyz")
    assert stale.status_code == 503 and "no sync for 3600 s" in stale.json["sync"]["problem"]


class StopsMidSync(Acknowledger):
    """Acknowledges tickets; SIGTERM arrives while the first ticket of a sync is in hand."""

    def __init__(self):
        super().__init__()
        self.host = None

    @hookimpl
    def on_ticket_opened(self, ticket, actions):
        super().on_ticket_opened(ticket, actions)
        if self.host is not None:
            self.host.stopping.set()


# 2. SIGTERM (systemd, docker stop) killed a sync halfway — the daemon threads simply died, "stopped." was never
#    printed because waitress swallows the interrupt; now the ticket in hand is finished, the others are left for
#    the next start, the cursor stays, and the restart acknowledges each of them once.
def test_sigterm_mid_sync_finishes_the_ticket_in_hand_and_the_restart_sends_nothing_twice(tmp_path):
    plugin = StopsMidSync()
    local, host, _ = make_host(tmp_path, plugin=plugin)
    feed = ChangeFeed(host)
    feed.sync()
    cursor = feed.cursor.history_id
    for n in range(3):
        deliver(local.gmail(), make_email(sender=f"Customer {n} <c{n}@example.org>", subject=f"Order {n} is late"))
    plugin.host = host
    report = feed.sync()
    assert len(report.threads) == 1 and len(report.failed) == 2
    assert all("host is stopping" in why for _, why in report.failed)
    assert feed.cursor.history_id == cursor and len(sent_acks(local)) == 1
    _, restarted, _ = make_host(tmp_path, local=local)  # the next start, on the same state folder
    ChangeFeed(restarted).sync()
    acks = sent_acks(local)
    assert len(acks) == 3 and len({m.thread_id for m in acks}) == 3


def test_sigterm_mid_sweep_leaves_the_other_tickets_for_the_next_sweep(tmp_path):
    from plugin_host import hookimpl

    class Inbox:
        @hookimpl
        def sweep_queries(self):
            return ["in:inbox"]

    local, host, _ = make_host(tmp_path)
    host.pm.register(Inbox(), name="inbox")
    deliver(local.gmail(), make_email())
    assert len(host.sweep()) == 1
    host.stopping.set()
    assert host.sweep() == []


def test_stopping_serve_waits_for_the_work_in_hand_and_says_it_stopped(tmp_path, monkeypatch):
    import threading


    from plugin_host import scheduler as scheduling

    _, host, _ = make_host(tmp_path)
    in_hand, finished = threading.Event(), []

    def slow_first_sync(*args, **kwargs):  # busy with a ticket until told to stop
        in_hand.set()
        finished.append(host.stopping.wait(5))

    fake_waitress(monkeypatch, run=lambda: in_hand.wait(5))  # SIGTERM comes while the first sync is in hand
    monkeypatch.setattr(scheduling.Scheduler, "jobs", lambda self: [])
    monkeypatch.setattr("plugin_host.sync.ChangeFeed.sync", slow_first_sync)
    said = []
    scheduling.run_server(host, "127.0.0.1", 8099, announce=said.append)
    assert finished == [True]  # the sync ended before run_server returned, told to take no other ticket
    assert said[-2:] == ["stopping: finishing the ticket in hand…", "stopped."]


def one_round(scheduler, work, name="poll"):
    """One pass of a ``serve`` loop, as the scheduler runs it."""
    def once():
        scheduler.stopped.set()
        work()
    scheduler.stopped.clear()
    scheduler._loop(0, once, name)


# 3. While Gmail answered 503 for minutes, every poll wrote a 30-line traceback of googleapiclient internals, and
#    nothing said when Gmail came back; now each failed poll is one ERROR line naming the call and the status,
#    and the first poll that works again says so.
def test_a_gmail_outage_is_one_line_per_poll_and_its_end_is_logged(tmp_path, caplog):
    from plugin_host.scheduler import Scheduler

    local, feed, _, _ = served(tmp_path)
    feed.sync()
    scheduler = Scheduler(feed.host, feed)
    deliver(local.gmail(), make_email())
    with caplog.at_level("INFO"):
        for _ in range(2):
            local.app.faults.fail_next("gmail.users.history.list", 6, 503)
            one_round(scheduler, feed.sync)
        one_round(scheduler, feed.sync)
    failed = [r for r in caplog.records if "poll failed" in r.getMessage()]
    assert len(failed) == 2 and all(r.levelname == "ERROR" and r.exc_info is None for r in failed)
    assert "gmail.users.history.list" in failed[0].getMessage() and "HTTP 503" in failed[0].getMessage()
    assert "\n" not in failed[0].getMessage()
    back = [r for r in caplog.records if "works again" in r.getMessage()]
    assert len(back) == 1 and back[0].levelname == "WARNING" and "2 failed" in back[0].getMessage()


def test_a_gmail_outage_during_a_push_sync_is_one_line_not_a_traceback(tmp_path, caplog):
    # The poll logged one line, but the sync a push starts logged two chained tracebacks of googleapiclient
    # and httplib2 internals per push while Gmail was unreachable or refusing.
    local, feed, _, _ = served(tmp_path)
    feed.sync()
    deliver(local.gmail(), make_email())
    local.app.faults.fail_next("gmail.users.history.list", 6, 503)
    with caplog.at_level("INFO"):
        feed._background_sync()
    failed = [r for r in caplog.records if "background sync after push failed" in r.getMessage()]
    assert len(failed) == 1 and failed[0].levelname == "ERROR" and failed[0].exc_info is None
    assert "gmail.users.history.list" in failed[0].getMessage() and "HTTP 503" in failed[0].getMessage()


def test_a_thread_gmail_refuses_is_one_line_not_a_traceback(tmp_path, caplog):
    local, feed, _, _ = served(tmp_path)
    feed.sync()
    deliver(local.gmail(), make_email())
    local.app.faults.fail_next("gmail.users.threads.get", 12, 503)
    local.app.faults.fail_next("gmail.users.messages.get", 12, 503)
    with caplog.at_level("INFO"):
        assert not feed.sync().ok
    failed = [r for r in caplog.records if "processing thread" in r.getMessage()]
    assert failed and all(r.exc_info is None and "HTTP 503" in r.getMessage() for r in failed)


def read_only(monkeypatch, errno_code=30, text="Read-only file system"):
    """Every new file in the state folder fails as on a read-only (EROFS) or full (ENOSPC) disk."""
    import tempfile

    import filelock

    def refuse(*args, **kwargs):
        raise OSError(errno_code, text)

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    monkeypatch.setattr(filelock.FileLock, "acquire", refuse)


# 4. On a read-only or full disk `serve` started, bound its port, answered /healthz, and then logged a
#    PermissionError traceback every poll; now it refuses to start, naming host.state_dir and the disk's answer.
def test_serve_on_a_state_folder_that_cannot_be_written_does_not_start(tmp_path, monkeypatch):
    import waitress
    from click.testing import CliRunner

    from plugin_host.cli import get_cli

    config = tmp_path / "labeldesk.toml"
    config.write_text('[mailbox]\naddress = "support@example.com"\napi_root = "http://127.0.0.1:9/"\n'
                      f'[host]\nstate_dir = "{tmp_path / "state"}"\n', encoding="utf-8")
    bound = []
    monkeypatch.setattr(waitress, "create_server", lambda *a, **kw: bound.append(kw) or 1 / 0)
    read_only(monkeypatch, 28, "No space left on device")
    result = CliRunner().invoke(get_cli(), ["serve", "--config", str(config)])
    assert result.exit_code == 1 and not bound
    assert "host.state_dir" in result.output and "No space left on device" in result.output


def test_a_state_folder_that_becomes_read_only_is_one_line_per_poll(tmp_path, monkeypatch, caplog):
    from plugin_host.scheduler import Scheduler

    _, feed, client, _ = served(tmp_path)
    feed.sync()
    read_only(monkeypatch)
    with caplog.at_level("INFO"):
        one_round(Scheduler(feed.host, feed), feed.sync)
    failed = [r for r in caplog.records if "poll failed" in r.getMessage()]
    assert len(failed) == 1 and failed[0].exc_info is None
    assert "host.state_dir" in failed[0].getMessage() and "Read-only file system" in failed[0].getMessage()
    assert client.get("/readyz").status_code == 503


# 5. The daily users.watch renewal saved the feed's cursor as it was at its last sync: when a cron `labeldesk
#    sync` (or a push-triggered sync) had moved the cursor meanwhile, the renewal put it back, and a sync that
#    had read the cursor before the renewal dropped the renewal's date, so the watch was renewed every hour.
#    Now the renewal takes the sync lock and changes only its own field of the cursor on disk.
def test_watch_renewal_neither_rolls_the_cursor_back_nor_is_forgotten(tmp_path):
    local, serving, _, _ = served(tmp_path)
    serving.sync()
    _, cron_host, _ = make_host(tmp_path, local=local)
    cron = ChangeFeed(cron_host)
    deliver(local.gmail(), make_email())
    cron.sync()  # a cron sync beside serve moves the cursor
    moved = cron.cursor.history_id
    assert serving.renew_watch("projects/p/topics/gmail") is True
    assert ChangeFeed(cron_host).cursor.history_id == moved  # not rolled back to serve's last sync
    deliver(local.gmail(), make_email(sender="Other <other@example.org>", subject="Refund"))
    cron.sync()  # cron had loaded the cursor before the renewal
    assert serving.renew_watch("projects/p/topics/gmail") is False  # renewed today: remembered
    assert len(sent_acks(local)) == 2


# 6. An operator who edited labeldesk.toml under a running serve saw nothing happen and no word why (the file is
#    read once, at start); now the log says the file changed and that serve needs a restart, or, when the new
#    version would not start, the error to fix first.
def test_a_config_file_changed_under_serve_is_logged_once_with_what_a_restart_would_do(tmp_path, caplog):
    from plugin_host.config_watch import ConfigWatch

    path = tmp_path / "labeldesk.toml"
    text = '[mailbox]\naddress = "support@example.com"\napi_root = "http://127.0.0.1:9/"\n'
    path.write_text(text, encoding="utf-8")
    watch = ConfigWatch(path)
    assert watch.check() is False
    with caplog.at_level("WARNING"):
        path.write_text(text + '[plugins]\nenabled = ["sla"]\n', encoding="utf-8")
        assert watch.check() is True and watch.check() is False
        path.write_text(text + '[plugins]\nenabled = ["autorepy"]\n', encoding="utf-8")
        assert watch.check() is True
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 2 and "restart serve to apply it" in said[0]
    assert "has an error" in said[1] and "autoreply" in said[1]
    assert watch.changed


def test_serve_checks_its_config_file_and_healthz_says_when_it_changed(tmp_path):
    from plugin_host.scheduler import Scheduler

    path = tmp_path / "labeldesk.toml"
    path.write_text('[mailbox]\naddress = "support@example.com"\n', encoding="utf-8")
    local, feed, client, _ = served(tmp_path)
    feed.host.config.path = path
    scheduler = Scheduler(feed.host, feed)
    client.application.extensions["labeldesk.config_watch"] = scheduler.config_watch
    check = next(work for _, work, name in scheduler.jobs() if name == "config check")
    assert client.get("/healthz").json["config_changed_since_start"] is False
    path.write_text('[mailbox]\naddress = "help@example.com"\n', encoding="utf-8")
    check()
    assert client.get("/healthz").json["config_changed_since_start"] is True


# 7. Gmail down when serve started: the first sync logged a traceback (and a users.watch refusal another one)
#    instead of the one ERROR line the later polls write.
def test_gmail_down_at_start_is_one_error_line_without_a_traceback(tmp_path, monkeypatch, caplog):

    from plugin_host.scheduler import run_server

    local, host, _ = make_host(tmp_path)
    ran = []

    fake_waitress(monkeypatch, run=lambda: ran.append(True))
    monkeypatch.setattr("plugin_host.scheduler.Scheduler.jobs", lambda self: [])
    local.app.faults.fail_next("gmail.users.getProfile", 6, 503)
    with caplog.at_level("INFO"):
        run_server(host, "127.0.0.1", 8099, announce=lambda text: None)
    failed = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(failed) == 1 and failed[0].exc_info is None
    assert "poll failed" in failed[0].getMessage() and "HTTP 503" in failed[0].getMessage()


# 8. serve's start said only the address and port: which Gmail (a local mailbox left in the config?), which
#    plugins, where the state lives and whether push is on had to be guessed; now a second line says so.
def test_serve_says_at_start_which_gmail_plugins_state_and_push(tmp_path, monkeypatch):

    from plugin_host.scheduler import run_server

    fake_waitress(monkeypatch)
    monkeypatch.setattr("plugin_host.scheduler.Scheduler.jobs", lambda self: [])
    _, host, _ = make_host(tmp_path)
    said = []
    run_server(host, "127.0.0.1", 8099, announce=said.append)
    assert "no push (polling only)" in said[1] and str(host.state_dir) in said[1] and "/readyz" in said[1]
    assert "plugins: " in said[1] and "Gmail API: " in said[1]


def test_polls_back_off_while_gmail_is_down_and_resume_when_it_is_back(tmp_path, caplog):
    """A long outage cost 6 attempts (about 15 s of retries) and an ERROR line every poll_seconds; the wait now
    doubles after each failed round, up to 10 minutes, and the first round that works restores it."""
    from plugin_host.scheduler import BACKOFF_CAP_SECONDS, Scheduler

    local, feed, _, _ = served(tmp_path)
    scheduler = Scheduler(feed.host, feed)
    waits = []
    with caplog.at_level("INFO"):
        for _ in range(7):
            local.app.faults.fail_next("gmail.users.getProfile", 6, 503)
            local.app.faults.fail_next("gmail.users.history.list", 6, 503)
            scheduler.once(feed.sync, "poll", lambda: f"retrying in {scheduler.pause(60, 'poll'):g}s")
            waits.append(scheduler.pause(60, "poll"))
    assert waits == [120, 240, 480, BACKOFF_CAP_SECONDS, BACKOFF_CAP_SECONDS, BACKOFF_CAP_SECONDS, BACKOFF_CAP_SECONDS]
    assert "retrying in 120s" in [r for r in caplog.records if "poll failed" in r.getMessage()][0].getMessage()
    local.app.faults.scheduled.clear()
    scheduler.once(feed.sync, "poll", "")
    assert scheduler.pause(60, "poll") == 60
    assert scheduler.pause(900, "sweep") == 900  # a job with no failures keeps its own rhythm


def test_healthz_says_when_the_gmail_watch_ends_and_whether_it_has(tmp_path):
    """Gmail stops pushing 7 days after the last users.watch; a renewal failing all week went unseen (polling
    still brings mail, up to poll_seconds late). /healthz now shows the watch's expiration and whether it passed."""
    import time
    from datetime import datetime, timezone

    from plugin_host.sync import watch_state

    from .test_host_sync import CONFIG

    config = {**CONFIG, "mailbox": {**CONFIG["mailbox"], "watch_topic": "projects/p/topics/gmail",
                                    "push_audience": "https://labeldesk.example.com/gmail/push",
                                    "push_service_account": "push@p.iam.gserviceaccount.com"}}
    local, feed, client, _ = served(tmp_path, config=config)
    assert client.get("/healthz").json["push"] == {"watch_expires_at": None, "watch_expired": False}
    assert feed.renew_watch("projects/p/topics/gmail") is True
    push = client.get("/healthz").json["push"]
    expires = datetime.fromtimestamp(feed.cursor.watch_expires_at, timezone.utc).isoformat(timespec="seconds")
    assert push == {"watch_expires_at": expires, "watch_expired": False}
    assert ChangeFeed(feed.host).cursor.watch_expires_at == feed.cursor.watch_expires_at > time.time() + 6 * 86400
    assert watch_state(feed, "projects/p/topics/gmail", now=feed.cursor.watch_expires_at + 1)["watch_expired"] is True
    assert watch_state(feed, None) is None


def test_another_process_syncing_during_a_push_is_a_warning_not_a_traceback(tmp_path, caplog, monkeypatch):
    from plugin_host.files import Busy

    local, feed, _, _ = served(tmp_path)

    def busy(*args, **kwargs):
        raise Busy("another labeldesk process is syncing support@example.com")

    monkeypatch.setattr(feed, "sync", busy)
    with caplog.at_level("INFO"):
        feed._background_sync()
    skipped = [r for r in caplog.records if "background sync after push" in r.getMessage()]
    assert len(skipped) == 1 and skipped[0].levelname == "WARNING" and skipped[0].exc_info is None
    assert "another labeldesk process" in skipped[0].getMessage()


def test_labeldesk_variables_are_settings_not_the_web_apps_own(tmp_path, monkeypatch):
    """create_app read every LABELDESK_* variable into Flask's config (from_prefixed_env): one meant for the
    settings, or a stray LABELDESK_MAX_CONTENT_LENGTH, changed the web app unseen (here the 2 MB body limit that
    keeps a forged add-on request from filling memory). Variables are the settings' overrides only."""
    monkeypatch.setenv("LABELDESK_MAX_CONTENT_LENGTH", "1000000000")
    monkeypatch.setenv("LABELDESK_SECRET_KEY", '"leaked"')
    _, _, client, _ = served(tmp_path)
    assert client.application.config["MAX_CONTENT_LENGTH"] == 2 * 1024 * 1024
    assert client.application.config.get("SECRET_KEY") is None
