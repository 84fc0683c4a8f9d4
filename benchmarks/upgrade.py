"""Upgrade and rollback between an older commit and this one, over one mailbox and one state folder.

For each commit given, the older code comes from git (``git worktree add /tmp/r38-<commit> <commit>``) and runs
as its own processes (``python -m plugin_host.cli`` with the worktree as the working folder, so its packages are
imported before the installed ones). One ``labeldesk mailbox serve --data`` of this checkout plays Gmail for the
whole scenario and keeps its mail between processes:

1. **old**: customers write (some of them days ago, so the SLA has breached; a ticket's first answer is due in two
   minutes, so the next versions' sweeps warn about the tickets this one opened), cron's ``labeldesk sync`` acknowledges,
   ``labeldesk sweep`` alerts the team lead, ``serve`` runs while an agent presses an add-on Insert button (a line
   in ``kb-feedback.jsonl``), then more customers write and a ``sync`` is killed with SIGKILL once it has sent a
   few acknowledgements; a last batch of mail arrives and nobody reads it;
2. **upgrade**: this checkout's ``sync``, ``sweep`` and ``serve`` (with a customer writing while it runs) on the same
   mailbox and state folder;
3. **rollback**: the older code again on the state folder this checkout wrote, with new mail (one of its sweeps
   killed with SIGKILL once it has mailed two alerts); then this checkout's ``sync`` and ``sweep`` once more.

Some customers write in Russian under a subject long enough to fold (each version encodes it its own way, and the
local mailbox, like Gmail, threads an acknowledgement only under the customer's subject). An agent answers a
breached ticket before each step's runs (the breach task the older code made is completed by this checkout; one
answered under the older code is completed once this checkout runs again; a task this checkout completed is not
made again by the older code, nor alerted again).

After each step it reads Sent: every automatic message per (thread, recipient, X-Labeldesk key) must be there once,
and every customer's thread must be acknowledged; and the breach tasks: one per key, those of answered tickets
completed by the end (the older code does not complete tasks), with one line why. It also lists tracebacks, warnings and errors in the processes'
output. Exit status 1 when anything was sent twice, missed, or a traceback was printed.

    python benchmarks/upgrade.py COMMIT [COMMIT...] [--keep]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.soak import BASE, CLIENT, SA, b64, free_port, gmail, serve_certs, wait_for, write_articles  # noqa: E402
from tests.conftest import make_email  # noqa: E402
from email.header import Header, decode_header, make_header  # noqa: E402

from googleapiclient.discovery import build  # noqa: E402
import httplib2  # noqa: E402
from tests.tokens import TokenSigner  # noqa: E402

PYTHON = sys.executable
AGENT = "anna.kowalska@example.com"
RUSSIAN = "Возврат денег за заказ {n} — курьер не приехал, а деньги списали дважды"  # folds into encoded words
TASK_KEY = re.compile(r"\[labeldesk:(breach:[^\]]+)\]")


def worktree(commit: str) -> Path:
    """The older code, checked out once beside this one."""
    path = Path(f"/tmp/r38-{commit}")
    if not path.exists():
        subprocess.run(["git", "worktree", "add", "-f", "--detach", str(path), commit], cwd=ROOT, check=True,
                       capture_output=True)
    return path


def write_config(work: Path, mailbox_port: int, certs_url: str) -> Path:
    """A configuration every version reads (no key a 2026-12-06 version would refuse)."""
    path = work / "labeldesk.toml"
    path.write_text(f"""[mailbox]
address = "support@example.com"
api_root = "http://127.0.0.1:{mailbox_port}/"

[agents]
"{AGENT}" = {{ first_name = "Anna", last_name = "Kowalska" }}

[plugins]
enabled = ["autoreply", "sla", "kb_suggest"]

