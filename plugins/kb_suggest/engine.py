"""Ranking help articles for a customer's question: lexical and semantic scores fused, with a
confidence gate.

* A word index (bm25s): Snowball stems without stop words; the title counts three times, and
  questions that agents answered with the article before (feedback) are added, so the index learns.
* A character 4-gram index (bm25s) over the same words, which forgives typos and the inflection
  (Polish, Russian) that stemming misses.
* Sentence embeddings (see ``embeddings``): WordLlama for English and Navec for Russian by default,
  plus all-MiniLM-L6-v2 for English when its optional package is installed. They match meaning where
  the customer's words differ from the article's ("locate my card" → "Card arrival").

Questions are first cleared of typos against the articles' own words (see ``spelling``). Scores
are normalised by their best hit and fused. A suggestion is made only when it is confident
enough: the cosine similarity of question and article plus a share of the question's informative words
the article covers, against a bar calibrated per knowledge base on generic off-topic questions — for English
(WordLlama or MiniLM; WordLlama's bar rises with the question's mean similarity to all the articles) and
Russian (Navec) — otherwise the word coverage alone against a fixed bar (Polish). Each suggestion says why:
the matched words and the article's passage closest to the question.
"""
from __future__ import annotations

import logging
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import Iterable

import bm25s
import numpy as np
from scipy import sparse

from plugin_host.text import shorten

from .analysis import _stem, _word_grams, content_words, ngrams, stems, words, zipf
from .articles import Article
from .embeddings import MODEL_LANGUAGES, embedder, resolve
from .spelling import Spelling

logging.getLogger("bm25s").setLevel(logging.WARNING)

TITLE_WEIGHT = 3
WORD_WEIGHT = 0.6
NGRAM_WEIGHT = 0.4
PREFIX = 5
# Share of each signal in the fused score, by the models loaded (measured on the shared dev sets,
# see benchmarks/RESULTS.md; the same weights for every knowledge base).
MIX = {(): {"lexical": 1.0},
       ("wordllama",): {"lexical": 0.3, "wordllama": 0.7},
       ("minilm",): {"lexical": 0.4, "minilm": 0.6},
       ("wordllama", "minilm"): {"lexical": 0.25, "wordllama": 0.25, "minilm": 0.5},
       ("navec",): {"lexical": 0.5, "navec": 0.5}}
# Default confidence gates. With a model: cosine similarity, calibrated per knowledge base from generic
# off-topic questions (data/off_topic.txt): a margin above a high percentile of the similarity they reach
# in its articles (less each question's lift, see LIFT), because long answer texts give lower similarities
# than short question-like articles. A percentile, not the highest: one off-topic question that happens to
# touch the business ("a good pasta recipe?" for a food-delivery FAQ) must not set the bar for all of them.
# Without a model: lexical coverage, counted on stems; inflected languages (Russian, Polish) keep fewer
# exact matches for the same meaning than English, hence a lower bar there.
# Per model: percentile, margin above it, and the range the gate is kept in (MiniLM spreads similarities
# wider than WordLlama: off-topic questions sit lower, related ones higher). Measured in benchmarks/RESULTS.md.
# Navec (Russian) is calibrated the same way on Russian off-topic questions (data/off_topic_ru.txt); its judgement
# counts word coverage more (COVERAGE) and is not lifted: chosen leave-one-set-out on the Russian dev sets.
CALIBRATION = {"wordllama": (90, 0.095, 0.2, 0.5), "minilm": (100, 0.1, 0.4, 0.55), "navec": (90, 0.16, 0.3, 0.75)}
# A stricter bar for what reaches customers unasked (articles linked in acknowledgements): a wider margin,
# so another business's questions are mostly kept out too. Agents see the side panel's suggestions and
# judge them; a customer only sees the link.
# Russian has one bar for both, as when word coverage judged it alone (no data to set a stricter one on).
CUSTOMER_CALIBRATION = {"wordllama": (90, 0.16), "minilm": (100, 0.1), "navec": (90, 0.16)}
# The gate rises with the question's mean similarity to all the knowledge base's articles (this share of
# it): wording that resembles every article alike (generic support talk, or another business's
# questions against long answer texts) must clear a higher bar than a question close to one article.
# Measured for WordLlama on the shared sets, held out (benchmarks/RESULTS.md); MiniLM is not lifted.
LIFT = {"wordllama": 0.5}
# The model's judgement of an article also counts this share of the question's informative wording that the
# article covers (rarity-weighted stems, as the lexical gate counts them): a question about one topic in this
# product's own words clears the bar more easily than one that only sounds like support talk.
COVERAGE = {"wordllama": 0.2, "navec": 0.75}
CANDIDATES = 3  # the search judges the best limit × CANDIDATES fused articles; calibration the best 3 × 3
# The models whose similarity decides confidence, first loaded first; one judge per language. WordLlama's bar (a
# percentile + margin, lifted, counting word coverage) was chosen on the dev sets and held on six unseen ones;
# MiniLM's (the highest off-topic question + 0.1), set on the dev sets alone, kept 34-48% of recall@3 on four
# unseen sets: with both installed MiniLM ranks and WordLlama judges (benchmarks/RESULTS.md, "on ONNX Runtime").
JUDGES = ("wordllama", "minilm", "navec")
ALTERNATIVE_MARGIN = 0.1
# A question word holding a digit ("E120", "SKU4411") that at most this many articles contain is decisive
# evidence for them, whatever a model's similarity says: models blur "E120" with "E123" and "E201".
CODE = re.compile(r"(?=\w*\d)\w{3,}")
CODE_ARTICLES = 2
# A bare number ("404", "350") is a code only when the question calls it one ("error 404", "код 401",
# "błąd 500"): otherwise it is an amount, a temperature or an order number, and an article that happens to
# hold the same number must not become confident by it ("350 fahrenheit in celsius" → a refund article).
CODE_WORD = re.compile(r"\b(error|err|code|status|fault|ошибк\w*|код\w*|сбой|статус|b[łl][ąa]d\w*|kod\w*)\b", re.I)
CALIBRATION_LANGUAGE = {"wordllama": "en", "minilm": "en", "navec": "ru"}  # the off-topic questions each model is calibrated on
LEXICAL_GATES = {"en": 0.4}
LEXICAL_GATE_OTHER = 0.25


