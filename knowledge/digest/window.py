"""Which stretch of time a digest covers, computed in the digest's timezone.

A daily digest for date D covers the articles curated from the digest time on D-1 up to (not
including) the digest time on D, both read as wall-clock times in the configured timezone. We
chose "since the previous digest time" over "the 24 hours before": consecutive daily digests then
tile the timeline exactly, so across a DST change no article is listed twice (fall back) or
skipped (spring forward). The price is that a DST day's window is 23 or 25 hours long.

Some cards are curated on a calendar date with no time ("curated: 2026-11-20"). Such a date is
a day, not the instant midnight UTC, so it is placed by days in every timezone:
- a range digest (`--since D1 --until D2`) lists the cards dated D1 to D2, inclusive;
- the daily digest of D lists the cards dated D-1: the first digest due after that day ended.
Each dated card thus appears in exactly one daily digest, whatever CURATOR_DIGEST__TIMEZONE is.

All arithmetic is done in UTC: Python compares two datetimes that share a tzinfo by wall clock,
which is wrong around a DST change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from knowledge.errors import InputError
from knowledge.settings import DigestSettings

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class DigestWindow:
    """The half-open interval [start, end) of curated times one digest covers."""

    date: dt.date
    start: datetime
    end: datetime
    daily: bool
    #: The calendar days a range digest was asked for (both inclusive); the window's days otherwise.
    first_day: dt.date
    last_day: dt.date
    #: Cards curated on a calendar date (no time) are listed when that date is in this range.
    dates_from: dt.date
    dates_to: dt.date

    @property
    def start_utc(self) -> datetime:
        return self.start.astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        return self.end.astimezone(UTC)

    @property
    def hours(self) -> float:
        """Length in real hours (23 or 25 for a daily window across a DST change)."""
        return (self.end_utc - self.start_utc).total_seconds() / 3600

    def contains(self, moment: datetime) -> bool:
        """Whether an aware `moment` falls within [start, end)."""
        utc = moment.astimezone(UTC)
        return self.start_utc <= utc < self.end_utc

    def lists(self, curated: datetime, is_date: bool) -> bool:
        """Whether a card curated at `curated` (a calendar date if `is_date`) belongs here."""
        if is_date:
            return self.dates_from <= curated.astimezone(UTC).date() <= self.dates_to
        return self.contains(curated)

    @property
    def query_start_utc(self) -> datetime:
        """Earliest stored curated time this window can list (calendar dates are midnight UTC)."""
        return min(self.start_utc, datetime.combine(self.dates_from, time.min, tzinfo=UTC))

    @property
    def query_end_utc(self) -> datetime:
        """Exclusive end of the stored curated times this window can list."""
        after = datetime.combine(self.dates_to + _ONE_DAY, time.min, tzinfo=UTC)
        return max(self.end_utc, after)


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`at` on `day` in `zone` as an aware datetime, resolving DST gaps and folds.

    A wall time that does not exist (inside a spring-forward gap) moves forward by the gap; an
    ambiguous one (fall back) is its first occurrence. Both follow from PEP 495's fold=0.
    """
    wall = datetime.combine(day, at).replace(tzinfo=zone)
    return wall.astimezone(UTC).astimezone(zone)


def digest_instant(day: date, settings: DigestSettings) -> datetime:
    """The moment the digest for `day` is due."""
    return local_instant(day, settings.time, settings.timezone)


def daily_window(day: date, settings: DigestSettings) -> DigestWindow:
    """The window of the daily digest for `day`: previous digest time to this one."""
    start = digest_instant(day - _ONE_DAY, settings)
    end = digest_instant(day, settings)
    return DigestWindow(
        date=day,
        start=start,
        end=end,
        daily=True,
        first_day=start.date(),
        last_day=end.date(),
        dates_from=day - _ONE_DAY,
        dates_to=day - _ONE_DAY,
    )


def latest_digest_date(now: datetime, settings: DigestSettings) -> date:
    """The date of the most recent digest time at or before `now` (an aware datetime)."""
    now_utc = _aware(now).astimezone(UTC)
    today = now_utc.astimezone(settings.timezone).date()
    if digest_instant(today, settings).astimezone(UTC) <= now_utc:
        return today
    return today - _ONE_DAY


def next_digest_time(now: datetime, settings: DigestSettings) -> datetime:
    """The first digest time strictly after `now`."""
    now_utc = _aware(now).astimezone(UTC)
    day = latest_digest_date(now, settings) + _ONE_DAY
    candidate = digest_instant(day, settings)
    # Only a wall time squeezed by a DST gap could land at or before now; step once more then.
    if candidate.astimezone(UTC) <= now_utc:
        candidate = digest_instant(day + _ONE_DAY, settings)
    return candidate


def range_window(since: date, until: date, settings: DigestSettings) -> DigestWindow:
    """Midnight of `since` to the end of `until` (inclusive days) in the digest timezone."""
    if until < since:
        raise InputError(f"--until ({until.isoformat()}) is before --since ({since.isoformat()}).")
    zone = settings.timezone
    start = local_instant(since, time.min, zone)
    end = local_instant(until + _ONE_DAY, time.min, zone)
    return DigestWindow(
        date=until,
        start=start,
        end=end,
        daily=False,
        first_day=since,
        last_day=until,
        dates_from=since,
        dates_to=until,
    )


def resolve_window(
    settings: DigestSettings,
    day: date | None = None,
    since: date | None = None,
    until: date | None = None,
    now: datetime | None = None,
) -> DigestWindow:
    """The window for a digest request: a date, a range, or (default) the latest digest time."""
    if day is not None and (since is not None or until is not None):
        raise InputError("Give either a date or a --since/--until range, not both.")
    if until is not None and since is None:
        raise InputError("--until needs --since: give the first day of the range too.")
    current = _aware(now) if now is not None else datetime.now(UTC)
    if since is not None:
        if until is None:
            until = current.astimezone(settings.timezone).date()
            if since > until:
                raise InputError(f"--since ({since.isoformat()}) is after today ({until}).")
        return range_window(since, until, settings)
    if day is None:
        day = latest_digest_date(current, settings)
    return daily_window(day, settings)


def _aware(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC, like everywhere else in Curator."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
