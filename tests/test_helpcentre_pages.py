"""Help-centre pages as Zendesk Guide, Freshdesk and Intercom serve them: what of a page becomes the article."""
from __future__ import annotations

import responses

from plugins.kb_suggest.articles import parse_front_matter
from plugins.kb_suggest.helpcentre import import_sitemap, page_article

from .conftest import cli_runner

SITEMAP = "https://help.example.com/sitemap.xml"
NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'

# Zendesk Guide's Copenhagen theme: breadcrumbs, search, related and recently viewed articles, comments and
# the cookie banner's dialog all sit inside <main> (the votes sit in the article's <footer>).
ZENDESK = """<!DOCTYPE html><html lang="en-us"><head><title>Reset your password &ndash; Acme Help Center</title></head>
<body><main role="main"><div class="container">
  <div class="sub-nav"><ol class="breadcrumbs"><li><a href="/hc/en-us">Acme Help Center</a></li>
    <li><a href="/hc/en-us/categories/1">Account &amp; billing</a></li></ol>
    <div class="search-container"><form role="search" action="/hc/en-us/search"><input type="search" name="query">
    <input type="submit" value="Search"><button type="submit">Go</button></form></div></div>
  <div id="cookie-consent" class="cookie-banner" role="dialog"><p>We use cookies to improve your experience.</p></div>
  <article class="article"><header class="article-header"><h1 class="article-title">Reset your password</h1>
    <div class="article-meta">Anna Kowalska, 1 year ago</div></header>
    <section class="article-info"><div class="article-body"><p>Click <strong>Forgot password?</strong> on the sign-in
    page and open the link we email you within 60 minutes.</p></div></section>
    <footer><div class="article-votes">Was this article helpful?</div></footer>
    <div class="article-relatives"><section class="related-articles"><h2>Related articles</h2>
      <ul><li><a href="/hc/en-us/articles/5">Cancel your subscription</a></li></ul></section>
      <section class="recent-articles"><h2>Recently viewed articles</h2><ul></ul></section></div>
    <div class="article-comments"><section class="comments"><h2>Comments</h2>
      <p>Article is closed for comments.</p></section></div>
  </article></div></main></body></html>"""


def body_of(markdown: str) -> str:
    return parse_front_matter(markdown)[1]


def test_help_centre_furniture_inside_main_is_not_article_text():
    # Was: the article read "Acme Help Center / Account & billing / Related articles / Cancel your subscription /
    # Recently viewed articles / Article is closed for comments", so "how do I cancel my subscription?" found the
    # password article (matched: cancel, subscription) and acknowledgements linked it to customers.
    body = body_of(page_article("https://help.example.com/hc/en-us/articles/1", ZENDESK))
    assert "Forgot password?" in body and "60 minutes" in body
    for furniture in ("Acme Help Center", "Account", "Search", "Go", "cookies", "Related articles",
                      "Cancel your subscription", "Recently viewed", "Comments", "closed for comments", "helpful"):
        assert furniture not in body, furniture


def test_an_unclosed_furniture_element_keeps_the_text_after_it():
    page = '<main><div class="breadcrumbs"><a href="/">Home</a><p>The whole answer is here.</p></main>'
    assert "The whole answer is here." in body_of(page_article("https://help.example.com/a", page))


def test_content_classes_that_only_resemble_furniture_stay():
    page = ('<main><h1>Sharing reports</h1><h2 id="share-a-report">Share a report</h2><p>Click Share.</p>'
            '<table class="comments-table"><tr><td>Comment limits: 500 characters</td></tr></table></main>')
    body = body_of(page_article("https://help.example.com/a", page))
    assert "Share a report" in body and "Click Share." in body and "Comment limits" in body


# Freshdesk's portal: the site's name is the page's only <h1>, in the banner; the article's title is an <h2>.
FRESHDESK = """<html lang="en"><head><title>Can I pay in EUR or PLN? : Acme Support</title></head><body>
<header class="banner"><h1 class="ellipsis heading">Acme Support</h1><nav><a href="/support/login">Login</a></nav></header>
<section class="main content"><h2 class="heading">Can I pay in EUR or PLN?</h2>
<article class="article-body" id="article-body"><p>Yes: choose the currency when you subscribe.</p></article></section>
</body></html>"""


def test_the_title_is_not_the_sites_name_from_its_banner():
    # Was: "Acme Support" — the banner's <h1> — was the title of every Freshdesk article.
    meta, _ = parse_front_matter(page_article("https://help.example.com/support/solutions/articles/1", FRESHDESK))
    assert meta["title"].startswith("Can I pay in EUR or PLN?")


def test_the_articles_own_h1_is_the_title_also_in_its_header():
    meta, _ = parse_front_matter(page_article("https://help.example.com/hc/en-us/articles/1", ZENDESK))
    assert meta["title"] == "Reset your password"
    page = "<body><h1>First</h1><p>x</p><h1>Second</h1></body>"
    assert parse_front_matter(page_article("https://help.example.com/a", page))[0]["title"] == "First"


def urlset(*urls: str) -> str:
    return f'<?xml version="1.0"?><urlset {NS}>' + "".join(f"<url><loc>{u}</loc></url>" for u in urls) + "</urlset>"


