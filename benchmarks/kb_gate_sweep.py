"""How the default gate trades recall for rejection — `python benchmarks/kb_gate_sweep.py [STEP] [MARGINS]`.

Moves the WordLlama gate's calibration margin (engine.CALIBRATION) and measures, in the same run, recall@3
of every STEP-th in-scope question of the shared sets (gated), the share of the other set's questions (another
business) that get no suggestion, and the same for the two held-out generic off-topic lists.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import plugins.kb_suggest.engine as engine  # noqa: E402
from plugins.kb_suggest.articles import load_jsonl  # noqa: E402
from plugins.kb_suggest.evaluate import Query, evaluate, load_queries  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "kb_eval"


def off_topic(name: str) -> list[Query]:
    lines = (ROOT / "benchmarks" / "data" / name).read_text(encoding="utf-8").splitlines()
    return [Query(f"{name}-{n}", t.strip(), "en", ()) for n, t in enumerate(lines) if t.strip() and not t.startswith("#")]


def main() -> None:
    step = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    margins = [float(m) for m in sys.argv[2].split(",")] if len(sys.argv) > 2 else [0.12, 0.095, 0.07, 0.035]
    sets = {n: (load_jsonl(SHARED / n / "articles.jsonl"), load_queries(SHARED / n / "queries.jsonl"))
            for n in ("banking77", "bitext")}
    generic = {name: off_topic(name) for name in ("generic_off_topic.txt", "generic_off_topic_2.txt")}
    percentile, _, lowest, top = engine.CALIBRATION["wordllama"]
    for margin in margins:
        engine.CALIBRATION["wordllama"] = (percentile, margin, 0.0, top)  # no floor: the margin alone moves the gate
        row = [f"margin {margin:+.3f}"]
        for name, (articles, questions) in sets.items():
            other = [Query(f"o-{q.id}", q.text, q.lang, ()) for n, (_, qs) in sets.items() if n != name for q in qs[::4]]
            result = evaluate(articles, questions[::step] + other[::step])
            rejected = [evaluate(articles, qs)["no_suggestion_rate"] for qs in generic.values()]
            row.append(f"{name}: recall@3 {result['recall@3']:.3f}, other business {result['no_suggestion_rate']:.3f}, "
                       f"generic {rejected[0]:.3f} / {rejected[1]:.3f}")
        print(" | ".join(row), flush=True)


if __name__ == "__main__":
    main()
