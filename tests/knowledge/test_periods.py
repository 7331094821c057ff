"""Dates and periods typed by a user, read once for the CLI and Discord."""

from __future__ import annotations

from datetime import date

import pytest

from knowledge.periods import FutureDateError, UnreadableDateError, parse_date, parse_since

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
    with pytest.raises(UnreadableDateError, match="expected YYYY-MM-DD, got 'last tuesday'"):
        parse_since("last tuesday", TODAY)
    with pytest.raises(FutureDateError) as future:
        parse_since("2026-12-01", TODAY)
    assert future.value.day == date(2026, 12, 1)


def test_a_plain_date_takes_no_period() -> None:
    assert parse_date("2026-11-23") == date(2026, 11, 23)
    with pytest.raises(UnreadableDateError) as unreadable:
        parse_date("7d")
    assert unreadable.value.text == "7d"
