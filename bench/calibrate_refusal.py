"""Calibrate the refusal threshold: answerable questions of every length vs off-topic ones.

Indexes the 48 XQuAD articles (one article per title, paragraphs as body), runs every question
through hybrid search, and computes the refusal signals of knowledge.answers.refusal. Refusing
is the positive class: precision = share of refusals that were right, recall = share of
unanswerable questions refused.

Questions come in every length: XQuAD's own (mostly short), multi-part questions made of two or
three XQuAD questions about different articles (seeded, so the same every run), and the
hand-written set of bench/data/multipart_questions.tsv over the sample articles (several
publishers and dates; long questions name several articles). Off-topic questions are the "far"
ones of bench/data/unanswerable_xquad.tsv, combinations of them, and the sample set's "off"
and "un" ones. The threshold chosen is the highest one that refuses at most
`--max-false-refusals` (default 3%) of the answerable questions in *every* length bucket:
wrongly refusing a question the articles answer costs more than letting the model say "not
covered" itself.

    .venv/bin/python -m bench.calibrate_refusal --embedder hash
    .venv/bin/python -m bench.calibrate_refusal --embedder onnx
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.measure import ROOT, machine_line, reproduce_command
from knowledge.answers.refusal import (
    CALIBRATED_MIN_RELEVANCE,
    COVERAGE_TOP_HITS,
    RetrievalStrength,
    assess,
    embedder_family,
)
from knowledge.answers.terms import key_terms
from knowledge.embeddings.base import Embedder
from knowledge.index import KnowledgeIndex
from knowledge.models import Article, Hit
from knowledge.settings import load_settings
from knowledge.text import WORD, stems
from tests.support.seeds import xquad_file

# The shared evaluation data sits beside the checkout (../shared) or beside its worktree folder.
XQUAD = xquad_file()
UNANSWERABLE = ROOT / "bench" / "data" / "unanswerable_xquad.tsv"
SAMPLE_QUESTIONS = ROOT / "bench" / "data" / "sample_questions.tsv"
MULTIPART_QUESTIONS = ROOT / "bench" / "data" / "multipart_questions.tsv"
# Length buckets, in words: where a retrieval-only refusal behaves differently.
BUCKETS = (("short (<=10 words)", 10), ("medium (11-25)", 25), ("long (>25)", 10_000))
_JOINS = ("{} And {}", "{} Also, {}", "Two questions: {} {}", "{} {}")
SAMPLE_DIR = ROOT / "knowledge" / "sample"


def make_embedder(provider: str) -> Embedder:
    """The embedder under test, built directly so the figures name exactly what ran."""
    if provider == "hash":
        from knowledge.embeddings.hash import HashEmbedder

        return HashEmbedder()
    from knowledge.embeddings.onnx import OnnxMiniLMEmbedder

    return OnnxMiniLMEmbedder()


Signals = dict[str, float]


def signals(question: str, hits: Sequence[Hit], idf: Callable[[str], float]) -> Signals:
    """The shipped signals (from `assess`) and the alternatives they were compared with."""
    strength = assess(question, hits) if hits else RetrievalStrength(0.0, 0.0, 0.0)
    wanted = stems(key_terms(question))
    passages = [
        stems(WORD.findall(f"{h.chunk.title} {h.chunk.heading} {h.chunk.text}".lower()))
        for h in hits[:COVERAGE_TOP_HITS]
    ]
    union = set().union(*passages) if passages else set()
    total_idf = sum(idf(t) for t in wanted) or 1.0
    idf_coverage = max((sum(idf(t) for t in wanted & p) / total_idf for p in passages), default=0)
    return {
        "relevance (shipped)": strength.relevance,
        "top dense similarity": strength.top_similarity,
        "coverage, best passage": strength.coverage,
        "coverage, union of top 3": len(wanted & union) / len(wanted) if wanted else 0.0,
        "top BM25 score": max((h.lexical_score or 0.0 for h in hits), default=0.0),
        "IDF coverage, best passage": idf_coverage,
        "(sim + IDF coverage) / 2": (strength.top_similarity + idf_coverage) / 2,
    }


def corpus_idf(articles: Sequence[Article]) -> Callable[[str], float]:
    """IDF of stems over the articles' paragraphs (only the benchmark can see these)."""
    paragraphs = [p for a in articles for p in a.body.split("\n\n")]
    df: Counter[str] = Counter()
    for paragraph in paragraphs:
        df.update(stems(WORD.findall(paragraph.lower())))
    n = len(paragraphs)
    return lambda term: math.log((n + 1) / (df.get(term, 0) + 0.5))


