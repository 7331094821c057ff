"""Mangled card exports and hostile text never crash a loader: an article or a named reason."""

from __future__ import annotations

import random
import unicodedata

import pytest

from knowledge.errors import SourceError
from knowledge.loaders.card_export import parse_card_export
from knowledge.loaders.fields import FieldError
from knowledge.loaders.safe_text import clean_article
from knowledge.loaders.text_files import parse_plain_text
from knowledge.models import Article
from tests.knowledge.loaders.test_card_export import export


@pytest.mark.parametrize("seed", range(200))
def test_a_mangled_card_export_is_read_or_refused_with_a_reason(seed: int) -> None:
    rng = random.Random(seed)
    lines = export().splitlines()
    mangled = [line for line in lines if rng.random() > 0.3]
    if seed % 3 == 0:
        rng.shuffle(mangled)
    text = "\n".join(mangled)
    try:
        card = parse_card_export(text, "mangled.txt")
    except SourceError as exc:
        assert exc.path == "mangled.txt" and exc.reason
        return
    assert card.article.title and not card.article.title.startswith("·")
    assert "Related on" not in card.article.model_dump_json()


# Characters that tend to break things: controls, format characters, surrogates, combining marks.
_NASTY = [chr(c) for c in (0, 7, 8, 0x1B, 0x7F, 0x85, 0x9B, 0xAD, 0x200B, 0x202E, 0x2066, 0xFEFF)]
_NASTY += ["\ud800", "\udfff", "\u0301", "ﬁ", "Ａ", "\u2028", "[", "]", "\r\n", "\t"]


def _hostile(rng: random.Random) -> str:
    pieces = [rng.choice(_NASTY) if rng.random() < 0.4 else rng.choice("ab c.") for _ in range(30)]
    return "".join(pieces)


@pytest.mark.parametrize("seed", range(200))
def test_hostile_text_is_cleaned_or_refused_by_field(seed: int) -> None:
    rng = random.Random(seed)
    article = Article(
        title="T " + _hostile(rng) if seed % 2 else "Title",
        publisher=_hostile(rng) if seed % 5 == 0 else "Pub",
        summary=_hostile(rng),
        body=_hostile(rng),
        key_insights=[_hostile(rng)],
        sections={"Method": _hostile(rng)},
    )
    try:
        cleaned = clean_article(article)
    except FieldError as exc:
        assert str(exc).startswith("'") or "title" in str(exc)
        return
    for text in (
        cleaned.title,
        cleaned.publisher,
        cleaned.summary,
        cleaned.body,
        *cleaned.key_insights,
    ):
        text.encode("utf-8")  # storable
        bad = [c for c in text if unicodedata.category(c) in ("Cf", "Cc", "Cs") and c not in "\t\n"]
        assert bad == [], (seed, text)
    cleaned.content_hash()


@pytest.mark.parametrize("seed", range(100))
def test_mangled_plain_text_is_read_or_refused(seed: int) -> None:
    rng = random.Random(seed)
    text = "\n".join(_hostile(rng) if rng.random() < 0.5 else "" for _ in range(6))
    try:
        article = parse_plain_text(text, "t.txt")
    except SourceError as exc:
        assert exc.reason
        return
    assert article.title and article.body
