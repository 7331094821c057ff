"""Scheduled refresh: re-read the configured sources cheaply and index only what changed.

A refresh is a reindex that
- sends each feed or page URL its validators (ETag / Last-Modified) from the last refresh, so an
  unchanged source costs one small request and no parsing; its articles are kept as they are;
- keeps the articles of a source that fails (a 503, an HTML page where a feed was) instead of
  removing them; the failure is reported;
- holds the reindex lock from the first read to the last write, so it never overlaps a
  `/reindex`, `curator reindex` or another refresh; when the lock is taken it skips its turn.
Validators live in the state database, scoped by embedder and chunking, and are stored only
once the index holds what they describe: a run that dies half-way re-reads those sources.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from knowledge.digest.window import next_digest_time
from knowledge.errors import ConfigError, CuratorError, IndexBusyError
from knowledge.loaders.conditional import (
    ConditionalRequests,
    Validators,
    conditional_requests,
)
from knowledge.models import IngestReport
from knowledge.state import StateDB
from knowledge.url_credentials import without_url_credentials

if TYPE_CHECKING:
    from knowledge.index import KnowledgeIndex
    from knowledge.settings import Settings

log = logging.getLogger(__name__)

#: How long before the daily digest the bot refreshes, so the digest lists what just arrived.
DIGEST_LEAD = timedelta(minutes=5)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS source_validators (
    scope TEXT NOT NULL,
    url TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    updated_at REAL NOT NULL,
    PRIMARY KEY (scope, url)
);
"""


class ValidatorStore:
    """ETag / Last-Modified per source URL, per index scope, in the state DB."""

    def __init__(self, state: StateDB) -> None:
        self._state = state

    def load(self, scope: str) -> dict[str, Validators]:
        """url -> validators stored for `scope`."""
        self._state.ensure_schema(_SCHEMA)
        with self._state.transaction() as conn:
            rows = conn.execute(
                "SELECT url, etag, last_modified FROM source_validators WHERE scope = ?",
                (scope,),
            ).fetchall()
        return {
            row["url"]: Validators(etag=row["etag"], last_modified=row["last_modified"])
            for row in rows
        }

    def save(self, scope: str, validators: Mapping[str, Validators], when: float) -> None:
        """Replace the validators of the given URLs in `scope`."""
        if not validators:
            return
        self._state.ensure_schema(_SCHEMA)
        with self._state.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO source_validators "
                "(scope, url, etag, last_modified, updated_at) VALUES (?, ?, ?, ?, ?)",
                [(scope, url, v.etag, v.last_modified, when) for url, v in validators.items()],
            )


@dataclass
class RefreshOutcome:
    """What one refresh did; `skipped` or `error` say why it did not complete."""

    started_at: datetime
    seconds: float = 0.0
    report: IngestReport = field(default_factory=IngestReport)
    #: Source URLs that answered 304 Not Modified: kept as they were, not parsed.
    not_modified: list[str] = field(default_factory=list)
    skipped: str | None = None
    error: str | None = None
    #: Articles of the failed sources, kept as they were (not in the JSON shape).
    kept: int = 0

    @property
    def changed(self) -> bool:
        r = self.report
        return bool(r.added or r.updated or r.removed or r.repaired)

    @property
    def failed(self) -> bool:
        return self.error is not None or bool(self.report.failed)

    def summary(self) -> str:
        """One line for logs and the admin channel."""
        if self.skipped:
            return f"Refresh skipped: {self.skipped}"
        if self.error:
            return f"Refresh failed after {self.seconds:.1f} s: {self.error}"
        r = self.report
        line = (
            f"Refresh: {r.added} added, {r.updated} updated, {r.removed} removed, "
            f"{r.unchanged} unchanged"
        )
        if r.repaired:
            line += f", {r.repaired} chunk(s) repaired in the vector store"
        if self.not_modified:
            line += f" ({len(self.not_modified)} source(s) not modified)"
        if r.failed:
            line += f", {len(r.failed)} failed"
            if self.kept:
                line += f" (their {self.kept} article(s) are kept)"
        return f"{line}, in {self.seconds:.1f} s"

    def as_json(self) -> dict[str, object]:
        return {
            "started_at": self.started_at.isoformat(),
            "seconds": round(self.seconds, 3),
            **self.report.as_json(),
            "not_modified": list(self.not_modified),
            # Not "skipped": in the report that key lists the files skipped.
            "run_skipped": self.skipped,
            "error": self.error,
        }


def utc_now() -> datetime:
    return datetime.now(UTC)