[plugins.sla]
team_lead = "lead@example.com"
business_hours = false
targets.normal = {{ first_response = "2m" }}  # tickets breach while the versions take turns

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
poll_seconds = 3
sweep_minutes = 60
""")
    return path


class Scenario:
    """One commit's upgrade and rollback: the mailbox, the state folder and what every process printed."""

    def __init__(self, commit: str, work: Path, mailbox_port: int, config: Path, signer: TokenSigner):
        self.commit, self.work, self.port, self.config, self.signer = commit, work, mailbox_port, config, signer
        self.old = worktree(commit)
        self.g = gmail(mailbox_port)
        self.customers: dict[str, str] = {}  # thread id → customer address, of the mail to acknowledge
        self.asked: dict[str, tuple[str, str, str]] = {}  # thread id → (customer, subject, Message-ID), all mail
        self.breached: list[str] = []  # threads of mail days old, in order
        self.answered: list[str] = []  # breached threads an agent has answered
        self.n = 0
        self.outputs: list[tuple[str, str]] = []  # (step, stderr+stdout)
        self.kills: list[tuple[str, str, int]] = []  # (step, command, messages it sent before SIGKILL)

    # -- the mailbox's side ----------------------------------------------------------------------
    def customer_writes(self, count: int, days_ago: float = 0.0, russian: bool = False) -> None:
        for _ in range(count):
            self.n += 1
            address = f"customer{self.n}@example{self.n}.org"
            when = datetime.now(timezone.utc) - timedelta(days=days_ago)
            subject = RUSSIAN.format(n=self.n) if russian else f"My refund #{self.n}"
            message_id = f"<c{self.n}.{int(time.time())}@example.org>"
            raw = make_email(sender=f"Customer {self.n} <{address}>", subject="PLACEHOLDER", message_id=message_id,
                             date=when, body=f"Hello, how do I fix my refund? Order {self.n}.")
            # as Gmail writes it: encoded words with their spaces inside (no words glued on the way in)
            raw = raw.replace(b"Subject: PLACEHOLDER", b"Subject: " + Header(subject, "utf-8").encode().encode())
            sent = self.g.users().messages().import_(userId="me", internalDateSource="dateHeader",
                                                     body={"raw": b64(raw), "labelIds": ["INBOX", "UNREAD"]}).execute()
            self.asked[sent["threadId"]] = (address, subject, message_id)
            if not days_ago:  # mail days old is labelled and alerted, never acknowledged that late
                self.customers[sent["threadId"]] = address
            else:
                self.breached.append(sent["threadId"])

    def agent_answers(self) -> None:
        """Anna answers the oldest breached ticket nobody has answered, from the support address in Gmail."""
        thread = next(t for t in self.breached if t not in self.answered)
        address, subject, message_id = self.asked[thread]
        raw = make_email(sender="Anna Kowalska <support@example.com>", to=address, subject="PLACEHOLDER",
                         in_reply_to=message_id, message_id=f"<a{len(self.answered)}.{int(time.time())}@example.com>",
                         body="We have refunded it today.\nAnna Kowalska")
        raw = raw.replace(b"Subject: PLACEHOLDER", b"Subject: " + Header("Re: " + subject, "utf-8").encode().encode())
        self.g.users().messages().send(userId="me", body={"raw": b64(raw), "threadId": thread}).execute()
        self.answered.append(thread)

    def breach_tasks(self) -> list[dict]:
        """The breach tasks in the team lead's list, completed and hidden ones included, with the key each carries."""
        api = build("tasks", "v1", static_discovery=True, http=httplib2.Http(timeout=60),
                    client_options={"api_endpoint": f"http://127.0.0.1:{self.port}/"})
        out = []
        for tasklist in api.tasklists().list().execute().get("items", []):
            if tasklist["title"] != "Labeldesk escalations":
                continue
            for task in api.tasks().list(tasklist=tasklist["id"], showHidden=True, maxResults=100).execute().get(
                    "items", []):
                keys = TASK_KEY.findall(task.get("notes") or "")
                if keys:
                    out.append({"key": keys[0], "thread": keys[0].split(":")[1], "status": task.get("status"),
                                "why": sum(1 for line in (task.get("notes") or "").splitlines()
                                           if line.startswith(("Answered by ", "Resolved as of ")))})
        return out

    def sent(self) -> list[dict]:
        """Every automatic message in the mailbox (Sent, Trash and Spam included): thread, recipient, key."""
        out, token = [], None
        while True:
            page = self.g.users().messages().list(userId="me", q="in:sent", maxResults=500, pageToken=token,
                                                  includeSpamTrash=True).execute()
            for ref in page.get("messages", []):
                msg = self.g.users().messages().get(userId="me", id=ref["id"], format="metadata",
                                                    metadataHeaders=["X-Labeldesk", "To", "Subject"]).execute()
                names = {h["name"].lower(): h["value"] for h in msg["payload"].get("headers", [])}
                if "x-labeldesk" in names:
                    out.append({"id": msg["id"], "thread": msg["threadId"], "to": names.get("to", "").lower(),
                                "key": names["x-labeldesk"], "subject": names.get("subject", "")})
            token = page.get("nextPageToken")
            if not token:
                return out

    # -- running a version -----------------------------------------------------------------------
    def cli(self, step: str, code: Path, *args: str, timeout: float = 600) -> int:
        proc = subprocess.run([PYTHON, "-m", "plugin_host.cli", *args, "--config", str(self.config)], cwd=code,
                              capture_output=True, text=True, timeout=timeout)
        self.outputs.append((step, proc.stderr + proc.stdout))
        return proc.returncode

    def killed(self, step: str, code: Path, command: str, after_sends: int = 3) -> int:
        """A ``sync`` or ``sweep`` killed with SIGKILL once it has sent ``after_sends`` messages (or after 120 s)."""
        before = len(self.sent())
        log = (self.work / "killed.log").open("w+")
        proc = subprocess.Popen([PYTHON, "-m", "plugin_host.cli", command, "--config", str(self.config)], cwd=code,
                                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline and len(self.sent()) - before < after_sends:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        log.seek(0)
        self.outputs.append((step, log.read()))
        self.kills.append((step, command, len(self.sent()) - before))
        return len(self.sent()) - before

    def serve(self, step: str, code: Path, during) -> None:
        """``labeldesk serve`` for as long as ``during(port)`` takes, then SIGTERM."""
        port = free_port()
        log = (self.work / "serve.log").open("w+")
        proc = subprocess.Popen([PYTHON, "-m", "plugin_host.cli", "serve", "--config", str(self.config),
                                 "--port", str(port)], cwd=code, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(f"http://127.0.0.1:{port}/healthz")
            during(port)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.seek(0)
            self.outputs.append((step, log.read()))

    def agent_inserts(self, port: int) -> None:
        """An agent opens a ticket in the side panel and presses its first Insert button."""
        import requests

        def post(path, **event):
            body = {"commonEventObject": {"hostApp": "GMAIL", "platform": "WEB"}, "gmail": event,
                    "authorizationEventObject": {"userIdToken": self.signer.token(CLIENT, AGENT)}}
            if "parameters" in event:
                body["commonEventObject"]["parameters"] = event.pop("parameters")
            headers = {"Authorization": "Bearer " + self.signer.token(BASE + path, SA)}
            return requests.post(f"http://127.0.0.1:{port}{path}", json=body, headers=headers, timeout=120)

        thread = list(self.customers)[-1]  # a new ticket each time
        card = post("/addon/message", threadId=thread)
        buttons = re.findall(r'"parameters": (\[[^\]]*"kb\.insert_(?:answer|link)"[^\]]*\])', json.dumps(card.json()))
        if not buttons:
            self.outputs.append(("insert", f"ERROR no insert button on the card ({card.status_code})"))
            return
        params = {p["key"]: p["value"] for p in json.loads(buttons[0])}
        pressed = post("/addon/action", threadId=thread, parameters={**params, "threadId": thread})
        if pressed.status_code != 200:
            self.outputs.append(("insert", f"ERROR insert answered {pressed.status_code}"))

    def wait_acknowledged(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.unacknowledged():
            time.sleep(1)

    # -- what the mailbox shows ----------------------------------------------------------------------
    def unacknowledged(self) -> list[str]:
        acked = {m["thread"] for m in self.sent() if m["key"].startswith("ack")}
        return [t for t in self.customers if t not in acked]

    def acked_elsewhere(self) -> list[str]:
        """Customers' threads whose acknowledgement went to the customer in a thread of its own (a subject
        that no longer matched the customer's, which Gmail does not thread)."""
        acks = [m for m in self.sent() if m["key"].startswith("ack")]
        return [t for t in self.unacknowledged() if any(m["to"].endswith(self.customers[t]) or
                                                        self.customers[t] in m["to"] for m in acks)]

    def check(self, step: str, before: set) -> dict:
        """What the mailbox shows after ``step``; ``before``: the ids of the automatic mail sent until then."""
        sent = self.sent()
        twice = {k: n for k, n in Counter((m["thread"], m["to"], m["key"]) for m in sent).items() if n > 1}
        # The same alert about the same ticket, or a second acknowledgement to one customer, under another key
        # (a key format that changed between versions would not show above).
        same = Counter(("ack", m["to"]) if m["key"].startswith("ack") else tuple(m["key"].split(":")[:3])
                       for m in sent)
        new = [m for m in sent if m["id"] not in before]
        text = "\n".join(out for name, out in self.outputs if name.startswith(step))
        with (self.work / "outputs.txt").open("a") as fh:
            fh.write(f"===== {step}\n{text}\n")
        return {"step": step, "sent": len(sent),
                "acks": sum(1 for m in new if m["key"].startswith("ack")),
                "alerts": sum(1 for m in new if m["key"].startswith("notify")),
                "twice": len(twice) + sum(1 for n in same.values() if n > 1),
                "twice_keys": sorted({k[2] for k in twice} | {":".join(k) for k, n in same.items() if n > 1})[:5],
                "unacknowledged": len(self.unacknowledged()),
                "acked_in_another_thread": len(self.acked_elsewhere()), "ack_subject_changed": self.glued(),
                **self.task_check(),
                "tracebacks": text.count("Traceback"),
                "killed": [f"{command} after {n} sent" for name, command, n in self.kills if name == step],
                "inserts": len(self.work.joinpath("state", "kb-feedback.jsonl").read_text().splitlines()),
                "said": sorted({line.strip()[:220] for line in text.splitlines()
                                if re.search(r"WARNING|ERROR|Error:|full sync|damaged|another Labeldesk version", line)
                                and "waitress" not in line})[:12]}

    def glued(self) -> int:
        """Acknowledgements whose Subject, decoded by RFC 2047's rules (as Gmail shows it), is not "Re: " and the
        customer's own (words glued by the folding, or a subject cut)."""
        asked = {address: subject for address, subject, _ in self.asked.values()}
        return sum(1 for m in self.sent() if m["key"].startswith("ack")
                   for address, subject in asked.items() if address in m["to"]
                   and " ".join(str(make_header(decode_header(m["subject"]))).split()) != "Re: " + subject)

    def task_check(self) -> dict:
        """Breach tasks: made twice (one key, two tasks), open though answered, more than one line why."""
        tasks = self.breach_tasks()
        keys = Counter(t["key"] for t in tasks)
        return {"tasks": len(tasks), "tasks_open": sum(t["status"] != "completed" for t in tasks),
                "tasks_twice": sum(1 for n in keys.values() if n > 1),
                "answered": len(self.answered),
                "answered_open": sorted({t["thread"] for t in tasks
                                         if t["thread"] in self.answered and t["status"] != "completed"}),
                "why_twice": sum(1 for t in tasks if t["why"] > 1)}

    def run(self) -> list[dict]:
        old, new, rows = self.old, ROOT, []
        seen: set[str] = set()

        def step(name):
            row = self.check(name, seen)
            seen.update(m["id"] for m in self.sent())
            rows.append(row)
            print(json.dumps(row), flush=True)

        # 1. the older version in use
        self.customer_writes(4, days_ago=3)  # breached by now
        self.customer_writes(3)
        self.customer_writes(2, russian=True)
        self.cli("old", old, "sync")
        self.cli("old", old, "sweep")
        self.serve("old", old, self.agent_inserts)
        self.customer_writes(25)
        due = time.time() + 150  # these tickets' first answers are overdue by then
        self.killed("old", old, "sync")
        self.customer_writes(3)  # arrives while nothing runs
        step("old")
        # 2. the upgrade
        self.agent_answers()  # the breach task the older code made: completed by this checkout's sync
        self.cli("upgrade", new, "sync")
        self.cli("upgrade", new, "sweep")
        self.serve("upgrade", new, lambda port: (self.customer_writes(2), self.wait_acknowledged(),
                                                  self.agent_inserts(port)))
        step("upgrade")
        # 3. the rollback
        self.customer_writes(3, days_ago=3)
        self.customer_writes(2)
        self.customer_writes(1, russian=True)
        self.agent_answers()  # answered under the older code: its task is completed when this checkout runs again
        self.cli("rollback", old, "sync")
        time.sleep(max(0.0, due - time.time()))
        self.killed("rollback", old, "sweep", after_sends=2)  # the first tickets' at-risk warnings and breaches
        self.cli("rollback", old, "sweep")
        self.serve("rollback", old, lambda port: (self.customer_writes(2), self.wait_acknowledged(),
                                                   self.agent_inserts(port)))
        step("rollback")
        # 4. and forward again
        self.customer_writes(2)
        self.customer_writes(1, russian=True)
        self.agent_answers()  # another task the older code made, answered just before this checkout runs again
        self.cli("again", new, "sync")
        self.cli("again", new, "sweep")
        step("again")
        return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("commits", nargs="+")
    parser.add_argument("--keep", action="store_true", help="keep each commit's work folder")
    args = parser.parse_args()
    signer = TokenSigner()
    certs, certs_url = serve_certs(signer)
    failed = False
    try:
        for commit in args.commits:
            work = Path(tempfile.mkdtemp(prefix=f"labeldesk-upgrade-{commit}-"))
            (work / "kb").mkdir()
            write_articles(work / "kb", n=20)
            port = free_port()
            mailbox = subprocess.Popen([PYTHON, "-m", "plugin_host.cli", "mailbox", "serve", "--port", str(port),
                                        "--data", str(work / "mailbox")], cwd=ROOT,
                                       stdout=subprocess.DEVNULL, stderr=(work / "mailbox.log").open("w"))
            try:
                wait_for(f"http://127.0.0.1:{port}/gmail/v1/users/me/profile")
                print(f"== {commit} (work folder {work})", flush=True)
                rows = Scenario(commit, work, port, write_config(work, port, certs_url), signer).run()
                failed |= any(r["twice"] or r["unacknowledged"] or r["tracebacks"] or r["tasks_twice"]
                              or r["why_twice"] for r in rows) or bool(rows[-1]["answered_open"])
            finally:
                mailbox.terminate()
                mailbox.wait()
            if not args.keep:
                subprocess.run(["rm", "-rf", str(work)])
    finally:
        certs.shutdown()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
