"""Answering one question on Discord, whichever way it was asked (slash command, mention, reply).

The flow: where-allowed check, cooldown, a place in the answering queue, a placeholder message
that streams the answer by throttled edits, the final embeds with feedback buttons, the
question log, and, for questions the collection does not cover, a post for moderators.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import discord

from bot.discord.conversation import history_for
from bot.discord.errors import describe_error, reply_ephemeral
from bot.discord.feedback_ui import feedback_view
from bot.discord.limits import AnswerSlots, Cooldowns, RateLimitedError
from bot.discord.permissions import ask_refusal
from bot.discord.render import THINKING, OutgoingMessage, render_answer, render_gap, render_queued
from bot.discord.split import truncate
from bot.discord.streaming import ThrottledEditor, collect_answer
from knowledge.feedback import AnswerRecord, new_answer_id
from knowledge.models import Answer, SearchFilters, Turn
from knowledge.question_log import LoggedQuestion

if TYPE_CHECKING:
    from bot.discord.app import CuratorBot

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
EMPTY_QUESTION = "Ask me something after the mention, e.g. “@Curator how do I run a retro?”"


@dataclass
class AskRequest:
    """A question and where it came from."""

    question: str
    user_id: int
    guild_id: int | None
    channel_id: int | None
    parent_channel_id: int | None = None
    filters: SearchFilters | None = None
    history: list[Turn] = field(default_factory=list)
    history_from: discord.Message | None = None
    where: str = ""


def _send_kwargs(out: OutgoingMessage, view: discord.ui.View | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"content": out.content, "allowed_mentions": NO_MENTIONS}
    if out.embeds:
        kwargs["embeds"] = out.embeds
    if view is not None:
        kwargs["view"] = view
    return kwargs


class Posted:
    """A message the bot posted and may edit (a channel message or an interaction follow-up)."""

    def __init__(self, message: discord.Message) -> None:
        self.message = message

    async def edit(self, out: OutgoingMessage, view: discord.ui.View | None = None) -> None:
        await self.message.edit(
            content=out.content, embeds=out.embeds, view=view, allowed_mentions=NO_MENTIONS
        )


class Replier(Protocol):
    """How the flow talks back to the member who asked."""

    async def refuse(self, text: str) -> None: ...

    async def send(self, out: OutgoingMessage, view: discord.ui.View | None = None) -> Posted: ...

    async def after_answer(self, first: Posted, question: str) -> None: ...


class InteractionReplier:
    """Replies to /ask: refusals are ephemeral, the answer is the deferred public response."""

    def __init__(self, interaction: discord.Interaction[Any], use_thread: bool = False) -> None:
        self.interaction = interaction
        self.use_thread = use_thread

    async def refuse(self, text: str) -> None:
        await reply_ephemeral(self.interaction, text)

    async def send(self, out: OutgoingMessage, view: discord.ui.View | None = None) -> Posted:
        if not self.interaction.response.is_done():
            await self.interaction.response.defer(thinking=True)
        message = await self.interaction.followup.send(wait=True, **_send_kwargs(out, view))
        return Posted(message)

    async def after_answer(self, first: Posted, question: str) -> None:
        # Follow-ups then happen in a thread grown from the answer.
        if self.use_thread and isinstance(self.interaction.channel, discord.TextChannel):
            try:
                await first.message.create_thread(name=truncate(question, 100))
            except discord.HTTPException as exc:
                log.warning("could not open a thread for an answer: %s", exc)


class MessageReplier:
    """Replies to a mention or a reply, in the same channel or in a new thread for the question."""

    def __init__(self, message: discord.Message, question: str, use_thread: bool = False) -> None:
        self.message = message
        self.question = question
        self.use_thread = use_thread and isinstance(message.channel, discord.TextChannel)
        self._target: discord.abc.Messageable | None = None

    async def refuse(self, text: str) -> None:
        await self.message.reply(text, allowed_mentions=NO_MENTIONS)

    async def _open_target(self) -> discord.abc.Messageable | None:
        if not self.use_thread:
            return None
        try:
            name = truncate(self.question or "Question", 100)
            return await self.message.create_thread(name=name)
        except discord.HTTPException as exc:
            log.warning("could not open a thread, answering in the channel: %s", exc)
            return None

    async def send(self, out: OutgoingMessage, view: discord.ui.View | None = None) -> Posted:
        if self._target is None:
            self._target = await self._open_target() or self.message.channel
            if self._target is self.message.channel:
                return Posted(await self.message.reply(**_send_kwargs(out, view)))
        return Posted(await self._target.send(**_send_kwargs(out, view)))

    async def after_answer(self, first: Posted, question: str) -> None:
        return None


class AskFlow:
    """Everything between a member's question and the answer on screen."""

    def __init__(self, bot: CuratorBot) -> None:
        self.bot = bot
        settings = bot.settings.discord
        self.cooldowns = Cooldowns(settings.cooldown_seconds, clock=bot.clock)
        self.slots = AnswerSlots(settings.max_concurrent, settings.max_queue, clock=bot.clock)

    async def ask(self, request: AskRequest, replier: Replier) -> Answer | None:
        """Answer the request, or tell the member why not (a reason, or an error id)."""
        settings = self.bot.settings
        reason = ask_refusal(
            request.guild_id, request.channel_id, request.parent_channel_id, settings
        )
        if reason is None and not request.question.strip():
            reason = EMPTY_QUESTION
        try:
            if reason is not None:
                await replier.refuse(reason)
                return None
            self.cooldowns.check_and_start(request.user_id)
        except RateLimitedError as exc:
            await replier.refuse(exc.user_message)
            return None
        post: Posted | None = None
        try:
            async with self.slots.slot() as ticket:
                waiting = OutgoingMessage(content=render_queued(ticket.ahead))
                post = await replier.send(waiting if ticket.ahead else OutgoingMessage(THINKING))
                await ticket.ready()
                if ticket.ahead:
                    await post.edit(OutgoingMessage(THINKING))
                answer, elapsed = await self._generate(request, post)
        except RateLimitedError as exc:
            self.cooldowns.cancel(request.user_id)
            await replier.refuse(exc.user_message)
            return None
        except Exception as exc:
            # A failure is not the member's doing: let them try again straight away.
            self.cooldowns.cancel(request.user_id)
            await self._fail(replier, post, describe_error(exc, "answering a question"))
            return None
        try:
            await self._deliver(request, replier, post, answer, elapsed)
        except Exception as exc:
            await self._fail(replier, post, describe_error(exc, "posting an answer"))
            return None
        return answer

    async def _generate(self, request: AskRequest, post: Posted) -> tuple[Answer, float]:
        clock = self.bot.clock
        started = clock()
        history = list(request.history)
        if request.history_from is not None and self.bot.user is not None:
            limit = self.bot.settings.answers.history_turns
            history = await history_for(request.history_from, self.bot.user.id, limit)
        editor = ThrottledEditor(lambda text: post.edit(OutgoingMessage(text)), clock=clock)
        stream = self.bot.services.answers.stream(request.question, history, request.filters)
        answer = await collect_answer(stream, editor)
        return answer, clock() - started

    async def _fail(self, replier: Replier, post: Posted | None, text: str) -> None:
        try:
            if post is not None:
                await post.edit(OutgoingMessage(text))
            else:
                await replier.refuse(text)
        except discord.HTTPException as exc:
            log.warning("could not tell a member about a failure: %s", exc)

    async def _deliver(
        self,
        request: AskRequest,
        replier: Replier,
        post: Posted,
        answer: Answer,
        elapsed: float,
    ) -> None:
        answer_id = new_answer_id()
        recorded = await self._record(request, answer, answer_id, elapsed)
        view = feedback_view(answer_id) if recorded else None
        messages = render_answer(answer, request.question, elapsed)
        for index, out in enumerate(messages):
            last_view = view if index == len(messages) - 1 else None
            if index == 0:
                await post.edit(out, last_view)
            else:
                await replier.send(out, last_view)
        log.info(
            "answered question %s guild=%s refused=%s mode=%s latency_ms=%.0f",
            answer_id,
            request.guild_id,
            answer.refused,
            answer.mode,
            elapsed * 1000,
        )
        # The answer is on screen: what follows must never replace it with an error.
        try:
            await replier.after_answer(post, request.question)
            if answer.is_gap:
                await self._post_gap(request, answer)
        except Exception:
            log.exception("follow-up work after answer %s failed", answer_id)

    async def _record(
        self, request: AskRequest, answer: Answer, answer_id: str, elapsed: float
    ) -> bool:
        """Store the answer (for ratings) and log the question; False if the store failed."""
        store = self.bot.services.feedback

        def write() -> None:
            user_hash = store.hash_user(request.user_id)
            store.record_answer(
                AnswerRecord(
                    answer_id=answer_id,
                    question=request.question,
                    answer_text=answer.text,
                    chunk_ids=[c.chunk_id for c in answer.citations],
                    guild_id=request.guild_id,
                    asker_hash=user_hash,
                    refused=answer.refused,
                    mode=answer.mode,
                )
            )
            store.questions.record(
                LoggedQuestion(
                    question=request.question,
                    guild_id=request.guild_id,
                    user_hash=user_hash,
                    # The log's refusals are the moderators' content gaps: a filter that
                    # matched nothing is not one.
                    refused=answer.is_gap,
                    mode=answer.mode,
                    latency_ms=elapsed * 1000,
                    answer_id=answer_id,
                )
            )

        try:
            await asyncio.to_thread(write)
        except Exception:
            # The member still gets the answer; only the buttons and the log entry are lost.
            log.exception("could not record answer %s", answer_id)
            return False
        return True

    async def _post_gap(self, request: AskRequest, answer: Answer) -> None:
        channel_id = self.bot.settings.discord.gaps_channel_id
        if channel_id is None:
            return
        channel = self.bot.get_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            log.warning("gaps channel %s is not a channel the bot can see", channel_id)
            return
        for out in render_gap(request.question, request.where, answer.closest):
            try:
                await channel.send(**_send_kwargs(out, None))
            except discord.HTTPException as exc:
                log.warning("could not post to the gaps channel %s: %s", channel_id, exc)
                return
