"""Soak test of a long-running ``labeldesk serve`` against a local mailbox over real HTTP.

Starts ``labeldesk mailbox serve`` and ``labeldesk serve`` (every shipped plugin on, ~200 Markdown help
articles, the add-on configured with a local signing key whose certificates this script serves), then
for ``--minutes`` drives them: customers' mail at a steady rate plus bursts, agents' replies, label
changes, deleted threads, add-on cards (message card, homepage queue, an insert button) from three
clients at once, the config file touched once. Every ``--sample`` seconds it records the server's RSS,
open file descriptors, threads, state folder size and files, log lines, /healthz and /readyz, card
response times and mailbox requests. At the end it counts acknowledgements per thread (more than one
is a duplicate) and prints the start-vs-end table (benchmarks/RESULTS.md keeps the measured one).

    python benchmarks/soak.py [--minutes 3] [--sample 30] [--workdir DIR] [--keep]
"""
from __future__ import annotations

import argparse
import base64
import http.server
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httplib2  # noqa: E402
import requests  # noqa: E402
from googleapiclient.discovery import build  # noqa: E402

from tests.conftest import make_email  # noqa: E402
from tests.tokens import TokenSigner  # noqa: E402

BASE = "https://labeldesk.example.com"
SA = "service-7@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"
CLIENT = "7-soak.apps.googleusercontent.com"
AGENTS = ["anna.kowalska@example.com", "ivan.petrov@example.com", "maria.garcia@example.com"]
TOPICS = ["refund", "delivery", "password", "invoice", "return", "card", "subscription", "warranty", "api", "login"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_articles(folder: Path, n: int = 200) -> None:
    rng = random.Random(7)
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        words = " ".join(rng.choices(TOPICS + ["order", "account", "payment", "email", "update"], k=80))
        (folder / f"article-{i}.md").write_text(
            f"---\ntitle: {topic.capitalize()} help {i}\nurl: https://help.example.com/{i}\n---\n"
            f"# {topic.capitalize()} help {i}\n\nHow to fix your {topic}: {words}.\n")


def write_config(work: Path, mailbox_port: int, certs_url: str) -> Path:
    agents = "\n".join(f'"{a}" = {{ first_name = "{a.split(".")[0].title()}", '
                       f'last_name = "{a.split(".")[1].split("@")[0].title()}" }}' for a in AGENTS)
    path = work / "labeldesk.toml"
    path.write_text(f"""[mailbox]
address = "support@example.com"
api_root = "http://127.0.0.1:{mailbox_port}/"

[agents]
{agents}

[plugins]
enabled = ["autoreply", "sla", "kb_suggest"]

[plugins.sla]
team_lead = "lead@example.com"

[plugins.kb_suggest]
articles = "kb"
semantic = "static"

[addon]
base_url = "{BASE}"
service_account_email = "{SA}"
oauth_client_id = "{CLIENT}"
google_certs_url = "{certs_url}"

[host]
state_dir = "state"
poll_seconds = 5
sweep_minutes = 2
alerts_per_hour = 0
""")
    return path


def serve_certs(signer: TokenSigner) -> tuple[http.server.ThreadingHTTPServer, str]:
    body = signer.certs_json().encode()

    class Certs(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "public, max-age=3600")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Certs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/certs"


def gmail(port: int):
    return build("gmail", "v1", static_discovery=True, http=httplib2.Http(timeout=60),
                 client_options={"api_endpoint": f"http://127.0.0.1:{port}/"})


class Drive:
    """The traffic: customers, agents, labels, deletions, add-on clients; what each measured."""

    def __init__(self, args, mailbox_port: int, serve_port: int, signer: TokenSigner, config: Path):
        self.args, self.mport, self.sport, self.signer, self.config = args, mailbox_port, serve_port, signer, config
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads: list[dict] = []  # {"id", "customer", "last_mid", "subject"}
        self.card_ms: list[tuple[float, float]] = []  # (time, ms) of message cards
        self.counts = Counter()
        self.errors = Counter()
        self.api_calls = Counter()  # this script's own calls to the mailbox, to tell them from serve's
        self.floor_gmail = gmail(mailbox_port)  # the sampler's own reads (not counted: they fall between samples)

    # -- mail ------------------------------------------------------------------------------------
    def customer_mail(self, g, rng: random.Random, n: int) -> None:
        with self.lock:
            known = list(self.threads)
        if known and rng.random() < 0.25:  # the customer writes again
            t = rng.choice(known)
            mid = f"<c{n}.{rng.getrandbits(32)}@customer.example.org>"
            raw = make_email(sender=t["customer"], subject="Re: " + t["subject"], message_id=mid,
                             in_reply_to=t["last_mid"], body=f"Any news about my {rng.choice(TOPICS)}? Still waiting.")
            g.users().messages().insert(userId="me", body={"raw": b64(raw), "labelIds": ["INBOX", "UNREAD"],
                                                           "threadId": t["id"]}).execute()
            t["last_mid"] = mid
            self.counts["customer follow-ups"] += 1
            return
        topic = rng.choice(TOPICS)
        customer = f"Customer {n} <customer{n}@example{n % 50}.org>"
        mid = f"<c{n}@customer.example.org>"
        subject = f"Problem with my {topic} #{n}"
        raw = make_email(sender=customer, subject=subject, message_id=mid,
                         body=f"Hello, my {topic} does not work. How do I fix my {topic}? Order {n}.")
        sent = g.users().messages().insert(userId="me", body={"raw": b64(raw), "labelIds": ["INBOX", "UNREAD"]}).execute()
        with self.lock:
            self.threads.append({"id": sent["threadId"], "customer": customer, "last_mid": mid, "subject": subject})
        self.counts["customer mails"] += 1

    def customers(self) -> None:
        g, rng, n = gmail(self.mport), random.Random(1), 0
        next_burst = time.monotonic() + 300
        while not self.stop.wait(self.args.customer_every):
            burst = 1
            if time.monotonic() >= next_burst:
                burst, next_burst = 25, time.monotonic() + 300
                self.counts["bursts"] += 1
            for _ in range(burst):
                n += 1
                self.guard("customer", self.customer_mail, g, rng, n)

    def agent_reply(self, g, rng: random.Random, n: int) -> None:
        with self.lock:
            if not self.threads:
                return
            t = rng.choice(self.threads[-60:])
        agent = rng.choice(AGENTS)
        name = agent.split("@")[0].replace(".", " ").title()
        mid = f"<a{n}@example.com>"
        raw = make_email(sender=f"{name} <support@example.com>", to=t["customer"], subject="Re: " + t["subject"],
                         message_id=mid, in_reply_to=t["last_mid"],
                         body=f"Hello, we are looking into it.\n\n{name}\nSupport")
        g.users().messages().insert(userId="me", body={"raw": b64(raw), "labelIds": ["SENT"],
                                                       "threadId": t["id"]}).execute()
        t["last_mid"] = mid
        self.counts["agent replies"] += 1

    def agents(self) -> None:
        g, rng, n = gmail(self.mport), random.Random(2), 0
        while not self.stop.wait(self.args.customer_every * 2):
            n += 1
            self.guard("agent", self.agent_reply, g, rng, n)

    def relabel_or_delete(self, g, rng: random.Random, labels: dict) -> None:
        with self.lock:
            if len(self.threads) < 20:
                return
            if rng.random() < 0.2:
                t = self.threads.pop(rng.randrange(len(self.threads) - 10))
            else:
                t = rng.choice(self.threads)
                t = {**t, "relabel": True}
        if not t.get("relabel"):
            g.users().threads().delete(userId="me", id=t["id"]).execute()
            self.counts["threads deleted"] += 1
            return
        if not labels:
            for name in ("VIP", "Helpdesk/Priority/Urgent", "Billing"):
                try:
                    labels[name] = g.users().labels().create(userId="me", body={"name": name}).execute()["id"]
                except Exception:  # made already (by the host, for Helpdesk/…)
                    found = [x for x in g.users().labels().list(userId="me").execute()["labels"] if x["name"] == name]
                    labels[name] = found[0]["id"]
        label = labels[rng.choice(list(labels))]
        body = {"addLabelIds": [label]} if rng.random() < 0.6 else {"removeLabelIds": [label, "UNREAD"]}
        g.users().threads().modify(userId="me", id=t["id"], body=body).execute()
        self.counts["label changes"] += 1

    def labellers(self) -> None:
        g, rng, labels = gmail(self.mport), random.Random(3), {}
        while not self.stop.wait(self.args.customer_every * 1.5):
            self.guard("labels", self.relabel_or_delete, g, rng, labels)

    # -- add-on ----------------------------------------------------------------------------------
    def post(self, path: str, user: str, **gmail_event) -> requests.Response:
        body = {"commonEventObject": {"hostApp": "GMAIL", "platform": "WEB", "timeZone": {"id": "Europe/Warsaw"}},
                "gmail": gmail_event, "authorizationEventObject": {"userIdToken": self.signer.token(CLIENT, user)}}
        if "parameters" in gmail_event:
            body["commonEventObject"]["parameters"] = gmail_event.pop("parameters")
        headers = {"Authorization": "Bearer " + self.signer.token(BASE + path, SA)}
        return requests.post(f"http://127.0.0.1:{self.sport}{path}", json=body, headers=headers, timeout=120)

    def addon_round(self, rng: random.Random, user: str) -> None:
        with self.lock:
            if not self.threads:
                return
            t = rng.choice(self.threads[-80:])
        start = time.perf_counter()
        card = self.post("/addon/message", user, threadId=t["id"])
        ms = (time.perf_counter() - start) * 1000
        if card.status_code != 200:
            self.errors[f"message card {card.status_code}"] += 1
            return
        with self.lock:
            self.card_ms.append((time.monotonic(), ms))
        self.counts["message cards"] += 1
        if rng.random() < 0.3:
            queue = self.post("/addon/homepage", user)
            self.counts["homepage cards"] += 1
            if queue.status_code != 200:
                self.errors[f"homepage {queue.status_code}"] += 1
        buttons = re.findall(r'"parameters": (\[[^\]]*"kb\.insert_(?:answer|link)"[^\]]*\])', json.dumps(card.json()))
        if buttons and rng.random() < 0.15:
            params = {p["key"]: p["value"] for p in json.loads(buttons[0])}
            pressed = self.post("/addon/action", user, threadId=t["id"], parameters={**params, "threadId": t["id"]})
            self.counts["insert presses"] += 1
            if pressed.status_code != 200:
                self.errors[f"insert {pressed.status_code}"] += 1

    def addon_client(self, index: int) -> None:
        rng = random.Random(10 + index)
        while not self.stop.wait(self.args.card_every):
            self.guard("addon", self.addon_round, rng, AGENTS[index % len(AGENTS)])

    def guard(self, name: str, work, *args) -> None:
        try:
            work(*args)
            with self.lock:
                self.api_calls[name] += 1 if name != "addon" else 0
        except Exception as exc:  # the soak goes on; errors are counted and reported
            self.errors[f"{name}: {exc.__class__.__name__}"] += 1

    def start(self) -> list[threading.Thread]:
        workers = [self.customers, self.agents, self.labellers] + [
            (lambda i=i: self.addon_client(i)) for i in range(3)]
        threads = [threading.Thread(target=w, daemon=True) for w in workers]
        for t in threads:
            t.start()
        return threads


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def proc_status(pid: int) -> dict:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "Threads"):
            fields[key] = int(value.split()[0])
    fields["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    return fields


def folder_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f)


