"""Who a message the bot sends may ping: nobody, except a queued asker when their answer lands."""

from __future__ import annotations

import discord

# Shared, never mutated: discord.py only reads it when building a payload.
NO_MENTIONS = discord.AllowedMentions.none()


def only_user(user_id: int) -> discord.AllowedMentions:
    """Allow pinging this one user and nobody else (no roles, no @everyone, no reply ping)."""
    return discord.AllowedMentions(
        everyone=False, users=[discord.Object(id=user_id)], roles=False, replied_user=False
    )
