"""Help-centre pages become faithful Markdown: steps, code, tables, bold and links survive the import, links
and images point at absolute addresses of the page, and nothing of the page's own HTML or scripts gets through."""
from __future__ import annotations

from html.parser import HTMLParser

import pytest
import responses
from markdown_it import MarkdownIt

from plugins.kb_suggest.articles import Article, load_folder, parse_front_matter
from plugins.kb_suggest.engine import KnowledgeBase
from plugins.kb_suggest.helpcentre import import_sitemap, page_article
from plugins.kb_suggest.html_answer import answer_html

PAGE_URL = "https://help.example.com/hc/en-us/articles/42-export-invoices"
SITEMAP = "https://help.example.com/sitemap.xml"
NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'

# A how-to as Zendesk Guide serves it: numbered steps, bold UI names, a relative link, a screenshot, a table of
# formats and a code sample, with the theme's breadcrumbs and related articles around it.
HOW_TO = """<!DOCTYPE html><html lang="en-us"><head><title>Export invoices &ndash; Acme Help Center</title></head>
<body><header><nav><a href="/hc/en-us/signin">Sign in</a></nav></header>
<main role="main"><ol class="breadcrumbs"><li><a href="/hc/en-us">Acme Help Center</a></li></ol>
<article><header><h1>Export invoices</h1></header>
<div class="article-body">
<p>You can export <em>all</em> invoices of a year as CSV. See <a href="../articles/7-refunds#fees">refund fees</a>
and <a href="https://status.example.com/">our status page</a>, or write to
<a href="mailto:billing@example.com">billing@example.com</a>.</p>
<ol>
  <li>Open <strong>Settings</strong> &gt; <strong>Billing</strong>.</li>
  <li>Click <strong>Export</strong> and pick a year:
    <ul><li>2025</li><li>2026</li></ul></li>
  <li>Open the file from your <code>Downloads</code> folder.</li>
</ol>
<p><img src="/hc/article_attachments/9/export.png" alt="The Export button"></p>
<table><thead><tr><th>Format</th><th>Columns</th></tr></thead>
<tbody><tr><td>CSV</td><td>date, amount</td></tr><tr><td>PDF</td><td>one invoice a page</td></tr></tbody></table>
<p>Developers can use the API:</p>
<pre><code class="language-bash">curl -H "Authorization: Bearer $TOKEN" \\
  https://api.example.com/v1/invoices?year=2026</code></pre>
</div></article>
<section class="related-articles"><h2>Related articles</h2><ul><li><a href="/hc/en-us/articles/5">Cancel</a></li></ul></section>
</main><footer>&copy; Acme</footer></body></html>"""


def body_of(markdown: str) -> str:
    return parse_front_matter(markdown)[1]


def html_tokens(markdown: str) -> list[str]:
    """The raw-HTML tokens CommonMark (HTML allowed, as the renderers parse) finds in ``markdown``."""
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    found = []
    for token in md.parse(markdown):
        found += [token.content for token in [token, *(token.children or [])] if token.type.startswith("html_")]
    return found


class _Elements(HTMLParser):
    """Every element of rendered HTML with its attributes."""

    def __init__(self):
        super().__init__()
        self.elements: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict]]:
    parser = _Elements()
    parser.feed(html)
    return parser.elements


def test_steps_code_tables_bold_and_links_survive_the_import():
    # Was: one paragraph of plain text a line ("Open Settings > Billing." with no number, no bold, no link target,
    # the table's cells run together), so "Insert answer" gave customers flattened steps and no links.
    body = body_of(page_article(PAGE_URL, HOW_TO))
    assert "1. Open **Settings** > **Billing**." in body.replace("\\>", ">")
    assert "[refund fees](https://help.example.com/hc/en-us/articles/7-refunds#fees)" in body
    assert "[our status page](https://status.example.com/)" in body
    assert "![The Export button](https://help.example.com/hc/article_attachments/9/export.png)" in body
    assert "| Format | Columns |" in body and "| CSV | date, amount |" in body
    assert "```bash\ncurl -H \"Authorization: Bearer $TOKEN\" \\\n  https://api.example.com/v1/invoices?year=2026\n```" in body
    assert "`Downloads`" in body and "*all*" in body
    for furniture in ("Sign in", "Acme Help Center", "Related articles", "Cancel", "Acme"):
        assert furniture not in body, furniture


