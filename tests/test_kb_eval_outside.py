"""kb eval on an outside evaluator's files: the shared format as other tools write it."""
from __future__ import annotations

import json

from click.testing import CliRunner

from plugin_host.cli import get_cli

from .conftest import cli_runner


def _write(path, rows):
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return str(path)


def _eval(articles, queries):
    result = CliRunner().invoke(get_cli(), ["kb", "eval", "--articles", articles, "--queries", queries,
                                       "--semantic", "off", "--json"])
    return result


def test_three_letter_language_codes_are_the_languages_they_name(tmp_path):
    """ISO 639-2/3 codes ("pol", "rus", "eng", as corpora and pandas exports write them) are the same languages
    as "pl", "ru", "en": Polish stemming, Russian models and English stop words apply."""
    from plugin_host.language import language_code

    assert [language_code(code, "") for code in ("pol", "rus", "eng", "ger", "deu", "POL", "rus_RU")] == \
        ["pl", "ru", "en", "de", "de", "pl", "ru"]
    assert language_code("fil", "") == "fil"  # a three-letter code with no two-letter one stays
    assert language_code("und", "Где мой заказ?") == language_code("xx", "Где мой заказ?") == "ru"  # not a language
    # ISO 639's codes for no one language (several, uncoded, no linguistic content, local use) name none either
    assert [language_code(code, "Где мой заказ?") for code in ("mul", "mis", "zxx", "qaa", "qtz")] == ["ru"] * 5


ARTICLES = [{"id": 1, "title": "Refund policy", "body": "We refund duplicate charges within 5 business days.", "lang": "en"},
            {"id": 2, "title": "Reset password", "body": "Click Forgot password on the sign-in page.", "lang": "en"}]
QUERIES = [{"id": "q1", "text": "I was charged twice, refund please", "lang": "en", "expected": [1]},
           {"id": "q2", "text": "how do I reset my password", "lang": "en", "expected": [2]}]


def test_gzip_compressed_files_are_read(tmp_path):
    """Data sets travel as .jsonl.gz: they are read as they are, not refused as "not UTF-8"."""
    import gzip

    articles = tmp_path / "articles.jsonl.gz"
    articles.write_bytes(gzip.compress("".join(json.dumps(a) + "\n" for a in ARTICLES).encode()))
    queries = tmp_path / "queries.jsonl.gz"
    queries.write_bytes(gzip.compress("".join(json.dumps(q) + "\n" for q in QUERIES).encode()))
    result = _eval(str(articles), str(queries))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[-1])["recall@3"] == 1.0
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(gzip.compress(b'{"id": 1}\n')[:12])
    result = _eval(str(broken), str(queries))
    assert result.exit_code == 1 and "broken.jsonl.gz" in result.output and "Traceback" not in result.output
    assert "broken.jsonl.gz:1: not a readable gzip file" in result.output  # the line where reading stopped
    damaged = bytearray(gzip.compress("".join(json.dumps({"id": i, "title": f"Article {i}"}) + "\n"
                                              for i in range(2000)).encode()))
    damaged[40:60] = bytes(b ^ 0x55 for b in damaged[40:60])  # bits flipped inside the compressed data
    broken.write_bytes(bytes(damaged))
    result = _eval(str(broken), str(queries))
    assert result.exit_code == 1 and "broken.jsonl.gz" in result.output and "not a readable gzip file" in result.output


def test_a_pipe_is_read_once(tmp_path):
    """`--queries <(jq -c '.[]' q.json)` is a pipe: looking for gzip's mark must not use up its first lines."""
    import os
    import threading

    from plugins.kb_suggest.evaluate import load_queries

    pipe = tmp_path / "queries"
    os.mkfifo(pipe)
    text = "".join(json.dumps(q) + "\n" for q in QUERIES)
    writer = threading.Thread(target=pipe.write_text, args=(text,))
    writer.start()
    assert [q.id for q in load_queries(pipe)] == ["q1", "q2"]
    writer.join()

def test_a_json_array_file_says_the_format_is_one_object_a_line(tmp_path):
    """A JSON array (json.dump of a list, indented or not) names the fix instead of a JSON parser's complaint."""
    articles = _write(tmp_path / "articles.jsonl", ARTICLES)
    for name, text in (("indented.json", json.dumps(QUERIES, indent=2)), ("flat.json", json.dumps(QUERIES))):
        (tmp_path / name).write_text(text, encoding="utf-8")
        result = _eval(articles, str(tmp_path / name))
        assert result.exit_code == 1
        error = result.output.strip()
        assert "\n" not in error and f"{name}:1:" in error and "JSON array" in error and "one JSON object a line" in error


