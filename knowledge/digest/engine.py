"""DigestService: a window's articles -> a Digest with an intro and topic sections."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import Literal

from knowledge.answers.llm import LLMClient, LLMUnavailableError
from knowledge.curation import ArticleIndex
from knowledge.digest.contents import Digest, IntroCitation
from knowledge.digest.grouping import group_by_topic
from knowledge.digest.llm_intro import write_llm_intro
from knowledge.digest.template import template_intro
from knowledge.digest.window import DigestWindow, resolve_window
from knowledge.models import to_utc_datetime
from knowledge.settings import Settings

log = logging.getLogger(__name__)


class DigestService:
    """Builds digests; the LLM (from settings, or injected) only writes the intro."""

    def __init__(
        self, settings: Settings, index: ArticleIndex, llm: LLMClient | None = None
    ) -> None:
        """`llm` is a client shared with other services, closed by its owner; without one the
        service builds its own from settings (None when no model is configured)."""
        self.settings = settings
        self.index = index
        self._owns_llm = llm is None
        self.llm = llm if llm is not None else LLMClient.from_settings(settings.llm)

    def window(
        self,
        date: dt.date | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
        now: dt.datetime | None = None,
    ) -> DigestWindow:
        """The window a build with these arguments covers (raises InputError on bad ones)."""
        return resolve_window(self.settings.digest, day=date, since=since, until=until, now=now)

    async def build(
        self,
        date: dt.date | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
        now: dt.datetime | None = None,
    ) -> Digest:
        """The digest of a date, a range, or (default) the latest digest time at or before now."""
        window = self.window(date=date, since=since, until=until, now=now)
        started = time.perf_counter()
        # Wide enough for calendar-date cards in any zone; `lists` then decides each card.
        found = await asyncio.to_thread(
            self.index.list_articles, since=window.query_start_utc, until=window.query_end_utc
        )
        articles = [
            a
            for a in found
            if a.curated is not None and window.lists(to_utc_datetime(a.curated), a.curated_is_date)
        ]
        sections = group_by_topic(articles)
        count = sum(len(s.articles) for s in sections)
        intro = template_intro(sections, window)
        mode: Literal["llm", "template"] = "template"
        citations: list[IntroCitation] = []
        if count and self.llm is not None:
            try:
                written = await write_llm_intro(
                    self.llm, sections, {a.id: a for a in articles}, window
                )
            except LLMUnavailableError as exc:
                log.warning("LLM unavailable for the digest intro, using the template: %s", exc)
                written = None
            except Exception:
                # A digest must still go out; a broken intro is not worth a missed day.
                log.exception("LLM digest intro failed, using the template")
                written = None
            if written is not None:
                intro, citations, mode = written.text, written.citations, "llm"
        log.info(
            "digest built",
            extra={
                "digest_date": window.date.isoformat(),
                "articles": count,
                "intro_mode": mode,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return Digest(
            date=window.date,
            start=window.start,
            end=window.end,
            timezone=self.settings.digest.timezone.key,
            daily=window.daily,
            intro=intro,
            intro_mode=mode,
            sections=sections,
            article_count=count,
            citations=citations,
        )

    async def aclose(self) -> None:
        """Close the LLM client this service built (a client handed in is its owner's to
        close)."""
        if self._owns_llm and self.llm is not None:
            await self.llm.aclose()
