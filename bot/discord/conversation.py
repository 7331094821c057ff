"""Turning Discord messages into a question and the earlier turns of its conversation."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import discord

from knowledge.models import Turn

log = logging.getLogger(__name__)

_WHITESPACE = re.compile(r"\s+")


def question_from_message(content: str, bot_id: int) -> str:
    """The question in a message, without the mention of the bot that addressed it."""
    text = re.sub(rf"<@!?{bot_id}>", " ", content)
    return _WHITESPACE.sub(" ", text).strip()


def is_answer_message(message: discord.Message, bot_id: int) -> bool:
    """Whether a message is one of the bot's answers (they are always embeds)."""
    return message.author.id == bot_id and bool(message.embeds)


def answer_text(message: discord.Message) -> str:
    """The text of a bot answer: its embed descriptions (sources left out)."""
    return "\n\n".join(e.description for e in message.embeds if e.description).strip()


def _answer_title(message: discord.Message) -> str:
    return next((e.title for e in message.embeds if e.title), "") or ""


def turns_from_messages(messages: Sequence[discord.Message], bot_id: int) -> list[Turn]:
    """Chronological messages -> turns; bot messages that are not answers are skipped.

    A bot answer whose question is not the turn right before it (a /ask answer, whose question
    lives only in the embed title) brings that question along as a user turn.
    """
    turns: list[Turn] = []
    for message in messages:
        if message.author.id == bot_id:
            if not is_answer_message(message, bot_id):
                continue
            title = _answer_title(message)
            if title and (not turns or turns[-1].role != "user"):
                turns.append(Turn(role="user", content=title))
            text = answer_text(message)
            if text:
                turns.append(Turn(role="assistant", content=text))
        elif not message.author.bot:
            question = question_from_message(message.content, bot_id)
            if question:
                turns.append(Turn(role="user", content=question))
    return turns


def cap_turns(turns: list[Turn], limit: int) -> list[Turn]:
    """Keep the newest `limit` turns."""
    return turns[-limit:] if limit > 0 else []


async def referenced_message(message: discord.Message) -> discord.Message | None:
    """The message `message` replies to, from the cache or fetched; None if gone."""
    reference = message.reference
    if reference is None or reference.message_id is None:
        return None
    if isinstance(reference.resolved, discord.Message):
        return reference.resolved
    if isinstance(reference.cached_message, discord.Message):
        return reference.cached_message
    channel = message.channel
    if reference.channel_id != channel.id:
        return None
    try:
        return await channel.fetch_message(reference.message_id)
    except (discord.NotFound, discord.Forbidden):
        return None
    except discord.HTTPException as exc:
        log.warning("could not fetch a message of the reply chain: %s", exc)
        return None


async def reply_chain(message: discord.Message, max_messages: int) -> list[discord.Message]:
    """The messages `message` replies to, transitively, oldest first (itself excluded)."""
    chain: list[discord.Message] = []
    current = message
    seen = {message.id}
    while len(chain) < max_messages:
        parent = await referenced_message(current)
        if parent is None or parent.id in seen:
            break
        seen.add(parent.id)
        chain.append(parent)
        current = parent
    chain.reverse()
    return chain


async def thread_messages(
    thread: discord.Thread, before: discord.Message, max_messages: int
) -> list[discord.Message]:
    """The thread's messages before `before`, oldest first, led by the message it grew from."""
    messages: list[discord.Message] = []
    try:
        async for item in thread.history(limit=max_messages, before=before):
            messages.append(item)
    except discord.HTTPException as exc:
        log.warning("could not read thread history: %s", exc)
    messages.reverse()
    starter = thread.starter_message
    parent = thread.parent
    if starter is None and isinstance(parent, discord.TextChannel) and len(messages) < max_messages:
        try:
            starter = await parent.fetch_message(thread.id)
        except discord.HTTPException:
            starter = None
    if starter is not None and all(m.id != starter.id for m in messages):
        messages.insert(0, starter)
    return messages


async def history_for(message: discord.Message, bot_id: int, limit: int) -> list[Turn]:
    """The earlier turns for a message: its thread (when the bot owns it) or its reply chain."""
    if limit <= 0:
        return []
    # Each turn is one message; a few spare messages cover skipped notices.
    budget = limit + 4
    channel = message.channel
    if isinstance(channel, discord.Thread) and channel.owner_id == bot_id:
        earlier = await thread_messages(channel, message, budget)
    else:
        earlier = await reply_chain(message, budget)
    return cap_turns(turns_from_messages(earlier, bot_id), limit)
