"""Every kind of mail Labeldesk sends, made through the product on the local mailbox, checked as a receiver would.

Kinds: acknowledgements (English, Russian, Polish; in and out of office hours; with help-article links), SLA
notifications (at risk, breached, still unanswered) and the side panel's reply drafts (Insert answer, Insert link).
Each message is taken as the raw RFC 822 bytes the local mailbox stored (after it completed the headers as Gmail
does on send), then:

- its Subject read by RFC 2047's rules (as Gmail reads it): is every word of the customer's subject still a word?
- parsed with the email package's strict policy (``raise_on_defect``), defects listed;
- scored by SpamAssassin's local tests (``spamassassin -L -t``, no network) when it is installed
  (``apt-get install spamassassin``), the rules that fired listed.

    python benchmarks/outbound_mail.py [--out DIR]   # DIR keeps the .eml files and the HTML parts
"""
from __future__ import annotations

import argparse
import email
import email.policy
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plugin_host.config import load_config  # noqa: E402
from plugin_host.mailbox import LocalMailbox  # noqa: E402
from plugin_host.mailbox.sample import SAMPLE_KB  # noqa: E402
from plugin_host.runtime import build_host  # noqa: E402
from plugin_host.sync import ChangeFeed  # noqa: E402
from tests.conftest import deliver, make_email  # noqa: E402

AGENTS = {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska", "title": "Support Engineer"},
          "ivan.petrov@example.com": {"first_name": "Иван", "last_name": "Петров", "title": "Инженер поддержки"},
          "pawel@example.com": {"first_name": "Paweł", "last_name": "Wiśniewski"}}
# (key, sender, subject, body): what customers write; the acknowledgement of each is one kind of outgoing mail.
CUSTOMERS = [
    ("en", "Jane Cooper <jane@example.org>", "Refund for a duplicate charge",
     "Hello, I was charged twice for order 1234. How do refunds work? Please send the money back."),
    ("ru", "Мария Иванова <maria@example.ru>", "Возврат денег за заказ 5512 — курьер не приехал, а деньги списали дважды",
     "Здравствуйте! Хочу вернуть товар и получить деньги обратно. Как оформить возврат?"),
    ("pl", "Paweł Wiśniewski <pawel.w@example.pl>",
     "Zwrot zamówienia nr 7781 — paczka dotarła uszkodzona, proszę o pilny kontakt w sprawie wymiany lub zwrotu",
     "Dzień dobry, paczka przyszła uszkodzona. Jak zwrócić towar i odzyskać pieniądze?"),
    ("markup", '"<b>Eve</b> \\"the\\" O\'Hara" <eve@example.net>', "<script>alert(1)</script> & \"quotes\"",
     "Hi, <b>bold</b> question: how do refunds work? I was charged twice and want my money back."),
    ("rtl", "محمد علي <m@example.org>", "استرداد المبلغ — refund for order 4410",
     "Hello, how do refunds work? I was charged twice for order 4410."),
]


def settings(tmp: Path) -> dict:
    return {"mailbox": {"address": "support@example.com"}, "agents": AGENTS,
            "plugins": {"enabled": ["autoreply", "sla", "kb_suggest"],
                        "autoreply": {"hours": "Mon-Fri 09:00-18:00", "timezone": "Europe/Warsaw", "articles": 2},
                        "sla": {"hours": "Mon-Fri 09:00-18:00", "timezone": "Europe/Warsaw",
                                "team_lead": "lead@example.com", "targets": {"normal": {"first_response": "4h"}}},
                        "kb_suggest": {"articles": str(SAMPLE_KB), "semantic": "off"}},
            "host": {"state_dir": str(tmp / "state")}}


def produce(tmp: Path) -> dict[str, bytes]:
    """{kind: raw bytes} of every kind of outgoing mail, made through the host on a local mailbox."""
    config = load_config(tmp / "labeldesk.toml", data=settings(tmp), environ={})
    local = LocalMailbox("support@example.com")
    clock = {"now": datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)}  # a Monday, 10:30 in Warsaw
    host = build_host(config, http=local.http, now=lambda: clock["now"])
    host.client.sleep = lambda s: None
    gmail, feed, threads = local.gmail(), ChangeFeed(host), {}
    feed.sync()
    for key, sender, subject, body in CUSTOMERS:
        ref = deliver(gmail, make_email(sender=sender, subject=subject, body=body, date=clock["now"],
                                        message_id=f"<{key}-1@customer.example>"))
        local.mailbox.messages[ref["id"]].internal_date = int(clock["now"].timestamp() * 1000)
        threads[key] = ref["threadId"]
    feed.sync()
    clock["now"] = datetime(2026, 11, 23, 19, 30, tzinfo=timezone.utc)  # 20:30 in Warsaw: out of office hours
    ref = deliver(gmail, make_email(sender="Late Larry <larry@example.org>", subject="Invoice copy", date=clock["now"],
                                    body="Can you send me a copy of my invoice?", message_id="<late@customer.example>"))
    local.mailbox.messages[ref["id"]].internal_date = int(clock["now"].timestamp() * 1000)
    feed.sync()
    clock["now"] = datetime(2026, 11, 23, 12, 50, tzinfo=timezone.utc)  # 3h20 of 4h: at risk
    host.sweep()
    clock["now"] = datetime(2026, 11, 24, 14, 0, tzinfo=timezone.utc)  # long past: breached, then still unanswered
    host.sweep()
    anna = next(iter(config.agents.values()))
    for key in [k for k, *_ in CUSTOMERS]:  # the side panel's Insert answer and Insert link, each a new draft
        ticket = host.ticket(threads[key])
        best = host.pm.hook.suggest_articles(text=ticket.question, language=ticket.language, limit=1, settings=config)
        for button in ("kb.insert_answer", "kb.insert_link") if best else ():
            reply = host.card_action(button, {"article": best[0].article_id}, {}, threads[key], anna)
            host.reply_draft(host.ticket(threads[key]), anna, reply.insert_text, reply.insert_type, reply.insert_plain)
    return collect(local)


