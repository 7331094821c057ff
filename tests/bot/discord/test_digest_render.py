"""Digest rendering for Discord: within every limit, in order, nothing dropped."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import discord

from bot.discord.digest_render import render_digest
from bot.discord.split import EMBED_TOTAL_LIMIT, EMBEDS_PER_MESSAGE, embed_fits
from knowledge.digest.contents import Digest, IntroCitation
from knowledge.digest.engine import DigestService
from tests.bot.discord.digest_fixtures import day_articles
from tests.knowledge.digest.fakes import FakeArticleIndex, card, digest_settings, utc

DAY = date(2026, 11, 23)


async def build(tmp_path: Path, articles: list) -> Digest:
    return await DigestService(digest_settings(tmp_path), FakeArticleIndex(articles)).build(
        date=DAY
    )


def all_text(embed: discord.Embed) -> str:
    return f"{embed.title or ''}\n{embed.description or ''}"


def assert_within_limits(messages: list) -> list[discord.Embed]:
    embeds = []
    for message in messages:
        assert 1 <= len(message.embeds) <= EMBEDS_PER_MESSAGE
        assert sum(len(e) for e in message.embeds) <= EMBED_TOTAL_LIMIT
        assert all(embed_fits(e) for e in message.embeds)
        assert message.content is None or len(message.content) <= 2000
        embeds.extend(message.embeds)
    return embeds


async def test_forty_articles_all_appear_in_order_within_limits(tmp_path: Path) -> None:
    digest = await build(tmp_path, day_articles(40))
    assert digest.article_count == 40
    messages = render_digest(digest)
    embeds = assert_within_limits(messages)
    assert len(messages) >= 2  # a card-sized day does not fit one message
    text = "\n".join(all_text(e) for e in embeds)
    positions = [text.find(entry.title) for entry in digest.entries()]
    assert all(p >= 0 for p in positions), "every title is shown"
    assert positions == sorted(positions), "in the digest's order"
    for entry in digest.entries():
        assert entry.url in text
    assert embeds[-1].footer.text and "40 articles" in embeds[-1].footer.text


async def test_one_huge_topic_continues_across_embeds(tmp_path: Path) -> None:
    articles = [
        card(
            f"big{i}",
            utc(2026, 11, 22, 12, i),
            ["Retrieval"],
            title=f"Retrieval piece {i:02d}",
            takeaway="x" * 270,
        )
        for i in range(40)
    ]
    embeds = assert_within_limits(render_digest(await build(tmp_path, articles)))
    titles = [e.title for e in embeds]
    assert titles[1] == "Retrieval" and "Retrieval (continued)" in titles
    text = "\n".join(all_text(e) for e in embeds)
    assert all(f"Retrieval piece {i:02d}" in text for i in range(40))


async def test_markdown_in_titles_cannot_break_links_or_ping(tmp_path: Path) -> None:
    articles = [
        card(
            "odd",
            utc(2026, 11, 22, 12, 0),
            ["Agents"],
            title="Agents [v2] *really* work @everyone",
            takeaway="Use `tools` and _care_.",
        )
    ]
    digest = await build(tmp_path, articles)
    description = render_digest(digest)[0].embeds[1].description or ""
    assert "[Agents \\[v2\\] \\*really\\* work @everyone](https://articles.example/odd)" in (
        description
    )
    assert "\\`tools\\`" in description


async def test_numbers_appear_only_when_the_intro_cites(tmp_path: Path) -> None:
    digest = await build(tmp_path, day_articles(2))
    plain = render_digest(digest)[0].embeds[1].description or ""
    assert plain.startswith("• **[")
    digest.citations = [IntroCitation(n=1, title="t", url="u")]
    numbered = render_digest(digest)[0].embeds[1].description or ""
    assert numbered.startswith("**[1]** **[")


async def test_empty_day_is_one_short_message(tmp_path: Path) -> None:
    messages = render_digest(await build(tmp_path, []))
    assert len(messages) == 1 and len(messages[0].embeds) == 1
    embed = messages[0].embeds[0]
    assert embed.title == "Daily digest — 23 Nov 2026"
    assert embed.description and embed.description.startswith("Nothing new today")
