"""AnswerService: question -> retrieval -> (refusal | LLM answer | extractive answer) -> Answer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal, Protocol

from knowledge.answers.citations import validate_citations
from knowledge.answers.extractive import extractive_answer
from knowledge.answers.followup import rewrite_followup
from knowledge.answers.guard import FRAGMENT_CHARS, recites_instructions
from knowledge.answers.llm import LLMClient, LLMUnavailableError
from knowledge.answers.prompt import Source, build_messages, number_sources
from knowledge.answers.question import clean_question
from knowledge.answers.refusal import RefusalPolicy, RetrievalStrength, assess
from knowledge.embeddings.base import Embedder
from knowledge.index import KnowledgeIndex
from knowledge.models import Answer, Article, Citation, Hit, SearchFilters, Timings, Turn
from knowledge.settings import Settings
from knowledge.store.sentence_store import SentenceStore

log = logging.getLogger(__name__)

AnswerMode = Literal["llm", "extractive"]
MAX_CLOSEST = 3
UNCITED_NOTICE = "This answer cites none of the curated articles; treat it with care."
WITHHELD_NOTICE = (
    "The language model's reply repeated its own instructions, so it was withheld; "
    "showing quoted passages instead."
)


class SearchableIndex(Protocol):
    """The part of KnowledgeIndex answers need (tests may pass a smaller stand-in)."""

    @property
    def embedder(self) -> Embedder: ...

    def search(
        self, query: str, k: int | None = None, filters: SearchFilters | None = None
    ) -> list[Hit]:
        """Best hits for `query`."""
        ...

    def get_article(self, article_id: str) -> Article | None:
        """One article by id."""
        ...


@dataclass
class _Prepared:
    """Everything decided before generation."""

    question: str
    query: str
    history: list[Turn]
    filters: SearchFilters | None
    sources: list[Source]
    notices: list[str] = field(default_factory=list)
    strength: RetrievalStrength | None = None
    llm_failed: bool = False
    started: float = 0.0
    retrieve_ms: float = 0.0


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


def _describe_filters(filters: SearchFilters | None) -> str:
    if filters is None or filters.is_empty():
        return ""
    parts = []
    if filters.topic:
        parts.append(f"topic '{filters.topic}'")
    if filters.source:
        parts.append(f"source '{filters.source}'")
    if filters.since:
        parts.append(f"since {filters.since.isoformat()}")
    if filters.until:
        parts.append(f"until {filters.until.isoformat()}")
    return ", ".join(parts)


def _closest_line(citation: Citation) -> str:
    return f"- {citation.title}" + (f" ({citation.source})" if citation.source else "")


class AnswerService:
    """Grounded answers with validated citations, or an honest refusal."""

    def __init__(
        self, settings: Settings, index: SearchableIndex, llm: LLMClient | None = None
    ) -> None:
        self.settings = settings
        self.index = index
        self.llm = llm if llm is not None else LLMClient.from_settings(settings.llm)

    @cached_property
    def refusal(self) -> RefusalPolicy:
        # Built on first use: reading the embedder's name may load the model.
        return RefusalPolicy.for_embedder(
            self.index.embedder.name, self.settings.answers.min_relevance
        )

    # -- public -----------------------------------------------------------------------------

    async def answer(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: SearchFilters | None = None,
    ) -> Answer:
        """The whole answer at once."""
        prep = await self._prepare(question, history, filters)
        early = await self._without_llm(prep)
        if early is not None:
            return early
        assert self.llm is not None
        started = time.perf_counter()
        messages = build_messages(prep.question, prep.sources, prep.history)
        try:
            text = await self.llm.complete(messages)
        except LLMUnavailableError as exc:
            return await self._fallback(prep, exc, started)
        if recites_instructions(text):
            return await self._withheld(prep, started)
        return self._finish_llm(prep, text, started)

    async def stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: SearchFilters | None = None,
    ) -> AsyncIterator[str | Answer]:
        """Text deltas as they are generated, then the validated Answer as the last item.

        The deltas are provisional (they still hold the model's raw markers); show the final
        Answer's text in their place. If the model fails mid-stream the final Answer is the
        extractive one, with a notice saying so.
        """
        prep = await self._prepare(question, history, filters)
        early = await self._without_llm(prep)
        if early is not None:
            yield early.text
            yield early
            return
        assert self.llm is not None
        started = time.perf_counter()
        messages = build_messages(prep.question, prep.sources, prep.history)
        text = ""
        deltas = self.llm.stream(messages)
        try:
            async for delta in deltas:
                text += delta
                # Only the newest stretch can complete a recited run of the instructions.
                if recites_instructions(text[-(len(delta) + 2 * FRAGMENT_CHARS) :]):
                    await deltas.aclose()
                    yield await self._withheld(prep, started)
                    return
                yield delta
        except LLMUnavailableError as exc:
            fallback = await self._fallback(prep, exc, started)
            if not text:
                yield fallback.text
            yield fallback
            return
        if recites_instructions(text):
            yield await self._withheld(prep, started)
            return
        yield self._finish_llm(prep, text, started)

    async def aclose(self) -> None:
        """Release the LLM client's connections and the sentence store."""
        if self.llm is not None:
            await self.llm.aclose()
        if "sentence_store" in self.__dict__ and self.sentence_store is not None:
            self.sentence_store.close()

    # -- steps ------------------------------------------------------------------------------

    async def _prepare(
        self, question: str, history: Sequence[Turn], filters: SearchFilters | None
    ) -> _Prepared:
        started = time.perf_counter()
        clean = clean_question(question, self.settings.answers.max_question_chars)
        keep = self.settings.answers.history_turns
        turns = [t for t in history if t.content.strip()][-keep:] if keep else []
        rewrite = await rewrite_followup(clean.text, turns, self.llm)
        hits = await asyncio.to_thread(self.index.search, rewrite.query, filters=filters)
        prep = _Prepared(
            question=clean.text,
            query=rewrite.query,
            history=turns,
            filters=filters,
            sources=number_sources(hits),
            notices=list(clean.notices),
            strength=assess(rewrite.query, hits) if hits else None,
            llm_failed=rewrite.llm_failed,
            started=started,
            retrieve_ms=_ms(started),
        )
        log.info(
            "retrieved",
            extra={
                "hits": len(hits),
                "rewrite": rewrite.method,
                "retrieve_ms": prep.retrieve_ms,
                "relevance": prep.strength.relevance if prep.strength else None,
            },
        )
        return prep

    async def _without_llm(self, prep: _Prepared) -> Answer | None:
        """The refusal or extractive Answer when the model is not to be called, else None."""
        if self.refusal.should_refuse(prep.strength):
            return self._refusal(prep)
        if self.llm is None:
            return await self._extractive(prep, time.perf_counter())
        if prep.llm_failed:
            prep.notices.append(
                "The language model is not answering right now; showing quoted passages instead."
            )
            return await self._extractive(prep, time.perf_counter())
        return None

    def _timings(self, prep: _Prepared, generate_started: float | None) -> Timings:
        generate = _ms(generate_started) if generate_started is not None else 0.0
        return Timings(
            retrieve_ms=prep.retrieve_ms, generate_ms=generate, total_ms=_ms(prep.started)
        )

    def _refusal(self, prep: _Prepared) -> Answer:
        closest: list[Citation] = []
        seen: set[str] = set()
        for source in prep.sources:
            if source.hit.article_id in seen:
                continue
            seen.add(source.hit.article_id)
            closest.append(source.citation(len(closest) + 1))
            if len(closest) == MAX_CLOSEST:
                break
        scope = _describe_filters(prep.filters)
        if not prep.sources and scope:
            text = f"No curated article matches those filters ({scope})."
        elif not prep.sources:
            text = "The curated articles don't cover this yet, so I won't guess."
        else:
            text = "The curated articles don't cover this, so I won't guess. Closest articles:\n"
            text += "\n".join(_closest_line(c) for c in closest)
        log.info("refused", extra={"relevance": prep.strength.relevance if prep.strength else None})
        return Answer(
            text=text,
            refused=True,
            # The model was not called, whatever is configured.
            mode="extractive",
            closest=closest,
            notices=prep.notices,
            question=prep.question,
            timings=self._timings(prep, None),
        )

    @cached_property
    def sentence_store(self) -> SentenceStore | None:
        """Sentence vectors written at ingest; None for an index that keeps none."""
        if isinstance(self.index, KnowledgeIndex):
            return SentenceStore.in_dir(self.index.index_dir)
        return None

    async def _extractive(self, prep: _Prepared, started: float) -> Answer:
        store = self.sentence_store
        raw = await asyncio.to_thread(
            extractive_answer,
            prep.query,
            prep.sources,
            self._embedder_or_none(),
            self.index.get_article,
            stored=store,
            previous=[t.content for t in prep.history if t.role == "assistant"],
        )
        return self._validated(prep, raw, "extractive", started)

    def _article(self, article_id: str) -> Article | None:
        """The article card behind a citation (curated date, key takeaway), None if unreadable."""
        try:
            return self.index.get_article(article_id)
        except Exception:
            log.warning("could not read article %s for its citation", article_id, exc_info=True)
            return None

    def _embedder_or_none(self) -> Embedder | None:
        try:
            return self.index.embedder
        except Exception:
            log.warning("embedder unavailable for extractive ranking", exc_info=True)
            return None

    async def _fallback(self, prep: _Prepared, exc: LLMUnavailableError, started: float) -> Answer:
        log.warning("LLM failed, answering extractively: %s", exc)
        prep.notices.append(f"{exc.user_message} Showing quoted passages instead.")
        return await self._extractive(prep, started)

    async def _withheld(self, prep: _Prepared, started: float) -> Answer:
        # Reciting its instructions means an article (or the question) steered the model: none
        # of its reply can be trusted, so the member gets the quoted passages instead.
        log.warning("LLM reply recited the system prompt; answering extractively")
        prep.notices.append(WITHHELD_NOTICE)
        return await self._extractive(prep, started)

    def _finish_llm(self, prep: _Prepared, text: str, started: float) -> Answer:
        return self._validated(prep, text, "llm", started)

    def _validated(self, prep: _Prepared, raw: str, mode: AnswerMode, started: float) -> Answer:
        result = validate_citations(raw, [s.n for s in prep.sources])
        by_number = {s.n: s for s in prep.sources}
        citations = [
            by_number[n].citation(i, self._article(by_number[n].article_id))
            for i, n in enumerate(result.used, start=1)
        ]
        notices = list(prep.notices)
        if result.uncited:
            notices.append(UNCITED_NOTICE)
        if result.removed:
            log.info("removed invalid citations", extra={"removed": result.removed})
        answer = Answer(
            text=result.text,
            citations=citations,
            refused=False,
            mode=mode,
            uncited=result.uncited,
            notices=notices,
            question=prep.question,
            timings=self._timings(prep, started),
        )
        log.info(
            "answered",
            extra={"mode": answer.mode, "citations": len(citations), **answer.timings.model_dump()},
        )
        return answer
