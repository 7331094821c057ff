"""Synthetic article corpora for scale benchmarks.

Text is random but shaped like prose where it matters for retrieval cost: English function words
at the head of a Zipf-distributed vocabulary (so BM25 drops them as it does real stop words and
the frequent content words give long posting lists), and a few hundred topics, each with its own
Zipf-weighted words, so articles on one topic share vocabulary the way real ones do. Article `i`
is generated from its own seed, so any article, and the queries drawn from it, can be rebuilt
without generating the rest.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import overload

import numpy as np
import numpy.typing as npt

from knowledge.models import Article

# The most frequent English words lead the vocabulary, in roughly their real order.
_FUNCTION_WORDS_TEXT = """
the of and to a in is that for it as was with be by on not he this are or his from at which but
have an they you were her she there been one all we their has would when if so no will can more
about than its into them only other also some
"""
FUNCTION_WORDS = _FUNCTION_WORDS_TEXT.split()

_QUESTION_STARTS = ("what", "how", "why", "which", "when does", "where is", "who uses")
_ONSETS = [c for c in string.ascii_lowercase if c not in "aeiouy"] + [
    "br", "ch", "cl", "dr", "fl", "gr", "kr", "pl", "pr", "sh", "sk", "st", "th", "tr", "vr",
]  # fmt: skip
_NUCLEI = ["a", "e", "i", "o", "u", "ai", "ea", "ou", "io", "y"]
_CODAS = ["", "", "", "n", "r", "s", "l", "m", "t", "nd", "st", "rk", "x"]


@dataclass(frozen=True)
class CorpusSpec:
    """How big and how varied a synthetic corpus is."""

    chunks: int
    #: One summary chunk plus body chunks: the chunker turns each body paragraph into a chunk.
    chunks_per_article: int = 10
    words_per_paragraph: int = 200
    vocabulary: int = 30_000
    topics: int = 300
    words_per_topic: int = 400
    #: Share of a paragraph's words drawn from its article's topic rather than general English.
    topic_share: float = 0.3
    zipf_exponent: float = 1.07
    seed: int = 20_26

    @property
    def articles(self) -> int:
        return max(1, round(self.chunks / self.chunks_per_article))


def _zipf_weights(n: int, exponent: float) -> npt.NDArray[np.float64]:
    weights = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent
    cumulative: npt.NDArray[np.float64] = np.cumsum(weights / weights.sum())
    return cumulative


def _pseudo_words(count: int, rng: np.random.Generator) -> list[str]:
    """Distinct pronounceable non-words, so no real-English stemming accident merges them."""
    words: list[str] = []
    seen = set(FUNCTION_WORDS)
    parts = [np.array(x, dtype=object) for x in (_ONSETS, _NUCLEI, _CODAS)]
    while len(words) < count:
        batch = 4 * count
        syllables = [p[rng.integers(len(p), size=batch)] for p in parts * 3]
        length = rng.integers(1, 4, size=batch)
        for n in range(batch):
            word = "".join(str(syllables[s][n]) for s in range(3 * int(length[n])))
            if len(word) > 2 and word not in seen:
                seen.add(word)
                words.append(word)
                if len(words) == count:
                    break
    return words


class SyntheticCorpus(Sequence[Article]):
    """A deterministic corpus of `spec.articles` articles, each built on demand."""

    def __init__(self, spec: CorpusSpec) -> None:
        self.spec = spec
        rng = np.random.default_rng(spec.seed)
        content = _pseudo_words(spec.vocabulary - len(FUNCTION_WORDS), rng)
        self.words = np.array(FUNCTION_WORDS + content, dtype=object)
        self.capitalised = np.array([w.capitalize() for w in self.words], dtype=object)
        self._background_cdf = _zipf_weights(len(self.words), spec.zipf_exponent)
        # Topic words come from the middle and tail of the vocabulary: distinctive, not rare.
        start = len(FUNCTION_WORDS) + 200
        self._topic_words = [
            rng.choice(np.arange(start, len(self.words)), size=spec.words_per_topic, replace=False)
            for _ in range(spec.topics)
        ]
        self._topic_cdf = _zipf_weights(spec.words_per_topic, 1.0)
        self._publishers = [f"Publisher {n}" for n in range(20)]

    def __len__(self) -> int:
        return self.spec.articles

    @overload
    def __getitem__(self, index: int) -> Article: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Article]: ...

    def __getitem__(self, index: int | slice) -> Article | Sequence[Article]:
        if isinstance(index, slice):
            return [self.article(i) for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        return self.article(index % len(self))

    def __iter__(self) -> Iterator[Article]:
        for i in range(len(self)):
            yield self.article(i)

    def topic_of(self, i: int) -> int:
        return (i * 7919) % self.spec.topics

    def _draw(self, rng: np.random.Generator, topic: int, n: int) -> npt.NDArray[np.int64]:
        """Indices of `n` words: general English mixed with the topic's own vocabulary."""
        from_topic = rng.random(n) < self.spec.topic_share
        general = np.searchsorted(self._background_cdf, rng.random(n))
        topical = self._topic_words[topic][np.searchsorted(self._topic_cdf, rng.random(n))]
        picks: npt.NDArray[np.int64] = np.minimum(
            np.where(from_topic, topical, general), len(self.words) - 1
        )
        return picks

    def _prose(self, rng: np.random.Generator, picks: npt.NDArray[np.int64]) -> str:
        """Sentences of 8-24 words: capitalised first word, full stop at the end."""
        tokens = self.words[picks]
        ends = np.cumsum(rng.integers(8, 25, size=len(picks) // 8 + 1))
        ends = ends[ends < len(picks)]
        starts = np.concatenate(([0], ends))
        tokens[starts] = self.capitalised[picks[starts]]
        tokens[ends - 1] = tokens[ends - 1] + "."
        tokens[-1] = tokens[-1] + "."
        return " ".join(tokens.tolist())

    def article(self, i: int) -> Article:
        """Article `i`: title, summary, takeaway and body paragraphs on its topic."""
        spec = self.spec
        rng = np.random.default_rng([spec.seed, i])
        topic = self.topic_of(i)
        paragraphs = max(1, spec.chunks_per_article - 1)
        sizes = [int(rng.integers(3, 7)), 60, 20] + [spec.words_per_paragraph] * paragraphs
        picks = np.split(self._draw(rng, topic, sum(sizes)), np.cumsum(sizes)[:-1])
        curated = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=int(rng.integers(0, 17_520)))
        return Article(
            title=" ".join(self.capitalised[picks[0]].tolist()),
            url=f"https://synthetic.example/{topic}/{i}",
            publisher=self._publishers[i % len(self._publishers)],
            curated=curated,
            topics=[f"topic-{topic}"],
            summary=self._prose(rng, picks[1]),
            key_takeaway=self._prose(rng, picks[2]),
            body="\n\n".join(self._prose(rng, p) for p in picks[3:]),
        )

    def queries(self, count: int, seed: int = 1) -> list[tuple[str, str]]:
        """Short questions built from words of random articles, with each one's article id."""
        rng = np.random.default_rng([self.spec.seed, seed, 99])
        stop = set(FUNCTION_WORDS)
        out: list[tuple[str, str]] = []
        for _ in range(count):
            i = int(rng.integers(len(self)))
            article = self.article(i)
            paragraphs = article.body.split("\n\n")
            paragraph = paragraphs[int(rng.integers(len(paragraphs)))]
            candidates = [w.strip(".").lower() for w in paragraph.split()]
            candidates = [w for w in candidates if w not in stop]
            picks = rng.choice(len(candidates), size=min(len(candidates), int(rng.integers(3, 7))))
            start = _QUESTION_STARTS[int(rng.integers(len(_QUESTION_STARTS)))]
            words = " ".join(candidates[p] for p in picks)
            out.append((f"{start} {words}?", article.id))
        return out
