"""Fixing customers' typos before ranking: "cancel ordedr" → "cancel order".

A misspelt word is noise to the embedding models (it splits into odd word pieces) and misses the
word index. A question word is corrected only when it is unknown twice over — not a word of the
articles, and (by wordfreq) not a word of the language — and the articles hold a word within a small
edit distance (Damerau-Levenshtein without repeated edits, by rapidfuzz): one edit for words of up
to five letters, two for longer ones; among equals, the word the articles use most. Names, codes
and real words the articles lack are left alone.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Iterable

from .analysis import fold

WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
MIN_LENGTH = 4
KNOWN_ZIPF = 1.0  # wordfreq Zipf frequency from which a word counts as a real word of the language
FREQUENCY_LANGUAGES = ("en", "ru", "pl", "uk", "de", "fr", "es", "it", "pt", "nl", "cs")


class Spelling:
    """Corrections towards the vocabulary of one knowledge base."""

    def __init__(self, words: Iterable[str]):
        self.counts = Counter(w for w in words if w.isalpha() and len(w) >= 3)
        self.choices = list(self.counts)
        self._fixed: dict[tuple[str, str], str] = {}

    def correct(self, text: str, language: str) -> str:
        """``text`` with its misspelt words replaced (case and everything else kept)."""
        def replace(match: re.Match) -> str:
            word = fold(match.group(0))
            fixed = self.word(word, language)
            return match.group(0) if fixed == word else fixed

        return WORD.sub(replace, text)

    def word(self, word: str, language: str) -> str:
        key = (word, language)
        if key not in self._fixed:  # two threads may both fill it in: the same value, no harm
            self._fixed[key] = self._lookup(word, language)
        return self._fixed[key]

    def _lookup(self, word: str, language: str) -> str:
        if len(word) < MIN_LENGTH or word in self.counts or not self.choices:
            return word
        from wordfreq import zipf_frequency

        if zipf_frequency(word, language if language in FREQUENCY_LANGUAGES else "en") >= KNOWN_ZIPF:
            return word
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        edits = 1 if len(word) <= 5 else 2
        found = process.extract(word, self.choices, scorer=OSA.distance, score_cutoff=edits, limit=5)
        if not found:
            return word
        return min(found, key=lambda match: (match[1], -self.counts[match[0]], match[0]))[0]