def sample(drive: Drive, pid: int, work: Path, since: float, previous: dict) -> dict:
    row = {"t_min": round((time.monotonic() - since) / 60, 1), **proc_status(pid)}
    row["state_bytes"], row["state_files"] = folder_size(work / "state")
    lines = count_lines(work / "serve.log")
    row["log_lines"] = lines - previous.get("_lines", 0)
    row["_lines"] = lines
    with (work / "mailbox.log").open("rb") as f:  # werkzeug's request lines, from where the last sample stopped
        f.seek(previous.get("_mailbox_offset", 0))
        requests_seen = [line for line in f.read().splitlines() if b'HTTP/1.1"' in line]
        row["_mailbox_offset"] = f.tell()
    with drive.lock:
        own = sum(drive.api_calls.values())
        drive_calls, row["_own"] = own - previous.get("_own", 0), own
    syncs = sum(1 for line in requests_seen if b"/history?" in line)
    row["mailbox_requests"] = len(requests_seen)
    row["syncs"] = syncs
    # serve's requests between two polls, the add-on's card reads included (at rest: idle_sync_cost)
    row["serve_requests_per_poll"] = round((len(requests_seen) - drive_calls) / syncs, 1) if syncs else None
    for probe in ("healthz", "readyz"):
        try:
            row[probe] = requests.get(f"http://127.0.0.1:{drive.sport}/{probe}", timeout=30).status_code
        except requests.RequestException as exc:
            row[probe] = exc.__class__.__name__
    with drive.lock:
        recent = [ms for t, ms in drive.card_ms if t > time.monotonic() - drive.args.sample]
    row["card_p50_ms"] = round(percentile(recent, 0.5))
    row["card_p95_ms"] = round(percentile(recent, 0.95))
    row["cards"] = len(recent)
    row["errors"] = sum(drive.errors.values())
    row.update(mailbox_floor(drive))
    return row


