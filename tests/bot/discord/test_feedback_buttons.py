"""Feedback buttons through discord.py's real interaction routing, across a bot restart."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import discord.ext.test as dpytest

from bot.discord.curator_bot import CuratorBot
from bot.discord.feedback_ui import FeedbackButton, feedback_custom_id
from knowledge.services import Services
from knowledge.settings import Settings
from tests.bot.discord.conftest import (
    FakeInteraction,
    RecordingAdapter,
    component_interaction,
    custom_ids,
    latest,
    modal_submit_interaction,
    start_bot,
    stored_message,
    text_channel_at,
)
from tests.support.fake_openai import FakeOpenAI

EPHEMERAL = 64
CHANNEL_MESSAGE = 4
MODAL = 9


async def settle() -> None:
    """Let discord.py's scheduled component and modal tasks finish."""
    for _ in range(50):
        pending = [
            t
            for t in asyncio.all_tasks()
            if t is not asyncio.current_task()
            and (t.get_name().startswith("discord-ui-") or "modal" in t.get_name())
            and not t.done()
        ]
        if not pending:
            await asyncio.sleep(0)
            return
        await asyncio.gather(*pending)


async def answer_with_buttons(bot: CuratorBot, fake_openai: FakeOpenAI) -> dict[str, Any]:
    fake_openai.script("Keep the base weights frozen and train low-rank updates [1].")
    config = dpytest.get_config()
    channel = text_channel_at()
    assert bot.user is not None
    await dpytest.message(
        f"<@{bot.user.id}> How does LoRA fine-tune a model cheaply?",
        channel,
        config.members[0],
    )
    answer = await latest(channel, dpytest.get_message())
    return stored_message(channel, answer.id)


async def test_feedback_buttons_work_after_a_restart_and_ask_for_a_reason(
    bot: CuratorBot,
    services: Services,
    settings: Settings,
    fake_openai: FakeOpenAI,
    interaction_responses: RecordingAdapter,
) -> None:
    old_message = await answer_with_buttons(bot, fake_openai)
    helpful_id, not_helpful_id = custom_ids(old_message)
    answer_id = helpful_id.rsplit(":", 1)[1]
    # Restart: the old bot and its services go away; a new bot opens the same data dir.
    await services.aclose()
    restarted_services = Services(settings)
    restarted = await start_bot(settings, restarted_services)
    config = dpytest.get_config()
    channel = text_channel_at()
    bob, carol = config.members[1], config.members[2]

    restarted._connection.parse_interaction_create(
        component_interaction(restarted, bob, channel, old_message, helpful_id)
    )
    await settle()
    restarted._connection.parse_interaction_create(
        component_interaction(restarted, carol, channel, old_message, not_helpful_id)
    )
    await settle()

    thanks, modal = interaction_responses.payloads
    assert thanks["type"] == CHANNEL_MESSAGE
    assert thanks["data"]["flags"] == EPHEMERAL
    assert thanks["data"]["content"].startswith("Thanks! Glad it helped. Your vote: 👍 Helpful.")
    assert modal["type"] == MODAL
    store = restarted_services.feedback
    ratings = {r.rating for r in store.ratings_for(answer_id)}
    assert ratings == {"helpful", "not_helpful"}
    # The user is stored only as a salted hash, never as the raw id.
    hashes = {r.user_hash for r in store.ratings_for(answer_id)}
    assert str(bob.id) not in " ".join(hashes) and store.hash_user(bob.id) in hashes

    text_input_id = modal["data"]["components"][0]["components"][0]["custom_id"]
    restarted._connection.parse_interaction_create(
        modal_submit_interaction(
            restarted, carol, channel, modal["data"], {text_input_id: "It ignored the question."}
        )
    )
    await settle()

    reasons = [r.reason for r in store.ratings_for(answer_id) if r.rating == "not_helpful"]
    assert reasons == ["It ignored the question."]
    submitted = interaction_responses.payloads[-1]["data"]["content"]
    assert submitted.startswith("Thanks for the feedback. Your vote: 👎 Not helpful.")
    assert submitted.endswith("The moderators will see your note.")
    record = store.get_answer(answer_id)
    assert record is not None
    assert record.question == "How does LoRA fine-tune a model cheaply?"
    assert "low-rank updates [1]" in record.answer_text and record.chunk_ids
    assert record.guild_id is not None
    await restarted_services.aclose()


def _buttons(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for row in payload["data"]["components"] for item in row["components"]]


async def test_a_second_click_shows_the_members_vote_and_lets_them_change_it(
    bot: CuratorBot, fake_openai: FakeOpenAI, interaction_responses: RecordingAdapter
) -> None:
    message = await answer_with_buttons(bot, fake_openai)
    helpful_id, not_helpful_id = custom_ids(message)
    answer_id = helpful_id.rsplit(":", 1)[1]
    channel = text_channel_at()
    bob = dpytest.get_config().members[1]

    for custom_id in (helpful_id, helpful_id, not_helpful_id):
        bot._connection.parse_interaction_create(
            component_interaction(bot, bob, channel, message, custom_id)
        )
        await settle()

    first, second, modal = interaction_responses.payloads
    assert first["data"]["flags"] == EPHEMERAL and second["data"]["flags"] == EPHEMERAL
    assert second["data"]["content"].startswith("You already rated this answer 👍 Helpful.")
    assert first["data"]["allowed_mentions"] == {"parse": []}
    # Their vote is marked (and cannot be cast twice); the other button switches it.
    up, down = _buttons(second)
    assert up["label"] == "Helpful (your vote)" and up["disabled"] is True
    assert down["label"] == "Not helpful" and not down.get("disabled")
    assert down["custom_id"] == not_helpful_id
    assert modal["type"] == MODAL
    store = bot.services.feedback
    assert [r.rating for r in store.ratings_for(answer_id)] == ["not_helpful"]


async def test_clicking_a_button_of_an_unknown_answer_says_so(bot: CuratorBot) -> None:
    config = dpytest.get_config()
    button = FeedbackButton("deadbeef", "helpful")
    fake = FakeInteraction(bot, config.members[0], text_channel_at())

    await button.callback(fake.mock)

    assert fake.ephemeral_texts == ["That answer is no longer on record, so it cannot be rated."]


def test_custom_id_carries_answer_and_rating() -> None:
    assert feedback_custom_id("abc123", "helpful") == "curator:fb:up:abc123"
    match = FeedbackButton.__discord_ui_compiled_template__.fullmatch("curator:fb:down:abc123")
    assert match is not None and match["answer_id"] == "abc123" and match["code"] == "down"
    assert len(feedback_custom_id("f" * 16, "not_helpful")) <= 100
    assert isinstance(FeedbackButton("ab", "helpful").item, discord.ui.Button)
