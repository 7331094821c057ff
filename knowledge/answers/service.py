"""AnswerService: question -> retrieval -> (refusal | LLM answer | extractive answer) -> Answer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from knowledge.answers.citations import validate_citations
from knowledge.answers.extractive import StoredVectors, extractive_answer
from knowledge.answers.followup import rewrite_followup
from knowledge.answers.language import in_collection_language
from knowledge.answers.links import defuse_masked_links
from knowledge.answers.llm import LLMClient, LLMUnavailableError, ReplyLimitError
from knowledge.answers.notices import refusal_text
from knowledge.answers.prompt import NumberedArticle, build_messages, number_articles
from knowledge.answers.prompt_safety import FRAGMENT_CHARS, recites_instructions
from knowledge.answers.question import clean_question
from knowledge.answers.refusal import RefusalPolicy, RetrievalStrength, assess, declines
from knowledge.embeddings.base import Embedder
from knowledge.embeddings.query_vectors import QueryVectorCache
from knowledge.models import (
    Answer,
    Article,
    Citation,
    Hit,
    NoticeCode,
    RefusalReason,
    SearchFilters,
    Timings,
    Turn,
)
from knowledge.settings import Settings

log = logging.getLogger(__name__)

AnswerMode = Literal["llm", "extractive"]
MAX_CLOSEST = 3


class SearchableIndex(Protocol):
    """The part of KnowledgeIndex answers need (tests may pass a smaller stand-in)."""

    @property
    def embedder(self) -> Embedder: ...

    @property
    def sentences(self) -> StoredVectors | None:
        """Unit vectors stored for the served build's chunks, None when it keeps none."""
        ...

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: SearchFilters | None = None,
        *,
        query_vectors: QueryVectorCache | None = None,
    ) -> list[Hit]:
        """Best hits for `query`, its vector taken from (or added to) `query_vectors`."""
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
    articles: list[NumberedArticle]
    notices: list[NoticeCode] = field(default_factory=list)
    strength: RetrievalStrength | None = None
    llm_failed: bool = False
    # The question is not in the collection's language and no model translated it.
    untranslated: bool = False
    # Set when the filters hid what an unfiltered search finds: its articles, to offer instead.
    unfiltered: list[NumberedArticle] | None = None
    started: float = 0.0
    retrieve_ms: float = 0.0
    # Article cards read for this answer (takeaways, then citations): each is read once.
    cards: dict[str, Article | None] = field(default_factory=dict)
    # Query vectors of this answer, shared by the search, the search without filters and the
    # extractive ranking: each text is embedded once.
    query_vectors: QueryVectorCache = field(default_factory=QueryVectorCache)


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


def _closest(
    articles: Sequence[NumberedArticle], card: Callable[[str], Article | None]
) -> list[Citation]:
    """The first MAX_CLOSEST articles of `articles`, each once, numbered 1..n, with their card's
    curated time and key takeaway as a cited article has them (`card`: article id -> card)."""
    closest: list[Citation] = []
    seen: set[str] = set()
    for numbered in articles:
        if numbered.hit.article_id in seen:
            continue
        seen.add(numbered.hit.article_id)
        closest.append(numbered.citation(len(closest) + 1, card(numbered.hit.article_id)))
        if len(closest) == MAX_CLOSEST:
            break
    return closest


