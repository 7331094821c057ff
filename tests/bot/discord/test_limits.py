"""Per-user cooldown and the global cap on concurrent answers, alone and through the bot."""

from __future__ import annotations

import asyncio

import discord.ext.test as dpytest
import pytest
from discord.ext.test import backend

from bot.discord.curator_bot import CuratorBot
from bot.discord.limits import AnswerSlots, Cooldowns, RateLimitedError, wait_phrase
from tests.bot.discord.conftest import (
    BotFactory,
    FakeClock,
    latest,
    stored_message,
    text_channel_at,
)
from tests.support.fake_openai import FakeOpenAI, Reply


def test_cooldown_tells_when_to_try_again() -> None:
    clock = FakeClock()
    cooldowns = Cooldowns(10, clock=clock)

    cooldowns.check_and_start(1)
    clock.advance(3.2)
    with pytest.raises(RateLimitedError) as caught:
        cooldowns.check_and_start(1)
    # Other members are not affected.
    cooldowns.check_and_start(2)
    clock.advance(6.8)
    cooldowns.check_and_start(1)

    assert caught.value.user_message == "You asked a moment ago; try again in 7 s."
    assert caught.value.retry_after == pytest.approx(6.8)


def test_zero_cooldown_never_limits() -> None:
    cooldowns = Cooldowns(0, clock=FakeClock())
    for _ in range(5):
        cooldowns.check_and_start(1)


def test_wait_phrase_never_says_zero() -> None:
    assert wait_phrase(0.01) == "try again in 1 s"
    assert wait_phrase(4.2) == "try again in 5 s"


async def test_slots_queue_then_turn_away() -> None:
    slots = AnswerSlots(max_concurrent=1, max_queue=1)
    order: list[str] = []
    release_first = asyncio.Event()

    async def first() -> None:
        async with slots.slot() as ticket:
            assert ticket.ahead == 0
            await ticket.ready()
            order.append("first started")
            await release_first.wait()
        order.append("first done")

    async def second() -> None:
        async with slots.slot() as ticket:
            assert ticket.ahead == 1
            await ticket.ready()
            order.append("second started")

    running = asyncio.create_task(first())
    await asyncio.sleep(0)
    waiting = asyncio.create_task(second())
    await asyncio.sleep(0)
    with pytest.raises(RateLimitedError) as caught:
        async with slots.slot():
            pass
    assert slots.admitted == 2
    release_first.set()
    await asyncio.gather(running, waiting)

    assert "queue is full (1 waiting); try again in" in caught.value.user_message
    assert order == ["first started", "first done", "second started"]
    assert slots.admitted == 0


async def test_a_member_over_the_cooldown_is_told_when_to_try_again(
    make_bot: BotFactory, fake_openai: FakeOpenAI
) -> None:
    clock = FakeClock()
    bot = await make_bot(discord={"cooldown_seconds": 30}, clock=clock)
    fake_openai.always("Low-rank matrices [1].")
    config = dpytest.get_config()
    channel, alice = text_channel_at(), config.members[0]
    assert bot.user is not None
    mention = f"<@{bot.user.id}> How does LoRA reduce trainable parameters?"

    await dpytest.message(mention, channel, alice)
    dpytest.get_message()
    clock.advance(12)
    await dpytest.message(mention, channel, alice)
    refusal = dpytest.get_message()
    clock.advance(19)
    await dpytest.message(mention, channel, alice)
    third = await latest(channel, dpytest.get_message())

    assert refusal.content == "You asked a moment ago; try again in 18 s."
    assert third.embeds and third.embeds[0].fields[0].name == "Sources"
    assert len(fake_openai.chat_requests) == 2


async def test_when_the_queue_is_full_members_are_told_to_come_back(
    make_bot: BotFactory, fake_openai: FakeOpenAI
) -> None:
    bot: CuratorBot = await make_bot(discord={"max_concurrent": 1, "max_queue": 1})
    fake_openai.always(Reply("Low-rank matrices [1].", delay=0.3))
    config = dpytest.get_config()
    channel = text_channel_at()
    assert bot.user is not None

    # Three members ask at once: one is answered, one waits, one is turned away.
    for member in config.members:
        backend.make_message(f"<@{bot.user.id}> How does LoRA work?", member, channel)
    await dpytest.run_all_events()

    sent = [dpytest.get_message() for _ in range(3)]
    contents = [m.content for m in sent]
    assert contents[0] == "…thinking"
    assert contents[1].startswith("⏳ Busy right now: 1 question ahead of yours")
    assert contents[2].startswith("I'm answering as many questions as I can and the queue is full")
    assert "try again in" in contents[2]
    answered = [await latest(channel, m) for m in sent[:2]]
    assert all(m.embeds and m.embeds[0].fields[0].name == "Sources" for m in answered)
    assert len(fake_openai.chat_requests) == 2
    # The member who waited is pinged when the answer lands, and only they can be.
    ready = dpytest.get_message()
    waiting = config.members[1]
    assert ready.content == f"<@{waiting.id}> your answer is ready: {answered[1].jump_url}"
    allowed = stored_message(channel, ready.id)["allowed_mentions"]
    assert allowed["users"] == [str(waiting.id)] or allowed["users"] == [waiting.id]
    assert allowed["parse"] == [] and allowed.get("roles", []) == []
    assert not allowed.get("replied_user", False)
    assert dpytest.verify().message().nothing()
