"""plugins.kb_suggest sources under bad input: help-centre import, article folders and files, feedback."""
from __future__ import annotations

import json
import os

import pytest
import responses

from plugins.kb_suggest.articles import ArticleError, load_folder, load_jsonl, parse_front_matter
from plugins.kb_suggest.helpcentre import _main_part, import_sitemap, sitemap_urls

from .conftest import cli_runner

SITEMAP = "https://help.example.com/sitemap.xml"
NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def urlset(*urls: str) -> str:
    return f'<?xml version="1.0"?><urlset {NS}>' + "".join(f"<url><loc>{u}</loc></url>" for u in urls) + "</urlset>"


@responses.activate
def test_import_never_follows_a_redirect_off_the_help_centre(tmp_path):
    responses.add("GET", SITEMAP, body=urlset("https://help.example.com/a", "https://help.example.com/b"))
    responses.add("GET", "https://help.example.com/a", status=302, headers={"Location": "http://169.254.169.254/latest"})
    responses.add("GET", "http://169.254.169.254/latest", body="SECRET-IAM-KEY")
    responses.add("GET", "https://help.example.com/b", status=301, headers={"Location": "/b/"})
    responses.add("GET", "https://help.example.com/b/", body="<main><h1>B</h1><p>Moved here.</p></main>")
    written, failures = import_sitemap(SITEMAP, tmp_path)
    assert written == 1 and "leads off help.example.com" in failures[0]
    assert "SECRET" not in "".join(p.read_text() for p in tmp_path.glob("*.md"))
    assert [c.request.url for c in responses.calls].count("http://169.254.169.254/latest") == 0


@responses.activate
def test_sitemap_indexes_are_followed_and_images_are_not_pages(tmp_path):
    index = (f'<?xml version="1.0"?><sitemapindex {NS}><sitemap><loc>https://help.example.com/s1.xml</loc>'
             "</sitemap></sitemapindex>")
    images = (f'<?xml version="1.0"?><urlset {NS} xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">'
              "<url><loc>https://help.example.com/a</loc><image:image><image:loc>https://help.example.com/pic.png"
              "</image:loc></image:image></url></urlset>")
    responses.add("GET", SITEMAP, body=index)
    responses.add("GET", "https://help.example.com/s1.xml", body=images)
    responses.add("GET", "https://help.example.com/a", body="<main><h1>A</h1><p>Text.</p></main>")
    assert sitemap_urls(images) == (["https://help.example.com/a"], [])
    assert import_sitemap(SITEMAP, tmp_path) == (1, []) and [p.name for p in tmp_path.glob("*.md")] == ["a.md"]


@responses.activate
def test_pages_whose_names_clash_or_run_long_all_arrive(tmp_path):
    long = "https://help.example.com/" + "x" * 300
    pages = ["https://help.example.com/a/b", "https://help.example.com/a-b", "https://help.example.com/p?id=1",
             "https://help.example.com/p?id=2", long]
    responses.add("GET", SITEMAP, body=urlset(*pages))
    for number, url in enumerate(pages):
        responses.add("GET", url, body=f"<main><h1>Page {number}</h1><p>Body {number}.</p></main>")
    assert import_sitemap(SITEMAP, tmp_path) == (5, [])
    assert sorted(a.title for a in load_folder(tmp_path)) == [f"Page {n}" for n in range(5)]


@responses.activate
def test_utf8_pages_without_a_charset_are_read_as_utf8(tmp_path):
    responses.add("GET", SITEMAP, body=urlset("https://help.example.com/ru"))
    responses.add("GET", "https://help.example.com/ru", body="<main><h1>Возврат денег</h1><p>[Beta] «Да» & нет</p></main>".encode(),
                  content_type="text/html")
    import_sitemap(SITEMAP, tmp_path)
    [article] = load_folder(tmp_path)
    assert article.title == "Возврат денег" and "«Да» & нет" in article.answer


def test_main_part_takes_linear_time_on_hostile_markup():
    assert _main_part("<html><main class=x>in <b>side</b></main><main>2</main></html>") == "in <b>side</b></main><main>2"
    assert _main_part("<article x " * 20_000) is None  # the old regex took over a minute on this
    assert _main_part("<mainframe>no</mainframe><article>yes</article>") == "yes"


