"""Building the bot: intents, cogs, commands, sync target, guild allowlist, error handler."""

from __future__ import annotations

import ast
import importlib.util
import logging
import re
from pathlib import Path
from unittest.mock import AsyncMock, MagicMock

import discord
import discord.ext.test as dpytest
import pytest
from discord import app_commands

from bot.discord.cogs.digest_cog import DigestCog
from bot.discord.cogs.error_cog import ErrorsCog
from bot.discord.cogs.refresh_cog import RefreshCog
from bot.discord.curator_bot import COGS, CuratorBot, CuratorTree, build_intents, create_bot
from knowledge.errors import InputError
from knowledge.logging_setup import extra_fields
from knowledge.services import Services
from knowledge.settings import Settings
from tests.bot.discord.conftest import (
    OTHER_GUILD_ID,
    BotFactory,
    FakeInteraction,
    text_channel_at,
)
from tests.support.settings import with_overrides


def test_intents_are_minimal(settings: Settings) -> None:
    intents = build_intents(settings)
    assert intents.message_content and intents.guild_messages and intents.guilds
    assert not intents.members and not intents.presences
    # DMs arrive even when they are off, so the member is told to ask in the server.
    assert intents.dm_messages

    slash_only = build_intents(
        with_overrides(settings, discord={"allow_dms": True, "mention_trigger": False})
    )
    assert slash_only.value == discord.Intents(guilds=True).value


async def test_create_bot_needs_no_token(settings: Settings) -> None:
    services = Services(settings)
    bot = create_bot(settings, services)
    assert bot.settings is settings
    assert bot.allowed_mentions is not None
    assert bot.allowed_mentions.to_dict() == discord.AllowedMentions.none().to_dict()
    assert isinstance(bot.tree, CuratorTree)
    await services.aclose()


async def test_the_bot_its_cogs_and_its_services_read_one_settings(
    make_bot: BotFactory,
) -> None:
    # Settings are built whole before the bot: no part may hold a copy read earlier.
    bot = await make_bot(discord={"cooldown_seconds": 30}, answers={"history_turns": 2})
    settings = bot.settings
    assert (settings.discord.cooldown_seconds, settings.answers.history_turns) == (30, 2)
    services = bot.services
    assert services.settings is settings
    assert services.index.settings is settings
    assert services.answers.settings is settings
    assert services.digests.settings is settings
    refresh, digest = bot.get_cog("RefreshCog"), bot.get_cog("DigestCog")
    assert isinstance(refresh, RefreshCog) and isinstance(digest, DigestCog)
    assert refresh.schedule.settings is settings
    assert digest.poster.settings is settings


async def test_cogs_and_commands_are_registered(bot: CuratorBot) -> None:
    assert len(bot.cogs) == len(COGS)
    names = {c.qualified_name for c in bot.tree.walk_commands()}
    assert {"ask", "reindex", "feedback", "feedback report"} <= names
    assert {"latest", "recommend", "article"} <= names
    recommend = bot.tree.get_command("recommend")
    assert isinstance(recommend, app_commands.Command)
    # Role, depth and topic all autocomplete from what is indexed.
    assert all(p.autocomplete for p in recommend.parameters)
    latest = bot.tree.get_command("latest")
    assert isinstance(latest, app_commands.Command)
    days = next(p for p in latest.parameters if p.name == "days")
    assert (days.min_value, days.max_value, days.required) == (1, 3650, False)
    ask = bot.tree.get_command("ask")
    assert isinstance(ask, app_commands.Command)
    assert [p.name for p in ask.parameters] == ["question", "topic", "since", "private"]
    assert ask.get_parameter("topic").autocomplete  # type: ignore[union-attr]


@pytest.mark.parametrize("dev_guild", [None, 123456789012345678])
async def test_commands_sync_to_the_dev_guild_or_globally(
    make_bot: BotFactory, monkeypatch: pytest.MonkeyPatch, dev_guild: int | None
) -> None:
    bot = await make_bot(discord={"dev_guild_id": dev_guild})
    sync = AsyncMock(return_value=[])
    monkeypatch.setattr(bot.tree, "sync", sync)

    await bot.sync_commands()

    if dev_guild is None:
        sync.assert_awaited_once_with()
    else:
        assert sync.await_args is not None
        guild = sync.await_args.kwargs["guild"]
        assert guild.id == dev_guild
        assert bot.tree.get_command("ask", guild=guild) is not None