def mailbox_floor(drive: Drive) -> dict:
    """What the local mailbox itself takes for the card's two reads (a customer search, a thread): its search
    scanned every message until it had indexes (benchmarks/search.py), so it slowed as the soak filled it;
    Gmail's does not. And the queue's length."""
    with drive.lock:
        t = drive.threads[-1] if drive.threads else None
    if t is None:
        return {}
    g, address = drive.floor_gmail, t["customer"].split("<")[1].rstrip(">")
    start = time.perf_counter()
    g.users().messages().list(userId="me", q=f"{{from:{address} to:{address}}}").execute()
    g.users().threads().get(userId="me", id=t["id"], format="full").execute()
    floor = (time.perf_counter() - start) * 1000
    queue = g.users().threads().list(userId="me", q="label:helpdesk-awaiting-reply", maxResults=1).execute()
    return {"mailbox_floor_ms": round(floor), "queue": queue.get("resultSizeEstimate", 0)}


def acknowledgements_per_thread(port: int) -> Counter:
    """Our automatic replies per thread, read from the mailbox: X-Labeldesk + Auto-Submitted."""
    g, per_thread, token = gmail(port), Counter(), None
    while True:
        page = g.users().messages().list(userId="me", q="in:sent", maxResults=500, pageToken=token).execute()
        for ref in page.get("messages", []):
            msg = g.users().messages().get(userId="me", id=ref["id"], format="metadata",
                                           metadataHeaders=["X-Labeldesk", "Auto-Submitted"]).execute()
            names = {h["name"].lower(): h["value"] for h in msg["payload"].get("headers", [])}
            if "x-labeldesk" in names and "auto-submitted" in names and "ack" in names["x-labeldesk"]:
                per_thread[msg["threadId"]] += 1
        token = page.get("nextPageToken")
        if not token:
            return per_thread