def test_front_matter_titles_tags_and_byte_order_marks():
    meta, body = parse_front_matter("\ufeff---\ntitle: [Beta] Export [new]\ntags: [billing, 'refunds']\n---\nText")
    assert meta == {"title": "[Beta] Export [new]", "tags": ["billing", "refunds"]} and body == "Text"
    meta, _ = parse_front_matter('---\ntitle: "A \\"quoted\\" title"\ntags: billing, refunds\n---\n')
    assert meta == {"title": 'A "quoted" title', "tags": ["billing", "refunds"]}


def test_a_bad_file_in_the_folder_is_skipped_not_fatal(tmp_path, caplog):
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "good.md").write_text("---\ntitle: Good\n---\nFine.\n")
    (folder / "latin1.md").write_bytes("---\ntitle: Caf\xe9\n---\n".encode("latin-1"))
    (folder / "dir.md").mkdir()
    os.symlink(folder / "gone.md", folder / ".#good.md")  # an editor's lock link, dangling
    (tmp_path / "secret.md").write_text("root:x:0:0")
    os.symlink(tmp_path / "secret.md", folder / "outside.md")
    assert [a.id for a in load_folder(folder)] == ["good"]
    logged = caplog.text
    assert "latin1.md is not UTF-8" in logged and "outside.md links outside" in logged and "not a regular file" in logged


def test_jsonl_tags_as_text_and_files_that_are_not_utf8(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"id": "1", "title": "T", "body": "B", "tags": "billing,refunds"}) + "\n")
    assert load_jsonl(path)[0].tags == ("billing", "refunds")
    path.write_bytes(b'{"id": "1", "title": "ok", "body": "b"}\n{"id": "2", "title": "Caf\xe9", "body": "b"}\n')
    try:
        load_jsonl(path)
    except ArticleError as exc:
        assert "a.jsonl:2: not UTF-8" in str(exc)
    else:
        raise AssertionError("a non-UTF-8 line must be an error naming it")


def test_an_insert_cut_short_by_a_crash_loses_nothing_after_it(tmp_path):
    from plugins.kb_suggest.store import feedback_path, load_feedback, remember_insert

    remember_insert(tmp_path, "first", "a")
    with open(feedback_path(tmp_path), "ab") as fh:
        fh.write('{"question": "cut in the middle of ж'.encode()[:-1])
    remember_insert(tmp_path, "second question", "b")
    assert load_feedback(tmp_path) == {"a": ["first"], "b": ["second question"]}


def test_the_folder_signature_sees_deletions_and_old_copies(tmp_path):
    from plugins.kb_suggest import _signature

    (tmp_path / "sub").mkdir()
    for name in ("a.md", "sub/b.md"):
        (tmp_path / name).write_text("x")
    first = _signature(tmp_path)
    (tmp_path / "sub" / "b.md").unlink()
    second = _signature(tmp_path)
    old = tmp_path / "sub" / "old.md"
    old.write_text("y")
    os.utime(old, (1_000_000, 1_000_000))  # copied in with an old modification time (cp -p, rsync -a)
    assert len({first, second, _signature(tmp_path)}) == 3


def test_a_relative_articles_folder_is_read_from_the_configuration_folder(tmp_path, monkeypatch):
    from plugin_host.config import load_config
    from plugins.kb_suggest import knowledge_base, validate

    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "r.md").write_text("---\ntitle: Refunds\n---\nMoney back in 5 days.\n")
    data = {"mailbox": {"address": "support@example.com"},
            "plugins": {"enabled": ["kb_suggest"], "kb_suggest": {"articles": "kb"}},
            "host": {"state_dir": "state"}}
    config = load_config(tmp_path / "labeldesk.toml", data=data, environ={})
    config.plugin_settings["kb_suggest"] = validate(config.plugin_raw["kb_suggest"])
    monkeypatch.chdir(tmp_path.parent)  # run from elsewhere
    assert [a.id for a in knowledge_base(config, wait=True).articles] == ["r"]


