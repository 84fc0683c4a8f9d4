"""Importing a help centre: a sitemap (XML, ``.xml.gz`` or a plain-text list of page URLs) into Markdown articles.

Each page becomes ``<folder>/<slug>.md`` with front matter (title from ``<h1>`` or ``<title>``,
``url``, ``lang`` from ``<html lang>``, else detected from the page's text) and the page's main
part as Markdown (``page_markdown``: steps, code, tables and absolute links kept, no HTML). Only http(s)
URLs on the sitemap's own host are fetched; pages that fail are reported, not fatal.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import threading
import time
import xml.etree.ElementTree as ET
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit
from xml.parsers import expat

import requests

from plugin_host.language import detect_language
from plugin_host.text import one_line

from .articles import ArticleError
from .page_markdown import base_address, page_markdown
from .public_address import public_session
from .rendering import plain_text


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lang, self.title, self.h1, self._in, self.canonical, self.base = "", "", "", None, "", None
        self.main_depth = 0
        self.main_parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html" and attrs.get("lang"):
            self.lang = re.sub(r"[^a-z]", "", attrs["lang"].split("-")[0].split("_")[0].lower())[:8]
        if tag == "link" and "canonical" in (attrs.get("rel") or "").lower().split() and not self.canonical:
            self.canonical = (attrs.get("href") or "").strip()
        if tag == "base" and self.base is None and attrs.get("href"):
            self.base = attrs["href"]
        if tag == "title" or (tag == "h1" and not self.h1.strip()):  # the first <h1> only
            self._in = tag

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in == "title":
            self.title += data
        elif self._in == "h1":
            self.h1 += data


MAX_BYTES = 5_000_000  # a page or sitemap larger than this is not a help article
MAX_REDIRECTS = 5
MAX_SECONDS = 60  # to fetch one page or sitemap in all; requests' timeout bounds each read, not the whole
MAX_PAGES = 10_000
MAX_SITEMAPS = 200  # sitemaps fetched in all: an index of 100, and a few nested ones (50,000 page URLs each)
SLUG_LENGTH = 80
# A URL has no whitespace nor control characters (they would be %20, %0A, %1B): one with a newline would write
# lines of its own into the article's front matter after ``url:``, one with ESC would act on a terminal.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # control characters but newline and tab
NOT_IN_URL = re.compile(r"[\s\x00-\x1f\x7f]")


def sitemap_urls(xml: bytes | str) -> tuple[list[str], list[str]]:
    """(page URLs, nested sitemap URLs) of a sitemap or sitemap index; image and other extension
    ``loc`` elements are not pages."""
    _refuse_dtd(xml)
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ArticleError(f"sitemap is not XML: {exc}") from None
    pages, sitemaps = [], []
    for element in root.iter():
        name = element.tag.rsplit("}", 1)[-1]
        if name not in ("url", "sitemap"):
            continue
        loc = next((c for c in element if c.tag.rsplit("}", 1)[-1] == "loc" and c.text), None)
        if loc is not None:
            (pages if name == "url" else sitemaps).append(loc.text.strip())
    return pages, sitemaps


def sitemap_entries(content: bytes) -> tuple[list[str], list[str]]:
    """(page URLs, nested sitemap URLs) of a sitemap as served: XML, gzip-compressed XML (``sitemap.xml.gz``,
    sent as a file, not a transfer encoding) or plain text with one URL a line (``sitemap.txt``)."""
    content = _gunzipped(content)
    text = content.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        return sitemap_urls(content)
    try:
        lines = text.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise ArticleError("sitemap is neither XML nor a UTF-8 list of URLs") from None
    return [line.strip() for line in lines if line.strip()], []


def _gunzipped(content: bytes) -> bytes:
    """``content`` decompressed when it is gzip, at most MAX_BYTES of it (a small file can hold gigabytes)."""
    if not content.startswith(b"\x1f\x8b"):
        return content
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(content)) as unzipped:
            data = unzipped.read(MAX_BYTES + 1)
    except (OSError, EOFError) as exc:
        raise ArticleError(f"sitemap is a damaged gzip file ({exc})") from None
    if len(data) > MAX_BYTES:
        raise ArticleError(f"sitemap is larger than {MAX_BYTES // 1_000_000} MB once decompressed")
    return data


def _refuse_dtd(xml: bytes | str) -> None:
    """Sitemaps declare no DTD. One that does may define entities that expand to gigabytes or name files
    and URLs to read, depending on the XML library's version: refused as soon as it starts (as defusedxml's
    ``forbid_dtd`` does), before anything in it is expanded."""
    parser = expat.ParserCreate()

    def refuse(*_):
        raise ArticleError("sitemap declares a DTD (<!DOCTYPE …>); refused, sitemaps have none")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(xml, True)
    except expat.ExpatError as exc:
        raise ArticleError(f"sitemap is not XML: {exc}") from None


def canonical_url(url: str, html: str) -> str:
    """The page's ``<link rel="canonical">`` (relative ones resolved) when it is on the same host, else ``url``:
    one article per page however many tracking or language variants of its address the sitemap lists."""
    page = _Page()
    page.feed(html)
    canonical = urldefrag(urljoin(url, page.canonical))[0] if page.canonical else ""
    same_host = urlsplit(canonical).scheme in ("http", "https") and urlsplit(canonical).netloc == urlsplit(url).netloc
    return canonical if same_host and not NOT_IN_URL.search(canonical) else url


def page_article(url: str, html: str, served_from: str = "") -> str:
    """The article file for a page: front matter, then the page's main part as Markdown (``page_markdown``), its
    relative links read against ``served_from`` (the address after redirects; ``url`` when not given)."""
    page = _Page()
    page.feed(html)
    main = _main_part(html)
    content = _without_furniture(_without_chrome(main if main is not None else html))
    body = page_markdown(content, base_address(served_from or url, page.base))
    body = CONTROL.sub("", body)  # ESC, BEL and such are no article text (they act on terminals that show it)
    # The article's <h1> (Zendesk's sits in the article's own <header>), else one outside the site's header and
    # menus (Freshdesk's portal has its name as the banner's only <h1>), else <title>. Shown in cards, mail and
    # terminals: no ESC, one line.
    title = one_line(_first_h1(main or "") or _first_h1(_without_chrome(html)) or page.title or url)
    language = _language(page.lang, title, plain_text(body))  # the words, not the link targets and markup
    meta = [f"title: {json.dumps(title, ensure_ascii=False)}", f"url: {url}", f"lang: {language}"]
    return "---\n" + "\n".join(meta) + "\n---\n" + body + "\n"


def _first_h1(html: str) -> str:
    page = _Page()
    page.feed(html)
    return page.h1.strip()


CHROME = ("header", "nav", "footer", "aside")  # the site around an article: menus, sign-in, legal links


DETECT_WORDS = 5  # fewer words than this are too few to tell a language by ("B y" reads as Spanish)


def _language(declared: str, title: str, body: str) -> str:
    """The page's ``<html lang>``; without one, the language of its text (English when it is too short to tell)."""
    if declared:
        return declared
    text = f"{title}\n{body}"
    return detect_language(text) if len(text.split()) >= DETECT_WORDS else "en"


