"""Research: a learned ranking function over per-(question, article) features, re-ranking the default ranker's
fused top K, against the default (hand-set 0.3 lexical / 0.7 WordLlama fusion) — `python benchmarks/kb_learned.py
extract|folds|ship|gated|speed`.

Nothing here changes the engine. For each English question the default ranker's own steps are replayed
(spelling correction, WordLlama similarity, the two bm25s indexes, the fused score; checked against
``KnowledgeBase.search(threshold=0)``), and for each of its fused top ``K`` articles these features are recorded:

* ``fused`` — the default ranker's score (so the model can only start from it);
* ``word_n`` / ``gram_n`` — the stem and 4-gram bm25 scores ÷ the question's best; ``word_log`` / ``gram_log``
  — log(1 + raw score) ÷ log(2 + the question's term count) (raw scale differs by question length);
* ``cos`` — WordLlama similarity to the whole article (title + text, as the engine embeds it); ``cos_gap`` — less
  the question's best; ``cos_lift`` — less its mean over all articles (the gate's lift);
* ``title_cos`` — similarity to the title alone; ``pass_max`` / ``pass_top2`` — to the article's best sentence and
  the mean of its best two (the engine's sentence split; the title when it has none);
* ``coverage`` — the gate's rarity-weighted word coverage; ``title_cov`` — the same against the title's stems;
  ``title_grams`` — share of the question's 4-grams found in the title;
* ``rank_word`` / ``rank_gram`` / ``rank_cos`` / ``rank_fused`` — log(1 + rank) of each signal among the K.

A linear scorer w·x (features standardised) is trained with a listwise softmax loss (the positive article against
the other K candidates; ``--loss listwise``, the default), a pairwise logistic loss (``pairwise``) or a logistic loss
on the margin over the third-best other candidate (``top3``, recall@3's own condition), L2-regularised, by L-BFGS
(scipy); each training set weighs the same. Shipped, it would be 54 numbers in a JSON file (mean, scale and weight
per feature). ``--loss trees`` is LightGBM's lambdarank instead (research only, hundreds of numbers; run with
lightgbm importable, e.g. ``pip install --target /tmp/lgb lightgbm`` and ``PYTHONPATH=/tmp/lgb``).

Protocols (the default measured in the same run, ungated recall@1 / recall@3 / MRR@5 over the re-ranked list):

* ``folds`` — cross-set transfer: train banking77 + saas, delivery, smarthome, courses → test bitext; train bitext +
  the same four → test banking77; and leave-one-out over those four with banking77 + bitext in training. payroll
  and clinic are never used here.
* ``ship`` — train on banking77 + bitext only (all their questions); test on saas, delivery, smarthome, courses,
  payroll, clinic. ``--write PATH`` stores the model (``gated`` and ``speed`` read /tmp/kb_learned/model.json).
* ``ceiling`` — the share of questions whose article is in the top K at all, and a model fitted on the set it is
  tested on (an upper bound of what these features can give, not a result).
* ``gated`` — ``KnowledgeBase.search`` with its calibrated gate, the default and the learned ranker (installed by
  wrapping ``KnowledgeBase._fuse``: the gate's calibration sees the learned order too, as it would if shipped):
  recall, what acknowledgements link, out-of-scope rejection by kind (banking77 / bitext: every ``--every``-th
  question; the other set's every 12th as other business, generic_off_topic_2 as generic).
* ``speed`` — ``kb_eval.speed`` for the default and the learned ranker, alternating (``--pairs``). The features are
  benchmark code (bm25 scored twice, Python per candidate), an upper bound of a shipped version's cost.

Cached features live in /tmp/kb_learned (``extract`` rebuilds them).
"""
from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import plugins.kb_suggest.engine as engine  # noqa: E402
from plugins.kb_suggest.analysis import content_words, ngrams, stems  # noqa: E402
from plugins.kb_suggest.articles import load_jsonl  # noqa: E402
from plugins.kb_suggest.embeddings import embedder  # noqa: E402
from plugins.kb_suggest.evaluate import load_queries, metrics  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "kb_eval"
DATA = ROOT / "benchmarks" / "data"
DEV = ("banking77", "bitext")
HELD = ("saas", "delivery", "smarthome", "courses")
BLIND = ("payroll", "clinic")
CACHE = Path("/tmp/kb_learned")
K = 20
FEATURES = ("fused", "word_n", "gram_n", "word_log", "gram_log", "cos", "cos_gap", "cos_lift", "title_cos",
            "pass_max", "pass_top2", "coverage", "title_cov", "title_grams", "rank_word", "rank_gram", "rank_cos",
            "rank_fused")


