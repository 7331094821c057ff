"""/digest for moderators (preview with Post/Cancel, or post), and the daily digest schedule."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.background import BackgroundTask
from bot.discord.digest_render import render_digest
from bot.discord.digest_schedule import DigestPoster, DigestScheduler, utc_now
from bot.discord.failure_replies import describe_error, reply_ephemeral
from bot.discord.mentions import NO_MENTIONS
from bot.discord.permissions import moderator_refusal
from knowledge.digest.contents import Digest
from knowledge.digest.window import latest_digest_date
from knowledge.periods import UnreadableDateError, parse_date

if TYPE_CHECKING:
    from bot.discord.curator_bot import CuratorBot

log = logging.getLogger(__name__)


class DigestPreviewView(discord.ui.View):
    """Post and Cancel under a moderator's ephemeral preview."""

    def __init__(
        self, author_id: int, post: Callable[[discord.Interaction[Any]], Awaitable[str]]
    ) -> None:
        # Discord lets a bot edit an ephemeral reply for 15 minutes; the buttons live as long.
        super().__init__(timeout=14 * 60)
        self.author_id = author_id
        self._post = post
        self.message: discord.WebhookMessage | None = None

    async def on_timeout(self) -> None:
        if self.message is None:
            return
        # The preview may be gone or expired already; then there is nothing to tidy.
        with contextlib.suppress(discord.HTTPException):
            await self.message.edit(view=None)

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        if interaction.user.id != self.author_id:
            await reply_ephemeral(interaction, "Only the moderator who asked for it can post it.")
            return False
        return True

    async def _close(self, interaction: discord.Interaction[Any], content: str) -> None:
        self.stop()
        await interaction.response.edit_message(content=content, view=None)

    @discord.ui.button(label="Post", style=discord.ButtonStyle.success)
    async def post_button(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[DigestPreviewView]
    ) -> None:
        """Post the previewed digest to the digest channel."""
        await self._close(interaction, "Posting the digest…")
        await interaction.followup.send(
            await self._post(interaction), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel_button(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[DigestPreviewView]
    ) -> None:
        """Drop the preview; nothing is posted."""
        await self._close(interaction, "Cancelled: nothing was posted.")


class DigestCog(commands.Cog):
    """The moderators' /digest and the daily post at the digest time."""

    def __init__(self, bot: CuratorBot) -> None:
        self.bot = bot
        self.now: Callable[[], dt.datetime] = utc_now
        self.poster = DigestPoster(bot.settings, bot.services.digest_history, self.digest_channel)
        self._schedule = BackgroundTask("digest-schedule")

    def running(self) -> bool:
        """True while the daily digest schedule runs (from loading the cog to unloading it)."""
        return self._schedule.running()

    async def digest_channel(self, channel_id: int) -> discord.abc.Messageable | None:
        """The digest channel from the cache, else from the API; None when it cannot be used."""
        return await self.bot.postable_channel(channel_id, "digest")

    def scheduler(self) -> DigestScheduler:
        return DigestScheduler(self.bot.settings, self.bot.services.digests, self.poster)

    async def cog_load(self) -> None:
        if self.bot.settings.digest.channel_id is None:
            log.info("no CURATOR_DIGEST__CHANNEL_ID: the daily digest is not scheduled")
            return
        self._schedule.start(self._run_schedule())

    async def cog_unload(self) -> None:
        await self._schedule.stop()

    async def _run_schedule(self) -> None:
        await self.bot.wait_until_ready()
        await self.scheduler().run_forever()

    async def post(self, digest: Digest, user: discord.abc.User) -> str:
        """Post `digest` for a moderator; the reply to show them."""
        try:
            posted = await self.poster.post(digest, by=user.mention)
        except Exception as exc:
            return describe_error(exc, "/digest post")
        count = len(posted.message_ids)
        return f"Posted the digest to <#{posted.channel_id}> ({count} message{'s' * (count != 1)})."

    def _day(self, text: str | None) -> dt.date:
        """The requested date, or the latest one due when none was given.

        Raises UnreadableDateError (knowledge.periods, as for the CLI's `--date`).
        """
        if not text or not text.strip():
            return latest_digest_date(self.now(), self.bot.settings.digest)
        return parse_date(text)

    @app_commands.command(name="digest", description="Moderators: preview or post the digest.")
    @app_commands.describe(
        date="The digest's date, YYYY-MM-DD (default: the latest one due)",
        preview="Show it only to you first, with Post and Cancel buttons (default: yes)",
    )
    @app_commands.guild_only()
    async def digest(
        self, interaction: discord.Interaction[Any], date: str | None = None, preview: bool = True
    ) -> None:
        """Build the digest; preview it with Post/Cancel, or post it straight away."""
        reason = moderator_refusal(interaction.user, self.bot.settings, "post the digest")
        if reason is not None:
            await reply_ephemeral(interaction, reason)
            return
        try:
            day = self._day(date)
        except UnreadableDateError as exc:
            await reply_ephemeral(
                interaction, f"`date:` {discord.utils.escape_markdown(str(exc))}."
            )
            return
        # Already posted or no channel: a preview is still allowed, posting is not.
        blocked = self.poster.refusal(day)
        if blocked is not None and not preview:
            await reply_ephemeral(interaction, blocked)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            digest = await self.bot.services.digests.build(date=day)
        except Exception as exc:
            await reply_ephemeral(interaction, describe_error(exc, "/digest"))
            return
        if preview:
            await self._send_preview(interaction, digest, blocked)
        else:
            await reply_ephemeral(interaction, await self.post(digest, interaction.user))

    async def _send_preview(
        self, interaction: discord.Interaction[Any], digest: Digest, blocked: str | None
    ) -> None:
        """The rendered digest, only for the moderator; Post and Cancel under the last message."""
        messages = render_digest(digest)
        notes = [f"Preview only: {blocked}"] if blocked is not None else []
        if digest.end > self.now():
            # Posting now marks the date done, so later articles of this window would be skipped.
            notes.append(
                f"This digest's window is still open until {discord.utils.format_dt(digest.end)}; "
                "articles curated after you post it will not appear in any digest."
            )
        if notes:
            messages[0].content = "\n".join(notes)
        for index, message in enumerate(messages):
            options: dict[str, Any] = {}
            if message.content:
                options["content"] = message.content
            if index == len(messages) - 1 and blocked is None:
                options["view"] = DigestPreviewView(
                    interaction.user.id, lambda clicked: self.post(digest, clicked.user)
                )
            sent = await interaction.followup.send(
                embeds=message.embeds,
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
                wait=True,
                **options,
            )
            if "view" in options:
                options["view"].message = sent
