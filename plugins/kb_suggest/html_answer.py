"""Article bodies (Markdown, often with HTML from a help-centre export) as safe HTML for a reply.

Gmail's compose panel inserts HTML (``MUTABLE_HTML``), so an answer keeps its bold, lists and
clickable links. Safety by construction, not by cleaning afterwards: markdown-it escapes every text
and attribute it writes, and the rules below decide the rest — the article's own HTML is never
copied (a block becomes its escaped text, an inline tag is dropped but ``<br>``), a link keeps its
tag only for an https target (other links keep their text, followed by the target the plain-text answer shows:
an http:// page or an address, so both parts of a reply say the same), an image shows its alt text, and a
heading that opens the body (the title again) is left out, as in the plain-text answer.
"""
from __future__ import annotations

import html
import re
from functools import lru_cache

from plugin_host.text import html_to_text

from .rendering import _without_hidden, shown_target

BR = re.compile(r"<br\s*/?>", re.I)


@lru_cache(maxsize=2_000)
def answer_html(markdown: str) -> str:
    """``markdown`` as HTML safe to put in a reply: escaped text, https links only."""
    return _renderer().render(markdown, {"links": []}).strip()


@lru_cache(maxsize=1)
def _renderer():
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    md.validateLink = lambda url: True  # every link becomes a token; _link_open decides what is kept
    md.core.ruler.push("drop_opening_heading", _drop_opening_heading)
    for name, rule in (("html_block", _html_block), ("html_inline", _html_inline), ("link_open", _link_open),
                       ("link_close", _link_close), ("image", _image)):
        md.add_render_rule(name, rule)
    return md


def _drop_opening_heading(state) -> None:
    tokens = state.tokens
    if tokens and tokens[0].type == "heading_open":
        end = next(i for i, t in enumerate(tokens) if t.type == "heading_close")
        del tokens[:end + 1]


def _html_block(self, tokens, idx, options, env) -> str:
    text = html_to_text(_without_hidden(tokens[idx].content)).strip()
    return f"<p>{html.escape(text, quote=False)}</p>\n" if text else ""


def _html_inline(self, tokens, idx, options, env) -> str:
    return "<br>" if BR.fullmatch(tokens[idx].content.strip()) else ""


def _link_open(self, tokens, idx, options, env) -> str:
    """An https link stays a link; any other target the plain-text answer shows after the label (http://, an
    address) is written after it here too, as text, so the HTML part of a reply says what its text part says."""
    href = str(tokens[idx].attrGet("href") or "")
    kept = href.startswith("https://")
    env["links"].append((kept, "" if kept else shown_target(href, _label(self, tokens, idx, options, env))))
    return f'<a href="{html.escape(href)}">' if kept else ""


def _link_close(self, tokens, idx, options, env) -> str:
    if not env["links"]:
        return ""
    kept, after = env["links"].pop()
    return "</a>" if kept else html.escape(after, quote=False)


def _label(self, tokens, idx, options, env) -> str:
    """The text of the link opened at ``tokens[idx]`` (up to its own close; links do not nest)."""
    close = next((i for i in range(idx + 1, len(tokens)) if tokens[i].type == "link_close"), len(tokens))
    return self.renderInlineAsText(tokens[idx + 1:close], options, env)


def _image(self, tokens, idx, options, env) -> str:
    return html.escape(self.renderInlineAsText(tokens[idx].children or [], options, env), quote=False)
