"""LLMClient against the fake server: retries, deadlines, streaming, and no key in the logs."""

from __future__ import annotations

import logging
import time

import pytest
from pydantic import SecretStr

from knowledge.answers.llm import KEYLESS_PLACEHOLDER, LLMClient, LLMUnavailableError
from knowledge.settings import LLMSettings
from tests.support.fake_openai import CutStream, Fail, FakeOpenAI, Hang, Raw, Reply

MESSAGES = [{"role": "user", "content": "hello"}]


def _settings(server: FakeOpenAI, **kwargs: object) -> LLMSettings:
    values: dict[str, object] = {"base_url": server.base_url, "timeout": 3.0, "retries": 1}
    values.update(kwargs)
    return LLMSettings(**values)  # type: ignore[arg-type]


def test_not_configured_means_no_client() -> None:
    assert LLMClient.from_settings(LLMSettings()) is None


async def test_keyless_base_url_sends_a_placeholder_key(fake_openai: FakeOpenAI) -> None:
    fake_openai.script("hi")
    llm = LLMClient.from_settings(_settings(fake_openai))
    assert llm is not None
    assert await llm.complete(MESSAGES) == "hi"
    await llm.aclose()
    request = fake_openai.chat_requests[0]
    assert request.headers["Authorization"] == f"Bearer {KEYLESS_PLACEHOLDER}"
    assert request.json["temperature"] == 0.2 and request.json["max_tokens"] == 700


async def test_rate_limit_is_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Fail(429), Fail(503), "third time")
    llm = LLMClient(_settings(fake_openai, retries=2))
    assert await llm.complete(MESSAGES, max_tokens=20) == "third time"
    assert fake_openai.chat_requests[-1].json["max_tokens"] == 20
    await llm.aclose()


async def test_persistent_errors_raise_after_the_retries(fake_openai: FakeOpenAI) -> None:
    fake_openai.always(Fail(500))
    llm = LLMClient(_settings(fake_openai, retries=2))
    with pytest.raises(LLMUnavailableError, match="HTTP 500"):
        await llm.complete(MESSAGES)
    assert len(fake_openai.chat_requests) == 3
    await llm.aclose()


async def test_bad_request_is_not_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.always(Fail(400, "model not found"))
    llm = LLMClient(_settings(fake_openai, retries=3))
    with pytest.raises(LLMUnavailableError, match="HTTP 400"):
        await llm.complete(MESSAGES)
    assert len(fake_openai.chat_requests) == 1
    await llm.aclose()


async def test_hanging_server_is_bounded_by_timeout_times_attempts(
    fake_openai: FakeOpenAI,
) -> None:
    fake_openai.always(Hang())
    llm = LLMClient(_settings(fake_openai, timeout=0.3, retries=1))
    started = time.monotonic()
    with pytest.raises(LLMUnavailableError):
        await llm.complete(MESSAGES)
    assert time.monotonic() - started <= llm.deadline + 0.5
    await llm.aclose()


async def test_empty_reply_is_a_failure(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply("   "))
    llm = LLMClient(_settings(fake_openai))
    with pytest.raises(LLMUnavailableError, match="empty"):
        await llm.complete(MESSAGES)
    await llm.aclose()


async def test_stream_yields_the_deltas(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply("streamed words arrive in pieces", chunk_chars=6))
    llm = LLMClient(_settings(fake_openai))
    parts = [p async for p in llm.stream(MESSAGES)]
    await llm.aclose()
    assert "".join(parts) == "streamed words arrive in pieces" and len(parts) == 6


async def test_cut_stream_raises_with_the_partial_text(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(CutStream("abcdefghijkl", after=2, chunk_chars=3))
    llm = LLMClient(_settings(fake_openai))
    received: list[str] = []
    with pytest.raises(LLMUnavailableError) as caught:
        async for part in llm.stream(MESSAGES):
            received.append(part)
    await llm.aclose()
    assert received == ["abc", "def"] and caught.value.partial == "abcdef"


async def test_stalled_stream_gives_up_after_one_timeout(fake_openai: FakeOpenAI) -> None:
    # Two chunks, then silence: the gap between chunks is bounded by the request timeout.
    fake_openai.script(CutStream("abcdefghi", after=2, chunk_chars=3, stall=True))
    llm = LLMClient(_settings(fake_openai, timeout=0.3, retries=3))
    received: list[str] = []
    started = time.monotonic()
    with pytest.raises(LLMUnavailableError, match="stopped answering") as caught:
        async for part in llm.stream(MESSAGES):
            received.append(part)
    assert time.monotonic() - started < 1.5  # one timeout, not timeout x attempts
    assert received == ["abc", "def"] and caught.value.partial == "abcdef"
    await llm.aclose()


async def test_stream_ending_without_finish_reason_counts_as_cut(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(CutStream("abcdef", after=1, chunk_chars=3, abort=False))
    llm = LLMClient(_settings(fake_openai))
    with pytest.raises(LLMUnavailableError, match="cut off"):
        _ = [p async for p in llm.stream(MESSAGES)]
    await llm.aclose()


async def test_api_key_is_sent_but_never_logged(
    fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk-test-very-secret-value"
    fake_openai.script(Fail(500), "ok")
    caplog.set_level(logging.DEBUG)
    llm = LLMClient(_settings(fake_openai, api_key=SecretStr(secret)))
    assert await llm.complete(MESSAGES) == "ok"
    await llm.aclose()
    assert fake_openai.chat_requests[0].headers["Authorization"] == f"Bearer {secret}"
    assert caplog.records and secret not in caplog.text
    assert secret not in repr(llm.settings)


async def test_malformed_reply_is_a_failure_not_a_crash(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Raw("{not json"), Raw('{"choices": "nope"}'))
    llm = LLMClient(_settings(fake_openai, retries=0))
    with pytest.raises(LLMUnavailableError, match="could not be read"):
        await llm.complete(MESSAGES)
    with pytest.raises(LLMUnavailableError):
        await llm.complete(MESSAGES)
    await llm.aclose()


async def test_malformed_stream_is_a_failure_not_a_crash(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Raw("data: {broken\n\n", content_type="text/event-stream"))
    llm = LLMClient(_settings(fake_openai, retries=0))
    with pytest.raises(LLMUnavailableError):
        _ = [p async for p in llm.stream(MESSAGES)]
    await llm.aclose()
