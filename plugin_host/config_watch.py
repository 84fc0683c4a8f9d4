"""Noticing that ``labeldesk.toml`` changed under a running ``serve``.

``serve`` reads its configuration once, as Flask apps and datasette do: plugins, their settings and the
Gmail client are built from it at start. An operator who edits the file expects the change to apply; the
host says in the log that a restart is needed, and whether the new file would start at all (settings, plugins,
credentials, the state folder), so a restart does not turn a working host into one that refuses to start.

Why not reload in place (README, "Configuration changes"): the feed, the sweep and add-on requests plan tickets
at once, each under the configuration it started with; a second Host would not share the executor's memory of
mail just sent nor the per-thread locks, so two could answer one thread; routes and loops are made at start.
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def fingerprint(path: Path | None) -> str | None:
    """A digest of the file's bytes (None when there is no file to read)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path else None
    except OSError:
        return None


class ConfigWatch:
    """Compares the configuration file with the one ``serve`` started from; logs each new version once."""

    def __init__(self, path: Path | None):
        self.path = Path(path) if path else None
        self.started_from = self.seen = fingerprint(self.path)

    @property
    def changed(self) -> bool:
        return self.seen != self.started_from

    def check(self) -> bool:
        """True (and a warning in the log) the first time a new version of the file is seen."""
        current = fingerprint(self.path)
        if self.path is None or current is None or current == self.seen:
            return False
        self.seen = current
        if current == self.started_from:
            log.warning("%s is back to the version serve started from", self.path)
            return True
        log.warning("%s changed; serve still runs on the version it started from: %s", self.path, self.verdict())
        return True

    def verdict(self) -> str:
        """What a restart would do with the file as it is now."""
        from .errors import LabeldeskError
        from .runtime import build_host

        from .auth import credentials_for
        from .config import load_config

        try:
            config = load_config(self.path)
            host = build_host(config, http=object())  # plugins and their settings as at start-up; no Gmail call
            credentials_for(config.mailbox, config.state_path)
            state_folder_would_start(host)
        except LabeldeskError as exc:
            return f"the new version has an error, fix it before restarting: {exc}"
        return "restart serve to apply it (e.g. `systemctl restart labeldesk`)"


def state_folder_would_start(host) -> None:
    """Raise what ``serve`` would say at start about the state folder of ``host``'s configuration (one every user
    can write, one it cannot write), without creating it: checking a new version changes nothing on disk."""
    from .files import check_writable

    path = host.config.state_path
    if path.exists():
        host.state_dir  # the mode checks of start-up; the folder exists, so nothing is made
        check_writable(path)
    else:  # start-up would make it: the nearest folder that exists must take it
        check_writable(next(parent for parent in path.parents if parent.exists()))
