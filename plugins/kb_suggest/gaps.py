"""Knowledge gaps: customer questions with no confident suggestion, grouped by similarity.

Questions are grouped greedily: a question joins the most similar group of its language when the
Jaccard similarity of their stems reaches ``WORDS`` or, for English questions with a model loaded,
the cosine similarity to the group's mean sentence vector (WordLlama) reaches ``MEANING``. Each group reports how many
tickets asked it, one example and its most frequent words — the articles worth writing next.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from .analysis import stems

WORDS = 0.3  # Jaccard similarity of stems
MEANING = 0.5  # cosine similarity of sentence vectors (unrelated support questions score 0.1-0.3)


def group_questions(questions: list[tuple[str, str]], similarity: float = WORDS, embed=None) -> list[dict]:
    """``questions``: (text, language) pairs; ``embed``: texts → unit vectors, for English. Largest first."""
    english = [text for text, language in questions if language == "en"]
    vectors = dict(zip(english, embed(english))) if embed and english else {}
    groups: list[dict] = []
    for text, language in questions:
        terms = set(stems(text, language))
        if not terms:
            continue
        vector = vectors.get(text) if language == "en" else None
        best, best_score = None, 0.0
        for group in groups:
            if group["language"] != language:
                continue
            jaccard = len(terms & group["terms"]) / len(terms | group["terms"])
            score = jaccard if jaccard >= similarity else 0.0
            if vector is not None and group["vector"] is not None:
                cosine = float(group["vector"] @ vector) / (float(np.linalg.norm(group["vector"])) or 1.0)
                score = max(score, cosine if cosine >= MEANING else 0.0)
            if score > best_score:
                best, best_score = group, score
        if best is not None:
            best["count"] += 1
            best["terms"] |= terms
            best["words"].update(terms)
            if vector is not None and best["vector"] is not None:
                best["vector"] = best["vector"] + vector
        else:
            groups.append({"count": 1, "example": text.strip()[:200], "language": language, "terms": set(terms),
                           "words": Counter(terms), "vector": None if vector is None else np.array(vector)})
    groups.sort(key=lambda g: -g["count"])
    return [{"count": g["count"], "example": g["example"], "language": g["language"],
             "keywords": [w for w, _ in sorted(g["words"].items(), key=lambda item: (-item[1], item[0]))[:8]]}
            for g in groups]  # ties alphabetical: a set's order changes from run to run


def gaps(tickets, kb, progress=None) -> list[dict]:
    """Groups of the ``tickets``' questions that get no confident suggestion; ``progress(1)`` after each ticket."""
    unanswered = []
    for ticket in tickets:
        if not kb.search(ticket.question, ticket.language, limit=1):
            unanswered.append((ticket.question, ticket.language))
        if progress:
            progress(1)
    embed = None
    if "wordllama" in kb.models:  # MEANING is measured for WordLlama's similarities (English)
        from .embeddings import embedder

        embed = embedder("wordllama").embed
    return group_questions(unanswered, embed=embed)