def test_questions_that_share_an_id_are_pointed_out(tmp_path, caplog):
    """A queries file appended twice (or merged from two sets) weighs its questions twice; eval still measures
    every line, but says which ids repeat instead of measuring silently."""
    from plugins.kb_suggest.evaluate import load_queries

    queries = _write(tmp_path / "q.jsonl", [*QUERIES, {"id": "q3", "text": "weather", "expected": []}, *QUERIES[:1],
                                            {"id": 7, "text": "a", "expected": []}, {"id": "7", "text": "b", "expected": []}])
    assert len(load_queries(queries)) == 6
    assert f"{queries}: 2 question ids are used more than once (q1 on lines 1, 4; 7 on lines 5, 6)" in caplog.text


def test_a_blank_expected_id_is_no_article(tmp_path):
    """A spreadsheet's empty cell exported as "expected": "" (or [""]) means no article answers the question: it
    is out of scope, not an in-scope question that expects an article with an empty id and always misses."""
    articles = _write(tmp_path / "a.jsonl", ARTICLES)
    queries = _write(tmp_path / "q.jsonl", [*QUERIES, {"id": "w1", "text": "weather in Paris", "expected": ""},
                                            {"id": "w2", "text": "football scores", "expected": [" "]}])
    result = _eval(articles, queries)
    assert result.exit_code == 0, result.output
    assert "not in" not in result.output  # no warning about unknown ids
    measured = json.loads(result.stdout.splitlines()[-1])
    assert measured["recall@3"] == 1.0 and measured["no_suggestion_rate"] == 1.0
    assert measured["baseline"]["no_suggestion_rate"] is not None


def test_a_missing_field_is_named_as_missing(tmp_path):
    """An evaluator whose file says "question" instead of "text" (or has no "id") is told which field is
    missing, not shown a Python KeyError's bare "('text')"."""
    articles = _write(tmp_path / "a.jsonl", ARTICLES)
    queries = _write(tmp_path / "q.jsonl", [{"id": 1, "question": "refund please", "expected": [1]}])
    result = _eval(articles, queries)
    assert result.exit_code == 1 and "q.jsonl:1: not a query (no \"text\")" in result.output
    no_id = _write(tmp_path / "no_id.jsonl", [{"title": "Refunds", "body": "Within 5 days."}])
    result = _eval(no_id, queries)
    assert result.exit_code == 1 and "no_id.jsonl:1: not an article (no \"id\")" in result.output


def test_a_jsonl_source_is_known_by_its_name_in_any_case(tmp_path):
    """`articles = "kb.JSONL"` (or the compressed "kb.jsonl.gz") names a file that exists: it was read as a folder
    and refused as "articles folder … does not exist"."""
    import gzip

    from plugins.kb_suggest.store import load_articles

    text = "".join(json.dumps(a) + "\n" for a in ARTICLES)
    (tmp_path / "kb.JSONL").write_text(text, encoding="utf-8")
    (tmp_path / "kb.jsonl.gz").write_bytes(gzip.compress(text.encode()))
    for name in ("kb.JSONL", "kb.jsonl.gz"):
        assert [a.title for a in load_articles(str(tmp_path / name))] == ["Refund policy", "Reset password"]


def test_articles_with_neither_title_nor_body_are_pointed_out(tmp_path, caplog):
    """An FAQ set written {"id", "question", "answer"} loads as articles with no text: eval measured recall 0 as if
    the ranker had failed, without a word; the lines and the keys they do have are named."""
    from plugins.kb_suggest.articles import load_jsonl

    path = _write(tmp_path / "faq.jsonl", [{"id": 1, "question": "Refund policy", "answer": "Within 5 days."},
                                           {"id": 2, "title": "Reset password", "body": ""},
                                           {"id": 3, "question": "Shipping", "answer": "In 2 days."}])
    assert len(load_jsonl(path)) == 3
    assert (f'{path}: 2 articles have neither "title" nor "body" (lines 1, 3; line 1 has id, question, answer): '
            'no question can find them') in caplog.text


def test_eval_shows_the_index_being_built(tmp_path, monkeypatch):
    """10,000 articles take seconds to analyse before the first question is measured: a bar on stderr says so,
    as kb search's does, instead of "Measuring suggestions" standing still at 0; stdout keeps only results."""
    import plugin_host.cli

    monkeypatch.setattr(plugin_host.cli, "on_terminal", lambda: True)  # bars are drawn for a person watching
    result = cli_runner().invoke(get_cli(), ["kb", "eval", "--articles", _write(tmp_path / "a.jsonl", ARTICLES),
                                             "--queries", _write(tmp_path / "q.jsonl", QUERIES), "--semantic", "off",
                                             "--json"])
    assert result.exit_code == 0, result.output
    assert result.stderr.index("Indexing articles") < result.stderr.index("Measuring suggestions")
    assert "Indexing" not in result.stdout and json.loads(result.stdout.splitlines()[-1])["recall@1"] == 1.0


