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
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)
FILE = "plugins-on.json"


def record(state_dir: Path | str, enabled: tuple[str, ...], now: datetime,
           save: bool = True) -> dict[str, datetime | None]:
    """The switch-on time of each plugin in ``enabled`` (``None``: on from the start), written when it changed and
    ``save`` (else see :func:`keep`). A file that cannot be read or written costs no run: logged, and the times are
    kept in memory."""
    path = Path(state_dir) / FILE
    known = _load(path)
    if known is None:  # the first record: whatever is on now was on before anything was kept
        times = {name: None for name in enabled}
    else:
        times = {name: _not_after(name, known[name], now) if name in known else now for name in enabled}
    if save:
        _keep(path, times, known)
    return times


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
