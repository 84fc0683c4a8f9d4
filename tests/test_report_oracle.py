"""Labeldesk's figures against an independent oracle (tests/report_oracle.py): seeded random conversations are put
into the local mailbox as they happen, synced and swept by the real host with autoreply and sla, and then every
figure of ``labeldesk report --json`` and its HTML file, the SLA labels, the deadlines the acknowledgements promise
and ``labeldesk sla due`` are compared with what the oracle counts from the moments it generated."""
from __future__ import annotations

import email
import email.policy
import json
import re
from datetime import datetime
from html.parser import HTMLParser

import pytest
import tomli_w
from click.testing import CliRunner

from plugin_host.cli import get_cli
from plugin_host.config import load_config
from plugin_host.mailbox import LocalMailbox
from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed

from . import report_oracle as oracle
from .conftest import deliver, make_email, send
from .report_oracle import AGENTS, OFFICES, SUPPORT, Clock, Conversation, Office

ROOT = "Helpdesk"
AUTHENTICATED = ("mx.google.com; dkim=pass header.i=@example.com; spf=pass smtp.mailfrom={address}; "
                 "dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=example.com")
ASKED = "Hello, my order {n} has not arrived yet. Can you check where it is?"
FOLLOW_UP = "Any news about my request? I am still waiting for an answer."
THANKS = "Thanks, that worked!"
ANSWER = "Hello,\n\nwe have checked it and sent the parcel again.\n\nBest regards,\n{name}"
COUNT = 36
KINDS = ["opened on a day off", "opened the night the clocks changed", "continued", "resolved unanswered", "reopened",
         "resolved again", "thanks", "answer from an own mailbox", "waiting on customer", "answered at the deadline",
         "answered a minute late", "open at report time", "at risk", "breached", "urgent", "high", "normal", "low"]


