"""Background work of ``labeldesk serve``: polling the change feed, the sweep, watch renewal, and
the plugins' ``background_jobs`` (e.g. syncing a Drive folder of help articles).

Push notifications may be late or lost, so the feed is also polled every ``[host] poll_seconds``;
the sweep runs every ``[host] sweep_minutes``. Each loop logs and carries on after a failure.
"""
from __future__ import annotations

import logging
import threading

from .files import Busy

log = logging.getLogger(__name__)
SERVER_THREADS = 8  # add-on cards, pushes and health checks at once; syncs run on their own threads
MAX_REQUEST_BYTES = 4 * 1024 * 1024  # events and pushes are a few KB; Flask answers 413 above 2 MB, waitress drops above this


class Scheduler:
    def __init__(self, host, feed, topic: str | None = None):
        self.host, self.feed, self.topic = host, feed, topic
        self.stopped = threading.Event()

    def _loop(self, every_seconds: float, work, name: str) -> None:
        while not self.stopped.wait(every_seconds):
            try:
                work()
            except Busy as exc:  # another process is at the same work: nothing is wrong here
                log.warning("%s skipped: %s", name, exc)
            except Exception:
                log.exception("%s failed; retrying in %ss", name, every_seconds)

    def jobs(self) -> list[tuple[float, object, str]]:
        """(every seconds, work, name) of each loop."""
        settings = self.host.config.host
        jobs = [(settings.poll_seconds, lambda: self.feed.sync(), "poll"),
                (settings.sweep_minutes * 60, self.host.sweep, "sweep"),
                (3600, lambda: self.feed.renew_watch(self.topic), "watch renewal")]
        return jobs + [(every, job, name) for every, name, job in self.host.background_jobs()]

    def start(self) -> None:
        for every, work, name in self.jobs():
            threading.Thread(target=self._loop, args=(every, work, name), name=name, daemon=True).start()

    def stop(self) -> None:
        self.stopped.set()


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

    feed = ChangeFeed(host)
    app = create_app(host, feed)
    # Binds now: OSError "Address already in use" before any work.
    server = create_server(app, host=bind, port=port, threads=SERVER_THREADS, ident="labeldesk",
                           max_request_body_size=MAX_REQUEST_BYTES, channel_timeout=60)
    topic = host.config.mailbox.watch_topic
    scheduler = Scheduler(host, feed, topic=topic)

    def first_run() -> None:
        if topic:
            try:
                feed.renew_watch(topic)
            except Exception:
                log.exception("users.watch failed; polling continues")
        try:
            feed.sync()
        except Exception:
            log.exception("initial sync failed; polling will retry")

    def terminate(signum, frame):  # platforms stop services with SIGTERM: shut down as on Ctrl-C
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate) if threading.current_thread() is threading.main_thread() else None
    threading.Thread(target=first_run, name="first sync", daemon=True).start()
    scheduler.start()
    (announce or log.info)(f"Labeldesk for {host.config.mailbox.address} on http://{bind}:{server.effective_port} "
                           f"(polling every {host.config.host.poll_seconds}s; Ctrl-C stops)")
    try:
        server.run()  # returns on Ctrl-C or SIGTERM, once waitress has stopped its workers
    finally:
        scheduler.stop()
        server.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