def test_an_inserted_answer_keeps_the_steps_and_the_links():
    article = Article("x", "Export invoices", body_of(page_article(PAGE_URL, HOW_TO)))
    answer = article.answer
    assert "refund fees (https://help.example.com/hc/en-us/articles/7-refunds#fees)" in answer
    assert "1. Open Settings > Billing.\n2. Click Export and pick a year:\n  - 2025\n  - 2026\n3. Open the file" in answer
    assert "Format | Columns\nCSV | date, amount" in answer
    assert not answer.startswith("Export invoices")  # the title (the page's <h1>) opens no reply
    html = answer_html(article.body)
    assert '<a href="https://help.example.com/hc/en-us/articles/7-refunds#fees">refund fees</a>' in html
    assert "<ol>" in html and "<strong>Settings</strong>" in html and "<table>" in html and "<pre><code" in html


@responses.activate
def test_relative_links_are_read_against_the_address_the_page_was_served_from(tmp_path):
    # A page moved to /b/ (a redirect): "x" on it is /b/x, not /x; <base href> wins where the page sets one.
    responses.add("GET", SITEMAP, body=f'<urlset {NS}><url><loc>https://help.example.com/b</loc></url>'
                                       f'<url><loc>https://help.example.com/c</loc></url></urlset>')
    responses.add("GET", "https://help.example.com/b", status=301, headers={"Location": "/b/"})
    responses.add("GET", "https://help.example.com/b/", body='<main><h1>B</h1><p><a href="x">X</a></p></main>')
    responses.add("GET", "https://help.example.com/c",
                  body='<head><base href="https://help.example.com/docs/"></head><main><h1>C</h1>'
                       '<p><a href="y">Y</a> <img src="i.png" alt="pic"></p></main>')
    assert import_sitemap(SITEMAP, tmp_path) == (2, [])
    bodies = {a.title: a.body for a in load_folder(tmp_path)}
    assert "[X](https://help.example.com/b/x)" in bodies["B"]
    assert "[Y](https://help.example.com/docs/y)" in bodies["C"] and "(https://help.example.com/docs/i.png)" in bodies["C"]


@pytest.mark.parametrize("href", ["javascript:alert(1)", " JaVaScRiPt:alert(1)", "java&#x09;script:alert(1)",
                                  "&#106;avascript:alert(1)", "data:text/html;base64,PHNjcmlwdD4=",
                                  "vbscript:msgbox(1)", "jav\nascript:alert(1)"])
def test_script_and_data_links_do_not_survive(href):
    page = (f'<main><h1>T</h1><p>Then <a href="{href}">click here</a> and see '
            f'<img src="data:image/svg+xml;base64,PHN2Zz4=" alt="the chart"><img src="{href}" alt="icon">.</p></main>')
    body = body_of(page_article(PAGE_URL, page))
    assert "click here" in body and "the chart" in body
    squashed = "".join(body.lower().split())
    assert "javascript:" not in squashed and "data:" not in squashed and "vbscript:" not in squashed
    assert "](" not in body  # no link nor image is left to follow


HOSTILE = """<main><h1>Embed the widget</h1>
<script>alert('page script')</script><style>p{}</style><noscript><img src=x onerror=alert(2)></noscript>
<p>Paste &lt;script src="w.js"&gt;&lt;/script&gt; before &lt;/body&gt;, not &lt;img src=x onerror=alert(1)&gt;.</p>
<p>Real markup: <img src="/logo.png" onerror="alert(3)" alt="logo"> <span onmouseover="alert(4)">hover</span>
<a href="/a" onclick="alert(5)">a link</a> <iframe src="https://evil.example/"></iframe><svg onload="alert(6)"><title>svg</title></svg></p>
<pre>```
&lt;script&gt;alert('out of the fence')&lt;/script&gt;
```<script>alert('in the fence')</script></pre>
<p><code>&lt;b onmouseover=alert(7)&gt;</code> is shown as code.</p>
<div>&lt;div onclick=alert(8)&gt;</div>
</main>"""


