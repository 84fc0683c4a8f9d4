"""Where the knowledge base lives between runs: articles from the configured source, the index
cache (re-indexing touches only changed articles) and the feedback file of agents' inserts.

No database: two small JSON files in the host's state directory (mode 0600).
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from .analysis import ngrams, stems
from .articles import Article, load_folder, load_jsonl

_lock = threading.Lock()


def _write_private(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False)
    os.replace(tmp, path)


def load_articles(source: str) -> list[Article]:
    if not source:
        return []
    path = Path(source)
    return load_jsonl(path) if path.suffix == ".jsonl" else load_folder(path)


def update_cache(state_dir: Path, articles: list[Article], progress=None) -> tuple[int, int]:
    """Analyse new or changed articles only; returns (changed, total)."""
    path = Path(state_dir) / "kb-index.json"
    try:
        cache = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        cache = {}
    fresh, changed = {}, 0
    for number, article in enumerate(articles, 1):
        entry = cache.get(article.id)
        if not entry or entry.get("digest") != article.digest:
            entry = {"digest": article.digest, "stems": stems(f"{article.title} {article.body}", article.lang),
                     "grams": len(ngrams(article.body, article.lang))}
            changed += 1
        fresh[article.id] = entry
        if progress:
            progress(number)
    _write_private(path, fresh)
    return changed, len(articles)


def feedback_path(state_dir: Path) -> Path:
    return Path(state_dir) / "kb-feedback.jsonl"


def remember_insert(state_dir: Path, question: str, article_id: str) -> None:
    """An agent inserted this article for this question: later similar questions rank it higher."""
    path = feedback_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"question": question[:1000], "article": article_id}, ensure_ascii=False) + "\n")


def load_feedback(state_dir: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    try:
        lines = feedback_path(state_dir).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return out
    for line in lines:
        try:
            item = json.loads(line)
            out.setdefault(item["article"], []).append(item["question"])
        except (ValueError, KeyError):
            continue
    return out
