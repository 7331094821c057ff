"""Turning Discord messages into a question and the earlier turns of its conversation."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence

import discord

from knowledge.models import Turn

log = logging.getLogger(__name__)

_WHITESPACE = re.compile(r"\s+")


def question_from_message(content: str, bot_id: int, role_ids: Iterable[int] = ()) -> str:
    """The question in a message, without the mentions of the bot (or its role) addressing it."""
    text = re.sub(rf"<@!?{bot_id}>", " ", content)
    for role_id in role_ids:
        text = text.replace(f"<@&{role_id}>", " ")
    return _WHITESPACE.sub(" ", text).strip()


def is_answer_message(message: discord.Message, bot_id: int) -> bool:
    """Whether a message is one of the bot's answers (they are always embeds)."""
    return message.author.id == bot_id and bool(message.embeds)


# A citation marker the bot rendered as a link: `[\[1\]](https://…)`.
_LINKED_MARKER = re.compile(r"\[\\\[(\d+)\\\]\]\([^)\s]*\)")


def answer_text(message: discord.Message) -> str:
    """The text of a bot answer: its embed descriptions (sources left out), markers unlinked."""
    text = "\n\n".join(e.description for e in message.embeds if e.description).strip()
    return _LINKED_MARKER.sub(r"[\1]", text)


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


async def starter_message(thread: discord.Thread) -> discord.Message | None:
    """The message a thread grew from: in its parent channel, or inside a forum post."""
    if thread.starter_message is not None:
        return thread.starter_message
    parent = thread.parent
    # A forum post's opening message lives in the thread, under the thread's own id.
    holder: discord.abc.Messageable | None = (
        thread if isinstance(parent, discord.ForumChannel) else parent
    )
    if not isinstance(holder, discord.Thread | discord.TextChannel):
        return None
    try:
        return await holder.fetch_message(thread.id)
    except discord.HTTPException:
        return None


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
    if all(m.id != thread.id for m in messages) and before.id != thread.id:
        starter = await starter_message(thread)
        if starter is not None and all(m.id != starter.id for m in messages):
            messages.insert(0, starter)
    return messages


def cap_chars(turns: list[Turn], max_chars: int) -> list[Turn]:
    """Keep the newest turns within `max_chars` in all; the first kept may be cut at its start."""
    kept: list[Turn] = []
    budget = max_chars
    for turn in reversed(turns):
        if budget <= 0:
            break
        content = turn.content
        if len(content) > budget:
            content = "…" + content[-(budget - 1) :] if budget > 1 else ""
        if content:
            kept.append(Turn(role=turn.role, content=content))
        budget -= len(content)
    kept.reverse()
    return kept


async def history_for(
    message: discord.Message, bot_id: int, limit: int, max_chars: int = 4_000
) -> list[Turn]:
    """The earlier turns for a message: its thread or forum post, or its reply chain.

    In a thread the starter message always leads (it holds the question the thread is about),
    followed by the newest messages; at most `limit` turns and `max_chars` characters.
    """
    if limit <= 0:
        return []
    # Each turn is one message; a few spare messages cover skipped notices.
    budget = limit + 4
    channel = message.channel
    if isinstance(channel, discord.Thread):
        earlier = await thread_messages(channel, message, budget)
        turns = turns_from_messages(earlier, bot_id)
        if len(turns) > limit and earlier and earlier[0].id == channel.id:
            lead = turns_from_messages(earlier[:1], bot_id)
            turns = lead + turns[len(turns) - (limit - len(lead)) :] if limit > len(lead) else lead
        forum = isinstance(channel.parent, discord.ForumChannel)
        if forum and turns and earlier and earlier[0].id == channel.id and turns[0].role == "user":
            # A forum post's title is part of its question.
            turns[0] = Turn(role="user", content=f"{channel.name}\n{turns[0].content}")
        return merge_user_runs(_lead_within(turns, max_chars))
    earlier = await reply_chain(message, budget)
    return cap_chars(cap_turns(turns_from_messages(earlier, bot_id), limit), max_chars)


def merge_user_runs(turns: list[Turn]) -> list[Turn]:
    """Consecutive member messages as one user turn, oldest first.

    In a thread, members' messages between two answers are one side of the conversation; kept
    apart, the newest chatter ("good question!") would hide the thread's opening question from
    a follow-up such as "any article on this?".
    """
    merged: list[Turn] = []
    for turn in turns:
        if merged and turn.role == "user" and merged[-1].role == "user":
            merged[-1] = Turn(role="user", content=f"{merged[-1].content}\n{turn.content}")
        else:
            merged.append(turn)
    return merged


def _lead_within(turns: list[Turn], max_chars: int) -> list[Turn]:
    """Cap to `max_chars`, keeping the thread's opening turn (shortened if need be) first."""
    if not turns:
        return []
    lead, rest = turns[0], turns[1:]
    lead_budget = min(len(lead.content), max_chars // 2)
    head = Turn(role=lead.role, content=lead.content[:lead_budget])
    return (
        [head, *cap_chars(rest, max_chars - lead_budget)]
        if head.content
        else cap_chars(rest, max_chars)
    )


_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_CHANNEL_MENTION = re.compile(r"<#(\d+)>")


def readable_mentions(
    text: str,
    guild: discord.Guild | None,
    users: Iterable[discord.abc.User] = (),
) -> str:
    """Raw `<@id>`, `<@&id>` and `<#id>` mentions as '@Display Name', '@role', '#channel'.

    Embed titles render mentions as raw ids, so titles use this; unknown ids become '@someone'.
    """
    known = {user.id: user.display_name for user in users}

    def user(match: re.Match[str]) -> str:
        user_id = int(match.group(1))
        if user_id not in known and guild is not None:
            member = guild.get_member(user_id)
            if member is not None:
                known[user_id] = member.display_name
        return "@" + known.get(user_id, "someone")

    def role(match: re.Match[str]) -> str:
        found = guild.get_role(int(match.group(1))) if guild is not None else None
        return "@" + (found.name if found is not None else "a role")

    def channel(match: re.Match[str]) -> str:
        found = guild.get_channel_or_thread(int(match.group(1))) if guild is not None else None
        return "#" + (found.name if found is not None else "a channel")

    text = _USER_MENTION.sub(user, text)
    text = _ROLE_MENTION.sub(role, text)
    return _CHANNEL_MENTION.sub(channel, text)
