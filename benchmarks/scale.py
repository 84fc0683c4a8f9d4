"""Labeldesk at realistic scale, on the local mailbox: time, Gmail calls and quota, peak memory, progress output.

Builds a mailbox of ``--threads`` conversations over 60 days (English, Russian and Polish questions from the
benchmark sets; agents' replies, customers' follow-ups, user labels, archived resolved threads, one
100-message thread) and a folder of ``--articles`` Markdown articles, then measures, each in turn:

- the first full sync (``full_sync_days`` = 60, so every thread is read) and an incremental sync after 100 new
  mails (half new tickets, half follow-ups);
- a sweep;
- ``labeldesk report --since 60d`` and ``labeldesk kb gaps --since 60d`` (through the real commands, the host
  pointed at the in-process mailbox);
- ``labeldesk kb index``: cold, after ``touch`` of 10 files, after editing 10 files;
- the add-on's contextual card on the 100-message thread (first open, and reopened unchanged).

Several sizes in one run show how each step grows: a step whose time per thread rises with the size is
super-linear. Peak memory is the process's peak RSS during the step (Linux ``clear_refs``). Absolute times
are noisy on the shared machine; compare sizes and repeats within one run.

    python benchmarks/scale.py [--sizes 1250,2500,5000] [--articles 2000] [--repeat 1] [--profile STEP]
"""
from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import pstats
import random
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from plugin_host.config import load_config  # noqa: E402
from plugin_host.mailbox import LocalMailbox  # noqa: E402
from plugin_host.runtime import build_host  # noqa: E402
from plugin_host.sync import ChangeFeed  # noqa: E402

DATA = Path(__file__).parent / "data"
SETS = ["saas", "delivery", "smarthome", "courses", "ru_bank", "ru_cinema", "ru_telecom", "pl_shop", "pl_fitness"]
SUPPORT = "support@example.com"
AGENTS = {"anna.kowalska@example.com": ("Anna", "Kowalska"), "ivan.petrov@example.com": ("Ivan", "Petrov"),
          "sam.taylor@example.com": ("Sam", "Taylor")}
USER_LABELS = ["Billing", "Bug", "VIP", "Feature request"]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
LONG_THREAD = 100


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def questions() -> list[dict]:
    return [q for name in SETS for q in _jsonl(DATA / name / "queries.jsonl") if q.get("text")]


def _email(sender: str, to: str, subject: str, body: str, when: datetime, message_id: str,
           reply_to: list[str] = ()) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = message_id
    if reply_to:
        msg["In-Reply-To"] = reply_to[-1]
        msg["References"] = " ".join(reply_to)
    msg.set_content(body)
    return msg.as_bytes()


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _agent(rng: random.Random) -> str:
    first, last = AGENTS[rng.choice(sorted(AGENTS))]
    return f"{first} {last} <{SUPPORT}>"


def build_mailbox(threads: int, seed: int = 7) -> tuple[LocalMailbox, str]:
    """``threads`` conversations over 60 days; returns the mailbox and the 100-message thread's id."""
    rng = random.Random(seed)
    pool = questions()
    local = LocalMailbox(SUPPORT, clock=lambda: NOW.timestamp())
    box = local.mailbox
    user_labels = [box.create_label({"name": name})["id"] for name in USER_LABELS]
    for n in range(threads - 1):
        q = pool[n % len(pool)]
        customer = f"Customer {n} <c{n % (threads // 3 + 1)}@example.org>"  # some customers write again
        start = NOW - timedelta(minutes=rng.randrange(60 * 24 * 60))
        subject = q["text"][:60].rstrip() + ("…" if len(q["text"]) > 60 else "")
        ids = [f"<s{seed}-{n}-0@example.org>"]
        age = NOW - start
        labels = ["INBOX"] + (["UNREAD"] if age < timedelta(hours=12) else [])
        if rng.random() < 0.15:
            labels.append(rng.choice(user_labels))
        first = box.add_message(_email(customer, SUPPORT, subject, q["text"], start, ids[0]), labels,
                                internal_date=_ms(start))
        turns, at = [first], start
        for turn in range(1, rng.choice([1, 2, 2, 2, 3, 4])):  # agent, customer, agent, …
            at = at + timedelta(minutes=rng.randrange(20, 60 * 30))
            if at >= NOW:
                break
            ids.append(f"<s{seed}-{n}-{turn}@example.org>")
            if turn % 2:
                raw = _email(_agent(rng), customer, "Re: " + subject,
                             f"Hello,\n\nthank you for writing. {rng.choice(pool)['text']}\n\nBest regards", at, ids[-1],
                             ids[:-1])
                turns.append(box.add_message(raw, ["SENT"], thread_id=first.thread_id, internal_date=_ms(at)))
            else:
                raw = _email(customer, SUPPORT, "Re: " + subject, rng.choice(["Thanks, that helped!", q["text"]]),
                             at, ids[-1], ids[:-1])
                turns.append(box.add_message(raw, ["INBOX"], thread_id=first.thread_id, internal_date=_ms(at)))
        answered = len(turns) % 2 == 0
        if answered and age > timedelta(days=3):  # resolved long ago: archived
            box.modify([m.id for m in turns], [], ["INBOX"])
    long_id = _long_thread(box, rng, pool)
    box.history.clear()  # the history before the first sync is not the benchmark's
    return local, long_id


