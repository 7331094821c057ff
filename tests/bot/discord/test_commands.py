"""Slash commands through their callbacks, with spec'd interactions and the real services."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast
from unittest.mock import AsyncMock

import discord
import discord.ext.test as dpytest
import pytest

from bot.discord.cogs.admin_cog import AdminCog
from bot.discord.cogs.ask_cog import AskingCog
from bot.discord.cogs.feedback_cog import FeedbackCog
from bot.discord.curator_bot import CuratorBot
from knowledge.answers.service import AnswerService
from knowledge.errors import IndexBusyError
from knowledge.feedback import AnswerRecord
from knowledge.index import KnowledgeIndex
from knowledge.models import IngestFailure, IngestReport, SearchFilters, Turn
from knowledge.question_log import LoggedQuestion
from knowledge.services import Services
from knowledge.settings import Settings
from tests.bot.discord.conftest import (
    GAPS_ID,
    SAMPLE_DIR,
    BotFactory,
    FakeInteraction,
    custom_ids,
    give_role,
    latest,
    make_role,
    start_bot,
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
    assert "workflows follow code paths [\\[1\\]](https://" in (embed.description or "")
    assert embed.fields[0].name == "Sources" and "](https://" in (embed.fields[0].value or "")
    assert len(custom_ids(stored_message(channel, answer.id))) == 2


async def test_a_private_ask_is_answered_only_to_the_member_with_working_buttons(
    bot: CuratorBot, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script("Agents direct their own tool use [1].")
    asking = cog(bot, AskingCog)
    fake = interaction(bot)

    await asking.ask.callback(
        asking, fake.mock, "What separates agents from workflows?", private=True
    )

    assert fake.sent[0].kind == "defer" and fake.sent[0].ephemeral
    assert all(s.ephemeral for s in fake.sent)
    final = fake.sent[-1]
    assert final.kind == "edit"
    assert "own tool use [\\[1\\]](https://" in (final.embeds[0].description or "")
    assert final.view is not None
    ids = [getattr(item, "custom_id", "") for item in final.view.children]
    assert len(ids) == 2 and ids[0].startswith("curator:fb:up:")
    # Nothing reached the channel, and the answer can still be rated.
    assert dpytest.verify().message().nothing()
    answer_id = ids[0].rsplit(":", 1)[1]
    assert bot.services.feedback.get_answer(answer_id) is not None


async def test_titles_show_display_names_not_raw_mention_ids(
    bot: CuratorBot, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script("Agents direct their own tool use [1].")
    bob = dpytest.get_config().members[1]
    asking = cog(bot, AskingCog)

    await asking.ask.callback(
        asking, interaction(bot).mock, f"What would <@{bob.id}> read about agents?"
    )

    answer = await latest(text_channel_at(), dpytest.get_message())
    assert answer.embeds[0].title == f"What would @{bob.display_name} read about agents?"
    assert "<@" not in (answer.embeds[0].title or "")


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
        (None, "last tuesday", "`since:` “last tuesday” is not a date or a period"),
        ("cooking", None, "No article has the topic “cooking”"),
        (None, "2999-01-01", "is in the future"),
        (None, "**soon**", "`since:` “\\*\\*soon\\*\\*” is not a date"),
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
    make_bot: BotFactory, fake_openai: FakeOpenAI
) -> None:
    bot = await make_bot(discord={"channels": [GAPS_ID]})
    asking = cog(bot, AskingCog)
    fake = interaction(bot)

    await asking.ask.callback(asking, fake.mock, "How does LoRA work?")

    assert fake.ephemeral_texts == [f"I only answer questions in <#{GAPS_ID}>."]
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
        outcomes[(who, "reindex")] = not any("Only admins" in t for t in fake.ephemeral_texts)
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


def final_report(fake: FakeInteraction) -> discord.Embed:
    """The last embed the admin was shown (the status message, edited into the report)."""
    return [s for s in fake.sent if s.embeds][-1].embeds[0]


async def test_reindex_by_an_admin_reports_counts_only_to_the_admin(bot: CuratorBot) -> None:
    _, _, admin = await roles(bot)
    admin_cog = cog(bot, AdminCog)
    fake = interaction(bot, admin)

    await admin_cog.reindex.callback(admin_cog, fake.mock, False)

    assert fake.sent[0].kind == "defer" and all(s.ephemeral for s in fake.sent)
    assert dpytest.verify().message().nothing()
    embed = final_report(fake)
    assert embed.title == "Reindex finished"
    assert "**Unchanged** 15" in (embed.description or "")
    assert "**Failed** 0" in (embed.description or "")


@asynccontextmanager
async def bot_with_index(settings: Settings, index: object) -> AsyncIterator[CuratorBot]:
    """A bot whose services were built with `index`, a stand-in for KnowledgeIndex."""
    services = Services(settings, index=cast(KnowledgeIndex, index))
    bot = await start_bot(settings, services)
    try:
        yield bot
    finally:
        await dpytest.empty_queue()
        await services.aclose()


async def test_reindex_lists_the_titles_it_added_updated_and_removed(
    make_bot: BotFactory, tmp_path: Path
) -> None:
    sources = tmp_path / "articles"
    shutil.copytree(SAMPLE_DIR, sources)
    bot = await make_bot(knowledge={"sources": [str(sources)]})
    _, _, admin = await roles(bot)
    (sources / "sentence-bert.md").unlink()
    lora = sources / "lora-low-rank-adaptation.md"
    lora.write_text(lora.read_text().replace("## Summary\n", "## Summary\n\nRevised. "))
    admin_cog = cog(bot, AdminCog)
    fake = interaction(bot, admin)

    await admin_cog.reindex.callback(admin_cog, fake.mock, False)

    text = final_report(fake).description or ""
    assert "**Updated** (1)\n• LoRA: Low-Rank Adaptation of Large Language Models" in text
    assert "**Removed** (1)\n• Sentence-BERT" in text


class BlockingIndex:
    """Stands in for KnowledgeIndex.reindex: reports progress, then waits to be released."""

    def __init__(self, report: IngestReport) -> None:
        self.report = report
        self.release = threading.Event()
        self.started = threading.Event()

    def close(self) -> None:
        self.release.set()

    def list_articles(self) -> list[object]:
        return []

    def reindex(self, dry_run: bool = False, progress: Any = None) -> IngestReport:
        self.started.set()
        if progress is not None:
            progress("load", 1, 2)
        assert self.release.wait(10)
        return self.report


async def test_second_reindex_while_one_runs_is_told_so_and_failures_are_listed(
    settings: Settings,
) -> None:
    failures = [IngestFailure(path="/src/broken.md", reason="missing title")]
    blocking = BlockingIndex(IngestReport(added=1, failed=failures))
    async with bot_with_index(settings, blocking) as bot:
        _, _, admin = await roles(bot)
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
        description = final_report(first).description or ""
        assert "**Failed** 1" in description and "/src/broken.md" in description
        assert "missing title" in description


async def test_reindex_blocked_by_another_process_says_so(settings: Settings) -> None:
    class BusyIndex:
        def reindex(self, dry_run: bool = False, progress: Any = None) -> IngestReport:
            raise IndexBusyError("Another reindex is running (started from the CLI).")

        def close(self) -> None:
            pass

        def list_articles(self) -> list[object]:
            return []

    async with bot_with_index(settings, BusyIndex()) as bot:
        _, _, admin = await roles(bot)
        admin_cog = cog(bot, AdminCog)

        fake = interaction(bot, admin)
        await admin_cog.reindex.callback(admin_cog, fake.mock, False)

        # The error replaces the admin's own status message; nothing is posted in the channel.
        assert fake.sent[-1].kind == "edit" and fake.sent[-1].ephemeral
        assert fake.sent[-1].content == "Another reindex is running (started from the CLI)."
        assert dpytest.verify().message().nothing()
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


async def test_feedback_report_links_items_to_their_answers_and_leaves_out_small_talk(
    bot: CuratorBot, fake_openai: FakeOpenAI
) -> None:
    _, moderator, _ = await roles(bot)
    store = bot.services.feedback
    guild_id = dpytest.get_config().guilds[0].id
    # A thank-you logged by an older version of the bot, as a content gap.
    store.questions.record(
        LoggedQuestion(
            question="thanks!", guild_id=guild_id, user_hash="x", gap=True, mode="extractive"
        )
    )
    assert bot.user is not None
    await dpytest.message(
        f"<@{bot.user.id}> Which volcano erupted near Reykjavik yesterday?",
        text_channel_at(),
        dpytest.get_config().members[0],
    )
    refusal = await latest(text_channel_at(), dpytest.get_message())
    feedback_cog = cog(bot, FeedbackCog)
    fake = interaction(bot, moderator)

    await feedback_cog.report.callback(feedback_cog, fake.mock, 7)

    embed = fake.sent[0].embeds[0]
    assert "**Content gaps** 1" in (embed.description or "")
    [gaps] = [f for f in embed.fields if f.name == "Content gaps"]
    value = gaps.value or ""
    assert f"[Which volcano erupted near Reykjavik yesterday?]({refusal.jump_url})" in value
    assert "thanks" not in value


async def test_with_threads_on_an_ask_answer_opens_a_thread_for_follow_ups(
    make_bot: BotFactory, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = await make_bot(discord={"use_threads": True})
    create_thread = AsyncMock(spec=discord.Message.create_thread)
    monkeypatch.setattr(discord.Message, "create_thread", create_thread)
    fake_openai.script("Agents choose their own steps [1].")
    asking = cog(bot, AskingCog)

    await asking.ask.callback(asking, interaction(bot).mock, "What separates agents from tools?")

    create_thread.assert_awaited_once()
    assert create_thread.await_args is not None
    assert create_thread.await_args.kwargs["name"] == "What separates agents from tools?"


async def test_a_failing_thread_never_replaces_the_answer(
    make_bot: BotFactory, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = await make_bot(discord={"use_threads": True})
    monkeypatch.setattr(
        discord.Message, "create_thread", AsyncMock(side_effect=RuntimeError("no threads here"))
    )
    fake_openai.script("Agents choose their own steps [1].")
    asking = cog(bot, AskingCog)

    await asking.ask.callback(asking, interaction(bot).mock, "What separates agents from tools?")

    answer = await latest(text_channel_at(), dpytest.get_message())
    assert answer.embeds and "choose their own steps" in (answer.embeds[0].description or "")
