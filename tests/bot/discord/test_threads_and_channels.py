"""Mentions in threads and forum posts read the thread; auto-answer channels; channel scopes.

Threads and forum channels are spec'd mocks (dpytest has no threads); the answer service,
index and fake LLM are real.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Sequence
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import discord
import discord.ext.test as dpytest
import pytest

from bot.discord.cogs.ask_cog import AskingCog
from bot.discord.conversation import history_for
from bot.discord.curator_bot import CuratorBot
from knowledge.answers.service import AnswerService
from knowledge.models import SearchFilters, Turn
from knowledge.settings import ChannelScope
from tests.bot.discord.conftest import (
    GAPS_ID,
    GENERAL_ID,
    BotFactory,
    FakeInteraction,
    latest,
    text_channel_at,
)
from tests.support.fake_openai import FakeOpenAI

_ids = itertools.count(10_000)
BOT_ID = 999
#: The forum channel of the auto-answer tests, named in their settings before the bot starts.
BOARD_ID = 5_000


def member(index: int) -> discord.Member:
    found = dpytest.get_config().members[index]
    assert isinstance(found, discord.Member)
    return found


def posted_message() -> MagicMock:
    """What the bot's reply returns: a message it can edit and link to."""
    posted = MagicMock(spec_set=discord.Message)
    posted.edit = AsyncMock()
    posted.delete = AsyncMock()
    posted.jump_url = f"https://discord.com/channels/1/2/{next(_ids)}"
    return posted


class _Replies:
    """The bot's replies to one message: each returns a new editable message, kept in order."""

    def __init__(self) -> None:
        self.posted: list[MagicMock] = []

    def __call__(self, *args: Any, **kwargs: Any) -> MagicMock:
        self.posted.append(posted_message())
        return self.posted[-1]


def message_in(
    channel: Any, author: discord.abc.User, content: str, *, message_id: int | None = None
) -> MagicMock:
    """A member's message (spec'd) in `channel`; its replies are recorded on `.reply`."""
    message = MagicMock(spec_set=discord.Message)
    message.id = message_id if message_id is not None else next(_ids)
    message.author = author
    message.content = content
    message.channel = channel
    message.guild = dpytest.get_config().guilds[0]
    message.reference = None
    message.embeds = []
    message.mentions = []
    message.role_mentions = []
    message.raw_mentions = [int(m) for m in discord.utils.re.findall(r"<@!?(\d+)>", content)]
    message.raw_role_mentions = []
    message.jump_url = f"https://discord.com/channels/1/{getattr(channel, 'id', 0)}/{message.id}"
    message.reply = AsyncMock(side_effect=_Replies())
    message.add_reaction = AsyncMock()
    return message


def placeholder_message(message: MagicMock) -> MagicMock:
    """The message the bot's first reply to `message` returned (it is edited into the answer)."""
    posted = message.reply.side_effect.posted
    assert posted, "the bot did not reply"
    return posted[0]


def thread_of(
    parent: Any, starter: MagicMock | None, history: Sequence[MagicMock], *, owner_id: int = 1
) -> MagicMock:
    thread = MagicMock(spec_set=discord.Thread)
    thread.id = starter.id if starter is not None else next(_ids)
    thread.name = "Fine-tuning on one small GPU"
    thread.owner_id = owner_id
    thread.parent = parent
    thread.parent_id = parent.id
    thread.starter_message = None

    async def fetch_message(message_id: int) -> MagicMock:
        if starter is not None and message_id == starter.id:
            return starter
        raise discord.NotFound(MagicMock(status=404, reason="gone"), "Unknown Message")

    def read_history(limit: int | None = 100, before: Any = None) -> AsyncIterator[MagicMock]:
        async def newest_first() -> AsyncIterator[MagicMock]:
            for item in list(reversed(history))[:limit]:
                yield item

        return newest_first()

    thread.history = MagicMock(side_effect=read_history)
    # In a forum the opening post lives in the thread; in a text channel, in the parent.
    target = thread if isinstance(parent, discord.ForumChannel) else parent
    target.fetch_message = AsyncMock(side_effect=fetch_message)
    thread.send = AsyncMock(side_effect=lambda *a, **k: posted_message())
    return thread


def forum(channel_id: int | None = None) -> MagicMock:
    channel = MagicMock(spec_set=discord.ForumChannel)
    channel.id = channel_id or next(_ids)
    return channel


def text_parent() -> MagicMock:
    channel = MagicMock(spec_set=discord.TextChannel)
    channel.id = next(_ids)
    return channel


@pytest.fixture
def streamed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[Turn], SearchFilters | None]]:
    """Every (question, history, filters) the answer service was asked to answer."""
    seen: list[tuple[str, list[Turn], SearchFilters | None]] = []
    real = AnswerService.stream

    def spy(
        self: AnswerService,
        question: str,
        history: Sequence[Turn] = (),
        filters: SearchFilters | None = None,
    ) -> Any:
        seen.append((question, list(history), filters))
        return real(self, question, history, filters)

    monkeypatch.setattr(AnswerService, "stream", spy)
    return seen


