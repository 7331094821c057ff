"""Who may do what, and where the bot answers: pure functions over members and settings.

Each `*_refusal` function returns None when the action is allowed, else the reason to show
the member (ephemerally where Discord allows it).
"""

from __future__ import annotations

import discord

from knowledge.settings import Settings


def has_role(member: discord.Member, wanted: str | None) -> bool:
    """Whether the member has the role named by `wanted` (a role name or a role id)."""
    if not wanted:
        return False
    wanted = wanted.strip()
    return any(role.name == wanted or str(role.id) == wanted for role in member.roles)


def is_admin(member: discord.abc.User, settings: Settings) -> bool:
    """Admins: the admin role from settings, Manage Server, or Administrator."""
    if not isinstance(member, discord.Member):
        return False
    perms = member.guild_permissions
    return (
        perms.administrator or perms.manage_guild or has_role(member, settings.discord.admin_role)
    )


def is_moderator(member: discord.abc.User, settings: Settings) -> bool:
    """Moderators: the moderator role from settings, Manage Messages, or any admin."""
    if not isinstance(member, discord.Member):
        return False
    return (
        member.guild_permissions.manage_messages
        or has_role(member, settings.discord.moderator_role)
        or is_admin(member, settings)
    )


def guild_allowed(guild_id: int | None, settings: Settings) -> bool:
    """Whether the bot serves this guild (every guild when the allowlist is empty)."""
    allowlist = settings.discord.guilds
    return guild_id is None or not allowlist or guild_id in allowlist


def _role_hint(role: str | None, permission: str) -> str:
    if role:
        return f"the `{role}` role or the {permission} permission"
    return f"the {permission} permission"


def admin_refusal(member: discord.abc.User, settings: Settings, action: str) -> str | None:
    """Why `member` may not do the admin-only `action`, or None when they may."""
    if not isinstance(member, discord.Member):
        return f"You can only {action} from a server channel, not in direct messages."
    if is_admin(member, settings):
        return None
    need = _role_hint(settings.discord.admin_role, "Manage Server")
    return f"Only admins can {action}: it needs {need}."


def moderator_refusal(member: discord.abc.User, settings: Settings, action: str) -> str | None:
    """Why `member` may not do the moderator-only `action`, or None when they may."""
    if not isinstance(member, discord.Member):
        return f"You can only {action} from a server channel, not in direct messages."
    if is_moderator(member, settings):
        return None
    need = _role_hint(settings.discord.moderator_role, "Manage Messages")
    return f"Only moderators can {action}: it needs {need}."


def parent_channel_id(channel: object) -> int | None:
    """A thread's parent channel id (a thread follows its channel's rules); None otherwise."""
    return channel.parent_id if isinstance(channel, discord.Thread) else None


def ask_refusal(
    guild_id: int | None,
    channel_id: int | None,
    parent_channel_id: int | None,
    settings: Settings,
) -> str | None:
    """Why the bot will not answer here, or None when it will.

    A thread counts as its parent channel, so answers in threads follow the channel allowlist.
    """
    if guild_id is None:
        if settings.discord.allow_dms:
            return None
        return "I don't answer direct messages; please ask me in the server."
    if not guild_allowed(guild_id, settings):
        return "Curator is not enabled on this server."
    channels = settings.discord.channels
    if channels and channel_id not in channels and parent_channel_id not in channels:
        where = ", ".join(f"<#{c}>" for c in channels[:10])
        more = "" if len(channels) <= 10 else f" and {len(channels) - 10} more"
        return f"I only answer questions in {where}{more}."
    return None
