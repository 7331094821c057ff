"""Helpful / Not helpful buttons under every answer, and the modal asking what was wrong.

The buttons are dynamic items: their custom_id carries the answer id, and the bot registers the
template at start-up, so a click on an answer posted before a restart still reaches a handler.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, Protocol

import discord

from bot.discord.errors import describe_error, reply_ephemeral
from knowledge.feedback import MAX_REASON_CHARS, FeedbackStore, Rating

log = logging.getLogger(__name__)

CUSTOM_ID_PREFIX = "curator:fb"
_RATINGS: dict[str, Rating] = {"up": "helpful", "down": "not_helpful"}


def feedback_custom_id(answer_id: str, rating: Rating) -> str:
    """The custom_id of a feedback button: prefix, rating and answer id."""
    code = "up" if rating == "helpful" else "down"
    return f"{CUSTOM_ID_PREFIX}:{code}:{answer_id}"


class _Services(Protocol):
    @property
    def feedback(self) -> FeedbackStore: ...


class _ServedClient(Protocol):
    """What the buttons need of the bot (kept structural: this module never imports the app)."""

    services: _Services


def _feedback_store(interaction: discord.Interaction) -> FeedbackStore:
    client: _ServedClient = interaction.client  # type: ignore[assignment]
    return client.services.feedback


class FeedbackButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=re.compile(CUSTOM_ID_PREFIX + r":(?P<code>up|down):(?P<answer_id>[0-9a-f]{1,64})"),
):
    """One feedback button; the answer id and the rating live in its custom_id."""

    def __init__(self, answer_id: str, rating: Rating) -> None:
        helpful = rating == "helpful"
        super().__init__(
            discord.ui.Button(
                label="Helpful" if helpful else "Not helpful",
                emoji="👍" if helpful else "👎",
                style=discord.ButtonStyle.secondary,
                custom_id=feedback_custom_id(answer_id, rating),
            )
        )
        self.answer_id = answer_id
        self.rating: Rating = rating

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> FeedbackButton:
        return cls(match["answer_id"], _RATINGS[match["code"]])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        try:
            store = _feedback_store(interaction)
            user_hash = await asyncio.to_thread(store.hash_user, interaction.user.id)
            await asyncio.to_thread(store.rate, self.answer_id, user_hash, self.rating)
            if self.rating == "helpful":
                await reply_ephemeral(interaction, "Thanks! Glad it helped.")
            else:
                await interaction.response.send_modal(ReasonModal(store, self.answer_id, user_hash))
        except Exception as exc:
            # discord.py only logs errors of dynamic items; the member still deserves a reply.
            await reply_ephemeral(interaction, describe_error(exc, "a feedback button"))


class ReasonModal(discord.ui.Modal, title="What was wrong with this answer?"):
    """Asks for a reason after 'Not helpful'; the rating itself is already stored."""

    reason: discord.ui.TextInput[ReasonModal] = discord.ui.TextInput(
        label="Reason (optional)",
        style=discord.TextStyle.paragraph,
        placeholder="Wrong, outdated, missing a source, did not answer the question…",
        required=False,
        max_length=MAX_REASON_CHARS,
    )

    def __init__(self, store: FeedbackStore, answer_id: str, user_hash: str) -> None:
        super().__init__(timeout=15 * 60)
        self.store = store
        self.answer_id = answer_id
        self.user_hash = user_hash

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await asyncio.to_thread(
            self.store.rate, self.answer_id, self.user_hash, "not_helpful", self.reason.value
        )
        await reply_ephemeral(interaction, "Thanks, the moderators will see your note.")

    # discord.py's Modal.on_error takes no `item`, unlike the View method it overrides.
    async def on_error(  # type: ignore[override]
        self, interaction: discord.Interaction[Any], error: Exception, /
    ) -> None:
        await reply_ephemeral(interaction, describe_error(error, "the feedback form"))


def feedback_view(answer_id: str) -> discord.ui.View:
    """The buttons under an answer; persistent (no timeout), routed by the dynamic items."""
    view = discord.ui.View(timeout=None)
    view.add_item(FeedbackButton(answer_id, "helpful"))
    view.add_item(FeedbackButton(answer_id, "not_helpful"))
    return view
