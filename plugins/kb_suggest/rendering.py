"""Article bodies (Markdown, often with HTML from a help-centre export) as plain text.

One walk over markdown-it's tokens serves both readers: ranking and passages read the words a
reader sees (``links=False``), and a reply to a customer gets the same text with each link's target
after its text (``links=True``), without a heading that opens the body (the article's title again,
noise at the top of a reply). Paragraphs stay apart, list items keep their bullets and numbers,
code keeps its lines; tags, entities and the insides of ``<script>``/``<style>`` go. Raw HTML is
read tag by tag, so a stray ``<title>`` or ``<script>`` never hides the rest of an article.
"""
from __future__ import annotations

import re
from functools import lru_cache

from plugin_host.text import html_to_text

MARKUP = re.compile(r"[\[\]<>&*_`#|\\~]")  # a body without these renders as itself: no need to render it
SHOWN_TARGETS = ("https://", "http://", "mailto:")
HIDDEN_TAGS = re.compile(r"<(/?)(script|style)\b", re.I)
HREF = re.compile(r"""<a\b[^>]*?\bhref\s*=\s*["']?([^"'\s>]+)""", re.I)
HTML_LINK = re.compile(r"""<a\b[^>]*?\bhref\s*=\s*["']?([^"'\s>]+)[^>]*>(.*?)</a\s*>""", re.I | re.S)


@lru_cache(maxsize=20_000)
def plain_text(markdown: str, links: bool = False) -> str:
    """``markdown`` as plain text; with ``links``, "label (https://…)" for every link."""
    if not MARKUP.search(markdown):
        return markdown.strip()
    return _Walk(links).blocks(_parser().parse(markdown))


@lru_cache(maxsize=1)
def _parser():
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    parser.validateLink = lambda url: True  # every link becomes a token; _Walk decides what a reader sees
    return parser


class _Walk:
    def __init__(self, links: bool):
        self.links = links
        self.out: list[tuple[str, bool]] = []  # (block text, is a list item)
        self.lists: list[list] = []  # per open list: [ordered?, next number]
        self.marker = ""
        self.row: list[str] | None = None
        self.heading = False  # inside a heading


    def blocks(self, tokens) -> str:
        for token in tokens:
            self.block(token)
        text = ""
        for number, (block, item) in enumerate(self.out):
            if number:
                text += "\n" if item and self.out[number - 1][1] else "\n\n"
            text += block
        return text.strip()

    def block(self, token) -> None:
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            self.lists.append([kind == "ordered_list_open", int(token.attrGet("start") or 1)])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            self.lists.pop()
        elif kind == "list_item_open":
            ordered, number = self.lists[-1]
            self.lists[-1][1] += 1
            self.marker = "  " * (len(self.lists) - 1) + (f"{number}. " if ordered else "- ")
        elif kind in ("heading_open", "heading_close"):
            self.heading = kind == "heading_open"
        elif kind == "tr_open":
            self.row = []
        elif kind == "tr_close":
            self.emit(" | ".join(cell for cell in self.row or [] if cell), item=True)  # rows stay together
            self.row = None
        elif kind == "inline":
            text = self.inline(token.children or [])
            if self.links and self.heading and not self.out:  # the article's title (again): no line of a reply
                return
            if self.row is not None:
                self.row.append(text)
            else:
                self.emit(text)
        elif kind in ("fence", "code_block"):
            self.emit(token.content.rstrip("\n"))
        elif kind == "html_block":
            markup = _without_hidden(token.content)
            if self.links:  # <a href="X">label</a> → label (X), before the tags go
                markup = HTML_LINK.sub(lambda m: m.group(2) + self.target(m.group(1), html_to_text(m.group(2))), markup)
            self.emit(html_to_text(markup))

    def emit(self, text: str, item: bool = False) -> None:
        text = text.strip("\n")
        if not text.strip():
            return
        item = item or bool(self.marker) or bool(self.lists)
        if self.marker:
            text, self.marker = self.marker + text, ""
        self.out.append((text, item))

    def inline(self, children) -> str:
        parts: list[str] = []
        targets: list[str] = []  # hrefs of the open links
        starts: list[int] = []  # where each open link's label begins in parts
        hidden = 0
        for number, child in enumerate(children):
            kind = child.type
            if kind == "html_inline":
                tag = child.content
                hide = HIDDEN_TAGS.match(tag)
                if hide and not hide.group(1) and not _closed_later(children[number + 1:], hide.group(2)):
                    if not hidden:
                        parts.append(tag)  # a stray <script> is text, as in html blocks: it hides nothing after it
                elif hide:
                    hidden = max(0, hidden + (-1 if hide.group(1) else 1))
                elif re.match(r"<a\b", tag, re.I):
                    href = HREF.match(tag)
                    targets.append(href.group(1) if href else "")
                    starts.append(len(parts))
                elif re.match(r"</a\s*>", tag, re.I) and targets:
                    parts.append(self.target(targets.pop(), "".join(parts[starts.pop():])))
                elif re.match(r"<br\b", tag, re.I):
                    parts.append("\n")
            elif hidden:
                continue
            elif kind == "link_open":
                targets.append(str(child.attrGet("href") or ""))
                starts.append(len(parts))
            elif kind == "link_close" and targets:
                parts.append(self.target(targets.pop(), "".join(parts[starts.pop():])))
            elif kind in ("text", "code_inline"):
                parts.append(child.content)
            elif kind == "image":
                parts.append(child.content)
            elif kind in ("softbreak", "hardbreak"):
                parts.append("\n")
        return re.sub(r"[ \t]{2,}", " ", "".join(parts))  # where a dropped tag stood between two spaces

    def target(self, href: str, label: str) -> str:
        """What follows a link's label: its target in a reply, when it is one a customer can open."""
        return shown_target(href, label) if self.links else ""


def shown_target(href: str, label: str) -> str:
    """What follows a link's label in a reply to a customer: " (target)" for one they can open (https, http, an
    address without its mailto:), "" for others and for a label that already says it."""
    shown = href.removeprefix("mailto:")
    if not href.startswith(SHOWN_TARGETS) or shown == label.strip():
        return ""
    return f" ({shown})"


def _closed_later(children, name: str) -> bool:
    return any(c.type == "html_inline" and re.match(rf"</{name}\b", c.content, re.I) for c in children)


def _without_hidden(markup: str) -> str:
    """HTML with closed <script>/<style> elements removed and unclosed ones shown as text."""
    markup = re.sub(r"<(script|style)\b.*?</\1\s*>", " ", markup, flags=re.I | re.S)
    return HIDDEN_TAGS.sub(lambda m: "&lt;" + m.group(1) + m.group(2), markup)
