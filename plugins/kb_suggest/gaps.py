"""Knowledge gaps: customer questions with no confident suggestion, grouped by similarity.

Each language's questions are grouped by average-linkage hierarchical clustering (scipy), cut where the
mean cosine similarity between two groups falls below ``1 - CUTOFF``. Questions are compared by the
TF-IDF of their stems (a stem that only one question uses says nothing about groups, and is left out) and,
for English with a model loaded, by WordLlama sentence vectors too, in equal parts. The questions are
sorted first, so the groups do not depend on the order the tickets came in. Each group reports how many
tickets asked it, its most representative question (the one most similar to the rest of the group) and
its most frequent words as the customers wrote them — the articles worth writing next. Measured in benchmarks/RESULTS.md
("Knowledge gaps"): the greedy single pass this replaced grouped almost no Russian or Polish paraphrases.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
from scipy import sparse
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from .analysis import _stem, content_words, stems

# Cosine distance (1 - mean similarity between two groups) at which average linkage stops merging; chosen
# once on the dev sets (banking77, saas, ru_telecom, pl_shop) and reported on held-out ones.
CUTOFF = 0.8
MEANING = 0.5  # the share of the sentence vectors' similarity, where a model is loaded (English)


def group_questions(questions: list[tuple[str, str]], embed=None) -> list[dict]:
    """``questions``: (text, language) pairs; ``embed``: texts → unit vectors, for English. Largest first."""
    groups = [_summary([texts[i] for i in members], language, similarity[np.ix_(members, members)])
              for language, texts, similarity, members in _grouped(questions, embed)]
    groups.sort(key=lambda g: (-g["count"], g["language"], g["example"]))
    return groups


def question_groups(questions: list[tuple[str, str]], embed=None) -> list[list[int]]:
    """The same grouping as ``group_questions``, as the indexes of ``questions`` in each group (for measuring)."""
    where: dict[tuple[str, str], list[int]] = {}
    for index, question in enumerate(questions):
        where.setdefault(question, []).append(index)
    return [[where[(texts[i], language)].pop() for i in members]
            for language, texts, _, members in _grouped(questions, embed)]


def _grouped(questions: list[tuple[str, str]], embed):
    """(language, its questions sorted, their similarity matrix, one group's indexes) for each group; a question
    without a content word ("Can you help?") says nothing to group by and is left out."""
    for language in sorted({language for _, language in questions}):
        texts = sorted(text for text, lang in questions if lang == language and stems(text, language))
        if texts:
            similarity = _similarity(texts, language, embed if language == "en" else None)
            for members in _clusters(similarity):
                yield language, texts, similarity, members


def _similarity(texts: list[str], language: str, embed=None) -> np.ndarray:
    """Cosine similarity of every pair of ``texts`` (sorted): their stems' TF-IDF, averaged with their sentence
    vectors when ``embed`` is given."""
    words = _tfidf([stems(text, language) for text in texts])
    similarity = (words @ words.T).toarray()
    if embed is not None:
        vectors = np.asarray(embed(texts), dtype=np.float64)
        similarity = (1 - MEANING) * similarity + MEANING * (vectors @ vectors.T)
    np.fill_diagonal(similarity, 1.0)
    return similarity


def _tfidf(documents: list[list[str]]) -> sparse.csr_array:
    """Unit rows of sublinear TF × smoothed IDF over the stems two or more of the ``documents`` share."""
    vocabulary: dict[str, int] = {}
    counts = Counter((row, vocabulary.setdefault(term, len(vocabulary)))
                     for row, terms in enumerate(documents) for term in terms)
    rows, columns = (np.fromiter((key[i] for key in counts), dtype=np.int64, count=len(counts)) for i in (0, 1))
    tf = 1 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
    df = np.bincount(columns, minlength=len(vocabulary))
    idf = np.log((1 + len(documents)) / (1 + df)) + 1
    weights = np.where(df[columns] >= 2, tf * idf[columns], 0.0)
    matrix = sparse.csr_array((weights, (rows, columns)), shape=(len(documents), max(len(vocabulary), 1)))
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    return sparse.csr_array(sparse.diags_array(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0))
                            @ matrix)


def _clusters(similarity: np.ndarray) -> list[list[int]]:
    """Average-linkage groups of a similarity matrix, cut at ``CUTOFF``: lists of row indexes."""
    if len(similarity) == 1:
        return [[0]]
    distance = squareform(np.clip(1.0 - similarity, 0.0, 2.0), checks=False)
    labels = fcluster(linkage(distance, "average"), CUTOFF, "distance")
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(int(label), []).append(index)
    return list(groups.values())


def _summary(texts: list[str], language: str, similarity: np.ndarray) -> dict:
    """A group as ``kb gaps`` shows it; the example is the question closest to all the others (ties: the first
    sorted)."""
    example = texts[int(np.argmax(similarity.sum(axis=1)))]
    return {"count": len(texts), "example": example.strip()[:200], "language": language,
            "keywords": _keywords(texts, language)}


def _keywords(texts: list[str], language: str, shown: int = 8) -> list[str]:
    """The stems most of ``texts`` share, each shown as the word the customers wrote most for it ("błąd", not the
    stem "blad"); ties alphabetical by stem: a set's order changes from run to run."""
    asked, written = Counter(), {}
    for text in texts:
        pairs = {(_stem(word, language), word) for word in content_words(text, language)}
        asked.update({stem for stem, _ in pairs})
        for stem, word in pairs:
            written.setdefault(stem, Counter())[word] += 1
    top = sorted(asked.items(), key=lambda item: (-item[1], item[0]))[:shown]
    return [min(written[stem].items(), key=lambda item: (-item[1], item[0]))[0] for stem, _ in top]


def unanswered(tickets, kb, progress=None) -> list[tuple[str, str]]:
    """The (question, language) of each of the ``tickets`` that gets no confident suggestion; ``progress(1)``
    after each ticket."""
    found = []
    for ticket in tickets:
        if not kb.search(ticket.question, ticket.language, limit=1):
            found.append((ticket.question, ticket.language))
        if progress:
            progress(1)
    return found


def gaps(tickets, kb, progress=None) -> list[dict]:
    """Groups of the ``tickets``' questions that get no confident suggestion; ``progress(1)`` after each ticket."""
    embed = None
    if "wordllama" in kb.models:  # the cut-off is measured with WordLlama's similarities (English)
        from .embeddings import embedder

        embed = embedder("wordllama").embed
    return group_questions(unanswered(tickets, kb, progress), embed=embed)
