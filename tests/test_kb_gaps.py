"""`labeldesk kb gaps`: what its groups must hold for an admin to trust the counts — the same question in other
words together, unrelated ones apart, Russian and Polish inflections together, every unanswered question counted
once, and nothing depending on the order the tickets came in (benchmarks/kb_gaps.py measures the grouping)."""
from __future__ import annotations

import json
import random

import pytest

from plugins.kb_suggest.gaps import group_questions, question_groups

ENGLISH_SHIPPING = ["Do you ship to Iceland?", "Can you send my order to Reykjavik, Iceland?",
                    "Hi, I live in Iceland. Is shipping there possible, and how long does it take?"]
RUSSIAN_CODE = ["Добрый вечер, третий день не приходит код подтверждения на телефон, что делать?",
                "Код подтверждения так и не пришёл", "Почему мне не приходят коды подтверждения?"]
POLISH_ADDRESS = ["Jak zmienić adres dostawy?", "Chcę zmienić adres dostawy w zamówieniu, które złożyłem wczoraj",
                  "Czy da się jeszcze zmienić adresu dostawy?"]
UNRELATED = [("Can I pay with Bitcoin?", "en"), ("Is there a student discount?", "en"),
             ("Как удалить аккаунт?", "ru"), ("Czy macie karty podarunkowe?", "pl")]
QUESTIONS = ([(text, "en") for text in ENGLISH_SHIPPING] + [(text, "ru") for text in RUSSIAN_CODE]
             + [(text, "pl") for text in POLISH_ADDRESS] + UNRELATED)


@pytest.fixture(scope="module")
def wordllama():
    from plugins.kb_suggest.embeddings import embedder

    return embedder("wordllama").embed


def together(groups: list[list[int]], questions, texts) -> bool:
    wanted = {i for i, (text, _) in enumerate(questions) if text in texts}
    return any(wanted <= set(members) for members in groups)


@pytest.mark.parametrize("with_model", [False, True])
def test_the_same_question_in_other_words_is_one_group_and_unrelated_ones_stay_apart(with_model, wordllama):
    """The greedy pass kept the long Russian question apart from its short rewordings (stems Jaccard under 0.3)."""
    groups = question_groups(QUESTIONS, embed=wordllama if with_model else None)
    for texts in (ENGLISH_SHIPPING, RUSSIAN_CODE, POLISH_ADDRESS):
        assert together(groups, QUESTIONS, texts), texts
    alone = {QUESTIONS.index(question) for question in UNRELATED}
    assert all(len(members) == 1 for members in groups if set(members) & alone), groups
    assert sorted(i for members in groups for i in members) == list(range(len(QUESTIONS)))  # each once


@pytest.mark.parametrize("with_model", [False, True])
def test_the_groups_do_not_depend_on_the_order_the_tickets_came_in(with_model, wordllama):
    """The greedy pass showed the first question it met as the example, and later questions joined by an
    ever-looser overlap with the words the group had gathered, so the same inbox read in another order gave
    other groups."""
    embed = wordllama if with_model else None
    expected = group_questions(QUESTIONS, embed=embed)
    for seed in range(6):
        shuffled = QUESTIONS[:]
        random.Random(seed).shuffle(shuffled)
        assert group_questions(shuffled, embed=embed) == expected, seed


def test_the_example_is_the_groups_most_typical_question_not_the_first_seen(wordllama):
    questions = [("Do you ship to Iceland? And can you gift-wrap the parcel for my aunt, with a card?", "en"),
                 ("Do you ship to Iceland?", "en"), ("Do you ship orders to Iceland?", "en"),
                 ("Shipping to Iceland, do you ship there?", "en")]
    [group] = group_questions(questions, embed=wordllama)
    assert group["count"] == 4 and group["example"] == "Do you ship to Iceland?"  # not merely the first sorted


def test_english_questions_in_other_words_are_grouped_by_their_meaning_where_a_model_is_loaded():
    """No stem in common: the words alone keep them apart; the sentence vectors (here: a stand-in that calls
    them the same) bring them together."""
    questions = [("Where is my parcel?", "en"), ("The delivery has not arrived", "en")]
    assert len(question_groups(questions)) == 2
    same = lambda texts: [[1.0, 0.0]] * len(texts)  # noqa: E731
    assert question_groups(questions, embed=same) in ([[0, 1]], [[1, 0]])


