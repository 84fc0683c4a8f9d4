"""Research: a two-sided gate calibration — synthetic in-scope questions made from the knowledge base's own
articles at index time, the gate placed between them and the generic off-topic questions —
`python benchmarks/kb_two_sided.py report|speed [--russian] [--step N] [--fresh DIR --sets A,B]`.

Today's gate (``engine.CALIBRATION``) is one-sided: the 90th percentile of the off-topic questions' judgement + a
margin. Here each knowledge base also gets in-scope probes: for a sample of its articles (every k-th, at most
``--probes``), probe texts (the title, the first sentence, or body sentences; ``collect(..., explore=True)`` makes every
design), judged against their own article with the probe held out of that article (vector and words), alone or as a
customer's question is judged (the best of its top fused candidates), less the lift. The gate then sits at a fixed
fraction of the way from the off-topic percentile to a low percentile of the probes (``DESIGN``, ``LOW``).

Every question is searched once per set and its candidates' confidences recorded (``trace``); any gate is then
replayed over those records exactly as ``KnowledgeBase.search`` picks its hits (``replay``; ``check`` compares it with
the real search). ``report``: the margin and the fraction are set on the dev sets (banking77, bitext — every
``--step``-th question, out of scope the other set's every 4 × step-th and benchmarks/data/generic_off_topic.txt —
saas, delivery) to equal dev rejections; then the dev sets, and the reported sets (smarthome, courses, or ``--fresh``
blind sets, never tuned on) at those settings, and both rules' curves at equal mean rejection with the per-set
ceiling. ``--russian``: the Navec gate, chosen on ru_telecom, ru_bank and kb_ru_pl's Russian half, ru_cinema
reported. ``speed``: index time of 10,000 synthetic articles and the probes' extra time in the same run.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import plugins.kb_suggest.engine as engine  # noqa: E402
from plugins.kb_suggest.analysis import content_words, _stem  # noqa: E402
from plugins.kb_suggest.articles import load_jsonl  # noqa: E402
from plugins.kb_suggest.embeddings import embedder  # noqa: E402
from plugins.kb_suggest.engine import KnowledgeBase, informativeness, _best, _sentences  # noqa: E402
from plugins.kb_suggest.evaluate import Query, load_queries  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "kb_eval"
DATA = ROOT / "benchmarks" / "data"
DEV = ("banking77", "bitext", "saas", "delivery")
HELD_OUT = ("smarthome", "courses")
KINDS = ("generic", "other_business", "gap")
NAME = "wordllama"  # the judge whose gate is calibrated; ``use_model("navec")`` for the Russian sets
RUSSIAN_DEV = ("ru_telecom", "ru_bank", "kb_ru_pl")  # kb_ru_pl: its Russian half; the Russian gate was chosen on these
RUSSIAN_HELD_OUT = ("ru_cinema",)


def use_model(name: str) -> None:
    """Measure the gate of this judge (``wordllama`` for English, ``navec`` for Russian)."""
    global NAME
    NAME = name


@dataclass
class Traced:
    """One question's search, recorded: its lift and each of the first 15 fused candidates' (id, confidence, code)."""
    query: Query
    kind: str
    lift: float
    candidates: list[tuple[str, float, bool]]


def load_set(name: str, step: int, fresh: Path | None = None):
    """Articles and questions with their kind; banking77 / bitext get the other set's every 4th question (other
    business) and the held-out generic list as out of scope. ``step`` subsamples the in-scope questions."""
    folder = fresh / name if fresh else SHARED / name if (SHARED / name).exists() else DATA / name
    if name == "kb_ru_pl":
        folder = ROOT / "tests" / "data" / name
    articles = load_jsonl(folder / "articles.jsonl")
    queries = load_queries(folder / "queries.jsonl")
    if name == "kb_ru_pl":  # the Russian half
        articles = [a for a in articles if a.lang == "ru"]
        queries = [q for q in queries if q.lang == "ru"]
    raw = [json.loads(line) for line in (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines()
           if line.strip()]
    kind_of = {str(item["id"]): item.get("kind", "in" if item.get("expected") else "other_business") for item in raw}
    if name in ("banking77", "bitext"):
        other = load_queries(SHARED / ("bitext" if name == "banking77" else "banking77") / "queries.jsonl")
        foreign = [Query(f"oos-{q.id}", q.text, q.lang, ()) for q in other[::4]]
        kind_of.update({q.id: "other_business" for q in foreign})
        from kb_eval import generic_off_topic

        generic = generic_off_topic()
        kind_of.update({q.id: "generic" for q in generic})
        queries = [q for q in queries if q.expected][::step] + foreign[::step] + generic
    return articles, queries, kind_of


def trace(kb: KnowledgeBase, query: Query, count: int = 15) -> Traced:
    """What ``KnowledgeBase.search`` (limit 5) computes before it applies the gate, for every candidate it may judge."""
    text, language = query.text, query.lang
    if not content_words(text, language):
        return Traced(query, "", 0.0, [])
    text = kb.spelling.correct(text, language)
    models = tuple(m for m in kb.models if language in engine.MODEL_LANGUAGES[m])
    question = kb.embed_question(text, models)
    similarity = {name: kb.vectors[name] @ vector for name, vector in question.items()}
    fused = kb._fuse(text, language, similarity, engine.MIX[models])
    if not fused.any():
        return Traced(query, "", 0.0, [])
    weights = informativeness(text, language)
    lift = float(kb._lift(NAME, similarity[NAME]))
    codes = kb._specific_codes(weights, text) if any(engine.CODE.fullmatch(t) for t in weights) else set()
    out = []
    for index in _best(fused, count):
        if fused[index] <= 0:
            break
        coverage, _ = kb._coverage(weights, index)
        confidence = kb._judgement(NAME, similarity[NAME][index], coverage)
        out.append((kb.articles[index].id, confidence, bool(codes & kb._doc_terms(index)[0])))
    return Traced(query, "", lift, out)


def replay(traced: Traced, gate: float, limit: int = 5) -> list[str]:
    """The article ids ``search`` returns for this question when the calibrated gate is ``gate``."""
    hits: list[str] = []
    for article, confidence, code in traced.candidates:
        bar = gate + traced.lift
        if code:
            bar = min(bar, confidence)
        if confidence < bar - (engine.ALTERNATIVE_MARGIN if hits and bar > engine.ALTERNATIVE_MARGIN else 0.0):
            continue
        hits.append(article)
        if len(hits) == limit:
            break
    return hits


def scores(traces: list[Traced], gate: float) -> dict:
    """recall@3 of the in-scope questions and the share of each out-of-scope kind that gets no suggestion."""
    inside = [t for t in traces if t.query.expected]
    found = sum(any(a in t.query.expected for a in replay(t, gate)[:3]) for t in inside)
    out = {"recall@3": found / len(inside)}
    for kind in KINDS:
        rows = [t for t in traces if not t.query.expected and t.kind == kind]
        if rows:
            out[kind] = sum(not replay(t, gate) for t in rows) / len(rows)
    rows = [t for t in traces if not t.query.expected]
    out["rejected"] = sum(not replay(t, gate) for t in rows) / len(rows)
    return out


# ---- in-scope probes ------------------------------------------------------------------------------------------

def probe_texts(article, design: str, rng: np.random.Generator, common=frozenset()) -> list[tuple[str, str]]:
    """(probe, the article's text with the probe held out) for one article; ``common``: boilerplate sentences
    (in several articles, like "Questions this article answers:") are never probes."""
    text = article.text
    sentences = [s for s in _sentences(text) if s.casefold() != article.title.casefold()
                 and s not in common and not s.endswith(":")]
    if design == "title":
        return [(article.title, text)]
    if design == "title_in":
        return [(article.title, f"{article.title}. {text}")]
    if not sentences:
        return []
    if design == "first":
        chosen = [sentences[0]]
    elif design == "sentence":
        chosen = [sentences[int(rng.integers(len(sentences)))]]
    elif design in ("sentence2", "sentence3"):
        size = min(int(design[-1]), len(sentences))
        chosen = [sentences[i] for i in rng.choice(len(sentences), size=size, replace=False)]
    else:
        raise ValueError(design)
    out = []
    for sentence in chosen:
        rest = text.replace(sentence, " ") if sentence in text else text
        out.append((shorten_probe(sentence), f"{article.title}. {rest}"))
    return out


def shorten_probe(sentence: str, words: int = 14) -> str:
    """A customer's question is short: at most ``words`` words of the sentence."""
    parts = sentence.split()
    return " ".join(parts[:words])


def in_scope_judgements(kb: KnowledgeBase, design: str, probes: int, best: bool = False, seed: int = 0) -> np.ndarray:
    """Each sampled article's probe judged against the article with the probe held out, less the probe's lift.
    ``best``: the best of the probe's top fused candidates (the others as indexed), as a question is judged."""
    rng = np.random.default_rng(seed)
    known = np.flatnonzero(kb.known[NAME])
    sample = known[:: max(1, len(known) // probes)][:probes]
    seen = Counter(s for i in sample for s in set(_sentences(kb.articles[i].text)))
    common = frozenset(s for s, n in seen.items() if n > 1)
    pairs = [(i, probe, rest) for i in sample for probe, rest in probe_texts(kb.articles[i], design, rng, common)]
    if not pairs:
        return np.array([])
    model = embedder(NAME)
    probe_vectors = model.embed([p for _, p, _ in pairs])
    rest_vectors = model.embed([r[:2000] for _, _, r in pairs])
    similarity = probe_vectors @ kb.vectors[NAME].T
    lifts = kb._lift(NAME, similarity)
    out = []
    for row, (i, probe, rest) in enumerate(pairs):
        language = kb.articles[i].lang
        weights = informativeness(probe, language)
        rest_stems = {_stem(w, language) for w in content_words(rest, language)}
        prefixes = {t[:engine.PREFIX] for t in rest_stems if len(t) >= engine.PREFIX}
        matched = [t for t in weights if t in rest_stems or (len(t) >= engine.PREFIX and t[:engine.PREFIX] in prefixes)]
        total = sum(weights.values())
        coverage = sum(weights[t] for t in matched) / total if total else 0.0
        judged = kb._judgement(NAME, float(probe_vectors[row] @ rest_vectors[row]), coverage)
        if best:
            fused = kb._fuse(probe, language, {NAME: similarity[row]}, engine.MIX[(NAME,)])
            for j in _best(fused, 3 * engine.CANDIDATES):
                if j != i and kb.known[NAME][j]:
                    judged = max(judged, kb._judgement(NAME, similarity[row][j], kb._coverage(weights, j)[0]))
        out.append(judged - lifts[row])
    return np.array(out)


# ---- runs ---------------------------------------------------------------------------------------------------

DESIGNS = ("title", "first", "sentence", "sentence3")


def collect(names, step: int, probes: int, fresh: Path | None = None, seeds=(0,), explore: bool = False) -> dict:
    """Per set: traces of every question, off-topic judgements, and in-scope probe judgements for each design."""
    out = {}
    for name in names:
        articles, queries, kind_of = load_set(name, step, fresh)
        kb = KnowledgeBase(articles, semantic="static")
        traces = []
        for q in queries:
            t = trace(kb, q)
            t.kind = kind_of.get(q.id, "in" if q.expected else "other_business")
            traces.append(t)
        off = kb._off_topic_judgements(NAME)
        if explore:
            ins = {d: in_scope_judgements(kb, d, probes) for d in DESIGNS}
            ins.update({f"{d}+best": in_scope_judgements(kb, d, probes, best=True)
                        for d in ("title", "first", "sentence", "sentence3")})
        else:
            ins = {DESIGN: in_scope_judgements(kb, DESIGN.split("+")[0], probes, best=DESIGN.endswith("+best"))}
        for seed in seeds[1:]:
            ins.update({f"{d}+best/{seed}": in_scope_judgements(kb, d, probes, best=True, seed=seed)
                        for d in ("sentence", "sentence3")})
        out[name] = {"traces": traces, "off": off, "in": ins, "default_gate": kb.gates[NAME],
                     "customer_gate": kb.customer_gates[NAME], "kb": kb}
        print(f"# {name}: {len(articles)} articles, {sum(bool(q.expected) for q in queries)} in scope, "
              f"{sum(not q.expected for q in queries)} out; gate {kb.gates[NAME]}", file=sys.stderr, flush=True)
    return out


def one_sided(data, margin: float, percentile: float = 90) -> float:
    _, _, lowest, top = engine.CALIBRATION[NAME]
    return float(np.clip(np.percentile(data["off"], percentile) + margin, lowest, top))


def two_sided(data, design: str, fraction: float, low: float = 10, high: float = 90, shift: float = 0.0) -> float:
    """A point ``fraction`` of the way from the off-topic ``high`` percentile to the probes' ``low`` percentile."""
    _, _, lowest, top = engine.CALIBRATION[NAME]
    off, ins = np.percentile(data["off"], high), np.percentile(data["in"][design], low)
    return float(np.clip(off + fraction * (ins - off) + shift, lowest, top))


def check(collected) -> None:
    """The replay gives what the real search gives (default gate), on every 10th question."""
    for name, data in collected.items():
        kb, gate, wrong = data["kb"], data["default_gate"], 0
        sample = data["traces"][::10]
        for t in sample:
            real = [h.article.id for h in kb.search(t.query.text, t.query.lang, limit=5)]
            wrong += real != replay(t, gate)
        print(f"check {name}: {wrong} of {len(sample)} differ")


# ---- choosing on the dev sets, reporting the others ----------------------------------------------------------

DESIGN, LOW = "sentence3+best", 25  # chosen on the dev sets (explore): three body sentences per sampled article
TARGETS = ("default", 0.75, 0.80)  # mean dev rejection the parameters are set to: the default gate's, or these


def one_sided_rule(margin):
    return lambda data: one_sided(data, margin)


def two_sided_rule(fraction, design=DESIGN, low=LOW):
    return lambda data: two_sided(data, design, fraction, low)


def mean_rejection(collected, rule) -> float:
    return float(np.mean([scores(d["traces"], rule(d))["rejected"] for d in collected.values()]))


def fit(collected, make_rule, grid, target: float) -> float:
    """The parameter of ``grid`` whose mean rejection over the collected sets is nearest ``target``."""
    return float(min(grid, key=lambda p: abs(mean_rejection(collected, make_rule(p)) - target)))


def choose(dev) -> list[tuple[str, float, float]]:
    """(target, margin of the one-sided gate, fraction of the two-sided one), each set to the same dev rejection."""
    default_margin = engine.CALIBRATION[NAME][1]
    out = []
    for target in TARGETS:
        if target == "default":
            margin = default_margin
            goal = mean_rejection(dev, one_sided_rule(margin))
        else:
            goal = target
            margin = fit(dev, one_sided_rule, np.arange(-0.05, 0.4, 0.005), goal)
        fraction = fit(dev, two_sided_rule, np.arange(-0.2, 1.2, 0.01), goal)
        out.append((f"{target}" if target == "default" else f"{target:.2f}", round(margin, 3), round(fraction, 3)))
    return out


def table(collected, choices) -> None:
    print("| set | target | gate | calibrated value | recall@3 | rejected (all) | generic | other business | gap |")
    print("|---|---|---|---|---|---|---|---|---|")
    means = {}
    for target, margin, fraction in choices:
        for label, rule in ((f"one-sided p90 + {margin:+.3f}", one_sided_rule(margin)),
                            (f"two-sided {fraction:.2f} of the way", two_sided_rule(fraction))):
            rows = []
            for name, data in collected.items():
                gate = rule(data)
                s = scores(data["traces"], gate)
                rows.append(s)
                kinds = " | ".join(f"{s[k]:.3f}" if k in s else "—" for k in KINDS)
                print(f"| {name} | {target} | {label} | {gate:.3f} | {s['recall@3']:.3f} | {s['rejected']:.3f} | {kinds} |")
            means[(target, label)] = (np.mean([r["recall@3"] for r in rows]), np.mean([r["rejected"] for r in rows]))
    for (target, label), (rec, rej) in means.items():
        print(f"mean | {target} | {label} | recall@3 {rec:.3f} | rejected {rej:.3f}")
    for name, data in collected.items():
        s = scores(data["traces"], -1.0)
        print(f"no gate | {name} | recall@3 {s['recall@3']:.3f}")


def speed(probes: int, rounds: int = 2) -> None:
    """Index time of 10,000 synthetic articles (kb_eval.synthetic) with the default calibration, and the extra time
    the in-scope probes take on that index, alternating rounds (the machine is shared: read the ratios)."""
    from kb_eval import synthetic

    big = synthetic(10_000)
    for _ in range(rounds):
        began = time.perf_counter()
        kb = KnowledgeBase(big, semantic="static")
        built = time.perf_counter() - began
        began = time.perf_counter()
        off = kb._off_topic_judgements(NAME)
        one = time.perf_counter() - began
        began = time.perf_counter()
        probes_judged = in_scope_judgements(kb, DESIGN.split("+")[0], probes, best=DESIGN.endswith("+best"))
        two = time.perf_counter() - began
        print(json.dumps({"index_10k_s": round(built, 2), "off_topic_calibration_s": round(one, 3),
                          "in_scope_probes_s": round(two, 3), "probes": len(probes_judged),
                          "added_share_of_index": round(two / built, 3), "off_topic": len(off)}), flush=True)


def curve(collected, make_rule, grid) -> list[tuple[float, float]]:
    """(mean recall@3, mean rejection) over the collected sets, one point per parameter of ``grid``."""
    points = []
    for parameter in grid:
        rows = [scores(d["traces"], make_rule(parameter)(d)) for d in collected.values()]
        points.append((float(np.mean([r["recall@3"] for r in rows])), float(np.mean([r["rejected"] for r in rows]))))
    return points


def recall_at(points, rejection: float) -> float:
    """Mean recall@3 read off a curve at a mean rejection (linear between its points; nan outside them)."""
    recall, rejected = np.array(points).T
    order = np.argsort(rejected)
    if not rejected.min() <= rejection <= rejected.max():
        return float("nan")
    return float(np.interp(rejection, rejected[order], recall[order]))


def oracle(collected) -> list[tuple[float, float]]:
    """The best any per-set gate could do: each set's gate chosen, knowing its answers, to maximise recall@3 +
    weight × rejection, for a range of weights — the ceiling of every calibration rule on these sets."""
    curves = [[scores(d["traces"], g) for g in np.arange(0.1, 0.6, 0.005)] for d in collected.values()]
    points = []
    for weight in np.arange(0, 4, 0.01):
        picks = [max(c, key=lambda s: s["recall@3"] + weight * s["rejected"]) for c in curves]
        points.append((float(np.mean([p["recall@3"] for p in picks])), float(np.mean([p["rejected"] for p in picks]))))
    return points


def curves(collected) -> None:
    """Mean recall@3 at equal mean rejection: the one-sided margin swept, the two-sided fraction swept, the ceiling."""
    levels = (0.6, 0.65, 0.7, 0.75, 0.8, 0.85)
    print("| rule | " + " | ".join(f"recall@3 at {level:.2f} rejected" for level in levels) + " |")
    print("|---|" + "---|" * len(levels))
    for label, points in (("one-sided (margin swept)", curve(collected, one_sided_rule, np.arange(-0.1, 0.4, 0.005))),
                          ("two-sided (fraction swept)", curve(collected, two_sided_rule, np.arange(-0.3, 1.3, 0.01))),
                          ("ceiling: best gate per set", oracle(collected))):
        print(f"| {label} | " + " | ".join(f"{recall_at(points, level):.3f}" for level in levels) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("report", "speed"))
    parser.add_argument("--step", type=int, default=3, help="every n-th banking77 / bitext question")
    parser.add_argument("--probes", type=int, default=60, help="articles sampled for the in-scope probes")
    parser.add_argument("--sets", default=",".join(HELD_OUT), help="sets to report with the dev-chosen parameters")
    parser.add_argument("--fresh", type=Path, help="a folder holding the --sets (blind sets; report once)")
    parser.add_argument("--russian", action="store_true", help="the Navec gate: Russian dev sets, ru_cinema reported")
    args = parser.parse_args()
    if args.russian:
        use_model("navec")
    if args.command == "speed":
        speed(args.probes)
        return
    dev = collect(RUSSIAN_DEV if args.russian else DEV, args.step, args.probes)
    choices = choose(dev)
    print("chosen on the dev sets (target, margin, fraction):", choices)
    print("\n## dev sets")
    table(dev, choices)
    curves(dev)
    print("\n## reported sets")
    sets = ",".join(RUSSIAN_HELD_OUT) if args.russian and args.sets == ",".join(HELD_OUT) else args.sets
    reported = collect(sets.split(","), args.step, args.probes, args.fresh)
    table(reported, choices)
    curves(reported)


if __name__ == "__main__":
    main()