def load_set(name: str):
    folder = SHARED / name if (SHARED / name).exists() else DATA / name
    return load_jsonl(folder / "articles.jsonl"), load_queries(folder / "queries.jsonl")


class Extras:
    """What the features need beyond the engine's index: title vectors, sentence vectors, title stems and 4-grams."""

    def __init__(self, kb: engine.KnowledgeBase):
        model = embedder("wordllama")
        articles = kb.articles
        self.titles = model.embed([a.title for a in articles])
        self.title_stems = [set(stems(a.title, a.lang)) for a in articles]
        self.title_grams = [set(ngrams(a.title, a.lang)) for a in articles]
        sentences, owner = [], []
        for number, article in enumerate(articles):
            found = [s for s in engine._sentences(article.text) if s.casefold() != article.title.casefold()]
            sentences += found or [article.title]
            owner += [number] * len(found or [article.title])
        self.sentences = model.embed(sentences)
        self.owner = np.array(owner)
        self.starts = np.searchsorted(self.owner, np.arange(len(articles)))
        self.ends = np.searchsorted(self.owner, np.arange(len(articles)), side="right")


def extras(kb: engine.KnowledgeBase) -> Extras:
    if "_learned_extras" not in kb.__dict__:
        kb._learned_extras = Extras(kb)
    return kb._learned_extras


