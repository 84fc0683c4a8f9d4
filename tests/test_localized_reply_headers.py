"""The customer's words in replies written by mail clients in their users' languages: each format Thunderbird,
Roundcube, K-9 Mail / Thunderbird for Android, Gmail and Outlook (Japanese) put above a quote or a forward, taken
from the clients' localization files (tests/data/localized_reply_headers.json, rendered by
benchmarks/localized_clients.py), must leave every word of the new text and none of the quote."""
from __future__ import annotations

import pytest

from benchmarks.localized_clients import cases, check

CASES = cases()
# Formats still not recognised (the case leaks its attribution or header into the question); see
# benchmarks/RESULTS.md, "Localized clients", for why each is left. Strict: a format that starts passing must leave.
KNOWN_GAPS = {
    "thunderbird/ru/wrote/name",
    "thunderbird/ru/wroteondate/name",
    "thunderbird/ru/wroteondate/name+address",
    "thunderbird/pl/wrote/name",
    "thunderbird/pl/wrote/name+address",
    "thunderbird/uk/wrote/name",
    "thunderbird/uk/wrote/name+address",
    "thunderbird/uk/ondate/name",
    "thunderbird/uk/wroteondate/name",
    "thunderbird/uk/wroteondate/name+address",
    "thunderbird/de/wrote/name",
    "thunderbird/de/wrote/name+address",
    "thunderbird/de/wroteondate/name",
    "thunderbird/de/wroteondate/name+address",
    "thunderbird/fr/wrote/name",
    "thunderbird/fr/wrote/name+address",
    "thunderbird/fr/wroteondate/name",
    "thunderbird/fr/wroteondate/name+address",
    "thunderbird/es/wrote/name",
    "thunderbird/es/wrote/name+address",
    "thunderbird/es/wroteondate/name",
    "thunderbird/es/wroteondate/name+address",
    "thunderbird/it/wrote/name",
    "thunderbird/it/wroteondate/name",
    "thunderbird/it/wroteondate/name+address",
    "thunderbird/pt/wrote/name",
    "thunderbird/pt/wroteondate/name",
    "thunderbird/pt/wroteondate/name+address",
    "thunderbird/nl/wrote/name",
    "thunderbird/nl/ondate/name",
    "thunderbird/nl/wroteondate/name",
    "thunderbird/nl/wroteondate/name+address",
    "thunderbird/sv/wrote/name",
    "thunderbird/sv/ondate/name",
    "thunderbird/sv/wroteondate/name",
    "thunderbird/sv/wroteondate/name+address",
    "thunderbird/cs/wrote/name",
    "thunderbird/cs/wrote/name+address",
    "thunderbird/cs/ondate/name",
    "thunderbird/cs/ondate/name+address",
    "thunderbird/cs/wroteondate/name",
    "thunderbird/cs/wroteondate/name+address",
    "thunderbird/tr/wrote/name",
    "thunderbird/tr/wrote/name+address",
    "thunderbird/tr/ondate/name",
    "thunderbird/tr/ondate/name+address",
    "thunderbird/tr/wroteondate/name",
    "thunderbird/tr/wroteondate/name+address",
    "thunderbird/zh/wrote/name",
    "thunderbird/zh/wrote/name+address",
    "thunderbird/zh/ondate/name",
    "thunderbird/zh/ondate/name+address",
    "thunderbird/zh/wroteondate/name",
    "thunderbird/zh/wroteondate/name+address",
    "roundcube/ru/wroteondate/name+address",
    "k9/pl/wrote/name+address",
    "k9/pl/ondate/name+address",
    "outlook/ja/header/name+address",
}


def test_every_harvested_format_is_rendered():
    assert len({(c.client, c.lang, c.kind) for c in CASES}) == 76
    assert all(c.name in {case.name for case in CASES} for c in CASES)
    assert KNOWN_GAPS <= {c.name for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_no_word_of_the_customers_new_text_is_cut(case):
    result = check(case)
    assert result["kept"], result


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_no_word_of_the_attribution_or_the_quote_is_the_customers(case, request):
    if case.name in KNOWN_GAPS:
        request.applymarker(pytest.mark.xfail(strict=True, reason="format not recognised yet"))
    result = check(case)
    assert result["clean"], result


@pytest.mark.parametrize("own", [
    "Zamówienie 4471:\n-------- Wiadomość oryginalna: nie dotarło --------\ndalej nic",  # words after the dashes
    "Oryginalna wiadomość od kuriera:\nPaczka zwrócona.",
    "Исходное сообщение я удалила.\nЗаказ 4471 не пришёл.",
])
def test_a_customers_own_line_naming_the_original_message_stays(own):
    from plugin_host.text import strip_quoted

    assert strip_quoted(own) == own


def test_a_separator_pattern_reads_a_hostile_line_in_one_pass():
    """The separators are literal phrases between dash runs, anchored at the line's start: a run of 200,000
    dashes, or dashes with a phrase repeated, is one scan (each failed split of the run fails at once)."""
    from plugin_host import text

    for pattern in (text.QUOTE_HEADER.pattern, text.FORWARDED.pattern):
        assert ".*" not in pattern and ".+" not in pattern, pattern
    hostile = "hi\n" + "-" * 200_000 + "x\n" + ("-- Original-Nachricht " * 20_000) + "\nthe end"
    assert text.strip_quoted(hostile).endswith("the end")
