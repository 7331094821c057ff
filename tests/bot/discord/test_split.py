"""Splitting text and grouping embeds within Discord's limits, dropping nothing."""

from __future__ import annotations

import random
import re

import discord
import pytest

from bot.discord.split import (
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    EMBEDS_PER_MESSAGE,
    embed_fits,
    group_embeds,
    split_lines,
    split_markdown,
    truncate,
)

FENCE_LINE = re.compile(r"^(```|~~~)\w*$", re.MULTILINE)


def words(text: str) -> list[str]:
    """The content words of a text, fence lines left out."""
    return FENCE_LINE.sub("", text).split()


def test_short_text_is_one_chunk_unchanged() -> None:
    assert split_markdown("Hello [1].\n\nSecond paragraph.", 2_000) == [
        "Hello [1].\n\nSecond paragraph."
    ]


def test_splits_on_paragraph_boundaries() -> None:
    paragraphs = [f"Paragraph {i} " + "word " * 60 for i in range(20)]
    text = "\n\n".join(p.strip() for p in paragraphs)

    chunks = split_markdown(text, 500)

    assert all(len(c) <= 500 for c in chunks)
    # Each paragraph (about 370 characters) is whole in exactly one chunk.
    for paragraph in paragraphs:
        assert sum(paragraph.strip() in c for c in chunks) == 1
    assert words("\n\n".join(chunks)) == words(text)


@pytest.mark.parametrize("limit", [CONTENT_LIMIT, DESCRIPTION_LIMIT])
def test_a_code_block_is_never_cut_open(limit: int) -> None:
    code = "\n".join(f"    value_{i} = compute({i})  # step {i}" for i in range(400))
    text = f"Intro paragraph.\n\n```python\n{code}\n```\n\nClosing paragraph."

    chunks = split_markdown(text, limit)

    assert len(chunks) > 1
    for chunk in chunks:
        assert len(chunk) <= limit
        # Every chunk renders on its own: fences are balanced and keep the language.
        assert chunk.count("```") % 2 == 0
    code_chunks = [c for c in chunks if "```" in c]
    assert all(c.split("```", 1)[1].startswith("python\n") for c in code_chunks)
    assert words("\n".join(chunks)) == words(text)


def test_blank_lines_inside_a_code_block_do_not_split_it() -> None:
    text = "Before.\n\n```\nline one\n\nline three\n```\n\nAfter."
    block = "```\nline one\n\nline three\n```"
    assert split_markdown(text, 30) == ["Before.", block, "After."]


def test_a_paragraph_longer_than_the_limit_splits_on_sentences_then_words() -> None:
    sentence = "This sentence has exactly eight words in it. "
    text = (sentence * 100).strip()

    chunks = split_markdown(text, 200)

    assert all(len(c) <= 200 for c in chunks)
    assert all(c.endswith(".") for c in chunks)
    assert words(" ".join(chunks)) == words(text)


def test_an_unbreakable_word_is_cut_but_kept() -> None:
    text = "x" * 5_000
    chunks = split_markdown(text, CONTENT_LIMIT)
    assert [len(c) for c in chunks] == [2_000, 2_000, 1_000]
    assert "".join(chunks) == text


def test_random_markdown_keeps_every_word_within_the_limit() -> None:
    rng = random.Random(7)
    vocabulary = ["alpha", "beta", "[1]", "**bold**", "`x`", "gamma.", "delta!", "https://a.b/c"]
    for _ in range(30):
        blocks = []
        for _ in range(rng.randint(1, 30)):
            if rng.random() < 0.2:
                body = "\n".join(
                    " ".join(rng.choices(vocabulary, k=rng.randint(1, 12)))
                    for _ in range(rng.randint(1, 40))
                )
                blocks.append(f"```\n{body}\n```")
            else:
                blocks.append(" ".join(rng.choices(vocabulary, k=rng.randint(1, 400))))
        text = "\n\n".join(blocks)
        limit = rng.choice([300, CONTENT_LIMIT, DESCRIPTION_LIMIT])

        chunks = split_markdown(text, limit)

        assert all(0 < len(c) <= limit for c in chunks)
        assert words("\n\n".join(chunks)) == words(text)


def test_split_lines_keeps_lines_whole_when_they_fit() -> None:
    lines = [f"**[{i}]** [Title {i}](https://example.com/{i})" for i in range(1, 80)]
    values = split_lines(lines, 1_024)
    assert all(len(v) <= 1_024 for v in values)
    assert "\n".join(values).split("\n") == lines


def test_truncate_marks_the_cut() -> None:
    assert truncate("short", 10) == "short"
    cut = truncate("a" * 300, 256)
    assert len(cut) == 256 and cut.endswith("…")


def test_group_embeds_respects_total_and_count() -> None:
    big = [discord.Embed(description="d" * 4_000) for _ in range(3)]
    small = [discord.Embed(description="s" * 10) for _ in range(25)]

    groups = group_embeds(big + small)

    assert sum(len(g) for g in groups) == 28
    for group in groups:
        assert len(group) <= EMBEDS_PER_MESSAGE
        assert sum(len(e) for e in group) <= EMBED_TOTAL_LIMIT


def test_embed_fits_checks_every_limit() -> None:
    assert embed_fits(discord.Embed(title="t" * 256, description="d" * 4_096))
    assert not embed_fits(discord.Embed(title="t" * 257))
    assert not embed_fits(discord.Embed(description="d" * 4_097))
    too_many = discord.Embed()
    for i in range(26):
        too_many.add_field(name=str(i), value="v")
    assert not embed_fits(too_many)
    long_value = discord.Embed().add_field(name="n", value="v" * 1_025)
    assert not embed_fits(long_value)
    long_name = discord.Embed().add_field(name="n" * 257, value="v")
    assert not embed_fits(long_name)
    total = discord.Embed(title="t" * 256, description="d" * 4_096)
    for _ in range(2):
        total.add_field(name="n", value="v" * 1_000)
    assert not embed_fits(total)