@dataclass(frozen=True)
class Hit:
    article: Article
    score: float
    confidence: float
    matched: tuple[str, ...]
    passage: str
    confident: bool = True  # False: a close runner-up offered because another article is confident
    for_customers: bool = True  # above the stricter bar for links sent to customers (CUSTOMER_CALIBRATION)


def indexed_text(article: Article) -> str:
    return f"{f'{article.title} ' * TITLE_WEIGHT}\n{' '.join(article.tags)}\n{article.text}"


def embedded_text(article: Article) -> str:
    return f"{article.title}. {article.text[:2000]}"


class KnowledgeBase:
    """An in-memory index of articles; build once, query many times (about 1 ms a query).

    ``semantic`` is ``auto`` (every installed model), ``static``, ``full`` or ``off``. ``prepared``
    maps article digests to earlier analysis (content words and vectors), so re-indexing only
    analyses new or changed articles; ``self.prepared`` holds the analysis of the current articles.
    """

    def __init__(self, articles: Iterable[Article], feedback: dict[str, list[str]] | None = None,
                 threshold: float | None = None, progress=None, semantic: str = "auto",
                 prepared: dict | None = None):
        self.articles = list(articles)
        feedback = feedback or {}
        languages = {a.lang for a in self.articles}
        # Only the models that know a language of these articles are loaded.
        self.models = tuple(m for m in resolve(semantic) if MODEL_LANGUAGES[m] & languages) if self.articles else ()
        self.threshold = threshold  # None: the default gate for the models and language of each question
        for language in languages | {"en"} if self.articles else {"en"}:
            _information("warm", language)  # load word frequencies now, not during the first question
        previous = prepared or {}
        self.prepared: dict[str, dict] = {}
        for article in self.articles:
            old = previous.get(article.digest) or {}
            self.prepared[article.digest] = {"words": old.get("words"), "vectors": dict(old.get("vectors", {}))}
        self.changed = sum(1 for a in self.articles if self.prepared[a.digest]["words"] is None
                           or any(self._needs_vector(a, name) for name in self.models))
        # Embedding (Rust tokenizer, numpy) runs beside the lexical analysis: two cores, half the wait.
        with ThreadPoolExecutor(max_workers=1) as pool:
            embedding = pool.submit(self._embed_new_articles) if self.models else None
            self.word_docs = self._analyse(feedback, progress)
            if embedding:
                embedding.result()
        self.languages = np.array([a.lang for a in self.articles])
        self.vectors = {name: self._vectors(name, feedback) for name in self.models}
        self.known = {name: self.vectors[name].any(axis=1) for name in self.models}  # articles with a vector
        self._terms: dict[int, tuple[set, set]] = {}
        judges = [name for name in self.models if name in JUDGES and _judge(self.models, CALIBRATION_LANGUAGE[name]) == name]
        off_topic = {name: self._off_topic_judgements(name) for name in judges}
        self.gates = {name: self._calibrate(name, off_topic[name], *CALIBRATION[name]) for name in judges}
        self.customer_gates = {name: self._calibrate(name, off_topic[name], *CUSTOMER_CALIBRATION[name],
                                                     *CALIBRATION[name][2:]) for name in judges}
        self._code_counts: Counter | None = None
        self._sentences: dict[int, list[str]] = {}
        self._sentence_vectors: dict[tuple[int, str], np.ndarray] = {}
        self.spelling = Spelling(chain.from_iterable(self.prepared[a.digest]["words"] for a in self.articles))

    def _analyse(self, feedback: dict[str, list[str]], progress) -> list[list[str]]:
        """Stems and character 4-grams of every article (content words reused when unchanged); both indexes."""
        word_docs, numbered_docs, stem_of, number_of = [], [], {}, {}
        word_vocab: dict[str, int] = {}
        gram_vocab: dict[str, int] = {}
        word_stems: list[int] = []  # per distinct word (of a language): its stem's id
        word_grams: list[list[int]] = []  # per distinct word: its 4-grams' ids
        for number, article in enumerate(self.articles):
            entry = self.prepared[article.digest]
            if entry["words"] is None:
                entry["words"] = content_words(indexed_text(article), article.lang)
            doc_words = entry["words"] + content_words(" ".join(feedback.get(article.id, [])), article.lang)
            # Each distinct word is stemmed, cut into 4-grams and numbered once; the per-token work is C-level lookups.
            language, numbers = stem_of.setdefault(article.lang, {}), number_of.setdefault(article.lang, {})
            for word in set(doc_words).difference(numbers):
                stem = language[word] = _stem(word, article.lang)
                numbers[word] = len(word_stems)
                word_stems.append(word_vocab.setdefault(stem, len(word_vocab)))
                word_grams.append([gram_vocab.setdefault(g, len(gram_vocab)) for g in _word_grams(word, 4)])
            word_docs.append(list(map(language.__getitem__, doc_words)))
            numbered_docs.append(list(map(numbers.__getitem__, doc_words)))
            if progress:
                progress(number + 1)
        # How often each article holds each word; its stems' and 4-grams' counts follow by sparse products.
        words_in = _count_matrix(numbered_docs, len(word_stems))
        stems_of = _count_matrix([[stem] for stem in word_stems], len(word_vocab))
        grams_of = _count_matrix(word_grams, len(gram_vocab))
        self.word_index = self._bm25(words_in @ stems_of, word_vocab)
        self.gram_index = self._bm25(words_in @ grams_of, gram_vocab)
        return word_docs

    def _doc_terms(self, index: int) -> tuple[set, set]:
        """An article's stems, and their 5-letter prefixes: stems of inflected forms often differ only in
        the ending (возвращен/возврат, dostawa/dostaw), so a shared prefix counts as a match. Built on demand."""
        if index not in self._terms:
            stems_ = set(self.word_docs[index])
            self._terms[index] = (stems_, {t[:PREFIX] for t in stems_ if len(t) >= PREFIX})
        return self._terms[index]

    def _specific_codes(self, weights: dict, text: str) -> set[str]:
        """The question's code-like words (with a digit; a bare number only beside "error", "code"…) that only
        a few articles contain."""
        if self._code_counts is None:  # built once, on the first question that has a code
            # The pattern is tried once per distinct stem, not per token; then each article's codes are a set meet.
            coded = {t for t in set(chain.from_iterable(self.word_docs)) if CODE.fullmatch(t)}
            self._code_counts = Counter(chain.from_iterable(map(coded.intersection, self.word_docs)))
        named = bool(CODE_WORD.search(text))
        return {t for t in weights if CODE.fullmatch(t) and (named or not t.isdigit())
                and 0 < self._code_counts.get(t, 0) <= CODE_ARTICLES}

    def _needs_vector(self, article: Article, name: str) -> bool:
        """Whether the article is in the model's languages and has no usable vector from an earlier build."""
        if article.lang not in MODEL_LANGUAGES[name]:
            return False
        vector = self.prepared[article.digest]["vectors"].get(name)
        return vector is None or np.shape(vector) != (embedder(name).dimensions,)

    def _embed_new_articles(self) -> None:
        for name in self.models:
            missing = [a for a in self.articles if self._needs_vector(a, name)]
            if missing:
                fresh = embedder(name).embed([embedded_text(a) for a in missing])
                for article, vector in zip(missing, fresh):
                    self.prepared[article.digest]["vectors"][name] = vector.astype(np.float16)

    def _vectors(self, name: str, feedback: dict[str, list[str]]) -> np.ndarray:
        # Articles in languages the model does not know rank lexically only: no vector, no similarity, no noise.
        vectors = np.zeros((len(self.articles), embedder(name).dimensions), dtype=np.float32)
        for i, article in enumerate(self.articles):
            if article.lang in MODEL_LANGUAGES[name]:
                vectors[i] = self.prepared[article.digest]["vectors"][name]
        learned = [(i, q) for i, a in enumerate(self.articles) if a.lang in MODEL_LANGUAGES[name]
                   for q in feedback.get(a.id, [])]
        if learned:  # questions agents answered with an article pull its vector towards them
            questions = embedder(name).embed([q for _, q in learned])
            for (i, _), vector in zip(learned, questions):
                vectors[i] += 0.5 * vector / max(1, len(feedback[self.articles[i].id]))
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
        return vectors

    def _off_topic_judgements(self, name: str) -> np.ndarray:
        """How close each generic off-topic question comes to this knowledge base: its best judgement less its lift."""
        language = CALIBRATION_LANGUAGE[name]
        questions = off_topic_questions(language)
        similarity = embedder(name).embed(questions) @ self.vectors[name].T
        judged = similarity.max(axis=1)
        if COVERAGE.get(name):  # judged as a question is: the best of its top fused candidates
            for row, text in enumerate(questions):
                fused = self._fuse(text, language, {name: similarity[row]}, MIX[(name,)])
                weights = informativeness(text, language)
                candidates = [i for i in _best(fused, 3 * CANDIDATES) if self.known[name][i]]
                judged[row] = max((self._judgement(name, similarity[row][i], self._coverage(weights, i)[0])
                                   for i in candidates), default=judged[row])
        return judged - self._lift(name, similarity)

    @staticmethod
    def _judgement(name: str, similarity: float, coverage: float) -> float:
        return float(similarity) + COVERAGE.get(name, 0.0) * coverage

    def _coverage(self, weights: dict[str, float], index: int) -> tuple[float, list[str]]:
        """The share of the question's informative wording (``weights``) that the article covers, and the stems matched."""
        stems_, prefixes = self._doc_terms(index)
        matched = [t for t in weights if t in stems_ or (len(t) >= PREFIX and t[:PREFIX] in prefixes)]
        total = sum(weights.values())
        return (sum(weights[t] for t in matched) / total if total else 0.0), matched

    @staticmethod
    def _calibrate(name: str, off_topic: np.ndarray, percentile: float, margin: float, lowest: float,
                   top: float) -> float:
        return round(float(np.clip(np.percentile(off_topic, percentile) + margin, lowest, top)), 3)

    def _lift(self, name: str, similarity: np.ndarray) -> np.ndarray:
        """How much the gate rises for a question (each row of ``similarity``: its similarity to every article)."""
        known = self.known[name]
        if not known.any():  # no article has a vector (empty texts): nothing to lift by
            return np.zeros(similarity.shape[:-1])
        return LIFT.get(name, 0.0) * similarity[..., known].mean(axis=-1)

    @staticmethod
    def _bm25(counts: sparse.csr_array, vocabulary: dict[str, int]):
        """A bm25s index of documents given as token counts (documents × ``vocabulary``; an empty document holds one
        placeholder token, so it scores zero rather than breaking the index)."""
        if not counts.shape[0]:
            return None
        empty = np.flatnonzero(counts.sum(axis=1) == 0)
        if empty.size:
            placeholder = vocabulary.setdefault("\u2205", len(vocabulary))
            shape = (counts.shape[0], len(vocabulary))
            marks = sparse.csr_array((np.ones(empty.size, dtype=np.int64), (empty, np.full(empty.size, placeholder))), shape=shape)
            counts = sparse.csr_array(counts, copy=True)
            counts.resize(shape)
            counts = counts + marks
        index = ArrayBM25(k1=1.2, b=0.75)
        index.index(_Counts(counts, vocabulary), show_progress=False)
        return index

    def _scores(self, index, query: list[str]) -> np.ndarray:
        if index is None or not query:
            return np.zeros(len(self.articles))
        known = [t for t in query if t in index.vocab_dict]
        if not known:
            return np.zeros(len(self.articles))
        return np.asarray(index.get_scores(known), dtype=float)

    def embed_question(self, text: str, models: tuple[str, ...]) -> dict[str, np.ndarray]:
        """The question's vector, per model."""
        return {name: embedder(name).embed([text])[0] for name in models}

    def search(self, text: str, language: str = "en", limit: int = 3, threshold: float | None = None) -> list[Hit]:
        """The best articles for ``text``, at most ``limit``; empty when nothing is confident enough."""
        if not self.articles or not content_words(text, language):
            return []
        text = self.spelling.correct(text, language)
        models = tuple(m for m in self.models if language in MODEL_LANGUAGES[m])  # the models know English only
        question = self.embed_question(text, models)
        similarity = {name: self.vectors[name] @ vector for name, vector in question.items()}
        fused = self._fuse(text, language, similarity, MIX[models])
        if not fused.any():
            return []
        model_judge = _judge(models)
        configured = threshold if threshold is not None else self.threshold
        weights = informativeness(text, language)
        lift = float(self._lift(model_judge, similarity[model_judge])) if model_judge != "lexical" else 0.0
        codes = self._specific_codes(weights, text) if any(CODE.fullmatch(t) for t in weights) else set()
        hits = []
        for index in _best(fused, max(limit * CANDIDATES, limit)):
            if fused[index] <= 0:
                break
            coverage, matched = self._coverage(weights, index)
            stems_ = self._doc_terms(index)[0]
            # A model cannot judge an article in a language it does not know (it has no vector): words do.
            judge = model_judge if model_judge == "lexical" or \
                self.articles[index].lang in MODEL_LANGUAGES[model_judge] else "lexical"
            gate = configured if configured is not None else self._default_gate(judge, language) + \
                (lift if judge != "lexical" else 0.0)
            customer_gate = gate if configured is not None or judge == "lexical" else self.customer_gates[judge] + lift
            if judge == "lexical":
                confidence = coverage
            else:
                confidence = self._judgement(judge, similarity[judge][index], coverage)
            if codes & stems_:  # the article names the error or product code the customer quotes
                gate = customer_gate = min(gate, confidence)
            # Once one article is confident, close runners-up (within ALTERNATIVE_MARGIN) are offered too.
            if confidence < gate - (ALTERNATIVE_MARGIN if hits and gate > ALTERNATIVE_MARGIN else 0.0):
                continue
            article = self.articles[index]
            hits.append(Hit(article, float(fused[index]), round(confidence, 3),
                            tuple(_surface(text, language, matched)), self.passage(index, question, matched),
                            confident=confidence >= gate, for_customers=confidence >= max(gate, customer_gate)))
            if len(hits) == limit:
                break
        return hits

    def _fuse(self, text: str, language: str, similarity: dict[str, np.ndarray], mix: dict[str, float]) -> np.ndarray:
        """Lexical scores and model similarities, each normalised by its best hit, mixed by ``mix``."""
        word = self._scores(self.word_index, stems(text, language))
        gram = self._scores(self.gram_index, ngrams(text, language))
        fused = mix["lexical"] * (WORD_WEIGHT * _normalise(word) + NGRAM_WEIGHT * _normalise(gram))
        for name, cosine in similarity.items():
            fused = fused + mix[name] * _normalise(np.clip(cosine, 0, None))
        same_language = self.languages == language
        if fused.any() and same_language.any() and not same_language.all():
            fused = fused + 0.05 * same_language  # prefer the customer's language on near ties
        return fused

    def _default_gate(self, judge: str, language: str) -> float:
        return self.gates[judge] if judge != "lexical" else LEXICAL_GATES.get(language, LEXICAL_GATE_OTHER)

    def describe_gate(self, language: str) -> str:
        """How a question in ``language`` is judged confident enough (for ``labeldesk kb search``)."""
        models = tuple(m for m in self.models if language in MODEL_LANGUAGES[m])
        judge = _judge(models)
        if self.threshold is not None:
            return f"gate {self.threshold} (configured)"
        if judge != "lexical":
            lift = f" + {LIFT[judge]} × the question's mean similarity to all articles" if judge in LIFT else ""
            coverage = f" + {COVERAGE[judge]} × word coverage" if COVERAGE.get(judge) else ""
            return (f"gate: {judge} similarity{coverage} ≥ {self.gates[judge]}{lift} (calibrated for this knowledge base; "
                    f"≥ {self.customer_gates[judge]}{lift} to be linked in acknowledgements)")
        why = f"{', '.join(models)} ranks, words judge" if models else "no model for this language"
        return f"gate: word coverage ≥ {self._default_gate(judge, language)} ({why})"

    def passage(self, index: int, question: dict[str, np.ndarray], matched: list[str], width: int = 200) -> str:
        """The article's sentence closest to the question: by meaning with a model, else by shared stems."""
        article = self.articles[index]
        sentences = self._sentences.get(index)
        if sentences is None:
            found = _sentences(article.text)
            # A heading that repeats the title tells the agent nothing the card does not show already.
            sentences = [s for s in found if s.casefold() != article.title.casefold()] or found or [article.title]
            self._sentences[index] = sentences
        model = next((m for m in question if article.lang in MODEL_LANGUAGES[m]), None)
        if len(sentences) == 1:  # nothing to choose between: no need to embed or stem it
            best = sentences[0]
        elif model is not None:
            key = (index, model)
            if key not in self._sentence_vectors:  # embedded once, the first time the article is suggested
                self._sentence_vectors[key] = embedder(model).embed(sentences)
            best = sentences[int(np.argmax(self._sentence_vectors[key] @ question[model]))]
        else:
            wanted = set(matched)
            best = max(sentences, key=lambda s: len(wanted & set(stems(s, article.lang))))
        return shorten(best, width)


