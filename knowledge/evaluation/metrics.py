"""Retrieval metrics as pure functions: answer matching, ranks, hits@k, MRR, percentiles."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")

_SPACE = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower-cased text with every run of whitespace turned into one space."""
    return _SPACE.sub(" ", text.casefold()).strip()


def contains_answer(text: str, answers: Iterable[str]) -> bool:
    """Whether `text` holds one of the gold answers, ignoring case and whitespace layout."""
    folded = fold(text)
    return any(a and a in folded for a in (fold(answer) for answer in answers))


def first_rank(items: Sequence[T], relevant: Callable[[T], bool]) -> int | None:
    """1-based rank of the first relevant item, or None when none is."""
    for rank, item in enumerate(items, start=1):
        if relevant(item):
            return rank
    return None


def hits_at(ranks: Sequence[int | None], k: int) -> float:
    """Share of questions whose first relevant result is within the top `k`."""
    if not ranks:
        return 0.0
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def mrr_at(ranks: Sequence[int | None], k: int) -> float:
    """Mean reciprocal rank, counting a question as 0 when nothing relevant is in the top `k`."""
    if not ranks:
        return 0.0
    return sum(1.0 / r for r in ranks if r is not None and r <= k) / len(ranks)


def percentile(values: Sequence[float], p: float) -> float:
    """The `p`-th percentile (0-100) with linear interpolation, as numpy's default does."""
    if not values:
        return 0.0
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0..100, got {p}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * p / 100
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
