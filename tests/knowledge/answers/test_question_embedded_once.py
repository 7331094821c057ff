"""One answer embeds each distinct query text once, in every mode and on every path (search,
the search again without filters, extractive ranking, the fallback after a failed model), and
gives the same answer as when every step embedded the question on its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from knowledge.answers.service import AnswerService
from knowledge.embeddings.base import Embedder
from knowledge.embeddings.hash import HashEmbedder
from knowledge.embeddings.query_vectors import QueryVectorCache
from knowledge.index import KnowledgeIndex
from knowledge.models import Answer, Article, Hit, NoticeCode, RefusalReason, SearchFilters, Turn
from knowledge.settings import Settings
from tests.support.counting_embedder import CountingEmbedder
from tests.support.fake_openai import CutStream, Fail, FakeOpenAI, Reply
from tests.support.settings import make_settings

LORA_Q = "How does LoRA reduce the number of trainable parameters?"
SAMPLE_QUESTIONS = [
    LORA_Q,
    "Why does the Transformer use multi-head attention?",
    "What is chain-of-thought prompting?",
    "What do the two parameters of BM25 control?",
    "How does ReAct combine reasoning and acting?",
    "Why should the first version of an ML system be simple?",
    "How do I bake sourdough bread?",
]


@pytest.fixture(scope="module")
def counted() -> CountingEmbedder:
    """The counting hash embedder the module's index is built with."""
    return CountingEmbedder(HashEmbedder(dim=256))


@pytest.fixture(scope="module")
def sample_index(
    tmp_path_factory: pytest.TempPathFactory, counted: CountingEmbedder
) -> Iterator[KnowledgeIndex]:
    """The sample articles, indexed (with their sentence vectors) once for the module."""
    index = KnowledgeIndex(make_settings(tmp_path_factory.mktemp("once") / "data"), counted)
    index.reindex()
    try:
        yield index
    finally:
        index.close()


@pytest.fixture
def embedder(counted: CountingEmbedder) -> CountingEmbedder:
    """The index's embedder, with nothing counted yet."""
    counted.reset()
    return counted


def _settings(sample_index: KnowledgeIndex, base_url: str | None = None) -> Settings:
    llm = {"base_url": base_url, "timeout": 1.0, "retries": 1} if base_url else {}
    return make_settings(sample_index.settings.data_dir, llm=llm)


@pytest.fixture
async def offline(sample_index: KnowledgeIndex) -> AsyncIterator[AnswerService]:
    """No model configured: every answer is extractive."""
    service = AnswerService(_settings(sample_index), sample_index)
    assert service.llm is None
    yield service
    await service.aclose()


@pytest.fixture
async def with_llm(
    sample_index: KnowledgeIndex, fake_openai: FakeOpenAI
) -> AsyncIterator[AnswerService]:
    """The model is the fake OpenAI server."""
    service = AnswerService(_settings(sample_index, fake_openai.base_url), sample_index)
    assert service.llm is not None
    yield service
    await service.aclose()


def _visible(answer: Answer) -> tuple[str, list[tuple[int, str, str]], bool, list[str]]:
    """What a member sees: the text, the citations, whether it refused, the closest offered."""
    return (
        answer.text,
        [(c.n, c.title, c.url) for c in answer.citations],
        answer.refused,
        [c.url for c in answer.closest],
    )


# -- extractive (no model) ----------------------------------------------------------------------


async def test_an_extractive_answer_embeds_the_question_once(
    offline: AnswerService, embedder: CountingEmbedder
) -> None:
    answer = await offline.answer(LORA_Q)
    assert answer.mode == "extractive" and answer.citations
    assert embedder.embedded == {LORA_Q: 1}
    assert embedder.query_calls == 1


async def test_a_streamed_extractive_answer_embeds_the_question_once(
    offline: AnswerService, embedder: CountingEmbedder
) -> None:
    items = [item async for item in offline.stream(LORA_Q)]
    final = items[-1]
    assert isinstance(final, Answer) and final.mode == "extractive" and final.citations
    assert embedder.embedded == {LORA_Q: 1}


async def test_a_follow_up_embeds_only_its_rewrite_once(
    offline: AnswerService, embedder: CountingEmbedder
) -> None:
    history = [Turn(role="user", content=LORA_Q)]
    answer = await offline.answer("and what rank does it use?", history=history)

    assert not answer.refused and answer.citations
    [(query, times)] = embedder.embedded.items()
    # The key terms of the earlier question were carried over: that query, and only it.
    assert query.startswith("and what rank does it use?") and "lora" in query.lower()
    assert times == 1


async def test_a_question_in_another_language_embeds_its_carried_terms_once(
    offline: AnswerService, embedder: CountingEmbedder
) -> None:
    await offline.answer("¿Cómo reduce LoRA los parámetros entrenables?")
    assert list(embedder.embedded.values()) == [1]
    assert "¿Cómo" not in next(iter(embedder.embedded))


async def test_filters_that_hide_everything_search_again_without_embedding_again(
    offline: AnswerService, embedder: CountingEmbedder
) -> None:
    answer = await offline.answer(LORA_Q, filters=SearchFilters(topic="astronomy"))
    assert answer.refusal is RefusalReason.NO_MATCH_FOR_FILTERS
    # The unfiltered search ran: it is what found the articles offered instead.
    assert answer.closest
    assert embedder.embedded == {LORA_Q: 1}


