"""Which digests were posted, so a date is posted once across restarts and hands.

Posting is claim -> send -> mark_posted. `claim` is one atomic INSERT, so of two racers (the
schedule and a moderator, or two bot processes) exactly one wins. A claim whose holder died
before marking the post (a crash mid-send) goes stale after `claim_ttl` and may be taken again;
until then the date counts as taken.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel, Field

from knowledge.state import StateDB

_SCHEMA = """
CREATE TABLE IF NOT EXISTS digest_posts (
    digest_date TEXT PRIMARY KEY,
    claimed_by  TEXT NOT NULL,
    claimed_at  TEXT NOT NULL,
    posted_at   TEXT,
    posted_by   TEXT,
    channel_id  INTEGER,
    message_ids TEXT NOT NULL DEFAULT '[]'
);
"""

_STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"


def _stamp(moment: datetime | None) -> str:
    # One fixed-width format so timestamps compare correctly as text inside SQLite.
    value = moment or datetime.now(UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime(_STAMP)


def _parse_stamp(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.strptime(text, _STAMP).replace(tzinfo=UTC)


class DigestPost(BaseModel):
    """The history of one digest date."""

    date: date
    claimed_by: str
    claimed_at: datetime
    posted_at: datetime | None = None
    posted_by: str | None = None
    channel_id: int | None = None
    message_ids: list[int] = Field(default_factory=list)

    @property
    def posted(self) -> bool:
        return self.posted_at is not None

    def describe(self) -> str:
        """'posted on 2026-11-23 09:00 UTC by @mod' (or 'being posted by ...' while claimed)."""
        if self.posted_at is not None:
            when = self.posted_at.strftime("%Y-%m-%d %H:%M UTC")
            return f"posted on {when} by {self.posted_by or self.claimed_by}"
        when = self.claimed_at.strftime("%Y-%m-%d %H:%M UTC")
        return f"being posted by {self.claimed_by} (since {when})"


class DigestHistory:
    """The `digest_posts` table of the state database."""

    def __init__(self, state: StateDB, claim_ttl: timedelta = timedelta(minutes=15)) -> None:
        self.state = state
        self.claim_ttl = claim_ttl
        state.ensure_schema(_SCHEMA)

    def claim(self, day: date, by: str, now: datetime | None = None) -> bool:
        """Take the right to post `day`; False when it is posted or someone else holds it."""
        moment = now or datetime.now(UTC)
        stale_before = _stamp(moment - self.claim_ttl)
        with self.state.transaction() as conn:
            cursor = conn.execute(
                """
                INSERT INTO digest_posts (digest_date, claimed_by, claimed_at)
                VALUES (?, ?, ?)
                ON CONFLICT (digest_date) DO UPDATE
                    SET claimed_by = excluded.claimed_by, claimed_at = excluded.claimed_at
                    WHERE digest_posts.posted_at IS NULL AND digest_posts.claimed_at < ?
                """,
                (day.isoformat(), by, _stamp(moment), stale_before),
            )
            return cursor.rowcount == 1

    def mark_posted(
        self,
        day: date,
        by: str,
        channel_id: int | None = None,
        message_ids: Sequence[int] = (),
        now: datetime | None = None,
    ) -> None:
        """Record that `day` was posted (with or without a prior claim)."""
        stamp = _stamp(now)
        ids = json.dumps([int(i) for i in message_ids])
        with self.state.transaction() as conn:
            conn.execute(
                """
                INSERT INTO digest_posts
                    (digest_date, claimed_by, claimed_at, posted_at, posted_by, channel_id,
                     message_ids)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (digest_date) DO UPDATE
                    SET posted_at = excluded.posted_at, posted_by = excluded.posted_by,
                        channel_id = excluded.channel_id, message_ids = excluded.message_ids
                """,
                (day.isoformat(), by, stamp, stamp, by, channel_id, ids),
            )

    def release(self, day: date, by: str) -> None:
        """Give back an unposted claim (the send failed), so the date can be tried again."""
        with self.state.transaction() as conn:
            conn.execute(
                "DELETE FROM digest_posts"
                " WHERE digest_date = ? AND claimed_by = ? AND posted_at IS NULL",
                (day.isoformat(), by),
            )

    def was_posted(self, day: date) -> bool:
        """Whether the digest for `day` has been posted."""
        record = self.get(day)
        return record is not None and record.posted

    def get(self, day: date) -> DigestPost | None:
        """The history of `day`: claimed or posted, or None when never touched."""
        with self.state.transaction() as conn:
            row = conn.execute(
                "SELECT * FROM digest_posts WHERE digest_date = ?", (day.isoformat(),)
            ).fetchone()
        return _to_post(row) if row is not None else None

    def last_posted(self) -> date | None:
        """The latest date whose digest was posted."""
        with self.state.transaction() as conn:
            row = conn.execute(
                "SELECT MAX(digest_date) FROM digest_posts WHERE posted_at IS NOT NULL"
            ).fetchone()
        return date.fromisoformat(row[0]) if row and row[0] else None


def _to_post(row: sqlite3.Row) -> DigestPost:
    claimed_at = _parse_stamp(row["claimed_at"])
    assert claimed_at is not None  # NOT NULL column
    return DigestPost(
        date=date.fromisoformat(row["digest_date"]),
        claimed_by=row["claimed_by"],
        claimed_at=claimed_at,
        posted_at=_parse_stamp(row["posted_at"]),
        posted_by=row["posted_by"],
        channel_id=row["channel_id"],
        message_ids=json.loads(row["message_ids"] or "[]"),
    )
