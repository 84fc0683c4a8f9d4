"""Are `labeldesk kb gaps`' groups the articles worth writing next? —
`PYTHONPATH=/tmp/sk python benchmarks/kb_gaps.py [--split dev|heldout] [--seeds 5] [--baseline /tmp/base54] [--timing]`.

For each labelled set and seed, a random 30% of the articles is taken out of the knowledge base, so their
questions become true gaps. Every question of the set (out-of-scope ones too) goes through the real gaps path —
``gaps.unanswered`` (the confidence gate ``kb gaps`` applies), in an order shuffled by the seed, as tickets
come in — and the questions left are grouped by the baseline tree's grouping (a greedy single pass) and by
this tree's (``gaps.question_groups``, the grouping ``kb gaps`` prints). Scores against the true intents
(out-of-scope questions each their own): adjusted Rand index and V-measure (scikit-learn's: install it into a
folder of its own, e.g. ``pip install --target /tmp/sk scikit-learn``, never into the product's environment),
ARI over the true gaps' questions alone, purity, the share of true gaps (an intent taken out with 2+ questions left unanswered) that is the majority of
a group of 2+, how many distinct intents and true gaps lead the top 10 groups (what the admin reads), and the
relative error of a found gap's count against its true number of unanswered questions. "all" repeats it with
half the articles out and no gate (every question of an article taken out is unanswered): larger groups, the
grouping alone. "order" is the ARI of each grouping with itself on the reversed order (1: order-independent).

Dev sets (the cut-off was chosen on these): banking77, saas, ru_telecom, pl_shop. Held out: the others.
``--timing`` times both groupings on 2,000 and 10,000 unanswered English questions (WordLlama + stems) and
2,000 Russian ones (stems), in the same run.
"""
from __future__ import annotations

import argparse
import os
import warnings
import random
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plugins.kb_suggest import gaps  # noqa: E402
from plugins.kb_suggest.analysis import stems  # noqa: E402
from plugins.kb_suggest.articles import load_jsonl  # noqa: E402
from plugins.kb_suggest.embeddings import embedder  # noqa: E402
from plugins.kb_suggest.engine import KnowledgeBase  # noqa: E402
from plugins.kb_suggest.evaluate import load_queries  # noqa: E402

try:
    from sklearn.metrics import adjusted_rand_score, v_measure_score
except ImportError:
    sys.exit("needs scikit-learn for the scores: pip install --target /tmp/sk scikit-learn, then PYTHONPATH=/tmp/sk")

SHARED = Path(os.environ.get("LABELDESK_SHARED", ROOT.parent / "shared")) / "data" / "kb_eval"
DATA = ROOT / "benchmarks" / "data"
SPLITS = {"dev": {"banking77": SHARED / "banking77", "saas": DATA / "saas", "ru_telecom": DATA / "ru_telecom",
                  "pl_shop": DATA / "pl_shop"},
          "heldout": {"bitext": SHARED / "bitext", "delivery": DATA / "delivery", "smarthome": DATA / "smarthome",
                      "courses": DATA / "courses", "payroll": DATA / "payroll", "clinic": DATA / "clinic",
                      "ru_bank": DATA / "ru_bank", "ru_cinema": DATA / "ru_cinema", "pl_fitness": DATA / "pl_fitness"}}
OUT_SHARE = {"gate": 0.3, "all": 0.5}


def baseline_module(tree: Path):
    """The baseline tree's gaps.py, run here (its one relative import pointed at this tree's analysis, unchanged)."""
    source = (tree / "plugins" / "kb_suggest" / "gaps.py").read_text(encoding="utf-8")
    namespace: dict = {"__name__": "baseline_gaps"}
    exec(compile(source.replace("from .analysis import", "from plugins.kb_suggest.analysis import"),
                 "baseline gaps.py", "exec"), namespace)
    return SimpleNamespace(**namespace)


