"""Background work of ``labeldesk serve``: polling the change feed, the sweep, watch renewal, and
the plugins' ``background_jobs`` (e.g. syncing a Drive folder of help articles).

Push notifications may be late or lost, so the feed is also polled every ``[host] poll_seconds``;
the sweep runs every ``[host] sweep_minutes``. Each loop logs and carries on after a failure.
"""
from __future__ import annotations

import logging
import threading
import time

from .errors import LabeldeskError
from .files import Busy, check_writable
from .refusals import level

log = logging.getLogger(__name__)
SERVER_THREADS = 8  # add-on cards, pushes and health checks at once; syncs run on their own threads
MAX_REQUEST_BYTES = 4 * 1024 * 1024  # events and pushes are a few KB; Flask answers 413 above 2 MB, waitress drops above this


CONFIG_CHECK_SECONDS = 30  # how soon an edited labeldesk.toml is noticed (a restart applies it)
BACKOFF_CAP_SECONDS = 600  # the longest wait between failed rounds of one job (10 minutes)
STOP_GRACE_SECONDS = 30.0  # how long a stop waits for the ticket in hand (systemd's TimeoutStopSec is 90 s)


class Scheduler:
    def __init__(self, host, feed, topic: str | None = None):
        self.host, self.feed, self.topic = host, feed, topic
        self.stopped = threading.Event()
        self.threads: list[threading.Thread] = []
        from .config_watch import ConfigWatch

        self.config_watch = ConfigWatch(host.config.path)
        self.failures: dict[str, int] = {}  # job name → rounds in a row that failed

    def _loop(self, every_seconds: float, work, name: str) -> None:
        while not self.stopped.wait(self.pause(every_seconds, name)):
            self.once(work, name, lambda: f"retrying in {self.pause(every_seconds, name):g}s")

    def pause(self, every_seconds: float, name: str) -> float:
        """Seconds until the next round: ``every_seconds``, doubled after each failed round in a row up to
        BACKOFF_CAP_SECONDS — a long Gmail outage costs fewer retries, quota and log lines (a push still syncs)."""
        failed = self.failures.get(name, 0)
        if not failed:
            return every_seconds
        return max(every_seconds, min(every_seconds * 2 ** failed, BACKOFF_CAP_SECONDS))

    def once(self, work, name: str, then) -> None:
        """Run ``work`` once; a failure is logged (``then``, text or a callable giving it, says what happens
        next) and counted, and the first round that works after failures says so."""
        try:
            work()
        except Busy as exc:  # another process is at the same work: nothing is wrong here
            log.warning("%s skipped: %s", name, exc)
            return
        except LabeldeskError as exc:  # Gmail down or out of quota, a state folder full: the message says it all
            self.failures[name] = self.failures.get(name, 0) + 1
            # Credentials refused, an API off: said once, not at every round (see refusals.SaidOnce)
            log.log(level(exc), "%s failed: %s; %s", name, exc, then() if callable(then) else then)
            return
        except Exception:  # a bug: its traceback is what a developer needs
            self.failures[name] = self.failures.get(name, 0) + 1
            log.exception("%s failed; %s", name, then() if callable(then) else then)
            return
        if self.failures.get(name):  # the end of an outage is news too
            log.warning("%s works again after %d failed round(s)", name, self.failures.pop(name))

    def jobs(self) -> list[tuple[float, object, str]]:
        """(every seconds, work, name) of each loop."""
        settings = self.host.config.host
        jobs = [(settings.poll_seconds, lambda: self.feed.sync(), "poll"),
                (settings.sweep_minutes * 60, self.host.sweep, "sweep"),
                (3600, lambda: self.feed.renew_watch(self.topic), "watch renewal"),
                (CONFIG_CHECK_SECONDS, self.config_watch.check, "config check")]
        return jobs + [(every, job, name) for every, name, job in self.host.background_jobs()]

    def start(self) -> None:
        for every, work, name in self.jobs():
            self.run(self._loop, (every, work, name), name)

    def run(self, target, args: tuple, name: str) -> None:
        """``target(*args)`` on a thread of its own that :meth:`stop` waits for."""
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self.threads.append(thread)
        thread.start()

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> list[str]:
        """Stop the loops: running work finishes the ticket in hand (``host.stopping``) and takes no other; waits
        up to ``grace`` seconds for it and for a sync a push started. Returns the names of work still running."""
        self.stopped.set()
        self.host.stopping.set()
        deadline = time.monotonic() + grace
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self.feed.lock.acquire(timeout=max(0.0, deadline - time.monotonic())):  # a sync after a push
            self.feed.lock.release()
            return [t.name for t in self.threads if t.is_alive()]
        return [t.name for t in self.threads if t.is_alive()] + ["sync after push"]