def _without_chrome(html: str) -> str:
    """``html`` without its header, navigation, footer and sidebars (a page without <main> has them all around
    the article; one with <main> may keep breadcrumbs inside). Found with str.find, in linear time per tag."""
    for tag in CHROME:
        lower, start, kept = html.lower(), 0, []
        while (opened := lower.find(f"<{tag}", start)) >= 0:
            if lower[opened + len(tag) + 1:opened + len(tag) + 2] not in (">", " ", "\t", "\n", "\r", "/"):
                kept.append(html[start:opened + 1])
                start = opened + 1
                continue
            closed = lower.find(f"</{tag}", opened)
            if closed < 0:
                break
            kept.append(html[start:opened])
            end = lower.find(">", closed)
            start = len(html) if end < 0 else end + 1
        html = "".join(kept) + html[start:]
    return html


# Help-centre furniture that themes put inside <main> or <article> (Zendesk Guide's breadcrumbs, search, related
# and recently viewed articles, votes, comments; cookie dialogs), found by the ARIA role or a word of the class
# that themes use for it. Only containers are judged by class: an author's heading or table keeps its text.
FURNITURE_TAGS = {"form", "button", "select", "dialog", "template"}
FURNITURE_ROLES = {"navigation", "search", "banner", "contentinfo", "complementary", "dialog", "alertdialog"}
FURNITURE_CLASSES = {"breadcrumb", "breadcrumbs", "related", "recent", "comment", "comments", "vote", "votes",
                     "share", "sharing", "cookie", "cookies", "consent", "sidebar", "subscribe", "reaction",
                     "reactions"}
