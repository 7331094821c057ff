"""Shared field validation: dates, topics, lists and the required title and url."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from knowledge.loaders.fields import (
    FieldError,
    common_fields,
    list_field,
    optional_url,
    parse_when,
    topics_field,
)
from knowledge.loaders.markdown import parse_card
from knowledge.loaders.records import record_to_article


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-22", datetime(2026, 11, 22, tzinfo=UTC)),
        ("2026-11-22T08:30:00Z", datetime(2026, 11, 22, 8, 30, tzinfo=UTC)),
        ("2026-11-22T10:30:00+02:00", datetime(2026, 11, 22, 8, 30, tzinfo=UTC)),
        ("2026-11-22 08:30", datetime(2026, 11, 22, 8, 30, tzinfo=UTC)),
        (date(2026, 11, 22), datetime(2026, 11, 22, tzinfo=UTC)),
        (datetime(2026, 11, 22, 8, 30), datetime(2026, 11, 22, 8, 30, tzinfo=UTC)),
        (
            datetime(2026, 11, 22, 3, 30, tzinfo=timezone(timedelta(hours=-5))),
            datetime(2026, 11, 22, 8, 30, tzinfo=UTC),
        ),
    ],
)
def test_dates_and_datetimes_become_aware_utc(value: object, expected: datetime) -> None:
    parsed = parse_when(value, "published")
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize("value", ["22/11/2026", "yesterday", "2026-13-01", 20261122, ["2026"]])
def test_invalid_dates_name_the_field_and_the_accepted_formats(value: object) -> None:
    with pytest.raises(FieldError) as caught:
        parse_when(value, "curated")
    assert "invalid date in 'curated'" in str(caught.value)
    assert "YYYY-MM-DD" in str(caught.value)


def test_topics_from_list_or_comma_string_are_lowercased_and_deduplicated() -> None:
    assert topics_field({"topics": ["Retrieval", " LLM ", "retrieval"]}) == ["retrieval", "llm"]
    assert topics_field({"topics": "Agents, prompting,,  "}) == ["agents", "prompting"]
    assert topics_field({}) == []
    with pytest.raises(FieldError, match="'topics' must be a list or a text"):
        topics_field({"topics": {"a": 1}})


def test_text_lists_accept_one_item_per_line_with_bullets() -> None:
    assert list_field({"key_insights": "- first\n* second\n\n3. third"}, "key_insights") == [
        "first",
        "second",
        "third",
    ]
    assert list_field({"best_for": "engineers, and managers"}, "best_for") == [
        "engineers, and managers"
    ]
    with pytest.raises(FieldError, match="'best_for' items must be text"):
        list_field({"best_for": [["nested"]]}, "best_for")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"url": "ftp://example.com/paper"}, "must be an http(s) URL"),
        ({"url": "example.com/paper"}, "must be an http(s) URL"),
        ({"url": "https://"}, "must be an http(s) URL"),
        ({"url": "https://exa mple.com/"}, "must be an http(s) URL"),
        ({"url": 42}, "'url' must be text"),
    ],
)
def test_url_must_be_http(fields: dict[str, object], message: str) -> None:
    with pytest.raises(FieldError, match=re.escape(message)):
        optional_url(fields)


def test_url_may_be_absent() -> None:
    assert optional_url({}) == optional_url({"url": "   "}) == ""


def test_common_fields_accept_record_style_date_names() -> None:
    fields = common_fields(
        {
            "title": "  A   title ",
            "url": "https://example.com/a",
            "published_at": "2025-01-02",
            "curated_at": "2026-11-22T08:30:00Z",
            "depth": "Deep",
        }
    )
    assert fields["title"] == "A title"
    assert fields["published"] == datetime(2025, 1, 2, tzinfo=UTC)
    assert fields["curated"] == datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
    assert fields["depth"] == "deep"
    with pytest.raises(FieldError, match="missing required field 'title'"):
        common_fields({"url": "https://example.com/a"})


def test_cards_and_records_take_either_spelling_of_the_dates() -> None:
    """As the README says: `curated`/`published` or `curated_at`/`published_at`, in both."""
    card = parse_card(
        "---\ntitle: A card\ncurated_at: 2026-11-22T08:30:00Z\npublished_at: 2025-01-02\n---\n"
        "Body text.\n",
        "card.md",
    )
    record = record_to_article(
        {"title": "A record", "curated": "2026-11-22T08:30:00Z", "published": "2025-01-02"},
        "records.jsonl:line 1",
    )
    for article in (card, record):
        assert article.curated == datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
        assert article.published == datetime(2025, 1, 2, tzinfo=UTC)
    both = common_fields({"title": "T", "curated": "2026-11-20", "curated_at": "2026-11-21"})
    assert both["curated"] == datetime(2026, 11, 20, tzinfo=UTC), "the short name wins"
