"""A help-centre page's article as Markdown: numbered steps, code, tables, bold and links kept.

markdownify (MIT, on BeautifulSoup) writes the Markdown; this module decides what of a page may enter an
article that agents insert into replies to customers:

- Links and images point at absolute addresses, read against the address the page was served from (or its
  ``<base href>``): a relative link in a customer's mail leads nowhere. Only http(s) and mailto links stay
  links, and only http(s) images stay images; a ``javascript:``, ``data:`` or other link keeps its text alone.
- No HTML of the page gets into the Markdown: scripts, styles, embeds and their contents are dropped, every
  character of the page's text that Markdown would read as markup (``<``, ``&``, ``*``, a leading ``1.``) is
  escaped, and code keeps a fence longer than any run of backticks in it. A how-to's ``<script>`` shown as
  text stays text.
- A page nested deeper than markdownify's recursion can follow keeps its text, escaped the same way.
"""
from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from markdownify import MarkdownConverter

from plugin_host.text import html_to_text

LINK_SCHEMES = ("http", "https", "mailto")
IMAGE_SCHEMES = ("http", "https")
# Elements whose content is no article text: code, styling, embedded documents and players, the page's head.
DROPPED = {"script", "style", "noscript", "template", "iframe", "frame", "object", "embed", "applet", "svg",
           "math", "canvas", "audio", "video", "head", "title", "meta", "link", "base", "textarea", "select",
           "input", "button", "form"}
# Browsers drop these from a URL before reading its scheme ("java\tscript:" is javascript:).
URL_IGNORED = re.compile(r"[\t\n\r]")
URL_EDGES = "".join(chr(c) for c in range(0x21))  # C0 controls and space, stripped at both ends
# What a Markdown link destination cannot hold as it is (or would end it): written as %XX.
URL_UNSAFE = re.compile(r"[\x00-\x20\x7f()<>\"\\`{}|^\[\]]")
CODE_LANGUAGE = re.compile(r"(?:^|\s)(?:language|lang)-([A-Za-z0-9_+.#-]{1,30})")


def page_markdown(html: str, base_url: str) -> str:
    """``html`` (the article's part of a page) as Markdown with absolute, safe links; see the module docstring."""
    converter = _ArticleConverter(base_url)
    try:
        return converter.convert(html).strip()
    except RecursionError:  # markdownify recurses per element: some hundreds of nested <div>s end it
        return "\n".join(converter.escape(line, set()) for line in html_to_text(html).splitlines())


def safe_url(href: str | None, base_url: str, schemes: tuple[str, ...]) -> str:
    """``href`` made absolute against ``base_url`` and written for a Markdown link; "" when its scheme is not
    one of ``schemes`` (``javascript:``, ``data:``, ``vbscript:``…) or it is empty."""
    href = URL_IGNORED.sub("", href or "").strip(URL_EDGES)
    if not href:
        return ""
    try:
        absolute = urljoin(base_url, href)
        scheme = urlsplit(absolute).scheme.lower()
    except ValueError:  # an invalid IPv6 host ("http://[x")
        return ""
    if scheme not in schemes:
        return ""
    return URL_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), absolute)


def base_address(served_from: str, base_href: str | None) -> str:
    """Where the page's relative links lead from: its ``<base href>`` when that is an http(s) address, else the
    address it was served from."""
    base = safe_url(base_href, served_from, ("http", "https"))
    return base or served_from


class _ArticleConverter(MarkdownConverter):
    """markdownify with this module's rules for links, images, code and dropped elements."""

    def __init__(self, base_url: str):
        super().__init__(heading_style="atx", bullets="-", escape_misc=True, newline_style="backslash",
                         table_infer_header=True)
        self.base_url = base_url

    def convert_soup(self, soup):
        dropped, self.numbers = [], {}
        for element in soup.descendants:  # one walk: soup.find_all(DROPPED) took a quarter of the time
            if element.name in DROPPED:
                dropped.append(element)
            elif element.name == "ol":
                start = str(element.get("start") or "1").strip()
                first = int(start) if start.isdigit() and len(start) < 9 else 1
                items = [child for child in element.children if child.name == "li"]
                self.numbers.update((id(item), first + number) for number, item in enumerate(items))
        for element in dropped:
            if not element.decomposed:  # not inside one dropped before
                element.decompose()
        return super().convert_soup(soup)

    def convert_li(self, el, text, parent_tags):
        """A numbered step as markdownify writes it, numbered from the walk above: markdownify counts each
        item's previous siblings, hours for a page with a list of 100,000 items."""
        number = self.numbers.get(id(el))
        if number is None:
            return super().convert_li(el, text, parent_tags)
        text = (text or "").strip()
        if not text:
            return "\n"
        bullet = f"{number}. "
        indented = re.sub(r"^(?=.)", " " * len(bullet), text, flags=re.M)
        return bullet + indented[len(bullet):] + "\n"

    def convert_a(self, el, text, parent_tags):
        href = safe_url(el.get("href"), self.base_url, LINK_SCHEMES)
        el.attrs = {"href": href} if href else {}  # a title attribute is no part of the answer
        return super().convert_a(el, text, parent_tags)

    def convert_img(self, el, text, parent_tags):
        alt = self.escape(" ".join((el.get("alt") or "").split()), parent_tags)
        src = safe_url(el.get("src"), self.base_url, IMAGE_SCHEMES)
        if not src or "_inline" in parent_tags:
            return alt
        return f"![{alt}]({src})"

    def convert_pre(self, el, text, parent_tags):
        """A fenced block whose fence no line of the code can close (markdownify's is always three backticks,
        so code showing a Markdown fence would end it and the rest would be read as Markdown, HTML included)."""
        text = text.strip("\n")
        if not text.strip():
            return ""
        fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
        return f"\n\n{fence}{_code_language(el) or ''}\n{text}\n{fence}\n\n"


def _code_language(el) -> str | None:
    """The language a code block names in its class ("language-bash", as highlight.js and Prism read it)."""
    for node in (el, el.find("code")):
        classes = " ".join(node.get("class") or []) if node is not None else ""
        found = CODE_LANGUAGE.search(classes)
        if found:
            return found.group(1)
    return None
