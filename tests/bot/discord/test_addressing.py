"""Answer only when addressed: the rule as a table, then the rule read from real messages."""

from __future__ import annotations

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext.test import backend

from bot.discord.addressing import MessageFacts, Verdict, decide, is_request, is_small_talk
from bot.discord.curator_bot import CuratorBot
from tests.bot.discord.conftest import latest, send_reply, text_channel_at
from tests.support.fake_openai import FakeOpenAI

A = Verdict.ANSWER
S = Verdict.SMALL_TALK
I = Verdict.IGNORE  # noqa: E741

# (what the member wrote, where, what the bot does)
RULES: list[tuple[str, MessageFacts, Verdict]] = [
    # A mention addresses the bot.
    ("mention, question", MessageFacts("How does LoRA work?", mentions_bot=True), A),
    ("mention, request", MessageFacts("tell me about BM25", mentions_bot=True), A),
    ("mention, statement", MessageFacts("LoRA and memory", mentions_bot=True), A),
    ("bare mention", MessageFacts("", mentions_bot=True), A),
    ("mention, thanks", MessageFacts("thanks!", mentions_bot=True), S),
    ("mention, emoji", MessageFacts("👍", mentions_bot=True), S),
    ("mention, custom emoji", MessageFacts("<:party:123456>", mentions_bot=True), S),
    (
        "mention + another member, no question",
        MessageFacts("bob built this", mentions_bot=True, mentions_others=True),
        I,
    ),
    (
        "mention + another member, question",
        MessageFacts("what does it say on RAG?", mentions_bot=True, mentions_others=True),
        A,
    ),
    # Direct messages are addressed to the bot.
    ("dm question", MessageFacts("What is RAG?", in_dm=True), A),
    ("dm thanks", MessageFacts("thank you so much", in_dm=True), S),
    # Replies to an answer: only the asker's questions and requests.
    (
        "asker's follow-up question",
        MessageFacts("And how much memory does it save?", replies_to_answer=True, from_asker=True),
        A,
    ),
    (
        "asker's request",
        MessageFacts("explain the rank choice", replies_to_answer=True, from_asker=True),
        A,
    ),
    ("asker's thanks", MessageFacts("thanks!", replies_to_answer=True, from_asker=True), S),
    ("asker's emoji", MessageFacts("🙏", replies_to_answer=True, from_asker=True), S),
    (
        "asker's remark",
        MessageFacts("I tried that yesterday", replies_to_answer=True, from_asker=True),
        I,
    ),
    (
        "another member's question under the answer",
        MessageFacts("how did you get that?", replies_to_answer=True, from_asker=False),
        I,
    ),
    (
        "asker talking to another member",
        MessageFacts(
            "can you try this?", replies_to_answer=True, from_asker=True, mentions_others=True
        ),
        I,
    ),
    (
        "another member mentioning the bot under the answer",
        MessageFacts(
            "which article should I read first?",
            replies_to_answer=True,
            from_asker=False,
            mentions_bot=True,
        ),
        A,
    ),
    # The bot's own thread: the same as replies.
    (
        "asker in bot thread",
        MessageFacts("what about QLoRA?", in_bot_thread=True, from_asker=True),
        A,
    ),
    ("member to member in bot thread", MessageFacts("did that work?", in_bot_thread=True), I),
    ("thanks in bot thread", MessageFacts("cool, thx", in_bot_thread=True, from_asker=True), S),
    # Elsewhere, nothing unless it is a new post in an auto-answer channel.
    ("plain channel question", MessageFacts("What is LoRA?"), I),
    ("auto channel question", MessageFacts("What is LoRA?", auto_answer=True), A),
    ("auto channel chatter", MessageFacts("good morning all", auto_answer=True), I),
    ("auto channel thanks", MessageFacts("thanks", auto_answer=True), I),
    (
        "auto channel question to a member",
        MessageFacts("what do you think?", auto_answer=True, mentions_others=True),
        I,
    ),
    (
        "forum post",
        MessageFacts("Fine-tuning on one GPU\nI have 24 GB", auto_answer=True, forum_post=True),
        A,
    ),
    ("forum post thanks", MessageFacts("thanks", auto_answer=True, forum_post=True), I),
]


@pytest.mark.parametrize(("case", "facts", "verdict"), RULES, ids=[r[0] for r in RULES])
def test_the_rule(case: str, facts: MessageFacts, verdict: Verdict) -> None:
    assert decide(facts) is verdict, case


@pytest.mark.parametrize(
    "text", ["thanks!", "Thank you so much 🙏", "ok", "👍", "<:yay:1234>", "lol nice", ""]
)
def test_small_talk(text: str) -> None:
    assert is_small_talk(text) and not is_request(text)


@pytest.mark.parametrize(
    "text",
    ["thanks, but why rank 8?", "any article on this?", "Tell me more about BM25", "more on that"],
)
def test_requests(text: str) -> None:
    assert is_request(text) and not is_small_talk(text)


