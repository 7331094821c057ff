"""Dates and periods typed by a user, read once for the CLI and Discord."""

from __future__ import annotations

from datetime import date

import pytest

from knowledge.periods import (
    FutureDateError,
    UnreadableDateError,
    parse_date,
    parse_since,
    parse_until,
)

TODAY = date(2026, 11, 30)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-11-01", date(2026, 11, 1)),
        (" 7d ", date(2026, 11, 23)),
        ("2 weeks", date(2026, 11, 16)),
        ("3M", date(2026, 9, 1)),
        ("1y", date(2025, 11, 30)),
        ("", None),
        (None, None),
    ],
)
def test_since_reads_dates_and_periods(typed: str | None, expected: date | None) -> None:
    assert parse_since(typed, TODAY) == expected


def test_since_refuses_what_it_cannot_read_and_the_future() -> None:
    with pytest.raises(UnreadableDateError) as unreadable:
        parse_since("last tuesday", TODAY)
    assert str(unreadable.value) == (
        "“last tuesday” is not a date or a period: use YYYY-MM-DD (e.g. 2024-05-01) "
        "or a period like 7d, 2w, 3m or 1y"
    )
    with pytest.raises(FutureDateError) as future:
        parse_since("2026-12-01", TODAY)
    assert future.value.day == date(2026, 12, 1)
    assert str(future.value) == "2026-12-01 is in the future"


def test_until_reads_dates_and_periods_and_allows_the_future() -> None:
    assert parse_until("1w", TODAY) == date(2026, 11, 23)
    assert parse_until("2026-12-31", TODAY) == date(2026, 12, 31)
    assert parse_until("  ", TODAY) is None
    with pytest.raises(UnreadableDateError, match="not a date or a period"):
        parse_until("soon", TODAY)


def test_a_plain_date_takes_no_period() -> None:
    assert parse_date("2026-11-23") == date(2026, 11, 23)
    with pytest.raises(UnreadableDateError) as unreadable:
        parse_date("7d")
    assert unreadable.value.text == "7d"
    assert str(unreadable.value) == "“7d” is not a date: use YYYY-MM-DD, e.g. 2024-05-01"


def test_what_was_typed_is_quoted_back_short() -> None:
    with pytest.raises(UnreadableDateError) as unreadable:
        parse_since("x" * 500, TODAY)
    assert "“" + "x" * 40 + "”" in str(unreadable.value) and "x" * 41 not in str(unreadable.value)