def collect(local) -> dict[str, bytes]:
    """The mailbox's sent mail and drafts, each named by its kind; a draft as it goes out when the agent sends it
    (Gmail adds the Date then, as the local mailbox does on send)."""
    from plugin_host.mailbox.gmail_api import complete_outgoing

    found: dict[str, bytes] = {}
    for message in local.mailbox.messages.values():
        raw = message.raw if "DRAFT" not in message.label_ids else complete_outgoing(message.raw, local.mailbox)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        labels = set(message.label_ids)
        if "SENT" not in labels and "DRAFT" not in labels:
            continue
        subject = str(msg.get("Subject", ""))
        customer = next((k for k, _, asked, _ in CUSTOMERS if asked.split()[0] in subject), "larry")
        if "DRAFT" in labels:  # the answer first, then the link (the order produce() presses the buttons)
            name = f"draft-{customer}-answer" if f"draft-{customer}-answer" not in found else f"draft-{customer}-link"
        else:
            marker = str(msg.get("X-Labeldesk", "")) or "agent"
            name = f"sent-{customer}-" + "-".join(marker.split(":")[:2])
        found[name] = raw
    return dict(sorted(found.items()))


def subject_intact(raw: bytes) -> bool:
    """Whether every word of the customer's subject is a word of the Subject as RFC 2047 readers (Gmail) read it."""
    from email.header import decode_header, make_header

    read = str(make_header(decode_header(email.message_from_bytes(raw, policy=email.policy.compat32)["Subject"])))
    asked = next((s for _, _, s, _ in CUSTOMERS if s.split()[0] in read), "Invoice copy")
    return set(asked.split()) <= set(read.split())


def strict_defects(raw: bytes) -> list[str]:
    """What the email package's strict policy refuses or notes in ``raw`` (header and part defects)."""
    problems = []
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.strict)
    except Exception as exc:  # noqa: BLE001 - every refusal is a finding
        return [f"strict parse: {type(exc).__name__}: {exc}"]
    for part in msg.walk():
        problems += [f"{part.get_content_type()}: {type(d).__name__}" for d in part.defects]
        for name, value in part.items():
            problems += [f"{name}: {type(d).__name__}" for d in getattr(value, "defects", ())]
    problems += [f"line of {len(line)} octets" for line in raw.split(b"\n") if len(line.rstrip(b"\r")) > 998]
    return problems


def spam_score(raw: bytes) -> tuple[str, list[str]]:
    """SpamAssassin's local verdict: (score, rules fired); ("n/a", []) without SpamAssassin."""
    if not shutil.which("spamassassin"):
        return "n/a", []
    report = subprocess.run(["spamassassin", "-L", "-t"], input=raw, capture_output=True, timeout=120).stdout
    text = report.decode("utf-8", "replace")
    status = re.search(r"^X-Spam-Status: \w+, score=(-?[\d.]+)[^\n]*(?:\n\s+[^\n]*)*", text, re.M)
    score = status.group(1) if status else "?"
    tests = re.search(r"tests=([^\n]*(?:\n\s+[^\n]*)*?)\s*autolearn", status.group(0)) if status else None
    rules = [r for r in re.split(r"[,\s]+", tests.group(1)) if r and "=" not in r] if tests else []
    return score, rules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="folder for the .eml files and their HTML parts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        mails = produce(Path(tmp))
    print("| mail | subject words kept | strict defects | SpamAssassin score | rules fired |")
    print("|---|---|---|---|---|")
    for name, raw in mails.items():
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / f"{name}.eml").write_bytes(raw)
            for i, part in enumerate(email.message_from_bytes(raw, policy=email.policy.default).walk()):
                if part.get_content_type() == "text/html":
                    (args.out / f"{name}.{i}.html").write_text(part.get_content(), encoding="utf-8")
        defects = strict_defects(raw)
        score, rules = spam_score(raw)
        kept = "yes" if subject_intact(raw) else "**no**"
        print(f"| {name} | {kept} | {'; '.join(defects) or 'none'} | {score} | {', '.join(rules)} |")


if __name__ == "__main__":
    main()