def auc(good: Sequence[float], bad: Sequence[float]) -> float:
    """Chance that an answerable question scores above an unanswerable one."""
    wins = sum((g > b) + 0.5 * (g == b) for g in good for b in bad)
    return wins / (len(good) * len(bad))


def xquad_articles(path: Path) -> tuple[list[Article], list[str]]:
    """One Article per XQuAD title, and all its questions."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    articles, questions = [], []
    for item in data:
        title = item["title"]
        paragraphs = [p["context"] for p in item["paragraphs"]]
        articles.append(
            Article(
                title=title.replace("_", " "),
                url=f"https://en.wikipedia.org/wiki/{title}",
                publisher="Wikipedia",
                body="\n\n".join(paragraphs),
            )
        )
        questions += [qa["question"] for p in item["paragraphs"] for qa in p["qas"]]
    return articles, questions


def tsv_questions(path: Path) -> list[tuple[str, str]]:
    """(kind, question) rows of a tab-separated question file; # lines are comments."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            kind, question = line.split("\t", 1)
            rows.append((kind, question))
    return rows


def length_bucket(question: str) -> str:
    """The BUCKETS name for a question's length in words."""
    words = len(question.split())
    return next(name for name, most in BUCKETS if words <= most)


def combined(parts: Sequence[str], rng: random.Random) -> str:
    """One multi-part question from several, joined the ways members write them."""
    text = parts[0]
    for part in parts[1:]:
        text = rng.choice(_JOINS).format(text, part)
    return text


