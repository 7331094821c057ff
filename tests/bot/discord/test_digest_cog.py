"""/digest: moderators only, preview with Post/Cancel, posting once per date."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock

import pytest

from bot.discord.cogs.digest_cog import DigestPreviewView
from bot.discord.digest_schedule import utc_now
from knowledge.digest.window import latest_digest_date
from tests.bot.discord.digest_fixtures import (
    CHANNEL_ID,
    DAY,
    DigestBot,
    build_digest_bot,
    day_articles,
    interaction,
    member,
    mutes_everyone,
    replies,
)
from tests.knowledge.digest.fakes import utc

DAY_BEFORE_NINE = utc(2026, 11, 23, 8, 0)


@pytest.fixture
async def digest_bot(tmp_path: Path) -> AsyncIterator[DigestBot]:
    built = build_digest_bot(tmp_path, day_articles())
    yield built
    await built.services.aclose()


async def run_digest(built: DigestBot, inter: Any, **options: Any) -> None:
    await built.cog.digest.callback(built.cog, inter, **options)  # type: ignore[arg-type]


def preview_view(inter: Any) -> DigestPreviewView | None:
    views = [c.kwargs.get("view") for c in inter.followup.send.await_args_list]
    found = [v for v in views if v is not None]
    assert len(found) <= 1
    return found[0] if found else None


async def test_a_member_is_refused_and_nothing_is_built(digest_bot: DigestBot) -> None:
    inter = interaction(member(moderator=False))
    await run_digest(digest_bot, inter)
    inter.response.send_message.assert_awaited_once()
    call = inter.response.send_message.await_args
    assert call.kwargs["ephemeral"] is True
    assert "Only moderators can post the digest" in call.args[0]
    assert digest_bot.index.calls == []
    digest_bot.channel.send.assert_not_awaited()


async def test_moderator_preview_is_ephemeral_with_post_and_cancel(digest_bot: DigestBot) -> None:
    inter = interaction(member(moderator=True))
    await run_digest(digest_bot, inter)
    inter.response.defer.assert_awaited_once_with(ephemeral=True, thinking=True)
    calls = inter.followup.send.await_args_list
    assert calls and all(c.kwargs["ephemeral"] is True for c in calls)
    assert all(mutes_everyone(c.kwargs["allowed_mentions"]) for c in calls)
    shown = " ".join(e.description or "" for c in calls for e in c.kwargs["embeds"])
    for article in day_articles():
        assert article.title in shown
    view = preview_view(inter)
    assert view is not None and calls[-1].kwargs.get("view") is view
    assert [b.label for b in view.children] == ["Post", "Cancel"]  # type: ignore[attr-defined]
    digest_bot.channel.send.assert_not_awaited()


async def test_post_button_posts_to_the_channel_and_records_it(digest_bot: DigestBot) -> None:
    moderator = member(moderator=True)
    inter = interaction(moderator)
    await run_digest(digest_bot, inter)
    view = preview_view(inter)
    assert view is not None
    click = interaction(moderator)
    assert await view.interaction_check(click)
    await view.post_button.callback(click)
    sends = digest_bot.channel.send.await_args_list
    assert sends
    assert all(mutes_everyone(c.kwargs["allowed_mentions"]) for c in sends)
    assert f"Posted the digest to <#{CHANNEL_ID}>" in replies(click)[-1]
    record = digest_bot.services.digest_history.get(DAY)
    assert record is not None and record.posted and record.posted_by == "<@42>"
    assert len(record.message_ids) == len(sends)

    # The same date again: refused, saying when and by whom.
    again = interaction(moderator)
    await run_digest(digest_bot, again, preview=False)
    text = replies(again)[-1]
    assert "already posted on" in text and "by <@42>" in text
    assert len(digest_bot.channel.send.await_args_list) == len(sends)


async def test_only_the_requesting_moderator_may_press_post(digest_bot: DigestBot) -> None:
    inter = interaction(member(moderator=True, user_id=42))
    await run_digest(digest_bot, inter)
    view = preview_view(inter)
    assert view is not None
    intruder = interaction(member(moderator=True, user_id=77))
    assert not await view.interaction_check(intruder)
    assert "Only the moderator who asked" in replies(intruder)[0]


async def test_cancel_posts_nothing(digest_bot: DigestBot) -> None:
    moderator = member(moderator=True)
    inter = interaction(moderator)
    await run_digest(digest_bot, inter)
    view = preview_view(inter)
    assert view is not None
    click = interaction(moderator)
    await view.cancel_button.callback(click)
    click.response.edit_message.assert_awaited_once_with(
        content="Cancelled: nothing was posted.", view=None
    )
    digest_bot.channel.send.assert_not_awaited()
    assert not digest_bot.services.digest_history.was_posted(DAY)
    assert view.is_finished()


async def test_posting_directly_then_a_preview_of_a_posted_date(digest_bot: DigestBot) -> None:
    moderator = member(moderator=True)
    first = interaction(moderator)
    await run_digest(digest_bot, first, date="2026-11-23", preview=False)
    assert "Posted the digest" in replies(first)[-1]
    preview = interaction(moderator)
    await run_digest(digest_bot, preview, date="2026-11-23")
    assert preview_view(preview) is None  # no Post button for a date already posted
    assert replies(preview)[0].startswith("Preview only: The digest for 23 Nov 2026 was already")


async def test_a_date_posted_by_the_schedule_is_refused(digest_bot: DigestBot) -> None:
    digest_bot.services.digest_history.mark_posted(DAY, by="the daily schedule")
    inter = interaction(member(moderator=True))
    await run_digest(digest_bot, inter, preview=False)
    assert "already posted on" in replies(inter)[0] and "by the daily schedule" in replies(inter)[0]
    assert digest_bot.index.calls == []  # refused before building anything


async def test_bad_date_is_explained(digest_bot: DigestBot) -> None:
    inter = interaction(member(moderator=True))
    await run_digest(digest_bot, inter, date="23/11/2026")
    assert replies(inter) == [
        "`date:` “23/11/2026” is not a date: use YYYY-MM-DD, e.g. 2024-05-01."
    ]


async def test_no_channel_configured_is_explained(tmp_path: Path) -> None:
    built = build_digest_bot(tmp_path, day_articles(), channel_id=None)
    try:
        inter = interaction(member(moderator=True))
        await run_digest(built, inter, preview=False)
        assert "CURATOR_DIGEST__CHANNEL_ID" in replies(inter)[0]
        preview = interaction(member(moderator=True))
        await run_digest(built, preview)
        assert preview_view(preview) is None
        assert "CURATOR_DIGEST__CHANNEL_ID" in replies(preview)[0]
    finally:
        await built.services.aclose()


async def test_default_date_is_the_latest_digest_due(digest_bot: DigestBot) -> None:
    digest_bot.cog.now = lambda: DAY_BEFORE_NINE  # 08:00 UTC: 23 Nov's digest is not due yet
    inter = interaction(member(moderator=True))
    await run_digest(digest_bot, inter, preview=False)
    assert digest_bot.services.digest_history.was_posted(DAY.replace(day=22))
    assert not digest_bot.services.digest_history.was_posted(DAY)


async def test_preview_of_a_window_still_open_warns(digest_bot: DigestBot) -> None:
    digest_bot.cog.now = lambda: utc(2026, 11, 23, 12, 0)
    inter = interaction(member(moderator=True))
    await run_digest(digest_bot, inter, date="2026-11-24")
    assert "window is still open" in replies(inter)[0]
    assert preview_view(inter) is not None  # still allowed, with the warning
    closed = interaction(member(moderator=True))
    await run_digest(digest_bot, closed, date="2026-11-23")
    assert not any("still open" in text for text in replies(closed))


async def test_loading_the_cog_catches_up_the_missed_digest_once(tmp_path: Path) -> None:
    built = build_digest_bot(tmp_path, day_articles())
    try:
        built.bot.wait_until_ready = AsyncMock()  # type: ignore[method-assign]
        await built.bot.add_cog(built.cog)
        assert built.cog.running()
        for _ in range(50):
            if built.channel.send.await_count:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.05)
        await built.bot.remove_cog(built.cog.qualified_name)
        assert not built.cog.running()
        due = latest_digest_date(utc_now(), built.settings.digest)
        record = built.services.digest_history.get(due)
        assert record is not None and record.posted_by == "the daily schedule"
        assert built.channel.send.await_count == len(record.message_ids)

        # A restart on the same data dir does not post it again.
        again = build_digest_bot(tmp_path, day_articles())
        again.bot.wait_until_ready = AsyncMock()  # type: ignore[method-assign]
        await again.bot.add_cog(again.cog)
        await asyncio.sleep(0.2)
        await again.bot.remove_cog(again.cog.qualified_name)
        again.channel.send.assert_not_awaited()
        await again.services.aclose()
    finally:
        await built.services.aclose()


async def test_no_channel_means_no_schedule(tmp_path: Path) -> None:
    built = build_digest_bot(tmp_path, day_articles(), channel_id=None)
    try:
        await built.bot.add_cog(built.cog)
        assert not built.cog.running()
        await built.bot.remove_cog(built.cog.qualified_name)
    finally:
        await built.services.aclose()
