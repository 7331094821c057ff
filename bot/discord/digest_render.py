"""A Digest as Discord messages: an intro embed, then an embed per topic, split to fit the limits.

Nothing is dropped: a topic too long for one embed continues in the next ("Topic (continued)"),
and embeds are grouped into as many messages as the 10-embed / 6,000-character limits need.
"""

from __future__ import annotations

import discord

from bot.discord.render import FOOTER_RESERVE, OutgoingMessage, source_link
from bot.discord.split import (
    DESCRIPTION_LIMIT,
    TITLE_LIMIT,
    group_embeds,
    split_markdown,
    truncate,
)
from knowledge.digest.contents import Digest, DigestEntry
from knowledge.digest.formats import digest_title, window_line

DIGEST_COLOUR = discord.Colour.gold()
EMPTY_COLOUR = discord.Colour.light_grey()
_MODE_LABELS = {"llm": "intro written by the LLM from the cards", "template": ""}


def _escape(text: str) -> str:
    return discord.utils.escape_markdown(" ".join(text.split()))


def render_entry(entry: DigestEntry, numbered: bool) -> str:
    """One article: linked title and publisher, the takeaway, who it is best for."""
    head = f"**[{entry.n}]** " if numbered else "• "
    head += f"**{source_link(entry.title, entry.url)}**"
    if entry.publisher:
        head += f" — {_escape(entry.publisher)}"
    lines = [head]
    if entry.takeaway:
        lines.append(_escape(entry.takeaway))
    if entry.best_for:
        lines.append(f"*Best for:* {_escape(', '.join(entry.best_for))}")
    return "\n".join(lines)


def _described(title: str, text: str, colour: discord.Colour) -> list[discord.Embed]:
    """Embeds carrying `text` in order; the first is titled, the rest say they continue."""
    chunks = split_markdown(text, DESCRIPTION_LIMIT) or ["—"]
    embeds = []
    for index, chunk in enumerate(chunks):
        name = title if index == 0 else f"{title} (continued)"
        embeds.append(
            discord.Embed(title=truncate(name, TITLE_LIMIT), description=chunk, colour=colour)
        )
    return embeds


def digest_footer(digest: Digest) -> str:
    """The window, the count and how the intro was written."""
    count = f"{digest.article_count} article{'' if digest.article_count == 1 else 's'}"
    parts = [window_line(digest), count, _MODE_LABELS.get(digest.intro_mode, "")]
    return truncate(" · ".join(p for p in parts if p), FOOTER_RESERVE)


def render_digest(digest: Digest) -> list[OutgoingMessage]:
    """The digest as messages to send in order, each within Discord's limits."""
    colour = EMPTY_COLOUR if digest.empty else DIGEST_COLOUR
    embeds = _described(digest_title(digest), digest.intro, colour)
    numbered = bool(digest.citations)
    for section in digest.sections:
        blocks = [render_entry(entry, numbered) for entry in section.articles]
        embeds += _described(section.topic, "\n\n".join(blocks), colour)
    embeds[-1].set_footer(text=digest_footer(digest))
    return [OutgoingMessage(embeds=group) for group in group_embeds(embeds)]
