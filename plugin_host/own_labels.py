"""Labeldesk's own labels, by id: what an agent renames, nests elsewhere, re-cases or deletes in Gmail's UI.

Labeldesk finds its labels by name (its searches say ``label:helpdesk-awaiting-reply``, plugins read
``ticket.has_label("SLA/Breached")``), while Gmail keeps a label's id through a rename and takes a deleted label
off every message. So a rename made the sweep and the add-on's queue lose every open ticket, which still carried
the label under its new name, and a deletion took ``Awaiting reply`` off them; either way no deadline was kept.

The rule, as Hiver and Gmelius ask of their shared labels (rename them in the app, not in Gmail): the names are
the configuration's (``[mailbox] label_root``). At each sync Labeldesk lists the mailbox's labels (1 unit) and
compares them with the ids it made or adopted, kept in ``<state_dir>/labels.json`` (name → id):

- renamed, moved under another parent or spelt in another case: the name is given back (``labels.patch``), with a
  warning; the threads keep their labels, so nothing else changes;
- deleted, or renamed while another label took the name (a process that did not know the id made it again):
  the id is no longer Labeldesk's. What the label recorded is lost; when that is ``Awaiting reply``, by which
  the sweep and the queue find open tickets, the sync is a full sync, which labels the open ones again.
"""
from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from .files import write_private_json

log = logging.getLogger(__name__)
FILE = "labels.json"


class OwnLabels:
    """The ids of the labels Labeldesk made or adopted, by the name Labeldesk gives each."""

    def __init__(self, state_dir: Path, root: str):
        self.path = Path(state_dir) / FILE
        self.root = root
        self._lock = threading.Lock()
        self.ids: dict[str, str] = self._load()

    def _load(self, quiet: bool = False) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            if not quiet:  # said at start; the next save writes it anew
                log.warning("%s cannot be read (%s); labels renamed in Gmail before now are not recognised", self.path, exc)
            return {}
        return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)} \
            if isinstance(data, dict) else {}

    def is_ours(self, name: str) -> bool:
        """Whether ``name`` is under Labeldesk's root (or is the root): a label Labeldesk names."""
        return bool(self.root) and (name == self.root or name.startswith(self.root + "/"))

    def know(self, name: str, label_id: str) -> None:
        """Remember that ``name`` is Labeldesk's label ``label_id`` (made, found or adopted)."""
        if not self.is_ours(name) or self.ids.get(name) == label_id:
            return
        with self._lock:
            self.ids = self._latest()
            self.ids[name] = label_id
            self._save()

    def forget(self, name: str) -> None:
        """A label Labeldesk deleted itself (a plugin switched off): no longer one to look after."""
        with self._lock:
            self.ids = self._latest()
            if self.ids.pop(name, None) is not None:
                self._save()

    def _latest(self) -> dict[str, str]:
        """The ids as the state folder holds them now: another process (cron's sync beside ``serve``) may have
        learnt a label made again since this one read them; this process's own when the file is gone or damaged."""
        return self._load(quiet=True) or dict(self.ids)

    def _save(self) -> None:
        try:
            write_private_json(self.path, dict(sorted(self.ids.items())), durable=False)
        except OSError as exc:  # a cache of ids: without it a rename before a restart is not recognised
            log.warning("%s cannot be written (%s)", self.path, exc)

    def check(self, listed: list[dict], rename, dry_run: bool = False) -> list[str]:
        """Compare Gmail's labels (``labels.list``) with the ids Labeldesk knows: give renamed ones their names
        back with ``rename(label_id, name)`` and return the names whose threads lost them (deleted, or their id
        given up). The first run (no ``labels.json``: a new install or an upgrade) takes the labels under the
        root as they are."""
        by_id = {l["id"]: l["name"] for l in listed}
        by_name = {l["name"].casefold(): l["id"] for l in listed}
        lost: list[str] = []
        with self._lock:
            self.ids = self._latest()
            if not self.ids:
                self.ids = {name: i for i, name in by_id.items() if self.is_ours(name)}
                if self.ids and not dry_run:
                    self._save()
                return lost
            before = dict(self.ids)
            for name, label_id in sorted(before.items(), key=lambda item: item[0].count("/")):  # parents first
                now = by_id.get(label_id)
                holder = by_name.get(name.casefold())
                if now == name:
                    continue
                if now is not None and holder in (None, label_id):
                    log.warning("label %s was renamed %s in Gmail; %s (its name is Labeldesk's: set [mailbox] "
                                "label_root to change the names)", name, now,
                                "it would be renamed back (dry run)" if dry_run else "renamed back")
                    if not dry_run:
                        rename(label_id, name)
                    continue
                lost.append(name)
                if now is None:
                    log.warning("label %s was deleted in Gmail: the threads that had it lost it", name)
                else:
                    log.warning("label %s was renamed %s in Gmail while another label took its name: %s is the "
                                "agents' own label now, and its threads lost %s", name, now, now, name)
                if holder is not None:
                    self.ids[name] = holder
                else:
                    self.ids.pop(name)
            if self.ids != before and not dry_run:
                self._save()
            elif dry_run:
                self.ids = before
        return lost
