"""Which refusals are content gaps: decided from Answer.refusal, never from the text."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import discord.ext.test as dpytest
import pytest

from knowledge.answers.service import AnswerService
from knowledge.models import Answer, RefusalReason, SearchFilters, Turn
from tests.bot.discord.conftest import GAPS_ID, BotFactory, latest, text_channel_at


@pytest.mark.parametrize(
    ("reason", "gap"),
    [
        (RefusalReason.NOT_COVERED, True),
        (RefusalReason.LLM_DECLINED, True),
        # A question in another language is not a hole in the collection.
        (RefusalReason.NOT_IN_LANGUAGE, False),
        (RefusalReason.NO_MATCH_FOR_FILTERS, False),
    ],
)
async def test_only_content_refusals_are_gaps(
    make_bot: BotFactory, monkeypatch: pytest.MonkeyPatch, reason: RefusalReason, gap: bool
) -> None:
    async def refuse(
        self: AnswerService,
        question: str,
        history: Sequence[Turn] = (),
        filters: SearchFilters | None = None,
    ) -> AsyncIterator[str | Answer]:
        # The same words every time: only the reason may decide.
        yield Answer(text="Nothing to show.", refused=True, refusal=reason, question=question)

    monkeypatch.setattr(AnswerService, "stream", refuse)
    bot = await make_bot(discord={"gaps_channel_id": GAPS_ID})
    assert bot.user is not None

    await dpytest.message(
        f"<@{bot.user.id}> What about LoRA since tomorrow?",
        text_channel_at(),
        dpytest.get_config().members[0],
    )

    reply = await latest(text_channel_at(), dpytest.get_message())
    assert reply.embeds and "Nothing to show." in (reply.embeds[0].description or "")
    posted: list[Any] = []
    while not dpytest.verify().message().nothing():
        posted.append(dpytest.get_message())
    assert [m.channel.id for m in posted] == ([GAPS_ID] if gap else [])
    gaps = bot.services.feedback.questions.since(1, gaps_only=True)
    assert len(gaps) == (1 if gap else 0)
