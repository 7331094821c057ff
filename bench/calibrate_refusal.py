"""Calibrate the refusal threshold: XQuAD questions (answerable) vs questions the corpus lacks.

Indexes the 48 XQuAD articles (one article per title, paragraphs as body), runs every question
through hybrid search, and computes the refusal signals of knowledge.answers.refusal. Refusing
is the positive class: precision = share of refusals that were right, recall = share of
unanswerable questions refused. The threshold chosen is the highest one that refuses at most
`--max-false-refusals` of the answerable questions (default 2%): wrongly refusing a question
the articles answer costs more than letting the model say "not covered" itself.

    .venv/bin/python bench/calibrate_refusal.py --embedder hash
    .venv/bin/python bench/calibrate_refusal.py --embedder onnx
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge.answers.refusal import (  # noqa: E402
    CALIBRATED_MIN_RELEVANCE,
    RetrievalStrength,
    assess,
    embedder_family,
)
from knowledge.embeddings.base import Embedder  # noqa: E402
from knowledge.index import KnowledgeIndex  # noqa: E402
from knowledge.models import Article  # noqa: E402
from knowledge.settings import load_settings  # noqa: E402

XQUAD = ROOT.parent / "shared" / "eval" / "xquad-en" / "xquad.en.json"
UNANSWERABLE = ROOT / "bench" / "data" / "unanswerable_xquad.tsv"
SAMPLE_QUESTIONS = ROOT / "bench" / "data" / "sample_questions.tsv"
SAMPLE_DIR = ROOT / "knowledge" / "sample"


def make_embedder(provider: str) -> Embedder:
    """The embedder under test, built directly so the figures name exactly what ran."""
    if provider == "hash":
        from knowledge.embeddings.hash import HashEmbedder

        return HashEmbedder()
    from knowledge.embeddings.onnx import OnnxMiniLMEmbedder

    return OnnxMiniLMEmbedder()


Signal = Callable[[RetrievalStrength], float]
SIGNALS: dict[str, Signal] = {
    "relevance (sim+coverage)/2": lambda s: s.relevance,
    "top dense similarity": lambda s: s.top_similarity,
    "term coverage": lambda s: s.coverage,
}


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
                source="Wikipedia",
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
    parser.add_argument("--max-false-refusals", type=float, default=0.02)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()

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

    def strengths(qs: list[str]) -> list[RetrievalStrength]:
        out = []
        for q in qs:
            hits = index.search(q)
            out.append(assess(q, hits) if hits else RetrievalStrength(0.0, 0.0, 0.0))
        return out

    started = time.perf_counter()
    good = strengths(questions)
    rows = tsv_questions(UNANSWERABLE)
    bad = strengths([q for _, q in rows])
    far = [s for (kind, _), s in zip(rows, bad, strict=True) if kind == "far"]
    near = [s for (kind, _), s in zip(rows, bad, strict=True) if kind == "near"]
    per_q = (time.perf_counter() - started) * 1000 / (len(good) + len(bad))
    print(
        f"{len(good)} answerable, {len(bad)} unanswerable ({len(far)} far, {len(near)} near);"
        f" {per_q:.1f} ms per question"
    )

    print(f"\nthreshold = highest refusing <= {args.max_false_refusals:.0%} of answerable\n")
    print(
        f"{'signal':30} {'thr':>6} {'P':>6} {'R':>6} {'R far':>6} {'R near':>6} "
        f"{'med ans':>8} {'med unans':>9}"
    )
    for name, signal in SIGNALS.items():
        g = [signal(s) for s in good]
        b = [signal(s) for s in bad]
        threshold = choose(g, args.max_false_refusals)
        refused_bad = sum(v < threshold for v in b)
        refused_good = sum(v < threshold for v in g)
        precision = refused_bad / (refused_bad + refused_good) if refused_bad + refused_good else 1
        print(
            f"{name:30} {threshold:6.3f} {precision:6.3f} {recall_at(threshold, b):6.3f} "
            f"{recall_at(threshold, [signal(s) for s in far]):6.3f} "
            f"{recall_at(threshold, [signal(s) for s in near]):6.3f} "
            f"{statistics.median(g):8.3f} {statistics.median(b):9.3f}"
        )

    g = [s.relevance for s in good]
    b = [s.relevance for s in bad]
    print("\nrelevance threshold sweep (refusal precision / recall / answerable refused):")
    family = embedder_family(index.embedder.name)
    shipped = CALIBRATED_MIN_RELEVANCE[family]
    sweep = sorted({0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, shipped})
    for threshold in sweep:
        rb = sum(v < threshold for v in b)
        rg = sum(v < threshold for v in g)
        precision = rb / (rb + rg) if rb + rg else 1.0
        print(
            f"  {threshold:.2f}: P {precision:.3f}  R {rb / len(b):.3f}  "
            f"false refusals {rg}/{len(g)} ({rg / len(g):.1%})"
            + ("   <- shipped for " + family if threshold == shipped else "")
        )
    index.close()


if __name__ == "__main__":
    main()