def asking(bot: CuratorBot) -> Any:
    cog = bot.get_cog("AskingCog")
    assert isinstance(cog, AskingCog)
    return cog


# -- thread and forum context ----------------------------------------------------------------


async def test_history_leads_with_the_starter_and_keeps_the_newest_within_bounds(
    bot: CuratorBot,
) -> None:
    alice, bob = member(0), member(1)
    starter = message_in(text_parent(), alice, "How do I fine-tune a 7B model on one GPU?")
    chatter = [message_in(None, bob, f"message {i} " + "x" * 300) for i in range(12)]
    thread = thread_of(starter.channel, starter, chatter)
    mention = message_in(thread, bob, f"<@{BOT_ID}> any article on this?")

    turns = await history_for(mention, BOT_ID, limit=4, max_chars=1_000)

    # Members' messages are one side of the conversation: one user turn, the question first.
    [turn] = turns
    assert turn.role == "user"
    assert turn.content.startswith("How do I fine-tune a 7B model on one GPU?\n")
    assert len(turn.content) <= 1_000 + 4
    # The newest messages are kept, not the oldest.
    assert "message 11" in turn.content and "message 7" not in turn.content


async def test_a_mention_in_a_members_thread_answers_the_threads_question(
    bot: CuratorBot, fake_openai: FakeOpenAI, streamed: list[Any]
) -> None:
    assert bot.user is not None
    alice, bob = member(0), member(1)
    starter = message_in(text_parent(), alice, "How can I fine-tune a big model on one GPU?")
    thread = thread_of(starter.channel, starter, [message_in(None, bob, "good question")])
    mention = message_in(thread, bob, f"<@{bot.user.id}> any article on this?")
    fake_openai.script(
        "LoRA fine-tuning on one GPU", "LoRA trains low-rank updates, cutting memory [1]."
    )

    await asking(bot).on_message(mention)

    question, history, _ = streamed[-1]
    assert question == "any article on this?"
    assert history == [
        Turn(role="user", content="How can I fine-tune a big model on one GPU?\ngood question")
    ]
    [placeholder] = mention.reply.await_args_list
    assert placeholder.kwargs["allowed_mentions"].to_dict() == {"parse": []}


async def test_without_an_llm_a_thread_mention_still_finds_the_threads_topic(
    make_bot: BotFactory, streamed: list[Any]
) -> None:
    # Extractive mode: the follow-up borrows the thread question's key terms.
    bot = await make_bot(llm={"base_url": None})
    assert bot.user is not None
    alice, bob = member(0), member(1)
    starter = message_in(text_parent(), alice, "How can I fine-tune a big model on one small GPU?")
    chatter = [message_in(None, bob, "good question, I wonder too")]
    thread = thread_of(starter.channel, starter, chatter)
    mention = message_in(thread, bob, f"<@{bot.user.id}> any article on this?")

    await asking(bot).on_message(mention)

    assert len(mention.reply.await_args_list) == 1
    final = placeholder_message(mention).edit.await_args_list[-1].kwargs
    embed = final["embeds"][0]
    assert embed.footer.text.startswith("Extractive (no LLM)")
    sources = embed.fields[0].value or ""
    assert "LoRA: Low-Rank Adaptation" in sources


async def test_in_the_bots_thread_only_the_asker_is_answered_without_a_mention(
    bot: CuratorBot, fake_openai: FakeOpenAI, streamed: list[Any]
) -> None:
    assert bot.user is not None
    alice, bob = member(0), member(1)
    question = message_in(text_parent(), alice, "How does LoRA save memory?")
    thread = thread_of(question.channel, question, [], owner_id=bot.user.id)
    fake_openai.always("It trains two small matrices [1].")

    between_members = message_in(thread, bob, "did that work for you?")
    await asking(bot).on_message(between_members)
    assert streamed == [] and not between_members.reply.await_args_list

    follow_up = message_in(thread, alice, "what about QLoRA?")
    await asking(bot).on_message(follow_up)
    assert [q for q, _, _ in streamed] == ["what about QLoRA?"]


async def test_a_forum_posts_title_and_opening_message_are_the_question(
    bot: CuratorBot, fake_openai: FakeOpenAI, streamed: list[Any]
) -> None:
    assert bot.user is not None
    alice, bob = member(0), member(1)
    board = forum()
    opening = message_in(None, alice, "I only have 24 GB of GPU memory.")
    post = thread_of(board, opening, [])
    opening.channel = post
    mention = message_in(post, bob, f"<@{bot.user.id}> any article on this?")
    fake_openai.always("LoRA needs far less memory [1].")

    await asking(bot).on_message(mention)

    _, history, _ = streamed[-1]
    assert history[0].content == "Fine-tuning on one small GPU\nI only have 24 GB of GPU memory."


