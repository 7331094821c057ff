"""Article cards as Discord embeds: compact ones for /latest and /recommend, one in full."""

from __future__ import annotations

from collections.abc import Sequence

import discord

# The answer renderer's field packing and footer, so cards spill into embeds the same way.
from bot.discord.render import OutgoingMessage, fields_embeds, finish_messages, source_link
from bot.discord.split import (
    DESCRIPTION_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    TITLE_LIMIT,
    truncate,
)
from knowledge.curation import Recommendation
from knowledge.models import Article

CARD_COLOUR = discord.Colour.teal()


def _plain(text: str, limit: int) -> str:
    return discord.utils.escape_markdown(truncate(" ".join(text.split()), limit))


def _link(url: str) -> str | None:
    return url if url.startswith(("http://", "https://")) else None


def card_meta(article: Article) -> str:
    """'arXiv · curated 18 Nov 2026 · intermediate': publisher, curated date, depth."""
    parts = [_plain(article.publisher, 100)] if article.publisher else []
    if article.curated is not None:
        parts.append(f"curated {discord.utils.format_dt(article.curated, 'D')}")
    if article.depth:
        parts.append(_plain(article.depth, 40))
    return " · ".join(parts)


def compact_card(article: Article, best_for: str = "") -> tuple[str, str]:
    """(field name, field value) of one article: title; link, meta, takeaway, best for."""
    # Articles without a web address (a local file, a pasted card) are shown without a link.
    link = source_link("Read", article.url) if _link(article.url) else ""
    lines = [" · ".join(p for p in (link, card_meta(article)) if p)]
    takeaway = article.key_takeaway or article.summary
    if takeaway:
        lines.append(f"*{_plain(takeaway, 300)}*")
    if best_for:
        lines.append(f"Best for: {_plain(best_for, 200)}")
    value = truncate("\n".join(line for line in lines if line), FIELD_VALUE_LIMIT)
    return truncate(article.title, FIELD_NAME_LIMIT), value or "—"


def _cards(title: str, description: str, fields: Sequence[tuple[str, str]]) -> OutgoingMessage:
    embed = discord.Embed(title=truncate(title, TITLE_LIMIT), colour=CARD_COLOUR)
    if description:
        embed.description = truncate(description, DESCRIPTION_LIMIT)
    for name, value in fields:
        embed.add_field(name=name, value=value, inline=False)
    return OutgoingMessage(embeds=[embed])


def render_latest(
    articles: Sequence[Article], topic: str | None, days: int | None
) -> OutgoingMessage:
    """/latest: the newest cards, compact, newest first; a plain sentence when there are none."""
    scope = f" on {topic}" if topic else ""
    period = f" in the last {days} day{'s' * (days != 1)}" if days else ""
    if not articles:
        return OutgoingMessage(content=f"No articles{scope} were curated{period}.")
    title = f"Latest articles{scope}{period}"
    return _cards(title, "", [compact_card(a) for a in articles])


def render_recommendations(
    picks: Sequence[Recommendation], role: str | None, depth: str | None, topic: str | None
) -> OutgoingMessage:
    """/recommend: the picks with the 'best for' line that matched, best fit first."""
    wanted = [
        f"for {_plain(role, 100)}" if role else "",
        f"at {_plain(depth, 40)} depth" if depth else "",
        f"on {_plain(topic, 60)}" if topic else "",
    ]
    asked = " ".join(w for w in wanted if w)
    if not picks:
        return OutgoingMessage(
            content=f"No curated article fits{' ' + asked if asked else ''}; "
            "try a broader role or leave out the depth."
        )
    title = "Recommended reading" + (f" {asked}" if asked else "")
    fields = [compact_card(p.article, p.best_for) for p in picks]
    return _cards(title, "", fields)


def render_card(article: Article) -> list[OutgoingMessage]:
    """/article: one card in full — summary, takeaway, insights, best for, link."""
    embed = discord.Embed(
        title=truncate(article.title, TITLE_LIMIT),
        url=_link(article.url),
        description=truncate(article.summary, DESCRIPTION_LIMIT) if article.summary else None,
        colour=CARD_COLOUR,
    )
    meta = card_meta(article)
    if article.author:
        meta = f"{_plain(article.author, 100)} · {meta}" if meta else _plain(article.author, 100)
    embeds: list[discord.Embed] = [embed]
    # Dates render only outside footers, so publisher and date are a field.
    sections: list[tuple[str, list[str]]] = [
        ("About", [meta] if meta else []),
        ("Key takeaway", [_plain(article.key_takeaway, 1000)] if article.key_takeaway else []),
        ("Key insights", [f"• {_plain(i, 900)}" for i in article.key_insights]),
        ("Best for", [f"• {_plain(b, 300)}" for b in article.best_for]),
        ("Topics", [", ".join(_plain(t, 60) for t in article.topics)] if article.topics else []),
        ("Link", [source_link(article.title, article.url)] if _link(article.url) else []),
    ]
    for name, lines in sections:
        if lines:
            embeds = embeds[:-1] + fields_embeds(embeds[-1], name, lines, CARD_COLOUR)
    return finish_messages(embeds, "Curated article")