def wait_for(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=5)
            return
        except requests.RequestException:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer within {seconds:g}s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--sample", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--customer-every", type=float, default=2.0, help="seconds between customers' mails")
    parser.add_argument("--card-every", type=float, default=1.0, help="each add-on client's pause between cards")
    parser.add_argument("--workdir", help="keep everything here (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--json", help="also write the samples here")
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="labeldesk-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    (work / "kb").mkdir(exist_ok=True)
    write_articles(work / "kb")
    signer = TokenSigner()
    certs, certs_url = serve_certs(signer)
    mport, sport = free_port(), free_port()
    config = write_config(work, mport, certs_url)
    python, procs = sys.executable, []
    try:
        procs.append(subprocess.Popen([python, "-m", "plugin_host.cli", "mailbox", "serve", "--port", str(mport)],
                                      cwd=ROOT, stdout=(work / "mailbox.out").open("w"),
                                      stderr=(work / "mailbox.log").open("w")))
        wait_for(f"http://127.0.0.1:{mport}/gmail/v1/users/me/profile")
        procs.append(subprocess.Popen([python, "-m", "plugin_host.cli", "-v", "serve", "--config", str(config),
                                       "--port", str(sport)], cwd=ROOT, stdout=(work / "serve.out").open("w"),
                                      stderr=(work / "serve.log").open("w")))
        wait_for(f"http://127.0.0.1:{sport}/healthz")
        pid = procs[1].pid
        print(f"soak: work folder {work}, mailbox pid {procs[0].pid}, serve pid {pid}", flush=True)
        drive = Drive(args, mport, sport, signer, config)
        since = time.monotonic()
        drive.start()
        rows, previous, touched = [], {}, False
        while time.monotonic() - since < args.minutes * 60:
            time.sleep(min(args.sample, max(1.0, args.minutes * 60 - (time.monotonic() - since))))
            if procs[1].poll() is not None:
                raise SystemExit(f"serve stopped with {procs[1].returncode}; see {work / 'serve.log'}")
            if not touched and time.monotonic() - since > args.minutes * 30:
                config.write_text(config.read_text() + "\n# touched by the soak test\n")
                touched = True
            previous = sample(drive, pid, work, since, previous)
            rows.append(previous)
            print(json.dumps({k: v for k, v in previous.items() if not k.startswith("_")}), flush=True)
        drive.stop.set()
        time.sleep(max(15.0, args.card_every * 3))  # the last mail synced and acknowledged
        idle = idle_sync_cost(work)
        acks = acknowledgements_per_thread(mport)
        report(rows, drive, acks, work, idle)
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=1))
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
        certs.shutdown()
        if not args.workdir and not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def idle_sync_cost(work: Path, seconds: float = 30.0) -> float | None:
    """Mailbox requests per sync while nothing happens (only ``serve`` polls): what a poll costs at rest."""
    log = work / "mailbox.log"
    start = log.stat().st_size
    time.sleep(seconds)
    with log.open("rb") as f:
        f.seek(start)
        lines = [line for line in f.read().splitlines() if b'HTTP/1.1"' in line]
    syncs = sum(1 for line in lines if b"/history?" in line)
    return round(len(lines) / syncs, 1) if syncs else None


