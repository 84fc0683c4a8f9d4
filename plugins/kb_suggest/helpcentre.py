"""Importing a help centre: a sitemap (or a list of page URLs) into Markdown articles.

Each page becomes ``<folder>/<slug>.md`` with front matter (title from ``<h1>`` or ``<title>``,
``url``, ``lang`` from ``<html lang>``) and the page's main text. Only http(s) URLs on the
sitemap's own host are fetched; pages that fail are reported, not fatal.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import requests

from plugin_host.text import html_to_text

from .articles import ArticleError


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lang, self.title, self.h1, self._in = "", "", "", None
        self.main_depth = 0
        self.main_parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html" and attrs.get("lang"):
            self.lang = attrs["lang"].split("-")[0].lower()
        if tag in ("title", "h1"):
            self._in = tag

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in == "title":
            self.title += data
        elif self._in == "h1":
            self.h1 += data


def sitemap_urls(xml_text: str) -> list[str]:
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise ArticleError(f"sitemap is not XML: {exc}") from None
    return [el.text.strip() for el in root.iter() if el.tag.endswith("loc") and el.text]


def page_article(url: str, html: str) -> str:
    page = _Page()
    page.feed(html)
    main = re.search(r"<(main|article)\b.*?>(.*?)</\1>", html, re.S | re.I)
    # The page's text, escaped so that what was text there ("<script>" in a how-to) stays text in Markdown.
    body = escape(html_to_text(main.group(2) if main else html).strip(), quote=False)
    title = " ".join((page.h1 or page.title or url).split())
    meta = [f"title: {title}", f"url: {url}", f"lang: {page.lang or 'en'}"]
    return "---\n" + "\n".join(meta) + "\n---\n" + body + "\n"


def import_sitemap(sitemap_url: str, folder: str | Path, session=None, progress=None) -> tuple[int, list[str]]:
    """Fetch the sitemap's pages into ``folder``; returns (written, failures)."""
    session = session or requests.Session()
    host = urlsplit(sitemap_url).netloc
    response = session.get(sitemap_url, timeout=30)
    response.raise_for_status()
    urls = [u for u in sitemap_urls(response.text) if urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc == host]
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written, failures = 0, []
    for number, url in enumerate(urls, 1):
        try:
            page = session.get(url, timeout=30)
            page.raise_for_status()
            slug = re.sub(r"[^a-z0-9]+", "-", urlsplit(url).path.lower()).strip("-") or "index"
            (out / f"{slug}.md").write_text(page_article(url, page.text), encoding="utf-8")
            written += 1
        except requests.RequestException as exc:
            failures.append(f"{url}: {exc.__class__.__name__}")
        if progress:
            progress(number, len(urls))
    return written, failures