def test_eval_files_saved_with_a_byte_order_mark_or_latin1_get_read_or_named(tmp_path):
    """Windows editors save JSON Lines with a byte-order mark and CRLF; that is still valid input.
    A query file that is not UTF-8 names its line instead of ending in a traceback."""
    from plugins.kb_suggest.evaluate import load_queries
    articles, queries = tmp_path / "a.jsonl", tmp_path / "q.jsonl"
    articles.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": 7, "title": "Refunds", "body": "B", "lang": "en"}).encode()
                         + b"\r\n")
    queries.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": 1, "text": "refund?", "lang": "en", "expected": [7]}).encode()
                        + b"\r\n\r\n" + json.dumps({"id": 2, "text": "hi", "expected": []}).encode() + b"\r\n")
    assert [a.id for a in load_jsonl(articles)] == ["7"]
    assert [(q.id, q.expected) for q in load_queries(queries)] == [("1", ("7",)), ("2", ())]
    queries.write_bytes(b'{"id": 1, "text": "ok", "expected": []}\n{"id": 2, "text": "Caf\xe9", "expected": []}\n')
    with pytest.raises(ArticleError, match=r"q.jsonl:2: not UTF-8"):
        load_queries(queries)
    queries.write_text('["not", "an", "object"]\n')
    with pytest.raises(ArticleError, match=r"q.jsonl:1: not a query \(a JSON object is expected\)"):
        load_queries(queries)


@pytest.mark.parametrize("sitemap", ["help.example.com/sitemap.xml", "ftp://help.example.com/sitemap.xml", "https://"])
def test_import_asks_for_an_http_sitemap_url(tmp_path, sitemap):
    # Was: "cannot read the sitemap: leads off  (to ://); not followed".
    from click.testing import CliRunner

    from plugin_host.cli import get_cli

    result = CliRunner().invoke(get_cli(), ["kb", "import", "--sitemap", sitemap, "--out", str(tmp_path / "kb")])
    assert result.exit_code == 2 and "--sitemap" in result.output and "http(s) URL" in result.output
    assert "leads off" not in result.output and not (tmp_path / "kb").exists()


def eval_cli(articles, queries, runner=None):
    from click.testing import CliRunner

    from plugin_host.cli import get_cli

    return (runner or CliRunner()).invoke(get_cli(), ["kb", "eval", "--semantic", "off", "--json",
                                                    "--articles", str(articles), "--queries", str(queries)])


def test_eval_article_with_null_title_or_body_is_empty_not_the_word_none(tmp_path):
    # Was: a body of null (as exports write a missing field) was indexed as the text "None", and the
    # question "none" found both articles.
    articles, queries = tmp_path / "a.jsonl", tmp_path / "q.jsonl"
    articles.write_text('{"id": "gift", "title": "Gift cards", "body": null, "lang": null}\n'
                        '{"id": "helmet", "title": null, "body": "Helmets come in sizes S to XL.", "lang": "en"}\n')
    assert [(a.title, a.body, a.lang) for a in load_jsonl(articles)] == [
        ("Gift cards", "", "en"), ("", "Helmets come in sizes S to XL.", "en")]
    queries.write_text('{"id": "1", "text": "none", "lang": "en", "expected": []}\n')
    assert json.loads(eval_cli(articles, queries).output.splitlines()[-1])["no_suggestion_rate"] == 1.0


@pytest.mark.parametrize("file,line,why", [
    ("a", '{"id": null, "title": "T", "body": "B"}', "id"),
    ("a", '{"id": ["x"], "title": "T", "body": "B"}', "id"),
    ("a", '{"id": "y", "title": {"en": "T"}, "body": "B"}', "title"),
    ("q", '{"id": null, "text": "helmet", "expected": []}', "id"),
    ("q", '{"id": "1", "text": null, "expected": []}', "text"),
    ("q", '{"id": "1", "text": ["helmet"], "expected": []}', "text"),
])
def test_eval_values_of_the_wrong_kind_are_named_not_read_as_their_python_text(tmp_path, file, line, why):
    # Was: read as the text "None", "['x']", "{'en': 'T'}"; the run went on and measured the wrong thing.
    articles, queries = tmp_path / "a.jsonl", tmp_path / "q.jsonl"
    articles.write_text('{"id": "x", "title": "Helmet sizes", "body": "S to XL.", "lang": "en"}\n')
    queries.write_text('{"id": "0", "text": "helmet sizes", "lang": "en", "expected": ["x"]}\n')
    target = articles if file == "a" else queries
    target.write_text(target.read_text() + line + "\n")
    result = eval_cli(articles, queries)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{target}:2: " in result.output and why in result.output.splitlines()[-1]