def multipart_sets(
    xquad_path: Path, far: Sequence[str], per_size: int = 300, seed: int = 7
) -> tuple[list[str], list[str]]:
    """Answerable questions of 2 and 3 parts, each part about another XQuAD article, and
    off-topic questions of 2 and 3 far parts (`per_size // 3` of each size)."""
    data = json.loads(xquad_path.read_text(encoding="utf-8"))["data"]
    by_article = [[qa["question"] for p in item["paragraphs"] for qa in p["qas"]] for item in data]
    rng = random.Random(seed)
    answerable, off_topic = [], []
    for size in (2, 3):
        for _ in range(per_size):
            picks = rng.sample(range(len(by_article)), size)
            answerable.append(combined([rng.choice(by_article[i]) for i in picks], rng))
        for _ in range(per_size // 3):
            off_topic.append(combined(rng.sample(list(far), size), rng))
    return answerable, off_topic


def strengths(index: KnowledgeIndex, questions: Sequence[str]) -> list[float]:
    """The shipped relevance of each question over `index`."""
    values = []
    for question in questions:
        hits = index.search(question)
        values.append(assess(question, hits).relevance if hits else 0.0)
    return values


def by_length(questions: Sequence[str], values: Sequence[float]) -> dict[str, list[float]]:
    """Values grouped by the length bucket of their question."""
    groups: dict[str, list[float]] = {name: [] for name, _ in BUCKETS}
    for question, value in zip(questions, values, strict=True):
        groups[length_bucket(question)].append(value)
    return {name: group for name, group in groups.items() if group}


def choose_for_every_length(groups: Sequence[Sequence[float]], max_false: float) -> float:
    """Highest threshold (0.005 steps) refusing at most `max_false` of every group."""
    best = 0.0
    for step in range(0, 201):
        threshold = step / 200
        if all(sum(v < threshold for v in g) <= max_false * len(g) for g in groups):
            best = threshold
    return best


def report_lengths(
    embedder: Embedder, xquad_index: KnowledgeIndex, data_dir: Path, max_false: float
) -> None:
    """False refusals by length and off-topic refusals, at the chosen and shipped thresholds."""
    far = [q for kind, q in tsv_questions(UNANSWERABLE) if kind == "far"]
    xquad_questions = xquad_articles(XQUAD)[1]
    combos, far_combos = multipart_sets(XQUAD, far)
    sample_index = KnowledgeIndex(load_settings(data_dir=data_dir), embedder)
    sample_index.ingest([str(SAMPLE_DIR)])
    rows = tsv_questions(MULTIPART_QUESTIONS) + tsv_questions(SAMPLE_QUESTIONS)
    sample_ans = [q for kind, q in rows if kind == "ans"]
    sample_off = [q for kind, q in rows if kind in ("off", "un")]
    sets = {
        "xquad answerable": (xquad_questions + combos, xquad_index),
        "xquad off-topic": (far + far_combos, xquad_index),
        "sample answerable": (sample_ans, sample_index),
        "sample off-topic": (sample_off, sample_index),
    }
    scored = {name: (qs, strengths(index, qs)) for name, (qs, index) in sets.items()}
    sample_index.close()
    answerable_groups = [
        group
        for name, (qs, values) in scored.items()
        if "answerable" in name
        for group in by_length(qs, values).values()
    ]
    chosen = choose_for_every_length(answerable_groups, max_false)
    shipped = CALIBRATED_MIN_RELEVANCE[embedder_family(embedder.name)]
    print(
        f"\nby length ({embedder.name}): highest threshold refusing <= {max_false:.0%} of "
        f"answerable questions of every length = {chosen:.3f}; shipped {shipped}\n"
    )
    print(f"{'set':20} {'length':20} {'n':>5} {'refused @chosen':>16} {'refused @shipped':>17}")
    for name, (qs, values) in scored.items():
        groups = by_length(qs, values)
        groups["all"] = list(values)
        for bucket, group in groups.items():
            at_chosen = sum(v < chosen for v in group)
            at_shipped = sum(v < shipped for v in group)
            print(
                f"{name:20} {bucket:20} {len(group):5d} "
                f"{at_chosen:6d} ({at_chosen / len(group):6.1%}) "
                f"{at_shipped:6d} ({at_shipped / len(group):6.1%})"
            )


def recall_at(threshold: float, values: list[float]) -> float:
    return sum(v < threshold for v in values) / len(values)


def choose(answerable: list[float], max_false: float) -> float:
    """Highest threshold that refuses at most `max_false` of answerable questions."""
    ranked = sorted(answerable)
    allowed = int(max_false * len(ranked))
    # Refusing means value < threshold, so the threshold sits at the (allowed)-th lowest value.
    return round(ranked[allowed] - 1e-9, 3) if allowed < len(ranked) else 1.0


def check_sample(embedder: Embedder, data_dir: Path) -> None:
    """The shipped threshold on the sample articles and questions written for them."""
    index = KnowledgeIndex(load_settings(data_dir=data_dir), embedder)
    index.ingest([str(SAMPLE_DIR)])
    threshold = CALIBRATED_MIN_RELEVANCE[embedder_family(embedder.name)]
    refused = {"ans": 0, "un": 0}
    totals = {"ans": 0, "un": 0}
    for kind, question in tsv_questions(SAMPLE_QUESTIONS):
        hits = index.search(question)
        strength = assess(question, hits) if hits else RetrievalStrength(0.0, 0.0, 0.0)
        totals[kind] += 1
        wrong = (strength.relevance < threshold) == (kind == "ans")
        refused[kind] += strength.relevance < threshold
        if wrong:
            verdict = "refused" if kind == "ans" else "answered"
            print(f"  wrongly {verdict} ({strength.relevance:.3f}): {question}")
    index.close()
    made = refused["ans"] + refused["un"]
    print(
        f"sample corpus ({embedder.name}, threshold {threshold}): "
        f"refused {refused['un']}/{totals['un']} unanswerable, "
        f"{refused['ans']}/{totals['ans']} answerable; "
        f"precision {refused['un'] / made if made else 1:.3f}, "
        f"recall {refused['un'] / totals['un']:.3f}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default="hash", choices=["hash", "onnx"])
    parser.add_argument("--max-false-refusals", type=float, default=0.03)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()
    print(machine_line())
    print("reproduce: " + reproduce_command("bench.calibrate_refusal"))

    embedder = make_embedder(args.embedder)
    check_sample(embedder, args.data_dir / f"sample-{args.embedder}")
    settings = load_settings(
        data_dir=args.data_dir / f"xquad-{args.embedder}", embeddings={"provider": args.embedder}
    )
    index = KnowledgeIndex(settings, embedder)
    articles, questions = xquad_articles(XQUAD)
    started = time.perf_counter()
    index.add_articles(articles)
    print(
        f"embedder {index.embedder.name}; indexed {len(articles)} articles "
        f"in {time.perf_counter() - started:.1f}s"
    )

    idf = corpus_idf(articles)
    started = time.perf_counter()
    good = [signals(q, index.search(q), idf) for q in questions]
    rows = tsv_questions(UNANSWERABLE)
    bad = [signals(q, index.search(q), idf) for _, q in rows]
    far = [s for (kind, _), s in zip(rows, bad, strict=True) if kind == "far"]
    near = [s for (kind, _), s in zip(rows, bad, strict=True) if kind == "near"]
    per_q = (time.perf_counter() - started) * 1000 / (len(good) + len(bad))
    print(
        f"{len(good)} answerable, {len(bad)} unanswerable ({len(far)} far, {len(near)} near);"
        f" {per_q:.1f} ms per question"
    )

    print(f"\nthreshold = highest refusing <= {args.max_false_refusals:.0%} of answerable\n")
    print(
        f"{'signal':28} {'AUC':>6} {'thr':>7} {'P':>6} {'R':>6} {'R far':>6} {'R near':>6} "
        f"{'med ans':>8} {'med unans':>9}"
    )
    for name in good[0]:
        g = [s[name] for s in good]
        b = [s[name] for s in bad]
        threshold = choose(g, args.max_false_refusals)
        refused_bad = sum(v < threshold for v in b)
        refused_good = sum(v < threshold for v in g)
        precision = refused_bad / (refused_bad + refused_good) if refused_bad + refused_good else 1
        print(
            f"{name:28} {auc(g, b):6.3f} {threshold:7.3f} {precision:6.3f} "
            f"{recall_at(threshold, b):6.3f} "
            f"{recall_at(threshold, [s[name] for s in far]):6.3f} "
            f"{recall_at(threshold, [s[name] for s in near]):6.3f} "
            f"{statistics.median(g):8.3f} {statistics.median(b):9.3f}"
        )

    key = "relevance (shipped)"
    print(
        "\nrelevance threshold sweep (refusal precision / recall all, far, near / false refusals):"
    )
    family = embedder_family(index.embedder.name)
    shipped = CALIBRATED_MIN_RELEVANCE[family]
    for threshold in sorted({0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, shipped}):
        rb = sum(s[key] < threshold for s in bad)
        rg = sum(s[key] < threshold for s in good)
        precision = rb / (rb + rg) if rb + rg else 1.0
        print(
            f"  {threshold:.2f}: P {precision:.3f}  R {rb / len(bad):.3f}, "
            f"{recall_at(threshold, [s[key] for s in far]):.2f}, "
            f"{recall_at(threshold, [s[key] for s in near]):.2f}  "
            f"false refusals {rg}/{len(good)} ({rg / len(good):.1%})"
            + ("   <- shipped for " + family if threshold == shipped else "")
        )
    report_lengths(
        embedder, index, args.data_dir / f"sample-{args.embedder}", args.max_false_refusals
    )
    index.close()


if __name__ == "__main__":
    main()
