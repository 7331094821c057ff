"""Who may do what and where the bot answers (real dpytest members and roles)."""

from __future__ import annotations

from unittest.mock import MagicMock

import discord
import discord.ext.test as dpytest

from bot.discord.curator_bot import CuratorBot
from bot.discord.permissions import (
    admin_refusal,
    ask_refusal,
    guild_allowed,
    has_role,
    is_admin,
    is_moderator,
    moderator_refusal,
)
from knowledge.settings import Settings
from tests.bot.discord.conftest import give_role, make_role
from tests.support.settings import with_overrides


async def test_roles_and_permissions_decide_moderators_and_admins(
    bot: CuratorBot, settings: Settings
) -> None:
    config = dpytest.get_config()
    guild = config.guilds[0]
    alice, bob, carol = config.members
    mods = make_role(guild, "Moderators")
    admins = make_role(guild, "Curator Admins")
    managers = make_role(guild, "Managers", manage_messages=True)
    owners = make_role(guild, "Server staff", manage_guild=True)

    assert not is_moderator(alice, settings) and not is_admin(alice, settings)

    bob = await give_role(bob, mods)
    assert is_moderator(bob, settings) and not is_admin(bob, settings)
    bob = await give_role(bob, managers)
    assert is_moderator(bob, settings) and not is_admin(bob, settings)

    carol = await give_role(carol, admins)
    assert is_admin(carol, settings) and is_moderator(carol, settings)

    alice = await give_role(alice, owners)
    assert is_admin(alice, settings) and is_moderator(alice, settings)


async def test_roles_match_by_id_too(bot: CuratorBot, settings: Settings) -> None:
    config = dpytest.get_config()
    role = make_role(config.guilds[0], "Some other name")
    member = await give_role(config.members[0], role)
    assert has_role(member, str(role.id))
    assert is_admin(member, with_overrides(settings, discord={"admin_role": str(role.id)}))


def test_users_outside_a_guild_are_never_moderators(settings: Settings) -> None:
    user = MagicMock(spec=discord.User)
    assert not is_moderator(user, settings)
    assert not is_admin(user, settings)
    assert "direct messages" in (admin_refusal(user, settings, "reindex") or "")


async def test_refusals_name_what_is_missing(bot: CuratorBot, settings: Settings) -> None:
    member = dpytest.get_config().members[0]
    assert admin_refusal(member, settings, "reindex") == (
        "Only admins can reindex: it needs the `Curator Admins` role or the Manage Server "
        "permission."
    )
    no_role = with_overrides(settings, discord={"moderator_role": None})
    assert moderator_refusal(member, no_role, "read the feedback report") == (
        "Only moderators can read the feedback report: it needs the Manage Messages permission."
    )


def test_where_the_bot_answers(settings: Settings) -> None:
    assert ask_refusal(1, 10, None, settings) is None
    two_channels = with_overrides(settings, discord={"channels": [10, 11]})
    assert ask_refusal(1, 10, None, two_channels) is None
    # A thread follows its parent channel.
    assert ask_refusal(1, 99, 11, two_channels) is None
    assert ask_refusal(1, 12, None, two_channels) == "I only answer questions in <#10>, <#11>."
    # DMs are a setting.
    assert "direct messages" in (ask_refusal(None, 5, None, settings) or "")
    dms = with_overrides(settings, discord={"allow_dms": True})
    assert ask_refusal(None, 5, None, dms) is None


def test_guild_allowlist(settings: Settings) -> None:
    assert guild_allowed(123, settings)
    one_guild = with_overrides(settings, discord={"guilds": [1]})
    assert guild_allowed(1, one_guild) and not guild_allowed(123, one_guild)
    assert ask_refusal(123, 10, None, one_guild) == "Curator is not enabled on this server."
