"""Knowledge-base administration as an admin meets it: a messy Markdown folder, the index file,
feedback across renames, the ``labeldesk kb`` commands, Drive folders and help-centre imports."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import responses

from plugins.kb_suggest.articles import load_folder
from plugins.kb_suggest.store import INDEX_VERSION


def write(folder, name: str, text: str | bytes):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    return path


def ids(folder) -> list[str]:
    return [a.id for a in load_folder(folder)]


# -- the Markdown folder -------------------------------------------------------------------------------

def test_hidden_files_and_folders_are_not_articles(tmp_path):
    write(tmp_path, "refunds.md", "---\ntitle: Refunds\n---\nRefunds take five days.")
    write(tmp_path, ".git/notes.md", "# Git's own\nnot an article")
    write(tmp_path, ".obsidian/workspace.md", "# Obsidian\nsettings")
    write(tmp_path, "._refunds.md", b"\x00\x05\x16\x07Mac OS X resource fork")
    write(tmp_path, "billing/.draft.md", "# Draft\nnot yet")
    assert ids(tmp_path) == ["refunds"]


def test_upper_case_and_markdown_extensions_are_articles(tmp_path):
    from plugins.kb_suggest import _signature

    write(tmp_path, "Refunds.MD", "# Refunds\nRefunds take five days.")
    write(tmp_path, "billing/invoices.markdown", "# Invoices\nInvoices are monthly.")
    write(tmp_path, "notes.txt", "not an article")
    assert ids(tmp_path) == ["Refunds", "billing/invoices"]
    before = _signature(tmp_path)
    write(tmp_path, "billing/invoices.markdown", "# Invoices\nInvoices are monthly, on the 1st.")
    assert _signature(tmp_path) != before


def test_two_files_with_the_same_id_or_url_are_named_in_a_warning(tmp_path, caplog):
    write(tmp_path, "refunds.md", "---\ntitle: Refunds\nurl: https://help.example.com/refunds\n---\nFive days.")
    write(tmp_path, "refunds.markdown", "---\ntitle: Refunds (old)\n---\nTen days.")
    write(tmp_path, "money-back.md", "---\ntitle: Money back\nurl: https://help.example.com/money\n---\nFive.")
    write(tmp_path, "faq/money.md", "---\ntitle: Money FAQ\nurl: https://help.example.com/money\n---\nFive.")
    with caplog.at_level(logging.WARNING):
        articles = load_folder(tmp_path)
    assert [a.id for a in articles] == ["faq/money", "money-back", "refunds"]  # one "refunds", both "money"
    assert "refunds.markdown" in caplog.text and "refunds.md " in caplog.text
    assert "same id 'refunds' as" in caplog.text
    assert "faq/money.md and " in caplog.text and "money-back.md have the same url https://help.example.com/money" \
        in caplog.text


def test_links_load_each_article_once_and_linked_folders_are_named(tmp_path, caplog):
    import os

    kb = tmp_path / "kb"
    write(kb, "refunds.md", "# Refunds\nFive days.")
    os.symlink(kb / "refunds.md", kb / "money-back.md")  # a second name for one article
    write(kb, "billing/invoices.md", "# Invoices\nMonthly.")
    os.symlink(kb, kb / "billing" / "loop")  # a link back up: must not be walked forever
    os.symlink(kb / "billing", kb / "shared")
    with caplog.at_level(logging.WARNING):
        assert ids(kb) == ["billing/invoices", "refunds"]
    assert f"money-back.md is a link to {kb / 'refunds.md'}, which is loaded" in caplog.text
    assert "shared is a link to a folder" in caplog.text


def test_yaml_block_lists_of_tags(tmp_path):
    write(tmp_path, "a.md", "---\ntitle: Refunds\ntags:\n  - billing\n  - \"vip customers\"\n- refunds\nlang: en\n---\nFive days.")
    write(tmp_path, "b.md", "---\ntitle: Invoices\ntags: [billing, 'tax']\n---\nMonthly.")
    write(tmp_path, "c.md", "---\ntitle: Export\ntags: csv, excel\n---\nExport.")
    write(tmp_path, "d.md", "---\ntitle: None\ntags:\n---\nNo tags.")
    found = {a.id: a for a in load_folder(tmp_path)}
    assert found["a"].tags == ("billing", "vip customers", "refunds") and found["a"].lang == "en"
    assert found["b"].tags == ("billing", "tax") and found["c"].tags == ("csv", "excel") and found["d"].tags == ()



def test_the_first_heading_is_the_title_when_front_matter_has_none(tmp_path):
    write(tmp_path, "refund-policy.md", "\n# Getting your money back\n\nRefunds take five days.\n\n# More\nText.")
    write(tmp_path, "code.md", "```bash\n# not a heading\n```\n\n# Exporting data\nUse the Export button.")
    write(tmp_path, "titled.md", "---\ntitle: From front matter\n---\n# A heading\nText.")
    found = {a.id: a for a in load_folder(tmp_path)}
    assert found["refund-policy"].title == "Getting your money back"
    assert found["refund-policy"].body == "Refunds take five days.\n\n# More\nText."  # the title is not repeated
    assert found["code"].title == "Exporting data"
    assert found["titled"].title == "From front matter" and found["titled"].body.startswith("# A heading")


def test_unclosed_front_matter_and_empty_files_are_named_and_skipped(tmp_path, caplog):
    write(tmp_path, "good.md", "# Refunds\nFive days.")
    write(tmp_path, "unclosed.md", "---\ntitle: Invoices\nurl: https://help.example.com/invoices\nInvoices are monthly.")
    write(tmp_path, "empty.md", "")
    write(tmp_path, "blank.md", "\n  \n")
    write(tmp_path, "only-meta.md", "---\ntitle: Coming soon\n---\n")
    write(tmp_path, "latin1.md", "# Caf\xe9\nMenu.".encode("latin-1"))
    write(tmp_path, "rule.md", "---\n\nA page that opens with a rule.\n")  # no key: value lines: not front matter
    with caplog.at_level(logging.WARNING):
        assert ids(tmp_path) == ["good", "rule"]
    logged = caplog.text
    assert "unclosed.md: the front matter opened by --- on line 1 is never closed: add a line --- after it" in logged
    for name in ("empty.md", "blank.md", "only-meta.md"):
        assert f"{name} has no text" in logged
    assert "latin1.md is not UTF-8 text: save it as UTF-8" in logged


# -- the index file ------------------------------------------------------------------------------------

def kb_config(tmp_path, **settings) -> Path:
    """A labeldesk.toml with a folder of two articles (lexical ranking: fast)."""
    import tomli_w

    write(tmp_path, "kb/refunds.md", "---\ntitle: Refunds\nurl: https://help.example.com/refunds\n---\n"
                                     "Refunds reach your card within five business days.")
    write(tmp_path, "kb/password.md", "# Reset your password\nUse the Forgot password link on the sign-in page.")
    data = {"mailbox": {"address": "support@example.com"}, "host": {"state_dir": "state"},
            "plugins": {"enabled": ["kb_suggest"], "kb_suggest": {"articles": "kb", "semantic": "off", **settings}}}
    path = tmp_path / "labeldesk.toml"
    path.write_bytes(tomli_w.dumps(data).encode())
    return path


def kb_cli(*args: str):
    from click.testing import CliRunner

    from plugin_host.cli import get_cli

    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:  # click 8.2 keeps stderr apart always
        runner = CliRunner()
    return runner.invoke(get_cli(), ["kb", *args])


@pytest.mark.parametrize("damage", [
    b'{"version": 3, "articles": {"ab', b"", b"\x00\x00\x00\x00", b"[]", b'{"version": 3, "articles": []}',
    b'{"version": 3, "articles": {"x": []}}', b'{"version": 3, "articles": {"x": {"words": "abc", "vectors": []}}}',
    b'{"version": 1, "articles": {}}', "\xff\xfe not utf-8".encode("latin-1"),
])
def test_a_damaged_or_old_index_file_is_rebuilt_with_a_message(tmp_path, damage):
    config = kb_config(tmp_path)
    index = tmp_path / "state" / "kb-index.json"
    write(tmp_path, "state/kb-index.json", damage)
    result = kb_cli("index", "--config", str(config))
    assert result.exit_code == 0, result.output + result.stderr
    assert "2 articles, 2 new or changed." in result.stdout
    assert "kb-index.json" in result.stderr and "rebuilt" in result.stderr
    saved = json.loads(index.read_text())
    assert saved["version"] == INDEX_VERSION and len(saved["articles"]) == 2
    again = kb_cli("index", "--config", str(config))
    assert "0 new or changed" in again.stdout and "rebuilt" not in again.stderr


# -- feedback: what agents inserted ------------------------------------------------------------------

def test_feedback_follows_an_article_that_was_renamed_or_moved(tmp_path):
    from plugins.kb_suggest.store import load_feedback, remember_insert

    kb = tmp_path / "kb"
    write(kb, "refunds.md", "Refunds reach your card within five business days.")
    write(kb, "password.md", "# Reset your password\nUse the Forgot password link.")
    refunds = {a.id: a for a in load_folder(kb)}["refunds"]
    remember_insert(tmp_path, "Can I get my money back for a broken lamp?", refunds.id, refunds.content_digest)
    remember_insert(tmp_path, "Where is my money?", "gone-for-good")
    (kb / "billing").mkdir()
    (kb / "refunds.md").rename(kb / "billing" / "money-back.md")  # moved and renamed: its title changes too
    articles = load_folder(kb)
    assert "billing/money-back" in [a.id for a in articles]
    feedback = load_feedback(tmp_path, articles)
    assert feedback["billing/money-back"] == ["Can I get my money back for a broken lamp?"]
    assert "refunds" not in feedback
    assert load_feedback(tmp_path)["refunds"] == ["Can I get my money back for a broken lamp?"]  # by id as before


# -- labeldesk kb search | eval | gaps -----------------------------------------------------------------

def eval_files(tmp_path, articles: list[dict], queries: list[dict]) -> list[str]:
    for name, lines in (("articles.jsonl", articles), ("queries.jsonl", queries)):
        write(tmp_path, name, "".join(json.dumps(line) + "\n" for line in lines))
    return ["--articles", str(tmp_path / "articles.jsonl"), "--queries", str(tmp_path / "queries.jsonl")]


ARTICLES = [{"id": 7, "title": "Refunds", "body": "Refunds reach your card within five business days."},
            {"id": 8, "title": "Reset your password", "body": "Use the Forgot password link on the sign-in page."}]


@pytest.mark.parametrize("threshold", ["5", "-0.1", "nan", "inf"])
def test_eval_threshold_outside_0_to_1_is_a_clear_error(tmp_path, threshold):
    files = eval_files(tmp_path, ARTICLES, [{"id": 1, "text": "refund please", "expected": [7]}])
    result = kb_cli("eval", "--semantic", "off", "--threshold", threshold, *files)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--threshold" in result.stderr and "between 0 and 1" in result.stderr



def test_eval_ids_written_as_7_0_are_article_7(tmp_path):
    files = eval_files(tmp_path, [{**ARTICLES[0], "id": 7.0}, ARTICLES[1]],
                       [{"id": 1, "text": "How long do refunds take to reach my card?", "expected": [7]},
                        {"id": 2.0, "text": "Forgot password link", "expected": [8.0]}])
    result = kb_cli("eval", "--semantic", "off", "--json", *files)
    assert result.exit_code == 0, result.output
    assert "not in" not in result.stderr  # no "questions expect ids that are not in the articles"
    assert json.loads(result.stdout.splitlines()[-1])["recall@1"] == 1.0



def test_eval_progress_goes_to_stderr_and_json_stays_parseable(tmp_path, monkeypatch):
    monkeypatch.setattr("plugin_host.cli.on_terminal", lambda: True)  # bars are drawn for a person watching
    files = eval_files(tmp_path, ARTICLES, [{"id": n, "text": "refund please", "expected": [7]} for n in range(30)])
    result = kb_cli("eval", "--semantic", "off", "--json", *files)
    assert result.exit_code == 0, result.output
    assert "Measuring" in result.stderr and "Measuring" not in result.stdout
    assert json.loads(result.stdout.splitlines()[-1])["recall@1"] == 1.0


def test_gaps_and_search_show_progress_on_stderr_only(tmp_path, monkeypatch):
    monkeypatch.setattr("plugin_host.cli.on_terminal", lambda: True)  # bars are drawn for a person watching
    from types import SimpleNamespace

    import plugin_host.runtime as runtime
    from tests.test_kb import kb_host

    _, host, _ = kb_host(tmp_path)
    tickets = [SimpleNamespace(question="Do you ship to Iceland?", language="en")] * 3
    monkeypatch.setattr(runtime, "host_from_cli", lambda path=None: host)
    monkeypatch.setattr(host, "tickets_since", lambda days, limit, progress=None: (tickets, False))
    result = kb_cli("gaps", "--since", "7d")
    assert result.exit_code == 0, result.output
    assert "Reading questions" in result.stderr and "Reading questions" not in result.stdout
    assert "   3  Do you ship to Iceland?" in result.stdout

    config = kb_config(tmp_path / "search")
    result = kb_cli("search", "--json", "--config", str(config), "how long do refunds take")
    assert result.exit_code == 0, result.output
    assert "Indexing articles" in result.stderr
    assert json.loads(result.stdout)[0]["id"] == "refunds"


def test_search_json_carries_each_articles_page_and_whether_acknowledgements_link_it(tmp_path):
    config = kb_config(tmp_path)
    found = json.loads(kb_cli("search", "--json", "--config", str(config), "how long do refunds take").stdout)
    assert found[0]["url"] == "https://help.example.com/refunds" and found[0]["linked_in_acknowledgements"] is True
    found = json.loads(kb_cli("search", "--json", "--config", str(config), "reset my password").stdout)
    assert found[0]["id"] == "password" and found[0]["url"] == "" and found[0]["linked_in_acknowledgements"] is False


def test_search_says_why_in_words_an_admin_reads(tmp_path, monkeypatch):
    from types import SimpleNamespace

    import plugins.kb_suggest as kb_suggest
    from plugins.kb_suggest.articles import Article
    from plugins.kb_suggest.engine import Hit

    refunds = Article("refunds", "Refunds", "Refunds take five days.")
    lamp = Article("returns", "Returns", "Send the lamp back.")
    hits = [Hit(refunds, 0.9, 0.62, (), "Refunds take five days."),
            Hit(lamp, 0.8, 0.55, ("lamp",), "Send the lamp back.", confident=False)]
    fake = SimpleNamespace(articles=[refunds, lamp], search=lambda *a, **k: hits, describe_gate=lambda lang: "gate")
    monkeypatch.setattr(kb_suggest, "knowledge_base", lambda *a, **k: fake)
    config = kb_config(tmp_path)
    result = kb_cli("search", "--config", str(config), "I want my money back")
    assert "why: similar meaning" in result.stdout and "matched: \n" not in result.stdout
    assert "why: matched: lamp (a close alternative)" in result.stdout
    result = kb_cli("search", "--json", "--config", str(config), "I want my money back")
    found = json.loads(result.stdout)
    assert [(h["why"], h["confident"]) for h in found] == [("similar meaning", True),
                                                           ("matched: lamp (a close alternative)", False)]


# -- Google Drive ------------------------------------------------------------------------------------------

def drive_host(tmp_path, local, folder):
    from plugin_host.config import load_config
    from plugin_host.runtime import build_host

    data = {"mailbox": {"address": "support@example.com"}, "host": {"state_dir": str(tmp_path / "state")},
            "plugins": {"enabled": ["kb_suggest"], "kb_suggest": {"drive_folder": folder, "semantic": "off"}}}
    config = load_config(tmp_path / "x.toml", data=data, environ={})
    return build_host(config, http=local.http), config


def test_drive_follows_shortcuts_skips_other_files_with_a_note_and_reads_every_page(tmp_path):
    from plugin_host.mailbox import LocalMailbox
    from plugins.kb_suggest.drive import drive_articles, sync_drive

    local = LocalMailbox()
    folder = local.add_folder("Help centre")
    sub = local.add_folder("Billing", parent=folder)
    elsewhere = local.add_folder("Team docs")
    local.add_document("Refunds", "Refunds reach your card within five days.", sub)
    shared = local.add_document("Shipping times", "Parcels ship within 24 hours.", elsewhere)
    local.add_shortcut("Shipping (shortcut)", shared, folder)
    inside = local.add_document("Invoices", "Invoices are sent monthly.", folder)
    local.add_shortcut("Invoices again", inside, sub)  # one Doc, two ways in: one article
    old = local.add_document("Old policy", "Outdated.", elsewhere)
    local.mailbox.drive_files[old]["trashed"] = True
    local.add_shortcut("Old policy", old, folder)
    binned = local.add_document("Binned", "In the trash.", folder)
    local.mailbox.drive_files[binned]["trashed"] = True
    local.add_drive_file("Price list.pdf", "application/pdf", folder)
    local.add_drive_file("Terms.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", sub)
    for number in range(120):  # more than one page of files.list
        local.add_document(f"FAQ {number:03d}", f"Answer number {number}.", folder)
    host, config = drive_host(tmp_path, local, folder)
    result = sync_drive(host.client, folder, config.state_path)
    titles = {a.title for a in drive_articles(config.state_path)}
    assert {"Refunds", "Shipping times", "Invoices", "FAQ 000", "FAQ 119"} <= titles
    assert "Binned" not in titles and "Old policy" not in titles and len(titles) == 123
    assert result["documents"] == 123 and result["failed"] == []
    notes = "\n".join(result["skipped"])
    assert "Price list.pdf: a PDF, not a Google Doc" in notes and "Terms.docx: a Word file, not a Google Doc" in notes
    assert "Old policy: a shortcut to a Doc in the trash" in notes


@pytest.mark.parametrize("public", [False, True])
def test_drive_docs_are_linked_to_customers_only_when_the_admin_says_they_are_public(tmp_path, public):
    from datetime import datetime, timezone

    from plugin_host.config import load_config
    from plugin_host.mailbox import LocalMailbox
    from plugin_host.runtime import build_host
    from plugin_host.sync import ChangeFeed
    from plugins.kb_suggest.drive import sync_drive
    from tests.conftest import deliver, make_email
    from tests.test_autoreply import acks

    local = LocalMailbox()
    folder = local.add_folder("Help centre")
    doc = local.add_document("How refunds work", "Refunds reach your card within 5 business days after approval.",
                             folder)
    monday = datetime.now(timezone.utc)
    kb = {"drive_folder": folder, "semantic": "off", **({"drive_public": True} if public else {})}
    data = {"mailbox": {"address": "support@example.com"}, "host": {"state_dir": str(tmp_path / "state")},
            "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}},
            "plugins": {"enabled": ["autoreply", "kb_suggest"], "kb_suggest": kb,
                        "autoreply": {"hours": "24/7", "timezone": "UTC"}}}
    config = load_config(tmp_path / "x.toml", data=data, environ={})
    host = build_host(config, http=local.http, now=lambda: monday)
    sync_drive(host.client, folder, config.state_path)
    ref = deliver(local.gmail(), make_email(subject="Refund", body="When will my refund reach my card?", date=monday))
    for message in local.mailbox.messages.values():
        message.internal_date = int(monday.timestamp() * 1000)
    ChangeFeed(host).sync()
    [ack] = acks(local)
    edit_link = f"https://docs.google.com/document/d/{doc}/edit"
    assert (edit_link in ack.get_content()) is public

    ticket = host.ticket(ref["threadId"])
    agent = config.agent("anna.kowalska@example.com")
    panel = json.dumps(host.side_panel_sections(ticket, agent, lambda n: f"https://labeldesk.example.com/{n}"))
    assert "How refunds work" in panel and edit_link in panel  # agents can open the Doc either way
    assert ("Insert link" in panel) is public
    items = host.compose_suggestions(ticket, agent)
    assert any("5 business days" in i["content"] for i in items)
    assert any(edit_link in i["content"] for i in items) is public
    reply = host.card_action("kb.insert_link", {"article": f"drive/{doc}"}, {}, ticket, agent)
    assert (edit_link in (reply.insert_text or "")) is public
    assert public or "internal Doc" in reply.notification


# -- help-centre import ----------------------------------------------------------------------------------

HELP = "https://help.example.com"


def page(title: str, text: str, lang: str = "en", canonical: str = "") -> str:
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return (f'<html lang="{lang}"><head><title>{title} | Help</title>{link}</head><body>'
            f'<header>Acme Help Centre Sign in</header><nav><a href="/">Home</a> Contact us</nav>'
            f'<h1>{title}</h1><p>{text}</p><footer>© Acme 2026 Privacy Terms</footer></body></html>')


def imported(tmp_path, sitemap_url: str):
    result = kb_cli("import", "--sitemap", sitemap_url, "--out", str(tmp_path / "kb"))
    return result, {a.id: a for a in load_folder(tmp_path / "kb")} if (tmp_path / "kb").exists() else {}


@responses.activate
def test_import_reads_gzip_and_plain_text_sitemaps(tmp_path):
    import gzip

    from tests.test_kb_sources import urlset

    responses.add("GET", f"{HELP}/sitemap.xml.gz", body=gzip.compress(urlset(f"{HELP}/refunds").encode()),
                  content_type="application/x-gzip")
    responses.add("GET", f"{HELP}/refunds", body=page("Refunds", "Five days."))
    result, articles = imported(tmp_path / "gz", f"{HELP}/sitemap.xml.gz")
    assert result.exit_code == 0, result.output + result.stderr
    assert set(articles) == {"refunds"}

    responses.add("GET", f"{HELP}/sitemap.txt", body=f"{HELP}/refunds\n\n{HELP}/shipping\n", content_type="text/plain")
    responses.add("GET", f"{HELP}/shipping", body=page("Shipping", "24 hours."))
    result, articles = imported(tmp_path / "txt", f"{HELP}/sitemap.txt")
    assert result.exit_code == 0, result.output + result.stderr
    assert set(articles) == {"refunds", "shipping"}



@responses.activate
def test_import_resolves_relative_urls_and_keeps_one_page_per_canonical_url(tmp_path):
    from tests.test_kb_sources import NS

    index = f'<?xml version="1.0"?><sitemapindex {NS}><sitemap><loc>/sitemap-articles.xml</loc></sitemap></sitemapindex>'
    responses.add("GET", f"{HELP}/sitemap.xml", body=index)
    responses.add("GET", f"{HELP}/sitemap-articles.xml", body=(
        f'<?xml version="1.0"?><urlset {NS}><url><loc>/articles/refunds</loc></url>'
        f"<url><loc>{HELP}/articles/refunds?utm_source=mail</loc></url>"
        f"<url><loc>articles/shipping</loc></url></urlset>"))
    canonical = f"{HELP}/articles/refunds"
    responses.add("GET", f"{HELP}/articles/refunds", body=page("Refunds", "Five days.", canonical=canonical))
    responses.add("GET", f"{HELP}/articles/refunds?utm_source=mail", body=page("Refunds", "Five days.", canonical=canonical))
    responses.add("GET", f"{HELP}/articles/shipping", body=page("Wysyłka", "Wysyłamy w 24 godziny.", lang="pl-PL"))
    result, articles = imported(tmp_path, f"{HELP}/sitemap.xml")
    assert result.exit_code == 0, result.output + result.stderr
    assert set(articles) == {"articles-refunds", "articles-shipping"}
    assert articles["articles-refunds"].url == canonical and articles["articles-shipping"].lang == "pl"
    assert "2 articles written" in result.stdout



@responses.activate
def test_import_strips_header_navigation_and_footer_from_pages_without_main(tmp_path):
    from tests.test_kb_sources import urlset

    responses.add("GET", f"{HELP}/sitemap.xml", body=urlset(f"{HELP}/refunds"))
    responses.add("GET", f"{HELP}/refunds", body=page("Refunds", "Five days."))
    result, articles = imported(tmp_path, f"{HELP}/sitemap.xml")
    assert result.exit_code == 0, result.output + result.stderr
    body = articles["refunds"].body
    assert "Five days." in body and "Sign in" not in body and "Contact us" not in body and "Privacy" not in body



@responses.activate
def test_import_goes_on_past_pages_that_fail_and_sums_them_up(tmp_path):
    from tests.test_kb_sources import urlset

    from tests.test_kb_sources import NS

    index = (f'<?xml version="1.0"?><sitemapindex {NS}><sitemap><loc>{HELP}/pages.xml</loc></sitemap>'
             f'<sitemap><loc>{HELP}/missing.xml</loc></sitemap></sitemapindex>')
    responses.add("GET", f"{HELP}/sitemap.xml", body=index)
    responses.add("GET", f"{HELP}/pages.xml", body=urlset(f"{HELP}/refunds", f"{HELP}/gone", f"{HELP}/broken"))
    responses.add("GET", f"{HELP}/missing.xml", status=500)
    responses.add("GET", f"{HELP}/refunds", body=page("Refunds", "Five days."))
    responses.add("GET", f"{HELP}/gone", status=404)
    responses.add("GET", f"{HELP}/broken", body=ValueError("the server cut the answer short"))
    result, articles = imported(tmp_path, f"{HELP}/sitemap.xml")
    assert result.exit_code == 0, result.output + result.stderr
    assert set(articles) == {"refunds"} and "1 article written" in result.stdout
    assert "3 pages failed" in result.stderr and f"{HELP}/gone: 404" in result.stderr
    assert f"{HELP}/missing.xml (a sitemap): 500" in result.stderr
    assert f"{HELP}/broken: ValueError" in result.stderr


@responses.activate
def test_import_of_a_page_without_html_lang_detects_its_language(tmp_path):
    from tests.test_kb_sources import urlset

    responses.add("GET", f"{HELP}/sitemap.xml", body=urlset(f"{HELP}/dostawa", f"{HELP}/refunds"))
    responses.add("GET", f"{HELP}/dostawa", body="<html><body><main><h1>Czas dostawy</h1><p>Wysyłamy wszystkie "
                  "zamówienia w ciągu 24 godzin, a kurier dostarcza je następnego dnia roboczego.</p></main></body></html>")
    responses.add("GET", f"{HELP}/refunds", body=page("Refunds", "Five days.", lang="EN-gb"))
    result, articles = imported(tmp_path, f"{HELP}/sitemap.xml")
    assert result.exit_code == 0, result.output + result.stderr
    assert articles["dostawa"].lang == "pl" and articles["refunds"].lang == "en"


@pytest.mark.parametrize("damage", [b'{"folder": "x", "documents": []}', b'{"documents": {"1a": "text"}}',
                                    b'{"documents": {"1a": {"body": "no title"}}}', b"\x00garbage"])
def test_a_damaged_drive_copy_is_exported_again_not_a_traceback(tmp_path, damage):
    from plugin_host.mailbox import LocalMailbox
    from plugins.kb_suggest.drive import drive_articles, sync_drive

    local = LocalMailbox()
    folder = local.add_folder("Help centre")
    local.add_document("Refunds", "Refunds reach your card within five days.", folder)
    host, config = drive_host(tmp_path, local, folder)
    write(config.state_path, "kb-drive.json", damage)
    assert drive_articles(config.state_path) == []
    assert sync_drive(host.client, folder, config.state_path)["exported"] == 1
    assert [a.title for a in drive_articles(config.state_path)] == ["Refunds"]


def test_gaps_json_lists_the_groups_and_an_empty_period_says_so(tmp_path, monkeypatch):
    from types import SimpleNamespace

    import plugin_host.runtime as runtime
    from tests.test_kb import kb_host

    _, host, _ = kb_host(tmp_path)
    tickets = [SimpleNamespace(question="Do you ship to Iceland?", language="en")] * 2
    monkeypatch.setattr(runtime, "host_from_cli", lambda path=None: host)
    monkeypatch.setattr(host, "tickets_since", lambda days, limit, progress=None: (tickets, False))
    result = kb_cli("gaps", "--json")
    assert result.exit_code == 0, result.output
    groups = json.loads(result.stdout)
    assert groups[0]["count"] == 2 and groups[0]["example"] == "Do you ship to Iceland?"
    assert groups[0]["language"] == "en" and "iceland" in groups[0]["keywords"]

    monkeypatch.setattr(host, "tickets_since", lambda days, limit, progress=None: ([], False))
    result = kb_cli("gaps", "--since", "7d")
    assert result.exit_code == 0 and "No customer questions in the last 7 days" in result.stdout


def test_search_threshold_tries_another_gate(tmp_path):
    config = kb_config(tmp_path / "search")
    strict = kb_cli("search", "--json", "--threshold", "1", "--config", str(config),
                    "how long do refunds take to reach Mars")  # a word no article has: never fully confident
    assert strict.exit_code == 0, strict.output
    assert json.loads(strict.stdout) == []
    loose = kb_cli("search", "--threshold", "0", "--config", str(config), "how long do refunds take")
    assert loose.exit_code == 0 and "gate: 0.0 (--threshold)" in loose.stdout and "[refunds]" in loose.stdout
    bad = kb_cli("search", "--threshold", "7", "--config", str(config), "refunds")
    assert bad.exit_code == 2 and "between 0 and 1" in bad.stderr


@pytest.mark.parametrize("head, expected", [
    # YAML's folded and continued lines: the title was ">" or its first line only
    ("title: >\n  How do I reset\n  my password?", {"title": "How do I reset my password?"}),
    ("title: Reset your\n  password today", {"title": "Reset your password today"}),
    ('tags: ["billing, invoices", refunds]', {"tags": ["billing, invoices", "refunds"]}),  # was split at the comma
    # what YAML would turn into something else stays as written
    ("title: [Beta] Export [new]\ntags: billing, refunds", {"title": "[Beta] Export [new]", "tags": ["billing", "refunds"]}),
    ("title: [Beta]\nlang: no\nid: 0012", {"title": "[Beta]", "lang": "no", "id": "0012"}),
    ("title: Steps\ntags:\n  - a\n  - b", {"title": "Steps", "tags": ["a", "b"]}),
    ("title: 'It''s here'\nbroken: [", {"title": "It's here"}),  # not YAML at all: read line by line
])
def test_front_matter_reads_yaml_where_it_is_yaml(head, expected):
    from plugins.kb_suggest.articles import parse_front_matter

    meta, body = parse_front_matter(f"---\n{head}\n---\nThe body.\n")
    assert {key: meta[key] for key in expected} == expected and body == "The body.\n"


@pytest.mark.parametrize("extra", [
    "updated: 2024-02-30",  # a date that is no date: YAML's timestamp raised ValueError
    "reviewed: 2024-01-01T25:00:00",
    "id: " + "1" * 5000,  # more digits than Python turns into an int
])
def test_a_front_matter_value_yaml_cannot_type_loses_neither_the_article_nor_the_folder(tmp_path, extra):
    """A folded title beside a value YAML would make a date or number of, but cannot: it ended in a ValueError
    out of load_folder, so one article's typo took every article of the knowledge base down."""
    (tmp_path / "reset.md").write_text(f"---\ntitle: >\n  How do I reset\n  my password?\n{extra}\n---\nSteps.\n")
    (tmp_path / "refunds.md").write_text("---\ntitle: Refunds\n---\nFive days.\n")
    articles = {article.id: article for article in load_folder(tmp_path)}
    assert articles["reset"].title == "How do I reset my password?" and articles["refunds"].title == "Refunds"


