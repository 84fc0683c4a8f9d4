"""Help articles: a folder of Markdown files with front matter, or the JSONL evaluation format.

Front matter between ``---`` lines: ``title``, ``url``, ``lang``, ``tags`` (``[a, b]``, a comma
list or a YAML block list of ``- a`` lines). Without a ``title`` the first ``# heading`` is the title. Files end in ``.md`` or ``.markdown``, in any case; the article id is the file's path relative
to the folder, without that extension.

Bodies are Markdown, often with HTML from a help-centre export. Ranking reads ``Article.text``, the
words a reader sees; replies get ``Article.answer`` (see ``rendering``).
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
import math
import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from plugin_host.errors import LabeldeskError
from plugin_host.language import language_code

from .rendering import plain_text

log = logging.getLogger(__name__)


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
    link: str = ""  # where agents open it when that is not ``url`` (an internal Drive Doc); never sent to customers

    @property
    def digest(self) -> str:
        return hashlib.sha256(f"{self.title}\n{self.lang}\n{','.join(self.tags)}\n{self.body}".encode()).hexdigest()[:16]

    @property
    def content_digest(self) -> str:
        """The body's hash alone: it survives a rename or a move (which may change the id and the title)."""
        return hashlib.sha256(self.body.encode()).hexdigest()[:16]

    @property
    def text(self) -> str:
        """The body as a reader sees it, for ranking and passages (see ``rendering``)."""
        return plain_text(self.body)

    @property
    def answer(self) -> str:
        """The body as plain text for a reply to a customer: layout kept, link targets after their text."""
        return plain_text(self.body, links=True)


LIST_KEYS = {"tags"}  # the only front-matter values read as lists ("[a, b]" or "a, b")


def parse_front_matter(text: str) -> tuple[dict, str]:
    """``key: value`` lines between ``---`` lines, read as YAML where it reads as such (folded ``title: >`` lines,
    ``tags: ["a,b"]``); YAML types no value (``lang: no``, ``id: 0012`` stay text), and one it reads as a list or
    table (``title: [Beta] Export``) is taken as written. Only ``tags`` is a list. A byte-order mark is ignored."""
    text = text.removeprefix("\ufeff")
    if not text.startswith("---"):
        return {}, text
    head, sep, body = text[3:].partition("\n---")
    if not sep:
        return {}, text
    written = _written_front_matter(head)
    yaml_only = YAML_ONLY.search(head)  # what line-by-line reading gets wrong; YAML costs 10× as much
    return {**written, **(_yaml_front_matter(head, written) if yaml_only else {})}, body.lstrip("-").lstrip("\n")


# A block scalar ("title: >"), a value continued on an indented line, or a quoted tag (which may hold a comma).
YAML_ONLY = re.compile(r":[ \t]*[>|][-+0-9]*[ \t]*$|^[ \t]+(?!-[ \t])\S|^tags:.*[\"']", re.M | re.I)


def _yaml_front_matter(head: str, written: dict) -> dict:
    """The values of ``head`` that YAML reads as text (tags: as a list of texts), by lower-cased key.

    YAML's base schema: every scalar stays text, so no date, number or tag is made of a value (``updated:
    2024-02-30`` would raise ValueError while being made a date, ``!!python/…`` is only text); a head YAML cannot
    read, or nests deeper than the parser recurses without libyaml, is read line by line."""
    import yaml

    try:
        loaded = yaml.load(head, Loader=getattr(yaml, "CBaseLoader", yaml.BaseLoader))  # libyaml when there
    except (yaml.YAMLError, RecursionError):
        return {}
    if not isinstance(loaded, dict):
        return {}
    meta = {}
    for key, value in loaded.items():
        key = str(key).strip().lower()
        if key in LIST_KEYS and isinstance(value, list) and all(isinstance(v, str) for v in value):
            meta[key] = [v.strip() for v in value if v.strip()]
        elif key in LIST_KEYS and isinstance(value, str):  # one quoted string: comma-separated, as unquoted
            meta[key] = [v.strip() for v in value.split(",") if v.strip()]
        elif isinstance(value, str) and key not in LIST_KEYS and not _comment_dropped(written.get(key), value):
            meta[key] = value.strip()
    return {key: value for key, value in meta.items() if key in written}


