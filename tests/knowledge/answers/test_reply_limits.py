"""Bounded model output: one deadline for a whole reply and a size cap, against the scripted
server sending a never-ending stream and huge replies."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from knowledge.answers.llm import LLMClient, ReplyLimitError
from knowledge.answers.service import AnswerService
from knowledge.index import KnowledgeIndex
from knowledge.models import Answer, NoticeCode, Turn
from knowledge.settings import LLMSettings
from tests.support.fake_openai import Endless, EndlessLine, FakeOpenAI, Hang, Raw, Reply
from tests.support.settings import make_settings

TRUST_Q = "How do teams build trust?"
MESSAGES = [{"role": "user", "content": "hello"}]
DEADLINE = 1.5
CAP = 1_000


@pytest.fixture
async def bounded(
    tmp_path: Path, fake_openai: FakeOpenAI, word_index: KnowledgeIndex
) -> AsyncIterator[AnswerService]:
    """A service whose replies may take DEADLINE seconds and CAP characters; each request gets
    a generous 5 s, so only the overall deadline can stop a steady stream."""
    settings = make_settings(
        tmp_path / "data",
        llm={
            "base_url": fake_openai.base_url,
            "timeout": 5.0,
            "retries": 0,
            "reply_deadline": DEADLINE,
            "max_reply_chars": CAP,
        },
        answers={"min_relevance": 0.3},
    )
    service = AnswerService(settings, word_index)
    yield service
    await service.aclose()


async def _stream(service: AnswerService, question: str) -> tuple[list[str], Answer, float]:
    started = time.monotonic()
    deltas: list[str] = []
    final: Answer | None = None
    async for item in service.stream(question):
        if isinstance(item, Answer):
            final = item
        else:
            deltas.append(item)
    assert final is not None
    return deltas, final, time.monotonic() - started


async def test_never_ending_stream_is_cut_at_the_overall_deadline(
    bounded: AnswerService, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Endless("Trust grows from small promises kept [1]. ", every=0.5))

    deltas, final, elapsed = await _stream(bounded, TRUST_Q)

    # A delta every 0.5 s never trips the per-chunk timeout; the whole reply still stops.
    assert elapsed < DEADLINE + 1.5
    assert 2 <= len(deltas) <= 5
    assert NoticeCode.REPLY_TIME_LIMIT in final.notices
    # What arrived is the answer, validated as usual.
    assert not final.refused and final.mode == "llm"
    assert final.text.startswith("Trust grows from small promises kept [1].")
    assert [c.title for c in final.citations] == ["How teams build trust"]


async def test_huge_streamed_reply_is_cut_at_the_size_cap(
    bounded: AnswerService, fake_openai: FakeOpenAI
) -> None:
    huge = "Keep small promises [1]. " + "and again " * 500_000
    fake_openai.script(Reply(huge, chunk_chars=4096))

    deltas, final, _ = await _stream(bounded, TRUST_Q)

    assert sum(len(d) for d in deltas) == CAP
    assert len(final.text) <= CAP
    assert NoticeCode.REPLY_SIZE_LIMIT in final.notices
    assert final.citations and final.mode == "llm"


async def test_huge_whole_reply_is_never_read_in_full(
    bounded: AnswerService, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Reply("Keep small promises [1]. " + "x" * 3_000_000))

    answer = await bounded.answer(TRUST_Q)

    # The body was past the cap in bytes: nothing of it is usable, so quoted passages instead.
    assert answer.mode == "extractive"
    assert NoticeCode.REPLY_SIZE_LIMIT in answer.notices
    assert answer.citations


async def test_whole_reply_a_little_too_long_is_cut_at_the_cap(
    bounded: AnswerService, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Reply("Keep small promises [1]. " + "word " * 400))

    answer = await bounded.answer(TRUST_Q)

    assert answer.mode == "llm" and len(answer.text) <= CAP
    assert NoticeCode.REPLY_SIZE_LIMIT in answer.notices
    assert answer.text.startswith("Keep small promises [1].")


async def test_followup_rewrite_is_held_to_the_same_deadline(
    bounded: AnswerService, fake_openai: FakeOpenAI
) -> None:
    history = [Turn(role="user", content=TRUST_Q), Turn(role="assistant", content="Promises.")]
    fake_openai.script(Hang(30))
    started = time.monotonic()

    answer = await bounded.answer("and what erodes it?", history=history)

    # The request timeout is 5 s; the reply deadline stopped the rewrite well before.
    assert time.monotonic() - started < DEADLINE + 1.5
    assert answer.mode == "extractive" and NoticeCode.LLM_UNAVAILABLE in answer.notices


async def test_followup_rewrite_is_held_to_the_same_size_cap(
    bounded: AnswerService, fake_openai: FakeOpenAI
) -> None:
    history = [Turn(role="user", content=TRUST_Q), Turn(role="assistant", content="Promises.")]
    fake_openai.script(
        Reply("what erodes trust in teams\n" + "ramble " * 1_000), Reply("Taking credit [1].")
    )

    answer = await bounded.answer("and what erodes it?", history=history)

    rewrite, _generate = fake_openai.chat_requests
    assert rewrite.json["max_tokens"] <= 96
    assert answer.mode == "llm" and answer.text == "Taking credit [1]."


def _client(server: FakeOpenAI, **kwargs: object) -> LLMClient:
    values: dict[str, object] = {"base_url": server.base_url, "timeout": 5.0, "retries": 0}
    values.update(kwargs)
    return LLMClient(LLMSettings(**values))  # type: ignore[arg-type]


async def test_client_stream_raises_with_what_arrived_at_the_deadline(
    fake_openai: FakeOpenAI,
) -> None:
    fake_openai.script(Endless("tick ", every=0.5))
    llm = _client(fake_openai, reply_deadline=1.2)
    received: list[str] = []
    with pytest.raises(ReplyLimitError) as caught:
        async for delta in llm.stream(MESSAGES):
            received.append(delta)
    await llm.aclose()
    assert caught.value.limit == "deadline"
    assert caught.value.partial == "".join(received) and received


async def test_max_tokens_setting_is_sent_and_caps_smaller_requests(
    fake_openai: FakeOpenAI,
) -> None:
    fake_openai.script("a", "b")
    llm = _client(fake_openai, max_tokens=50)
    await llm.complete(MESSAGES)
    await llm.complete(MESSAGES, max_tokens=500)
    await llm.aclose()
    assert [r.json["max_tokens"] for r in fake_openai.chat_requests] == [50, 50]


async def test_one_endless_stream_line_is_cut_on_the_wire(fake_openai: FakeOpenAI) -> None:
    # A line-buffering SSE decoder would hold all 64 MB before seeing a single delta.
    fake_openai.script(EndlessLine())
    llm = _client(fake_openai, max_reply_chars=1_000)
    tracemalloc.start()
    try:
        with pytest.raises(ReplyLimitError) as caught:
            async for _ in llm.stream(MESSAGES):
                pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        await llm.aclose()
    assert caught.value.limit == "size" and caught.value.partial == ""
    assert peak < 8 * 1024 * 1024


async def test_bounded_reader_is_as_lenient_as_the_sdk(fake_openai: FakeOpenAI) -> None:
    # Local servers may omit ids and usage, or send a null finish reason.
    fake_openai.script(Raw('{"choices": [{"message": {"content": "hi"}, "finish_reason": null}]}'))
    llm = _client(fake_openai)
    assert await llm.complete(MESSAGES) == "hi"
    await llm.aclose()
