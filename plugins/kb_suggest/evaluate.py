"""Measuring suggestion quality in the shared format: recall@1, recall@3, MRR@5, no-suggestion rate
for out-of-scope questions, latency — for our ranker and for plain bm25s in the same run."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import bm25s
import numpy as np

from plugin_host.language import language_code

from .articles import Article, ArticleError, json_id, json_lines, json_text
from .engine import KnowledgeBase

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    lang: str
    expected: tuple[str, ...]


def load_queries(path) -> list[Query]:
    shape = '; expected {"id", "text", "lang", "expected": [article ids]}'
    out, unlabelled, id_lines = [], [], {}
    for number, item in json_lines(path, "a query", shape):
        if item.get("expected") is None:
            unlabelled.append(number)
        try:
            if item["text"] is None:
                raise ValueError("'text' must be text, not null")
            text = json_text(item, "text")
            out.append(Query(json_id(item["id"]), text, language_code(item.get("lang"), text),
                             _expected(item.get("expected"))))
        except KeyError as exc:
            raise ArticleError(f'{path}:{number}: not a query (no "{exc.args[0]}"){shape}') from None
        except (ValueError, TypeError, AttributeError) as exc:
            raise ArticleError(f"{path}:{number}: not a query ({exc}){shape}") from None
        id_lines.setdefault(out[-1].id, []).append(number)
    if unlabelled:
        lines = ", ".join(map(str, unlabelled[:10])) + (" …" if len(unlabelled) > 10 else "")
        log.warning('%s: %d questions have no "expected" list (lines %s): counted as out of scope, as with '
                    '"expected": []', path, len(unlabelled), lines)
    repeated = [(qid, numbers) for qid, numbers in id_lines.items() if len(numbers) > 1]
    if repeated:
        shown = "; ".join(f"{qid} on lines {', '.join(map(str, numbers))}" for qid, numbers in repeated[:10])
        log.warning("%s: %d question ids are used more than once (%s%s): each line is measured, so those questions "
                    "weigh more", path, len(repeated), shown, " …" if len(repeated) > 10 else "")
    return out


def _expected(value) -> tuple[str, ...]:
    """The articles that answer a question: a list of ids, or one id on its own; null, [] or a blank id (a
    spreadsheet's empty cell, "") means none does."""
    if value is None:
        return ()
    try:
        ids = (json_id(e) for e in (value if isinstance(value, list) else [value]))
        return tuple(i for i in ids if i.strip())
    except ValueError as exc:
        raise ValueError(f"'expected' is a list of article ids: {exc}") from None


def metrics(ranked: list[list[str]], queries: list[Query], latencies: list[float]) -> dict:
    in_scope = [(r, q) for r, q in zip(ranked, queries) if q.expected]
    out_scope = [(r, q) for r, q in zip(ranked, queries) if not q.expected]

    def recall(k):
        return sum(any(a in q.expected for a in r[:k]) for r, q in in_scope) / len(in_scope) if in_scope else None

    mrr = 0.0
    for r, q in in_scope:
        for rank, article in enumerate(r[:5], 1):
            if article in q.expected:
                mrr += 1 / rank
                break
    ms = np.array(latencies) * 1000 if latencies else np.array([0.0])
    return {"recall@1": _round(recall(1)), "recall@3": _round(recall(3)),
            "mrr@5": _round(mrr / len(in_scope)) if in_scope else None,
            "no_suggestion_rate": _round(sum(not r for r, _ in out_scope) / len(out_scope)) if out_scope else None,
            "p50_ms": round(float(np.percentile(ms, 50)), 3), "p95_ms": round(float(np.percentile(ms, 95)), 3),
            "queries": len(queries), "in_scope": len(in_scope), "out_of_scope": len(out_scope)}


def _round(value):
    return None if value is None else round(value, 4)


def evaluate(articles: list[Article], queries: list[Query], threshold: float | None = None,
             semantic: str = "auto", progress=None, index_progress=None) -> dict:
    """Our ranker's metrics; ``index_progress(done, total)`` follows the analysis of the articles, then
    ``progress(1)`` is called after each question."""
    kb = KnowledgeBase(articles, threshold=threshold, semantic=semantic,
                       progress=(lambda done: index_progress(done, len(articles))) if index_progress else None)
    ranked, latencies = [], []
    for query in queries:
        began = time.perf_counter()
        hits = kb.search(query.text, query.lang, limit=5)
        latencies.append(time.perf_counter() - began)
        ranked.append([h.article.id for h in hits])
        if progress:
            progress(1)
    languages = sorted({q.lang for q in queries})
    ranking = "lexical" + "".join(f" + {m}" for m in kb.models)
    gates = "; ".join(f"{lang}: {kb.describe_gate(lang)}" for lang in languages)
    return {**metrics(ranked, queries, latencies), "ranking": f"{ranking} ({gates})"}


def evaluate_baseline(articles: list[Article], queries: list[Query]) -> dict:
    """Plain bm25s: its own tokenizer with English stop words, title + body, top 5, no threshold."""
    corpus = [f"{a.title}\n{a.body}" for a in articles]
    tokenized = bm25s.tokenize(corpus, stopwords="en", show_progress=False)
    if not tokenized.vocab:  # no article has a word bm25s indexes: it can suggest nothing
        return metrics([[] for _ in queries], queries, [0.0] * len(queries))
    index = bm25s.BM25()
    index.index(tokenized, show_progress=False)
    ids = [a.id for a in articles]
    ranked, latencies = [], []
    for query in queries:
        began = time.perf_counter()
        tokens = bm25s.tokenize([query.text], stopwords="en", show_progress=False)
        if tokens.ids and tokens.ids[0]:
            docs, scores = index.retrieve(tokens, k=min(5, len(ids)), show_progress=False)
            ranked.append([ids[d] for d, s in zip(docs[0], scores[0]) if s > 0])
        else:
            ranked.append([])
        latencies.append(time.perf_counter() - began)
    return metrics(ranked, queries, latencies)
