"""Knowledge-base suggestions: quality on the shared eval sets and speed at scale.

Quality: `labeldesk kb eval` metrics for each set under ../shared/data/kb_eval, plus an
out-of-scope check (the other set's questions asked against this set's articles must get no
suggestion) and held-out generic off-topic questions (benchmarks/data/generic_off_topic.txt); the
repository's own Russian/Polish sets (benchmarks/data/*, tests/data/kb_ru_pl). Speed: latency per query with 1,000 articles and indexing time for 10,000 synthetic
articles, next to plain bm25s measured in the same run.

    python benchmarks/kb_eval.py [--shared ../shared]
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bm25s  # noqa: E402
import numpy as np  # noqa: E402

from plugins.kb_suggest.articles import Article, load_jsonl  # noqa: E402
from plugins.kb_suggest.engine import KnowledgeBase  # noqa: E402
from plugins.kb_suggest.evaluate import Query, evaluate, evaluate_baseline, load_queries  # noqa: E402


def synthetic(n: int, seed: int = 7) -> list[Article]:
    rng = random.Random(seed)
    vocabulary = [f"{a}{b}" for a in ("pay", "card", "ship", "order", "login", "refund", "plan", "invoice", "box", "api")
                  for b in ("ment", "ing", "er", "s", "ed", "ability", "ance", "ion", "ly", "")] * 3
    words = vocabulary + [f"term{i}" for i in range(3000)]
    return [Article(f"a{i}", " ".join(rng.choices(words, k=5)), " ".join(rng.choices(words, k=180))) for i in range(n)]


def speed(semantic: str = "static") -> dict:
    articles = synthetic(1000)
    kb = KnowledgeBase(articles, semantic=semantic)
    rng = random.Random(1)
    queries = [" ".join(rng.choices(articles[rng.randrange(1000)].body.split(), k=12)) for _ in range(500)]
    lat = []
    for q in queries:
        t = time.perf_counter()
        kb.search(q, "en", limit=3)
        lat.append(time.perf_counter() - t)
    typo_lat = []  # two misspelt words a question (a letter swapped): the spelling correction's search runs
    for q in queries:
        words = q.split()
        for i in rng.sample(range(len(words)), 2):
            w = words[i]
            words[i] = w[:1] + w[2:3] + w[1:2] + w[3:] + "x" if len(w) > 3 else w
        t = time.perf_counter()
        kb.search(" ".join(words), "en", limit=3)
        typo_lat.append(time.perf_counter() - t)
    base = bm25s.BM25()
    base.index(bm25s.tokenize([f"{a.title} {a.body}" for a in articles], show_progress=False), show_progress=False)
    base_lat = []
    for q in queries:
        t = time.perf_counter()
        base.retrieve(bm25s.tokenize([q], show_progress=False), k=3, show_progress=False)
        base_lat.append(time.perf_counter() - t)
    big = synthetic(10_000)
    t = time.perf_counter()
    KnowledgeBase(big, semantic=semantic)
    index_s = time.perf_counter() - t
    t = time.perf_counter()
    b = bm25s.BM25()
    b.index(bm25s.tokenize([f"{a.title} {a.body}" for a in big], show_progress=False), show_progress=False)
    base_index_s = time.perf_counter() - t
    ms = lambda xs, p: round(float(np.percentile(np.array(xs) * 1000, p)), 3)  # noqa: E731
    return {"semantic": semantic, "articles": 1000, "p50_ms": ms(lat, 50), "p95_ms": ms(lat, 95),
            "p95_ms_with_typos": ms(typo_lat, 95), "bm25s_p95_ms": ms(base_lat, 95),
            "index_10k_s": round(index_s, 2), "bm25s_index_10k_s": round(base_index_s, 2),
            "index_ratio_to_bm25s": round(index_s / base_index_s, 1)}


def quality(shared: Path, modes: list[str]) -> dict:
    sets = {p.name: (load_jsonl(p / "articles.jsonl"), load_queries(p / "queries.jsonl"))
            for p in sorted((shared / "data" / "kb_eval").iterdir()) if (p / "articles.jsonl").exists()}
    out = {}
    for name, (articles, queries) in sets.items():
        foreign = [Query(f"oos-{q.id}", q.text, q.lang, ()) for other, (_, qs) in sets.items() if other != name
                   for q in qs[::4]]
        out[name] = {"bm25s": evaluate_baseline(articles, queries + foreign)}
        for mode in modes:
            out[name][mode] = evaluate(articles, queries + foreign, semantic=mode)
            out[name][f"{mode}_generic_off_topic"] = evaluate(articles, generic_off_topic(), semantic=mode)["no_suggestion_rate"]
            out[name][f"{mode}_no_gate"] = evaluate(articles, queries, threshold=0.0, semantic=mode)
    return out


def generic_off_topic() -> list[Query]:
    path = Path(__file__).resolve().parent / "data" / "generic_off_topic.txt"
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [Query(f"generic-{n}", line, "en", ()) for n, line in enumerate(lines) if line and not line.startswith("#")]


def own_sets(modes: list[str]) -> dict:
    """The repository's hand-written Russian/Polish sets (with their own out-of-scope questions)."""
    root = Path(__file__).resolve().parent.parent
    out = {}
    sets = [p for p in sorted((root / "benchmarks" / "data").iterdir()) if (p / "articles.jsonl").exists()]
    for folder in [*sets, root / "tests" / "data" / "kb_ru_pl"]:
        articles, queries = load_jsonl(folder / "articles.jsonl"), load_queries(folder / "queries.jsonl")
        in_scope = [q for q in queries if q.expected]
        out[folder.name] = {"bm25s": evaluate_baseline(articles, queries)}
        for mode in modes:
            out[folder.name][mode] = evaluate(articles, queries, semantic=mode)
            out[folder.name][f"{mode}_no_gate"] = evaluate(articles, in_scope, threshold=0.0, semantic=mode)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parent.parent.parent / "shared"))
    parser.add_argument("--modes", default="off,static", help="semantic modes to measure (off, static, full)")
    args = parser.parse_args()
    modes = args.modes.split(",")
    print(json.dumps({"speed": [speed(mode) for mode in modes if mode != "full"],
                      "quality": quality(Path(args.shared), modes), "own_sets": own_sets(modes)}, indent=2))


if __name__ == "__main__":
    main()
