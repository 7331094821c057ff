"""Whether a message is addressed to the bot: one rule, over facts read from the message.

A mention of the bot (or of its managed role) addresses it. A reply to one of its answers, or a
message in a thread it owns, is a follow-up only when it comes from the member who asked or
mentions the bot, and is a question or a request. Thanks, an emoji or a message to another
member is small talk: it gets a reaction at most and is never logged as a question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import discord

from bot.discord.conversation import (
    is_answer_message,
    question_from_message,
    referenced_message,
    starter_message,
)

_MENTION = re.compile(r"<@[!&]?\d+>")
_EMOJI = re.compile(r"<a?:\w+:\d+>")
_WORD = re.compile(r"[\w']+", re.UNICODE)

# Words a question or a request starts with ("what…", "can you…", "tell me…").
_REQUEST_OPENERS = frozenset(
    """what what's whats how how's why when where which who whom whose is are am was were can
    could would should shall will do does did may might any anything anyone is there explain
    tell show give list find recommend suggest summarize summarise compare describe define
    help please point share send link quote search look name clarify elaborate""".split()  # noqa: SIM905
)
_REQUEST_PHRASES = (
    "i need",
    "i want",
    "i'd like",
    "i would like",
    "i'm looking",
    "im looking",
    "looking for",
    "more on",
    "more about",
    "and what",
    "and how",
    "and why",
    "what about",
    "how about",
)
# Words that, on their own, make a message courtesy or chatter rather than a question.
_SMALL_TALK = frozenset(
    """thanks thank thx ty tysm cheers great cool nice ok okay k kk lol lmao haha hah yes yeah
    yep yup no nope nah sure awesome perfect got it gotcha you u so much very a lot good
    brilliant amazing wow neat sweet right indeed agreed exactly makes sense love this that
    helpful helps bot curator appreciated appreciate much""".split()  # noqa: SIM905
)


class Verdict(StrEnum):
    """What the bot does with a message."""

    ANSWER = "answer"
    SMALL_TALK = "small_talk"
    IGNORE = "ignore"


@dataclass(frozen=True)
class MessageFacts:
    """What the rule needs to know about one message, read from Discord beforehand.

    `text` has the bot's mentions removed; `mentions_bot` counts only mentions typed in the
    content (a reply's automatic ping is not one), its managed role included.
    """

    text: str
    mentions_bot: bool = False
    mentions_others: bool = False
    in_dm: bool = False
    replies_to_answer: bool = False
    in_bot_thread: bool = False
    from_asker: bool = False
    auto_answer: bool = False
    forum_post: bool = False


def is_small_talk(text: str) -> bool:
    """True for thanks, an emoji, 'ok' and the like: nothing to look up."""
    stripped = _EMOJI.sub(" ", _MENTION.sub(" ", text)).strip()
    words = [w.lower() for w in _WORD.findall(stripped)]
    if not words:
        return True
    if "?" in stripped:
        return False
    return len(words) <= 8 and all(w in _SMALL_TALK for w in words)


def is_request(text: str) -> bool:
    """True for a question or a request: a '?', or an opening such as 'how', 'tell me'."""
    if is_small_talk(text):
        return False
    stripped = _MENTION.sub(" ", text).strip().lower()
    if "?" in stripped:
        return True
    words = _WORD.findall(stripped)
    if words and words[0] in _REQUEST_OPENERS:
        return True
    return stripped.startswith(_REQUEST_PHRASES)


def decide(facts: MessageFacts) -> Verdict:
    """The one rule for messages: answer, small talk (react at most), or ignore."""
    if facts.mentions_bot or facts.in_dm:
        if facts.mentions_bot and not facts.text.strip():
            # A bare mention: the answer flow tells the member how to ask.
            return Verdict.ANSWER
        if is_small_talk(facts.text):
            return Verdict.SMALL_TALK
        if facts.mentions_others and not is_request(facts.text):
            # "@Curator @bob look at this" talks to bob about the bot, not to it.
            return Verdict.IGNORE
        return Verdict.ANSWER
    if facts.replies_to_answer or facts.in_bot_thread:
        # Members talk to each other under answers and in the bot's threads.
        if not facts.from_asker or facts.mentions_others:
            return Verdict.IGNORE
        if is_request(facts.text):
            return Verdict.ANSWER
        return Verdict.SMALL_TALK if is_small_talk(facts.text) else Verdict.IGNORE
    if facts.auto_answer and not facts.mentions_others:
        # A forum post is a request by nature; in a text channel only questions are taken.
        wanted = not is_small_talk(facts.text) if facts.forum_post else is_request(facts.text)
        return Verdict.ANSWER if wanted else Verdict.IGNORE
    return Verdict.IGNORE


def bot_role_ids(message: discord.Message, bot_id: int) -> set[int]:
    """Ids of the bot's managed role in the message's guild (Discord offers it beside the bot)."""
    ids: set[int] = set()
    guild = message.guild
    if guild is not None and guild.self_role is not None:
        ids.add(guild.self_role.id)
    for role in message.role_mentions:
        if role.tags is not None and role.tags.bot_id == bot_id:
            ids.add(role.id)
    return ids


def mentions_bot(message: discord.Message, bot_id: int) -> bool:
    """Whether the content mentions the bot or its managed role (a reply's ping does not count)."""
    if bot_id in message.raw_mentions:
        return True
    return bool(bot_role_ids(message, bot_id) & set(message.raw_role_mentions))


async def asker_of_answer(answer: discord.Message) -> int | None:
    """Who asked the question a bot answer answers: the /ask user, or the author replied to."""
    metadata = answer.interaction_metadata
    if metadata is not None:
        return metadata.user.id
    question = await referenced_message(answer)
    return question.author.id if question is not None else None


async def asker_of_thread(thread: discord.Thread, bot_id: int) -> int | None:
    """Who opened a bot thread: the author of the message it grew from (or of that /ask)."""
    starter = await starter_message(thread)
    if starter is None:
        return None
    if starter.author.id == bot_id:
        return await asker_of_answer(starter)
    return starter.author.id


async def read_facts(
    message: discord.Message, bot_id: int, *, auto_answer: bool = False
) -> MessageFacts:
    """The facts `decide` needs, reading the replied-to answer or the thread's starter."""
    role_ids = bot_role_ids(message, bot_id)
    others = set(message.raw_mentions) - {bot_id}
    others |= set(message.raw_role_mentions) - role_ids
    channel = message.channel
    in_bot_thread = isinstance(channel, discord.Thread) and channel.owner_id == bot_id
    replies_to_answer = False
    asker: int | None = None
    if message.reference is not None:
        parent = await referenced_message(message)
        if parent is not None and is_answer_message(parent, bot_id):
            replies_to_answer = True
            asker = await asker_of_answer(parent)
    if asker is None and in_bot_thread:
        assert isinstance(channel, discord.Thread)
        asker = await asker_of_thread(channel, bot_id)
    forum_post = (
        isinstance(channel, discord.Thread)
        and isinstance(channel.parent, discord.ForumChannel)
        and message.id == channel.id
    )
    text = question_from_message(message.content, bot_id, role_ids)
    if forum_post:
        assert isinstance(channel, discord.Thread)
        text = f"{channel.name}\n{text}".strip()
    return MessageFacts(
        text=text,
        mentions_bot=mentions_bot(message, bot_id),
        mentions_others=bool(others),
        in_dm=message.guild is None,
        replies_to_answer=replies_to_answer,
        in_bot_thread=in_bot_thread,
        from_asker=asker is not None and asker == message.author.id,
        auto_answer=auto_answer,
        forum_post=forum_post,
    )
