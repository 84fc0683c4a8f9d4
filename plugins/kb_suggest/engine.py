"""Ranking help articles for a customer's question: two bm25s indexes fused, with a confidence gate.

* A word index: Snowball stems without stop words; the title counts three times, and questions that
  agents answered with the article before (feedback) are added to it, so the index learns.
* A character 4-gram index over the same text, which forgives typos and inflection (Polish,
  Russian) that stemming misses.

Scores of both are normalised by their best hit and fused. A suggestion is made only when enough of
the question's informative (IDF-weighted) stems are found in the article: otherwise nothing is
suggested. Each suggestion says why: the matched words.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable

import logging

import bm25s
import numpy as np

logging.getLogger("bm25s").setLevel(logging.WARNING)

from .analysis import analyse, ngrams, stems, words
from .articles import Article

TITLE_WEIGHT = 3
WORD_WEIGHT = 0.6
NGRAM_WEIGHT = 0.4
PREFIX = 5
SEMANTIC_MIX = 0.4  # share of the lexical score when semantic re-ranking is on
SEMANTIC_GATE = 0.45  # cosine similarity below which nothing is suggested (semantic mode)


@dataclass(frozen=True)
class Hit:
    article: Article
    score: float
    confidence: float
    matched: tuple[str, ...]
    passage: str


class KnowledgeBase:
    """An in-memory index of articles; build once, query many times (≈1 ms a query)."""

    def __init__(self, articles: Iterable[Article], feedback: dict[str, list[str]] | None = None,
                 threshold: float = 0.4, progress=None, semantic: bool = False):
        self.articles = list(articles)
        self.threshold = threshold
        feedback = feedback or {}
        self.word_docs, gram_docs = [], []
        for number, article in enumerate(self.articles):
            learned = " ".join(feedback.get(article.id, []))
            title = f"{article.title} " * TITLE_WEIGHT
            text = f"{title}\n{' '.join(article.tags)}\n{article.body}\n{learned}"
            word_doc, gram_doc = analyse(text, article.lang)
            self.word_docs.append(word_doc)
            gram_docs.append(gram_doc)
            if progress:
                progress(number + 1)
        self.word_index = self._bm25(self.word_docs)
        self.gram_index = self._bm25(gram_docs)
        self.doc_sets = [set(doc) for doc in self.word_docs]
        # Stems of inflected forms often differ only in the ending (возвращен/возврат, dostawa/dostaw):
        # a shared 5-letter prefix counts as a match for the confidence gate.
        self.doc_prefixes = [{t[:PREFIX] for t in doc if len(t) >= PREFIX} for doc in self.doc_sets]
        frequency: dict[str, int] = {}
        for doc in self.doc_sets:
            for term in doc:
                frequency[term] = frequency.get(term, 0) + 1
        n = max(1, len(self.articles))
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in frequency.items()}
        self.unknown_idf = math.log(1 + (n + 0.5) / 0.5)
        self.languages = np.array([a.lang for a in self.articles])
        self.semantic = None
        if semantic and self.articles:
            from .semantic import SemanticIndex

            learned = feedback or {}
            self.semantic = SemanticIndex([f"{a.title}. {a.body[:1500]} {' '.join(learned.get(a.id, []))}"
                                           for a in self.articles])

    @staticmethod
    def _bm25(docs: list[list[str]]):
        if not docs:
            return None
        index = bm25s.BM25(k1=1.2, b=0.75)
        index.index([doc or ["\u2205"] for doc in docs], show_progress=False)
        return index

    def _scores(self, index, query: list[str]) -> np.ndarray:
        if index is None or not query:
            return np.zeros(len(self.articles))
        known = [t for t in query if t in index.vocab_dict]
        if not known:
            return np.zeros(len(self.articles))
        return np.asarray(index.get_scores(known), dtype=float)

    def search(self, text: str, language: str = "en", limit: int = 3, threshold: float | None = None) -> list[Hit]:
        """The best articles for ``text``, at most ``limit``; empty when nothing is confident enough."""
        if not self.articles:
            return []
        query = stems(text, language)
        if not query:
            return []
        word = self._scores(self.word_index, query)
        gram = self._scores(self.gram_index, ngrams(text, language))
        fused = WORD_WEIGHT * _normalise(word) + NGRAM_WEIGHT * _normalise(gram)
        if not fused.any():
            return []
        similarity = None
        if self.semantic is not None:
            similarity = np.clip(self.semantic.scores(text), 0, None)
            fused = SEMANTIC_MIX * fused + (1 - SEMANTIC_MIX) * _normalise(similarity)
        same_language = self.languages == language
        if same_language.any() and not same_language.all():
            fused = fused + 0.05 * same_language  # prefer the customer's language on near ties
        order = np.argsort(-fused)[: max(limit * 3, limit)]
        gate = self.threshold if threshold is None else threshold
        if similarity is not None and threshold is None:
            gate = SEMANTIC_GATE
        weights = informativeness(text, language)
        query_weight = sum(weights.values())
        hits = []
        for index in order:
            if fused[index] <= 0:
                break
            matched = [t for t in weights if t in self.doc_sets[index]
                       or (len(t) >= PREFIX and t[:PREFIX] in self.doc_prefixes[index])]
            confidence = sum(weights[t] for t in matched) / query_weight if query_weight else 0.0
            if similarity is not None:  # with a model, cosine similarity is the better confidence
                confidence = float(similarity[index])
            if confidence < gate:
                continue
            article = self.articles[index]
            hits.append(Hit(article, float(fused[index]), round(confidence, 3),
                            tuple(_surface(text, language, matched)), passage(article, matched)))
            if len(hits) == limit:
                break
        return hits


def informativeness(text: str, language: str) -> dict[str, float]:
    """Stem → how informative the customer's word is in the language at large (rare = telling).

    Uses wordfreq's Zipf frequencies: "order" or "account" say little, "chargeback" a lot. This
    makes the confidence gate independent of how the knowledge base happens to be written.
    """
    from .analysis import _stem, content_words

    weights: dict[str, float] = {}
    for word in content_words(text, language):
        stem = _stem(word, language)
        weights[stem] = max(weights.get(stem, 0.0), _information(word, language))
    return weights


def _information(word: str, language: str) -> float:
    try:
        from wordfreq import zipf_frequency
    except ImportError:  # optional: without it every word counts the same
        return 1.0
    if word.isdigit():
        return 0.3
    return max(0.3, 7.5 - zipf_frequency(word, language if language in ("en", "ru", "pl", "uk", "de", "fr", "es") else "en"))


def _normalise(scores: np.ndarray) -> np.ndarray:
    top = scores.max() if scores.size else 0.0
    return scores / top if top > 0 else scores


def _surface(text: str, language: str, matched_stems: list[str]) -> list[str]:
    """The customer's own words behind the matched stems (for the "why")."""
    wanted = set(matched_stems)
    out = []
    for word in words(text):
        if stems(word, language) and stems(word, language)[0] in wanted and word not in out:
            out.append(word)
    return out[:6]


def passage(article: Article, matched_stems: list[str], width: int = 200) -> str:
    """The sentence of the article that shares most matched stems (a snippet that explains)."""
    body = re.sub(r"\s+", " ", re.sub(r"[#*_`>\[\]()]", " ", article.body)).strip()
    sentences = re.split(r"(?<=[.!?])\s+|\s+-\s+", body) or [body]
    wanted = set(matched_stems)
    best = max(sentences, key=lambda s: len(wanted & set(stems(s, article.lang))), default=body)
    return best[:width] + ("…" if len(best) > width else "")
