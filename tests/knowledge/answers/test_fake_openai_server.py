"""The fake OpenAI server speaks the API the way the real SDK expects (other tests rely on it)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import openai
import pytest

from tests.support.fake_openai import CutStream, Fail, FakeOpenAI, Hang, Reply

Connect = Callable[..., openai.AsyncOpenAI]


@pytest.fixture
async def connect(fake_openai: FakeOpenAI) -> AsyncIterator[Connect]:
    """Makes SDK clients of the fake server, and closes them (and their sockets) afterwards."""
    made: list[openai.AsyncOpenAI] = []

    def client(**kwargs: Any) -> openai.AsyncOpenAI:
        made.append(openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key="test-key", **kwargs))
        return made[-1]

    yield client
    for each in made:
        await each.close()


async def test_plain_completion_and_recorded_prompt(
    fake_openai: FakeOpenAI, connect: Connect
) -> None:
    fake_openai.script("Hello [1].")
    client = connect()
    result = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi there"}]
    )
    assert result.choices[0].message.content == "Hello [1]."
    assert fake_openai.chat_requests[0].prompt_text == "hi there"
    assert fake_openai.chat_requests[0].headers["Authorization"] == "Bearer test-key"


async def test_streaming_chunks_reassemble(fake_openai: FakeOpenAI, connect: Connect) -> None:
    fake_openai.script(Reply("A streamed answer with several chunks [2].", chunk_chars=5))
    client = connect()
    stream = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "q"}], stream=True
    )
    parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert "".join(parts) == "A streamed answer with several chunks [2]."
    assert len(parts) > 5


async def test_rate_limit_then_success_is_retried_by_the_sdk(
    fake_openai: FakeOpenAI, connect: Connect
) -> None:
    fake_openai.script(Fail(429), "fine")
    client = connect(max_retries=2)
    result = await client.chat.completions.create(model="m", messages=[])
    assert result.choices[0].message.content == "fine"
    assert len(fake_openai.chat_requests) == 2


async def test_unscripted_call_fails_loudly(fake_openai: FakeOpenAI, connect: Connect) -> None:
    client = connect(max_retries=0)
    with pytest.raises(openai.InternalServerError, match="no scripted behaviour"):
        await client.chat.completions.create(model="m", messages=[])


async def test_cut_stream_raises_mid_body(fake_openai: FakeOpenAI, connect: Connect) -> None:
    fake_openai.script(CutStream("one two three four five six", after=2, chunk_chars=4))
    client = connect(max_retries=0)
    stream = await client.chat.completions.create(model="m", messages=[], stream=True)
    received: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        async for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == "one two "


async def test_cut_stream_without_abort_just_ends(
    fake_openai: FakeOpenAI, connect: Connect
) -> None:
    fake_openai.script(CutStream("one two three four", after=1, abort=False, chunk_chars=4))
    client = connect(max_retries=0)
    stream = await client.chat.completions.create(model="m", messages=[], stream=True)
    parts = [c.choices[0].delta.content or "" async for c in stream]
    assert "".join(parts) == "one "


async def test_hang_times_out_on_the_client(fake_openai: FakeOpenAI, connect: Connect) -> None:
    fake_openai.script(Hang())
    client = connect(max_retries=0, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        await client.chat.completions.create(model="m", messages=[])
    assert time.monotonic() - started < 3


def test_sync_client_and_embeddings(fake_openai: FakeOpenAI) -> None:
    with openai.OpenAI(base_url=fake_openai.base_url, api_key="k") as client:
        first = client.embeddings.create(model="e", input=["alpha", "beta"])
        again = client.embeddings.create(model="e", input="alpha", encoding_format="float")
    assert len(first.data) == 2 and len(first.data[0].embedding) == fake_openai.embedding_dim
    assert first.data[0].embedding == pytest.approx(again.data[0].embedding, abs=1e-6)
    assert first.data[0].embedding != pytest.approx(first.data[1].embedding, abs=1e-6)
    assert len(fake_openai.embedding_requests) == 2


def test_callable_behaviour_sees_the_request(fake_openai: FakeOpenAI) -> None:
    fake_openai.always(lambda req: Reply("echo: " + req.messages[-1]["content"]))
    with openai.OpenAI(base_url=fake_openai.base_url, api_key="k") as client:
        result = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}]
        )
    assert result.choices[0].message.content == "echo: x"
