"""Private state files: JSON written atomically with mode 0600 (cursor, knowledge-base caches); the admin's
files rewritten atomically with their own mode (``labeldesk.toml``); and the locks that keep two processes from
doing the same work on one mailbox at once."""
from __future__ import annotations

import json
import logging
import os
import re
import stat
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import ConfigError, LabeldeskError

log = logging.getLogger(__name__)
LOCK_WAIT_SECONDS = 60.0  # how long a sync or sweep waits for another process's run of the same work
# The temporary files write_private_json and replace_file make: ".<name>.<mkstemp's 8 characters>.tmp".
OUR_TEMP_FILE = re.compile(r"\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.tmp")
# A temporary file older than this was left by a writer killed between its write and its rename: a live writer
# renames its file within the second (an fsync of a few MB at most), so one this old is nobody's any more.
STALE_TEMP_SECONDS = 300.0


class Busy(LabeldeskError):
    """Another Labeldesk process kept doing the same work on this mailbox for too long."""


@contextmanager
def exclusive(state_dir: Path | str, work: str, wait: float | None = None):
    """Hold ``<state_dir>/<work>.lock`` while the block runs: a second process (``labeldesk serve`` and a
    cron ``labeldesk sync``, or a cron run that overlaps the one before) waits its turn instead of
    acknowledging the same new threads at the same moment. The operating system releases the lock when
    a process ends, however it ends, so a crash leaves nothing to clean up."""
    from filelock import FileLock, Timeout

    wait = LOCK_WAIT_SECONDS if wait is None else wait
    lock = FileLock(Path(state_dir) / f"{work}.lock", mode=0o600)
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        raise Busy(f"another Labeldesk process has been running {work} on {state_dir} for over {wait:.0f} s "
                   f"(`labeldesk serve`, or an earlier {work} still busy); nothing was done now: that process "
                   f"handles the same mail. Run one `serve` per mailbox, or space cron runs further apart.") from None
    except OSError as exc:  # a read-only or full disk: a configuration matter, not a bug to trace back
        raise unwritable(state_dir, exc) from None
    try:
        yield
    finally:
        lock.release()


def check_writable(state_dir: Path | str) -> None:
    """Raise :class:`ConfigError` unless a file can be made in ``state_dir``: ``serve`` checks before it binds
    its port, so a read-only or full disk stops it at start instead of failing every poll."""
    try:
        with tempfile.TemporaryFile(dir=state_dir):
            pass
    except OSError as exc:
        raise unwritable(state_dir, exc) from None


def unwritable(state_dir: Path | str, exc: OSError) -> ConfigError:
    return ConfigError("host.state_dir", f"{state_dir} cannot be written ({exc.strerror or exc}): free space, make "
                                         "the folder writable for the host's user, or point state_dir elsewhere")


def remove_stale_temp_files(state_dir: Path | str, now: float | None = None) -> list[str]:
    """Delete the temporary files a process killed while writing a state file left in ``state_dir`` (the write
    never reached its rename, so the real file is whole). Only regular files named as ours and older than
    ``STALE_TEMP_SECONDS``: another process's write in progress is not touched, nor a link, nor anyone else's
    file. Returns the names removed; a file that cannot be removed is logged and left."""
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(os.scandir(state_dir))
    except OSError:
        return removed
    for entry in entries:
        if not OUR_TEMP_FILE.fullmatch(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode) or now - info.st_mtime < STALE_TEMP_SECONDS:
                continue
            os.unlink(entry.path)
        except FileNotFoundError:  # another process cleaned it up first
            continue
        except OSError as exc:
            log.warning("%s was left by a write that never finished and cannot be removed (%s)", entry.path,
                        exc.strerror or exc)
            continue
        removed.append(entry.name)
    if removed:
        log.info("removed %d temporary file(s) left by a write that never finished in %s: %s", len(removed),
                 state_dir, ", ".join(sorted(removed)))
    return removed


def write_private_json(path: Path | str, data, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` as JSON, readable by the owner only, never half-written.

    The temporary file is unique, so two writers (a background rebuild and a CLI command) cannot
    interleave; the last complete write wins. ``durable``: the data reach the disk before the rename
    and the rename before returning, so a power cut leaves the old file or the new one, never an
    empty one (the cursor and what was sent decide what is sent again).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        _sync_directory(path.parent)


def replace_file(path: Path | str, data: bytes) -> None:
    """Replace the admin's file ``path`` with ``data`` as an editor saves: a temporary file in the same folder,
    on disk before it is renamed over the old one, so a full disk or a crash halfway leaves the old file whole.

    The new file keeps the old one's mode (and owner and group where this user may set them); when ``path`` is
    a symbolic link, the file it points to is replaced and the link stays."""
    path = Path(os.path.realpath(path))
    try:
        old = path.stat()
    except FileNotFoundError:
        old = None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if old is not None:
            os.chmod(tmp, stat.S_IMODE(old.st_mode))
            _same_owner(tmp, old)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)


def _same_owner(tmp: str, old: os.stat_result) -> None:
    """Give ``tmp`` the old file's owner and group, as far as this user may (root may; others keep their own)."""
    if not hasattr(os, "chown"):
        return
    try:
        os.chown(tmp, old.st_uid, old.st_gid)
    except OSError:
        try:
            os.chown(tmp, -1, old.st_gid)  # a group this user belongs to
        except OSError:
            pass


def _sync_directory(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
