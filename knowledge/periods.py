"""User-typed dates and periods ("2024-05-01", "7d"), read the same way by the CLI and Discord.

The errors carry the whole reason, what was typed included; each front end only names its option
in front of it (`--since`, `since:`, `/digest date:`), so both say the same thing.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from knowledge.errors import InputError

_PERIOD = re.compile(
    r"^(?P<n>\d{1,4})\s*(?P<unit>d|day|days|w|week|weeks|m|month|months|y|year|years)$"
)
# Months and years as whole days: "3m" means about the last three months, not calendar months.
_UNIT_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}
PERIOD_EXAMPLES = "7d, 2w, 3m or 1y"
# What was typed is quoted back, but not a whole paragraph of it.
_SHOWN_CHARS = 40


class UnreadableDateError(InputError):
    """Text that is not a YYYY-MM-DD date (nor a period, where periods are allowed)."""

    def __init__(self, text: str, periods: bool = False) -> None:
        shown = text.strip()[:_SHOWN_CHARS]
        if periods:
            reason = (
                f"“{shown}” is not a date or a period: use YYYY-MM-DD (e.g. 2024-05-01) "
                f"or a period like {PERIOD_EXAMPLES}"
            )
        else:
            reason = f"“{shown}” is not a date: use YYYY-MM-DD, e.g. 2024-05-01"
        super().__init__(reason)
        self.text = text


class FutureDateError(InputError):
    """A start date after today."""

    def __init__(self, day: date) -> None:
        super().__init__(f"{day.isoformat()} is in the future")
        self.day = day


def utc_today() -> date:
    """Today's date in UTC: what "today" means for `since` filters in every front end."""
    return datetime.now(UTC).date()


def parse_date(text: str) -> date:
    """An ISO date such as '2024-05-01'; UnreadableDateError otherwise."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UnreadableDateError(text) from None


def parse_day_or_period(text: str, today: date) -> date:
    """'2024-05-01', or the day '7d', '2w', '3m', '1y' back from `today`.

    Raises UnreadableDateError (wording both forms) for anything else.
    """
    value = text.strip().lower()
    match = _PERIOD.match(value)
    if match:
        days = int(match.group("n")) * _UNIT_DAYS[match.group("unit")[0]]
        return today - timedelta(days=days)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UnreadableDateError(text, periods=True) from None


def parse_since(text: str | None, today: date) -> date | None:
    """The first day of a filter: a date or a period (see parse_day_or_period); empty -> None.

    Raises UnreadableDateError for anything else and FutureDateError for a date after `today`.
    """
    if text is None or not text.strip():
        return None
    parsed = parse_day_or_period(text, today)
    if parsed > today:
        raise FutureDateError(parsed)
    return parsed


def parse_until(text: str | None, today: date) -> date | None:
    """The last day of a range: a date or a period back from `today`; empty -> None.

    A date after today is allowed (the range simply has no articles there yet).
    """
    if text is None or not text.strip():
        return None
    return parse_day_or_period(text, today)
