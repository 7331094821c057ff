"""Slash commands through their callbacks, with spec'd interactions and the real services."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any
from unittest.mock import AsyncMock

import discord
import discord.ext.test as dpytest
import pytest

from bot.discord.app import CuratorBot
from bot.discord.cogs.admin import AdminCog
from bot.discord.cogs.asking import AskingCog
from bot.discord.cogs.feedback import FeedbackCog
from knowledge.answers.service import AnswerService
from knowledge.errors import IndexBusyError
from knowledge.feedback import AnswerRecord
from knowledge.models import IngestFailure, IngestReport, SearchFilters, Turn
from tests.bot.discord.conftest import (
    FakeInteraction,
    custom_ids,
    give_role,
    latest,
    make_role,
    stored_message,
    text_channel_at,
)
from tests.support.fake_openai import FakeOpenAI


def cog(bot: CuratorBot, kind: type[Any]) -> Any:
    found = bot.get_cog(kind.__cog_name__)
    assert isinstance(found, kind)
    return found


def interaction(bot: CuratorBot, member: discord.Member | None = None) -> FakeInteraction:
    config = dpytest.get_config()
    return FakeInteraction(bot, member or config.members[0], text_channel_at())


# -- /ask ----------------------------------------------------------------------------------


async def test_ask_answers_publicly_with_sources_and_buttons(
    bot: CuratorBot, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script("Agents direct their own tool use, workflows follow code paths [1].")
    asking = cog(bot, AskingCog)
    fake = interaction(bot)

    await asking.ask.callback(asking, fake.mock, "What separates agents from workflows?")

    assert [s.kind for s in fake.sent] == ["defer", "followup"]
    assert not fake.sent[0].ephemeral
    channel = text_channel_at()
    answer = await latest(channel, dpytest.get_message())
    embed = answer.embeds[0]
    assert "workflows follow code paths [1]" in (embed.description or "")
    assert embed.fields[0].name == "Sources" and "](https://" in (embed.fields[0].value or "")
    assert len(custom_ids(stored_message(channel, answer.id))) == 2


async def test_ask_passes_topic_and_since_filters(
    bot: CuratorBot, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[SearchFilters | None] = []
    real_stream = AnswerService.stream

    def spy(
        self: AnswerService,
        question: str,
        history: Sequence[Turn] = (),
        filters: SearchFilters | None = None,
    ) -> Any:
        seen.append(filters)
        return real_stream(self, question, history, filters)

    monkeypatch.setattr(AnswerService, "stream", spy)
    fake_openai.always("Low-rank updates [1].")
    asking = cog(bot, AskingCog)

    await asking.ask.callback(
        asking, interaction(bot).mock, "How does LoRA work?", topic="TRAINING", since="2020-01-01"
    )

    assert seen[0] is not None
    assert seen[0].topic == "training" and str(seen[0].since) == "2020-01-01"


@pytest.mark.parametrize(
    ("topic", "since", "expected"),
    [
        (None, "last tuesday", "I couldn't read `since: last tuesday`"),
        ("cooking", None, "No article has the topic “cooking”"),
        (None, "2999-01-01", "is in the future"),
    ],
)
async def test_ask_with_bad_options_says_why_ephemerally(
    bot: CuratorBot, fake_openai: FakeOpenAI, topic: str | None, since: str | None, expected: str
) -> None:
    asking = cog(bot, AskingCog)
    fake = interaction(bot)

    await asking.ask.callback(asking, fake.mock, "How does LoRA work?", topic=topic, since=since)

    assert [s.kind for s in fake.sent] == ["response"]
    assert fake.sent[0].ephemeral and expected in (fake.sent[0].content or "")
    assert fake_openai.chat_requests == []


async def test_ask_outside_the_allowed_channels_is_refused_ephemerally(
    bot: CuratorBot, fake_openai: FakeOpenAI
) -> None:
    gaps = dpytest.get_config().channels[1]
    bot.settings.discord.channels = [gaps.id]
    asking = cog(bot, AskingCog)
    fake = interaction(bot)

    await asking.ask.callback(asking, fake.mock, "How does LoRA work?")

    assert fake.ephemeral_texts == [f"I only answer questions in <#{gaps.id}>."]
    assert fake_openai.chat_requests == []


async def test_topic_autocomplete_filters_what_is_typed(bot: CuratorBot) -> None:
    asking = cog(bot, AskingCog)

    everything = await asking.topic_autocomplete(interaction(bot).mock, "")
    typed = await asking.topic_autocomplete(interaction(bot).mock, "ret")

    assert 0 < len(everything) <= 25
    assert "training" in [c.value for c in everything]
    assert [c.value for c in typed] == ["retrieval"]


# -- /reindex ------------------------------------------------------------------------------


async def roles(bot: CuratorBot) -> tuple[discord.Member, discord.Member, discord.Member]:
    """A plain member, a moderator and an admin."""
    config = dpytest.get_config()
    guild = config.guilds[0]
    member, moderator, admin = config.members
    moderator = await give_role(moderator, make_role(guild, "Moderators"))
    admin = await give_role(admin, make_role(guild, "Curator Admins"))
    return member, moderator, admin


async def test_permission_matrix(bot: CuratorBot, fake_openai: FakeOpenAI) -> None:
    member, moderator, admin = await roles(bot)
    admin_cog = cog(bot, AdminCog)
    feedback_cog = cog(bot, FeedbackCog)

    outcomes: dict[tuple[str, str], bool] = {}
    for who, person in {"member": member, "moderator": moderator, "admin": admin}.items():
        fake = interaction(bot, person)
        await admin_cog.reindex.callback(admin_cog, fake.mock, True)
        outcomes[(who, "reindex")] = not fake.ephemeral_texts
        fake = interaction(bot, person)
        await feedback_cog.report.callback(feedback_cog, fake.mock, 7)
        refused = any("Only moderators" in t for t in fake.ephemeral_texts)
        outcomes[(who, "report")] = not refused

    assert outcomes == {
        ("member", "reindex"): False,
        ("member", "report"): False,
        ("moderator", "reindex"): False,
        ("moderator", "report"): True,
        ("admin", "reindex"): True,
        ("admin", "report"): True,
    }


async def test_reindex_by_an_admin_reports_counts(bot: CuratorBot) -> None:
    _, _, admin = await roles(bot)
    admin_cog = cog(bot, AdminCog)
    fake = interaction(bot, admin)

    await admin_cog.reindex.callback(admin_cog, fake.mock, False)

    channel = text_channel_at()
    status = await latest(channel, dpytest.get_message())
    assert not status.content
    embed = status.embeds[0]
    assert embed.title == "Reindex finished"
    assert "**Unchanged** 15" in (embed.description or "")
    assert "**Failed** 0" in (embed.description or "")


def replace_index(bot: CuratorBot, index: object) -> None:
    """Swap the lazily built index for a stand-in (Services caches it in its __dict__)."""
    bot.services.__dict__["index"] = index


class BlockingIndex:
    """Stands in for KnowledgeIndex.reindex: reports progress, then waits to be released."""

    def __init__(self, report: IngestReport) -> None:
        self.report = report
        self.release = threading.Event()
        self.started = threading.Event()

    def close(self) -> None:
        self.release.set()

    def reindex(self, dry_run: bool = False, progress: Any = None) -> IngestReport:
        self.started.set()
        if progress is not None:
            progress("load", 1, 2)
        assert self.release.wait(10)
        return self.report


async def test_second_reindex_while_one_runs_is_told_so_and_failures_are_listed(
    bot: CuratorBot,
) -> None:
    _, _, admin = await roles(bot)
    failures = [IngestFailure(path="/src/broken.md", reason="missing title")]
    blocking = BlockingIndex(IngestReport(added=1, failed=failures))
    replace_index(bot, blocking)
    admin_cog = cog(bot, AdminCog)
    first = interaction(bot, admin)

    running = asyncio.create_task(admin_cog.reindex.callback(admin_cog, first.mock, False))
    await asyncio.to_thread(blocking.started.wait, 10)
    second = interaction(bot, admin)
    await admin_cog.reindex.callback(admin_cog, second.mock, False)
    blocking.release.set()
    await running

    assert len(second.ephemeral_texts) == 1
    assert second.ephemeral_texts[0].startswith("A reindex is already running")
    status = await latest(text_channel_at(), dpytest.get_message())
    description = status.embeds[0].description or ""
    assert "**Failed** 1" in description and "/src/broken.md" in description
    assert "missing title" in description


async def test_reindex_blocked_by_another_process_says_so(bot: CuratorBot) -> None:
    _, _, admin = await roles(bot)

    class BusyIndex:
        def reindex(self, dry_run: bool = False, progress: Any = None) -> IngestReport:
            raise IndexBusyError("Another reindex is running (started from the CLI).")

        def close(self) -> None:
            pass

    replace_index(bot, BusyIndex())
    admin_cog = cog(bot, AdminCog)

    await admin_cog.reindex.callback(admin_cog, interaction(bot, admin).mock, False)

    status = await latest(text_channel_at(), dpytest.get_message())
    assert status.content == "Another reindex is running (started from the CLI)."
    assert not admin_cog.runner.running


# -- /feedback report ----------------------------------------------------------------------


async def test_feedback_report_for_a_moderator(bot: CuratorBot) -> None:
    _, moderator, _ = await roles(bot)
    store = bot.services.feedback
    guild_id = dpytest.get_config().guilds[0].id
    store.record_answer(
        AnswerRecord(
            answer_id="a1",
            question="How does LoRA work?",
            answer_text="Low rank [1].",
            chunk_ids=["c1"],
            guild_id=guild_id,
            asker_hash=store.hash_user(1),
        )
    )
    store.rate("a1", store.hash_user(2), "not_helpful", "too vague")
    store.rate("a1", store.hash_user(3), "helpful")
    feedback_cog = cog(bot, FeedbackCog)
    fake = interaction(bot, moderator)

    await feedback_cog.report.callback(feedback_cog, fake.mock, 7)

    [sent] = fake.sent
    assert sent.ephemeral
    embed = sent.embeds[0]
    assert "**Ratings** 2" in (embed.description or "")
    assert "**Helpful** 50%" in (embed.description or "")
    worst = embed.fields[0].value or ""
    assert "How does LoRA work?" in worst and "too vague" in worst


async def test_with_threads_on_an_ask_answer_opens_a_thread_for_follow_ups(
    bot: CuratorBot, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot.settings.discord.use_threads = True
    create_thread = AsyncMock(spec=discord.Message.create_thread)
    monkeypatch.setattr(discord.Message, "create_thread", create_thread)
    fake_openai.script("Agents choose their own steps [1].")
    asking = cog(bot, AskingCog)

    await asking.ask.callback(asking, interaction(bot).mock, "What separates agents from tools?")

    create_thread.assert_awaited_once()
    assert create_thread.await_args is not None
    assert create_thread.await_args.kwargs["name"] == "What separates agents from tools?"


async def test_a_failing_thread_never_replaces_the_answer(
    bot: CuratorBot, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot.settings.discord.use_threads = True
    monkeypatch.setattr(
        discord.Message, "create_thread", AsyncMock(side_effect=RuntimeError("no threads here"))
    )
    fake_openai.script("Agents choose their own steps [1].")
    asking = cog(bot, AskingCog)

    await asking.ask.callback(asking, interaction(bot).mock, "What separates agents from tools?")

    answer = await latest(text_channel_at(), dpytest.get_message())
    assert answer.embeds and "choose their own steps" in (answer.embeds[0].description or "")
