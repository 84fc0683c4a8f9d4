"""The Russian and Polish confidence gate on the repository's own sets —
`python benchmarks/kb_ru_pl_gate.py [--margins 0.12,0.16,0.2]`.

For ru_telecom, ru_bank, pl_shop (benchmarks/data) and tests/data/kb_ru_pl, in one run: recall@1, recall@3,
MRR@5 of the in-scope questions and the share of out-of-scope questions (``expected: []``) that get no
suggestion, for the default ranker with the calibrated Navec judge (Russian; at each margin given), with the
judge before it (word coverage ≥ 0.25 for every Russian and Polish question), without a gate, and plain bm25s.
See benchmarks/RESULTS.md, "Russian and Polish: a calibrated gate".
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import plugins.kb_suggest.engine as engine  # noqa: E402
from plugins.kb_suggest.articles import load_jsonl  # noqa: E402
from plugins.kb_suggest.evaluate import evaluate, evaluate_baseline, load_queries  # noqa: E402

SETS = {"ru_telecom": ROOT / "benchmarks" / "data" / "ru_telecom", "ru_bank": ROOT / "benchmarks" / "data" / "ru_bank",
        "pl_shop": ROOT / "benchmarks" / "data" / "pl_shop", "kb_ru_pl": ROOT / "tests" / "data" / "kb_ru_pl"}


def row(label: str, articles, questions, run=evaluate) -> str:
    inside = run(articles, [q for q in questions if q.expected])
    outside = run(articles, [q for q in questions if not q.expected])
    return " | ".join([f"{label:<28}", f"{inside['recall@1']:.3f}", f"{inside['recall@3']:.3f}",
                       f"{inside['mrr@5']:.3f}", f"{outside['no_suggestion_rate']:.3f}", f"{inside['p95_ms']:.2f}"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--margins", default=str(engine.CALIBRATION["navec"][1]))
    args = parser.parse_args()
    percentile, margin0, lowest, top = engine.CALIBRATION["navec"]
    judges = engine.JUDGES
    for name, folder in SETS.items():
        articles, questions = load_jsonl(folder / "articles.jsonl"), load_queries(folder / "queries.jsonl")
        print(f"\n{name}: {len(articles)} articles, {sum(bool(q.expected) for q in questions)} in scope, "
              f"{sum(not q.expected for q in questions)} out of scope")
        print("gate                         | R@1   | R@3   | MRR@5 | out of scope rejected | p95 ms")
        for margin in (float(m) for m in args.margins.split(",")):
            engine.CALIBRATION["navec"] = (percentile, margin, lowest, top)
            print(row(f"calibrated Navec {margin:+.3f}", articles, questions), flush=True)
        engine.CALIBRATION["navec"] = (percentile, margin0, lowest, top)
        engine.JUDGES = tuple(j for j in judges if j != "navec")  # the judge before: word coverage ≥ 0.25
        print(row("word coverage ≥ 0.25 (before)", articles, questions), flush=True)
        engine.JUDGES = judges
        print(row("no gate", articles, questions, lambda a, q: evaluate(a, q, threshold=0.0)), flush=True)
        print(row("lexical only (semantic off)", articles, questions, lambda a, q: evaluate(a, q, semantic="off")),
              flush=True)
        print(row("plain bm25s", articles, questions, evaluate_baseline), flush=True)


if __name__ == "__main__":
    main()
