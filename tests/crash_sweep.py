"""Crash injection at every Gmail call of a write path: "nothing is lost or sent twice", checked call by call.

An operation (a sync of new customer mail, an SLA sweep, an add-on button press, a push) runs first without
faults, counted: H HTTP requests (what a dying process can be caught in; a batch is one) and A Gmail/Tasks API
calls (what Gmail can fail one by one; a batch holds several). Then, on a fresh copy of the same world, for every
N it runs again with the Nth one broken, in each of the ways a client meets in production:

``killed_before``  the process dies as it makes HTTP request N (kill -9, OOM, a deploy): the request never leaves,
                   nothing after it runs; the next process starts from the state folder.
``killed_after``   the process dies after request N reached Google and was carried out, before the answer came.
``lost``           request N is carried out but its answer is lost (a timeout): the client sees ``TimeoutError``
                   and the same process goes on (its retry).
``error``          API call N answers 500 (a backendError); the same process goes on.
``outage``         API call N and every call after it answer 503 until the operation ends (Gmail down); the
                   process lives on and the next run finds Gmail back.

Then it does what ``serve`` does next — the next sync or sweep, or the agent pressing the button again — and
compares the mailbox with the faultless run followed by the same next step: the same messages sent (each
acknowledgement, alert email once), the same drafts and tasks (none twice), the same labels on every thread,
state files in the state folder that still parse. :func:`sweep` returns one :class:`Broken` per crash point whose
result differs.
"""
from __future__ import annotations

from email.parser import BytesHeaderParser
import json
import shutil
import threading
from contextlib import contextmanager
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from plugin_host.config import load_config
from plugin_host.mailbox import LocalMailbox
from plugin_host.mailbox.errors import ApiError
from plugin_host.quota import TokenBucket
from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed

SUPPORT = "support@example.com"
LEAD = "lead@example.com"
AGENTS = {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"},
          "ivan.petrov@example.com": {"first_name": "Ivan", "last_name": "Petrov"}}
KILLS = ("killed_before", "killed_after")
HTTP_MODES = KILLS + ("lost",)
API_MODES = ("error", "outage")
MODES = HTTP_MODES + API_MODES
READS = {"get", "list", "getProfile"}  # API methods that change nothing
# A read carried out changes nothing at Google: its answer lost is retried like any failure, and a process killed
# after it is the process killed before its next call. These modes are swept only at requests that change something.
AFTER_THE_CALL = ("killed_after", "lost")
# What the suite sweeps: a single 500 is retried like a lost answer (``lost``) and is the first call of ``outage``.
SWEPT = HTTP_MODES + ("outage",)
# Labels that say the acknowledgement was decided (sent here, or suppressed because another ticket got it).
ACK_DECIDED = {"Helpdesk/Acknowledged": "(acknowledgement decided)",
               "Helpdesk/Auto-reply suppressed": "(acknowledgement decided)"}


def _parsed(raw: bytes):
    """The headers of a stored message (its body is not needed here)."""
    return BytesHeaderParser().parsebytes(raw)


class ProcessKilled(BaseException):
    """The process died here: no ``except Exception`` sees it, nothing after it runs (as with kill -9)."""


