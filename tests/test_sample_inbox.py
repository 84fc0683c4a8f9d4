"""The sample support inbox is realistic, deterministic and loads into the local mailbox."""
from __future__ import annotations

import email
import email.policy
from collections import defaultdict
from datetime import datetime, timezone

from plugin_host.language import detect_language
from plugin_host.loopguard import automatic_reason
from plugin_host.mailbox import LocalMailbox
from plugin_host.mailbox.sample import new_customer_message, sample_inbox
from plugin_host.text import customer_text

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def parsed():
    return [(seed, email.message_from_bytes(seed.raw, policy=email.policy.default)) for seed in sample_inbox(NOW)]


def test_at_least_40_threads_in_three_languages():
    threads = defaultdict(list)
    for seed, msg in parsed():
        threads[seed.thread_key].append(msg)
    assert len(threads) >= 40
    languages = {detect_language(f"{m[0]['Subject']}\n{customer_text(m[0])}") for m in threads.values()}
    assert {"en", "ru", "pl"} <= languages


def test_scenarios_are_present_by_their_headers():
    messages = [m for _, m in parsed()]
    assert any(m.get_content_type() == "multipart/report" and m["Return-Path"] == "<>" for m in messages)
    assert any(m["Auto-Submitted"] == "auto-replied" and "reply" in m["Subject"].lower() for m in messages)
    assert any(m["List-Id"] for m in messages)
    assert any(m.get_content_type() == "text/html" for m in messages)
    assert any(any(p.get_filename() for p in m.walk()) for m in messages)
    assert any((m.get_content_charset() or "") in ("koi8-r", "iso-8859-2") for m in messages)
    names = [str(m["From"]) for m in messages]
    assert any("Łukasz Wiśniewski" in n for n in names) and any("Мария Иванова" in n for n in names)
    assert any(m["To"] and "help@example.com" in str(m["To"]) for m in messages)
    automatic = [m for m in messages if automatic_reason(m)]
    assert len(automatic) >= 4  # bounce, out-of-office, list, newsletter


def test_threading_headers_point_inside_the_thread():
    ids = defaultdict(set)
    for seed, msg in parsed():
        ids[seed.thread_key].add(msg["Message-ID"])
    for seed, msg in parsed():
        if msg["In-Reply-To"]:
            assert msg["In-Reply-To"] in ids[seed.thread_key]


def test_deterministic_and_loads_into_the_mailbox():
    assert [s.raw for s in sample_inbox(NOW)] == [s.raw for s in sample_inbox(NOW)]
    local = LocalMailbox(seed="sample", now=NOW)
    assert len(local.mailbox.threads) >= 40
    assert len(local.mailbox.threads) == len({s.thread_key for s in sample_inbox(NOW)})
    assert new_customer_message(3, NOW) == new_customer_message(3, NOW)
    assert new_customer_message(3, NOW) != new_customer_message(4, NOW)
