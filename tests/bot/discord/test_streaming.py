"""Streaming answers by throttled edits: at most one a second, with an in-progress marker."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any, cast
from unittest.mock import MagicMock

import aiohttp
import discord
import discord.ext.test as dpytest
import pytest
from discord.ext.test import callbacks

from bot.discord.render import CURSOR
from bot.discord.streaming import ThrottledEditor, collect_answer
from knowledge.errors import CuratorError
from knowledge.models import Answer
from knowledge.services import Services
from knowledge.settings import Settings
from tests.bot.discord.conftest import FakeClock, latest, start_bot, text_channel_at
from tests.support.fake_openai import FakeOpenAI, Reply


async def test_edits_at_most_once_a_second() -> None:
    clock = FakeClock()
    edits: list[tuple[float, str]] = []

    async def edit(pages: list[str]) -> None:
        edits.append((clock(), pages[-1]))

    editor = ThrottledEditor(edit, clock=clock)
    text = ""
    for i in range(30):  # a delta every 0.25 s for 7.5 s
        clock.advance(0.25)
        text += f"word{i} "
        await editor.push(text)

    times = [t for t, _ in edits]
    assert len(edits) == 7
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))
    assert all(t.endswith(CURSOR) for _, t in edits)
    assert edits[-1][1].startswith("word0 word1")


async def test_a_failed_progress_edit_does_not_stop_the_answer() -> None:
    clock = FakeClock()

    async def edit(pages: list[str]) -> None:
        raise discord.HTTPException(rate_limited_response(), "rate limited")

    editor = ThrottledEditor(edit, clock=clock)
    clock.advance(2)
    await editor.push("text")
    assert editor.edits == 0


def rate_limited_response() -> aiohttp.ClientResponse:
    """A spec'd stand-in for the 429 response discord.py wraps in an HTTPException."""
    response = MagicMock(spec=aiohttp.ClientResponse)
    response.status = 429
    response.reason = "Too Many Requests"
    return cast(aiohttp.ClientResponse, response)


async def _stream(*items: str | Answer) -> AsyncIterator[str | Answer]:
    for item in items:
        yield item


async def test_collect_answer_returns_the_final_answer() -> None:
    final = Answer(text="Done [1].")
    shown: list[str] = []
    clock = FakeClock()

    async def edit(pages: list[str]) -> None:
        shown.extend(pages)

    editor = ThrottledEditor(edit, clock=clock, interval=0)
    answer = await collect_answer(_stream("Do", "ne", final), editor)

    assert answer is final
    # One delta late: the last stretch of text is shown by the final answer itself.
    assert shown == ["Do" + CURSOR]


async def test_an_answer_that_arrives_whole_is_never_shown_raw() -> None:
    final = Answer(text="> **quoted** passage [1]", mode="extractive")
    shown: list[list[str]] = []

    async def edit(pages: list[str]) -> None:
        shown.append(pages)

    editor = ThrottledEditor(edit, clock=FakeClock(), interval=0)
    answer = await collect_answer(_stream(final.text, final), editor)

    assert answer is final and shown == []


async def test_a_stream_without_a_final_answer_is_an_error() -> None:
    with pytest.raises(CuratorError, match="stopped before it was complete"):
        await collect_answer(_stream("partial"))


class TickingClock:
    """Each reading is 0.3 s after the previous one, like a slow stream."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.3
        return self.now


async def test_the_bot_streams_into_its_placeholder_then_shows_the_embed(
    settings: Settings, services: Services, fake_openai: FakeOpenAI
) -> None:
    bot = await start_bot(settings, services, clock=TickingClock())
    long_answer = " ".join(f"LoRA fact {i} [1]." for i in range(40))
    fake_openai.script(Reply(long_answer, chunk_chars=10))
    edits: list[dict[str, Any]] = []

    async def on_edit(channel: Any, message: Any, fields: dict[str, Any]) -> None:
        edits.append(fields["params"].payload)

    callbacks.set_callback(on_edit, "edit_message")
    config = dpytest.get_config()
    assert bot.user is not None
    try:
        await dpytest.message(
            f"<@{bot.user.id}> Tell me about LoRA", config.channels[0], config.members[0]
        )
    finally:
        callbacks.remove_callback("edit_message")

    placeholder = dpytest.get_message()
    assert placeholder.content == "…thinking"
    progress = [e for e in edits if not e.get("embeds")]
    assert progress, "the answer was not streamed"
    assert all(e["content"].endswith(CURSOR) for e in progress)
    assert all(e["allowed_mentions"]["parse"] == [] for e in edits)
    # The clock moves 0.3 s per reading: never more than one edit per ~3 readings.
    chunks = len(long_answer) // 10 + 1
    assert len(progress) <= chunks // 3 + 1
    final = await latest(text_channel_at(), placeholder)
    assert final.embeds and "LoRA fact 39 [\\[1\\]](https://" in (final.embeds[0].description or "")
    await services.aclose()


async def test_a_long_answer_streams_into_a_second_message_with_fences_closed(
    settings: Settings, services: Services, fake_openai: FakeOpenAI
) -> None:
    bot = await start_bot(settings, services, clock=TickingClock())
    code = "\n".join(f"layer_{i} = lora_B @ lora_A  # rank 8 update, block {i}" for i in range(60))
    long_answer = "LoRA adds a low-rank update to each layer [1]:\n\n```python\n" + code + "\n```"
    assert len(long_answer) > 3_000
    fake_openai.script(Reply(long_answer, chunk_chars=40))
    edits: list[tuple[int, str]] = []
    deleted: list[int] = []

    async def on_edit(channel: Any, message: Any, fields: dict[str, Any]) -> None:
        payload = fields["params"].payload
        if not payload.get("embeds"):
            edits.append((message.id, payload["content"]))

    async def on_delete(channel: Any, message: Any, reason: Any = None) -> None:
        deleted.append(message.id)

    callbacks.set_callback(on_edit, "edit_message")
    callbacks.set_callback(on_delete, "delete_message")
    config = dpytest.get_config()
    assert bot.user is not None
    try:
        await dpytest.message(
            f"<@{bot.user.id}> Show me LoRA in code", config.channels[0], config.members[0]
        )
    finally:
        callbacks.remove_callback("edit_message")
        callbacks.remove_callback("delete_message")

    sent = []
    while not dpytest.verify().message().nothing():
        sent.append(dpytest.get_message())
    placeholder, continued = sent[0], sent[1]
    # The first message filled up, then the answer went on in a second one.
    assert continued.content.startswith(("layer_", "```python")), continued.content[:80]
    shown = [text for _, text in edits] + [m.content for m in sent[1:] if m.content]
    assert any(i == placeholder.id and t.startswith("LoRA adds a low-rank") for i, t in edits)
    for text in shown:
        assert len(text) <= 2_000
        fences = [line for line in text.splitlines() if line.startswith("```")]
        assert len(fences) % 2 == 0, f"an open code fence was shown: {text[-120:]!r}"
    # The final answer is the placeholder's embeds; spare progress messages are removed.
    final = await latest(text_channel_at(), placeholder)
    assert final.embeds and "layer_0 = lora_B @ lora_A" in (final.embeds[0].description or "")
    for extra in sent[1:]:
        if extra.id not in deleted:
            assert (await latest(text_channel_at(), extra)).embeds
    await services.aclose()