def test_front_matter_nested_past_pythons_recursion_is_read_line_by_line(monkeypatch):
    """Without libyaml, PyYAML's own parser recurses per nesting level: a RecursionError is no YAMLError."""
    import yaml

    from plugins.kb_suggest.articles import parse_front_matter

    for name in ("CSafeLoader", "CBaseLoader"):
        monkeypatch.delattr(yaml, name, raising=False)
    meta, body = parse_front_matter("---\ntitle: >\n  Reset\nx: " + "[" * 5000 + "]" * 5000 + "\n---\nThe body.\n")
    assert meta["title"] == ">" and body == "The body.\n"


def test_a_title_with_a_hash_is_not_cut_where_yaml_sees_a_comment():
    """'#' after a space starts a YAML comment: read as YAML (because of a quoted tag on another line), the
    title "Error #500 when exporting" became "Error"."""
    from plugins.kb_suggest.articles import parse_front_matter

    meta, _ = parse_front_matter('---\ntitle: Error #500 when exporting\ntags: ["billing, invoices"]\n---\nBody.\n')
    assert meta["title"] == "Error #500 when exporting" and meta["tags"] == ["billing, invoices"]
    meta, _ = parse_front_matter("---\ntitle: >\n  Error #500\n  when exporting\n---\nBody.\n")  # no comment there
    assert meta["title"] == "Error #500 when exporting"


