"""Help articles: a folder of Markdown files with front matter, or the JSONL evaluation format.

Front matter between ``---`` lines: ``title``, ``url``, ``lang``, ``tags`` (``[a, b]`` or a comma
list). The article id is the file's path relative to the folder, without ``.md``.

Bodies are Markdown, often with HTML from a help-centre export. Ranking reads ``Article.text``, the
words a reader sees; replies get ``Article.answer`` (see ``rendering``).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from plugin_host.errors import LabeldeskError
from plugin_host.language import language_code

from .rendering import plain_text


class ArticleError(LabeldeskError):
    """An article file or line could not be read; the message names it."""


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    body: str
    url: str = ""
    lang: str = "en"
    tags: tuple[str, ...] = ()

    @property
    def digest(self) -> str:
        return hashlib.sha256(f"{self.title}\n{self.lang}\n{','.join(self.tags)}\n{self.body}".encode()).hexdigest()[:16]

    @property
    def text(self) -> str:
        """The body as a reader sees it, for ranking and passages (see ``rendering``)."""
        return plain_text(self.body)

    @property
    def answer(self) -> str:
        """The body as plain text for a reply to a customer: layout kept, link targets after their text."""
        return plain_text(self.body, links=True)


def parse_front_matter(text: str) -> tuple[dict, str]:
    if not text.startswith("---"):
        return {}, text
    head, sep, body = text[3:].partition("\n---")
    if not sep:
        return {}, text
    meta = {}
    for line in head.strip().splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            value = value.strip().strip('"').strip("'")
            if value.startswith("[") and value.endswith("]"):
                value = [v.strip().strip('"').strip("'") for v in value[1:-1].split(",") if v.strip()]
            meta[key.strip().lower()] = value
    return meta, body.lstrip("-").lstrip("\n")


def load_folder(folder: str | Path) -> list[Article]:
    root = Path(folder)
    if not root.is_dir():
        raise ArticleError(f"articles folder {root} does not exist")
    articles = []
    for path in sorted(root.rglob("*.md")):
        try:
            meta, body = parse_front_matter(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise ArticleError(f"{path} is not UTF-8 text") from None
        tags = meta.get("tags", [])
        tags = tags if isinstance(tags, list) else [t.strip() for t in str(tags).split(",") if t.strip()]
        title = str(meta.get("title") or path.stem.replace("-", " ").replace("_", " ").capitalize())
        articles.append(Article(path.relative_to(root).with_suffix("").as_posix(), title, body.strip(),
                                str(meta.get("url", "")), language_code(meta.get("lang"), f"{title}\n{body}"),
                                tuple(tags)))
    return articles


def load_jsonl(path: str | Path) -> list[Article]:
    """Articles from JSON Lines (``{"id", "title", "body", "lang", "url", "tags"}``); ids must be unique."""
    articles, lines = [], {}
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                if str(item["id"]) in lines:
                    raise ArticleError(f"{path}:{number}: article id {str(item['id'])!r} is already used on line "
                                       f"{lines[str(item['id'])]}; ids must be unique")
                lines[str(item["id"])] = number
                articles.append(Article(str(item["id"]), str(item.get("title", "")), str(item.get("body", "")),
                                        str(item.get("url", "")),
                                        language_code(item.get("lang"), f"{item.get('title', '')}\n{item.get('body', '')}"),
                                        tuple(item.get("tags", []))))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ArticleError(f"{path}:{number}: not an article ({exc})") from None
    return articles