def features(kb: engine.KnowledgeBase, text: str, cos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The default ranker's fused scores (English, WordLlama), its top K and their features (K × FEATURES)."""
    more = extras(kb)
    query_stems, query_grams = stems(text, "en"), ngrams(text, "en")
    word = kb._scores(kb.word_index, query_stems)
    gram = kb._scores(kb.gram_index, query_grams)
    mix = engine.MIX[("wordllama",)]
    fused = mix["lexical"] * (engine.WORD_WEIGHT * engine._normalise(word) +
                              engine.NGRAM_WEIGHT * engine._normalise(gram))
    fused = fused + mix["wordllama"] * engine._normalise(np.clip(cos, 0, None))
    top = engine._best(fused, K)
    top = top[fused[top] > 0]
    weights = engine.informativeness(text, "en")
    total = sum(weights.values()) or 1.0
    grams = set(query_grams)
    vector = kb._learned_question
    rows = []
    for i in top:
        passage = np.sort(more.sentences[more.starts[i]:more.ends[i]] @ vector)[::-1]
        rows.append([
            fused[i], word[i] / max(word.max(), 1e-9), gram[i] / max(gram.max(), 1e-9),
            np.log1p(word[i]) / np.log(2 + len(set(query_stems))), np.log1p(gram[i]) / np.log(2 + len(grams)),
            cos[i], cos[i] - cos.max(), cos[i] - cos.mean(), float(more.titles[i] @ vector),
            passage[0], passage[:2].mean(), kb._coverage(weights, i)[0],
            sum(w for t, w in weights.items() if t in more.title_stems[i]) / total,
            len(grams & more.title_grams[i]) / max(len(grams), 1), 0, 0, 0, 0])
    x = np.array(rows, dtype=np.float64).reshape(len(rows), len(FEATURES))
    for column, source in ((14, word[top]), (15, gram[top]), (16, cos[top]), (17, fused[top])):
        x[:, column] = np.log1p(np.argsort(np.argsort(-source, kind="stable"), kind="stable"))
    return fused, top, x


class Extractor:
    """The default ranker's steps for one knowledge base, and the features of its fused top K."""

    def __init__(self, articles):
        self.kb = engine.KnowledgeBase(articles, semantic="static")

    def question(self, text: str) -> dict:
        kb = self.kb
        text = kb.spelling.correct(text, "en")
        kb._learned_question = kb.embed_question(text, ("wordllama",))["wordllama"]
        cos = kb.vectors["wordllama"] @ kb._learned_question
        _, top, x = features(kb, text, cos)
        return {"top": top, "x": x}


def extract(names) -> None:
    CACHE.mkdir(exist_ok=True)
    for name in names:
        articles, queries = load_set(name)
        ids = [a.id for a in articles]
        began = time.perf_counter()
        extractor = Extractor(articles)
        records = []
        for query in queries:
            if not query.expected or query.lang != "en" or not content_words(query.text, "en"):
                continue
            found = extractor.question(query.text)
            records.append({"id": query.id, "expected": query.expected, "ids": [ids[i] for i in found["top"]],
                            "x": found["x"]})
        (CACHE / f"{name}.pkl").write_bytes(pickle.dumps(records))
        print(f"{name}: {len(records)} questions, {time.perf_counter() - began:.1f} s", flush=True)


def load(name: str) -> list[dict]:
    return pickle.loads((CACHE / f"{name}.pkl").read_bytes())


# --- the model ---------------------------------------------------------------------------------------------------

def _design(records, features):
    columns = [FEATURES.index(f) for f in features]
    return [(r["x"][:, columns], np.array([i in r["expected"] for i in r["ids"]])) for r in records]


def train(groups_by_set: list[list], features, loss: str = "listwise", l2: float = 1.0) -> dict:
    """A linear scorer over standardised ``features``: each set weighs the same, each question within it too."""
    groups, weights = [], []
    for records in groups_by_set:
        usable = [(x, y) for x, y in _design(records, features) if y.any() and not y.all()]
        groups += usable
        weights += [1.0 / len(usable)] * len(usable)
    stacked = np.vstack([x for x, _ in groups])
    mean, scale = stacked.mean(axis=0), stacked.std(axis=0)
    scale[scale == 0] = 1.0
    groups = [((x - mean) / scale, y) for x, y in groups]
    weights = np.array(weights) / sum(weights)

    def objective(w):
        value, grad = 0.5 * l2 * w @ w / len(groups), l2 * w / len(groups)
        for (x, y), weight in zip(groups, weights):
            s = x @ w
            if loss == "listwise":  # softmax over the candidates; every answering article counts as right
                p = np.exp(s - s.max())
                p /= p.sum()
                good = p[y].sum()
                value -= weight * np.log(good)
                grad -= weight * (x[y].T @ p[y] / good - x.T @ p)
            elif loss == "top3":  # the best answering article above the third-best other candidate (recall@3)
                pos = np.flatnonzero(y)[np.argmax(s[y])]
                others = np.flatnonzero(~y)
                third = others[np.argsort(-s[others])[:3][-1]]
                margin = s[pos] - s[third]
                value += weight * np.logaddexp(0, -margin)
                grad -= weight * (x[pos] - x[third]) / (1 + np.exp(margin))
            else:  # pairwise logistic: each answering article above each other candidate
                diff = (x[y][:, None, :] - x[~y][None, :, :]).reshape(-1, x.shape[1])
                margin = diff @ w
                value += weight * np.logaddexp(0, -margin).mean()
                grad -= weight * (diff.T @ (1 / (1 + np.exp(margin)))) / len(margin)
        return value, grad

    result = minimize(objective, np.zeros(len(features)), jac=True, method="L-BFGS-B")
    return {"features": list(features), "mean": mean.tolist(), "scale": scale.tolist(), "weights": result.x.tolist()}


def score(model, x: np.ndarray) -> np.ndarray:
    if callable(model):
        return model(x)
    columns = [FEATURES.index(f) for f in model["features"]]
    return ((x[:, columns] - np.array(model["mean"])) / np.array(model["scale"])) @ np.array(model["weights"])


def train_trees(groups_by_set: list[list], features, trees: int = 200, leaves: int = 7) -> callable:
    """LightGBM's lambdarank (research only: ``pip install lightgbm``; hundreds of numbers, not a shippable table)."""
    import lightgbm

    columns = [FEATURES.index(f) for f in features]
    xs, ys, sizes, weights = [], [], [], []
    for records in groups_by_set:
        usable = [r for r in records if any(i in r["expected"] for i in r["ids"])]
        for r in usable:
            xs.append(r["x"][:, columns])
            ys.append(np.array([i in r["expected"] for i in r["ids"]], dtype=int))
            sizes.append(len(r["ids"]))
        weights += [1.0 / len(usable)] * len(usable)
    data = lightgbm.Dataset(np.vstack(xs), np.concatenate(ys), group=sizes,
                            weight=np.repeat(np.array(weights) * len(weights), sizes))
    booster = lightgbm.train({"objective": "lambdarank", "lambdarank_truncation_level": 5, "eval_at": [3],
                              "num_leaves": leaves, "learning_rate": 0.05, "min_data_in_leaf": 50, "verbose": -1,
                              "num_threads": 1, "seed": 1}, data, num_boost_round=trees)
    return lambda x: booster.predict(x[:, columns], num_threads=1)


def measure(records, model: dict | None) -> dict:
    r1 = r3 = mrr = 0.0
    found3 = []
    for r in records:
        order = np.argsort(-score(model, r["x"]), kind="stable") if model else np.arange(len(r["ids"]))
        ranked = [r["ids"][i] for i in order][:5]
        hits = [rank for rank, a in enumerate(ranked, 1) if a in r["expected"]]
        r1 += bool(hits) and hits[0] == 1
        r3 += bool(hits) and hits[0] <= 3
        found3.append(bool(hits) and hits[0] <= 3)
        mrr += 1 / hits[0] if hits else 0.0
    n = len(records)
    return {"recall@1": round(r1 / n, 4), "recall@3": round(r3 / n, 4), "mrr@5": round(mrr / n, 4), "n": n,
            "found3": np.array(found3)}


def row(name: str, base: dict, learned: dict) -> str:
    cells = " | ".join(f"{base[k]:.3f} → **{learned[k]:.3f}**" for k in ("recall@1", "recall@3", "mrr@5"))
    gained = int((learned["found3"] & ~base["found3"]).sum())
    lost = int((base["found3"] & ~learned["found3"]).sum())
    return f"| {name} | {cells} | {gained} / {lost} |"


FEATURE_SETS = {
    "all": FEATURES,
    "no_passages": tuple(f for f in FEATURES if not f.startswith("pass")),
    "cheap": ("fused", "word_n", "gram_n", "word_log", "gram_log", "cos", "cos_gap", "cos_lift", "title_cos",
              "coverage", "title_cov", "title_grams"),
    "no_ranks": tuple(f for f in FEATURES if not f.startswith("rank")),
}


def fit(groups_by_set, features, loss: str, l2: float):
    if loss == "trees":
        return train_trees(groups_by_set, features)
    return train(groups_by_set, features, loss, l2)


def folds(features, loss: str, l2: float) -> None:
    """Cross-set transfer: each test set's family never in training."""
    data = {name: load(name) for name in DEV + HELD}
    plans = [(("banking77", *HELD), "bitext"), (("bitext", *HELD), "banking77")]
    plans += [(tuple(n for n in DEV + HELD if n != held), held) for held in HELD]
    totals = {"base": [], "learned": [], "base1": [], "learned1": []}
    for training, test in plans:
        model = fit([data[n] for n in training], features, loss, l2)
        base, learned = measure(data[test], None), measure(data[test], model)
        totals["base"].append(base["recall@3"])
        totals["learned"].append(learned["recall@3"])
        totals["base1"].append(base["recall@1"])
        totals["learned1"].append(learned["recall@1"])
        print(row(f"{test} (trained on {', '.join(training)})", base, learned), flush=True)
    print(f"mean recall@1 {np.mean(totals['base1']):.4f} → {np.mean(totals['learned1']):.4f}, "
          f"recall@3 {np.mean(totals['base']):.4f} → {np.mean(totals['learned']):.4f}")


def ceiling(features, loss: str, l2: float) -> None:
    """What no re-ranker of the top K can pass, and a model trained on the very set it is tested on (an upper bound,
    not a result)."""
    for name in DEV + HELD:
        records = load(name)
        within = np.mean([any(i in r["expected"] for i in r["ids"]) for r in records])
        fitted = measure(records, fit([records], features, loss, l2))
        print(f"| {name} | {within:.3f} | {fitted['recall@1']:.3f} / {fitted['recall@3']:.3f} |", flush=True)


def ship(features, loss: str, l2: float, write: str | None) -> None:
    model = fit([load(n) for n in DEV], features, loss, l2)
    for name in DEV + HELD + BLIND:
        print(row(name + (" (trained on)" if name in DEV else ""), measure(load(name), None),
                  measure(load(name), model)), flush=True)
    if isinstance(model, dict):
        print(json.dumps({f: round(w, 3) for f, w in zip(model["features"], model["weights"])}))
    if write:
        Path(write).write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")


# --- the learned ranker inside the engine (gate, calibration and speed as if shipped) ------------------------------

LEARNED: dict | None = None  # the model re-ranking the fused top K; None: the default ranker
_original_fuse = engine.KnowledgeBase._fuse
_original_embed = engine.KnowledgeBase.embed_question


def _embed(self, text, models):
    question = _original_embed(self, text, models)
    self._learned_question = question.get("wordllama")
    return question


def _fuse(self, text, language, similarity, mix):
    if LEARNED is None or language != "en" or set(similarity) != {"wordllama"}:
        return _original_fuse(self, text, language, similarity, mix)
    if getattr(self, "_learned_question", None) is None or \
            not np.allclose(self.vectors["wordllama"] @ self._learned_question, similarity["wordllama"], atol=1e-5):
        self._learned_question = embedder("wordllama").embed([text])[0]  # the calibration's questions
    fused, top, x = features(self, text, similarity["wordllama"])
    self._learned_question = None
    if top.size < 2:
        return fused
    learned = score(LEARNED, x)
    fused = fused.copy()  # the K re-ranked above every other article, in the model's order
    fused[top] = 1.0 + 1.0 / (1.0 + np.exp(-learned))
    return fused


engine.KnowledgeBase._fuse = _fuse
engine.KnowledgeBase.embed_question = _embed


def out_of_scope(name: str, every: int):
    """(in-scope questions, {kind: out-of-scope questions}) for one set."""
    from plugins.kb_suggest.evaluate import Query
    _, queries = load_set(name)
    if name in DEV:
        other = load_set(DEV[1 - DEV.index(name)])[1]
        generic = (DATA / "generic_off_topic_2.txt").read_text(encoding="utf-8").splitlines()
        return queries[::every], {"other_business": [q for q in other[::12] if q.expected],
                                  "generic": [Query(f"g{n}", t.strip(), "en", ()) for n, t in enumerate(generic)
                                              if t.strip() and not t.startswith("#")]}
    kind_of = {str(item["id"]): item.get("kind", "gap") for item in map(json.loads, (
        (DATA / name / "queries.jsonl").read_text(encoding="utf-8").splitlines())) if item}
    kinds = {}
    for q in queries:
        if not q.expected:
            kinds.setdefault(kind_of[q.id], []).append(q)
    return [q for q in queries if q.expected], kinds


def gated(model: dict, names, every: int) -> None:
    """``KnowledgeBase.search`` with its calibrated gate, the default and the learned ranker (calibrated with it)."""
    global LEARNED
    print("| set | ranker | recall@1 | recall@3 | MRR@5 | customers' recall@3 | rejected: " +
          " / ".join(("generic", "other business", "gap")) + " | gate |")
    for name in names:
        articles, _ = load_set(name)
        questions, kinds = out_of_scope(name, every)
        for label, setting in (("default", None), ("learned", model)):
            LEARNED = setting
            kb = engine.KnowledgeBase(articles, semantic="static")
            hits = [kb.search(q.text, q.lang, limit=3) for q in questions]
            ranked = [[h.article.id for h in found] for found in hits]
            linked = [[h.article.id for h in found if h.for_customers] for found in hits]
            got, linked_got = metrics(ranked, questions, []), metrics(linked, questions, [])
            rejected = [f"{sum(not kb.search(q.text, q.lang, limit=3) for q in kinds[k]) / len(kinds[k]):.3f}"
                        if kinds.get(k) else "—" for k in ("generic", "other_business", "gap")]
            print(f"| {name} | {label} | {got['recall@1']:.3f} | {got['recall@3']:.3f} | {got['mrr@5']:.3f} | "
                  f"{linked_got['recall@3']:.3f} | {' / '.join(rejected)} | {kb.gates['wordllama']} |", flush=True)
        LEARNED = None


def speed(model: dict, pairs: int) -> None:
    """``kb_eval.speed`` (1,000 synthetic articles; 10,000 to index), the default and the learned, alternating."""
    global LEARNED
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import kb_eval
    for _ in range(pairs):
        for label, setting in (("default", None), ("learned", model)):
            LEARNED = setting
            print(label, json.dumps(kb_eval.speed("static")), flush=True)
    LEARNED = None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=("extract", "folds", "ship", "ceiling", "gated", "speed"))
    parser.add_argument("--sets", default=",".join(DEV + HELD + BLIND))
    parser.add_argument("--features", default="all", help=f"one of {', '.join(FEATURE_SETS)} or a comma list")
    parser.add_argument("--loss", default="listwise", choices=("listwise", "pairwise", "top3", "trees"))
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--write")
    parser.add_argument("--model", default=str(CACHE / "model.json"), help="for gated and speed (ship --write)")
    parser.add_argument("--every", type=int, default=3, help="gated: every Nth banking77 / bitext question")
    parser.add_argument("--pairs", type=int, default=2)
    args = parser.parse_args()
    features = FEATURE_SETS.get(args.features) or tuple(args.features.split(","))
    if args.command == "extract":
        extract(args.sets.split(","))
    elif args.command == "folds":
        folds(features, args.loss, args.l2)
    elif args.command == "ceiling":
        ceiling(features, args.loss, args.l2)
    elif args.command == "ship":
        ship(features, args.loss, args.l2, args.write)
    elif args.command == "gated":
        gated(json.loads(Path(args.model).read_text(encoding="utf-8")), args.sets.split(","), args.every)
    else:
        speed(json.loads(Path(args.model).read_text(encoding="utf-8")), args.pairs)


if __name__ == "__main__":
    main()