class Refresher:
    """Runs refreshes of one index; safe to call from a worker thread, one call at a time."""

    def __init__(
        self,
        index: KnowledgeIndex,
        state: StateDB,
        *,
        now: Callable[[], datetime] = utc_now,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.index = index
        self.validators = ValidatorStore(state)
        self._now = now
        self._clock = clock

    @property
    def scope(self) -> str:
        """Validators hold only for the index built with this embedder and chunking."""
        return f"{self.index.embedder.name}|{self.index.policy.fingerprint}"

    def run(self) -> RefreshOutcome:
        """Refresh once and log the result; never raises (a failure is the outcome's `error`)."""
        outcome = RefreshOutcome(started_at=self._now())
        start = self._clock()
        try:
            sources = self.index.settings.knowledge.sources
            if not sources:
                outcome.skipped = "no sources are configured (CURATOR_KNOWLEDGE__SOURCES)"
            else:
                with self.index.lock():
                    self._refresh(sources, outcome)
        except IndexBusyError as exc:
            outcome.skipped = exc.user_message
        except CuratorError as exc:
            outcome.error = exc.user_message
        except Exception as exc:
            # A scheduled job has no one to raise to: the bug goes to the log with its trace and
            # to the admins as a failed refresh, and the next round runs.
            log.exception("the refresh failed unexpectedly")
            outcome.error = f"unexpected error: {type(exc).__name__}: {exc}"
        outcome.seconds = self._clock() - start
        _log(outcome)
        return outcome

    def _refresh(self, sources: list[str], outcome: RefreshOutcome) -> None:
        index = self.index
        # An embedder switch left half-way or a store that lost vectors is mended first, so
        # an unattended deployment heals without an admin.
        repaired = index.heal_locked()
        per_origin = Counter(index.catalog.origins().values())
        scope = self.scope
        stored = self.validators.load(scope)
        # Validators only for sources whose articles the index holds: a source dropped and
        # added back, or a new empty collection, must be read in full.
        known = {url: v for url, v in stored.items() if per_origin.get(url)}
        session = ConditionalRequests(known)
        with conditional_requests(session):
            loaded = index.read_sources(sources)
        index.remember_feeds(loaded)
        # As `reindex` reports it, but a source not modified is no failure.
        report = outcome.report = index.load_report(loaded)
        report.repaired = repaired
        # Failures name URLs with their credentials hidden; origins and validators keep them.
        not_modified = {without_url_credentials(url) for url in session.not_modified}
        report.failed = [f for f in report.failed if f.path not in not_modified]
        failed = {f.path for f in report.failed}
        outcome.kept = sum(
            n for origin, n in per_origin.items() if without_url_credentials(origin) in failed
        )
        # Not-modified sources count as failures for planning: that is what keeps their articles.
        index.write_loaded(loaded, report, remove_missing=True)
        report.unchanged += sum(per_origin[url] for url in session.not_modified)
        outcome.not_modified = sorted(not_modified)
        self.validators.save(scope, session.fresh, time.time())


def _log(outcome: RefreshOutcome) -> None:
    details = {"refresh": outcome.as_json()}
    if outcome.skipped:
        log.info(outcome.summary(), extra=details)
    elif outcome.failed:
        log.warning(outcome.summary(), extra=details)
        for failure in outcome.report.failed:
            log.warning(
                "refresh could not read a source",
                extra={"source": failure.path, "reason": failure.reason},
            )
    elif outcome.changed:
        log.info(outcome.summary(), extra=details)
    else:
        log.debug(outcome.summary(), extra=details)


def next_refresh_at(
    now: datetime, last_run: datetime | None, settings: Settings
) -> datetime | None:
    """When the next scheduled refresh is due (aware datetimes), or None when refresh is off.

    Every `refresh_minutes` after the last run (at once when there was none), and also
    DIGEST_LEAD before each daily digest when a digest channel is set, unless a refresh ran
    within that lead already.
    """
    minutes = settings.knowledge.refresh_minutes
    if minutes == 0 or not settings.knowledge.sources:
        return None
    if last_run is None:
        return now
    due = last_run + timedelta(minutes=minutes)
    if settings.digest.channel_id is not None:
        before_digest = next_digest_time(last_run, settings.digest) - DIGEST_LEAD
        if last_run < before_digest < due:
            due = before_digest
    return due


def refresh_off_reason(settings: Settings) -> str | None:
    """Why scheduled refresh is off, naming only the settings that turn it off (no sources,
    REFRESH_MINUTES 0); None when it is on."""
    missing = []
    if not settings.knowledge.sources:
        missing.append("set CURATOR_KNOWLEDGE__SOURCES to the paths and URLs to watch")
    if settings.knowledge.refresh_minutes == 0:
        missing.append(
            "set CURATOR_KNOWLEDGE__REFRESH_MINUTES to how often, in minutes (0 turns it off)"
        )
    return f"Scheduled refresh is off: {' and '.join(missing)}." if missing else None


def run_on_schedule(
    refresher: Refresher,
    settings: Settings,
    on_outcome: Callable[[RefreshOutcome], None],
    *,
    now: Callable[[], datetime] = utc_now,
    sleep: Callable[[float], None] = time.sleep,
    max_sleep_s: float = 60.0,
) -> None:
    """Refresh whenever `next_refresh_at` says, forever (the caller stops it, e.g. Ctrl-C).

    Raises ConfigError when refresh is off (refresh_minutes 0 or no sources): there would be
    nothing to wait for; its message is `refresh_off_reason`'s.
    """
    last_run: datetime | None = None
    while True:
        due = next_refresh_at(now(), last_run, settings)
        if due is None:
            raise ConfigError(refresh_off_reason(settings) or "Scheduled refresh is off.")
        wait = (due - now()).total_seconds()
        if wait > 0:
            sleep(min(wait, max_sleep_s))
            continue
        last_run = now()
        on_outcome(refresher.run())
