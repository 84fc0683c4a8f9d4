"""The local mailbox: a Gmail API v1, Google Tasks v1 (and a little Drive v3 and Admin SDK Directory) stand-in\nLabeldesk runs, demos and tests on.

``LocalMailbox()`` bundles the state (:class:`~.store.Mailbox`), the WSGI app
(:class:`~.app.LocalMailboxApp`) and an in-process transport, so tests can write::

    local = LocalMailbox(seed="sample")
    gmail = local.gmail()          # googleapiclient Resource, same code path as real Gmail
    gmail.users().labels().list(userId="me").execute()
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

from .app import LocalMailboxApp
from .faults import FaultPlan
from .store import Mailbox
from .transport import InProcessHttp

IN_PROCESS_ROOT = "http://mailbox.local/"

__all__ = ["LocalMailbox", "Mailbox", "LocalMailboxApp", "FaultPlan", "InProcessHttp", "IN_PROCESS_ROOT"]


class LocalMailbox:
    """A mailbox, its app and an in-process transport, optionally persisted under ``data_dir``."""

    def __init__(self, email: str = "support@example.com", *, data_dir: str | Path | None = None,
                 seed: str | None = None, now: datetime | None = None, faults: FaultPlan | None = None,
                 rate_limit_units_per_s: float | None = None, history_retention: int = 100_000,
                 clock=time.time, quota_table: str = "new", per_user_limit: bool = False):
        box = Mailbox.load(data_dir, clock=clock) if data_dir else None
        fresh = box is None
        if box is None:
            box = Mailbox(email=email, history_retention=history_retention, clock=clock)
        box.history_retention = history_retention
        self.mailbox = box
        self.app = LocalMailboxApp(box, data_dir=str(data_dir) if data_dir else None,
                                   faults=faults or FaultPlan(),
                                   rate_limit_units_per_s=rate_limit_units_per_s, quota_table=quota_table,
                                   per_user_limit=per_user_limit)
        self.http = InProcessHttp(self.app)
        self.root = IN_PROCESS_ROOT
        if seed and fresh:
            self.seed(seed, now=now)

    def seed(self, name: str, now: datetime | None = None) -> int:
        """Load a named seed (``sample``: the sample support inbox); returns messages added."""
        if name != "sample":
            raise ValueError(f"unknown seed {name!r}; the only seed is 'sample'")
        from .sample import SAMPLE_ALIASES, sample_inbox

        now = now or datetime.now(timezone.utc)
        for alias in SAMPLE_ALIASES:
            self.mailbox.add_send_as(alias)
        self._seed_directory()
        count = 0
        threads: dict[str, str] = {}
        for seed in sample_inbox(now, support=self.mailbox.email):
            message = self.mailbox.add_message(seed.raw, list(seed.label_ids),
                                               thread_id=threads.get(seed.thread_key),
                                               internal_date=int(seed.received_at.timestamp() * 1000))
            threads.setdefault(seed.thread_key, message.thread_id)
            count += 1
        self.app.persist()
        return count

    def _seed_directory(self) -> None:
        """The sample team in the Workspace directory stand-in, so that ``labeldesk agents sync --dry-run`` against
        the sample mailbox shows what it adds and leaves out: the three sample agents in ``/Support``, the support
        mailbox itself and a former agent, suspended."""
        from .sample import AGENTS

        for email, agent in AGENTS.items():
            self.add_directory_user(email, agent["first_name"], agent["last_name"], agent["title"],
                                    orgUnitPath="/Support")
        self.add_directory_user(self.mailbox.email, "Support", "Team", orgUnitPath="/")
        self.add_directory_user("olga.nowak@example.com", "Olga", "Nowak", "Support Engineer", orgUnitPath="/Support",
                                suspended=True)

    def gmail(self):
        """A googleapiclient Gmail v1 resource talking to this mailbox in-process."""
        from googleapiclient.discovery import build

        return build("gmail", "v1", http=self.http, static_discovery=True,
                     client_options={"api_endpoint": self.root})

    def drive(self):
        """A googleapiclient Drive v3 resource talking to this mailbox in-process."""
        from googleapiclient.discovery import build

        return build("drive", "v3", http=self.http, static_discovery=True,
                     client_options={"api_endpoint": self.root + "drive/v3/"})

    def add_folder(self, name: str, parent: str | None = None) -> str:
        """A Drive folder (for help-article Docs); returns its id."""
        return self._add_drive_file(name, "application/vnd.google-apps.folder", parent)

    def add_document(self, name: str, text: str, folder: str | None = None, modified: datetime | None = None) -> str:
        """A Google Doc with ``text`` (Markdown headings allowed) in ``folder``; returns its id."""
        return self._add_drive_file(name, "application/vnd.google-apps.document", folder, text, modified)

    def add_shortcut(self, name: str, target: str, folder: str | None = None) -> str:
        """A Drive shortcut in ``folder`` to the file ``target``; returns its id."""
        file_id = self._add_drive_file(name, "application/vnd.google-apps.shortcut", folder)
        shortcut = self.mailbox.drive_files[file_id]
        shortcut["shortcutDetails"] = {"targetId": target,
                                       "targetMimeType": self.mailbox.drive_files[target]["mimeType"]}
        shortcut["webViewLink"] = self.mailbox.drive_files[target]["webViewLink"]
        self.app.persist()
        return file_id

    def add_drive_file(self, name: str, mime_type: str, folder: str | None = None) -> str:
        """A file that is not a Google Doc (a PDF, a Word file) in ``folder``; returns its id."""
        return self._add_drive_file(name, mime_type, folder)

    def update_document(self, file_id: str, text: str, modified: datetime | None = None) -> None:
        file = self.mailbox.drive_files[file_id]
        file["content"] = text
        file["modifiedTime"] = _rfc3339(modified)
        self.app.persist()

    def _add_drive_file(self, name, mime, parent, text="", modified=None) -> str:
        file_id = "1" + self.mailbox.new_task_id().replace("-", "x").replace("_", "y") + "Doc"
        self.mailbox.drive_files[file_id] = {
            "id": file_id, "name": name, "mimeType": mime, "parents": [parent] if parent else ["root"],
            "trashed": False, "modifiedTime": _rfc3339(modified), "content": text,
            "webViewLink": f"https://docs.google.com/document/d/{file_id}/edit" if text or "document" in mime
            else f"https://drive.google.com/drive/folders/{file_id}" if "folder" in mime
            else f"https://drive.google.com/file/d/{file_id}/view"}
        self.app.persist()
        return file_id

    def add_directory_user(self, email: str, given: str | None, family: str | None, title: str | None = None,
                           **extra) -> dict:
        """A user of the Workspace directory (Admin SDK ``users.list``): ``extra`` sets ``orgUnitPath``,
        ``suspended``, ``archived``, ``aliases``, ``isMailboxSetup`` and the other ``User`` fields."""
        from .directory_api import new_user

        user = new_user(len(self.mailbox.directory_users) + 1, email, given, family, title=title, **extra)
        self.mailbox.directory_users.append(user)
        self.app.persist()
        return user

    def directory(self):
        """A googleapiclient Admin SDK Directory v1 resource talking to this mailbox in-process."""
        from googleapiclient.discovery import build

        return build("admin", "directory_v1", http=self.http, static_discovery=True,
                     client_options={"api_endpoint": self.root})

    def tasks(self):
        """A googleapiclient Tasks v1 resource talking to this mailbox in-process."""
        from googleapiclient.discovery import build

        return build("tasks", "v1", http=self.http, static_discovery=True,
                     client_options={"api_endpoint": self.root})


def _rfc3339(moment: datetime | None) -> str:
    moment = moment or datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def serve(local: LocalMailbox, host: str = "127.0.0.1", port: int = 8025, ready=None):
    """Serve the mailbox over HTTP until interrupted (threaded WSGI server). It has no authentication:
    bound to a loopback address it answers only requests addressed to this machine (no DNS rebinding)."""
    from werkzeug.serving import make_server

    from ..web import is_loopback, loopback_only

    server = make_server(host, port, loopback_only(local.app) if is_loopback(host) else local.app, threaded=True)
    if ready:
        ready(server)
    server.serve_forever()