class World:
    """The local mailbox and the host, driven through the generated conversations in time order."""

    def __init__(self, office: Office, clock: Clock, tmp_path):
        self.office, self.clock, self.now = office, clock, office.first
        self.local = LocalMailbox(SUPPORT, clock=lambda: self.now.timestamp())
        for address, (first, last) in AGENTS.items():
            self.local.mailbox.add_send_as(address, f"{first} {last}")
        data = {"mailbox": {"address": SUPPORT},
                "agents": {a: {"first_name": f, "last_name": l} for a, (f, l) in AGENTS.items()},
                "plugins": {"enabled": ["autoreply", "sla"], "sla": office.settings()},
                "host": {"state_dir": str(tmp_path / "state"), "timezone": office.timezone}}
        self.config_file = tmp_path / "labeldesk.toml"
        self.config_file.write_text(tomli_w.dumps(data))
        self.host = build_host(load_config(self.config_file, environ={}), http=self.local.http, now=lambda: self.now)
        self.host.client.sleep = lambda seconds: None
        self.feed = ChangeFeed(self.host)
        self.feed.sync()
        self.last_id: dict[str, str] = {}
        self.acks: dict[str, str] = {}  # conversation key -> the acknowledgement's text
        self.ack_ids: dict[str, str] = {}  # conversation key -> the acknowledgement's Message-ID

    @property
    def gmail(self):
        return self.local.gmail()

    def label_id(self, name: str) -> str:
        full = f"{ROOT}/{name}"
        labels = self.gmail.users().labels().list(userId="me").execute().get("labels", [])
        found = next((label["id"] for label in labels if label["name"] == full), None)
        return found or self.gmail.users().labels().create(userId="me", body={"name": full}).execute()["id"]

    def play(self, convs: list[Conversation], sweep_every: int = 6) -> list[str]:
        """Every message and label in time order, each synced as ``serve`` would; every ``sweep_every`` events a
        sweep, after which each ticket's SLA labels are compared with the oracle's: the differences."""
        wrong = []
        events = [(s.when, i, c, s) for c in convs for i, s in enumerate(c.said)]
        events += [(t, 100, c, "Resolved") for c in convs for t in c.resolved_at]
        events += [(c.waiting_at, 100, c, "Waiting on customer") for c in convs if c.waiting_at]
        for when, _, c, what in sorted(events, key=lambda e: (e[0], e[2].key, e[1])):
            self.now = when
            if isinstance(what, str):
                self.gmail.users().threads().modify(userId="me", id=c.thread_id,
                                                    body={"addLabelIds": [self.label_id(what)]}).execute()
            elif what.kind == "agent":
                self.agent_answers(c, what)
            else:
                self.customer_writes(c, what)
            report = self.feed.sync()
            assert report.ok, report
            if what is c.said[0]:
                self.acks[c.key], self.ack_ids[c.key] = self.acknowledgement(c.thread_id)
            if len(self.acks) % sweep_every == 0 and what is c.said[0]:
                self.host.sweep()
                wrong += self.labels_differ([x.as_of(when) for x in convs if x.thread_id], when)
        return wrong

    def labels_differ(self, convs: list[Conversation], now) -> list[str]:
        """Tickets whose SLA labels are not the oracle's at ``now``."""
        wrong = []
        for c in convs:
            state = oracle.clock_now(c, self.clock, now)
            labels = self.labels(c.thread_id)
            got = ("SLA/At risk" in labels, "SLA/Breached" in labels)
            if got != (state["at_risk"], state["breached"]):
                wrong.append(f"{now}: {c.key} {c.priority} {state['kind']} due {state['due']}: labels at risk/breached "
                             f"{got}, oracle {(state['at_risk'], state['breached'])}")
        return wrong

    def customer_writes(self, c: Conversation, said) -> None:
        message_id = f"<{c.key}.{said.when.timestamp():.0f}@example.org>"
        urgent = "URGENT: " if c.priority == "urgent" else ""
        subject = f"{'Re: ' if c.thread_id else ''}{urgent}Order {c.key}"
        in_reply_to = self.last_id.get(c.key)
        if c.continues and not c.thread_id:  # an answer to the acknowledgement with a subject of its own
            subject, in_reply_to = f"Another question {c.key}", self.ack_ids[c.continues]
        elif c.continues:
            subject = f"Re: Another question {c.key}"
        body = {"customer": FOLLOW_UP if c.thread_id else ASKED.format(n=c.key), "thanks": THANKS}[said.kind]
        raw = make_email(sender=f"Customer {c.key} <{c.customer}>", subject=subject, body=body,
                         message_id=message_id, in_reply_to=in_reply_to, date=said.when)
        labels = ["INBOX", "UNREAD"] + ([self.label_id("Minor")] if c.priority == "low" and not c.thread_id else [])
        ref = deliver(self.gmail, raw, labels=labels, **({"threadId": c.thread_id} if c.thread_id else {}))
        c.thread_id = c.thread_id or ref["threadId"]
        self.last_id[c.key] = message_id

    def agent_answers(self, c: Conversation, said) -> None:
        first, last = AGENTS[said.agent]
        name = f"{first} {last}"
        message_id = f"<{c.key}.{said.when.timestamp():.0f}@example.com>"
        raw = make_email(sender=f"{name} <{said.agent if said.own_mailbox else SUPPORT}>", to=c.customer,
                         subject=f"Re: {'URGENT: ' if c.priority == 'urgent' else ''}Order {c.key}" if not c.continues
                         else f"Re: Another question {c.key}",
                         body=ANSWER.format(name=name), message_id=message_id, in_reply_to=self.last_id[c.key],
                         date=said.when, headers={"Cc": SUPPORT} if said.own_mailbox else None)
        if said.own_mailbox:  # received from the agent's own mailbox, vouched for by Gmail
            raw = f"Authentication-Results: {AUTHENTICATED.format(address=said.agent)}\r\n".encode() + raw
            deliver(self.gmail, raw, threadId=c.thread_id)
        else:
            send(self.gmail, raw, c.thread_id)
        self.last_id[c.key] = message_id

    def acknowledgement(self, thread_id: str) -> tuple[str, str]:
        for message in self.local.mailbox.thread_messages(thread_id):
            if "SENT" in message.label_ids and b"X-Labeldesk: ack" in message.raw:
                parsed = email.message_from_bytes(message.raw, policy=email.policy.default)
                return parsed.get_body(("plain",)).get_content(), parsed["Message-ID"]
        return "", ""

    def labels(self, thread_id: str) -> set[str]:
        return {label.removeprefix(ROOT + "/") for label in self.host.ticket(thread_id).labels}


# -- what the customer and the admin read -----------------------------------------------------------------------

PROMISE = re.compile(r"by (\w+, \d{1,2} \w+ \d{4}, \d\d:\d\d) \(([\w/]+), UTC([+-]\d\d:\d\d)\)")


def promised(text: str) -> str:
    """The deadline an English acknowledgement promises, as "2026-11-03 09:00 +01:00"."""
    found = PROMISE.search(text)
    if not found:
        return ""
    moment = datetime.strptime(found.group(1), "%A, %d %B %Y, %H:%M")
    return f"{moment:%Y-%m-%d %H:%M} {found.group(3)}"


def as_customer_reads(when, zone: str) -> str:
    local = when.astimezone(oracle.ZoneInfo(zone))
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"


class Cells(HTMLParser):
    """The HTML report's tables: each section's header row and value row."""

    def __init__(self):
        super().__init__()
        self.rows, self.cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = ""

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(self.cell.strip())
            self.cell = None


def close(got, want, places: float = 0.011) -> bool:
    if got is None or want is None:
        return got is None and want is None
    return abs(float(got) - float(want)) <= places