def _comment_dropped(written, loaded: str) -> bool:
    """Whether YAML read the rest of a one-line value as a comment ("title: Error #500 when exporting" is
    "Error" to YAML): that value is taken as written."""
    return isinstance(written, str) and bool(re.match(re.escape(loaded.strip()) + r"\s+#", written))


def _written_front_matter(head: str) -> dict:
    meta, key = {}, None
    for line in head.strip().splitlines():
        item = line.strip()
        if item.startswith("- ") and key in LIST_KEYS:  # a YAML block list under "tags:"
            meta[key].append(_unquote(item[2:].strip()))
        elif ":" in line:
            key, value = line.split(":", 1)
            key = key.strip().lower()
            meta[key] = _value(key, value.strip())
    return meta


def _value(key: str, value: str):
    """A front-matter value; for ``tags`` a list, from ``[a, b]`` or ``a, b`` (a block list follows an empty one)."""
    if key not in LIST_KEYS:
        return _unquote(value)
    inner = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    return [_unquote(v.strip()) for v in inner.split(",") if v.strip()]


def _unclosed_front_matter(text: str) -> bool:
    """Whether ``text`` opens with ``---`` and ``key: value`` lines that no ``---`` closes (not a rule)."""
    lines = text.removeprefix("\ufeff").split("\n")
    if lines[0].rstrip() != "---":
        return False
    first = next((line for line in lines[1:] if line.strip()), "")
    return re.match(r"^[A-Za-z_][\w-]*:(\s|$)", first) is not None


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            return str(json.loads(value))  # "a \"quoted\" title", as the help-centre import writes it
        except ValueError:
            return value[1:-1]
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    return value


MAX_ARTICLE_BYTES = 2_000_000
MAX_DECOMPRESSED_BYTES = 200_000_000  # a .jsonl.gz is read up to this much: a small file can hold gigabytes


def load_folder(folder: str | Path) -> list[Article]:
    """Every Markdown file under ``folder``. A file that cannot be an article (not UTF-8, too large, a link out
    of the folder, an editor's lock link, a directory named ``x.md``) is skipped with a warning naming
    it, so one bad file never takes the knowledge base down."""
    root = Path(folder)
    if not root.is_dir():
        raise ArticleError(f"articles folder {root} does not exist")
    inside = root.resolve()
    loaded, linked_folders = [], []
    paths = _without_second_names(article_files(root, linked_folders))
    for folder in linked_folders:
        log.warning("%s is a link to a folder, not followed: move or copy its articles into %s", folder, root)
    for path in paths:
        try:
            loaded.append((path, _article_file(root, inside, path)))
        except ArticleError as exc:
            log.warning("article skipped: %s", exc)
    return _unique_ids(loaded)


def _unique_ids(loaded: list[tuple[Path, Article]]) -> list[Article]:
    """One article per id (``a.md`` and ``a.markdown`` would both be ``a``): the first file wins and the
    other is named. Two articles with one url both stay, with a warning: the link fits only one of them."""
    by_id: dict[str, Path] = {}
    by_url: dict[str, Path] = {}
    articles = []
    for path, article in loaded:
        if article.id in by_id:
            log.warning("article skipped: %s has the same id %r as %s; rename one of them", path, article.id,
                        by_id[article.id])
            continue
        by_id[article.id] = path
        if article.url and article.url in by_url:
            log.warning("articles %s and %s have the same url %s; give each its own page (agents and customers "
                        "would get one link for two different answers)", by_url[article.url], path, article.url)
        by_url.setdefault(article.url, path)
        articles.append(article)
    return articles


def article_files(root: Path, linked_folders: list[Path] | None = None) -> list[Path]:
    """The article files under ``root``, sorted. Hidden files and folders are not articles: ``.git``,
    ``.obsidian``, editors' ``.#lock`` links and the ``._name.md`` files macOS leaves on shared drives.
    Links to folders are not walked (one back up would never end); they are added to ``linked_folders``."""
    found = []
    for folder, subfolders, files in os.walk(root):  # followlinks=False
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        if linked_folders is not None:
            linked_folders += [Path(folder, name) for name in subfolders if Path(folder, name).is_symlink()]
        found += [Path(folder, name) for name in files + subfolders if _is_article_name(name)]
    return sorted(found)


