"""Article text is normalised at ingest: nothing invisible or executable reaches members."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from knowledge import models
from knowledge.loaders import load_sources
from knowledge.loaders.safe_text import normalise_text
from knowledge.models import Article
from knowledge.settings import KnowledgeSettings

Write = Callable[[str, str | bytes], Path]


def _load_one(write: Write, record: dict[str, object]) -> Article:
    path = write("one.jsonl", json.dumps(record) + "\n")
    result = load_sources([str(path)], KnowledgeSettings())
    assert result.failures == []
    (article,) = result.articles
    return article


def test_zero_width_and_bidi_override_characters_are_removed(write: Write) -> None:
    article = _load_one(
        write,
        {
            "title": "Pay\u200bment \u202egnp.exe\u202c guide",
            "url": "https://example.com/pay",
            "body": "Send the\u2060 money to\ufeff acc\u200dount 12.",
        },
    )
    assert article.title == "Payment gnp.exe guide"
    assert article.body == "Send the money to account 12."


def test_terminal_escape_sequences_are_removed_whole(write: Write) -> None:
    article = _load_one(
        write,
        {
            "title": "Colours",
            "url": "https://example.com/colours",
            "summary": "Plain \x1b[31mred\x1b[0m and a \x1b]0;pwned\x07title and \x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\.",
            "body": "Tabs\tstay.\nLines stay.\r\nNUL\x00 goes.",
        },
    )
    assert article.summary == "Plain red and a title and link."
    assert article.body == "Tabs\tstay.\nLines stay.\nNUL goes."


def test_compatibility_forms_are_normalised_nfkc(write: Write) -> None:
    article = _load_one(
        write,
        {
            "title": "Ｆｕｌｌ ｗｉｄｔｈ ﬁne",
            "url": "https://example.com/nfkc",
            "topics": ["ＲＡＧ"],
        },
    )
    assert article.title == "Full width fine"
    assert article.topics == ["rag"]


def test_a_title_made_only_of_invisible_characters_fails_alone(write: Write) -> None:
    path = write(
        "two.jsonl",
        json.dumps({"title": "\u200b\u200b", "url": "https://example.com/a"})
        + "\n"
        + json.dumps({"title": "Visible", "url": "https://example.com/b"})
        + "\n",
    )
    result = load_sources([str(path)], KnowledgeSettings())
    assert [a.title for a in result.articles] == ["Visible"]
    assert [f.path for f in result.failures] == [f"{path}:line 1"]


def test_normalise_text_keeps_ordinary_text_as_is() -> None:
    text = "Café — “quotes”, emoji 🙂, 日本語.\n\nSecond paragraph\twith a tab."
    assert normalise_text(text) == text


def test_the_format_version_is_part_of_the_content_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    # Bumping it is what makes every index re-chunk text read under the old rules.
    article = Article(title="t", url="https://example.com/t")
    before = article.content_hash()
    monkeypatch.setattr(models, "ARTICLE_FORMAT_VERSION", "test-next")
    assert article.content_hash() != before
