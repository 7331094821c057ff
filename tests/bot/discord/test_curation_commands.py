"""/latest, /recommend and /article on the sample index, as a member would see them."""

from __future__ import annotations

from typing import Any

import discord
import discord.ext.test as dpytest

from bot.discord.cogs.curation_cog import CurationCog
from bot.discord.curation_render import compact_card
from bot.discord.curator_bot import CuratorBot
from knowledge.models import Article
from knowledge.settings import ChannelScope
from tests.bot.discord.conftest import (
    GAPS_ID,
    GENERAL_ID,
    BotFactory,
    FakeInteraction,
    text_channel_at,
)


def curation_cog(bot: CuratorBot) -> Any:
    """The cog, typed loosely: tests call its commands' callbacks with the cog as `self`."""
    found = bot.get_cog("CurationCog")
    assert isinstance(found, CurationCog)
    return found


def ask(bot: CuratorBot) -> FakeInteraction:
    return FakeInteraction(bot, dpytest.get_config().members[0], text_channel_at())


async def test_latest_lists_the_newest_cards_compactly(bot: CuratorBot) -> None:
    cog = curation_cog(bot)
    fake = ask(bot)

    await cog.latest.callback(cog, fake.mock, None, None)

    [sent] = fake.sent
    assert sent.kind == "response" and not sent.ephemeral
    embed = sent.embeds[0]
    assert embed.title == "Latest articles"
    names = [f.name for f in embed.fields]
    assert names[0] == "Retrieval-Augmented Generation for Knowledge-Intensive NLP Tasks"
    assert len(names) == 10
    first = embed.fields[0].value or ""
    assert first.startswith("[Read](https://arxiv.org/abs/2005.11401) · arXiv · curated <t:")
    assert "\n*" in first  # the key takeaway, in italics


async def test_latest_on_a_topic_in_the_last_days_or_nothing(bot: CuratorBot) -> None:
    cog = curation_cog(bot)
    fake = ask(bot)

    # The sample was curated in November 2026: a week back from now may hold none of it.
    await cog.latest.callback(cog, fake.mock, "cooking", 7)

    assert fake.sent[0].content == "No articles on cooking were curated in the last 7 days."


async def test_latest_in_a_scoped_channel_lists_its_topic(make_bot: BotFactory) -> None:
    bot = await make_bot(discord={"channel_scopes": {GENERAL_ID: ChannelScope(topic="agents")}})
    cog = curation_cog(bot)
    fake = ask(bot)

    await cog.latest.callback(cog, fake.mock, None, None)

    embed = fake.sent[0].embeds[0]
    assert embed.title == "Latest articles on agents"
    assert len(embed.fields) == 3


async def test_recommend_matches_role_and_depth_with_why(bot: CuratorBot) -> None:
    cog = curation_cog(bot)
    fake = ask(bot)

    await cog.recommend.callback(
        cog, fake.mock, "engineers fine-tuning open models on modest hardware", None, "training"
    )

    embed = fake.sent[0].embeds[0]
    assert embed.title == (
        "Recommended reading for engineers fine-tuning open models on modest hardware on training"
    )
    assert embed.fields[0].name == "LoRA: Low-Rank Adaptation of Large Language Models"
    value = embed.fields[0].value or ""
    assert "intermediate" in value
    assert value.endswith("Best for: engineers fine-tuning open models on modest hardware")


async def test_recommend_with_a_bad_depth_says_why_only_to_the_member(bot: CuratorBot) -> None:
    cog = curation_cog(bot)
    fake = ask(bot)

    await cog.recommend.callback(cog, fake.mock, None, "expert", None)

    [sent] = fake.sent
    assert sent.ephemeral and "intro, intermediate, deep" in (sent.content or "")


async def test_recommend_autocomplete_offers_what_is_indexed(bot: CuratorBot) -> None:
    cog = curation_cog(bot)
    fake = ask(bot)

    roles = await cog.role_autocomplete(fake.mock, "fine-tun")
    depths = await cog.depth_autocomplete(fake.mock, "")
    titles = await cog.title_autocomplete(fake.mock, "lora")

    assert [c.value for c in roles] == ["engineers fine-tuning open models on modest hardware"]
    assert [c.value for c in depths] == ["intro", "intermediate", "deep"]
    assert [c.value for c in titles] == ["LoRA: Low-Rank Adaptation of Large Language Models"]


async def test_article_shows_one_card_in_full(bot: CuratorBot) -> None:
    cog = curation_cog(bot)
    fake = ask(bot)

    await cog.article.callback(cog, fake.mock, "LoRA: Low-Rank Adaptation of Large Language Models")

    embed = fake.sent[0].embeds[0]
    assert embed.title == "LoRA: Low-Rank Adaptation of Large Language Models"
    assert embed.url == "https://arxiv.org/abs/2106.09685"
    assert (embed.description or "").startswith("Microsoft researchers propose")
    fields = {f.name: f.value or "" for f in embed.fields}
    assert list(fields) == ["About", "Key takeaway", "Key insights", "Best for", "Topics", "Link"]
    assert fields["About"].startswith("Edward J. Hu et al. · arXiv · curated <t:")
    assert fields["Key takeaway"].startswith("The change a model needs")
    assert "• engineers fine-tuning open models" in fields["Best for"]
    assert fields["Link"] == (
        "[LoRA: Low-Rank Adaptation of Large Language Models](https://arxiv.org/abs/2106.09685)"
    )
    assert fake.sent[0].kind == "response" and not fake.sent[0].ephemeral


async def test_article_unknown_title_is_told_ephemerally(bot: CuratorBot) -> None:
    cog = curation_cog(bot)
    fake = ask(bot)

    await cog.article.callback(cog, fake.mock, "banana bread")

    assert fake.ephemeral_texts == [
        "No article is titled “banana bread”; start typing to pick one."
    ]


async def test_curation_commands_follow_the_channel_allowlist(make_bot: BotFactory) -> None:
    bot = await make_bot(discord={"channels": [GAPS_ID]})
    cog = curation_cog(bot)
    fake = ask(bot)

    await cog.latest.callback(cog, fake.mock, None, None)

    assert fake.sent[0].ephemeral and "I only answer questions in" in (fake.sent[0].content or "")


def test_a_card_without_a_url_has_no_link() -> None:
    article = Article(title="Notes", url="", publisher="Team wiki", key_takeaway="Ship it.")
    name, value = compact_card(article)
    assert name == "Notes"
    assert value == "Team wiki\n*Ship it.*"
    assert "[" not in value and isinstance(
        discord.Embed().add_field(name=name, value=value), discord.Embed
    )