@dataclass(frozen=True)
class _Counts:
    """Documents as token counts, in the shape bm25s accepts a corpus object (``ids`` and ``vocab``)."""
    ids: sparse.csr_array  # documents × tokens
    vocab: dict[str, int]


def _count_matrix(rows: list[list[int]], columns: int) -> sparse.csr_array:
    """How many times each row's list holds each column number (rows × columns, int64)."""
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    indptr = np.concatenate(([0], np.cumsum(lengths)))
    indices = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=int(indptr[-1]))
    counts = sparse.csr_array((np.ones(indices.size, dtype=np.int64), indices, indptr), shape=(len(rows), columns))
    counts.sum_duplicates()
    return counts


# bm25s's scoring helpers the array build below uses (its idf and term-frequency formulas, not copies of them).
# Not public API: when a bm25s release renames one, indexes are built bm25s's own (slower) way instead.
_BM25S_PARTS = all(hasattr(bm25s.scoring, name) for name in ("_build_idf_array", "_select_idf_scorer",
                                                              "_select_tfc_scorer"))


def _token_lists(counts: sparse.csr_array) -> list[list[int]]:
    """Each document's token ids, each repeated as often as it occurs (what bm25s's own build reads)."""
    counts = sparse.csr_array(counts)
    return [np.repeat(counts.indices[start:end], counts.data[start:end]).tolist()
            for start, end in zip(counts.indptr[:-1], counts.indptr[1:])]