def _without_second_names(paths: list[Path]) -> list[Path]:
    """A link to another article file of the folder is a second name for that article, not a second article."""
    real = {path.resolve(): path for path in paths if not path.is_symlink()}
    kept = []
    for path in paths:
        target = real.get(path.resolve()) if path.is_symlink() else None
        if target is not None:
            log.warning("article skipped: %s is a link to %s, which is loaded already", path, target)
            continue
        kept.append(path)
    return kept


EXTENSIONS = (".md", ".markdown")  # in any case: Windows and exports write "Refunds.MD"


def _is_article_name(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(EXTENSIONS)


def _article_file(root: Path, inside: Path, path: Path) -> Article:
    try:
        if not path.is_file():
            raise ArticleError(f"{path} is not a regular file (a broken link, an editor's lock, a folder)")
        if not path.resolve().is_relative_to(inside):
            raise ArticleError(f"{path} links outside the articles folder")
        if path.stat().st_size > MAX_ARTICLE_BYTES:
            raise ArticleError(f"{path} is larger than {MAX_ARTICLE_BYTES // 1_000_000} MB")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ArticleError(f"{path} is not UTF-8 text: save it as UTF-8") from None
    except OSError as exc:
        raise ArticleError(f"{path} cannot be read ({exc.strerror or exc})") from None
    meta, body = parse_front_matter(text)
    if not meta and _unclosed_front_matter(text):
        raise ArticleError(f"{path}: the front matter opened by --- on line 1 is never closed: add a line --- after it")
    if not body.strip():
        raise ArticleError(f"{path} has no text{' after its front matter' if meta else ''}: write the article or "
                           "delete the file")
    tags = meta.get("tags", [])
    tags = tags if isinstance(tags, list) else [t.strip() for t in str(tags).split(",") if t.strip()]
    title = str(meta.get("title") or "")
    if not title:
        title, body = heading_title(body)
        title = title or path.stem.replace("-", " ").replace("_", " ").capitalize()
    return Article(path.relative_to(root).with_suffix("").as_posix(), title, body.strip(), str(meta.get("url", "")),
                   language_code(meta.get("lang"), f"{title}\n{body}"), tuple(tags))


HEADING = re.compile(r"^#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")


def heading_title(body: str) -> tuple[str, str]:
    """(the first ``# heading`` outside code blocks, the body): the title of an article without front matter.
    A heading on the first line is the title only, so it is not repeated in the body."""
    lines, fenced = body.split("\n"), False
    for number, line in enumerate(lines):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and (match := HEADING.match(line)):
            if all(not earlier.strip() for earlier in lines[:number]):
                body = "\n".join(lines[number + 1:])
            return match.group(1).strip(), body
    return "", body


def _tags(value) -> tuple[str, ...]:
    """Tags as a list, or one comma-separated string ("billing,refunds")."""
    if isinstance(value, str):
        value = value.split(",")
    return tuple(str(t).strip() for t in value if str(t).strip())


class _TooLarge(Exception):
    pass


class _Bounded(gzip.GzipFile):
    """A gzip file read up to MAX_DECOMPRESSED_BYTES: a decompression bomb is an error, not all of the memory."""

    read_so_far = 0

    def read(self, size=-1):
        return self._counted(super().read(MAX_DECOMPRESSED_BYTES + 1 if size is None or size < 0 else size))

    def read1(self, size=-1):
        return self._counted(super().read1(MAX_DECOMPRESSED_BYTES + 1 if size is None or size < 0 else size))

    def _counted(self, data: bytes) -> bytes:
        self.read_so_far += len(data)
        if self.read_so_far > MAX_DECOMPRESSED_BYTES:
            raise _TooLarge
        return data


def json_lines(path: str | Path, what: str, shape: str = ""):
    """``(line number, object)`` for each non-blank line of a JSON Lines file, gzip-compressed or not. A
    byte-order mark (as Windows editors write) is ignored, also one opening a later line (files joined); a line
    that is not UTF-8 or not JSON is an error naming it, and a JSON array (one object a line is the format) says
    so."""
    number, compressed = 0, False
    try:
        with open(path, "rb") as raw:  # read once: a pipe (--queries <(jq -c '.[]' q.json)) cannot be opened twice
            compressed = raw.peek(2)[:2] == b"\x1f\x8b"
            with io.TextIOWrapper(_Bounded(fileobj=raw) if compressed else raw, encoding="utf-8-sig",
                                  errors="surrogateescape") as fh:
                for number, line in enumerate(fh, 1):
                    line = line.removeprefix("\ufeff")  # files joined with their byte-order marks (cat, type)
                    if any("\udc80" <= ch <= "\udcff" for ch in line):
                        raise ArticleError(f"{path}:{number}: not UTF-8 text: save the file as UTF-8")
                    if not line.strip():
                        continue
                    if line.lstrip().startswith("["):
                        raise ArticleError(f"{path}:{number}: not {what} (a JSON object is expected): a JSON array, "
                                           f"not JSON Lines; write one JSON object a line (e.g. jq -c '.[]' {path})"
                                           f"{shape}")
                    try:
                        item = json.loads(line)
                    except ValueError as exc:
                        raise ArticleError(f"{path}:{number}: not {what} ({exc}){shape}") from None
                    if not isinstance(item, dict):
                        raise ArticleError(f"{path}:{number}: not {what} (a JSON object is expected){shape}")
                    yield number, item
    except _TooLarge:
        raise ArticleError(f"{path}: larger than {MAX_DECOMPRESSED_BYTES // 1_000_000} MB once decompressed: not a "
                           "data set of articles or questions (a few kilobytes of gzip can hold gigabytes)") from None
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError, a cut-off file an EOFError
        if not compressed:
            raise
        raise ArticleError(f"{path}:{number + 1}: not a readable gzip file ({exc}): compress it again or "
                           "give the .jsonl itself") from None


def json_id(value) -> str:
    """An id from JSON: a string or a number (``7``, ``7.0`` and ``"7"`` are the same id: spreadsheets and
    pandas write whole numbers as ``7.0``)."""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ValueError(f"an id must be a string or a number, not {json.dumps(value, ensure_ascii=False)[:40]}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"an id must be a string or a number, not {value}")
        if value.is_integer():
            return str(int(value))
    return str(value)


def json_text(item: dict, key: str) -> str:
    """A text field from JSON: missing or null is empty (not the text "None"); a number is its digits."""
    value = item.get(key)
    if value is None:
        return ""
    if not isinstance(value, (str, int, float)):
        raise ValueError(f"{key!r} must be text, not {json.dumps(value, ensure_ascii=False)[:40]}")
    return str(value)


def load_jsonl(path: str | Path) -> list[Article]:
    """Articles from JSON Lines (``{"id", "title", "body", "lang", "url", "tags"}``); ids must be unique."""
    articles, lines, textless, keys = [], {}, [], ""
    for number, item in json_lines(path, "an article"):
        try:
            article_id, title, body = json_id(item["id"]), json_text(item, "title"), json_text(item, "body")
            if article_id in lines:
                raise ArticleError(f"{path}:{number}: article id {article_id!r} is already used on line "
                                   f"{lines[article_id]}; ids must be unique")
            lines[article_id] = number
            articles.append(Article(article_id, title, body, json_text(item, "url"),
                                    language_code(item.get("lang"), f"{title}\n{body}"),
                                    _tags(item.get("tags") or [])))
        except KeyError as exc:
            raise ArticleError(f'{path}:{number}: not an article (no "{exc.args[0]}")') from None
        except (ValueError, TypeError, AttributeError) as exc:
            raise ArticleError(f"{path}:{number}: not an article ({exc})") from None
        if not (title.strip() or body.strip()):
            textless.append(number)
            keys = keys or ", ".join(map(str, item))[:200]
    if textless:
        shown = ", ".join(map(str, textless[:10])) + (" …" if len(textless) > 10 else "")
        log.warning('%s: %d articles have neither "title" nor "body" (lines %s; line %d has %s): no question can '
                    'find them', path, len(textless), shown, textless[0], keys)
    return articles
