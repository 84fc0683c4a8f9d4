"""When each enabled plugin was switched on, kept in ``<state_dir>/plugins-on.json``.

Admins switch plugins on one by one, on a mailbox with weeks of history. A help desk applies a new policy to what
happens from then on (Zendesk applies a new SLA policy to a ticket only at its next update), so a plugin may ask
``Config.switched_on_at(name)`` and leave alone what was over before it was on: the SLA plugin labels a deadline
missed weeks ago but escalates nobody for it. Gmail dates no label, so the host keeps the time itself: the first
run (sync, sweep, `serve`) that finds a plugin enabled records it; a run that finds it off forgets it, so switching
it on again starts a new period. Plugins enabled when the record is first written (a new install, or an upgrade
from a version that kept none) count as on from the start (``None``): they act as they did before. Only a run that
acts writes the record: a dry run, a report or a search reads what a run would go by and keeps it to itself, so a
preview with a plugin enabled (which ``serve``, recording once at start, would never take back) does not switch
it on days before the admin does.

A state folder lost (a disk replaced, a container recreated without its volume) or a record damaged is no first
run: the mailbox shows Labeldesk worked it (its labels, its mail in Sent), and counting its plugins on from the
start would have the SLA plugin escalate the backlog it was switched on over, weeks later. So when no record can
be read and none was expected to be missing — the record is damaged, or the folder has no cursor either (a new
folder, not an upgrade) — the enabled plugins count as switched on when Labeldesk last sent mail from the mailbox
(``worked_since``): what the earlier host saw stays as it left it, what happened after (while the host was down)
is handled. Found none (a first install), they are on from the start.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)
FILE = "plugins-on.json"
CURSOR = "cursor.json"  # beside a record that is missing, an upgrade from a version that kept none


def record(state_dir: Path | str, enabled: tuple[str, ...], now: datetime, save: bool = True,
           worked_since: Callable[[], datetime | None] | None = None) -> dict[str, datetime | None]:
    """The switch-on time of each plugin in ``enabled`` (``None``: on from the start), written when it changed and
    ``save`` (else see :func:`keep`). A file that cannot be read or written costs no run: logged, and the times are
    kept in memory. ``worked_since`` says when Labeldesk last sent mail from the mailbox (None: never); it is asked
    only when the record is damaged, or missing from a folder without a cursor (see the module docstring), and
    what it raises (Gmail unreachable) is raised."""
    path = Path(state_dir) / FILE
    known = _load(path)
    if known is None and worked_since is not None and lost(state_dir):
        since = worked_since()
        if since is not None:
            since = min(since, now)
            log.warning("%s is %s, and Labeldesk has worked this mailbox before (its newest mail in Sent is of %s): "
                        "the enabled plugins count as switched on then, and what was over before is left as it was",
                        path, "damaged" if path.exists() else "missing", since.isoformat())
            times = {name: since for name in enabled}
            if save:
                _keep(path, times, known)
            return times
    if known is None:  # the first record: whatever is on now was on before anything was kept
        times = {name: None for name in enabled}
    else:
        times = {name: _not_after(name, known[name], now) if name in known else now for name in enabled}
    if save:
        _keep(path, times, known)
    return times


def lost(state_dir: Path | str) -> bool:
    """Whether the record is damaged, or missing from a folder that has no cursor either (a new folder: a lost one
    or a first install, which only the mailbox tells apart); not when it is missing beside a cursor (an upgrade from
    a version that kept none: on from the start, as decided)."""
    path = Path(state_dir) / FILE
    if not path.exists():
        return not (path.parent / CURSOR).exists()
    return _load(path, quiet=True) is None


def _not_after(name: str, when: datetime | None, now: datetime) -> datetime | None:
    """A recorded time later than now was written while the clock ran ahead (then set right): kept, every deadline
    until then would count as missed before the plugin was on. It counts as now."""
    if when is None or when <= now:
        return when
    log.warning("plugin %s was recorded as switched on at %s, later than now (the clock was ahead then?): it counts "
                "as switched on now, %s", name, when.isoformat(), now.isoformat())
    return now


def keep(state_dir: Path | str, times: dict[str, datetime | None]) -> None:
    """Write ``times`` (from ``record(..., save=False)``) as what later runs go by, when the file says otherwise."""
    path = Path(state_dir) / FILE
    _keep(path, times, _load(path, quiet=True))


def _keep(path: Path, times: dict[str, datetime | None], known: dict[str, datetime | None] | None) -> None:
    if known != times:
        for name, when in times.items():
            if known is not None and name not in known and when is not None:
                log.info("plugin %s switched on at %s: what was over before is left as it was", name, when.isoformat())
        _save(path, times)


def _load(path: Path, quiet: bool = False) -> dict[str, datetime | None] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["switched_on"]
        return {str(name): None if when is None else _aware(datetime.fromisoformat(when)) for name, when in data.items()}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        if not quiet:
            log.warning("%s cannot be read (%s): every enabled plugin counts as on from the start", path,
                        type(exc).__name__)
        return None


def _aware(when: datetime) -> datetime:
    """A time as the host writes it (with its offset); one without (the file edited by hand) is read as UTC, so it
    can be compared with deadlines at all."""
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def _save(path: Path, times: dict[str, datetime | None]) -> None:
    from .files import write_private_json

    try:
        write_private_json(path, {"switched_on": {name: None if when is None else when.isoformat()
                                                  for name, when in sorted(times.items())}})
    except OSError as exc:
        log.warning("%s cannot be written (%s): when plugins were switched on is kept until this process ends",
                    path, exc.strerror or exc)