def report(rows: list[dict], drive: Drive, acks: Counter, work: Path, idle: float | None) -> None:
    first, last = rows[0], rows[-1]
    early = [ms for _, ms in drive.card_ms[: len(drive.card_ms) // 5]]
    late = [ms for _, ms in drive.card_ms[-len(drive.card_ms) // 5:]] if drive.card_ms else []
    print("\n| measure | start | end |\n|---|---|---|")
    for key, label in (("VmRSS", "RSS (kB)"), ("fds", "open fds"), ("Threads", "threads"),
                       ("state_bytes", "state bytes"), ("state_files", "state files"),
                       ("log_lines", "log lines / sample"), ("mailbox_requests", "mailbox requests / sample")):
        print(f"| {label} | {first[key]} | {last[key]} |")
    print(f"| card p50 / p95 ms (first vs last fifth) | {percentile(early, .5):.0f} / {percentile(early, .95):.0f} "
          f"| {percentile(late, .5):.0f} / {percentile(late, .95):.0f} |")
    for key, label in (("mailbox_floor_ms", "local mailbox's own time for a card's reads (ms)"),
                       ("queue", "tickets awaiting reply")):
        print(f"| {label} | {first.get(key)} | {last.get(key)} |")
    print(f"\nmailbox requests per sync at rest (after the traffic): {idle}")
    print(f"\ntraffic: {dict(drive.counts)}\nerrors: {dict(drive.errors)}")
    twice = {t: n for t, n in acks.items() if n > 1}
    print(f"acknowledgements: {sum(acks.values())} in {len(acks)} threads; threads with more than one: {twice or 'none'}")
    statuses = Counter((r["healthz"], r["readyz"]) for r in rows)
    print(f"/healthz, /readyz over the samples: {dict(statuses)}")
    tracebacks = (work / "serve.log").read_text(errors="replace").count("Traceback")
    print(f"tracebacks in serve.log: {tracebacks}")


if __name__ == "__main__":
    main()
