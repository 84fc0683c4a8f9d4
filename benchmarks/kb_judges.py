"""Which signal should decide that a suggestion is confident? Candidate judges for the gate, compared
at one operating point: recall@3 when 80% of out-of-scope questions (the other shared set's) get no
suggestion, and the share of held-out generic off-topic questions rejected at that gate.

The shipped judge is the top articles' WordLlama similarity less half the question's mean similarity to
all the articles (a gate that rises for questions resembling every article); see benchmarks/RESULTS.md.

    python benchmarks/kb_judges.py [--shared ../shared]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from plugins.kb_suggest.articles import load_jsonl  # noqa: E402
from plugins.kb_suggest.embeddings import embedder  # noqa: E402
from plugins.kb_suggest.engine import (  # noqa: E402
    LIFT,
    MIX,
    KnowledgeBase,
    _sentences,
    informativeness,
)

CANDIDATES = 9  # the engine looks at the best 3 × 3 fused candidates
MARGIN = 0.1  # runners-up within this of the gate are offered once one article is confident


def judges(kb: KnowledgeBase):
    """A function: question → (candidate article indexes, {judge name: confidence per candidate})."""
    model = embedder("wordllama")
    vectors = kb.vectors["wordllama"]
    mean = vectors.mean(axis=0)
    centred = vectors - mean
    centred /= np.linalg.norm(centred, axis=1, keepdims=True)
    sentences = [model.embed(_sentences(a.text) or [a.title]) for a in kb.articles]
    titles = model.embed([a.title for a in kb.articles])
    vocabulary = {t for doc in kb.word_docs for t in doc}
    prefixes = {t[:5] for t in vocabulary if len(t) >= 5}

    def judge(text: str):
        text = kb.spelling.correct(text, "en")
        question = model.embed([text])[0]
        similarity = vectors @ question
        order = np.argsort(-kb._fuse(text, "en", {"wordllama": similarity}, MIX[("wordllama",)]))[:CANDIDATES]
        q_centred = (question - mean) / np.linalg.norm(question - mean)
        best_sentence = np.array([(sentences[i] @ question).max() for i in order])
        weights = informativeness(text, "en")
        known = sum(w for t, w in weights.items() if t in vocabulary or t[:5] in prefixes) / (sum(weights.values()) or 1)
        article = similarity[order]
        return order, {
            "article, flat gate (before)": article,
            "article - 0.5 x mean similarity (shipped)": article - LIFT["wordllama"] * similarity.mean(),
            "centred on the KB mean": (centred @ q_centred)[order],
            "z-score among articles": (similarity[order] - similarity.mean()) / (similarity.std() + 1e-9),
            "best sentence": best_sentence,
            "article + best sentence": 0.5 * article + 0.5 * best_sentence,
            "title": (titles @ question)[order],
            "article + 0.1 x KB word share": article + 0.1 * known,
        }
    return judge


def gated_recall(judged, expected, name: str, gate: float, ids: list[str]) -> float:
    found = 0
    for (order, scores), wanted in zip(judged, expected):
        hits: list[str] = []
        for position, index in enumerate(order):
            if scores[name][position] < gate - (MARGIN if hits and name != "z-score among articles" else 0.0):
                continue
            hits.append(ids[index])
            if len(hits) == 3:
                break
        found += any(w in hits for w in wanted)
    return found / len(expected)


def compare(shared: Path, name: str, other: str, generic: list[str]) -> dict:
    kb = KnowledgeBase(load_jsonl(shared / name / "articles.jsonl"), semantic="static")
    ids = [a.id for a in kb.articles]
    judge = judges(kb)
    read = lambda set_name: [json.loads(line) for line in (shared / set_name / "queries.jsonl").open()]  # noqa: E731
    in_scope = read(name)[::2]
    judged = [judge(q["text"]) for q in in_scope]
    outside = [judge(q["text"])[1] for q in read(other)[::4]]
    held_out = [judge(text)[1] for text in generic]
    results = {}
    for judge_name in judged[0][1]:
        top = np.array([scores[judge_name].max() for scores in outside])
        gate = float(np.quantile(top, 0.8))
        rejected = float(np.mean([scores[judge_name].max() < gate for scores in held_out]))
        recall = gated_recall(judged, [q["expected"] for q in in_scope], judge_name, gate, ids)
        results[judge_name] = {"recall@3": round(recall, 3), "generic rejected": round(rejected, 3)}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parent.parent.parent / "shared"))
    args = parser.parse_args()
    shared = Path(args.shared) / "data" / "kb_eval"
    generic_file = Path(__file__).parent / "data" / "generic_off_topic.txt"
    generic = [line.strip() for line in generic_file.read_text().splitlines() if line.strip() and not line.startswith("#")]
    table = {name: compare(shared, name, other, generic) for name, other in (("banking77", "bitext"), ("bitext", "banking77"))}
    print(f"{'judge':32} {'banking77':>10} {'bitext':>10}   (recall@3 at 80% out-of-scope rejected)")
    for judge_name in table["banking77"]:
        print(f"{judge_name:32} {table['banking77'][judge_name]['recall@3']:>10} {table['bitext'][judge_name]['recall@3']:>10}")
    print(json.dumps(table))


if __name__ == "__main__":
    main()