class ArrayBM25(bm25s.BM25):
    """bm25s's BM25 indexing documents given as a sparse matrix of token counts, through bm25s's own hook for
    building the index (``build_index_from_ids``) with whole-array numpy steps rather than a Python loop, Counter and
    set per document. The same index as bm25s builds from the documents' token lists, bit for bit: the same idf
    (bm25s's function), the same term-frequency formula on the same float64 values, stored as float32 in bm25s's
    column order (by token, then document)."""

    def build_index_from_ids(self, unique_token_ids, corpus_token_ids, show_progress=True, leave_progress=False):
        if not sparse.issparse(corpus_token_ids):
            return super().build_index_from_ids(unique_token_ids, corpus_token_ids, show_progress, leave_progress)
        if self.method in self.methods_requiring_nonoccurrence or not _BM25S_PARTS:
            # bm25s's own way, from token lists: the arrays below rely on helpers a bm25s release may rename
            return super().build_index_from_ids(unique_token_ids, _token_lists(corpus_token_ids), show_progress,
                                                leave_progress)
        columns = sparse.csc_array(corpus_token_ids, dtype=np.int64)
        columns.sort_indices()
        n_docs, n_vocab = columns.shape
        lengths = np.asarray(corpus_token_ids.sum(axis=1), dtype=np.int64)  # tokens per document
        document_frequency = np.diff(columns.indptr).astype(np.int64)
        token = np.repeat(np.arange(n_vocab), document_frequency)
        idf = bm25s.scoring._build_idf_array(dict(zip(unique_token_ids, document_frequency[unique_token_ids].tolist())),
                                             n_docs, bm25s.scoring._select_idf_scorer(self.idf_method), self.dtype)
        term_frequency = bm25s.scoring._select_tfc_scorer(self.method)(
            tf_array=columns.data.astype(self.dtype), l_d=lengths[columns.indices], l_avg=lengths.mean(),
            k1=self.k1, b=self.b, delta=self.delta)
        self.nonoccurrence_array = None
        return {"data": (idf[token] * term_frequency).astype(self.dtype),
                "indices": columns.indices.astype(self.int_dtype),
                "indptr": np.concatenate(([0], np.cumsum(document_frequency))), "num_docs": n_docs}


