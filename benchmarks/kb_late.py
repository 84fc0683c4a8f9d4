"""Research: late interaction ("MaxSim", ColBERT-style) over WordLlama's own static token vectors as a re-ranking
signal on the fused top-K, and embedding-based query expansion for the lexical side, against the default ranker —
`python benchmarks/kb_late.py sweep|expand|gated|speed|fresh [--every N] [--heldout]`.

Nothing here changes the engine: the signals are installed by wrapping ``KnowledgeBase._fuse`` (so the calibration's
fused candidates see them too, as they would if shipped) and switched by the module-level ``LATE`` / ``EXPANSION``
settings. WordLlama's vectors are those the engine already loads (``embedder("wordllama").matrix``).

* Late interaction: each word (a question's content word, an article's distinct content word of title + tags + body,
  as the word index sees them) is the unit sum of its WordLlama token rows. For the fused top ``k`` articles of an
  English question with WordLlama, the article's score is the mean over the question's content words of the highest
  cosine to the article's words, weighted by the word's rarity in English (the engine's ``_information``: Zipf
  7.5 − frequency, at least 0.3) or unweighted. Normalised over the ``k`` candidates (``minmax``: (s − min) /
  (max − min); ``max``: s / max) and added to their fused score × ``weight`` (the others keep theirs, below).
* Query expansion: each question word the articles do not have (or fewer than ``rare`` articles have) adds its
  ``per_word`` nearest article words by the same word vectors (cosine ≥ ``floor``) to the word index's query, their
  bm25 scores × ``alpha``.

Commands (each measures the current default in the same run):

* ``sweep``  — the engine's ungated ranking (``threshold=0``), recall@1/@3 and MRR@5, for a grid of late-interaction
  settings on the dev sets (banking77, bitext, saas, delivery); ``--heldout`` adds smarthome and courses (report).
* ``expand`` — the same for query-expansion settings (late interaction off, or ``--late`` on top).
* ``compare`` — the default and one setting (``--late``, ``--expansion``), ungated, with a paired count of the
  questions each gains and loses.
* ``gated``  — the engine with its calibrated gate (WordLlama still judges): in-scope recall@3, recall@3 of what
  acknowledgements link, out-of-scope rejection by kind; the dev sets and the held-out sets.
* ``speed``  — ``kb_eval.speed`` for the default and the chosen setting, alternating (``--pairs``).
* ``fresh``  — the chosen setting and the default on the blind sets payroll and clinic (benchmarks/data; written
  as fresh_payroll / fresh_clinic, run once, never tuned on).

Settings are chosen on banking77 / bitext / saas / delivery only; smarthome and courses are held out.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import plugins.kb_suggest.engine as engine  # noqa: E402
from plugins.kb_suggest.analysis import _stem, content_words  # noqa: E402
from plugins.kb_suggest.articles import load_jsonl  # noqa: E402
from plugins.kb_suggest.embeddings import embedder  # noqa: E402
from plugins.kb_suggest.evaluate import Query, load_queries, metrics  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "kb_eval"
DATA = ROOT / "benchmarks" / "data"
DEV = ("banking77", "bitext", "saas", "delivery")
HELD_OUT = ("smarthome", "courses")
SUBSAMPLED = ("banking77", "bitext")  # --every thins only these (3,080 and 4,487 questions); the others are small


@dataclass(frozen=True)
class Late:
    weight: float = 0.0  # 0: off (the default ranker)
    k: int = 20
    idf: bool = True
    norm: str = "minmax"  # or "max", "raw" (the weighted mean cosine itself, not spread over the candidates)
    unit: str = "word"  # or "token": WordLlama's BPE tokens, each a question word's share (ColBERT's units)
    scope: str = "article"  # or "title": the title's and tags' words only


@dataclass(frozen=True)
class Expansion:
    alpha: float = 0.0  # 0: off
    per_word: int = 2
    floor: float = 0.5
    rare: int = 1  # expand words that fewer than this many articles hold (1: words no article has)


LATE = Late()
EXPANSION = Expansion()


class WordVectors:
    """A knowledge base's distinct article words (or tokens) as unit WordLlama vectors, and which each article holds."""

    def __init__(self, kb: engine.KnowledgeBase, unit: str = "word", scope: str = "article"):
        model = embedder("wordllama")
        self.model = model
        self.unit = unit
        self.vocabulary: dict[str, int] = {}
        self.members: list[np.ndarray] = []
        for article in kb.articles:
            if scope == "title":
                words = content_words(f"{article.title} {' '.join(article.tags)}", article.lang)
            else:
                words = kb.prepared[article.digest]["words"] or []
            keys = set(words) if unit == "word" else {str(t) for w in set(words) for t in model.token_ids(w)}
            self.members.append(np.array(sorted({self.vocabulary.setdefault(k, len(self.vocabulary))
                                                 for k in keys}), dtype=np.int64))
        self.words = list(self.vocabulary)
        if unit == "word":
            self.matrix = self.vectors(self.words)
        else:
            rows = model.matrix[[int(t) for t in self.words]] if self.words else np.zeros((0, model.dimensions))
            self.matrix = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)
        frequency = np.zeros(len(self.words), dtype=np.int64)
        for ids in self.members:
            frequency[ids] += 1
        self.frequency = frequency
        self.stems = [_stem(w, "en") for w in self.words] if unit == "word" else []

    def vectors(self, words: list[str]) -> np.ndarray:
        out = np.zeros((len(words), self.model.dimensions), dtype=np.float32)
        for row, word in enumerate(words):
            ids = self.model.token_ids(word)
            if ids:
                out[row] = self.model.matrix[ids].sum(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms

    def maxsim(self, text: str, candidates: np.ndarray, idf: bool) -> np.ndarray:
        """Per candidate article: the (rarity-weighted) mean over the question's words of their best cosine."""
        query = list(dict.fromkeys(content_words(text, "en")))
        if not query or not candidates.size:
            return np.zeros(candidates.size)
        weights = np.array([engine._information(w, "en") if idf else 1.0 for w in query])
        if self.unit == "token":  # each token a share of its word's weight
            tokens = [(t, weight / len(ids)) for w, weight in zip(query, weights)
                      for ids in [self.model.token_ids(w)] for t in ids]
            if not tokens:
                return np.zeros(candidates.size)
            rows = self.model.matrix[[t for t, _ in tokens]]
            weights = np.array([weight for _, weight in tokens])
        groups = [self.members[i] for i in candidates]
        lengths = np.array([g.size for g in groups])
        columns = np.concatenate(groups) if lengths.sum() else np.zeros(0, dtype=np.int64)
        if not columns.size:
            return np.zeros(candidates.size)
        vectors = self.vectors(query) if self.unit == "word" else \
            rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)
        if columns.size > len(self.words):  # the candidates hold most of the vocabulary: one product, then columns
            cosine = (vectors @ self.matrix.T)[:, columns]
        else:
            cosine = vectors @ self.matrix[columns].T  # question words × candidates' words
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        best = np.full((len(vectors), candidates.size), 0.0)
        filled = lengths > 0
        best[:, filled] = np.maximum.reduceat(cosine, starts[filled], axis=1)
        return (weights @ np.clip(best, 0, None)) / weights.sum()

    def expansion(self, text: str, settings: Expansion) -> list[tuple[str, float]]:
        """Article stems near the question's unknown or rare words, with their cosine."""
        query = [w for w in dict.fromkeys(content_words(text, "en")) if not w.isdigit()
                 and (w not in self.vocabulary or self.frequency[self.vocabulary[w]] < settings.rare)]
        if not query:
            return []
        cosine = self.vectors(query) @ self.matrix.T
        out = []
        for row, word in enumerate(query):
            own = _stem(word, "en")
            order = np.argsort(-cosine[row])[: settings.per_word * 3]
            picked = 0
            for column in order:
                if cosine[row, column] < settings.floor or picked == settings.per_word:
                    break
                if self.stems[column] != own:
                    out.append((self.stems[column], float(cosine[row, column])))
                    picked += 1
        return out


