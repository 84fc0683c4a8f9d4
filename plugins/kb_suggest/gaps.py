"""Knowledge gaps: customer questions with no confident suggestion, grouped by similarity.

Questions are grouped greedily by the Jaccard similarity of their stems; each group reports how
many tickets asked it and one example — the articles worth writing next.
"""
from __future__ import annotations

from .analysis import stems


def group_questions(questions: list[tuple[str, str]], similarity: float = 0.3) -> list[dict]:
    """``questions``: (text, language) pairs. Returns groups, largest first."""
    groups: list[dict] = []
    for text, language in questions:
        terms = set(stems(text, language))
        if not terms:
            continue
        best, best_score = None, 0.0
        for group in groups:
            score = len(terms & group["terms"]) / len(terms | group["terms"])
            if score > best_score:
                best, best_score = group, score
        if best is not None and best_score >= similarity:
            best["count"] += 1
            best["terms"] |= terms
        else:
            groups.append({"count": 1, "example": text.strip()[:200], "language": language, "terms": set(terms)})
    groups.sort(key=lambda g: -g["count"])
    return [{"count": g["count"], "example": g["example"], "language": g["language"],
             "keywords": sorted(g["terms"])[:8]} for g in groups]


def gaps(tickets, kb) -> list[dict]:
    unanswered = [(t.question, t.language) for t in tickets if not kb.search(t.question, t.language, limit=1)]
    return group_questions(unanswered)
