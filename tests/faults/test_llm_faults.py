"""The LLM endpoint failing every way it can (429, 500, slow, silent, gone, cut off mid-stream):
the member still gets quoted passages with citations, within a bounded time."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from knowledge.answers.service import AnswerService
from knowledge.index import KnowledgeIndex
from knowledge.models import Answer, NoticeCode
from knowledge.settings import LLMSettings, Settings
from tests.support.cards import zebra_corpus
from tests.support.chroma_server import free_port
from tests.support.fake_openai import CutStream, Fail, FakeOpenAI, Hang, Reply
from tests.support.fake_openai import fake_openai as fake_openai
from tests.support.settings import make_settings, with_overrides

pytestmark = pytest.mark.slow

QUESTION = "Why do zebras have stripes?"
TIMEOUT = 0.5
RETRIES = 1
# The client's own budget is TIMEOUT x (RETRIES + 1); retrieval and the extractive answer get
# a little on top.
BOUND_S = TIMEOUT * (RETRIES + 1) + 1.5


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeIndex]:
    root = tmp_path_factory.mktemp("llm-faults")
    zebra_corpus(root / "cards")
    settings = make_settings(root / "data", knowledge={"sources": [str(root / "cards")]})
    index = KnowledgeIndex(settings)
    assert index.reindex().added == 3
    yield index
    index.close()


def settings_for(index: KnowledgeIndex, base_url: str) -> Settings:
    return with_overrides(
        index.settings, llm={"base_url": base_url, "timeout": TIMEOUT, "retries": RETRIES}
    )


def assert_extractive_fallback(answer: Answer, took: float) -> None:
    assert took < BOUND_S, f"took {took:.2f} s"
    assert answer.mode == "extractive" and not answer.refused
    assert answer.citations and answer.citations[0].title == "Why zebras have stripes"
    assert "horseflies" in answer.text.lower() or "stripes" in answer.text.lower()
    assert NoticeCode.LLM_UNAVAILABLE in answer.notices, answer.notices


FAILURES: dict[str, Fail | Reply | Hang] = {
    "rate limited": Fail(429),
    "server error": Fail(500),
    "slow": Reply("Too late [1].", delay=5),
    "silent": Hang(30),
}


@pytest.mark.parametrize("failure", list(FAILURES))
async def test_a_failing_llm_falls_back_to_quoted_passages_in_bounded_time(
    index: KnowledgeIndex, fake_openai: FakeOpenAI, failure: str
) -> None:
    fake_openai.always(FAILURES[failure])
    service = AnswerService(settings_for(index, fake_openai.base_url), index)
    started = time.monotonic()
    try:
        answer = await service.answer(QUESTION)
    finally:
        await service.aclose()
    assert_extractive_fallback(answer, time.monotonic() - started)
    # The model was tried (and, for errors, retried) before giving up.
    assert 1 <= len(fake_openai.chat_requests) <= RETRIES + 1


async def test_an_llm_that_is_not_there_falls_back(index: KnowledgeIndex) -> None:
    service = AnswerService(settings_for(index, f"http://127.0.0.1:{free_port()}/v1"), index)
    started = time.monotonic()
    try:
        answer = await service.answer(QUESTION)
    finally:
        await service.aclose()
    assert_extractive_fallback(answer, time.monotonic() - started)


@pytest.mark.parametrize(
    "failure",
    [Fail(429), Hang(30), CutStream("Zebras have stripes because", after=2, stall=True)],
    ids=["rate limited", "silent", "stalls mid-stream"],
)
async def test_streaming_answers_fall_back_too(
    index: KnowledgeIndex, fake_openai: FakeOpenAI, failure: Fail | Hang | CutStream
) -> None:
    fake_openai.always(failure)
    service = AnswerService(settings_for(index, fake_openai.base_url), index)
    started = time.monotonic()
    try:
        items = [item async for item in service.stream(QUESTION)]
    finally:
        await service.aclose()
    final = items[-1]
    assert isinstance(final, Answer)
    # A stall between chunks gets one request timeout on top of the opening budget.
    assert_extractive_fallback(final, time.monotonic() - started - TIMEOUT)


async def test_the_llm_answers_again_once_it_recovers(
    index: KnowledgeIndex, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Fail(500), Fail(500), Reply("Stripes deter horseflies [1]."))
    service = AnswerService(settings_for(index, fake_openai.base_url), index)
    try:
        down = await service.answer(QUESTION)
        up = await service.answer(QUESTION)
    finally:
        await service.aclose()
    assert down.mode == "extractive"
    assert up.mode == "llm" and up.text == "Stripes deter horseflies [1]."
    assert up.citations[0].title == "Why zebras have stripes"


def test_the_bound_is_tight_enough_to_mean_something() -> None:
    # Guard against a refactor that raises the defaults and makes the fallback take minutes.
    llm = LLMSettings()
    assert llm.timeout * (llm.retries + 1) <= 90