_original_fuse = engine.KnowledgeBase._fuse
_original_scores = engine.KnowledgeBase._scores


def word_vectors(kb: engine.KnowledgeBase, unit: str = "word", scope: str = "article") -> WordVectors:
    """Built once per knowledge base, unit and scope (lazily: the speed benchmark counts it at the first question)."""
    built = kb.__dict__.setdefault("_late_words", {})
    if (unit, scope) not in built:
        built[(unit, scope)] = WordVectors(kb, unit, scope)
    return built[(unit, scope)]


def _fuse(self, text, language, similarity, mix):
    fused = _scores_with_expansion(self, text, language, similarity, mix)
    settings = LATE
    if settings.weight <= 0 or language != "en" or "wordllama" not in similarity or not fused.any():
        return fused
    top = engine._best(fused, settings.k)
    top = top[fused[top] > 0]
    if top.size < 2:
        return fused
    raw = word_vectors(self, settings.unit, settings.scope).maxsim(text, top, settings.idf)
    if settings.norm == "raw":
        signal = raw
    elif settings.norm == "minmax":
        spread = raw.max() - raw.min()
        signal = (raw - raw.min()) / spread if spread > 0 else np.zeros_like(raw)
    else:
        signal = raw / raw.max() if raw.max() > 0 else raw
    fused = fused.copy()
    fused[top] += settings.weight * signal
    return fused