def test_eval_expected_as_one_id_is_that_id_not_its_letters(tmp_path):
    # Was: "expected": "helmet" was read as the ids h, e, l, m, e, t: recall 0 and a warning about letters.
    from plugins.kb_suggest.evaluate import load_queries

    articles, queries = tmp_path / "a.jsonl", tmp_path / "q.jsonl"
    articles.write_text('{"id": "helmet", "title": "Helmet sizes", "body": "Helmets come in sizes S to XL.", "lang": "en"}\n')
    queries.write_text('{"id": 1, "text": "which helmet sizes do you have", "lang": "en", "expected": "helmet"}\n'
                       '{"id": 2, "text": "helmet sizes?", "lang": "en", "expected": 7}\n')
    assert [q.expected for q in load_queries(queries)] == [("helmet",), ("7",)]
    result = eval_cli(articles, queries, cli_runner())
    assert result.exit_code == 0 and "'h'" not in result.stderr and ", h," not in result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["recall@1"] == 0.5


@pytest.mark.parametrize("expected", ['[["x"]]', '{"x": 1}', '[null]'])
def test_eval_expected_ids_of_the_wrong_kind_are_named(tmp_path, expected):
    # Was: [["x"]] expected the article "['x']", {"x": 1} expected "x", [null] expected "None".
    articles, queries = tmp_path / "a.jsonl", tmp_path / "q.jsonl"
    articles.write_text('{"id": "x", "title": "Helmet sizes", "body": "S to XL.", "lang": "en"}\n')
    queries.write_text(f'{{"id": "1", "text": "helmet", "expected": {expected}}}\n')
    result = eval_cli(articles, queries)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{queries}:1: " in result.output and "'expected' is a list of article ids" in result.output


@pytest.mark.parametrize("option", ["--articles", "--queries"])
def test_eval_given_a_folder_says_so_without_a_traceback(tmp_path, option):
    # Was: IsADirectoryError with a traceback.
    from click.testing import CliRunner

    from plugin_host.cli import get_cli

    files = {"--articles": tmp_path / "a.jsonl", "--queries": tmp_path / "q.jsonl"}
    files["--articles"].write_text('{"id": "x", "title": "Helmet sizes", "body": "S to XL.", "lang": "en"}\n')
    files["--queries"].write_text('{"id": "1", "text": "helmet", "expected": ["x"]}\n')
    files[option] = tmp_path
    result = CliRunner().invoke(get_cli(), ["kb", "eval", "--semantic", "off", *(str(a) for kv in files.items() for a in kv)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)  # a usage error, not a crash
    assert option in result.output and "is a directory" in result.output


def test_eval_with_no_questions_says_so_instead_of_measuring_nothing(tmp_path):
    # Was: exit 0 and a JSON line of nulls with p50_ms and p95_ms 0.0, as if the questions took no time.
    articles, queries = tmp_path / "a.jsonl", tmp_path / "q.jsonl"
    articles.write_text('{"id": "x", "title": "Helmet sizes", "body": "S to XL.", "lang": "en"}\n')
    queries.write_text("\n  \n")
    result = eval_cli(articles, queries)
    assert result.exit_code == 1 and f"{queries} has no questions" in result.output and "{" not in result.output


def test_eval_questions_without_expected_are_pointed_out(tmp_path, caplog):
    # Was: silently counted as out of scope, so a file whose key is spelt "expected_ids" measured no recall
    # and a no-suggestion rate over questions that do have answers.
    from plugins.kb_suggest.evaluate import load_queries

    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": 1, "text": "helmet sizes", "expected_ids": ["x"]}\n'
                       '{"id": 2, "text": "weather", "expected": []}\n'
                       '{"id": 3, "text": "gift cards", "expected": null}\n')
    assert [q.expected for q in load_queries(queries)] == [(), (), ()]
    assert f'{queries}: 2 questions have no "expected" list (lines 1, 3)' in caplog.text