def test_no_html_of_the_page_reaches_the_markdown_or_what_agents_and_customers_see():
    body = body_of(page_article(PAGE_URL, HOSTILE))
    assert html_tokens(body) == []  # no raw HTML in the Markdown at all
    assert "page script" not in body and "in the fence" not in body and "alert(2)" not in body and "alert(3)" not in body
    assert "alert(5)" not in body and "alert(6)" not in body and "evil.example" not in body
    html = answer_html(body)
    for tag, attrs in elements(html):
        assert tag not in ("script", "img", "iframe", "svg", "style", "div", "span"), tag
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
    article = Article("w", "Widget", body)
    # What a how-to shows as text stays that text, for the agent and the customer alike.
    assert 'Paste <script src="w.js"></script> before </body>, not <img src=x onerror=alert(1)>.' in article.answer
    assert '<script>alert(\'out of the fence\')</script>' in article.answer  # code, shown as code
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;b onmouseover=alert(7)&gt;" in html


def test_link_targets_and_markdown_syntax_are_no_ranking_words():
    article = Article("x", "Export invoices", body_of(page_article(PAGE_URL, HOW_TO)))
    text = article.text  # what ranking and passages read
    assert "help.example.com" not in text and "7-refunds" not in text and "export.png" not in text
    assert "**" not in text and "](" not in text and "| ---" not in text and "```" not in text and "\\" not in text.replace(" \\\n", "")
    assert "refund fees" in text and "Open Settings > Billing." in text and "The Export button" in text


PAGES = {
    "refunds": ("Refund fees", "<p>We refund a <strong>duplicate charge</strong> within 5 business days. Read the "
                '<a href="/hc/en-us/articles/2-cancel-subscription">cancellation rules</a> too.</p>'),
    "cancel": ("Cancel your subscription", "<ol><li>Open <strong>Billing</strong>.</li><li>Click <em>Cancel plan</em>"
               "</li></ol><p>Your data stays for 30 days.</p>"),
    "export": ("Export invoices", "<p>Use <code>Settings &gt; Export</code> and pick CSV.</p><table><tr><th>Format"
               "</th></tr><tr><td>CSV</td></tr></table>"),
    "password": ("Reset your password", '<p>Click <a href="/hc/en-us/signin?reset=1">Forgot password</a>; the link '
                 "arrives by email within 10 minutes.</p>"),
}


@responses.activate
def test_an_imported_folder_ranks_as_its_plain_text_does(tmp_path):
    """Markdown syntax and link targets in the imported bodies change no ranking: the same questions find the
    same articles, with the same confidence, as when the bodies are the text a reader sees."""
    urls = [f"https://help.example.com/hc/en-us/articles/{slug}" for slug in PAGES]
    responses.add("GET", SITEMAP, body=f"<urlset {NS}>" + "".join(f"<url><loc>{u}</loc></url>" for u in urls) + "</urlset>")
    for url, (title, html) in zip(urls, PAGES.values()):
        responses.add("GET", url, body=f'<html lang="en"><main><h1>{title}</h1>{html}</main></html>')
    assert import_sitemap(SITEMAP, tmp_path) == (4, [])
    imported = load_folder(tmp_path)
    plain = [Article(a.id, a.title, a.text, a.url, a.lang) for a in imported]
    questions = ["I was charged twice, refund please", "how do I cancel my plan", "export invoices to csv",
                 "forgot my password, no email", "cancellation rules for subscription", "signin reset"]
    for semantic in ("off", "auto"):
        markdown_kb, plain_kb = KnowledgeBase(imported, semantic=semantic), KnowledgeBase(plain, semantic=semantic)
        for question in questions:
            ranked = [(h.article.id, round(h.confidence, 6)) for h in markdown_kb.search(question, "en", threshold=0)]
            assert ranked == [(h.article.id, round(h.confidence, 6)) for h in plain_kb.search(question, "en", threshold=0)]
    kb = KnowledgeBase(imported, semantic="off")
    assert kb.search("I was charged twice, refund please", "en")[0].article.title == "Refund fees"
    assert kb.search("how do I cancel my plan", "en")[0].article.title == "Cancel your subscription"
    # "signin" appears only in a link's target: it is no word of any article.
    assert all("signin" not in h.matched for h in kb.search("signin help", "en", threshold=0))