@dataclass
class Clock:
    """The host's and the mailbox's time, set by the scenario (deterministic runs compare equal)."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


class Injector:
    """Counts the HTTP requests and API calls made while armed, and breaks the ``at``-th one as ``mode`` says."""

    def __init__(self, local: LocalMailbox):
        self.local = local
        self.unindexed: set[str] = set()  # ids of messages Gmail's search does not show yet (its index lags)
        self._known: set[str] = set()
        self._lagging = False
        self.http_calls = self.api_calls = 0
        self.mode, self.at, self.armed, self.fired = "", 0, False, False
        self.methods: list[str] = []  # the API calls made while armed, in order (for reports)
        self.requests: list[str] = []  # the HTTP requests made while armed, in order (for reports)
        self.writes: list[bool] = []  # for each of them: whether it changed something at Google
        self._request = local.http.request
        local.http.request = self._http
        self._before_call = local.app.faults.before_call
        local.app.faults.before_call = self._api

    def arm(self, mode: str = "", at: int = 0) -> None:
        self.http_calls = self.api_calls = 0
        self.mode, self.at, self.armed, self.fired = mode, at, True, False
        self.methods, self.requests, self.writes = [], [], []

    def disarm(self) -> None:
        self.armed = False

    def _http(self, uri, method="GET", body=None, headers=None, **kw):
        if not self.armed:
            return self._searched(uri, method, self._request(uri, method, body, headers, **kw))
        self.http_calls += 1
        self.requests.append(f"{method} {uri.split('?')[0].split('/v1/', 1)[-1]}")
        self.writes.append(False)  # set by _api when the request (a batch, maybe) changes something
        hit = self.mode in HTTP_MODES and self.http_calls == self.at
        if hit and self.mode == "killed_before":
            self.fired = True
            raise ProcessKilled(f"killed before HTTP request {self.at}: {method} {uri[:120]}")
        response = self._searched(uri, method, self._request(uri, method, body, headers, **kw))
        if hit:
            self.fired = True
            if self.mode == "killed_after":
                raise ProcessKilled(f"killed after HTTP request {self.at}: {method} {uri[:120]}")
            raise TimeoutError("timed out reading the response")
        return response

    def lag_search_from_now(self) -> None:
        """Messages sent from now on are not found by Gmail's search (``q=``) until :meth:`index_catches_up`;
        a label's listing shows them at once, as in Gmail."""
        self._known = set(self.local.mailbox.messages)
        self._lagging = True

    def index_catches_up(self) -> None:
        self._lagging = False
        self.unindexed = set()

    def _searched(self, uri: str, method: str, answer):
        if not self._lagging:
            return answer
        self.unindexed |= {i for i in self.local.mailbox.messages if i not in self._known}
        response, content = answer
        if method != "GET" or "/messages?" not in uri or "q=" not in uri or response.status != 200:
            return answer
        page = json.loads(content)
        kept = [ref for ref in page.get("messages", []) if ref["id"] not in self.unindexed]
        if len(kept) != len(page.get("messages", [])):
            page["messages"] = kept
            page["resultSizeEstimate"] = len(kept)
            if not kept:
                page.pop("messages")
            content = json.dumps(page).encode()
        return response, content

    def _api(self, method_id: str) -> None:
        if self.armed:
            self.api_calls += 1
            self.methods.append(method_id)
            if self.writes and method_id.rsplit(".", 1)[-1] not in READS:
                self.writes[-1] = True
            if self.mode == "error" and self.api_calls == self.at:
                self.fired = True
                raise ApiError(500, "Internal error encountered.", "backendError")
            if self.mode == "outage" and self.api_calls >= self.at:
                self.fired = True
                raise ApiError(503, "The service is currently unavailable.", "backendError")
        self._before_call(method_id)