async def test_each_answer_embeds_its_own_question(
    offline: AnswerService, embedder: CountingEmbedder
) -> None:
    # The cache lives for one answer: asking again embeds again (an index may have switched
    # embedders between two questions), and nothing piles up across answers.
    await offline.answer(LORA_Q)
    await offline.answer(LORA_Q)
    assert embedder.embedded == {LORA_Q: 2}


# -- with a model -------------------------------------------------------------------------------


async def test_a_model_answer_embeds_the_question_once(
    with_llm: AnswerService, fake_openai: FakeOpenAI, embedder: CountingEmbedder
) -> None:
    fake_openai.script(Reply("LoRA trains small low-rank matrices [1]."))
    answer = await with_llm.answer(LORA_Q)
    assert answer.mode == "llm" and answer.citations
    assert embedder.embedded == {LORA_Q: 1}


async def test_the_extractive_fallback_reuses_the_searched_vector(
    with_llm: AnswerService, fake_openai: FakeOpenAI, embedder: CountingEmbedder
) -> None:
    fake_openai.always(Fail(500))
    answer = await with_llm.answer(LORA_Q)
    assert answer.mode == "extractive" and answer.citations
    assert embedder.embedded == {LORA_Q: 1}


async def test_a_follow_up_rewritten_by_the_model_embeds_the_rewrite_once(
    with_llm: AnswerService, fake_openai: FakeOpenAI, embedder: CountingEmbedder
) -> None:
    rewrite = "What rank do LoRA's low-rank update matrices use?"
    # The rewrite, then the answer fails: the fallback ranks sentences against the rewrite.
    fake_openai.script(Reply(rewrite))
    fake_openai.always(Fail(500))
    history = [Turn(role="user", content=LORA_Q), Turn(role="assistant", content="LoRA [1].")]
    answer = await with_llm.answer("and what rank does it use?", history=history)

    assert answer.mode == "extractive" and answer.citations
    assert embedder.embedded == {rewrite: 1}


async def test_a_stream_cut_by_the_model_falls_back_without_embedding_again(
    with_llm: AnswerService, fake_openai: FakeOpenAI, embedder: CountingEmbedder
) -> None:
    fake_openai.script(CutStream("LoRA trains small matrices [1]. And more.", after=2))
    items = [item async for item in with_llm.stream(LORA_Q)]
    final = items[-1]
    assert isinstance(final, Answer) and final.mode == "extractive" and final.citations
    assert NoticeCode.LLM_UNAVAILABLE in final.notices
    assert embedder.embedded == {LORA_Q: 1}


# -- an embedder switch in the middle of an answer ----------------------------------------------


class SwitchedAfterSearch:
    """An index whose served embedder changed between an answer's search and its ranking (a
    re-embed finished meanwhile): `search` runs on `index`, `embedder` is the new one."""

    def __init__(self, index: KnowledgeIndex, embedder: Embedder) -> None:
        self.index = index
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    @property
    def sentences(self) -> None:
        return None  # the new build's sentence vectors are not stored yet

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: SearchFilters | None = None,
        *,
        query_vectors: QueryVectorCache | None = None,
    ) -> list[Hit]:
        return self.index.search(query, k, filters, query_vectors=query_vectors)

    def get_article(self, article_id: str) -> Article | None:
        return self.index.get_article(article_id)


async def test_a_switched_embedder_ranks_with_its_own_vector(
    sample_index: KnowledgeIndex,
    embedder: CountingEmbedder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    switched = CountingEmbedder(HashEmbedder(dim=64))
    service = AnswerService(_settings(sample_index), SwitchedAfterSearch(sample_index, switched))
    answer = await service.answer(LORA_Q)

    assert answer.mode == "extractive" and answer.citations
    # The search's vector (256 wide) is not the new embedder's: the ranking embedded its own
    # rather than failing on the shapes and falling back to word overlap.
    assert embedder.embedded == {LORA_Q: 1}
    assert switched.embedded[LORA_Q] == 1 and switched.query_calls == 1
    assert "embedding sentences failed" not in caplog.text


# -- same answers as before ---------------------------------------------------------------------


async def test_answers_are_the_same_as_when_every_step_embedded_on_its_own(
    offline: AnswerService,
    sample_index: KnowledgeIndex,
    embedder: CountingEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    history = [Turn(role="user", content=LORA_Q)]
    asks: list[tuple[str, list[Turn], SearchFilters | None]] = [
        *((q, [], None) for q in SAMPLE_QUESTIONS),
        ("and what rank does it use?", history, None),
        (LORA_Q, [], SearchFilters(topic="astronomy")),
    ]
    shared = [await offline.answer(q, history=h, filters=f) for q, h, f in asks]
    once = sum(embedder.embedded.values())

    # Searches that ignore the answer's cache: each step embeds the question itself, as every
    # step did before answers shared their query vectors.
    search = sample_index.search

    def on_its_own(
        query: str,
        k: int | None = None,
        filters: SearchFilters | None = None,
        *,
        query_vectors: QueryVectorCache | None = None,
    ) -> list[Hit]:
        return search(query, k, filters)

    monkeypatch.setattr(sample_index, "search", on_its_own)
    embedder.reset()
    separate = [await offline.answer(q, history=h, filters=f) for q, h, f in asks]

    assert [_visible(a) for a in shared] == [_visible(a) for a in separate]
    assert any(not a.refused for a in shared) and any(a.refused for a in shared)
    assert once == len(asks) and sum(embedder.embedded.values()) > once