def greedy_groups(questions, embed, baseline) -> list[list[int]]:
    """The baseline's greedy pass (similarity = its WORDS, MEANING), keeping which question joined which group;
    checked against the baseline module's own counts and examples."""
    english = [text for text, language in questions if language == "en"]
    vectors = dict(zip(english, embed(english))) if embed and english else {}
    groups: list[dict] = []
    for index, (text, language) in enumerate(questions):
        terms = set(stems(text, language))
        if not terms:
            continue
        vector = vectors.get(text) if language == "en" else None
        best, best_score = None, 0.0
        for group in groups:
            if group["language"] != language:
                continue
            jaccard = len(terms & group["terms"]) / len(terms | group["terms"])
            score = jaccard if jaccard >= baseline.WORDS else 0.0
            if vector is not None and group["vector"] is not None:
                cosine = float(group["vector"] @ vector) / (float(np.linalg.norm(group["vector"])) or 1.0)
                score = max(score, cosine if cosine >= baseline.MEANING else 0.0)
            if score > best_score:
                best, best_score = group, score
        if best is not None:
            best["members"].append(index)
            best["terms"] |= terms
            if vector is not None and best["vector"] is not None:
                best["vector"] = best["vector"] + vector
        else:
            groups.append({"members": [index], "example": text.strip()[:200], "language": language,
                           "terms": set(terms), "vector": None if vector is None else np.array(vector)})
    shown = baseline.group_questions(questions, embed=embed)
    mine = sorted(groups, key=lambda g: -len(g["members"]))
    assert [(g["count"], g["example"]) for g in shown] == [(len(g["members"]), g["example"]) for g in mine]
    return [g["members"] for g in groups]


def unanswered_run(path: Path, seed: int, mode: str):
    """(questions, true intent of each, whether each is a true gap, English model loaded) for one seed."""
    articles = load_jsonl(path / "articles.jsonl")
    queries = load_queries(path / "queries.jsonl")
    rng = random.Random(seed)
    ids = sorted(a.id for a in articles)
    out = set(rng.sample(ids, round(OUT_SHARE[mode] * len(ids))))
    kb = KnowledgeBase([a for a in articles if a.id not in out])
    if mode == "gate":
        asked = [SimpleNamespace(question=q.text, language=q.lang, query=q) for q in queries]
        left_texts = Counter(gaps.unanswered(asked, kb))
        left = []
        for q in queries:  # the gate's answer per question, whatever the text's repeats
            if left_texts[(q.text, q.lang)] > 0:
                left_texts[(q.text, q.lang)] -= 1
                left.append(q)
    else:
        left = [q for q in queries if not q.expected or set(q.expected) <= out]
    rng.shuffle(left)
    return ([(q.text, q.lang) for q in left], [q.expected[0] if q.expected else f"out:{q.id}" for q in left],
            [bool(q.expected) and set(q.expected) <= out for q in left], "wordllama" in kb.models)


def labels_of(groups: list[list[int]], size: int) -> np.ndarray:
    labels = np.full(size, -1)
    for number, members in enumerate(groups):
        labels[members] = number
    return labels


def scores(groups: list[list[int]], truth: list[str], is_gap: list[bool]) -> dict:
    labels = labels_of(groups, len(truth))
    kept = [i for i in range(len(truth)) if labels[i] >= 0]  # a question without a content word is in no group
    true, found = [truth[i] for i in kept], [labels[i] for i in kept]
    ordered = sorted(groups, key=len, reverse=True)
    majority = [Counter(truth[i] for i in members).most_common(1)[0] for members in ordered]
    gap_sizes = Counter(truth[i] for i in kept if is_gap[i])
    targets = {intent for intent, n in gap_sizes.items() if n >= 2}
    best: dict[str, int] = {}
    for members, (intent, _) in zip(ordered, majority):
        if intent in targets and len(members) >= 2 and intent not in best:
            best[intent] = len(members)
    top = [intent for intent, _ in majority[:10]]
    on_gaps = [i for i in kept if is_gap[i]]
    return {"ari": adjusted_rand_score(true, found), "v": v_measure_score(true, found),
            "ari_gaps": adjusted_rand_score([truth[i] for i in on_gaps], [labels[i] for i in on_gaps]),
            "purity": sum(n for _, n in majority) / max(len(kept), 1),
            "found": len(best) / len(targets) if targets else float("nan"),
            "top10": len(set(top)), "top10_gaps": len(set(top) & targets),
            "count_error": np.mean([abs(best[t] - gap_sizes[t]) / gap_sizes[t] for t in best]) if best else float("nan"),
            "questions": len(truth), "true_gaps": sum(is_gap), "groups": len(groups)}