def _long_thread(box, rng: random.Random, pool: list[dict]) -> str:
    customer = "Jane Long <jane.long@example.org>"
    subject = "Our integration keeps failing"
    ids, thread_id = [], None
    for i in range(LONG_THREAD):
        at = NOW - timedelta(hours=LONG_THREAD + 2 - i)
        ids.append(f"<long-{i}@example.org>")
        if i % 2:
            raw, labels = _email(_agent(rng), customer, "Re: " + subject, f"Update {i}: {rng.choice(pool)['text']}",
                                 at, ids[-1], ids[:-1][-20:]), ["SENT"]
        else:
            raw, labels = _email(customer, SUPPORT, ("Re: " if i else "") + subject,
                                 f"Message {i}: {rng.choice(pool)['text']}", at, ids[-1], ids[:-1][-20:]), ["INBOX"]
        thread_id = box.add_message(raw, labels, thread_id=thread_id, internal_date=_ms(at)).thread_id
    return thread_id


def build_articles(folder: Path, count: int, seed: int = 11) -> list[Path]:
    """``count`` Markdown articles: the benchmark sets' articles, repeated with a variant word of their own."""
    rng = random.Random(seed)
    source = [{**a, "set": name} for name in SETS for a in _jsonl(DATA / name / "articles.jsonl")]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        a = source[i % len(source)]
        copy = i // len(source)
        sub = folder / a["set"]
        sub.mkdir(exist_ok=True)
        title = a["title"] + (f" (variant {copy})" if copy else "")
        body = a["body"] + (f"\n\nApplies to plan {copy}-{rng.randrange(1000)}.\n" if copy else "\n")
        path = sub / f"{a['id']}-{copy}.md"
        path.write_text(f"---\ntitle: {json.dumps(title, ensure_ascii=False)}\nurl: https://help.example.com/{i}\n"
                        f"lang: {a.get('lang', 'en')}\n---\n{body}", encoding="utf-8")
        paths.append(path)
    return paths


# -- measuring -------------------------------------------------------------------------------


def _peak_rss_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


PROFILE: str | None = None


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def mailbox_digest(local: LocalMailbox) -> str:
    """What a step did to the mailbox (each message's labels, the messages sent): equal digests, equal results."""
    box = local.mailbox
    names = {label_id: label["name"] for label_id, label in box.labels.items()}
    return digest(repr(sorted((m.internal_date, m.parse().message_id or "", m.parse().subject or "",
                               sorted(names.get(l, l) for l in m.label_ids)) for m in box.messages.values())))


@contextmanager
def step(name: str, local: LocalMailbox, out: dict):
    """Time (wall and CPU), Gmail calls and units, peak RSS of what runs inside."""
    local.app.reset_counters()
    requests_before = local.http.requests
    _reset_peak()
    profile = cProfile.Profile() if PROFILE == name else None
    wall, cpu = time.perf_counter(), time.process_time()
    if profile:
        profile.enable()
    result: dict = {}
    yield result
    if profile:
        profile.disable()
    result.update({"seconds": round(time.perf_counter() - wall, 3), "cpu_seconds": round(time.process_time() - cpu, 3),
                   "calls": sum(local.app.calls.values()), "units": local.app.total_units,
                   "http_requests": local.http.requests - requests_before,
                   "calls_by_method": dict(sorted(local.app.calls.items())), "peak_rss_mb": _peak_rss_mb()})
    out[name] = result
    if profile:
        pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(40)