class AnswerService:
    """Grounded answers with validated citations, or an honest refusal."""

    def __init__(
        self, settings: Settings, index: SearchableIndex, llm: LLMClient | None = None
    ) -> None:
        """`llm` is a client shared with other services, closed by its owner; without one the
        service builds its own from settings (None when no model is configured)."""
        self.settings = settings
        self.index = index
        self._owns_llm = llm is None
        self.llm = llm if llm is not None else LLMClient.from_settings(settings.llm)

    @property
    def refusal(self) -> RefusalPolicy:
        """The threshold calibrated for the embedder serving now: read per question, since an
        index switches embedders after a re-embed (and reading the name may load the model)."""
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
        messages = build_messages(prep.question, prep.articles, prep.history)
        try:
            text = await self.llm.complete(messages)
        except LLMUnavailableError as exc:
            return await self._after_failure(prep, exc, started)
        return await self._finish_llm(prep, text, started)

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
        messages = build_messages(prep.question, prep.articles, prep.history)
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
            final = await self._after_failure(prep, exc, started)
            if not text:
                yield final.text
            yield final
            return
        yield await self._finish_llm(prep, text, started)

    async def aclose(self) -> None:
        """Close the LLM client this service built (a client handed in is its owner's to close;
        the index closes its own stores)."""
        if self._owns_llm and self.llm is not None:
            await self.llm.aclose()

    # -- steps ------------------------------------------------------------------------------

    async def _prepare(
        self, question: str, history: Sequence[Turn], filters: SearchFilters | None
    ) -> _Prepared:
        started = time.perf_counter()
        clean = clean_question(question, self.settings.answers.max_question_chars)
        keep = self.settings.answers.history_turns
        turns = [t for t in history if t.content.strip()][-keep:] if keep else []
        foreign = not in_collection_language(clean.text)
        rewrite = await rewrite_followup(clean.text, turns, self.llm, foreign=foreign)
        query_vectors = QueryVectorCache()
        hits = await asyncio.to_thread(
            self.index.search, rewrite.query, filters=filters, query_vectors=query_vectors
        )
        prep = _Prepared(
            question=clean.text,
            query=rewrite.query,
            history=turns,
            filters=filters,
            articles=number_articles(hits),
            notices=list(clean.notices),
            strength=assess(rewrite.query, hits) if hits else None,
            llm_failed=rewrite.llm_failed,
            untranslated=foreign and not rewrite.translated,
            started=started,
            retrieve_ms=_ms(started),
            query_vectors=query_vectors,
        )
        if (
            filters is not None
            and not filters.is_empty()
            and self.refusal.should_refuse(prep.strength)
        ):
            await self._check_without_filters(prep)
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

    async def _check_without_filters(self, prep: _Prepared) -> None:
        """When filtered retrieval is too weak, see whether the filters are what hid the answer."""
        hits = await asyncio.to_thread(
            self.index.search, prep.query, query_vectors=prep.query_vectors
        )
        strength = assess(prep.query, hits) if hits else None
        if not prep.articles or not self.refusal.should_refuse(strength):
            # Nothing passed the filters at all, or something relevant exists outside them:
            # either way the filters, not the collection, are why there is no answer.
            prep.unfiltered = number_articles(hits) if hits else []

    def _refusal_reason(self, prep: _Prepared) -> RefusalReason:
        if prep.unfiltered is not None:
            return RefusalReason.NO_MATCH_FOR_FILTERS
        if prep.untranslated:
            return RefusalReason.NOT_IN_LANGUAGE
        return RefusalReason.NOT_COVERED

    async def _without_llm(self, prep: _Prepared) -> Answer | None:
        """The refusal or extractive Answer when the model is not to be called, else None."""
        if self.refusal.should_refuse(prep.strength):
            return self._refusal(prep, self._refusal_reason(prep))
        if self.llm is None:
            return await self._extractive(prep, time.perf_counter())
        if prep.llm_failed:
            prep.notices.append(NoticeCode.LLM_UNAVAILABLE)
            return await self._extractive(prep, time.perf_counter())
        return None

    def _timings(self, prep: _Prepared, generate_started: float | None) -> Timings:
        generate = _ms(generate_started) if generate_started is not None else 0.0
        return Timings(
            retrieve_ms=prep.retrieve_ms, generate_ms=generate, total_ms=_ms(prep.started)
        )

    def _refusal(
        self,
        prep: _Prepared,
        reason: RefusalReason,
        text: str = "",
        mode: AnswerMode = "extractive",
        started: float | None = None,
    ) -> Answer:
        """A refused Answer: the reason, its lead sentence, and the closest articles to offer."""
        notices = list(prep.notices)
        if reason is RefusalReason.NO_MATCH_FOR_FILTERS:
            # What the whole collection has on it: what dropping the filters would give.
            closest = _closest(prep.unfiltered or [], lambda aid: self._article(prep, aid))
            notices.append(NoticeCode.DROP_FILTERS)
        elif reason is RefusalReason.NOT_IN_LANGUAGE:
            closest = []
        else:
            closest = _closest(prep.articles, lambda aid: self._article(prep, aid))
        log.info(
            "refused",
            extra={
                "reason": reason.value,
                "relevance": prep.strength.relevance if prep.strength else None,
            },
        )
        return Answer(
            text=text or refusal_text(reason, prep.filters),
            refused=True,
            refusal=reason,
            # "extractive" unless the model was called and declined.
            mode=mode,
            closest=closest,
            notices=notices,
            question=prep.question,
            timings=self._timings(prep, started),
        )

    async def _extractive(self, prep: _Prepared, started: float) -> Answer:
        # Read per question, with the embedder: a reindex may have switched the served build,
        # and its sentence vectors are the ones that match its embedder.
        embedder = self._embedder_or_none()
        raw = await asyncio.to_thread(
            extractive_answer,
            prep.query,
            prep.articles,
            embedder,
            lambda article_id: self._article(prep, article_id),
            stored=self._stored_vectors() if embedder is not None else None,
            previous=[t.content for t in prep.history if t.role == "assistant"],
            query_vectors=prep.query_vectors,
        )
        return self._validated(prep, raw, "extractive", started)

    def _article(self, prep: _Prepared, article_id: str) -> Article | None:
        """The article card behind a citation (curated date, key takeaway), None if unreadable;
        read once per answer."""
        if article_id not in prep.cards:
            try:
                prep.cards[article_id] = self.index.get_article(article_id)
            except Exception:
                log.warning("could not read article %s", article_id, exc_info=True)
                prep.cards[article_id] = None
        return prep.cards[article_id]

    def _stored_vectors(self) -> StoredVectors | None:
        try:
            return self.index.sentences
        except Exception:
            log.warning("stored sentence vectors unavailable; embedding them", exc_info=True)
            return None

    def _embedder_or_none(self) -> Embedder | None:
        try:
            return self.index.embedder
        except Exception:
            log.warning("embedder unavailable for extractive ranking", exc_info=True)
            return None

    async def _after_failure(
        self, prep: _Prepared, exc: LLMUnavailableError, started: float
    ) -> Answer:
        """A reply cut at a limit keeps what arrived; any other failure falls back."""
        if isinstance(exc, ReplyLimitError):
            return await self._stopped(prep, exc, started)
        return await self._fallback(prep, exc, started)

    async def _fallback(self, prep: _Prepared, exc: LLMUnavailableError, started: float) -> Answer:
        log.warning("LLM failed, answering extractively: %s", exc)
        prep.notices.append(NoticeCode.LLM_UNAVAILABLE)
        return await self._extractive(prep, started)

    async def _stopped(self, prep: _Prepared, exc: ReplyLimitError, started: float) -> Answer:
        """A reply stopped at the deadline or size cap: what arrived, validated as usual."""
        log.warning("LLM reply stopped at its %s limit after %d chars", exc.limit, len(exc.partial))
        limit = (
            NoticeCode.REPLY_TIME_LIMIT if exc.limit == "deadline" else NoticeCode.REPLY_SIZE_LIMIT
        )
        prep.notices.append(limit)
        if not exc.partial.strip():
            return await self._extractive(prep, started)
        return await self._finish_llm(prep, exc.partial, started)

    async def _withheld(self, prep: _Prepared, started: float) -> Answer:
        # Reciting its instructions means an article (or the question) steered the model: none
        # of its reply can be trusted, so the member gets the quoted passages instead.
        log.warning("LLM reply recited the system prompt; answering extractively")
        prep.notices.append(NoticeCode.LLM_WITHHELD)
        return await self._extractive(prep, started)

    async def _finish_llm(self, prep: _Prepared, text: str, started: float) -> Answer:
        """The model's whole reply: withheld if it recites the instructions, else validated."""
        if recites_instructions(text):
            return await self._withheld(prep, started)
        answer = self._validated(prep, text, "llm", started)
        if answer.uncited and declines(answer.text):
            # The model read the articles and found no answer: a refusal (and a content gap),
            # in its own words, which are in the member's language.
            return self._refusal(
                prep, RefusalReason.LLM_DECLINED, answer.text.strip(), "llm", started
            )
        return answer

    def _validated(self, prep: _Prepared, raw: str, mode: AnswerMode, started: float) -> Answer:
        result = validate_citations(raw, [a.n for a in prep.articles])
        by_number = {a.n: a for a in prep.articles}
        citations = [
            by_number[n].citation(i, self._article(prep, by_number[n].article_id))
            for i, n in enumerate(result.used, start=1)
        ]
        notices = list(prep.notices)
        # Article text reaches members in both modes: no link may show one address and go to
        # another.
        safe = defuse_masked_links(result.text)
        if safe.rewritten:
            notices.append(NoticeCode.LINKS_REWRITTEN)
        if result.uncited:
            notices.append(NoticeCode.UNCITED)
        if result.removed:
            log.info("removed invalid citations", extra={"removed": result.removed})
        answer = Answer(
            text=safe.text,
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
