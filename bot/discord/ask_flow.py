"""Answering one question on Discord, whichever way it was asked (slash command, mention, reply).

The flow: where-allowed check, the channel's scope, cooldown, a place in the answering queue, a
placeholder message that streams the answer by throttled edits (none for an auto-answer, which
posts only once it knows the answer is covered), the final embeds with feedback buttons, the
question log, and, for questions the collection does not cover, a post for moderators.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import discord

from bot.discord.answer_links import AnswerLinks
from bot.discord.conversation import history_for
from bot.discord.failure_replies import describe_error, reply_ephemeral
from bot.discord.feedback_ui import feedback_view
from bot.discord.limits import AnswerSlots, Cooldowns, RateLimitedError
from bot.discord.mentions import NO_MENTIONS, only_user
from bot.discord.permissions import ask_refusal
from bot.discord.render import (
    THINKING,
    OutgoingMessage,
    render_answer,
    render_gap,
    render_queued,
    render_ready,
)
from bot.discord.split import truncate
from bot.discord.streaming import ThrottledEditor, collect_answer
from knowledge.feedback import AnswerRecord, new_answer_id
from knowledge.models import Answer, SearchFilters, Turn
from knowledge.question_log import LoggedQuestion
from knowledge.settings import ChannelScope

if TYPE_CHECKING:
    from bot.discord.curator_bot import CuratorBot

log = logging.getLogger(__name__)

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
    # The question as members read it (mentions as display names), for embed titles.
    title: str = ""
    # An unprompted answer to a new post: nothing is posted unless it is covered (or the
    # settings say to say so).
    auto: bool = False


def _send_kwargs(out: OutgoingMessage, view: discord.ui.View | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"content": out.content, "allowed_mentions": NO_MENTIONS}
    if out.embeds:
        kwargs["embeds"] = out.embeds
    if view is not None:
        kwargs["view"] = view
    return kwargs


def channel_scope(
    scopes: Mapping[int, ChannelScope], channel_id: int | None, parent_id: int | None
) -> ChannelScope | None:
    """The scope of a channel (a thread takes its parent's); None when unscoped."""
    for candidate in (channel_id, parent_id):
        if candidate is not None and candidate in scopes:
            scope = scopes[candidate]
            if scope.topic or scope.publisher:
                return scope
    return None


def scope_for(request: AskRequest, scopes: Mapping[int, ChannelScope]) -> ChannelScope | None:
    """The scope of the channel asked in (a thread takes its parent's); None when unscoped."""
    return channel_scope(scopes, request.channel_id, request.parent_channel_id)


def scoped_filters(
    filters: SearchFilters | None, scope: ChannelScope | None
) -> SearchFilters | None:
    """The member's filters within the channel's scope (the scope wins where both set one)."""
    if scope is None:
        return filters
    merged = filters.model_copy() if filters is not None else SearchFilters()
    if scope.topic:
        merged.topic = scope.topic
    if scope.publisher:
        merged.publisher = scope.publisher
    return merged


def scope_notice(scope: ChannelScope) -> str:
    """The line under an answer saying what the channel's scope limited the search to."""
    return f"Searched only this channel's scope: {scope.label()}."


class Posted:
    """A message the bot posted and may edit (a channel message or an interaction follow-up)."""

    def __init__(self, message: discord.Message | discord.WebhookMessage) -> None:
        self.message = message

    @property
    def jump_url(self) -> str:
        return self.message.jump_url

    async def edit(self, out: OutgoingMessage, view: discord.ui.View | None = None) -> None:
        await self.message.edit(
            content=out.content, embeds=out.embeds, view=view, allowed_mentions=NO_MENTIONS
        )

    async def delete(self) -> None:
        await self.message.delete()


class Replier(Protocol):
    """How the flow talks back to the member who asked."""

    private: bool

    async def refuse(self, text: str) -> None: ...

    async def send(self, out: OutgoingMessage, view: discord.ui.View | None = None) -> Posted: ...

    async def after_answer(self, first: Posted, question: str) -> None: ...

    async def notify(self, user_id: int, first: Posted) -> None: ...


class InteractionReplier:
    """Replies to /ask: refusals are ephemeral; the answer is public, or ephemeral if private."""

    def __init__(
        self, interaction: discord.Interaction[Any], use_thread: bool = False, private: bool = False
    ) -> None:
        self.interaction = interaction
        self.use_thread = use_thread and not private
        self.private = private

    async def refuse(self, text: str) -> None:
        await reply_ephemeral(self.interaction, text)

    async def send(self, out: OutgoingMessage, view: discord.ui.View | None = None) -> Posted:
        if not self.interaction.response.is_done():
            await self.interaction.response.defer(ephemeral=self.private, thinking=True)
        message = await self.interaction.followup.send(
            wait=True, ephemeral=self.private, **_send_kwargs(out, view)
        )
        return Posted(message)

    async def after_answer(self, first: Posted, question: str) -> None:
        # Follow-ups then happen in a thread grown from the answer.
        if self.use_thread and isinstance(self.interaction.channel, discord.TextChannel):
            try:
                await first.message.create_thread(name=truncate(question, 100))
            except discord.HTTPException as exc:
                log.warning("could not open a thread for an answer: %s", exc)

    async def notify(self, user_id: int, first: Posted) -> None:
        if self.private:
            # An ephemeral answer is in the member's own view already; nothing to ping.
            return
        await self.interaction.followup.send(
            render_ready(user_id, first.jump_url), allowed_mentions=only_user(user_id)
        )


class MessageReplier:
    """Replies to a mention or a reply, in the same channel or in a new thread for the question."""

    private = False

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
            # Every part replies to the question, so a reply to any part knows who asked.
            return Posted(await self.message.reply(**_send_kwargs(out, view)))
        return Posted(await self._target.send(**_send_kwargs(out, view)))

    async def after_answer(self, first: Posted, question: str) -> None:
        return None

    async def notify(self, user_id: int, first: Posted) -> None:
        target = self._target or self.message.channel
        await target.send(
            render_ready(user_id, first.jump_url), allowed_mentions=only_user(user_id)
        )


class StreamPages:
    """The messages an answer streams into: the placeholder, then more as the text grows."""

    def __init__(self, first: Posted | None, replier: Replier) -> None:
        self.posts: list[Posted] = [first] if first is not None else []
        self.shown: list[str] = [THINKING] if first is not None else []
        self._replier = replier

    async def show(self, pages: list[str]) -> None:
        """Edit the pages that changed and post the new ones (never more than needed)."""
        if not self.posts:
            return
        for index, page in enumerate(pages):
            if index < len(self.posts):
                if self.shown[index] != page:
                    await self.posts[index].edit(OutgoingMessage(page))
                    self.shown[index] = page
            else:
                self.posts.append(await self._replier.send(OutgoingMessage(page)))
                self.shown.append(page)

    async def finish(self, messages: list[OutgoingMessage], view: discord.ui.View | None) -> Posted:
        """Replace the progress with the final messages (view under the last); the first one."""
        posted: list[Posted] = []
        for index, out in enumerate(messages):
            last_view = view if index == len(messages) - 1 else None
            if index < len(self.posts):
                await self.posts[index].edit(out, last_view)
                posted.append(self.posts[index])
            else:
                posted.append(await self._replier.send(out, last_view))
        for extra in self.posts[len(messages) :]:
            # The final embeds hold more than a progress message; drop the spare ones.
            try:
                await extra.delete()
            except discord.HTTPException as exc:
                log.warning("could not delete a progress message: %s", exc)
        self.posts = posted
        return posted[0]


class AskFlow:
    """Everything between a member's question and the answer on screen."""

    def __init__(self, bot: CuratorBot) -> None:
        self.bot = bot
        settings = bot.settings.discord
        self.cooldowns = Cooldowns(settings.cooldown_seconds, clock=bot.clock)
        self.slots = AnswerSlots(settings.max_concurrent, settings.max_queue, clock=bot.clock)
        self.links = AnswerLinks(bot.services.state)

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
                if not request.auto:
                    await replier.refuse(reason)
                return None
            self.cooldowns.check_and_start(request.user_id)
        except RateLimitedError as exc:
            if not request.auto:
                await replier.refuse(exc.user_message)
            return None
        scope = scope_for(request, settings.discord.channel_scopes)
        request.filters = scoped_filters(request.filters, scope)
        pages: StreamPages | None = None
        queued = False
        try:
            async with self.slots.slot() as ticket:
                queued = ticket.ahead > 0
                first: Posted | None = None
                if not request.auto:
                    waiting = OutgoingMessage(content=render_queued(ticket.ahead))
                    first = await replier.send(waiting if queued else OutgoingMessage(THINKING))
                pages = StreamPages(first, replier)
                await ticket.ready()
                if queued and first is not None:
                    await first.edit(OutgoingMessage(THINKING))
                answer, elapsed = await self._generate(request, pages)
        except RateLimitedError as exc:
            self.cooldowns.cancel(request.user_id)
            if not request.auto:
                await replier.refuse(exc.user_message)
            return None
        except Exception as exc:
            # A failure is not the member's doing: let them try again straight away.
            self.cooldowns.cancel(request.user_id)
            if request.auto:
                log.exception("auto-answer failed")
                return None
            await self._fail(replier, pages, describe_error(exc, "answering a question"))
            return None
        # The scope is the channel's, not the answer's: a line under it, not a notice code.
        notes = [scope_notice(scope)] if scope is not None else []
        try:
            await self._deliver(request, replier, pages, answer, elapsed, queued, notes)
        except Exception as exc:
            await self._fail(replier, pages, describe_error(exc, "posting an answer"))
            return None
        return answer

    async def _generate(self, request: AskRequest, pages: StreamPages) -> tuple[Answer, float]:
        clock = self.bot.clock
        started = clock()
        history = list(request.history)
        if request.history_from is not None and self.bot.user is not None:
            limit = self.bot.settings.answers.history_turns
            chars = self.bot.settings.discord.context_chars
            history = await history_for(request.history_from, self.bot.user.id, limit, chars)
        editor = ThrottledEditor(pages.show, clock=clock) if pages.posts else None
        stream = self.bot.services.answers.stream(request.question, history, request.filters)
        answer = await collect_answer(stream, editor)
        return answer, clock() - started

    async def _fail(self, replier: Replier, pages: StreamPages | None, text: str) -> None:
        try:
            if pages is not None and pages.posts:
                await pages.finish([OutgoingMessage(text)], None)
            else:
                await replier.refuse(text)
        except discord.HTTPException as exc:
            log.warning("could not tell a member about a failure: %s", exc)

    async def _deliver(
        self,
        request: AskRequest,
        replier: Replier,
        pages: StreamPages | None,
        answer: Answer,
        elapsed: float,
        queued: bool,
        notes: Sequence[str] = (),
    ) -> None:
        answer_id = new_answer_id()
        settings = self.bot.settings.discord
        silent = request.auto and answer.refused and settings.auto_answer_uncovered == "silent"
        recorded = await self._record(request, answer, answer_id, elapsed)
        first: Posted | None = None
        if not silent:
            view = feedback_view(answer_id) if recorded else None
            messages = render_answer(answer, request.title or request.question, elapsed, notes)
            if pages is None:
                pages = StreamPages(None, replier)
            first = await pages.finish(messages, view)
        log.info(
            "answered question",
            extra={
                "answer_id": answer_id,
                "guild_id": request.guild_id,
                "refused": answer.refused,
                "refusal": answer.refusal.value if answer.refusal else None,
                "mode": answer.mode,
                "latency_ms": round(elapsed * 1000),
            },
        )
        # The answer is on screen: what follows must never replace it with an error.
        try:
            if first is not None:
                if not replier.private:
                    await asyncio.to_thread(self.links.record, answer_id, first.jump_url)
                await replier.after_answer(first, request.question)
                if queued:
                    await replier.notify(request.user_id, first)
            if answer.is_gap:
                where = request.where
                if (
                    first is not None
                    and not replier.private
                    and not request.where.startswith("https://")
                ):
                    where = first.jump_url
                await self._post_gap(request, answer, where)
        except Exception:
            log.exception("follow-up work after an answer failed", extra={"answer_id": answer_id})

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
                    # A content gap for the moderators' report: a filter that matched
                    # nothing is a refusal but not a gap.
                    gap=answer.is_gap,
                    mode=answer.mode,
                    latency_ms=elapsed * 1000,
                    answer_id=answer_id,
                )
            )

        try:
            await asyncio.to_thread(write)
        except Exception:
            # The member still gets the answer; only the buttons and the log entry are lost.
            log.exception("could not record an answer", extra={"answer_id": answer_id})
            return False
        return True

    async def _post_gap(self, request: AskRequest, answer: Answer, where: str) -> None:
        channel_id = self.bot.settings.discord.gaps_channel_id
        if channel_id is None:
            return
        channel = await self.bot.postable_channel(channel_id, "gaps")
        if channel is None:
            return
        question = request.title or request.question
        for out in render_gap(question, where, answer.closest):
            try:
                await channel.send(**_send_kwargs(out, None))
            except discord.HTTPException as exc:
                log.warning(
                    "could not post to the gaps channel: %s", exc, extra={"channel_id": channel_id}
                )
                return
