"""Digest windows: the digest time in its timezone, across DST changes, dates and ranges."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from knowledge.digest.window import (
    daily_window,
    latest_digest_date,
    next_digest_time,
    resolve_window,
)
from knowledge.errors import InputError
from knowledge.settings import DigestSettings
from tests.knowledge.digest.fakes import utc

BERLIN = DigestSettings(time=time(9, 0), timezone=ZoneInfo("Europe/Berlin"))
NEW_YORK = DigestSettings(time=time(8, 30), timezone=ZoneInfo("America/New_York"))


def test_ordinary_day_is_the_24_hours_before_the_digest_time() -> None:
    window = daily_window(date(2026, 11, 23), BERLIN)
    # 09:00 CET is 08:00 UTC in November.
    assert window.start_utc == utc(2026, 11, 22, 8, 0)
    assert window.end_utc == utc(2026, 11, 23, 8, 0)
    assert window.hours == 24
    assert window.end.utcoffset() == timedelta(hours=1)


def test_same_date_means_different_instants_in_different_timezones() -> None:
    tokyo = daily_window(
        date(2026, 11, 23), DigestSettings(time=time(9, 0), timezone=ZoneInfo("Asia/Tokyo"))
    )
    la = daily_window(
        date(2026, 11, 23),
        DigestSettings(time=time(9, 0), timezone=ZoneInfo("America/Los_Angeles")),
    )
    assert tokyo.end_utc == utc(2026, 11, 23, 0, 0)
    assert la.end_utc == utc(2026, 11, 23, 17, 0)
    assert tokyo.contains(utc(2026, 11, 22, 12, 0))
    assert not la.contains(utc(2026, 11, 22, 12, 0))  # belongs to LA's 22 Nov digest


def test_spring_forward_day_is_23_hours_and_misses_nothing() -> None:
    # Berlin moves from CET to CEST on 29 Mar 2026.
    before = daily_window(date(2026, 3, 29), BERLIN)
    after = daily_window(date(2026, 3, 30), BERLIN)
    assert before.start_utc == utc(2026, 3, 28, 8, 0)  # 09:00 CET
    assert before.end_utc == utc(2026, 3, 29, 7, 0)  # 09:00 CEST
    assert before.hours == 23
    assert after.hours == 24
    # Consecutive windows tile: an article at either boundary is in exactly one digest.
    assert before.end_utc == after.start_utc
    boundary = utc(2026, 3, 29, 7, 0)
    assert not before.contains(boundary) and after.contains(boundary)
    # "24 hours before" would have reached back to 07:00 UTC on the 28th, an hour the previous
    # digest already covered: an article curated then would be listed twice.
    assert before.contains(utc(2026, 3, 29, 6, 30))
    assert not before.contains(utc(2026, 3, 28, 7, 30))


def test_fall_back_day_is_25_hours_and_lists_nothing_twice() -> None:
    # Berlin moves back to CET on 25 Oct 2026.
    fall = daily_window(date(2026, 10, 25), BERLIN)
    prev = daily_window(date(2026, 10, 24), BERLIN)
    assert fall.start_utc == utc(2026, 10, 24, 7, 0)  # 09:00 CEST
    assert fall.end_utc == utc(2026, 10, 25, 8, 0)  # 09:00 CET
    assert fall.hours == 25
    assert prev.end_utc == fall.start_utc
    assert fall.contains(utc(2026, 10, 24, 7, 30))
    assert not prev.contains(utc(2026, 10, 24, 7, 30))


def test_new_york_dst_changes() -> None:
    spring = daily_window(date(2026, 3, 8), NEW_YORK)
    fall = daily_window(date(2026, 11, 1), NEW_YORK)
    assert spring.hours == 23 and fall.hours == 25
    assert spring.end_utc == utc(2026, 3, 8, 12, 30)  # 08:30 EDT
    assert fall.end_utc == utc(2026, 11, 1, 13, 30)  # 08:30 EST


def test_digest_time_inside_the_dst_gap_moves_forward() -> None:
    # 02:30 does not exist in Berlin on 29 Mar 2026; it is read as 03:30 CEST.
    settings = DigestSettings(time=time(2, 30), timezone=ZoneInfo("Europe/Berlin"))
    window = daily_window(date(2026, 3, 29), settings)
    assert window.end_utc == utc(2026, 3, 29, 1, 30)
    assert window.end.hour == 3 and window.end.minute == 30


def test_latest_digest_date_switches_at_the_digest_time() -> None:
    # 07:59 UTC is 08:59 in Berlin in November: today's digest is not due yet.
    assert latest_digest_date(utc(2026, 11, 23, 7, 59), BERLIN) == date(2026, 11, 22)
    assert latest_digest_date(utc(2026, 11, 23, 8, 0), BERLIN) == date(2026, 11, 23)
    # Late evening in New York is already the next day in UTC.
    assert latest_digest_date(utc(2026, 11, 24, 3, 0), NEW_YORK) == date(2026, 11, 23)


def test_next_digest_time_across_a_dst_change() -> None:
    after = next_digest_time(utc(2026, 3, 28, 9, 0), BERLIN)
    assert after.astimezone(ZoneInfo("UTC")) == utc(2026, 3, 29, 7, 0)
    assert (after.astimezone(ZoneInfo("UTC")) - utc(2026, 3, 28, 9, 0)) == timedelta(hours=22)
    exactly = next_digest_time(utc(2026, 11, 23, 8, 0), BERLIN)
    assert exactly.astimezone(ZoneInfo("UTC")) == utc(2026, 11, 24, 8, 0)


def test_resolve_defaults_to_the_latest_digest_time() -> None:
    window = resolve_window(BERLIN, now=utc(2026, 11, 23, 12, 0))
    assert window.date == date(2026, 11, 23) and window.daily
    naive_now = resolve_window(BERLIN, now=datetime(2026, 11, 23, 7, 0))  # naive = UTC
    assert naive_now.date == date(2026, 11, 22)


def test_range_covers_whole_local_days_inclusive() -> None:
    window = resolve_window(BERLIN, since=date(2026, 11, 10), until=date(2026, 11, 23))
    assert not window.daily
    assert window.start_utc == utc(2026, 11, 9, 23, 0)  # local midnight, CET
    assert window.end_utc == utc(2026, 11, 23, 23, 0)
    assert window.date == date(2026, 11, 23)


def test_range_without_until_runs_to_today() -> None:
    window = resolve_window(BERLIN, since=date(2026, 11, 20), now=utc(2026, 11, 23, 12, 0))
    assert window.last_day == date(2026, 11, 23)


@pytest.mark.parametrize(
    ("kwargs", "phrase"),
    [
        ({"day": date(2026, 11, 1), "since": date(2026, 11, 1)}, "not both"),
        ({"until": date(2026, 11, 1)}, "--until needs --since"),
        ({"since": date(2026, 11, 5), "until": date(2026, 11, 1)}, "before --since"),
        ({"since": date(2027, 1, 1)}, "after today"),
    ],
)
def test_bad_combinations_name_the_problem(kwargs: dict[str, date], phrase: str) -> None:
    with pytest.raises(InputError, match=phrase):
        resolve_window(BERLIN, now=utc(2026, 11, 23, 12, 0), **kwargs)