def test_one_question_touching_two_topics_does_not_chain_them_into_one_group():
    """Refunds and password resets are two missing articles; one customer asks about both. Single linkage would
    merge the two topics through that one question (each is close to it); average linkage keeps them apart."""
    refunds = ["How do I get a refund for my order?", "Can I get a refund for a damaged order?",
               "When will my refund for the order arrive?"]
    passwords = ["I forgot my password and cannot log in to my account", "How do I reset the password of my account?",
                 "My account password reset link does not work"]
    bridge = "Do I need my account password to get a refund for my order?"
    groups = group_questions([(text, "en") for text in refunds + passwords + [bridge]])
    assert [g["count"] for g in groups] == [4, 3]
    assert "refund" in groups[0]["keywords"] and "refund" not in groups[1]["keywords"]
    assert "password" in groups[1]["keywords"] and groups[1]["example"] in passwords


def test_a_question_with_no_content_word_makes_no_group():
    assert group_questions([("Hello?", "en"), ("Thanks!", "en"), ("Do you ship to Iceland?", "en")]) == [
        {"count": 1, "example": "Do you ship to Iceland?", "language": "en", "keywords": ["iceland", "ship"]}]


def test_repeated_questions_are_each_counted():
    questions = [("Do you ship to Iceland?", "en")] * 3 + [("Can I pay with Bitcoin?", "en")] * 2
    assert [(g["count"], g["example"]) for g in group_questions(questions)] == [
        (3, "Do you ship to Iceland?"), (2, "Can I pay with Bitcoin?")]
    assert sorted(map(sorted, question_groups(questions))) == [[0, 1, 2], [3, 4]]


def test_kb_gaps_on_the_local_mailbox_groups_the_unanswered_questions_and_counts_each_once(tmp_path, monkeypatch):
    """Through the real command: mail delivered to the local mailbox, read as tickets, the refund question
    answered by the one article, the others grouped with counts that add up to the questions left."""
    import plugin_host.runtime as runtime
    from tests.conftest import deliver, make_email
    from tests.test_kb import kb_host
    from tests.test_kb_admin import kb_cli

    local, host, _ = kb_host(tmp_path)
    gmail = local.gmail()
    asked = [text for text, _ in QUESTIONS]
    for number, text in enumerate(asked):
        deliver(gmail, make_email(sender=f"Customer {number} <c{number}@example.org>", subject="", body=text))
    deliver(gmail, make_email(sender="Refund <r@example.org>", subject="", body="How long do refunds take to reach my card?"))
    monkeypatch.setattr(runtime, "host_from_cli", lambda path=None: host)
    result = kb_cli("gaps", "--json")
    assert result.exit_code == 0, result.output
    groups = json.loads(result.stdout)
    assert sum(g["count"] for g in groups) == len(asked)  # the refund question got a confident suggestion
    by_example = {g["example"]: g for g in groups}
    for texts, language in ((ENGLISH_SHIPPING, "en"), (RUSSIAN_CODE, "ru"), (POLISH_ADDRESS, "pl")):
        [group] = [g for g in groups if g["example"] in texts]
        assert group["count"] == 3 and group["language"] == language
    assert all(by_example[text]["count"] == 1 for text, _ in UNRELATED)
    assert set(groups[0]) == {"count", "example", "language", "keywords"}


def test_keywords_are_words_the_customers_wrote_not_stems():
    """An admin read stems without their diacritics ("blad", "dlug", "anyth"): each keyword is now the form the
    customers used most for that stem, as they wrote it (lower case)."""
    polish = [("Błąd płatności przy zamówieniu", "pl"), ("Ciągle błąd płatności kartą", "pl"),
              ("Dlaczego jest błąd płatności?", "pl")]
    groups = group_questions(polish)
    assert groups[0]["count"] == 3
    assert {"błąd", "płatności"} <= set(groups[0]["keywords"]), groups[0]["keywords"]
    english = group_questions([("Delete anything in my account", "en"), ("How to delete my account", "en")])
    assert {"delete", "account"} <= set(english[0]["keywords"]), english[0]["keywords"]