def order_agreement(group, questions) -> float:
    forward = labels_of(group(questions), len(questions))
    backward = labels_of(group(questions[::-1]), len(questions))[::-1]
    return adjusted_rand_score(forward, backward)


def measure(split: str, seeds: int, baseline, mode: str) -> None:
    embed = embedder("wordllama").embed
    groupings = {"before": lambda q, e: greedy_groups(q, e, baseline), "after": lambda q, e: gaps.question_groups(q, e)}
    keys = ("ari", "ari_gaps", "v", "purity", "found", "top10", "top10_gaps", "count_error", "order")
    print(f"\n{split}, {mode} ({OUT_SHARE[mode]:.0%} of the articles out{', the gate' if mode == 'gate' else ', no gate'}),"
          f" mean of {seeds} seeds")
    print("set        | questions (true gaps) | grouping | ARI   | ARI, gaps | V     | purity | gaps found | top 10: intents / gaps "
          "| count error | order")
    for name, path in SPLITS[split].items():
        if not path.exists():
            print(f"{name}: not here ({path})")
            continue
        runs = [unanswered_run(path, seed, mode) for seed in range(seeds)]
        for label, group in groupings.items():
            rows = []
            for questions, truth, is_gap, english_model in runs:
                e = embed if english_model else None
                rows.append({**scores(group(questions, e), truth, is_gap),
                             "order": order_agreement(lambda q: group(q, e), questions)})
            mean = {k: float(np.nanmean([r[k] for r in rows])) for k in (*keys, "questions", "true_gaps")}
            print(f"{name:<10} | {mean['questions']:>6.0f} ({mean['true_gaps']:>5.0f})        | {label:<8} | "
                  f"{mean['ari']:.3f} | {mean['ari_gaps']:.3f}     | {mean['v']:.3f} | {mean['purity']:.2f}   | {mean['found']:.2f}       | "
                  f"{mean['top10']:.1f} / {mean['top10_gaps']:.1f}             | {mean['count_error']:.2f}        | "
                  f"{mean['order']:.2f}", flush=True)


def timing(baseline) -> None:
    embed = embedder("wordllama").embed
    english = [(q.text, "en") for path in [*SPLITS["dev"].values(), *SPLITS["heldout"].values()] if path.exists()
               for q in load_queries(path / "queries.jsonl") if q.lang == "en"]
    russian = [(q.text, "ru") for path in (DATA / "ru_telecom", DATA / "ru_bank", DATA / "ru_cinema")
               for q in load_queries(path / "queries.jsonl")]
    rng = random.Random(0)
    print("\nquestions         | before (greedy) | after (average linkage) | after's peak memory")
    for label, pool, size in (("English", english, 2000), ("English", english, 10000), ("Russian", russian, 2000)):
        questions = rng.sample(pool, min(size, len(pool))) + rng.choices(pool, k=max(0, size - len(pool)))
        e = embed if label == "English" else None
        started = time.perf_counter()
        baseline.group_questions(questions, embed=e)
        before = time.perf_counter() - started
        started = time.perf_counter()
        gaps.group_questions(questions, embed=e)
        after = time.perf_counter() - started
        tracemalloc.start()
        gaps.group_questions(questions, embed=e)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"{size:>6,} {label:<10} | {before:>13.2f} s | {after:>21.2f} s | {peak / 2**20:>6.0f} MB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "heldout", "both"), default="both")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--mode", choices=("gate", "all", "both"), default="both")
    parser.add_argument("--baseline", type=Path, required=True, help="a worktree of the commit before (git worktree add)")
    parser.add_argument("--timing", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore", RuntimeWarning)  # a mean over seeds that found no gap is n/a
    baseline = baseline_module(args.baseline)
    for split in (("dev", "heldout") if args.split == "both" else (args.split,)):
        for mode in (("gate", "all") if args.mode == "both" else (args.mode,)):
            measure(split, args.seeds, baseline, mode)
    if args.timing:
        timing(baseline)


if __name__ == "__main__":
    main()