@pytest.fixture(scope="module", params=OFFICES, ids=[o.name for o in OFFICES])
def played(request, tmp_path_factory):
    office = request.param
    clock = Clock(office)
    convs = oracle.conversations(46, office, clock, COUNT)
    made = oracle.coverage(convs, clock, office.now)
    assert all(made[kind] for kind in KINDS), made  # every kind of conversation is there to be counted
    world = World(office, clock, tmp_path_factory.mktemp(office.name))
    world.swept_wrong = world.play(convs)
    world.now = office.now
    world.feed.sync()
    world.host.sweep()
    return office, clock, convs, world


@pytest.fixture(scope="module")
def reported(played, tmp_path_factory):
    office, clock, convs, world = played
    import plugin_host.runtime as runtime

    original = runtime.host_from_cli
    runtime.host_from_cli = lambda path=None, http=None: world.host
    try:
        html_file = tmp_path_factory.mktemp("html") / "report.html"
        result = CliRunner().invoke(get_cli(), ["report", "--since", "60d", "--json", "--html", str(html_file)])
    finally:
        runtime.host_from_cli = original
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), html_file.read_text(), oracle.report(convs, clock, office.now)


def test_acknowledgements_promise_the_oracles_deadline(played):
    office, clock, convs, world = played
    wrong = []
    assert any(c.continues for c in convs)
    for c in (c for c in convs if not c.continues):  # the customer was acknowledged in the first thread
        due = clock.due(c.opened, c.priority, "first_response")
        want = as_customer_reads(due, office.timezone)
        got = promised(world.acks[c.key])
        if got != want:
            wrong.append(f"{c.key} {c.priority} opened {as_customer_reads(c.opened, office.timezone)}: promised {got!r}, "
                         f"oracle {want!r}")
    assert not wrong, "\n".join(wrong)


def test_sla_labels_after_each_sweep_match_the_oracle(played):
    office, clock, convs, world = played
    wrong = world.swept_wrong + world.labels_differ(convs, office.now)
    assert not wrong, "\n".join(wrong)


def differences(got: dict, want: dict, path: str = "") -> list[str]:
    """Where the report's JSON differs from the oracle's figures (hours to the report's 0.01, shares to 0.001)."""
    out = []
    for key, value in want.items():
        here = f"{path}{key}"
        if isinstance(value, dict) and not key.startswith("volume_by"):
            out += differences(got.get(key) or {}, value, here + ".")
            if key == "sla_attainment" and set(got.get(key) or {}) != set(value):
                out.append(f"{here}: priorities {sorted(got.get(key) or {})}, oracle {sorted(value)}")
        elif isinstance(value, float) or isinstance(got.get(key), float):
            places = 0.0006 if key == "within_target" or path == "sla_attainment." else 0.0051 if \
                key == "replies_until_resolved" else 0.011
            if not close(got.get(key), value, places):
                out.append(f"{here}: report {got.get(key)}, oracle {value}")
        elif got.get(key) != value:
            out.append(f"{here}: report {got.get(key)}, oracle {value}")
    return out


def test_report_json_matches_the_oracle(reported):
    got, _, want = reported
    assert not differences(got, want), "\n".join(differences(got, want))


def test_report_html_shows_the_same_figures(reported):
    got, html, want = reported
    parser = Cells()
    parser.feed(html)
    tables = [(header, values) for header, values in zip(parser.rows, parser.rows[1:]) if "median h" in header]
    for (header, values), part in zip(tables, ("first_response", "resolution")):
        shown = dict(zip(header, values))
        for column, key in (("mean h", "mean_h"), ("median h", "median_h"), ("p90 h", "p90_h"), ("max h", "max_h")):
            assert close(shown[column], want[part][key]), (part, column, shown, want[part])
        for key in ("met", "breached", "pending"):
            assert int(shown[key]) == want[part][key], (part, key, shown, want[part])
        assert shown["within target"] == f"{want[part]['within_target']:.0%}", (part, shown)
    assert len(tables) == 2


def test_sla_due_prints_the_oracles_deadlines(played):
    office, clock, convs, world = played
    wrong, zone = [], oracle.ZoneInfo(office.timezone)
    for c in convs[:12]:
        for kind in ("first_response", "resolution"):
            target = f"{oracle.HOURS[kind][c.priority]}m"
            received = c.opened.astimezone(oracle.ZoneInfo(office.timezone)).isoformat()
            result = CliRunner().invoke(get_cli(), ["sla", "due", "--received", received, "--target", target,
                                                    "--priority", c.priority, "--config", str(world.config_file)])
            assert result.exit_code == 0, result.output
            got = datetime.fromisoformat(result.output.strip())
            want = clock.due(c.opened, c.priority, kind)
            if got.timestamp() != want.timestamp() or got.utcoffset() != want.astimezone(zone).utcoffset():
                wrong.append(f"{c.key} {c.priority} {kind} from {received}: {got.isoformat()}, oracle {want}")
    assert not wrong, "\n".join(wrong)
