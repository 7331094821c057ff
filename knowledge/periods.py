"""User-typed dates and periods ("2024-05-01", "7d"), read the same way by the CLI and Discord.

Each front end words the errors for its own options (`--since`, `since:`, `/digest date`); the
errors here carry what was typed so they can.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from knowledge.errors import InputError

_PERIOD = re.compile(
    r"^(?P<n>\d{1,4})\s*(?P<unit>d|day|days|w|week|weeks|m|month|months|y|year|years)$"
)
# Months and years as whole days: "3m" means about the last three months, not calendar months.
_UNIT_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}
PERIOD_EXAMPLES = "7d, 2w, 3m or 1y"


class UnreadableDateError(InputError):
    """Text that is not a YYYY-MM-DD date (nor a period, where periods are allowed)."""

    def __init__(self, text: str) -> None:
        super().__init__(f"expected YYYY-MM-DD, got {text!r}")
        self.text = text


class FutureDateError(InputError):
    """A start date after today."""

    def __init__(self, day: date) -> None:
        super().__init__(f"{day.isoformat()} is in the future")
        self.day = day


def parse_date(text: str) -> date:
    """An ISO date such as '2024-05-01'; UnreadableDateError otherwise."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UnreadableDateError(text) from None


def parse_since(text: str | None, today: date) -> date | None:
    """'2024-05-01', or '7d', '2w', '3m', '1y' back from `today`; empty -> None.

    Raises UnreadableDateError for anything else and FutureDateError for a date after `today`.
    """
    if text is None or not text.strip():
        return None
    value = text.strip().lower()
    match = _PERIOD.match(value)
    if match:
        days = int(match.group("n")) * _UNIT_DAYS[match.group("unit")[0]]
        return today - timedelta(days=days)
    parsed = parse_date(value)
    if parsed > today:
        raise FutureDateError(parsed)
    return parsed
