"""Content words of questions and passages, for coverage checks and follow-up rewriting."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

import Stemmer

WORD = re.compile(r"\w+", re.UNICODE)


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Common English function words: they carry no topic, so coverage and carry-over ignore them.
STOPWORDS = _word_set(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing done down during each
    else even ever few for from further get gets got had has have having he her here hers
    herself him himself his how i if in into is it its itself just know let like made make many
    may me might more most much must my myself no nor not now of off on once one only or other
    ought our ours ourselves out over own please really said same say says see she should so
    some such tell than that the their theirs them themselves then there these they thing things
    this those through to too under until up upon us use used very want was way we well were
    what when where which while who whom whose why will with within without would yes yet you
    your yours yourself yourselves"""
)


def key_terms(text: str) -> list[str]:
    """Content words of `text` in order of appearance, lower-cased, without repeats."""
    seen: list[str] = []
    for word in WORD.findall(text.lower()):
        if word in STOPWORDS or (len(word) < 3 and not word.isdigit()):
            continue
        if word not in seen:
            seen.append(word)
    return seen


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def stems(words: Iterable[str]) -> set[str]:
    """English stems of lower-cased words, so 'articles' meets 'article'."""
    return set(_stemmer().stemWords([w.lower() for w in words]))