def _judge(models: tuple[str, ...], language: str = "") -> str:
    """Whose confidence decides (of the models for ``language``, if given): the first loaded in JUDGES, else
    lexical coverage."""
    return next((m for m in JUDGES if m in models and (not language or language in MODEL_LANGUAGES[m])), "lexical")


@lru_cache(maxsize=4)
def off_topic_questions(language: str = "en") -> list[str]:
    """Generic questions no help desk answers, in the language: data/off_topic.txt (English), off_topic_ru.txt…"""
    name = "off_topic.txt" if language == "en" else f"off_topic_{language}.txt"
    text = (Path(__file__).parent / "data" / name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def informativeness(text: str, language: str) -> dict[str, float]:
    """Stem → how informative the customer's word is in the language at large (rare = telling).

    Uses wordfreq's Zipf frequencies: "order" or "account" say little, "chargeback" a lot. This
    makes the confidence gate independent of how the knowledge base happens to be written.
    """
    weights: dict[str, float] = {}
    for word in content_words(text, language):
        stem = _stem(word, language)
        weights[stem] = max(weights.get(stem, 0.0), _information(word, language))
    return weights


def _information(word: str, language: str) -> float:
    if word.isdigit():
        return 0.3
    return max(0.3, 7.5 - zipf(word, language))


def _best(scores: np.ndarray, count: int) -> np.ndarray:
    """Indices of the ``count`` highest scores, best first (a partition, not a sort of every article)."""
    if count >= scores.size:
        return np.argsort(-scores, kind="stable")
    kth = -np.partition(-scores, count - 1)[count - 1]
    top = np.flatnonzero(scores >= kth)  # every article tied with the last place, in index order
    return top[np.argsort(-scores[top], kind="stable")][:count]


def _normalise(scores: np.ndarray) -> np.ndarray:
    top = scores.max() if scores.size else 0.0
    return scores / top if top > 0 else scores


def _surface(text: str, language: str, matched_stems: list[str]) -> list[str]:
    """The customer's own words behind the matched stems (for the "why"): one word a stem, as the customer first
    wrote it ("charged twice … two charges … duplicate charge" shows "charged", not three forms of one word)."""
    wanted = set(matched_stems)
    shown = {}
    for word, stem in _word_stems(text, language):
        if stem in wanted:
            shown.setdefault(stem, word)
    return list(shown.values())[:6]


@lru_cache(maxsize=16)
def _word_stems(text: str, language: str) -> tuple[tuple[str, str | None], ...]:
    """The distinct words of ``text`` in order, each with its stem (None for a stop word): stemmed once per
    question, not once per suggested article."""
    def stem(word: str) -> str | None:
        found = stems(word, language)
        return found[0] if found else None

    return tuple((word, stem(word)) for word in dict.fromkeys(words(text)))


def _sentences(body: str) -> list[str]:
    text = re.sub(r"[#*_`>\[\]()]", " ", body)
    parts = []
    for line in text.splitlines():
        line = re.sub(r"\s+", " ", line).strip(" -")
        parts.extend(p for p in re.split(r"(?<=[.!?])\s+", line) if len(p.split()) >= 3)
    return parts[:60]
