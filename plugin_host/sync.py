"""The change feed: from Gmail history (push-triggered or polled) to processed tickets.

The cursor (last fully applied historyId, and the mailbox it belongs to) is the only state the host
keeps besides config and credentials. It moves only after every thread of a batch was processed; a
failure leaves it where it was, so the next run repeats the batch — harmless, because every action is
idempotent. An expired cursor (history.list answers 404), a lost or damaged one, or another mailbox's
costs a full sync of recent mail.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from .errors import ConfigError, GmailError, LabeldeskError, PluginError
from .files import Busy, exclusive, write_private_json
from .full_sync import FullSync, shape
from .health import SyncHealth, public_reason
from .host import Host, Processed
from .refusals import level

log = logging.getLogger(__name__)
WATCH_RENEW_SECONDS = 24 * 3600
WATCH_LIFETIME_SECONDS = 7 * 86400  # a watch Gmail was not told the end of ends 7 days after users.watch
IGNORED_LABELS = {"DRAFT", "SPAM", "TRASH", "CHAT"}  # CHAT: chat history kept in Gmail, no mail (tickets.py)
BINS = {"SPAM", "TRASH"}  # taken off a message, it comes back into its ticket
STRIKES = 3  # a thread that fails this many syncs in a row for a reason that is not Gmail's is set aside
PREFETCH = 50  # threads read ahead in one HTTP batch (Gmail's recommended batch size)
THREAD_STATUSES = {400, 404}  # Gmail refusing one thread's request (bad address, label name; gone): its own problem
LOGGED_FROM = 20  # a sync of this many threads or more logs its progress when nobody watches a progress bar
NOT_TRIED = "not tried: "  # how a thread a sync did not reach is reported (after a refusal, or while stopping)


@dataclass
class Cursor:
    """The change-feed cursor stored in ``<state>/cursor.json`` (mode 0600)."""

    path: Path
    history_id: str | None = None
    watch_renewed_at: float = 0.0
    strikes: dict = field(default_factory=dict)  # thread id → syncs in a row it failed (not for Gmail's reasons)
    mailbox: str = ""  # whose history ids these are
    sent: list = field(default_factory=list)  # ids of messages we sent after history_id: the next process skips them
    refused: list = field(default_factory=list)  # threads Gmail refused last time: tried after the others
    watch_expires_at: float = 0.0  # when Gmail stops pushing unless the watch is renewed (users.watch expiration)
    watch_topic: str = ""  # the topic the last renewal watched ("": not known, a cursor of an older version)

    @classmethod
    def load(cls, state_dir: Path, mailbox: str = "") -> "Cursor":
        """The saved cursor; a missing or damaged file, or another mailbox's, gives an empty one (the next sync
        is a full sync)."""
        path = Path(state_dir) / "cursor.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path, mailbox=mailbox)
        except ValueError:  # not JSON (or not UTF-8)
            data = None
        except OSError as exc:
            raise ConfigError("host.state_dir", f"{path} cannot be read ({exc.strerror or exc}): remove it or point "
                                                "state_dir at another folder") from None
        if not isinstance(data, dict):
            log.warning("%s is damaged; the next sync is a full sync", path)
            return cls(path, mailbox=mailbox)
        if mailbox and data.get("mailbox") not in (None, "", mailbox):  # [mailbox] address changed, same state_dir
            log.warning("%s belongs to %s, not %s; the next sync is a full sync", path, data.get("mailbox"), mailbox)
            return cls(path, mailbox=mailbox)
        history_id = data.get("history_id")
        if history_id is not None and not (str(history_id).isascii() and str(history_id).isdigit()):
            log.warning("%s holds no history id (%r); the next sync is a full sync", path, history_id)
            history_id = None
        strikes = data.get("strikes") if isinstance(data.get("strikes"), dict) else {}
        strikes = {k: n for k, n in strikes.items() if type(n) is int and n > 0}  # a hand edit's "x" would raise later
        renewed = data.get("watch_renewed_at")
        renewed = float(renewed) if isinstance(renewed, (int, float)) and not isinstance(renewed, bool) else 0.0
        sent = [i for i in data["sent"] if isinstance(i, str)] if isinstance(data.get("sent"), list) else []
        refused = [i for i in data["refused"] if isinstance(i, str)] if isinstance(data.get("refused"), list) else []
        expires = data.get("watch_expires_at")
        expires = float(expires) if isinstance(expires, (int, float)) and not isinstance(expires, bool) else 0.0
        topic = data.get("watch_topic") if isinstance(data.get("watch_topic"), str) else ""
        return cls(path, str(history_id) if history_id is not None else None, renewed, strikes, mailbox, sent,
                   refused, expires, topic)

    def save(self) -> None:
        try:
            write_private_json(self.path, {"mailbox": self.mailbox, "history_id": self.history_id,
                                           "watch_renewed_at": self.watch_renewed_at,
                                           "watch_expires_at": self.watch_expires_at,
                                           "watch_topic": self.watch_topic,
                                           "strikes": dict(self.strikes),  # a copy: renewal saves beside a sync
                                           "sent": list(self.sent), "refused": list(self.refused)})
        except OSError as exc:
            raise ConfigError("host.state_dir", f"{self.path} cannot be written ({exc.strerror or exc}): make the "
                                                "folder writable or point state_dir elsewhere") from None


@dataclass
class SyncReport:
    full: bool
    threads: list[Processed] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    set_aside: list[tuple[str, str]] = field(default_factory=list)  # failed STRIKES times: logged, skipped
    partly: list[Processed] = field(default_factory=list)  # failed, but the other plugins' actions were carried out
    history_id: str | None = None
    continued: tuple[int, int] | None = None  # a full sync stopped before: (threads done then, threads listed)

    @property
    def ok(self) -> bool:
        return not self.failed


class ChangeFeed:
    """Processes a mailbox's changes since the cursor; one instance per mailbox."""

    def __init__(self, host: Host, progress: Callable[[int, int], None] | None = None):
        self.host = host
        self.cursor = Cursor.load(host.state_dir, host.config.mailbox.address)
        host.executor.sent_ids.update(self.cursor.sent)  # what the last process sent is no news to this one
        self._sent_before: set[str] = set()  # what the executor had sent when the running sync began
        self.lock = threading.Lock()
        self.health = SyncHealth(poll_seconds=host.config.host.poll_seconds)
        self.progress = progress
        self._queue_guard = threading.Lock()
        self._queue = threading.Lock()  # held by the one background sync that runs or waits its turn
        self._waiting = threading.Event()  # a background sync is queued and has not started yet
        self._asked_for: int | None = 0  # the newest history id pushes asked the waiting sync for (0, None: sync)
        self._rounds_left_for_later = 0  # syncs in a row that left threads for the next one (see _left_for_later)

    def covers(self, history_id: int) -> bool:
        """Whether the cursor already reaches ``history_id`` (a push's): every change up to it was processed."""
        cursor = self.cursor.history_id
        return cursor is not None and int(cursor) >= history_id

    def sync_soon(self, history_id: int | None = None) -> bool:
        """Sync in the background (after a push telling of ``history_id``). A burst of pushes costs one running
        sync and at most one waiting behind it, not one each: the waiting one will see every change, and reads no
        history when the sync before it already reached every id it was asked for (Pub/Sub's backlog after the
        host was down, or notices delivered late and out of order). False: none was started."""
        with self._queue_guard:
            if history_id is not None and self.covers(history_id):
                return False
            asked = self._asked_for
            self._asked_for = None if history_id is None or asked is None else max(asked, history_id)
            if self._waiting.is_set():
                return False
            self._waiting.set()
        threading.Thread(target=self._background_sync, name="sync after push", daemon=True).start()
        return True

    def _background_sync(self) -> None:
        with self._queue:
            with self._queue_guard:
                self._waiting.clear()  # from here on a new push must queue another sync: this one may miss it
                asked, self._asked_for = self._asked_for, 0
            if asked and self.covers(asked):  # the sync before this one passed every push it waited for
                log.debug("sync after push skipped: the cursor (%s) already reaches history id %s",
                          self.cursor.history_id, asked)
                return
            try:
                self.sync()
            except Busy as exc:  # another process is syncing the same mail: nothing is wrong here
                log.warning("background sync after push skipped: %s", exc)
            except LabeldeskError as exc:  # Gmail down or out of quota, a full state folder: the message says it all
                log.log(level(exc), "background sync after push failed: %s; the next push or poll retries", exc)
            except Exception:  # a bug: its traceback is what a developer needs; the next push or poll retries
                log.exception("background sync after push failed")

    def sync(self, full: bool = False, dry_run: bool = False, restart: bool = False) -> SyncReport:
        """Process the changes since the cursor (all recent mail when ``full`` or without a cursor); the
        outcome is recorded in ``health`` for ``/readyz``. A full sync a run stopped half-way goes on where it
        stopped, whatever this sync was asked to do, unless ``restart`` (a full sync from the start)."""
        with self.lock:
            self.health.began()
            try:
                report = self._sync(full or restart, dry_run, restart)
            except Busy:  # another process syncs this mailbox: no news about Gmail or this host
                self.health.skipped()
                raise
            except Exception as exc:
                self.health.ended(public_reason(exc))
                raise
            self.health.ended(_failure_summary(report))
            return report

    def _sync(self, full: bool, dry_run: bool, restart: bool = False) -> SyncReport:
        with exclusive(self.host.state_dir, "sync"):
            self.host.keep_switch_ons(dry_run)
            self._reload_cursor()
            self._sent_before = set(self.host.executor.sent_ids)
            lost = self._labels_lost(dry_run)  # Awaiting reply deleted: every open ticket is labelled again
            full = lost or full
            stopped, over = (None, False) if restart or lost else self._stopped_full_sync(dry_run)
            if stopped is not None:
                return self._full_sync(dry_run, stopped)
            if full or over or not self.cursor.history_id:
                return self._full_sync(dry_run)
            try:
                changes, latest = self._changes_since(self.cursor.history_id)
            except GmailError as exc:
                if getattr(exc, "status", None) == 404 or exc.__class__.__name__ == "HistoryExpired":
                    log.warning("history id %s expired: running a full sync", self.cursor.history_id)
                    return self._full_sync(dry_run)
                raise
            report = SyncReport(full=False, history_id=latest)
            self._apply(changes, report, dry_run)
            self._advance(report, latest, dry_run)
            return report

    def _labels_lost(self, dry_run: bool) -> bool:
        """Check Labeldesk's labels (renamed ones get their names back); True when ``Awaiting reply`` was
        deleted in Gmail, which took it off every open ticket: a full sync labels them again. The cursor is
        cleared first, so a full sync that fails is tried again by the next sync."""
        awaiting = self.host.executor.full_name("Awaiting reply")
        if awaiting not in self.host.executor.check_labels(dry_run):
            return False
        log.warning("%s was taken off every thread in Gmail: a full sync of the last %d days labels the open "
                    "tickets again", awaiting, self.host.config.mailbox.full_sync_days)
        if not dry_run:
            self.cursor.history_id = None
            self.cursor.save()
        return True

    def _reload_cursor(self) -> None:
        """The cursor as the last sync of any process left it: another process (a cron ``sync`` beside
        ``serve``) may have moved it, and what it sent is no news to this one."""
        self.cursor = Cursor.load(self.host.state_dir, self.host.config.mailbox.address)
        self.host.executor.sent_ids.update(self.cursor.sent)

    def _changes_since(self, start: str) -> tuple[dict[str, set[str] | None], str]:
        """thread id → ids of messages added since ``start`` (None: a thread with messages taken out of Spam or
        the Trash, judged from the thread alone as a full sync does), and the newest history id."""
        changes: dict[str, set[str] | None] = {}
        ours: dict[str, set[str]] = {}
        records, latest = self.host.client.list_history(start, history_types=["messageAdded", "labelRemoved"])
        restored = {t: None for record in records for t in restored_threads(record)}
        for record in records:
            for added in record.get("messagesAdded", []):
                message = added["message"]
                if IGNORED_LABELS & set(message.get("labelIds", [])):  # when Gmail says; tickets check again
                    continue  # drafts change nothing; spam, trash and chats are never tickets (no backscatter)
                if message["id"] in self.host.executor.sent_ids:
                    ours.setdefault(message["threadId"], set()).add(message["id"])
                    continue  # a thread whose only news is what we just sent changes nothing
                changes.setdefault(message["threadId"], set()).add(message["id"])
        for thread_id, sent in ours.items():
            if thread_id in changes:  # read it whole, our message included (a retry must see our acknowledgement)
                changes[thread_id] |= sent
        return {**changes, **restored}, latest

    def _full_sync(self, dry_run: bool, stopped: FullSync | None = None) -> SyncReport:
        """Every thread of recent mail, from the first or, ``stopped``, from where a run stopped. The cursor ends
        at the history id taken when it began, so mail that came meanwhile is read from history after it."""
        if stopped is None:
            marker = self._list_full_sync()
            if not dry_run:
                marker.save()
            report = SyncReport(full=True, history_id=marker.history_id)
        else:
            marker = stopped
            report = SyncReport(full=True, history_id=marker.history_id, continued=(marker.stopped_at, marker.listed))
            began = datetime.fromtimestamp(marker.began_at, timezone.utc).isoformat(timespec="minutes")
            log.warning("continuing a full sync stopped at thread %d of %d (begun %s at history id %s; `labeldesk "
                        "sync --restart` starts it over)", marker.stopped_at, marker.listed, began, marker.history_id)
        self._apply({t: None for t in marker.left}, report, dry_run, None if dry_run else marker)
        self._advance(report, marker.history_id, dry_run)
        if not dry_run and self.covers(int(marker.history_id)):  # done: the cursor is where it began
            marker.remove()
        return report

    def _list_full_sync(self) -> FullSync:
        """The threads of the last ``full_sync_days``, and the history id before them."""
        latest = self.host.client.profile()["historyId"]  # taken first, so nothing slips between
        days = self.host.config.mailbox.full_sync_days
        thread_ids: dict[str, None] = {}
        for ref in self.host.client.list_message_ids(q=f"{self.host.newer_than(days)} -in:chats"):
            thread_ids.setdefault(ref["threadId"], None)
        return FullSync.begin(self.host.state_dir, self.host.config.mailbox.address, latest, list(thread_ids),
                              shape(self.host.config), self.host.now().timestamp())

    def _stopped_full_sync(self, dry_run: bool) -> tuple[FullSync | None, bool]:
        """The full sync a run stopped half-way, when it can go on; one that cannot is said, and dropped, and
        whether a full sync starts over instead (True: the cursor, when a ``sync --full`` left one, is no reason to
        sync less than was asked)."""
        marker, why = FullSync.load(self.host.state_dir, self.host.config.mailbox.address)
        if marker is not None and self.covers(int(marker.history_id)):
            marker = None  # finished: killed before its file was removed (or an older version's full sync since)
        elif marker is not None:
            why = self._why_not_continued(marker)
            if not why:
                return marker, False
            why = f"the full sync stopped at thread {marker.stopped_at} of {marker.listed} cannot go on: {why}"
        if why:
            log.warning("%s; the full sync starts over", why)
        if not dry_run:
            (Path(self.host.state_dir) / "full-sync.json").unlink(missing_ok=True)
        return None, bool(why)

    def _why_not_continued(self, marker: FullSync) -> str:
        """"" when ``marker`` can go on, else why not."""
        now = shape(self.host.config)
        changed = [key for key in now if marker.settings.get(key) != now[key]]
        if changed:
            return f"{' and '.join(changed)} changed since it began"
        if not self.host.client.keeps_history(marker.history_id):
            return (f"Gmail no longer keeps the history since it began (history id {marker.history_id}), so mail "
                    f"of the time it was stopped could be missed")
        return ""

    def _apply(self, changes: dict, report: SyncReport, dry_run: bool, marker: FullSync | None = None) -> None:
        order = list(changes)
        progress = self.progress or ProgressLog(report.full)
        if report.continued:  # counted over the whole full sync, as the run before counted
            before, listed = report.continued
            progress = _offset(progress, before, listed)
        # Escalations check their task list once, not once per task; one warning for the alerts held back.
        with self.host.executor.tasks_read_once(), self.host.executor.alert_run("full sync" if report.full else "sync"):
            self._apply_in_order(order, changes, report, dry_run, progress, marker)

    def _apply_in_order(self, order: list[str], changes: dict, report: SyncReport, dry_run: bool, progress,
                        marker: FullSync | None = None) -> None:
        """Process ``order``; ``marker`` (a full sync's) learns each thread done, and is saved after each batch
        and when the run stops, so that the next run goes on from there."""
        # What failed before goes last: a thread Gmail refuses for itself alone cannot keep the others waiting.
        order = sorted(order, key=lambda t: t in self.cursor.refused)
        answered = False  # Gmail answered a thread of this sync: a refusal after that is the thread's own
        try:
            for done, thread_id in enumerate(order, 1):
                if self.host.stopping.is_set():  # SIGTERM: the cursor stays, the next process starts here
                    self._not_tried(order[done - 1:], "the host is stopping", report)
                    break
                if done % PREFETCH == 1:  # read the next batch as we go: memory holds one batch, progress moves
                    self._prefetch({t: changes[t] for t in order[done - 1:done - 1 + PREFETCH]})
                try:
                    report.threads.append(self.host.process_thread(thread_id, changes[thread_id], dry_run=dry_run))
                    self.cursor.strikes.pop(thread_id, None)
                    if thread_id in self.cursor.refused:
                        self.cursor.refused.remove(thread_id)
                    if marker is not None:
                        marker.done(thread_id)
                    answered = True
                except Exception as exc:  # one bad thread must not stop the batch; the cursor stays
                    if isinstance(exc, (GmailError, PluginError)):  # names the call and Gmail's answer, or the plugin
                        log.log(level(exc), "processing thread %s failed: %s", thread_id, exc)  # (traceback logged)
                    else:  # a parser or plugin bug: the traceback is what a developer needs
                        log.exception("processing thread %s failed", thread_id)
                    # Gmail's 5xx after it answered others is this thread's (quota and credentials never are; nor
                    # Google Tasks down: its errors are not ``unavailable``, and every escalation would strike out).
                    its_own = answered and getattr(exc, "unavailable", False) and getattr(exc, "status", 0) >= 500
                    if getattr(exc, "processed", None) is not None:  # a plugin broke; the others' actions went through
                        report.partly.append(exc.processed)
                    self._strike(thread_id, exc, report, dry_run, its_own=its_own)
                    if marker is not None and report.set_aside and report.set_aside[-1][0] == thread_id:
                        marker.done(thread_id)  # set aside: a person answers it
                    if getattr(exc, "unavailable", False):  # out of quota or down: the others would fail alike
                        self._not_tried(order[done:], exc, report)
                        break
                if marker is not None and done % PREFETCH == 0:
                    marker.save()  # a process killed from here on reads again the next batch at most
                progress(done, len(order))
            if marker is not None and marker.unsaved:  # not in ``finally``: a process killed never gets here
                marker.save()
        finally:
            self.host.drop_prefetched()  # what a stopped batch read ahead would be stale by the next sync

    def _prefetch(self, changes: dict) -> None:
        try:
            self.host.prefetch(changes)
        except Exception:  # prefetching is an optimisation: each thread is read on its own instead
            log.warning("batched prefetch failed; reading threads one by one", exc_info=True)

    def _not_tried(self, thread_ids: list[str], exc: Exception | str, report: SyncReport) -> None:
        """Gmail refused even after retries, or the host is stopping (``exc`` is then why): the rest of the batch
        waits for the next sync (the cursor stays)."""
        if isinstance(exc, str):
            log.warning("%s; %d thread(s) left for the next sync", exc, len(thread_ids))
            report.failed.extend((t, f"{NOT_TRIED}{exc}") for t in thread_ids)
            return
        if thread_ids:
            log.log(level(exc), "Gmail refused (%s); %d more thread(s) left for the next sync", exc, len(thread_ids))
        report.failed.extend((t, f"{NOT_TRIED}Gmail refused an earlier thread of this batch") for t in thread_ids)

    def _strike(self, thread_id: str, exc: Exception, report: SyncReport, dry_run: bool, its_own: bool = False) -> None:
        """A failure holds the cursor, so the thread is tried again. Gmail's failures (outages, quota, refused
        credentials) always do, and put the thread last in the next sync; any other (a message our parser cannot
        read, a request Gmail calls bad for this thread alone, or refuses after answering the threads before it:
        ``its_own``) sets the thread aside after STRIKES syncs in a row, so one poisoned thread cannot stop the
        mailbox for good."""
        detail = str(exc) if getattr(exc, "refusal", None) else f"{type(exc).__name__}: {exc}"[:300]  # a refusal whole
        mailbox_wide = isinstance(exc, GmailError) and (getattr(exc, "status", 0) not in THREAD_STATUSES
                                                        or getattr(exc, "refusal", None) is not None)  # no Gmail licence: 400
        refused = mailbox_wide and not dry_run
        if refused and thread_id not in self.cursor.refused:
            self.cursor.refused.append(thread_id)  # tried after the others next time, its own refusal or not
        if (mailbox_wide and not its_own) or dry_run:
            report.failed.append((thread_id, detail))  # no strike: Gmail may be down
            if refused:
                self.cursor.save()
            return
        self.cursor.strikes[thread_id] = self.cursor.strikes.get(thread_id, 0) + 1
        if self.cursor.strikes[thread_id] >= STRIKES:
            log.error("thread %s failed %d syncs in a row (%s); set aside — open it in Gmail and answer by hand",
                      thread_id, STRIKES, detail)
            self.cursor.strikes.pop(thread_id)
            if thread_id in self.cursor.refused:
                self.cursor.refused.remove(thread_id)
            report.set_aside.append((thread_id, detail))
        else:
            report.failed.append((thread_id, detail))
        self.cursor.save()

    def _advance(self, report: SyncReport, latest: str | None, dry_run: bool) -> None:
        """Move the cursor to ``latest`` and record what this sync sent (its history comes after ``latest``,
        and a new process — the next cron run — would otherwise read each answered thread again)."""
        sent = sorted(self.host.executor.sent_ids - self._sent_before)
        if report.continued:  # what the runs before it sent lies after ``latest`` too
            sent = sorted(set(sent) | set(self.cursor.sent))
        if dry_run or not report.ok or latest is None:
            if report.failed:
                self._left_for_later(report, dry_run)
            if sent and not dry_run:  # the cursor stays: what we sent lies after it, beside last run's
                self.cursor.sent = sorted(set(self.cursor.sent) | set(sent))
                self.cursor.save()
            return
        if self._rounds_left_for_later:  # the end of it is news too, as the scheduler says of its rounds
            log.warning("sync: the cursor moves again (to %s) after %d sync(s) that left threads for later",
                        latest, self._rounds_left_for_later)
            self._rounds_left_for_later = 0
        self.cursor.history_id = str(latest)
        self.cursor.sent = sent
        self.cursor.save()
        # What was sent before this sync has its history at or before ``latest``, which the cursor has now
        # passed: forget it, so a long-running ``serve`` does not remember every message it ever sent.
        self.host.executor.sent_ids.difference_update(self._sent_before)

    def _left_for_later(self, report: SyncReport, dry_run: bool) -> None:
        """Say that threads wait for the next sync: an ERROR the first time, then INFO until a sync moves the
        cursor again. A refusal that lasts (a token that may read but not send) meets every poll mid-batch; the
        refusal itself is said once (refusals.SaidOnce), and this summary of it must not repeat every minute."""
        if self.host.stopping.is_set():  # SIGTERM: expected, and the next process starts here
            severity, note = logging.WARNING, ""
        elif dry_run:
            severity, note = logging.ERROR, ""
        else:
            self._rounds_left_for_later += 1
            first = self._rounds_left_for_later == 1
            severity = logging.ERROR if first else logging.INFO
            note = "" if first else f" ({self._rounds_left_for_later} syncs in a row; said as an error at the first)"
        log.log(severity, "%d thread(s) failed or not tried; cursor stays at %s%s", len(report.failed),
                self.cursor.history_id, note)

    # -- watch -------------------------------------------------------------------------------

    def renew_watch(self, topic: str | None, force: bool = False) -> bool:
        """Re-issue ``users.watch`` at most daily (Google asks for at least weekly), and at once for another topic
        than the last renewal's (Gmail publishes to the old one until then). Without a topic, a watch still live
        from an earlier run is stopped."""
        if not topic:
            return self._stop_watch_left_on()
        # Under the sync lock, on the cursor as saved: another process's sync may have moved it since ours, and a
        # sync that loaded it before the renewal would save over the renewal's date.
        with self.lock, exclusive(self.host.state_dir, "sync"):
            self._reload_cursor()
            moved = self.cursor.watch_topic not in ("", topic)
            if not force and not moved and time.time() - self.cursor.watch_renewed_at < WATCH_RENEW_SECONDS:
                return False
            if moved:
                log.warning("push topic changed from %s to %s: watching the new one now", self.cursor.watch_topic,
                            topic)
            answer = self.host.client.watch(topic, label_ids=["INBOX"]) or {}
            self.cursor.watch_renewed_at, self.cursor.watch_topic = time.time(), topic
            expiration = str(answer.get("expiration", ""))  # epoch milliseconds, as a string
            self.cursor.watch_expires_at = int(expiration) / 1000 if expiration.isdigit() else 0.0
            self.cursor.save()
            return True

    def _stop_watch_left_on(self) -> bool:
        """Push switched off (``watch_topic`` removed): Gmail would go on publishing to the old topic until the
        watch expires, up to 7 days, each push refused here. ``users.stop`` once, when the cursor says a watch is
        live. Not while this host still takes pushes (``push_audience`` set): another host renews the watch."""
        if not self.cursor.watch_renewed_at or self.host.config.mailbox.push_audience:
            return False
        with self.lock, exclusive(self.host.state_dir, "sync"):
            self._reload_cursor()
            renewed, expires, topic = (self.cursor.watch_renewed_at, self.cursor.watch_expires_at,
                                       self.cursor.watch_topic)
            if not renewed:
                return False
            live = time.time() < (expires or renewed + WATCH_LIFETIME_SECONDS)
            if live:
                self.host.client.stop_watch()
                log.info("push switched off ([mailbox] watch_topic is empty): asked Gmail to stop publishing to %s",
                         topic or "the topic watched before")
            self.cursor.watch_renewed_at, self.cursor.watch_expires_at, self.cursor.watch_topic = 0.0, 0.0, ""
            self.cursor.save()
            return live


