"""Held-out English knowledge bases with labelled kinds of out-of-scope questions —
`python benchmarks/kb_heldout.py [SET …] [--margins 0.035,0,-0.03]`.

Each set (benchmarks/data/<set>/, written blind: see benchmarks/data/README.md) has queries of four kinds:
``in`` (an article answers), ``generic`` (small talk, trivia, assistant commands), ``other_business``
(another company's support questions) and ``gap`` (this product's questions no article answers). Prints,
for the default ranker at each calibration margin and for plain bm25s in the same run: recall@1, recall@3,
MRR@5 of the in-scope questions and the share of each out-of-scope kind that gets no suggestion; "customers'
bar" is what acknowledgements would link (the stricter bar, ``Suggestion.for_customers``).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import plugins.kb_suggest.engine as engine  # noqa: E402
from plugins.kb_suggest.articles import load_jsonl  # noqa: E402
from plugins.kb_suggest.engine import KnowledgeBase  # noqa: E402
from plugins.kb_suggest.evaluate import evaluate, evaluate_baseline, load_queries, metrics  # noqa: E402

DATA = ROOT / "benchmarks" / "data"
KINDS = ("generic", "other_business", "gap")


def kinds(path: Path) -> dict[str, str]:
    lines = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return {str(item["id"]): item.get("kind", "in" if item.get("expected") else "gap") for item in lines}


def row(label: str, articles, questions, kind_of, run=evaluate) -> str:
    """One line of the table: ``run(articles, questions)`` is ``evaluate`` (with its settings) or the baseline."""
    result = run(articles, [q for q in questions if q.expected])
    cells = [f"{label:<16}", f"{result['recall@1']:.3f}", f"{result['recall@3']:.3f}", f"{result['mrr@5']:.3f}"]
    for kind in KINDS:
        out = [q for q in questions if not q.expected and kind_of[q.id] == kind]
        cells.append(f"{run(articles, out)['no_suggestion_rate']:.3f}" if out else "—")
    return " | ".join(cells)


def for_customers(articles, questions) -> dict:
    """What acknowledgements would link: only the suggestions above the customers' stricter bar."""
    kb = KnowledgeBase(articles)
    ranked = [[h.article.id for h in kb.search(q.text, q.lang, limit=3) if h.for_customers] for q in questions]
    return metrics(ranked, questions, [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="*", default=["saas", "delivery"])
    parser.add_argument("--margins", default=str(engine.CALIBRATION["wordllama"][1]))
    args = parser.parse_args()
    percentile, margin0, lowest, top = engine.CALIBRATION["wordllama"]
    for name in args.sets:
        articles = load_jsonl(DATA / name / "articles.jsonl")
        questions = load_queries(DATA / name / "queries.jsonl")
        kind_of = kinds(DATA / name / "queries.jsonl")
        print(f"\n{name}: {len(articles)} articles, {sum(bool(q.expected) for q in questions)} in scope, "
              f"{sum(not q.expected for q in questions)} out of scope")
        print("ranker           | R@1   | R@3   | MRR@5 | generic | other business | gap")
        for margin in (float(m) for m in args.margins.split(",")):
            engine.CALIBRATION["wordllama"] = (percentile, margin, lowest, top)
            print(row(f"margin {margin:+.3f}", articles, questions, kind_of), flush=True)
        engine.CALIBRATION["wordllama"] = (percentile, margin0, lowest, top)
        print(row("customers' bar", articles, questions, kind_of, for_customers), flush=True)
        print(row("no gate", articles, questions, kind_of, lambda a, q: evaluate(a, q, threshold=0.0)), flush=True)
        print(row("lexical only", articles, questions, kind_of, lambda a, q: evaluate(a, q, semantic="off")), flush=True)
        print(row("plain bm25s", articles, questions, kind_of, evaluate_baseline), flush=True)


if __name__ == "__main__":
    main()
