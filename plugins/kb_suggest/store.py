"""Where the knowledge base lives between runs: articles from the configured source, the index
cache (re-indexing touches only changed articles) and the feedback file of agents' inserts.

No database: two small JSON files in the host's state directory (mode 0600).
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np

from plugin_host.files import Busy, exclusive, replace_file, write_private_json

from .articles import Article, load_folder, load_jsonl

_lock = threading.Lock()
log = logging.getLogger(__name__)


def load_articles(source: str) -> list[Article]:
    if not source:
        return []
    path = Path(source)
    return load_jsonl(path) if path.name.lower().endswith((".jsonl", ".jsonl.gz")) else load_folder(path)


INDEX_VERSION = 3  # 3: words and vectors of the rendered text, not the raw Markdown
FEEDBACK_PER_ARTICLE = 50
FEEDBACK_UNREAD = 10  # inserts of an article the index no longer reads kept before a compaction drops them
# The feedback file's bound. Past it the file is compacted to what load_feedback reads (the latest inserts of
# each article) and, if that is still over half of it, to the newest inserts that fit in half: every insert
# rebuilds the index from the whole file, and a long-running ``serve`` would otherwise append to it forever. An
# article's inserts past FEEDBACK_PER_ARTICLE + FEEDBACK_UNREAD compact it too: the older questions teach nothing.
FEEDBACK_FILE_BYTES = 4 * 1024 * 1024
# ``kb-feedback.lock``: an insert (``serve``) and ``labeldesk forget`` (another process) take turns on the file.
# An insert waits this long at most: a forget rewrites a few MB at most; the agent's draft does not wait on it.
FEEDBACK_LOCK_SECONDS = 10.0


def load_prepared(state_dir: Path, notify=None) -> dict:
    """Earlier analysis by article digest: content words and vectors (float16, base64). An index file that
    is damaged (a full disk, a copy cut short) or from another version is rebuilt, never misread: ``notify``
    (a warning in the log by default) says so."""
    path = Path(state_dir) / "kb-index.json"
    prepared, problem = {}, ""
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        data, problem = None, f"is damaged ({exc.__class__.__name__})"
    if isinstance(data, dict) and data.get("version") != INDEX_VERSION:
        problem = f"is from another Labeldesk version ({data.get('version')!r}, this one writes {INDEX_VERSION})"
    elif isinstance(data, dict) and isinstance(data.get("articles"), dict):
        prepared = _entries(data["articles"])
        if len(prepared) < len(data["articles"]):
            problem = f"has {len(data['articles']) - len(prepared)} damaged entries"
    elif not problem:
        problem = "is damaged (not an index)"
    if problem:
        (notify or log.warning)(f"{path} {problem}: rebuilt from the articles")
    return prepared


def _entries(articles: dict) -> dict:
    """The readable entries of the index: words a list of strings, vectors float16 arrays."""
    prepared = {}
    for digest, entry in articles.items():
        try:
            vectors = {name: np.frombuffer(base64.b64decode(v, validate=True), dtype=np.float16)
                       for name, v in entry["vectors"].items()}
            words = entry["words"]
            if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
                continue
            prepared[digest] = {"words": list(words), "vectors": vectors}
        except (KeyError, TypeError, ValueError, AttributeError, binascii.Error):
            continue
    return prepared


def save_prepared(state_dir: Path, prepared: dict) -> None:
    articles = {digest: {"words": entry["words"],
                         "vectors": {name: base64.b64encode(np.asarray(v, dtype=np.float16).tobytes()).decode()
                                     for name, v in entry["vectors"].items()}}
                for digest, entry in prepared.items()}
    write_private_json(Path(state_dir) / "kb-index.json", {"version": INDEX_VERSION, "articles": articles})


def build_index(state_dir: Path, articles: list[Article], settings=None, feedback=None, progress=None, notify=None):
    """A KnowledgeBase for ``articles`` that reuses the saved analysis of unchanged ones, and saves its own."""
    from .engine import KnowledgeBase

    semantic = getattr(settings, "semantic", "auto")
    threshold = getattr(settings, "threshold", None)
    previous = load_prepared(state_dir, notify)
    kb = KnowledgeBase(articles, feedback, threshold=threshold, progress=progress, semantic=semantic,
                       prepared=previous)
    if kb.changed or kb.prepared.keys() != previous.keys():
        save_prepared(state_dir, kb.prepared)
    return kb


def update_cache(state_dir: Path, articles: list[Article], progress=None, settings=None,
                 notify=None) -> tuple[int, int]:
    """Analyse new or changed articles only and save the index; returns (changed, total)."""
    kb = build_index(state_dir, articles, settings, progress=progress, notify=notify)
    return kb.changed, len(articles)


def feedback_path(state_dir: Path) -> Path:
    return Path(state_dir) / "kb-feedback.jsonl"


def remember_insert(state_dir: Path, question: str, article_id: str, content_digest: str = "", thread: str = "",
                    customers: tuple[str, ...] = ()) -> None:
    """An agent inserted this article for this question: later similar questions rank it higher. The
    article's content digest lets the insert follow the article when its file is renamed or moved. With ``thread``,
    one insert of an article in a ticket is learnt once: pressed again (Gmail failed the draft, the process was
    restarted, a double click) it teaches nothing new, and would rank the article up twice. ``customers``: the
    digests (``plugin_host.privacy.customer_digest``) of whose question it is, so ``labeldesk forget`` finds it."""
    path = feedback_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    item = {"question": question[:1000], "article": article_id, **({"content": content_digest} if content_digest else {}),
            **({"thread": thread} if thread else {}), **({"customers": list(customers)} if customers else {})}
    line = json.dumps(item, ensure_ascii=False) + "\n"
    # One bound for the whole wait, the other presses of this process's queue included: each agent's draft is made
    # within FEEDBACK_LOCK_SECONDS, not after the waits of every press made before it.
    deadline = time.monotonic() + FEEDBACK_LOCK_SECONDS
    try:
        if not _lock.acquire(timeout=FEEDBACK_LOCK_SECONDS):
            raise Busy("kb-feedback")
        try:
            with exclusive(state_dir, "kb-feedback", wait=max(0.0, deadline - time.monotonic())):
                _append(path, line, thread, article_id)
        finally:
            _lock.release()
    except Busy:
        log.warning("knowledge base: insert of %s not learnt: %s is held by `labeldesk forget` (or another "
                    "process) for over %.0f s", article_id, path, FEEDBACK_LOCK_SECONDS)


def _append(path: Path, line: str, thread: str, article_id: str) -> None:
    """Append ``line`` (unless this insert was learnt lately); compact the file past its bound, or once the article
    has FEEDBACK_UNREAD inserts more than the index reads (customers' questions that teach nothing). Under the
    locks. The article's inserts are counted without reading the file again (``_inserts``)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a+b") as fh:
        end = fh.seek(0, os.SEEK_END)
        if thread and _learnt_lately(fh, end, thread, article_id):
            return
        counts = _inserts(fh, path)
        if end:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":  # a line cut short by a crash stays alone; this insert is not lost
                line = "\n" + line
        fh.write(line.encode("utf-8"))
        fh.flush()
        counts[article_id] += 1
        _counted[str(path)] = (_identity(os.fstat(fh.fileno())), counts)
        full = end + len(line.encode("utf-8")) > FEEDBACK_FILE_BYTES
    if full or counts[article_id] > FEEDBACK_PER_ARTICLE + FEEDBACK_UNREAD:
        _compact_feedback(path)


# Each article's inserts in the feedback file as this process last wrote it, by path: (the file's identity, counts).
# An insert adds one instead of reading the file (4 MB at most) inside the agent's request; a file another process
# wrote since (``labeldesk forget``'s rewrite, another host's insert) has another inode, size or time: read again.
_counted: dict[str, tuple[tuple[int, int, int], Counter]] = {}


def _identity(info: os.stat_result) -> tuple[int, int, int]:
    return info.st_ino, info.st_size, info.st_mtime_ns


def _inserts(fh, path: Path) -> Counter:
    """How many lines of the open feedback file are inserts of each article (by id, whatever its content was then,
    as ``load_feedback`` and ``_compact_feedback`` group them): what this process counted when the file is as it
    left it, else read from the file."""
    known = _counted.get(str(path))
    if known is not None and known[0] == _identity(os.fstat(fh.fileno())):
        return known[1]
    fh.seek(0)
    return _count_inserts(fh.read().splitlines())


def _count_inserts(lines: list[bytes]) -> Counter:
    counts: Counter = Counter()
    for raw in lines:
        try:
            item = json.loads(raw)
        except ValueError:  # a line cut short by a crash
            continue
        if isinstance(item, dict) and "article" in item:
            counts[str(item["article"])] += 1
    return counts


def forget_customer(state_dir: Path, addresses: list[str], digests: list[str], threads: frozenset,
                    dry_run: bool = False) -> int:
    """Remove the inserts of one customer's questions: those naming one of ``digests``, those of one of their
    ``threads`` (older versions named no customer), and any line whose text holds one of their ``addresses``.
    Under the insert's locks, the file replaced atomically; returns how many lines went (``dry_run``: would go,
    the file left as it is)."""
    path = feedback_path(state_dir)
    if not path.exists():
        return 0
    with _lock, exclusive(state_dir, "kb-feedback"):
        lines = path.read_bytes().splitlines()
        kept = [raw for raw in lines if not _names_customer(raw, addresses, set(digests), threads)]
        if len(kept) < len(lines) and not dry_run:
            replace_file(path, b"".join(raw + b"\n" for raw in kept))
    return len(lines) - len(kept)


def _names_customer(raw: bytes, addresses: list[str], digests: set[str], threads: frozenset) -> bool:
    text = raw.decode("utf-8", errors="replace").lower()
    if any(re.search(rf"(?<![\w.+-]){re.escape(address)}(?![\w-]|\.\w)", text) for address in addresses):
        return True  # also in a line cut short by a crash; never in another address that ends with this one
    try:
        item = json.loads(raw)
    except ValueError:
        return False
    if not isinstance(item, dict):
        return False
    customers = item.get("customers")
    return (isinstance(customers, list) and bool(digests.intersection(map(str, customers)))) \
        or (isinstance(item.get("thread"), str) and item["thread"] in threads)


def _compact_feedback(path: Path) -> None:
    """Rewrite the feedback file with only what ``load_feedback`` can still use: the latest
    FEEDBACK_PER_ARTICLE inserts of each article (by id, whatever the article's content was then: the index reads
    them so, and an edit changes the content digest; each line keeps its digest, so a renamed article's inserts
    keep following it), then only the newest of those within half of FEEDBACK_FILE_BYTES. Lines keep their
    order, so the newest inserts stay at the end where ``_learnt_lately`` looks. Called under ``_lock`` and
    ``kb-feedback.lock``."""
    lines = path.read_bytes().splitlines()
    seen: dict[str, int] = {}
    kept: list[bytes] = []
    for raw in reversed(lines):
        try:
            group = str(json.loads(raw)["article"])
        except (ValueError, KeyError, TypeError):  # a line cut short by a crash teaches nothing
            continue
        seen[group] = seen.get(group, 0) + 1
        if seen[group] <= FEEDBACK_PER_ARTICLE:
            kept.append(raw)
    size, newest = 0, []
    for raw in kept:  # newest first
        size += len(raw) + 1
        if size > FEEDBACK_FILE_BYTES // 2:
            break
        newest.append(raw)
    replace_file(path, b"".join(raw + b"\n" for raw in reversed(newest)))
    _counted[str(path)] = (_identity(path.stat()), _count_inserts(newest))
    log.info("knowledge base: %s compacted from %d to %d inserts", path, len(lines), len(newest))


LATELY_BYTES = 256 * 1024  # the end of the feedback file read for the same insert (a press again comes soon after)


def _learnt_lately(fh, end: int, thread: str, article_id: str) -> bool:
    """Whether the last ``LATELY_BYTES`` of the feedback file hold an insert of ``article_id`` in ``thread``."""
    fh.seek(max(0, end - LATELY_BYTES))
    for raw in fh.read().splitlines():
        try:
            item = json.loads(raw)
        except ValueError:  # a line cut short by a crash, or the first line cut by the window
            continue
        if isinstance(item, dict) and item.get("thread") == thread and item.get("article") == article_id:
            return True
    return False


def load_feedback(state_dir: Path, articles: list[Article] | None = None) -> dict[str, list[str]]:
    """Questions agents answered with each article, by article id. With ``articles``, an insert whose article
    id is gone counts for the article with the same content (its file was renamed or moved)."""
    moved = {} if articles is None else {a.content_digest: a.id for a in articles}
    known = {a.id for a in articles or []}
    out: dict[str, list[str]] = {}
    for item in _feedback_lines(state_dir):
        article = item["article"]
        if articles is not None and article not in known:
            article = moved.get(item.get("content"), article)
        out.setdefault(article, []).append(item["question"])
    # The latest inserts per article are what agents do now; older ones would only slow rebuilds.
    return {article: questions[-FEEDBACK_PER_ARTICLE:] for article, questions in out.items()}


def _feedback_lines(state_dir: Path):
    """The readable lines of the feedback file (a line cut short by a crash is passed over)."""
    try:
        lines = feedback_path(state_dir).read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return
    for line in lines:
        try:
            item = json.loads(line)
            yield {"question": str(item["question"]), "article": str(item["article"]),
                   "content": str(item.get("content", ""))}
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