def test_files_joined_with_their_byte_order_marks_are_read(tmp_path):
    """Two sets saved by a Windows editor and joined (`type ru.jsonl pl.jsonl > all.jsonl`, `cat`) carry a byte-order
    mark in the middle: it is ignored there as at the start, not an error about decoding with utf-8-sig."""
    from plugins.kb_suggest.evaluate import load_queries

    path = tmp_path / "q.jsonl"
    path.write_bytes(b"".join(b"\xef\xbb\xbf" + json.dumps(q).encode() + b"\r\n" for q in QUERIES))
    assert [q.id for q in load_queries(path)] == ["q1", "q2"]


def test_a_metric_with_no_questions_to_measure_reads_n_a_in_the_table(tmp_path):
    """A set with no out-of-scope questions has no no-suggestion rate: the table says "n/a" (the JSON null), not
    Python's "None"."""
    result = cli_runner().invoke(get_cli(), ["kb", "eval", "--articles", _write(tmp_path / "a.jsonl", ARTICLES),
                                             "--queries", _write(tmp_path / "q.jsonl", QUERIES), "--semantic", "off"])
    assert result.exit_code == 0, result.output
    [row] = [line for line in result.stdout.splitlines() if line.startswith("no_suggestion_rate")]
    assert row.split()[1:] == ["n/a", "n/a"] and "None" not in result.stdout


def test_a_gzip_file_that_expands_without_end_is_refused_not_read_into_memory(tmp_path, monkeypatch):
    """A .jsonl.gz of a few kilobytes can hold gigabytes (one line without an end): it was decompressed in full,
    line by line into memory. Reading stops at a bound with an error naming the file."""
    import gzip

    from plugins.kb_suggest import articles as articles_module

    monkeypatch.setattr(articles_module, "MAX_DECOMPRESSED_BYTES", 1_000_000)
    bomb = tmp_path / "queries.jsonl.gz"
    bomb.write_bytes(gzip.compress(b'{"id": "q1", "text": "' + b"a" * 5_000_000))
    assert bomb.stat().st_size < 20_000
    result = _eval(_write(tmp_path / "articles.jsonl", ARTICLES), str(bomb))
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "queries.jsonl.gz" in result.output and "larger than 1 MB once decompressed" in result.output
    blank = tmp_path / "articles.jsonl.gz"  # gigabytes of nothing take time, not memory: bounded all the same
    blank.write_bytes(gzip.compress(b"\n" * 3_000_000))
    result = _eval(str(blank), str(bomb))
    assert result.exit_code == 1 and "articles.jsonl.gz" in result.output and "once decompressed" in result.output
    fine = tmp_path / "fine.jsonl.gz"
    fine.write_bytes(gzip.compress("".join(json.dumps(q) + "\n" for q in QUERIES).encode()))
    assert _eval(_write(tmp_path / "articles.jsonl", ARTICLES), str(fine)).exit_code == 0


def test_a_plain_file_that_cannot_be_read_is_not_called_a_damaged_gzip_file(tmp_path):
    import pytest

    from plugins.kb_suggest.evaluate import load_queries

    with pytest.raises(FileNotFoundError):
        load_queries(tmp_path / "queries.jsonl")
    with pytest.raises(IsADirectoryError):
        load_queries(tmp_path)


def test_a_progress_bar_ends_when_its_work_is_done_so_the_next_starts_on_its_own_line(monkeypatch):
    """On a terminal a bar redraws its line until it ends: the index bar must end before the measuring bar starts."""
    import click

    from plugins.kb_suggest import cli

    said = []

    class Bar:
        def __init__(self, length, label, file):
            self.label, self.pos = label, 0

        def __enter__(self):
            said.append(("start", self.label))
            return self

        def update(self, n):
            self.pos += n

        def __exit__(self, *exc):
            said.append(("end", self.label))

    monkeypatch.setattr(click, "progressbar", Bar)
    with cli._progress("Indexing articles") as indexing, cli._progress("Measuring suggestions") as measuring:
        indexing(1, 2)
        indexing(2, 2)
        measuring(1, 1)
        indexing(2, 2)  # a late call after the end draws nothing
    assert said == [("start", "Indexing articles"), ("end", "Indexing articles"),
                    ("start", "Measuring suggestions"), ("end", "Measuring suggestions")]