class World:
    """One mailbox, its state folder and the host process working on it (restartable)."""

    def __init__(self, workdir: Path, plugins: dict, start: datetime, addon: dict | None = None,
                 mailbox: dict | None = None, image: Path | None = None):
        self.workdir = Path(workdir)
        self.plugins, self.addon, self.mailbox_settings = plugins, addon, mailbox or {}
        self.clock = Clock(start)
        self.local = LocalMailbox(SUPPORT, data_dir=image, clock=lambda: self.clock.now.timestamp())
        self.local.app.data_dir = None  # loaded from the image (if any), then kept in memory only
        if image is not None:
            shutil.copytree(image / "state", self.state)
        else:
            for address, names in AGENTS.items():
                self.local.mailbox.add_send_as(address, f"{names['first_name']} {names['last_name']}")
        self.injector = Injector(self.local)
        self._gmail = None
        self.host = self.feed = self._app = None
        self.restarts = 0
        self.restart()

    def save(self, image: Path) -> None:
        """This world's mailbox and state folder, for :meth:`fork`."""
        self.local.mailbox.save(image)
        shutil.copytree(self.state, image / "state")

    def fork(self, image: Path, workdir: Path) -> "World":
        """A new process on a copy of the mailbox and state folder ``save`` wrote, at this world's time."""
        return World(workdir, self.plugins, self.clock.now, self.addon, self.mailbox_settings, image=image)

    @property
    def gmail(self):
        """The mailbox through googleapiclient, as people and Gmail change it (made on first use)."""
        if self._gmail is None:
            self._gmail = self.local.gmail()
        return self._gmail

    @property
    def state(self) -> Path:
        return self.workdir / "state"

    def restart(self) -> None:
        """A new process on the same mailbox and state folder: whatever the last one held in memory is gone."""
        data = {"mailbox": {"address": SUPPORT, **self.mailbox_settings}, "agents": AGENTS, "plugins": self.plugins,
                "host": {"state_dir": str(self.state), "timezone": "Europe/Warsaw"}}
        if self.addon:
            data["addon"] = self.addon
        config = load_config(self.workdir / "labeldesk.toml", data=data, environ={})
        self.host = build_host(config, http=self.local.http, now=self.clock)
        self.host.client.sleep = lambda seconds: None  # backoff without waiting
        self.host.client.bucket = TokenBucket(1e9)  # nor for quota: the sweep makes thousands of calls
        self.feed = ChangeFeed(self.host)
        self._app = None
        self.restarts += 1

    @property
    def app(self):
        """This process's Flask app (add-on and push endpoints), made on first use."""
        if self._app is None:
            from plugin_host.web import create_app

            self._app = create_app(self.host, self.feed)
        return self._app

    def deliver(self, raw: bytes, at: datetime | None = None, **extra) -> dict:
        from .conftest import deliver

        ref = deliver(self.gmail, raw, **extra)
        if at is not None:
            self.local.mailbox.messages[ref["id"]].internal_date = int(at.timestamp() * 1000)
        return ref

    # -- what the mailbox holds -------------------------------------------------------------------

    def snapshot(self) -> dict:
        """What people see: messages sent (by thread, marker key and recipient), drafts per thread, tasks per list,
        task lists and labels by name, each thread's labels. Threads are named by their first message's
        Message-ID: the ids of threads we start (alert emails) depend on the order things were sent in."""
        box = self.local.mailbox
        names = {label_id: label["name"] for label_id, label in box.labels.items()}
        thread_names = {}
        for thread_id in box.threads:
            first = box.thread_messages(thread_id)[0]
            thread_names[thread_id] = str(_parsed(first.raw).get("Message-ID", thread_id))
        sent, labels = Counter(), {}
        for message in box.messages.values():
            thread = thread_names.get(message.thread_id, message.thread_id)
            labels.setdefault(thread, set()).update(names.get(l, l) for l in message.label_ids)
            if "SENT" in message.label_ids:
                parsed = _parsed(message.raw)
                key, to = str(parsed.get("X-Labeldesk", "")), str(parsed.get("To", ""))
                # A customer's acknowledgement may rightly go to either of two tickets opened at once (through two
                # aliases): which one is tried first after a failure differs. Counted per customer.
                sent[("(any ticket)" if key.startswith("ack") else thread, key, to)] += 1
        drafts = Counter(thread_names.get(box.messages[m].thread_id) for m in box.drafts.values() if m in box.messages)
        tasks = Counter()
        for list_id, items in box.tasks.items():
            title = box.tasklists.get(list_id, {}).get("title", list_id)
            for task in items.values():
                why = (task.get("notes") or "").rpartition("]")[2].strip()  # the lines a completion appended
                tasks[(title, task.get("title", ""), task.get("status", ""), why)] += 1
        learnt = self.state / "kb-feedback.jsonl"  # inserts agents made: each ranks its article up once
        inserts = Counter(learnt.read_text(encoding="utf-8").splitlines()) if learnt.exists() else Counter()
        return {"sent": sent, "drafts": drafts, "tasks": tasks, "kb inserts learnt": inserts,
                "tasklists": Counter(l.get("title") for l in box.tasklists.values()),
                "label names": Counter(n for n in names.values() if n not in ACK_DECIDED),
                "thread labels": {t: sorted({ACK_DECIDED.get(l, l) for l in ls} - {"SENT"}) for t, ls in labels.items()}}

    def unreadable_state_files(self) -> list[str]:
        """State files (``*.json``) that no longer parse: each loader would start over or fail."""
        bad = []
        for path in sorted(self.state.glob("*.json")) if self.state.exists() else []:
            try:
                json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                bad.append(f"{path.name}: {exc}")
        return bad


@dataclass
class Scenario:
    """A write path: ``setup`` makes the world up to the moment before it; ``operation`` is the write path as
    ``serve`` runs it; ``again`` what serve does next (by default the operation once more)."""

    name: str
    make_world: Callable[[Path], World]
    setup: Callable[[World], None]
    operation: Callable[[World], None]
    again: Callable[[World], None] | None = None
    # What the operation sent is not found by Gmail's search yet when serve runs next (a process killed and started
    # again at once; its search index lags a message sent a moment ago): labels' listings show it, as in Gmail.
    search_lags: bool = True
    modes: tuple[str, ...] = ()  # the ways calls are broken (default ``SWEPT``)


@dataclass
class Broken:
    scenario: str
    mode: str
    at: int
    call: str
    problem: str

    def __str__(self) -> str:
        return f"{self.scenario}: {self.mode} at {self.at} ({self.call}): {self.problem}"


@dataclass
class SweepResult:
    scenario: str
    http_calls: int = 0
    api_calls: int = 0
    methods: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    points: Counter = field(default_factory=Counter)  # mode → crash points swept
    broken: list[Broken] = field(default_factory=list)

    @property
    def swept(self) -> int:
        return sum(self.points.values())


