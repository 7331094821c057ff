"""Refusals in Discord rendered from `answer.refusal`, and only content gaps sent to moderators."""

from __future__ import annotations

from typing import Any

import discord.ext.test as dpytest
import pytest

from bot.discord.cogs.ask_cog import AskingCog
from bot.discord.curator_bot import CuratorBot
from bot.discord.render import render_answer
from knowledge.models import Answer, Citation, NoticeCode, RefusalReason
from tests.bot.discord.conftest import (
    GAPS_ID,
    BotFactory,
    FakeInteraction,
    latest,
    text_channel_at,
)
from tests.support.fake_openai import FakeOpenAI


def _asking(bot: CuratorBot) -> Any:
    found = bot.get_cog(AskingCog.__cog_name__)
    assert isinstance(found, AskingCog)
    return found


@pytest.fixture
async def bot(make_bot: BotFactory) -> CuratorBot:
    """The bot, posting content gaps for the moderators to the "gaps" channel."""
    return await make_bot(discord={"gaps_channel_id": GAPS_ID})


async def test_a_filter_that_hides_the_answer_is_said_offered_without_and_not_a_gap(
    bot: CuratorBot, fake_openai: FakeOpenAI
) -> None:
    asking = _asking(bot)
    fake = FakeInteraction(bot, dpytest.get_config().members[0], text_channel_at())

    # The Chinchilla article was curated on 2026-11-17: nothing on it since the 23rd.
    question = "How did Chinchilla compare with Gopher on MMLU?"
    await asking.ask.callback(asking, fake.mock, question, since="2026-11-23")

    answer = await latest(text_channel_at(), dpytest.get_message())
    embed = answer.embeds[0]
    assert "since 2026-11-23" in (embed.description or "")
    assert "without the filters" in (embed.description or "")
    assert embed.fields[0].name == "Matching without the filters"
    assert "Training Compute-Optimal" in (embed.fields[0].value or "")
    assert embed.footer.text and embed.footer.text.startswith("Nothing matches the filters")
    assert fake_openai.chat_requests == []
    # No post for the moderators, and nothing in their "not covered" report.
    assert dpytest.verify().message().nothing()
    assert bot.services.feedback.questions.since(1, gaps_only=True) == []


async def test_the_model_declining_is_a_refusal_and_a_gap(
    bot: CuratorBot, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script("The curated articles do not cover how LoRA was named.")
    config = dpytest.get_config()
    assert bot.user is not None

    await dpytest.message(f"<@{bot.user.id}> Who named LoRA?", text_channel_at(), config.members[0])
    answer = await latest(text_channel_at(), dpytest.get_message())

    embed = answer.embeds[0]
    assert embed.description and embed.description.startswith("The curated articles do not")
    assert embed.fields[0].name == "Closest articles"
    assert embed.footer.text and embed.footer.text.startswith("Not covered by the collection")
    gap_post = dpytest.get_message()
    assert gap_post.channel.id == GAPS_ID
    gaps = bot.services.feedback.questions.since(1, gaps_only=True)
    assert [q.question for q in gaps] == ["Who named LoRA?"]


def test_not_in_language_refusal_has_its_own_footer() -> None:
    answer = Answer(
        text="I can only search questions written in English.",
        refused=True,
        refusal=RefusalReason.NOT_IN_LANGUAGE,
    )
    [message] = render_answer(answer, "Pourquoi ?")
    assert not answer.is_gap
    footer = message.embeds[0].footer.text or ""
    assert footer.startswith("Question not in the collection's language")


def test_notices_are_worded_from_their_codes() -> None:
    cited = Citation(n=1, title="T", url="https://e.x/1", article_id="a", chunk_id="c", passage="")
    answer = Answer(
        text="Partial answer [1].",
        citations=[cited],
        notices=[NoticeCode.REPLY_TIME_LIMIT, NoticeCode.LINKS_REWRITTEN],
    )
    [message] = render_answer(answer, "q")
    description = message.embeds[0].description or ""
    assert "*The language model took too long" in description
    assert "replaced by its real address.*" in description
