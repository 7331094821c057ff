"""Mentions and replies, end to end: dpytest + the real AnswerService, index and fake LLM."""

from __future__ import annotations

import logging
import re

import discord
import discord.ext.test as dpytest
import pytest

from bot.discord.curator_bot import CuratorBot
from knowledge.answers.service import AnswerService
from knowledge.feedback import FeedbackStore
from knowledge.logging_setup import extra_fields
from tests.bot.discord.conftest import (
    GAPS_ID,
    BotFactory,
    custom_ids,
    latest,
    send_reply,
    stored_message,
    text_channel_at,
)
from tests.support.fake_openai import Fail, FakeOpenAI

LORA_ANSWER = "LoRA freezes the pretrained weights and trains small low-rank matrices instead [1]."


async def ask_by_mention(bot: CuratorBot, text: str, member: int = 0) -> discord.Message:
    config = dpytest.get_config()
    channel = text_channel_at()
    assert bot.user is not None
    await dpytest.message(f"<@{bot.user.id}> {text}", channel, config.members[member])
    placeholder = dpytest.get_message()
    return await latest(channel, placeholder)


async def test_mention_gets_an_answer_embed_with_linked_sources(
    bot: CuratorBot, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(LORA_ANSWER)

    answer = await ask_by_mention(bot, "How does LoRA adapt a large language model?")

    embed = answer.embeds[0]
    assert embed.title == "How does LoRA adapt a large language model?"
    assert "low-rank matrices instead [\\[1\\]](https://arxiv.org/" in (embed.description or "")
    sources = embed.fields[0]
    assert sources.name == "Sources"
    assert sources.value and sources.value.startswith("**[1]** [LoRA")
    assert "](https://" in sources.value
    assert embed.footer.text and embed.footer.text.startswith("LLM · ")
    ids = custom_ids(stored_message(answer.channel, answer.id))
    assert len(ids) == 2 and ids[0].startswith("curator:fb:up:")
    # The question reached the model, with the sources in the prompt.
    assert "How does LoRA adapt" in fake_openai.chat_requests[-1].prompt_text


async def test_reply_to_an_answer_continues_the_conversation(
    bot: CuratorBot, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(LORA_ANSWER)
    first = await ask_by_mention(bot, "How does LoRA adapt a large language model?")
    config = dpytest.get_config()
    channel = text_channel_at()
    # Second question: one call rewrites the follow-up into a standalone query, one answers.
    fake_openai.script(
        "LoRA rank and memory savings when fine-tuning",
        "It cuts the trainable parameters by a factor of thousands [1].",
    )

    await send_reply("And how much memory does it save?", first, config.members[0], channel)

    follow = await latest(channel, dpytest.get_message())
    assert "factor of thousands" in (follow.embeds[0].description or "")
    answer_request = fake_openai.chat_requests[-1]
    roles = [m["role"] for m in answer_request.messages]
    assert roles[:3] == ["system", "user", "assistant"]
    assert answer_request.messages[1]["content"] == "How does LoRA adapt a large language model?"
    assert "low-rank matrices instead" in answer_request.messages[2]["content"]
    assert "how much memory" in answer_request.messages[-1]["content"]


async def test_a_message_without_mention_or_reply_is_ignored(
    bot: CuratorBot, fake_openai: FakeOpenAI
) -> None:
    config = dpytest.get_config()
    await dpytest.message("What is LoRA?", config.channels[0], config.members[0])
    assert dpytest.verify().message().nothing()
    assert fake_openai.chat_requests == []


async def test_a_question_the_collection_does_not_cover_is_refused_and_queued_for_moderators(
    make_bot: BotFactory, fake_openai: FakeOpenAI
) -> None:
    bot = await make_bot(discord={"gaps_channel_id": GAPS_ID})

    answer = await ask_by_mention(bot, "Which volcano erupted near Reykjavik yesterday?")

    embed = answer.embeds[0]
    assert embed.footer.text and embed.footer.text.startswith("Not covered by the collection")
    assert "won't guess" in (embed.description or "")
    assert fake_openai.chat_requests == []  # the model is not asked to make something up
    gap_post = dpytest.get_message()
    assert gap_post.channel.id == GAPS_ID
    assert gap_post.embeds[0].description == "Which volcano erupted near Reykjavik yesterday?"
    # The jump link sits in a field, where Discord renders links (not in the footer).
    asked_in = gap_post.embeds[0].fields[0]
    assert asked_in.name == "Asked in"
    assert (asked_in.value or "").startswith("[Jump to the question](https://discord.com/channels/")
    # Refused questions are logged for the moderators' report.
    gaps = bot.services.feedback.questions.since(1, gaps_only=True)
    assert [q.question for q in gaps] == ["Which volcano erupted near Reykjavik yesterday?"]


async def test_a_bare_mention_is_told_how_to_ask(bot: CuratorBot, fake_openai: FakeOpenAI) -> None:
    config = dpytest.get_config()
    assert bot.user is not None
    await dpytest.message(f"<@{bot.user.id}>", config.channels[0], config.members[0])
    assert dpytest.get_message().content.startswith("Ask me something after the mention")
    assert fake_openai.chat_requests == []


async def test_when_the_llm_fails_the_member_still_gets_a_quoted_answer(
    bot: CuratorBot, fake_openai: FakeOpenAI
) -> None:
    fake_openai.always(Fail(500))

    answer = await ask_by_mention(bot, "How does LoRA adapt a large language model?")

    embed = answer.embeds[0]
    assert embed.footer.text and embed.footer.text.startswith("Extractive (no LLM)")
    assert embed.fields and embed.fields[0].name == "Sources"
    assert "Showing quoted passages instead" in (embed.description or "")


async def test_an_unexpected_error_is_logged_with_the_id_the_member_sees(
    bot: CuratorBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(AnswerService, "stream", broken)

    with caplog.at_level(logging.ERROR, logger="bot.discord.failure_replies"):
        reply = await ask_by_mention(bot, "How does LoRA adapt a large language model?")

    match = re.search(r"error id `([0-9a-f]{8})`", reply.content)
    assert match is not None, reply.content
    assert "disk on fire" not in reply.content
    [record] = [r for r in caplog.records if getattr(r, "error_id", None) == match.group(1)]
    assert record.exc_info is not None and "disk on fire" in str(record.exc_info[1])


async def test_an_answer_is_logged_with_its_id_and_guild_even_when_recording_it_fails(
    bot: CuratorBot,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("database is locked")

    monkeypatch.setattr(FeedbackStore, "record_answer", broken)
    fake_openai.script(LORA_ANSWER)

    with caplog.at_level(logging.INFO, logger="bot.discord.ask_flow"):
        answer = await ask_by_mention(bot, "How does LoRA adapt a large language model?")

    assert answer.embeds, "the member still gets the answer"
    [failed] = [r for r in caplog.records if r.getMessage() == "could not record an answer"]
    [answered] = [extra_fields(r) for r in caplog.records if r.getMessage() == "answered question"]
    assert extra_fields(failed)["answer_id"] == answered["answer_id"]
    assert len(answered["answer_id"]) >= 8
    assert answered["guild_id"] == text_channel_at().guild.id
    assert answered["mode"] == "llm" and answered["latency_ms"] >= 0


@pytest.mark.parametrize(
    ("allow_dms", "reply"),
    [
        (False, "I don't answer direct messages; please ask me in the server."),
        (True, "…thinking"),
    ],
)
async def test_dms_are_answered_only_when_allowed(
    make_bot: BotFactory, fake_openai: FakeOpenAI, allow_dms: bool, reply: str
) -> None:
    await make_bot(discord={"allow_dms": allow_dms})
    alice = dpytest.get_config().members[0]
    dm = await alice.create_dm()
    fake_openai.always(LORA_ANSWER)

    await dpytest.message("How does LoRA adapt a large language model?", dm, alice)

    assert dpytest.get_message().content == reply
    assert len(fake_openai.chat_requests) == (1 if allow_dms else 0)
