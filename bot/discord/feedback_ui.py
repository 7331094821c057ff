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

from bot.discord.failure_replies import describe_error, reply_ephemeral
from bot.discord.mentions import NO_MENTIONS
from knowledge.feedback import MAX_REASON_CHARS, FeedbackEntry, FeedbackStore, Rating

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


VOTE_LABELS: dict[Rating, str] = {"helpful": "👍 Helpful", "not_helpful": "👎 Not helpful"}


def vote_text(rating: Rating, previous: Rating | None) -> str:
    """What a member is told after a click: their vote now, and how to change it."""
    other = "👎" if rating == "helpful" else "👍"
    if previous == rating:
        vote = VOTE_LABELS[rating]
        return f"You already rated this answer {vote}. Changed your mind? Use {other} below."
    if previous is not None:
        return f"Vote changed: you now rate this answer {VOTE_LABELS[rating]}."
    lead = "Thanks! Glad it helped." if rating == "helpful" else "Thanks for the feedback."
    return f"{lead} Your vote: {VOTE_LABELS[rating]}. Use {other} below to change it."


class FeedbackButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=re.compile(CUSTOM_ID_PREFIX + r":(?P<code>up|down):(?P<answer_id>[0-9a-f]{1,64})"),
):
    """One feedback button; the answer id and the rating live in its custom_id.

    `chosen` marks the button of the member's current vote in the copy only they see.
    """

    def __init__(self, answer_id: str, rating: Rating, chosen: bool = False) -> None:
        helpful = rating == "helpful"
        style = discord.ButtonStyle.secondary
        if chosen:
            style = discord.ButtonStyle.success if helpful else discord.ButtonStyle.danger
        label = "Helpful" if helpful else "Not helpful"
        super().__init__(
            discord.ui.Button(
                label=f"{label} (your vote)" if chosen else label,
                emoji="👍" if helpful else "👎",
                style=style,
                custom_id=feedback_custom_id(answer_id, rating),
                disabled=chosen and helpful,
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
            previous = await asyncio.to_thread(current_vote, store, self.answer_id, user_hash)
            if previous is None or previous.rating != self.rating:
                # Stored before the reason is asked, so a dismissed form still counts.
                await asyncio.to_thread(store.rate, self.answer_id, user_hash, self.rating)
            before = previous.rating if previous is not None else None
            if self.rating == "helpful":
                await interaction.response.send_message(
                    vote_text("helpful", before),
                    view=vote_view(self.answer_id, "helpful"),
                    ephemeral=True,
                    allowed_mentions=NO_MENTIONS,
                )
            else:
                reason = previous.reason if previous is not None else ""
                modal = ReasonModal(store, self.answer_id, user_hash, before, reason)
                await interaction.response.send_modal(modal)
        except Exception as exc:
            # discord.py only logs errors of dynamic items; the member still deserves a reply.
            await reply_ephemeral(interaction, describe_error(exc, "a feedback button"))


def current_vote(store: FeedbackStore, answer_id: str, user_hash: str) -> FeedbackEntry | None:
    """The member's rating of an answer, or None when they have not rated it."""
    return next((r for r in store.ratings_for(answer_id) if r.user_hash == user_hash), None)


def vote_view(answer_id: str, current: Rating) -> discord.ui.View:
    """The buttons as one member sees them after voting: theirs marked, the other to switch."""
    view = discord.ui.View(timeout=None)
    view.add_item(FeedbackButton(answer_id, "helpful", chosen=current == "helpful"))
    view.add_item(FeedbackButton(answer_id, "not_helpful", chosen=current == "not_helpful"))
    return view


class ReasonModal(discord.ui.Modal, title="What was wrong with this answer?"):
    """Asks for a reason after 'Not helpful'; the rating itself is already stored."""

    reason: discord.ui.TextInput[ReasonModal] = discord.ui.TextInput(
        label="Reason (optional)",
        style=discord.TextStyle.paragraph,
        placeholder="Wrong, outdated, missing a source, did not answer the question…",
        required=False,
        max_length=MAX_REASON_CHARS,
    )

    def __init__(
        self,
        store: FeedbackStore,
        answer_id: str,
        user_hash: str,
        previous: Rating | None = None,
        reason: str = "",
    ) -> None:
        super().__init__(timeout=15 * 60)
        self.store = store
        self.answer_id = answer_id
        self.user_hash = user_hash
        self.previous = previous
        # Rating again shows the note given before, so it can be edited rather than lost.
        self.reason.default = reason or None

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await asyncio.to_thread(
            self.store.rate, self.answer_id, self.user_hash, "not_helpful", self.reason.value
        )
        text = vote_text("not_helpful", self.previous)
        if self.reason.value.strip():
            text += " The moderators will see your note."
        await interaction.response.send_message(
            text,
            view=vote_view(self.answer_id, "not_helpful"),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

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