def run_server(host, bind: str, port: int, announce=None) -> None:
    """Serve the Flask app and run the scheduler until interrupted (Ctrl-C or SIGTERM).

    The server is waitress, a production WSGI server (Werkzeug's is for development only): a pool of
    worker threads, request bodies capped, slow clients buffered without holding a thread. The port is
    bound first: if it is taken, nothing has been synced, sent or saved yet. The first sync then runs in
    the background, so push notifications are received meanwhile. ``announce`` (the CLI's echo) is told
    where the host listens once the port is bound."""
    import signal

    from waitress import create_server

    from .sync import ChangeFeed
    from .web import create_app

    check_writable(host.state_dir)  # before the port: a full or read-only disk stops serve here
    feed = ChangeFeed(host)
    app = create_app(host, feed)
    # Binds now: OSError "Address already in use" before any work.
    server = create_server(app, host=bind, port=port, threads=SERVER_THREADS, ident="labeldesk",
                           max_request_body_size=MAX_REQUEST_BYTES, channel_timeout=60)
    topic = host.config.mailbox.watch_topic
    scheduler = Scheduler(host, feed, topic=topic)
    app.extensions["labeldesk.config_watch"] = scheduler.config_watch

    def first_run() -> None:
        # Without a topic too: a watch left on by an earlier run with push is stopped.
        scheduler.once(lambda: feed.renew_watch(topic), "watch renewal", "polling continues")
        scheduler.once(feed.sync, "poll", "polling will retry")  # the first poll that works says Gmail is back

    def terminate(signum, frame):  # platforms stop services with SIGTERM: shut down as on Ctrl-C
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate) if threading.current_thread() is threading.main_thread() else None
    scheduler.run(first_run, (), "first sync")
    scheduler.start()
    say = announce or log.info
    say(f"Labeldesk for {host.config.mailbox.address} on http://{bind}:{server.effective_port} "
        f"(polling every {host.config.host.poll_seconds}s; Ctrl-C stops)")
    say(settings_line(host))
    try:
        server.run()  # returns on Ctrl-C or SIGTERM (waitress takes the KeyboardInterrupt), workers stopped
    finally:
        server.close()
        stop(scheduler, say)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def settings_line(host) -> str:
    """What an operator checks first after a start: which Gmail, which plugins, where the state is, push or not."""
    config = host.config
    gmail = config.mailbox.api_root or "Gmail"
    push = f"push from {config.mailbox.watch_topic}" if config.mailbox.watch_topic else "no push (polling only)"
    plugins = ", ".join(config.enabled_plugins) or "none"
    return (f"  Gmail API: {gmail}; plugins: {plugins}; state: {host.state_dir}; {push}; "
            f"sweep every {config.host.sweep_minutes} min; /healthz and /readyz for monitoring")


def stop(scheduler: Scheduler, say) -> None:
    """Let the sync or sweep in hand finish its ticket (its mail sent, its labels set, the cursor saved), then
    say that the host stopped: killed halfway, a thread's labels could lag its acknowledgement until restart."""
    say("stopping: finishing the ticket in hand…")
    left = scheduler.stop()
    if left:
        log.warning("stopped while %s still ran; the next start repeats its unfinished ticket (no mail twice: "
                    "acknowledgements are checked in the thread first)", ", ".join(left))
    say("stopped.")