def _config(state: Path, kb: Path):
    data = {"mailbox": {"address": SUPPORT, "full_sync_days": 60},
            "agents": {a: {"first_name": f, "last_name": l} for a, (f, l) in AGENTS.items()},
            "plugins": {"enabled": ["autoreply", "sla", "kb_suggest"], "kb_suggest": {"articles": str(kb)}},
            "host": {"state_dir": str(state)}}
    return load_config(state / "labeldesk.toml", data=data, environ={})


def _cli(args: list[str], config, local) -> tuple[int, str, str]:
    """A ``labeldesk`` command as an admin runs it, its host on the in-process mailbox at ``NOW``."""
    from click.testing import CliRunner

    from plugin_host import cli as cli_module
    from plugin_host import runtime

    def host_from_cli(config_path=None, http=None):
        return build_host(config, http=local.http, now=lambda: NOW)

    cli_module._load_plugin_commands()
    with mock.patch.object(runtime, "host_from_cli", host_from_cli), \
            mock.patch("plugin_host.config.load_config", lambda *a, **k: config):
        result = CliRunner().invoke(cli_module.cli, args, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _new_mail(local: LocalMailbox, count: int, seed: int) -> None:
    """``count`` new mails: half new tickets, half customers' follow-ups in recent open threads."""
    rng = random.Random(seed)
    pool = questions()
    box = local.mailbox
    recent = sorted(box.threads, key=lambda t: -box.messages[box.threads[t][-1]].internal_date)[:count]
    for i in range(count):
        at = NOW - timedelta(minutes=count - i)
        q = rng.choice(pool)
        if i % 2:
            box.add_message(_email(f"New {i} <new{seed}-{i}@example.org>", SUPPORT, q["text"][:60], q["text"], at,
                                   f"<new{seed}-{i}@example.org>"), ["INBOX", "UNREAD"], internal_date=_ms(at))
        else:
            thread = recent[i]
            first = box.messages[box.threads[thread][0]].parse()
            box.add_message(_email(first.from_ or f"c <c{i}@example.org>",
                                   SUPPORT, "Re: " + (first.subject or ""), "Any news on this?", at,
                                   f"<new{seed}-{i}@example.org>", [first.message_id]),
                            ["INBOX", "UNREAD"], thread_id=thread, internal_date=_ms(at))


def measure(threads: int, articles: int) -> dict:
    out: dict = {"threads": threads, "articles": articles}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        state, kb = tmp / "state", tmp / "kb"
        state.mkdir()
        began = time.perf_counter()
        local, long_id = build_mailbox(threads)
        paths = build_articles(kb, articles)
        out["build_seconds"] = round(time.perf_counter() - began, 1)
        out["messages"] = len(local.mailbox.messages)
        config = _config(state, kb)

        with step("kb_index_cold", local, out) as r:
            code, stdout, stderr = _cli(["kb", "index"], config, local)
            r.update(exit=code, out=stdout.strip()[-200:], progress_output="Indexing articles" in stderr)
        for path in paths[:10]:
            os.utime(path)
        with step("kb_index_touched_10", local, out) as r:
            code, stdout, stderr = _cli(["kb", "index"], config, local)
            r.update(exit=code, out=stdout.strip()[-200:])
        for path in paths[10:20]:
            path.write_text(path.read_text(encoding="utf-8") + "\nEdited.\n", encoding="utf-8")
        with step("kb_index_edited_10", local, out) as r:
            code, stdout, stderr = _cli(["kb", "index"], config, local)
            r.update(exit=code, out=stdout.strip()[-200:])

        progress_calls = []
        host = build_host(config, http=local.http, now=lambda: NOW)
        feed = ChangeFeed(host, progress=lambda done, total: progress_calls.append((done, total)))
        with step("full_sync", local, out) as r:
            report = feed.sync()
            r.update(threads_processed=len(report.threads), failed=len(report.failed),
                     progress_updates=len(progress_calls))
        out["full_sync"]["mailbox_digest"] = mailbox_digest(local)
        _new_mail(local, 100, seed=1)
        with step("incremental_sync_100", local, out) as r:
            report = feed.sync()
            r.update(threads_processed=len(report.threads), failed=len(report.failed))
        out["incremental_sync_100"]["mailbox_digest"] = mailbox_digest(local)
        with step("sweep", local, out) as r:
            r.update(visited=len(host.sweep()))
        out["sweep"]["mailbox_digest"] = mailbox_digest(local)
        with step("report_60d", local, out) as r:
            code, stdout, stderr = _cli(["report", "--since", "60d", "--json"], config, local)
            data = json.loads(stdout) if code == 0 else {}
            r.update(exit=code, tickets=data.get("tickets"), stderr=stderr.strip()[-300:], result_digest=digest(stdout))
        with step("kb_gaps_60d", local, out) as r:
            code, stdout, stderr = _cli(["kb", "gaps", "--since", "60d", "--json"], config, local)
            r.update(exit=code, groups=len(json.loads(stdout)) if code == 0 else None, result_digest=digest(stdout),
                     progress_output="Reading questions" in stderr)
        out["addon_card"] = card(config, local, long_id)
    return out


def card(config, local: LocalMailbox, thread_id: str, runs: int = 20) -> dict:
    """The add-on's message card on the 100-message thread: first open (a new host), then reopened."""
    import responses

    from plugin_host.web import create_app
    from tests.tokens import TokenSigner, serve_certs
    from benchmarks.addon import BASE, CLIENT, SA, CERTS_URL

    config = load_config(config.path, data={**config_data(config), "addon": {
        "base_url": BASE, "service_account_email": SA, "oauth_client_id": CLIENT, "google_certs_url": CERTS_URL}},
        environ={})
    signer = TokenSigner()
    first, again, floor = [], [], []
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rmock:
        serve_certs(rmock, signer)
        body = {"commonEventObject": {"hostApp": "GMAIL"}, "gmail": {"threadId": thread_id},
                "authorizationEventObject": {"userIdToken": signer.token(CLIENT, "anna.kowalska@example.com")}}
        headers = {"Authorization": "Bearer " + signer.token(BASE + "/addon/message", SA)}
        for run in range(runs):
            host = build_host(config, http=local.http, now=lambda: NOW)
            client = create_app(host).test_client()
            local.app.reset_counters()
            t = time.perf_counter()
            assert client.post("/addon/message", json=body, headers=headers).status_code == 200
            first.append((time.perf_counter() - t) * 1000)
            units_first = local.app.total_units
            local.app.reset_counters()
            t = time.perf_counter()
            assert client.post("/addon/message", json=body, headers=headers).status_code == 200
            again.append((time.perf_counter() - t) * 1000)
            units_again = local.app.total_units
            t = time.perf_counter()
            host.client.get_thread(thread_id)
            floor.append((time.perf_counter() - t) * 1000)
    import statistics

    first, again = first[1:], again[1:]  # the first run builds the knowledge base
    return {"thread_messages": LONG_THREAD, "first_open_p50_ms": round(statistics.median(first), 1),
            "first_open_max_ms": round(max(first), 1), "reopen_p50_ms": round(statistics.median(again), 1),
            "threads_get_p50_ms": round(statistics.median(floor), 1), "units_first_open": units_first,
            "units_reopen": units_again}


def config_data(config) -> dict:
    return {"mailbox": {"address": SUPPORT, "full_sync_days": 60},
            "agents": {a: {"first_name": f, "last_name": l} for a, (f, l) in AGENTS.items()},
            "plugins": {"enabled": ["autoreply", "sla", "kb_suggest"],
                        "kb_suggest": {"articles": str(options_articles(config))}},
            "host": {"state_dir": str(config.state_path)}}


def options_articles(config):
    from plugins.kb_suggest import options

    return options(config).articles


def main() -> None:
    global PROFILE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1250,2500,5000")
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--profile", help="print a cProfile of this step to stderr (e.g. full_sync)")
    args = parser.parse_args()
    PROFILE = args.profile
    results = [measure(int(n), args.articles) for _ in range(args.repeat) for n in args.sizes.split(",")]
    print(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