def _scores_with_expansion(self, text, language, similarity, mix):
    settings = EXPANSION
    if settings.alpha <= 0 or language != "en" or "wordllama" not in similarity:
        return _original_fuse(self, text, language, similarity, mix)
    extra = word_vectors(self).expansion(text, settings)
    if not extra:
        return _original_fuse(self, text, language, similarity, mix)
    added = np.zeros(len(self.articles))
    for stem, cosine in extra:
        added += cosine * self._scores(self.word_index, [stem])
    self._late_added = settings.alpha * added
    try:
        return _original_fuse(self, text, language, similarity, mix)
    finally:
        self._late_added = None


def _scores(self, index, query):
    scores = _original_scores(self, index, query)
    added = getattr(self, "_late_added", None)
    if added is not None and index is self.word_index:
        scores = scores + added
    return scores


engine.KnowledgeBase._fuse = _fuse
engine.KnowledgeBase._scores = _scores


def load_set(name: str):
    name = name.removeprefix("fresh_")  # the blind sets' names when they were measured, now benchmarks/data's
    folder = SHARED / name if (SHARED / name).exists() else DATA / name
    return load_jsonl(folder / "articles.jsonl"), load_queries(folder / "queries.jsonl"), folder


def kinds(folder: Path) -> dict[str, str]:
    lines = (json.loads(line) for line in (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip())
    return {str(item["id"]): item.get("kind", "in" if item.get("expected") else "other_business") for item in lines}


def _set_late(value: Late) -> None:
    global LATE
    LATE = value


def _set_expansion(value: Expansion) -> None:
    global EXPANSION
    EXPANSION = value


def ungated(sets: list[str], configs: list[tuple[Late, Expansion]], every: int) -> None:
    """Recall without a gate, one index per set, each configuration in turn on the same questions."""
    table = {i: [] for i in range(len(configs))}
    found = {}
    for name in sets:
        articles, queries, _ = load_set(name)
        queries = [q for q in queries if q.expected][::every if name in SUBSAMPLED else 1]
        kb = engine.KnowledgeBase(articles, threshold=0.0, semantic="static")
        for i, (late, expansion) in enumerate(configs):
            _set_late(late)
            _set_expansion(expansion)
            ranked = [[h.article.id for h in kb.search(q.text, q.lang, limit=5)] for q in queries]
            table[i].append(metrics(ranked, queries, []))
            found[i] = [[any(a in q.expected for a in row[:n]) for q, row in zip(queries, ranked)] for n in (1, 3)]
        print(f"# {name} done ({len(queries)} questions)", flush=True)
        if len(configs) == 2:
            print(f"# {name} paired, {label(*configs[1])} against the default: " + "; ".join(
                f"R@{n}: {sum(b and not a for a, b in zip(found[0][j], found[1][j]))} questions gained, "
                f"{sum(a and not b for a, b in zip(found[0][j], found[1][j]))} lost" for j, n in enumerate((1, 3))),
                flush=True)
    print("config | " + " | ".join(f"{s} R@1/R@3/MRR@5" for s in sets) + " | mean R@3 | mean dev R@3")
    for i, (late, expansion) in enumerate(configs):
        r3 = [m["recall@3"] for m in table[i]]
        dev = [m["recall@3"] for m, s in zip(table[i], sets) if s in DEV]
        cells = " | ".join(f"{m['recall@1']:.3f}/{m['recall@3']:.3f}/{m['mrr@5']:.3f}" for m in table[i])
        print(f"{label(late, expansion)} | {cells} | {np.mean(r3):.4f} | {f'{np.mean(dev):.4f}' if dev else '—'}",
              flush=True)


def label(late: Late, expansion: Expansion) -> str:
    parts = []
    if late.weight > 0:
        parts.append(f"late w={late.weight} k={late.k} idf={int(late.idf)} {late.norm} {late.unit} {late.scope}")
    if expansion.alpha > 0:
        parts.append(f"expand a={expansion.alpha} n={expansion.per_word} floor={expansion.floor} rare<{expansion.rare}")
    return " + ".join(parts) or "default"


def gated(sets: list[str], late: Late, expansion: Expansion, every: int) -> None:
    """With the calibrated gate: in-scope recall, what acknowledgements link, rejection by kind (banking77 and
    bitext: the other set's every 4th question as another business's, and both held-out generic lists)."""
    from kb_eval import generic_off_topic

    _set_late(late)
    _set_expansion(expansion)
    print(f"{label(late, expansion)}: set | R@1 | R@3 | MRR@5 | R@3 customers' bar | rejected by kind | gates")
    generic2 = [Query(f"generic2-{n}", line.strip(), "en", ()) for n, line in
                enumerate((DATA / "generic_off_topic_2.txt").read_text(encoding="utf-8").splitlines())
                if line.strip() and not line.startswith("#")]
    for name in sets:
        articles, queries, folder = load_set(name)
        kind_of = kinds(folder)
        queries = [q for q in queries if q.expected][::every if name in SUBSAMPLED else 1] + \
            [q for q in queries if not q.expected]
        if name in ("banking77", "bitext"):
            other = load_set("bitext" if name == "banking77" else "banking77")[1]
            queries = queries + [Query(f"oos-{q.id}", q.text, q.lang, ()) for q in other[::4 * every]]
            kind_of.update({f"oos-{q.id}": "other_business" for q in other[::4 * every]})
            queries = queries + generic_off_topic() + generic2
            kind_of.update({q.id: "generic" for q in generic_off_topic()})
            kind_of.update({q.id: "generic2" for q in generic2})
        kb = engine.KnowledgeBase(articles, semantic="static")
        hits = [kb.search(q.text, q.lang, limit=5) for q in queries]
        ranked = [[h.article.id for h in found] for found in hits]
        linked = [[h.article.id for h in found if h.for_customers][:3] for found in hits]
        result, customers = metrics(ranked, queries, []), metrics(linked, queries, [])
        rejected = {}
        for kind in ("generic", "generic2", "other_business", "gap"):
            rows = [not r for r, q in zip(ranked, queries) if not q.expected and kind_of.get(q.id) == kind]
            if rows:
                rejected[kind] = round(sum(rows) / len(rows), 3)
        every_oos = [not r for r, q in zip(ranked, queries) if not q.expected]
        print(f"{name} | {result['recall@1']:.3f} | {result['recall@3']:.3f} | {result['mrr@5']:.3f} | "
              f"{customers['recall@3']:.3f} | {rejected} all {np.mean(every_oos):.3f} | gates {kb.gates}", flush=True)


def speed(late: Late, expansion: Expansion, pairs: int) -> None:
    """``kb_eval.speed`` alternating; with late interaction the word vectors are built inside the index build (as
    shipping would build them), not lazily at the first question."""
    from kb_eval import speed as measure

    original_init = engine.KnowledgeBase.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        if LATE.weight > 0 and "wordllama" in self.models:
            word_vectors(self, LATE.unit, LATE.scope)

    engine.KnowledgeBase.__init__ = init
    for _ in range(pairs):
        for config in ((Late(), Expansion()), (late, expansion)):
            _set_late(config[0])
            _set_expansion(config[1])
            start = time.process_time()
            result = measure("static")
            result["cpu_s"] = round(time.process_time() - start, 2)
            print(label(*config), json.dumps(result), flush=True)


def parse_late(text: str) -> Late:
    weight, k, idf, norm, *rest = text.split(",")
    return Late(float(weight), int(k), idf == "1", norm, *rest)


def parse_expansion(text: str) -> Expansion:
    alpha, per_word, floor, rare = text.split(",")
    return Expansion(float(alpha), int(per_word), float(floor), int(rare))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("sweep", "expand", "compare", "gated", "speed", "fresh"))
    parser.add_argument("--every", type=int, default=1, help="every Nth in-scope question of banking77 and bitext (exploration)")
    parser.add_argument("--heldout", action="store_true", help="also the held-out sets (report only, never tune)")
    parser.add_argument("--late", default="0,20,1,minmax", help="weight,k,idf(0/1),norm[,unit,scope] for gated/speed/fresh/expand")
    parser.add_argument("--expansion", default="0,2,0.5,1", help="alpha,per_word,floor,rare")
    parser.add_argument("--sets", default="", help="comma-separated sets instead of the default list")
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--round", type=int, default=2, help="sweep: 1 = weights × k × idf, 2 = units, scopes, norms")
    args = parser.parse_args()
    late, expansion = parse_late(args.late), parse_expansion(args.expansion)
    sets = args.sets.split(",") if args.sets else list(DEV) + (list(HELD_OUT) if args.heldout else [])
    if args.command == "sweep":
        if args.round == 1:
            grid = [Late()] + [Late(w, k, idf, "minmax") for idf in (True, False) for k in (20, 30)
                               for w in (0.2, 0.35, 0.5, 0.75)]
        else:
            grid = [Late(), Late(0.1), Late(0.15), Late(0.5, norm="raw"), Late(1.0, norm="raw"), Late(2.0, norm="raw"),
                    Late(0.1, unit="token"), Late(0.2, unit="token"), Late(1.0, norm="raw", unit="token"),
                    Late(0.1, scope="title"), Late(0.2, scope="title"), Late(0.35, scope="title")]
        ungated(sets, [(g, Expansion()) for g in grid], args.every)
    elif args.command == "expand":
        grid = [Expansion()] + [Expansion(a, n, f, r) for r in (1, 3) for f in (0.45, 0.6)
                                for n in (1, 3) for a in (0.3, 0.6)]
        ungated(sets, [(late if g.alpha else Late(), g) for g in grid] +
                ([(late, Expansion())] if late.weight else []), args.every)
    elif args.command == "compare":
        ungated(sets, [(Late(), Expansion()), (late, expansion)], args.every)
    elif args.command == "gated":
        sets = args.sets.split(",") if args.sets else list(DEV) + list(HELD_OUT)
        gated(sets, Late(), Expansion(), args.every)
        gated(sets, late, expansion, args.every)
    elif args.command == "speed":
        speed(late, expansion, args.pairs)
    else:
        sets = args.sets.split(",") if args.sets else ["fresh_payroll", "fresh_clinic"]
        for config in ((Late(), Expansion()), (late, expansion)):
            ungated(sets, [config], 1)
        gated(sets, Late(), Expansion(), 1)
        gated(sets, late, expansion, 1)


if __name__ == "__main__":
    main()
