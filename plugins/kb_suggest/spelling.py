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

from .analysis import WORD, fold, zipf  # WORD: letters and digits; a token with a digit is a code, never corrected

MIN_LENGTH = 4
KNOWN_ZIPF = 1.0  # wordfreq Zipf frequency from which a word counts as a real word of the language
MOST_UNKNOWN = 6  # more unknown words than this: not typos but another language, a log or codes; left as is
REMEMBERED = 50_000  # corrections kept per knowledge base (a long-running host sees endless new words)


class Spelling:
    """Corrections towards the vocabulary of one knowledge base."""

    def __init__(self, words: Iterable[str]):
        self.counts = Counter(w for w in words if w.isalpha() and len(w) >= 3)
        self.by_length: dict[int, list[str]] = {}  # a word within n edits is within n letters of its length
        for word in self.counts:
            self.by_length.setdefault(len(word), []).append(word)
        self._fixed: dict[tuple[str, str], str] = {}
        self._near: dict[tuple[int, int], list[str]] = {}

    def correct(self, text: str, language: str) -> str:
        """``text`` with its misspelt words replaced (case and everything else kept)."""
        unknown = {w for w in map(fold, WORD.findall(text)) if self._unknown(w, language)}
        if not unknown or len(unknown) > MOST_UNKNOWN:
            return text

        def replace(match: re.Match) -> str:
            written = match.group(0)
            word = fold(written)
            fixed = self.word(word, language) if word in unknown else word
            return written if fixed == word else _same_case(written, fixed)

        return WORD.sub(replace, text)

    def word(self, word: str, language: str) -> str:
        key = (word, language)
        fixed = self._fixed.get(key)
        if fixed is None:  # two threads may both fill it in: the same value, no harm
            if len(self._fixed) >= REMEMBERED:
                self._fixed = {}
            fixed = self._fixed[key] = self._lookup(word, language)
        return fixed

    def _lengths_near(self, length: int, edits: int) -> list[str]:
        """The articles' words whose length is within ``edits`` of ``length`` (built once per pair)."""
        key = (length, edits)
        if key not in self._near:
            self._near[key] = [w for n in range(length - edits, length + edits + 1) for w in self.by_length.get(n, ())]
        return self._near[key]

    def _unknown(self, word: str, language: str) -> bool:
        """Neither a word of the articles nor (by wordfreq) of the language: perhaps a typo."""
        if len(word) < MIN_LENGTH or word in self.counts or not self.counts or not word.isalpha():
            return False
        return zipf(word, language) < KNOWN_ZIPF

    def _lookup(self, word: str, language: str) -> str:
        if not self._unknown(word, language):
            return word
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        edits = 1 if len(word) <= 5 else 2
        found = process.extract(word, self._lengths_near(len(word), edits), scorer=OSA.distance,
                                score_cutoff=edits, limit=None)
        if not found:
            return word
        return min(found, key=lambda match: (match[1], -self.counts[match[0]], match[0]))[0]


def _same_case(written: str, fixed: str) -> str:
    """"Invoce" → "Invoice", "INVOCE" → "INVOICE", "invoce" → "invoice"."""
    if written.isupper() and len(written) > 1:
        return fixed.upper()
    return fixed[:1].upper() + fixed[1:] if written[:1].isupper() else fixed