def _run(world: World, scenario: Scenario, mode: str = "", at: int = 0) -> tuple[bool, str]:
    """The operation with call ``at`` broken as ``mode`` says, then what serve does next. (killed, first problem)."""
    killed, problem = False, ""
    if scenario.search_lags:
        world.injector.lag_search_from_now()
    world.injector.arm(mode, at)
    previous_hook = threading.excepthook
    threading.excepthook = _swallow_kills(previous_hook)
    try:
        scenario.operation(world)
    except ProcessKilled:
        killed = True
    except Exception:  # the run failed as Gmail failed: serve logs it and goes on; the next run must repair it
        pass
    finally:
        world.injector.disarm()
        threading.excepthook = previous_hook
    killed = killed or (world.injector.fired and mode in KILLS)  # a background sync's thread died
    bad = world.unreadable_state_files()
    if not world.injector.fired:  # the run took another path than the counted one: this point tested nothing
        problem = f"call {at} was never made"
    elif bad:
        problem = f"state files unreadable after the crash: {bad}"
    if killed:
        world.restart()
    try:
        (scenario.again or scenario.operation)(world)
    except Exception as exc:
        problem = problem or f"the next run failed: {type(exc).__name__}: {exc}"
    bad = world.unreadable_state_files()
    if bad and not problem:
        problem = f"state files unreadable after the next run: {bad}"
    return killed, problem


def _swallow_kills(previous):
    def hook(args):
        if not issubclass(args.exc_type, ProcessKilled):
            previous(args)
    return hook


def differences(expected: dict, got: dict) -> list[str]:
    found = []
    for key in expected:
        if expected[key] != got[key]:
            if isinstance(expected[key], Counter):
                more, fewer = got[key] - expected[key], expected[key] - got[key]
                found.append(f"{key}: extra {dict(more)}, missing {dict(fewer)}")
            else:
                threads = sorted(t for t in set(expected[key]) | set(got[key]) if expected[key].get(t) != got[key].get(t))
                found += [f"{key} of {t}: {got[key].get(t)} instead of {expected[key].get(t)}" for t in threads]
    return found


def sweep(scenario: Scenario, tmp: Path, modes: tuple[str, ...] = ()) -> SweepResult:
    """Run ``scenario`` faultless (counting its calls), then once per crash point and mode; compare each with
    the faultless run followed by the same next step. Every run starts as a new process on a copy of the
    mailbox and state folder ``setup`` left."""
    result = SweepResult(scenario.name)
    modes = modes or scenario.modes or SWEPT
    with quick_restarts():
        origin = scenario.make_world(tmp / "setup")
        scenario.setup(origin)
        origin.save(tmp / "image")
        base = origin.fork(tmp / "image", tmp / "baseline")
        if scenario.search_lags:
            base.injector.lag_search_from_now()
        base.injector.arm()
        scenario.operation(base)
        base.injector.disarm()
        result.http_calls, result.api_calls = base.injector.http_calls, base.injector.api_calls
        result.methods, result.requests = list(base.injector.methods), list(base.injector.requests)
        writes = list(base.injector.writes)
        (scenario.again or scenario.operation)(base)
        expected = base.snapshot()
        run = 0
        for mode in modes:
            count = result.http_calls if mode in HTTP_MODES else result.api_calls
            for at in range(1, count + 1):
                if mode in AFTER_THE_CALL and not writes[at - 1]:
                    continue
                run += 1
                world = origin.fork(tmp / "image", tmp / f"run{run}")
                _, problem = _run(world, scenario, mode, at)
                result.points[mode] += 1
                calls = result.methods if mode in API_MODES else result.requests
                call = calls[at - 1] if at <= len(calls) else "?"
                problems = ([problem] if problem else []) + differences(expected, world.snapshot())
                for found in problems:
                    result.broken.append(Broken(scenario.name, mode, at, call, found))
    return result


@contextmanager
def quick_restarts():
    """Within the block a host (re)starts and writes its state quickly, as a sweep starts hundreds: the installed
    plugins are found once (reading the entry points' metadata is most of a start), and files are not forced to
    the disk (``fsync``: a killed process loses nothing the kernel holds; a power cut is not what is tested)."""
    from functools import lru_cache
    from unittest import mock

    import plugin_host.plugins as plugins

    real = plugins.metadata.entry_points
    entry_points = lru_cache(maxsize=None)(lambda group: tuple(real(group=group)))
    with mock.patch.object(plugins, "installed_plugins", lru_cache(maxsize=None)(plugins.installed_plugins)), \
            mock.patch.object(plugins.metadata, "entry_points", lambda group: entry_points(group)), \
            mock.patch("os.fsync"):
        yield
