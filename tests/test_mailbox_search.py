"""Gmail's ``q`` language in the local mailbox (plugin_host.mailbox.search)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from plugin_host.mailbox.search import SearchableMessage, SearchSyntaxError, label_key, parse_query, words

NOW = datetime(2024, 6, 15, 12, 0, tzinfo=timezone.utc)
LABELS = {"INBOX": "INBOX", "UNREAD": "UNREAD", "STARRED": "STARRED", "SPAM": "SPAM", "TRASH": "TRASH",
          "Label_1": "Helpdesk/SLA/At risk", "Label_2": "Helpdesk/SLA/Breached",
          "Label_3": "Helpdesk/Owner/Anna Kowalska", "Label_4": "Helpdesk/Awaiting reply"}


def message(**overrides) -> SearchableMessage:
    fields = dict(label_ids={"INBOX", "UNREAD", "Label_1"}, label_names=LABELS,
                  sender="Anna Kowalska <anna.kowalska@example.pl>", to="support@example.com",
                  cc="Jan Nowak <jan@example.pl>", bcc="", subject="Zamówienie nr 12 — paczka z Łodzi",
                  text="Dzień dobry, paczka nie dotarła. Proszę o pomoc.", rfc822msgid="<Order-12@example.pl>",
                  internal_date=NOW - timedelta(days=3))
    fields.update(overrides)
    return SearchableMessage(**fields)


def found(q: str, msg: SearchableMessage | None = None, now: datetime = NOW) -> bool:
    return parse_query(q).matches(msg or message(), now)


# ---------------------------------------------------------------- labels and system state

@pytest.mark.parametrize("q,expected", [
    ("label:helpdesk-sla-at-risk", True),          # how Gmail's UI writes it
    ('label:"Helpdesk/SLA/At risk"', True),         # the exact name, quoted
    ("label:Helpdesk/SLA/At-risk", True),
    ("label:HELPDESK-SLA-AT-RISK", True),
    ("label:helpdesk-sla-breached", False),
    ("-label:helpdesk-sla-breached", True),
    ("-label:helpdesk-sla-at-risk", False),
    ("label:helpdesk", False),                       # a parent label is a different label
    ("label:inbox", True),
    ("label:unread", True),
])
def test_label(q, expected):
    assert found(q) is expected


def test_label_names_may_be_a_callable_and_default_to_ids():
    msg = message(label_ids={"Label_9"}, label_names=lambda i: {"Label_9": "Helpdesk/Priority/Urgent"}.get(i))
    assert found("label:helpdesk-priority-urgent", msg)
    assert found("label:label_9", message(label_ids={"Label_9"}, label_names={}))
    assert label_key("  Helpdesk / SLA / At risk ") == "helpdesk-sla-at-risk"


@pytest.mark.parametrize("q,labels,expected", [
    ("in:inbox", {"INBOX"}, True), ("in:inbox", {"SENT"}, False), ("in:sent", {"SENT"}, True),
    ("in:trash", {"TRASH"}, True), ("in:spam", {"SPAM"}, True), ("in:draft", {"DRAFT"}, True),
    ("in:drafts", {"DRAFT"}, True), ("in:starred", {"STARRED"}, True), ("in:important", {"IMPORTANT"}, True),
    ("in:anywhere", set(), True), ("in:helpdesk-sla-at-risk", {"Label_1"}, True),
    ("is:unread", {"UNREAD"}, True), ("is:unread", set(), False), ("is:read", set(), True),
    ("is:read", {"UNREAD"}, False), ("is:starred", {"STARRED"}, True), ("is:important", {"INBOX"}, False),
    ("is:unimportant", {"INBOX"}, True), ("category:social", {"CATEGORY_SOCIAL"}, True),
    ("category:primary", {"CATEGORY_SOCIAL"}, False), ("has:userlabels", {"Label_2"}, True),
    ("has:nouserlabels", {"INBOX"}, True),
])
def test_in_is_category_has(q, labels, expected):
    assert found(q, message(label_ids=labels)) is expected


def test_flags_are_derived_from_labels():
    msg = message(label_ids={"UNREAD", "STARRED"})
    assert msg.unread and msg.starred and not msg.important


def test_has_attachment():
    assert found("has:attachment", message(has_attachment=True))
    assert not found("has:attachment")


@pytest.mark.parametrize("q,expected", [
    ("in:trash", True), ("in:anywhere", True), ("label:spam", True), ("in:inbox OR in:spam", True),
    ("-in:trash", False), ("is:unread", False), ("label:helpdesk-sla-breached", False),
])
def test_mentions_spam_or_trash(q, expected):
    assert parse_query(q).mentions_spam_or_trash() is expected


# ---------------------------------------------------------------- people, subject, message id

@pytest.mark.parametrize("q,expected", [
    ("from:anna", True), ("from:Kowalska", True), ("from:anna.kowalska@example.pl", True),
    ("from:example.pl", True), ("from:@example.pl", True), ("from:ann", False),   # whole words only
    ("from:jan", False), ("cc:jan", True), ("cc:nowak@example.pl", False), ("to:support", True),
    ('from:"Anna Kowalska"', True), ('from:"Kowalska Jan"', False), ("bcc:anna", False),
    ("to:support@example.com", True), ("to:support@example.org", False),
])
def test_address_operators(q, expected):
    assert found(q) is expected


def test_from_me_and_to_me_use_the_mailbox_owner():
    sent = message(sender="Support <support@example.com>", to="anna@example.pl", owner="support@example.com")
    assert found("from:me", sent) and not found("to:me", sent)
    assert found("to:me", message(owner="support@example.com"))


@pytest.mark.parametrize("q,expected", [
    ("subject:zamówienie", True), ("subject:zamowienie", True), ("subject:łodzi", True),
    ("subject:lodzi", True), ("subject:dzien", False), ('subject:"nr 12"', True), ('subject:"12 nr"', False),
    ("subject:(paczka nr)", True), ("subject:(paczka faktura)", False), ("subject:(paczka OR faktura)", True),
])
def test_subject(q, expected):
    assert found(q) is expected


@pytest.mark.parametrize("q,expected", [
    ("rfc822msgid:<Order-12@example.pl>", True), ("rfc822msgid:order-12@example.pl", True),
    ("rfc822msgid:order-13@example.pl", False), ('rfc822msgid:"<Order-12@example.pl>"', True),
])
def test_rfc822msgid(q, expected):
    assert found(q) is expected


# ---------------------------------------------------------------- free words in several languages

@pytest.mark.parametrize("q,expected", [
    ("paczka", True), ("PACZKA", True), ("dotarła", True), ("dotarla", True), ("dotar", False),
    ("pomoc", True), ("pomocy", False), ('"paczka nie dotarła"', True), ('"nie paczka"', False),
    ("kowalska", True), ("example", True), ("faktura", False), ("12", True), ("zamówienie nr", True),
])
def test_polish_free_words(q, expected):
    assert found(q) is expected


@pytest.mark.parametrize("q,expected", [
    ("заказ", True), ("ЗАКАЗ", True), ("пришёл", True), ("пришел", True), ("мой", True),
    ("мои", False), ("зак", False), ('"мой заказ"', True), ("доставка", False), ("Иван", True),
])
def test_russian_free_words(q, expected):
    msg = message(subject="Где мой заказ?", text="Здравствуйте! Заказ не пришёл.", sender="Иван Петров <ivan@example.ru>")
    assert found(q, msg) is expected


def test_words_fold_case_and_latin_accents_only():
    assert words("Łódź Ärger ÉTÉ") == ["lodz", "arger", "ete"]
    assert words("Йод и ёж") == ["йод", "и", "еж"]
    assert words("order#123, 10:30") == ["order", "123", "10", "30"]


def test_word_with_colon_that_is_no_operator_is_a_word():
    assert found("10:30", message(text="Call me at 10:30 please"))
    assert not found("foo:bar")


# ---------------------------------------------------------------- dates

LA = ZoneInfo("America/Los_Angeles")


def at(*args, tz=timezone.utc) -> SearchableMessage:
    return message(internal_date=datetime(*args, tzinfo=tz))


def test_date_bounds_are_midnight_in_los_angeles():
    # 2024-06-01 00:00 in Los Angeles (PDT) is 07:00 UTC
    assert found("after:2024/06/01", at(2024, 6, 1, 7, 0))
    assert not found("after:2024/06/01", at(2024, 6, 1, 6, 59))
    assert found("before:2024-06-01", at(2024, 6, 1, 6, 59))
    assert not found("before:2024-06-01", at(2024, 6, 1, 7, 0))
    # winter: PST, UTC-8
    assert found("after:2024/01/15", at(2024, 1, 15, 8, 0)) and not found("after:2024/01/15", at(2024, 1, 15, 7, 59))
    assert found("after:2024/1/5 before:2024/1/6", at(2024, 1, 5, 23, 0, tz=LA))


def test_epoch_bounds_are_exact_instants():
    instant = int(datetime(2024, 6, 1, 0, 0, tzinfo=timezone.utc).timestamp())
    assert found(f"after:{instant}", at(2024, 6, 1, 0, 0))
    assert not found(f"after:{instant}", at(2024, 5, 31, 23, 59, 59))
    assert found(f"before:{instant}", at(2024, 5, 31, 23, 59, 59))
    assert not found(f"before:{instant}", at(2024, 6, 1, 0, 0))
    assert found(f"newer:{instant} older:{instant + 60}", at(2024, 6, 1, 0, 0, 30))


@pytest.mark.parametrize("q,age,expected", [
    ("newer_than:2d", timedelta(days=1), True), ("newer_than:2d", timedelta(days=3), False),
    ("older_than:2d", timedelta(days=3), True), ("older_than:2d", timedelta(hours=47), False),
    ("newer_than:1m", timedelta(days=29), True), ("newer_than:1m", timedelta(days=32), False),
    ("older_than:1y", timedelta(days=367), True), ("older_than:1y", timedelta(days=300), False),
    ("NEWER_THAN:3D", timedelta(days=2), True),
])
def test_relative_age(q, age, expected):
    assert found(q, message(internal_date=NOW - age)) is expected


def test_month_arithmetic_clamps_to_month_end():
    now = datetime(2024, 3, 31, 12, tzinfo=timezone.utc)  # one month earlier: 29 February
    assert found("newer_than:1m", at(2024, 2, 29, 12, 0), now=now)
    assert not found("newer_than:1m", at(2024, 2, 29, 11, 59), now=now)


# ---------------------------------------------------------------- boolean structure

@pytest.mark.parametrize("q,expected", [
    ("paczka pomoc", True), ("paczka faktura", False),                        # AND by default
    ("paczka AND pomoc", True),
    ("faktura OR paczka", True), ("faktura OR reklamacja", False),
    ("-faktura", True), ("-paczka", False),
    ("-(faktura OR reklamacja)", True), ("-(faktura OR paczka)", False),
    ("(faktura OR paczka) is:unread", True), ("(faktura OR paczka) -is:unread", False),
    ("{faktura paczka}", True), ("{faktura reklamacja}", False), ("-{faktura paczka}", False),
    ("label:helpdesk-sla-at-risk -label:helpdesk-sla-breached in:inbox", True),
    ("from:anna (subject:faktura OR subject:paczka) -in:trash newer_than:7d", True),
    ("((paczka))", True), ("a OR b OR paczka", True),
    ("- paczka", True),                                                      # a lone dash is ignored
])
def test_boolean_structure(q, expected):
    assert found(q) is expected


def test_or_binds_tighter_than_implicit_and():
    # Gmail reads "a b OR c" as a AND (b OR c)
    assert found("faktura paczka OR pomoc", message(text="faktura pomoc"))
    assert not found("faktura paczka OR pomoc", message(text="paczka", subject="x"))


def test_lowercase_or_is_a_word():
    assert not found("faktura or paczka")


def test_empty_query_matches_everything():
    assert found("") and found("   ")


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("q,fragment", [
    ("newer_than:2h", "no hour unit"), ("older_than:d", "d, m or y"), ("newer_than:-2d", "d, m or y"),
    ("after:yesterday", "YYYY/MM/DD"), ("before:2024/02/30", "day is out of range"),
    ("after:01.06.2024", "YYYY/MM/DD"), ("after:13/01/2024", "month must be in 1..12"),
    ("(paczka", "unclosed ("), ("paczka)", "unbalanced )"), ("{paczka", "unclosed {"),
    ("()", "empty ()"), ("paczka OR", "OR at position 8"), ("OR paczka", "OR at position 1"),
    ("a OR OR b", "OR at position"), ("AND paczka", "AND"), ('"unclosed', "unclosed quote"),
    ("label:", "needs a value"), ('subject:""', "needs a word"), ("is:snoozed", "is: takes one of"),
    ("category:work", "category: takes"), ("has:drive", "has: takes"), ("larger:10M", "does not support"),
    ("(paczka -)", "must be followed"), ("(" * 60 + "a" + ")" * 60, "nest more than"),
    ("-" * 100 + "a", "nest more than"),
])
def test_malformed_queries_raise_clear_errors(q, fragment):
    with pytest.raises(SearchSyntaxError, match=fragment.replace("(", r"\(").replace(")", r"\)")
                       .replace("{", r"\{")):
        parse_query(q)


def test_syntax_error_is_a_value_error():
    assert issubclass(SearchSyntaxError, ValueError)
    with pytest.raises(ValueError):
        parse_query(None)


# ---------------------------------------------------------------- in:archive and in:snoozed

@pytest.mark.parametrize("labels,expected", [
    ({"INBOX"}, False), ({"INBOX", "Label_1"}, False), ({"SPAM"}, False), ({"TRASH"}, False),
    ({"Label_1"}, True), ({"SENT"}, True), (set(), True), ({"UNREAD", "STARRED"}, True),
])
def test_in_archive_is_mail_out_of_the_inbox_spam_and_trash(labels, expected):
    assert found("in:archive", message(label_ids=labels)) is expected
    assert found("-in:archive", message(label_ids=labels)) is not expected


def test_in_archive_is_not_a_label_named_archive():
    assert not found("in:archive", message(label_ids={"INBOX", "Label_9"}, label_names={"Label_9": "Archive"}))


def test_in_snoozed_is_a_clear_error_not_an_empty_answer():
    with pytest.raises(SearchSyntaxError, match="snoozed.*no label"):
        parse_query("in:snoozed")
    with pytest.raises(SearchSyntaxError, match="snoozed"):
        parse_query("label:helpdesk -in:snoozed")