def test_a_page_nested_too_deep_for_markdown_keeps_its_text():
    # markdownify recurses per element: a page builder's 1,000 nested <div>s must not cost the article.
    page = "<main><h1>Deep</h1>" + "<div>" * 1000 + "<p>The answer &lt;is&gt; here.</p>" + "</div>" * 1000 + "</main>"
    body = body_of(page_article(PAGE_URL, page))
    assert "The answer" in body and html_tokens(body) == []
    assert Article("d", "Deep", body).answer.endswith("The answer <is> here.")


def test_ordered_lists_keep_their_start_and_code_its_fences():
    page = ('<main><h1>T</h1><ol start="4"><li>Fourth</li><li>Fifth</li></ol>'
            '<pre>line one\n````\nline three</pre></main>')
    article = Article("t", "T", body_of(page_article(PAGE_URL, page)))
    assert "4. Fourth\n5. Fifth" in article.answer
    assert "line one\n````\nline three" in article.answer


def test_struck_out_text_stays_struck_out_not_tildes():
    # markdownify writes <del>/<s> as ~~…~~ (and Drive's Markdown export does too): a reply showed the tildes.
    body = body_of(page_article(PAGE_URL, "<main><h1>T</h1><p>Now <del>$10</del> $8 a month.</p></main>"))
    assert "~~$10~~" in body
    assert Article("t", "T", body).answer == "Now $10 $8 a month."
    assert answer_html(body) == "<p>Now <s>$10</s> $8 a month.</p>"
    assert Article("d", "D", "Was ~~$10~~, now $8.").text == "Was $10, now $8."  # a body with no other markup


def test_insert_answer_of_an_imported_page_drafts_its_links_and_steps_and_none_of_its_html(tmp_path, signer):
    """End to end: a page imported with a script, an onerror image and a javascript: link, then "Insert answer" in
    the side panel (CardReply.insert_text, a new draft's HTML and plain text)."""
    import base64
    import email
    import email.policy

    from plugin_host.web import create_app

    from .conftest import deliver, make_email
    from .test_addon import addon_host, body_for, post
    from .tokens import serve_certs

    folder = tmp_path / "kb"
    folder.mkdir()
    page = HOW_TO.replace("<ol>", '<script>alert("x")</script><img src=x onerror="alert(1)">'
                                  '<a href="javascript:alert(2)">Retry</a><ol>')
    (folder / "export.md").write_text(page_article(PAGE_URL, page), encoding="utf-8")
    local, host = addon_host(tmp_path, {"enabled": ["kb_suggest"], "kb_suggest": {"articles": str(folder)}})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serve_certs(mock, signer)
        client = create_app(host).test_client()
        thread = deliver(local.gmail(), make_email(subject="Export", body="How do I export my invoices?"))["threadId"]
        body = body_for(signer, threadId=thread)
        body["commonEventObject"]["parameters"] = {"threadId": thread, "name": "kb.insert_answer", "article": "export"}
        answer = post(client, signer, "/addon/action", body).get_json()
    draft_id = answer["renderActions"]["hostAppAction"]["gmailAction"]["openCreatedDraftActionMarkup"]["draftId"]
    raw = local.gmail().users().drafts().get(userId="me", id=draft_id, format="raw").execute()["message"]["raw"]
    message = email.message_from_bytes(base64.urlsafe_b64decode(raw), policy=email.policy.default)
    html, plain = message.get_body(("html",)).get_content(), message.get_body(("plain",)).get_content()
    assert '<a href="https://help.example.com/hc/en-us/articles/7-refunds#fees">refund fees</a>' in html
    assert "<ol>" in html and "<strong>Settings</strong>" in html
    for tag, attrs in elements(html):
        assert tag not in ("script", "img", "iframe"), tag
        assert not any(name.startswith("on") for name in attrs) and "javascript" not in str(attrs).lower()
    assert "alert" not in html and "alert" not in plain and "Retry" in plain
    assert "refund fees (https://help.example.com/hc/en-us/articles/7-refunds#fees)" in plain
