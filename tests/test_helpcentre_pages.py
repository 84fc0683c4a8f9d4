"""Help-centre pages as Zendesk Guide, Freshdesk and Intercom serve them: what of a page becomes the article."""
from __future__ import annotations

import responses

from plugins.kb_suggest.articles import parse_front_matter
from plugins.kb_suggest.helpcentre import import_sitemap, page_article

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