CONTAINERS = {"div", "section", "ul", "ol", "nav", "aside", "p", "small"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Furniture(HTMLParser):
    """The page's markup again without the furniture's elements. An element never closed is kept whole, as
    ``_without_chrome`` keeps an unclosed <nav>: losing the article to a theme's missing </div> is worse."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.kept: list[str] = []
        self.skipped: list[str] = []
        self.skipping, self.depth = "", 0

    def _out(self, markup: str) -> None:
        (self.skipped if self.skipping else self.kept).append(markup)

    def handle_starttag(self, tag, attrs):
        if not self.skipping and tag not in VOID and _is_furniture(tag, dict(attrs)):
            self.skipping, self.depth = tag, 0
        if tag == self.skipping:
            self.depth += 1
        self._out(self.get_starttag_text() or f"<{tag}>")

    def handle_startendtag(self, tag, attrs):
        self._out(self.get_starttag_text() or f"<{tag}/>")

    def handle_endtag(self, tag):
        self._out(f"</{tag}>")
        if tag == self.skipping:
            self.depth -= 1
            if self.depth == 0:
                self.skipping, self.skipped = "", []

    def handle_data(self, data):
        self._out(escape(data, quote=False))

    def markup(self) -> str:
        return "".join(self.kept + self.skipped)


def _is_furniture(tag: str, attrs: dict) -> bool:
    if tag in FURNITURE_TAGS or (attrs.get("role") or "").strip().lower() in FURNITURE_ROLES:
        return True
    words = set(re.split(r"[^a-z0-9]+", (attrs.get("class") or "").lower()))
    return tag in CONTAINERS and bool(words & FURNITURE_CLASSES)


def _without_furniture(html: str) -> str:
    parser = _Furniture()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - HTMLParser is lenient; odd markup keeps its furniture rather than fail
        return html
    return parser.markup()


def _main_part(html: str) -> str | None:
    """The inside of the page's <main> (else <article>), found in linear time (no regex backtracking)."""
    lower = html.lower()
    for tag in ("main", "article"):
        start = 0
        while (start := lower.find(f"<{tag}", start)) >= 0:
            after = lower[start + len(tag) + 1:start + len(tag) + 2]
            if after in (">", " ", "\t", "\n", "\r", "/"):
                opened = lower.find(">", start)
                end = lower.rfind(f"</{tag}")
                if opened >= 0 and end > opened:
                    return html[opened + 1:end]
                break
            start += 1
    return None


def import_sitemap(sitemap_url: str, folder: str | Path, session=None, progress=None,
                   allow_private: bool = False) -> tuple[int, list[str]]:
    """Fetch the sitemap's pages (and those of the sitemaps it lists) into ``folder``; returns (written,
    failures). Only http(s) URLs on the sitemap's own host are fetched — redirects included — and only from
    public addresses, each connection to the address that was checked (``public_address``), unless
    ``allow_private`` (a help centre on this machine or its network)."""
    session = session or public_session(allow_private)
    host = urlsplit(sitemap_url).netloc
    sitemap_failures: list[str] = []
    urls = _page_urls(session, sitemap_url, host, failures=sitemap_failures, visited=set())
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written, failures, taken, canonicals = 0, sitemap_failures, {}, set()
    for number, url in enumerate(urls, 1):
        try:
            response, content, served_from = _fetch(session, url, host)
            _refuse_files(response)
            html = _decoded(response, content)
            url = canonical_url(url, html)
            if url not in canonicals:
                canonicals.add(url)
                _save(out / f"{_slug(url, taken)}.md", page_article(url, html, served_from))
                written += 1
        except Exception as exc:  # noqa: BLE001 - one page's trouble, whatever it is, never stops the import
            failures.append(f"{url}: {_why(exc)}{_forget_gone(exc, url, out)}")
        if progress:
            progress(number, len(urls))
    return written, failures


def _save(path: Path, article: str) -> None:
    """Write ``article`` unless the file holds it already: an unchanged file keeps its modification time, so
    re-importing an unchanged help centre does not make the host rebuild its index."""
    try:
        if path.read_text(encoding="utf-8") == article:
            return
    except (OSError, UnicodeDecodeError):
        pass
    path.write_text(article, encoding="utf-8")


def _forget_gone(exc: Exception, url: str, out: Path) -> str:
    """A page the help centre deleted (404, 410) takes the article an earlier import wrote for it along, or
    acknowledgements would keep linking customers to it; one that failed otherwise (a 503, a timeout) keeps
    its last good copy. Only the file this import names after the URL goes, and only when it holds that URL:
    articles an admin wrote by hand stay."""
    response = getattr(exc, "response", None)
    if not isinstance(exc, requests.HTTPError) or response is None or response.status_code not in (404, 410):
        return ""
    base = _slug(url, {})
    hashed = f"{base[:SLUG_LENGTH].rstrip('-')}-{hashlib.sha256(url.encode()).hexdigest()[:8]}"
    removed = []
    for path in (out / f"{base}.md", out / f"{hashed}.md"):
        try:
            if path.is_file() and not path.is_symlink() and f"\nurl: {url}\n" in path.read_text(encoding="utf-8"):
                path.unlink()
                removed.append(path.name)
        except (OSError, UnicodeDecodeError):
            continue
    return f" (gone: its article {', '.join(removed)} was removed)" if removed else ""


def _refuse_files(response) -> None:
    """A sitemap may list PDFs, images or downloads beside its pages: their bytes are no article. Text of any
    kind is read (servers call help pages text/plain too); no type at all is taken for a page."""
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind and not kind.startswith("text/") and kind != "application/xhtml+xml":
        raise ArticleError(f"not a web page ({one_line(kind)[:60]}); skipped")


def _why(exc: Exception) -> str:
    """Why a page failed, for the admin: the HTTP status, our own message, else the kind of error."""
    response = getattr(exc, "response", None)
    if isinstance(exc, requests.HTTPError) and response is not None:
        return f"{response.status_code} {response.reason or ''}".strip()
    if isinstance(exc, ArticleError):
        return str(exc)
    detail = str(exc).splitlines()[0][:120] if str(exc) else ""
    return f"{exc.__class__.__name__}{f' ({detail})' if detail else ''}"


def _page_urls(session, sitemap_url: str, host: str, depth: int = 0, failures: list | None = None,
               visited: set | None = None) -> list[str]:
    """The page URLs of a sitemap and of the sitemaps it lists. ``visited``, shared by the whole import, holds
    the sitemaps fetched so far: each is fetched once however often it is listed (an index listing itself),
    and MAX_SITEMAPS in all (without it, an index fanning out to 100 × 100 sitemaps is 10,101 downloads)."""
    visited = set() if visited is None else visited
    visited.add(sitemap_url)
    _, content, _ = _fetch(session, sitemap_url, host)
    pages, sitemaps = sitemap_entries(content)
    # Relative locations ("/articles/refunds") are read against the sitemap's address; #fragments are one page.
    pages = [urldefrag(urljoin(sitemap_url, u))[0] for u in pages]
    sitemaps = [urljoin(sitemap_url, u) for u in sitemaps]
    found = [u for u in pages if urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc == host
             and not NOT_IN_URL.search(u)]
    nested_ones = [u for u in dict.fromkeys(sitemaps) if u not in visited]
    for number, nested in enumerate(nested_ones[:100] if depth < 2 else []):  # an index: two levels at most
        if nested in visited:
            continue
        if len(visited) >= MAX_SITEMAPS:
            if failures is not None:
                failures.append(f"{sitemap_url}: {len(nested_ones) - number} more sitemaps not read "
                                f"({MAX_SITEMAPS} in all at most)")
            break
        try:
            found += _page_urls(session, nested, host, depth + 1, failures, visited)
        except (requests.RequestException, ArticleError) as exc:
            if failures is not None:
                failures.append(f"{nested} (a sitemap): {_why(exc)}")
            continue
        if len(found) >= MAX_PAGES:
            break
    return list(dict.fromkeys(found))[:MAX_PAGES]


def _fetch(session, url: str, host: str):
    """GET ``url``, following redirects by hand so that every hop stays on ``host`` over http(s): (the last
    response, its content, the address it came from)."""
    started = time.monotonic()
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.netloc != host:
            raise ArticleError(f"leads off {host} (to {parts.scheme}://{parts.netloc}); not followed")
        response = session.get(url, timeout=30, allow_redirects=False, stream=True)
        if response.is_redirect:
            url = urljoin(url, response.headers.get("location", ""))
            response.close()
            continue
        response.raise_for_status()
        return response, _body(response, started), url
    raise ArticleError(f"more than {MAX_REDIRECTS} redirects")


def _body(response, started: float) -> bytes:
    """The response's bytes (at most MAX_BYTES), read within MAX_SECONDS of ``started``. requests' iter_content
    gives a chunk only once all 65,536 bytes of it have come, each read within the 30 s timeout: a page sent a
    byte at a time never let the clock be read. A timer therefore stops the reading at the deadline."""
    late = threading.Timer(max(0.0, started + MAX_SECONDS - time.monotonic()), _stop_reading, (response,))
    late.daemon = True
    late.start()
    content = b""
    try:
        for chunk in response.iter_content(65536):
            content += chunk
            if len(content) > MAX_BYTES:
                raise ArticleError(f"larger than {MAX_BYTES // 1_000_000} MB")
            if time.monotonic() - started > MAX_SECONDS:
                break
    except requests.RequestException:
        if time.monotonic() - started <= MAX_SECONDS:
            raise
    finally:
        late.cancel()
    if time.monotonic() - started > MAX_SECONDS:  # cut off by the timer (an end without Content-Length looks whole)
        response.close()
        raise ArticleError(f"took longer than {MAX_SECONDS} s to download; skipped")
    return content


def _stop_reading(response) -> None:
    """Make a read blocked on ``response`` return now (urllib3 2's shutdown of the socket's reading side)."""
    try:
        response.raw.shutdown()
    except (AttributeError, ValueError, RuntimeError, OSError):  # no urllib3 response, or it is read already
        pass


def _decoded(response, content: bytes) -> str:
    """The page's text: the charset the server or the page declares, else UTF-8 (not ISO-8859-1, which
    requests assumes for text/html without a charset)."""
    declared = requests.utils.get_encoding_from_headers(response.headers)
    if declared and declared.lower() == "iso-8859-1" and "charset" not in response.headers.get("content-type", "").lower():
        declared = None
    meta = re.search(rb"""<meta[^>]{0,200}?charset=["']?([A-Za-z0-9_-]+)""", content[:4096], re.I)
    for encoding in (declared, meta and meta.group(1).decode("ascii"), "utf-8"):
        if encoding:
            try:
                return content.decode(encoding)
            except (LookupError, UnicodeDecodeError):
                continue
    return content.decode("utf-8", errors="replace")


def _slug(url: str, taken: dict[str, str]) -> str:
    """A file name for the page: its path (and query), short; a hash of the URL when two pages would clash."""
    parts = urlsplit(url)
    slug = re.sub(r"[^a-z0-9]+", "-", f"{parts.path}?{parts.query}".lower()).strip("-") or "index"
    if len(slug) > SLUG_LENGTH or taken.get(slug, url) != url:
        slug = f"{slug[:SLUG_LENGTH].rstrip('-')}-{hashlib.sha256(url.encode()).hexdigest()[:8]}"
    taken[slug] = url
    return slug