def test_tags_quoted_as_one_string_lose_their_quotes():
    """'tags: "billing, refunds"' is one comma-separated string, as an unquoted one: its tags were '"billing' and
    'refunds"', quotes and all, so neither matched."""
    from plugins.kb_suggest.articles import parse_front_matter

    for head in ('tags: "billing, refunds"', "tags: 'billing, refunds'"):
        meta, _ = parse_front_matter(f"---\ntitle: Refunds\n{head}\n---\nBody.\n")
        assert meta["tags"] == ["billing", "refunds"]


@pytest.mark.parametrize("head, expected", [
    ("Title: >\n  Reset your\n  password", {"title": "Reset your password"}),  # keys in any case
    ("summary: >\n  Steps\ntitle: [Beta]", {"title": "[Beta]"}),  # a YAML list is no title
    ("summary: >\n  Steps\ntags: [' billing ', refunds]", {"tags": ["billing", "refunds"]}),
    ("summary: >\n  Steps\ntags: [billing, [nested]]", {"tags": ["billing", "[nested]"]}),  # not texts: as written
])
def test_what_yaml_reads_is_taken_only_as_text(head, expected):
    from plugins.kb_suggest.articles import parse_front_matter

    meta, _ = parse_front_matter(f"---\n{head}\n---\nThe body.\n")
    assert {key: meta[key] for key in expected} == expected


def test_front_matter_that_yaml_reads_as_no_table_is_read_line_by_line():
    from plugins.kb_suggest.articles import parse_front_matter

    meta, body = parse_front_matter("---\nNotes about refunds\n  for the team\n---\nThe body.\n")
    assert meta == {} and body == "The body.\n"


def test_kb_index_counts_one_article_in_the_singular(tmp_path):
    config = kb_config(tmp_path)
    (tmp_path / "kb" / "password.md").unlink()
    result = kb_cli("index", "--config", str(config))
    assert result.exit_code == 0, result.output + result.stderr
    assert "1 article, 1 new or changed." in result.stdout