def watch_state(feed, topic: str | None, now: float | None = None) -> dict | None:
    """Push for ``/healthz``: when Gmail's watch ends unless renewed, and whether it already has (then only
    polling brings mail in, up to ``poll_seconds`` late). None without a push topic."""
    if not topic:
        return None
    expires = feed.cursor.watch_expires_at
    now = time.time() if now is None else now
    at = datetime.fromtimestamp(expires, timezone.utc).isoformat(timespec="seconds") if expires else None
    return {"watch_expires_at": at, "watch_expired": bool(expires) and expires <= now}


def restored_threads(record: dict) -> list[str]:
    """The threads of a history record's messages an agent took out of Spam ("Not spam") or the Trash: mail
    Labeldesk left alone while it was there, which is part of its ticket now. Other label changes (read,
    archived, labelled) are no news. A message that is still in Spam, the Trash or a draft is left out when Gmail
    gives its labels; the ticket checks again."""
    return [removed["message"]["threadId"] for removed in record.get("labelsRemoved", [])
            if BINS & set(removed.get("labelIds", []))
            and not IGNORED_LABELS & set(removed["message"].get("labelIds", []))]


def _offset(progress: Callable[[int, int], None], before: int, listed: int) -> Callable[[int, int], None]:
    """``progress`` of a continued full sync, counted from the ``before`` threads done by the runs before it."""
    return lambda done, total: progress(before + done, max(listed, before + total))


def _failure_summary(report: SyncReport) -> str:
    """"" for a sync that did all its work, else how many threads failed (for /readyz, which anyone may ask:
    which threads and why, words of customers' mail among it, are in the log)."""
    if report.ok:
        return ""
    return f"{len(report.failed)} thread(s) failed or not tried (the log names them and why)"


class ProgressLog:
    """Progress of a long sync in the log (``serve`` has no terminal): every ``every`` seconds and at the end.
    A full sync (first run, lost or expired cursor) logs as a warning, so an operator sees why the host is busy."""

    def __init__(self, full: bool, every: float = 10.0, clock: Callable[[], float] = time.monotonic):
        self.full, self.every, self.clock = full, every, clock
        self.last = clock()

    def __call__(self, done: int, total: int) -> None:
        if total < LOGGED_FROM or (done < total and self.clock() - self.last < self.every):
            return
        self.last = self.clock()
        log.log(logging.WARNING if self.full else logging.INFO, "%s sync: %d of %d threads processed",
                "full" if self.full else "incremental", done, total)
