"""The whole answer path over the real index of the sample articles (hash embedder), with the
calibrated refusal threshold (no override) and the fake OpenAI server as the model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from knowledge.answers.refusal import CALIBRATED_MIN_RELEVANCE
from knowledge.answers.service import AnswerService
from knowledge.index import KnowledgeIndex
from knowledge.models import Answer, Turn
from knowledge.settings import Settings
from tests.support.fake_openai import FakeOpenAI, Reply
from tests.support.settings import make_settings


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeIndex]:
    index = KnowledgeIndex(make_settings(tmp_path_factory.mktemp("sample-index")))  # the sample
    report = index.reindex()
    assert report.added >= 10 and not report.failed
    try:
        yield index
    finally:
        index.close()


def _settings(tmp_path: Path, base_url: str | None = None) -> Settings:
    llm: dict[str, object] = {"timeout": 1.0, "retries": 0}
    if base_url:
        llm["base_url"] = base_url
    return make_settings(tmp_path / "data", llm=llm)


async def test_offline_answer_cites_the_right_sample_article(
    tmp_path: Path, sample_index: KnowledgeIndex
) -> None:
    service = AnswerService(_settings(tmp_path), sample_index)
    assert service.refusal.min_relevance == CALIBRATED_MIN_RELEVANCE["hash"]
    answer = await service.answer("How does LoRA reduce the number of trainable parameters?")
    assert not answer.refused and answer.mode == "extractive"
    assert answer.citations[0].title.startswith("LoRA")
    assert "Key takeaways:" in answer.text
    assert answer.timings.retrieve_ms > 0 and answer.timings.total_ms >= answer.timings.retrieve_ms


@pytest.mark.parametrize(
    "question",
    [
        "What is the best recipe for Neapolitan pizza dough?",
        "How do I renew my passport?",
        "Who won the 2022 football World Cup?",
    ],
)
async def test_calibrated_threshold_refuses_off_topic_questions(
    tmp_path: Path, sample_index: KnowledgeIndex, fake_openai: FakeOpenAI, question: str
) -> None:
    service = AnswerService(_settings(tmp_path, fake_openai.base_url), sample_index)
    answer = await service.answer(question)
    await service.aclose()
    assert answer.refused and answer.closest
    assert fake_openai.requests == []


async def test_streamed_llm_answer_over_the_sample(
    tmp_path: Path, sample_index: KnowledgeIndex, fake_openai: FakeOpenAI
) -> None:
    reply = "Multiple heads attend to different subspaces [2]. See also [1]."
    fake_openai.script(Reply(reply, chunk_chars=5))
    service = AnswerService(_settings(tmp_path, fake_openai.base_url), sample_index)
    items = [i async for i in service.stream("Why does the Transformer use multi-head attention?")]
    await service.aclose()

    final = items[-1]
    assert isinstance(final, Answer) and final.mode == "llm"
    assert final.text == "Multiple heads attend to different subspaces [1]. See also [2]."
    assert any(c.title == "Attention Is All You Need" for c in final.citations)
    prompt = fake_openai.chat_requests[0].prompt_text
    assert "Attention Is All You Need" in prompt and '<source n="1">' in prompt


async def test_heuristic_followup_over_the_sample(
    tmp_path: Path, sample_index: KnowledgeIndex
) -> None:
    service = AnswerService(_settings(tmp_path), sample_index)
    history = [
        Turn(role="user", content="What do the two parameters of BM25 control?"),
        Turn(role="assistant", content="They control term saturation and length [1]."),
    ]
    answer = await service.answer("and how does it treat long documents?", history=history)
    assert not answer.refused
    assert "BM25" in answer.citations[0].title
