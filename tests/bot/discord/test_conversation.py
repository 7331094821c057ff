"""Questions and history from messages, threads and reply chains (spec'd discord mocks)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import discord

from bot.discord.ask_flow import MessageReplier
from bot.discord.conversation import (
    cap_turns,
    history_for,
    question_from_message,
    turns_from_messages,
)
from bot.discord.render import OutgoingMessage
from knowledge.models import Turn

BOT = 4242


def user(user_id: int, bot: bool = False) -> MagicMock:
    author = MagicMock(spec=discord.Member)
    author.id = user_id
    author.bot = bot
    return author


def message(
    message_id: int,
    author: MagicMock,
    content: str = "",
    embeds: list[discord.Embed] | None = None,
    reference: discord.Message | None = None,
    channel: Any = None,
) -> MagicMock:
    msg = MagicMock(spec=discord.Message)
    msg.id = message_id
    msg.author = author
    msg.content = content
    msg.embeds = embeds or []
    msg.channel = channel or MagicMock(spec=discord.TextChannel)
    if reference is None:
        msg.reference = None
    else:
        ref = MagicMock(spec=discord.MessageReference)
        ref.message_id = reference.id
        ref.resolved = reference
        msg.reference = ref
    return msg


def answer_embed(text: str, title: str | None = None) -> discord.Embed:
    embed = discord.Embed(title=title, description=text)
    embed.add_field(name="Sources", value="**[1]** [T](https://e.com)")
    return embed


def test_question_from_message_strips_the_mention() -> None:
    assert question_from_message(f"<@{BOT}>  what is   LoRA?", BOT) == "what is LoRA?"
    assert question_from_message(f"hey <@!{BOT}> and RAG?", BOT) == "hey and RAG?"
    assert question_from_message(f"<@{BOT}>", BOT) == ""


def test_turns_skip_notices_and_recover_slash_questions() -> None:
    member, me = user(1), user(BOT, bot=True)
    messages = [
        # A /ask answer: its question only lives in the embed title.
        message(
            1, me, embeds=[answer_embed("LoRA trains low-rank matrices [1].", "What is LoRA?")]
        ),
        message(2, member, f"<@{BOT}> how much memory?"),
        message(3, me, "You asked a moment ago; try again in 5 s."),
        message(4, me, embeds=[answer_embed("Much less [1].", "how much memory?")]),
        message(5, user(9, bot=True), "another bot"),
    ]

    turns = turns_from_messages(messages, BOT)

    assert turns == [
        Turn(role="user", content="What is LoRA?"),
        Turn(role="assistant", content="LoRA trains low-rank matrices [1]."),
        Turn(role="user", content="how much memory?"),
        Turn(role="assistant", content="Much less [1]."),
    ]


def test_cap_keeps_the_newest_turns() -> None:
    turns = [Turn(role="user", content=str(i)) for i in range(10)]
    assert [t.content for t in cap_turns(turns, 3)] == ["7", "8", "9"]
    assert cap_turns(turns, 0) == []


async def test_reply_chain_history_is_capped() -> None:
    member, me = user(1), user(BOT, bot=True)
    chain: discord.Message | None = None
    for i in range(10):
        if i % 2 == 0:
            chain = message(i, member, f"<@{BOT}> question {i}", reference=chain)
        else:
            chain = message(i, me, embeds=[answer_embed(f"answer {i}")], reference=chain)
    latest = message(99, member, "and then?", reference=chain)

    turns = await history_for(latest, BOT, limit=4)

    assert [t.content for t in turns] == ["question 6", "answer 7", "question 8", "answer 9"]


async def test_thread_history_starts_with_the_question_it_grew_from() -> None:
    member, me = user(1), user(BOT, bot=True)
    thread = MagicMock(spec=discord.Thread)
    thread.id = 500
    thread.owner_id = BOT
    starter = message(500, member, f"<@{BOT}> What is RAG?")
    thread.starter_message = starter
    earlier = [
        message(501, me, embeds=[answer_embed("Retrieval plus generation [1].", "What is RAG?")]),
        message(502, member, "does it need a vector store?"),
    ]

    async def history(**kwargs: Any) -> AsyncIterator[discord.Message]:
        for item in reversed(earlier):  # Discord returns newest first
            yield item

    thread.history = history
    latest = message(503, member, "thanks, and BM25?", channel=thread)

    turns = await history_for(latest, BOT, limit=6)

    assert turns == [
        Turn(role="user", content="What is RAG?"),
        Turn(role="assistant", content="Retrieval plus generation [1]."),
        Turn(role="user", content="does it need a vector store?"),
    ]


async def test_with_threads_on_the_answer_goes_into_a_new_thread() -> None:
    channel = MagicMock(spec=discord.TextChannel)
    question = message(1, user(1), f"<@{BOT}> What is LoRA?", channel=channel)
    thread = MagicMock(spec=discord.Thread)
    thread.send = AsyncMock(return_value=MagicMock(spec=discord.Message))
    question.create_thread = AsyncMock(return_value=thread)
    replier = MessageReplier(question, "What is LoRA?", use_thread=True)

    await replier.send(OutgoingMessage(content="…thinking"))
    await replier.send(OutgoingMessage(embeds=[discord.Embed(description="more")]))

    question.create_thread.assert_awaited_once_with(name="What is LoRA?")
    assert thread.send.await_count == 2
    question.reply.assert_not_called()
    kwargs = thread.send.await_args_list[0].kwargs
    assert kwargs["allowed_mentions"].to_dict() == discord.AllowedMentions.none().to_dict()


async def test_when_a_thread_cannot_be_opened_the_answer_is_a_reply() -> None:
    channel = MagicMock(spec=discord.TextChannel)
    question = message(1, user(1), "q", channel=channel)
    question.create_thread = AsyncMock(
        side_effect=discord.Forbidden(MagicMock(status=403, reason="Forbidden"), "no threads")
    )
    replier = MessageReplier(question, "q", use_thread=True)

    await replier.send(OutgoingMessage(content="…thinking"))

    question.reply.assert_awaited_once()


def test_an_answers_linked_markers_come_back_as_plain_markers_in_history() -> None:
    linked = (
        "Low rank [\\[1\\]](https://arxiv.org/abs/2106.09685) works [\\[2\\]](https://x.org/a)."
    )
    answer = message(1, user(BOT, bot=True), embeds=[discord.Embed(title="Q", description=linked)])

    turns = turns_from_messages([answer], BOT)

    assert turns[-1] == Turn(role="assistant", content="Low rank [1] works [2].")


def test_question_from_message_strips_the_bots_role_mention_too() -> None:
    text = question_from_message(f"<@&77> <@{BOT}> what is LoRA?", BOT, role_ids=[77])
    assert text == "what is LoRA?"