async def test_guilds_off_the_allowlist_are_left(
    make_bot: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await make_bot(discord={"guilds": [1]})
    allowed, other = MagicMock(spec=discord.Guild), MagicMock(spec=discord.Guild)
    allowed.id, other.id = 1, 2

    assert not await bot.leave_if_not_allowed(allowed)
    with caplog.at_level(logging.WARNING):
        assert await bot.leave_if_not_allowed(other)

    allowed.leave.assert_not_awaited()
    other.leave.assert_awaited_once()
    [left] = [r for r in caplog.records if r.getMessage().startswith("leaving a guild")]
    assert extra_fields(left) == {"guild_id": 2}


async def test_slash_commands_in_other_guilds_are_refused(make_bot: BotFactory) -> None:
    bot = await make_bot(discord={"guilds": [OTHER_GUILD_ID]})
    config = dpytest.get_config()
    fake = FakeInteraction(bot, config.members[0], text_channel_at())

    assert not await bot.tree.interaction_check(fake.mock)
    assert fake.ephemeral_texts == ["Curator is not enabled on this server."]


async def test_error_handler_shows_user_messages_and_ids(
    bot: CuratorBot, caplog: pytest.LogCaptureFixture
) -> None:
    errors = bot.get_cog("ErrorsCog")
    assert isinstance(errors, ErrorsCog)
    config = dpytest.get_config()
    command = bot.tree.get_command("ask")
    assert isinstance(command, app_commands.Command)

    known = FakeInteraction(bot, config.members[0], text_channel_at())
    with caplog.at_level(logging.INFO, logger="bot.discord.failure_replies"):
        await errors.on_app_command_error(
            known.mock,
            app_commands.CommandInvokeError(command, InputError("That topic is unknown.")),
        )
    [declined] = caplog.records
    assert declined.getMessage() == "declined: That topic is unknown."
    assert extra_fields(declined) == {"context": "/a command"}
    caplog.clear()
    unknown = FakeInteraction(bot, config.members[0], text_channel_at())
    with caplog.at_level(logging.ERROR):
        await errors.on_app_command_error(
            unknown.mock, app_commands.CommandInvokeError(command, KeyError("boom"))
        )

    assert known.ephemeral_texts == ["That topic is unknown."]
    [text] = unknown.ephemeral_texts
    match = re.search(r"error id `([0-9a-f]{8})`", text)
    assert match is not None
    [logged] = [r for r in caplog.records if r.exc_info]
    assert extra_fields(logged)["error_id"] == match.group(1)
    assert logged.getMessage() == "unexpected error"
    # The handler is the tree's while the cog is loaded.
    assert bot.tree.on_error == errors.on_app_command_error


def _imported_modules(module: str) -> set[str]:
    """Every module a source file imports, TYPE_CHECKING blocks included."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_app_and_the_feedback_buttons_do_not_import_each_other() -> None:
    assert "bot.discord.feedback_ui" not in _imported_modules("bot.discord.curator_bot")
    assert "bot.discord.curator_bot" not in _imported_modules("bot.discord.feedback_ui")


def test_no_mentions_is_defined_once() -> None:
    spec = importlib.util.find_spec("bot.discord")
    assert spec is not None and spec.submodule_search_locations is not None
    package = Path(next(iter(spec.submodule_search_locations)))
    defining = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "NO_MENTIONS = " in path.read_text(encoding="utf-8")
    ]
    assert defining == ["mentions.py"]


async def test_a_channel_missing_from_the_cache_is_fetched_and_a_gone_one_is_none(
    bot: CuratorBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fetched = MagicMock(spec=discord.TextChannel)
    gone = discord.NotFound(MagicMock(status=404, reason="Not Found"), "Unknown Channel")
    fetch = AsyncMock(side_effect=[fetched, gone])
    monkeypatch.setattr(bot, "get_channel", lambda channel_id: None)
    monkeypatch.setattr(bot, "fetch_channel", fetch)

    assert await bot.postable_channel(42, "digest") is fetched
    with caplog.at_level(logging.WARNING):
        assert await bot.postable_channel(43, "log") is None
    [unavailable] = caplog.records
    assert unavailable.getMessage().startswith("log channel unavailable")
    assert extra_fields(unavailable) == {"channel_id": 43}
    assert [c.args for c in fetch.await_args_list] == [(42,), (43,)]


async def test_an_event_handler_error_is_logged_with_the_event(
    bot: CuratorBot, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        try:
            raise RuntimeError("handler bug")
        except RuntimeError:
            await bot.on_error("on_guild_join")
    [logged] = caplog.records
    assert extra_fields(logged) == {"event": "on_guild_join"} and logged.exc_info is not None
    assert "error id" not in logged.getMessage()  # nobody would ever be shown it