# -- forum / text-channel auto-answers ---------------------------------------------------------


def forum_post(board: MagicMock, text: str) -> MagicMock:
    opening = message_in(None, member(0), text)
    post = thread_of(board, opening, [])
    post.name = text.split("\n")[0]
    opening.channel = post
    return opening


async def test_auto_answer_is_off_by_default(
    bot: CuratorBot, fake_openai: FakeOpenAI, streamed: list[Any]
) -> None:
    opening = forum_post(forum(), "How does LoRA reduce memory?")

    await asking(bot).on_message(opening)

    assert streamed == [] and not opening.reply.await_args_list


async def test_a_new_forum_post_is_answered_when_covered(
    make_bot: BotFactory, fake_openai: FakeOpenAI, streamed: list[Any]
) -> None:
    bot = await make_bot(discord={"auto_answer_channels": [BOARD_ID]})
    board = forum(BOARD_ID)
    fake_openai.always("LoRA trains two small matrices per layer [1].")
    opening = forum_post(board, "How does LoRA reduce memory when fine-tuning?")

    await asking(bot).on_message(opening)

    assert streamed[0][0].startswith("How does LoRA reduce memory")
    # No placeholder: the first thing posted is the answer itself.
    [call] = opening.reply.await_args_list
    embeds = call.kwargs["embeds"]
    assert "two small matrices" in (embeds[0].description or "")
    assert call.kwargs["content"] is None


@pytest.mark.parametrize(("setting", "replies"), [("silent", 0), ("say", 1)])
async def test_an_uncovered_forum_post_is_a_recorded_gap(
    make_bot: BotFactory, fake_openai: FakeOpenAI, setting: str, replies: int
) -> None:
    bot = await make_bot(
        discord={
            "auto_answer_channels": [BOARD_ID],
            "auto_answer_uncovered": setting,
            "gaps_channel_id": GAPS_ID,
        }
    )
    board = forum(BOARD_ID)
    opening = forum_post(board, "Which volcano erupted near Reykjavik yesterday?")

    await asking(bot).on_message(opening)

    assert len(opening.reply.await_args_list) == replies
    if replies:
        embed = opening.reply.await_args_list[0].kwargs["embeds"][0]
        assert embed.footer.text.startswith("Not covered by the collection")
    gap = dpytest.get_message()
    assert gap.channel.id == GAPS_ID
    assert "Reykjavik" in (gap.embeds[0].description or "")
    gaps = bot.services.feedback.questions.since(1, gaps_only=True)
    assert len(gaps) == 1 and "Reykjavik" in gaps[0].question
    assert fake_openai.chat_requests == []


async def test_an_auto_answer_text_channel_takes_questions_not_chatter(
    make_bot: BotFactory, fake_openai: FakeOpenAI, streamed: list[Any]
) -> None:
    await make_bot(discord={"auto_answer_channels": [GENERAL_ID]})
    channel = text_channel_at()
    fake_openai.always("LoRA trains low-rank updates [1].")

    await dpytest.message("good morning everyone", channel, member(1))
    assert streamed == []
    await dpytest.message("How does LoRA fine-tune a model?", channel, member(1))

    answer = await latest(channel, dpytest.get_message())
    assert "low-rank updates" in (answer.embeds[0].description or "")


# -- channel scopes --------------------------------------------------------------------------


async def test_a_scoped_channel_searches_only_its_scope_and_says_so(
    make_bot: BotFactory, fake_openai: FakeOpenAI, streamed: list[Any]
) -> None:
    bot = await make_bot(discord={"channel_scopes": {GENERAL_ID: ChannelScope(topic="training")}})
    channel = text_channel_at()
    fake_openai.always("LoRA trains low-rank updates [1].")
    fake = FakeInteraction(bot, member(0), channel)

    await asking(bot).ask.callback(asking(bot), fake.mock, "How does LoRA fine-tune a model?")

    filters = streamed[-1][2]
    assert filters is not None and filters.topic == "training"
    answer = await latest(channel, dpytest.get_message())
    text = answer.embeds[0].description or ""
    assert "Searched only this channel's scope: topic training." in text


async def test_a_mention_in_a_scoped_channel_is_scoped_too(
    make_bot: BotFactory, fake_openai: FakeOpenAI, streamed: list[Any]
) -> None:
    bot = await make_bot(
        discord={
            "channel_scopes": {GENERAL_ID: ChannelScope(topic="agents", publisher="Anthropic")}
        }
    )
    assert bot.user is not None
    channel = text_channel_at()
    fake_openai.always("Workflows follow code paths [1].")

    await dpytest.message(f"<@{bot.user.id}> What is an agent?", channel, member(0))

    filters = streamed[-1][2]
    assert filters is not None and (filters.topic, filters.publisher) == ("agents", "Anthropic")
    answer = await latest(channel, dpytest.get_message())
    assert "topic agents, publisher Anthropic" in (answer.embeds[0].description or "")