@responses.activate
def test_files_that_are_not_web_pages_are_not_articles(tmp_path):
    # Was: a PDF price list in the sitemap became an article titled with its URL, its body the PDF's bytes.
    pages = ["https://help.example.com/pricing.pdf", "https://help.example.com/logo.png", "https://help.example.com/a"]
    responses.add("GET", SITEMAP, body=urlset(*pages))
    responses.add("GET", pages[0], body=b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n%%EOF\n", content_type="application/pdf")
    responses.add("GET", pages[1], body=b"\x89PNG\r\n\x1a\n", content_type="image/png")
    responses.add("GET", pages[2], body="<main><h1>A</h1><p>Text.</p></main>", content_type="text/html; charset=utf-8")
    written, failures = import_sitemap(SITEMAP, tmp_path)
    assert written == 1 and [p.name for p in tmp_path.iterdir()] == ["a.md"]
    assert failures == [f"{pages[0]}: not a web page (application/pdf); skipped",
                        f"{pages[1]}: not a web page (image/png); skipped"]


@responses.activate
def test_a_page_the_help_centre_deleted_leaves_the_knowledge_base_at_the_next_import(tmp_path):
    # Was: its article stayed, so acknowledgements kept linking customers to a page that answers 404.
    pages = ["https://help.example.com/a", "https://help.example.com/b", "https://help.example.com/c"]
    responses.add("GET", SITEMAP, body=urlset(*pages))
    for url in pages:
        responses.add("GET", url, body=f"<main><h1>{url[-1]}</h1><p>Text.</p></main>")
    (tmp_path / "mine.md").write_text("---\ntitle: Mine\nurl: https://help.example.com/b\n---\nWritten by hand.\n")
    assert import_sitemap(SITEMAP, tmp_path) == (3, [])
    responses.replace("GET", pages[1], status=404)
    responses.replace("GET", pages[2], status=503)
    written, failures = import_sitemap(SITEMAP, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.md", "c.md", "mine.md"]  # c only failed for now
    assert failures == [f"{pages[1]}: 404 Not Found (gone: its article b.md was removed)", f"{pages[2]}: 503 Service Unavailable"]


@responses.activate
def test_kb_import_shows_its_progress_on_stderr(tmp_path, monkeypatch):
    # Was: nothing on the terminal until the last of thousands of pages was fetched.
    monkeypatch.setattr("plugin_host.cli.on_terminal", lambda: True)  # bars are drawn for a person watching
    from plugin_host.cli import get_cli

    responses.add("GET", SITEMAP, body=urlset("https://help.example.com/a"))
    responses.add("GET", "https://help.example.com/a", body="<main><h1>A</h1><p>Text.</p></main>")
    result = cli_runner().invoke(get_cli(), ["kb", "import", "--sitemap", SITEMAP, "--out", str(tmp_path / "kb")])
    assert result.exit_code == 0 and "Importing pages" in result.stderr
    assert result.stdout == f"1 article written to {tmp_path / 'kb'}.\n"


@responses.activate
def test_a_reimport_leaves_unchanged_articles_untouched(tmp_path):
    # Was: every file was written again, so each import changed the folder's signature (modification times) and
    # the host rebuilt its index though no article had changed.
    import os

    pages = ["https://help.example.com/a", "https://help.example.com/b"]
    responses.add("GET", SITEMAP, body=urlset(*pages))
    for url in pages:
        responses.add("GET", url, body=f"<main><h1>{url[-1]}</h1><p>Text.</p></main>")
    assert import_sitemap(SITEMAP, tmp_path) == (2, [])
    for path in tmp_path.iterdir():
        os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    responses.replace("GET", pages[1], body="<main><h1>b</h1><p>New text.</p></main>")
    assert import_sitemap(SITEMAP, tmp_path) == (2, [])
    assert (tmp_path / "a.md").stat().st_mtime_ns == 1_000_000_000
    assert (tmp_path / "b.md").stat().st_mtime_ns != 1_000_000_000 and "New text." in (tmp_path / "b.md").read_text()


@responses.activate
def test_kb_import_of_pages_on_plain_http_says_customers_will_not_get_them(tmp_path):
    """Acknowledgements link only https pages: an http help centre's articles were silently never linked."""
    from plugin_host.cli import get_cli

    plain = "http://help.example.com/sitemap.xml"
    responses.add("GET", plain, body=urlset("http://help.example.com/a", "http://help.example.com/b"))
    for page in "ab":
        responses.add("GET", f"http://help.example.com/{page}", body=f"<main><h1>{page}</h1><p>Text.</p></main>")
    result = cli_runner().invoke(get_cli(), ["kb", "import", "--sitemap", plain, "--out", str(tmp_path / "kb")])
    assert result.exit_code == 0 and "2 articles link to http:// pages" in result.stderr
    assert "agents only" in result.stderr
    responses.add("GET", SITEMAP, body=urlset("https://help.example.com/a"))
    responses.add("GET", "https://help.example.com/a", body="<main><h1>A</h1><p>Text.</p></main>")
    secure = cli_runner().invoke(get_cli(), ["kb", "import", "--sitemap", SITEMAP, "--out", str(tmp_path / "kb2")])
    assert secure.exit_code == 0 and "warning" not in secure.stderr