# -- read from real messages (dpytest) ---------------------------------------------------------

LORA = "LoRA freezes the pretrained weights and trains small low-rank matrices [1]."


async def _answer(bot: CuratorBot, fake_openai: FakeOpenAI) -> discord.Message:
    fake_openai.script(LORA)
    config = dpytest.get_config()
    assert bot.user is not None
    await dpytest.message(
        f"<@{bot.user.id}> How does LoRA adapt a model?", text_channel_at(), config.members[0]
    )
    return await latest(text_channel_at(), dpytest.get_message())


async def test_thanks_to_an_answer_gets_a_reaction_and_is_not_logged(
    bot: CuratorBot, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    reactions: list[tuple[int, str]] = []

    async def add_reaction(self: object, channel_id: int, message_id: int, emoji: str) -> None:
        # dpytest's own add_reaction trips over discord.py 2.5's reaction payload.
        reactions.append((message_id, emoji))

    monkeypatch.setattr(backend.FakeHttp, "add_reaction", add_reaction)
    answer = await _answer(bot, fake_openai)
    alice = dpytest.get_config().members[0]
    calls = len(fake_openai.chat_requests)

    thanks = await send_reply("thanks!", answer, alice, text_channel_at())

    assert dpytest.verify().message().nothing()
    assert len(fake_openai.chat_requests) == calls
    assert reactions == [(thanks.id, "👍")]
    logged = bot.services.feedback.questions.since(1)
    assert [q.question for q in logged] == ["How does LoRA adapt a model?"]


async def test_another_member_under_an_answer_is_left_alone(
    bot: CuratorBot, fake_openai: FakeOpenAI
) -> None:
    answer = await _answer(bot, fake_openai)
    bob = dpytest.get_config().members[1]
    calls = len(fake_openai.chat_requests)

    await send_reply("how did you get that to work?", answer, bob, text_channel_at())

    assert dpytest.verify().message().nothing()
    assert len(fake_openai.chat_requests) == calls


async def test_the_askers_follow_up_is_answered(bot: CuratorBot, fake_openai: FakeOpenAI) -> None:
    answer = await _answer(bot, fake_openai)
    alice = dpytest.get_config().members[0]
    fake_openai.script("LoRA memory savings", "It saves about three times the memory [1].")

    await send_reply("And how much memory does it save?", answer, alice, text_channel_at())

    follow = await latest(text_channel_at(), dpytest.get_message())
    assert "three times the memory" in (follow.embeds[0].description or "")


async def test_the_bots_managed_role_counts_as_a_mention(
    bot: CuratorBot, fake_openai: FakeOpenAI
) -> None:
    assert bot.user is not None
    guild = dpytest.get_config().guilds[0]
    role = backend.make_role("Curator", guild)
    # Discord gives a bot's own role tags naming the bot; dpytest cannot, so set them here.
    role.tags = discord.RoleTags({"bot_id": str(bot.user.id)})
    fake_openai.script(LORA)

    await dpytest.message(
        f"<@&{role.id}> How does LoRA adapt a model?",
        text_channel_at(),
        dpytest.get_config().members[0],
    )

    answer = await latest(text_channel_at(), dpytest.get_message())
    assert answer.embeds[0].title == "How does LoRA adapt a model?"
    assert "low-rank matrices" in (answer.embeds[0].description or "")


async def test_a_mentions_title_shows_display_names(
    bot: CuratorBot, fake_openai: FakeOpenAI
) -> None:
    assert bot.user is not None
    bob = dpytest.get_config().members[1]
    fake_openai.script(LORA)

    await dpytest.message(
        f"<@{bot.user.id}> what should <@{bob.id}> read on LoRA?",
        text_channel_at(),
        dpytest.get_config().members[0],
    )

    answer = await latest(text_channel_at(), dpytest.get_message())
    assert answer.embeds[0].title == f"what should @{bob.display_name} read on LoRA?"


async def test_a_follow_up_to_the_second_part_of_a_long_answer_knows_the_asker(
    bot: CuratorBot, fake_openai: FakeOpenAI
) -> None:
    assert bot.user is not None
    paragraphs = [
        f"Point {i}: LoRA keeps the base weights frozen. " * 12 + "[1]" for i in range(14)
    ]
    fake_openai.script("\n\n".join(paragraphs))
    alice = dpytest.get_config().members[0]
    channel = text_channel_at()
    await dpytest.message(f"<@{bot.user.id}> Tell me all about LoRA", channel, alice)
    parts = []
    while not dpytest.verify().message().nothing():
        parts.append(await latest(channel, dpytest.get_message()))
    answer_parts = [p for p in parts if p.embeds]
    assert len(answer_parts) >= 2, "the answer fit in one message; make it longer"
    fake_openai.script("LoRA rank", "A small rank such as 8 is usually enough [1].")

    await send_reply("and which rank should I pick?", answer_parts[-1], alice, channel)

    follow = await latest(channel, dpytest.get_message())
    assert "rank such as 8" in (follow.embeds[0].description or "")
