"""Fixtures for the Discord bot: a real index of the sample articles, the fake OpenAI server,
the bot wired into dpytest, and spec'd interactions for slash commands and buttons."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from unittest.mock import MagicMock

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext.test import backend, factories
from discord.webhook import async_ as webhook_async

import knowledge
from bot.discord.curator_bot import CuratorBot, create_bot
from knowledge.index import KnowledgeIndex
from knowledge.services import Services
from knowledge.settings import Settings
from tests.support.fake_openai import FakeOpenAI, fake_openai  # noqa: F401
from tests.support.settings import make_settings, with_overrides

if TYPE_CHECKING:
    # discord.types is for type checkers only: importing it at run time is circular.
    from discord.types.interactions import MessageComponentInteraction as ComponentPayload
    from discord.types.interactions import ModalSubmitInteraction as ModalSubmitPayload

SAMPLE_DIR = Path(knowledge.__file__).parent / "sample"

# The Discord world start_bot builds has these ids, chosen here instead of drawn by dpytest when
# the bot exists, so a test builds its settings naming them before the bot and its services.
GUILD_ID = 1_100_000_000_000_000_001
GENERAL_ID = 1_100_000_000_000_000_002  # text channel "general"
GAPS_ID = 1_100_000_000_000_000_003  # text channel "gaps"
#: A guild the bot is not in.
OTHER_GUILD_ID = 1_100_000_000_000_000_009


_dpytest_send_message = backend.FakeHttp.send_message


async def _send_keeping_reference(
    self: backend.FakeHttp, channel_id: int, *, params: Any
) -> dict[str, Any]:
    """dpytest's send_message, plus the message_reference Discord keeps on a reply, and the
    allowed_mentions sent (kept on the stored copy, so tests can read who could be pinged)."""
    # dpytest finds the target channel among its caller's locals, so it must be one here too.
    channel = backend._get_higher_locs(1).get("channel")  # noqa: F841
    data: dict[str, Any] = await _dpytest_send_message(self, channel_id, params=params)
    payload: dict[str, Any] = params.payload or {}
    assert backend._cur_config is not None
    stored: list[dict[str, Any]] = [
        m
        for m in backend._cur_config.messages.get(channel_id, [])
        if str(m["id"]) == str(data["id"])
    ]
    for copy in stored:
        copy["allowed_mentions"] = payload.get("allowed_mentions")
    reference = payload.get("message_reference")
    if reference:
        reference = {"channel_id": channel_id, **reference}
        data["message_reference"] = reference
        for copy in stored:
            copy["message_reference"] = reference
        state = backend.get_state()
        message = state._get_message(int(data["id"]))
        if message is not None:
            message.reference = discord.MessageReference.with_state(
                state,
                reference,  # type: ignore[arg-type]
            )
    return data


_dpytest_dict_from_message = factories.dict_from_message


def _dict_keeping_reference(message: discord.Message) -> dict[str, Any]:
    """dpytest's message dict (rebuilt on every edit), with the reply's message_reference."""
    data: dict[str, Any] = _dpytest_dict_from_message(message)
    reference = message.reference
    if reference is not None and reference.message_id is not None:
        data["message_reference"] = {
            "message_id": reference.message_id,
            "channel_id": reference.channel_id,
            "guild_id": reference.guild_id,
        }
    return data


@pytest.fixture(autouse=True)
def replies_keep_their_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot's replies point at the message they answer, as on Discord (dpytest drops it)."""
    monkeypatch.setattr(backend.FakeHttp, "send_message", _send_keeping_reference)
    monkeypatch.setattr(factories, "dict_from_message", _dict_keeping_reference)


@pytest.fixture(scope="session")
def indexed_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding the sample articles, indexed once per test session."""
    root = tmp_path_factory.mktemp("indexed")
    index = KnowledgeIndex(make_settings(root))
    report = index.ingest([str(SAMPLE_DIR)])
    index.close()
    assert report.added >= 10 and not report.failed
    return root


@pytest.fixture
def settings(
    tmp_path: Path,
    indexed_template: Path,
    fake_openai: FakeOpenAI,  # noqa: F811
) -> Settings:
    """Settings on a private copy of the indexed data dir, the LLM being the fake server."""
    data_dir = tmp_path / "data"
    shutil.copytree(indexed_template, data_dir)
    return make_settings(
        data_dir,
        llm={"base_url": fake_openai.base_url, "api_key": None, "retries": 0, "timeout": 5},
        discord={
            "cooldown_seconds": 0,
            "use_threads": False,
            "channels": [],
            "guilds": [],
            "gaps_channel_id": None,
            "moderator_role": "Moderators",
            "admin_role": "Curator Admins",
        },
    )


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    services = Services(settings)
    yield services
    await services.aclose()


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def start_bot(settings: Settings, services: Services, **kwargs: Any) -> CuratorBot:
    """A bot wired into dpytest: guild GUILD_ID, text channels "general" (GENERAL_ID) and "gaps"
    (GAPS_ID), members alice, bob and carol. `services` must be built from `settings`."""
    # One Settings for every part: a bot reading other settings than its services would test
    # a set-up that cannot happen.
    assert services.settings is settings, "build the services from the bot's settings"
    bot = create_bot(settings, services, **kwargs)
    # dpytest resolves mentions from the member cache, which only exists with the members
    # intent; the bot itself never asks for it (see build_intents).
    bot._connection._intents.members = True
    bot._connection.member_cache_flags = discord.MemberCacheFlags.from_intents(bot.intents)
    # What Client.login would do: bind the bot to the running loop (setup_hook is not run).
    await bot._async_setup_hook()
    configure_world(bot)
    # After configure: dpytest replaces the connection state the view store lives on.
    await bot.load_cogs()
    return bot


def configure_world(bot: CuratorBot) -> None:
    """dpytest.configure, with the guild and text channels at the ids above."""
    # dpytest.configure draws every id itself; asked for no guild it sets up the fake backend
    # only, and the world is built here the way it would build it, ids given.
    dpytest.configure(bot, guilds=0, text_channels=0, voice_channels=0, members=0)
    # get_config() hands back the lists dpytest keeps: what is added here is what it lists.
    config = dpytest.get_config()
    state = backend.get_state()
    state.stop_dispatch()  # as in dpytest.configure: no events for the world's creation
    guild = backend.make_guild("Test Guild", id_num=GUILD_ID)
    config.guilds.append(guild)
    for name, channel_id in (("general", GENERAL_ID), ("gaps", GAPS_ID)):
        config.channels.append(backend.make_text_channel(name, guild, id_num=channel_id))
    for number, name in enumerate(("alice", "bob", "carol"), start=1):
        user = backend.make_user(name, f"{number:04}")
        member = backend.make_member(user, guild, nick=f"{name}_nick")
        config.members.append(member)
    assert bot.user is not None
    backend.make_member(bot.user, guild, nick=f"{bot.user.name}_nick")
    state.start_dispatch()


@asynccontextmanager
async def running_bot(settings: Settings, **kwargs: Any) -> AsyncIterator[CuratorBot]:
    """A bot started on `settings` with services built from them, closed on the way out."""
    services = Services(settings)
    try:
        yield await start_bot(settings, services, **kwargs)
    finally:
        await dpytest.empty_queue()
        await services.aclose()


@pytest.fixture
async def bot(settings: Settings, services: Services) -> AsyncIterator[CuratorBot]:
    bot = await start_bot(settings, services)
    yield bot
    await dpytest.empty_queue()
    await services.aclose()


#: make_bot(discord={"gaps_channel_id": GAPS_ID}, clock=...) -> a started bot.
BotFactory = Callable[..., Awaitable[CuratorBot]]


@pytest.fixture
async def make_bot(settings: Settings) -> AsyncIterator[BotFactory]:
    """Starts a bot on `settings` with overrides (groups as dicts), its services built on them.

    For a test that needs other settings than the `bot` fixture's: they are built before the
    bot, so the bot, its cogs and its services all read the same ones.
    """
    async with AsyncExitStack() as stack:

        async def make(*, clock: Callable[[], float] | None = None, **overrides: Any) -> CuratorBot:
            built = with_overrides(settings, **overrides)
            extra = {} if clock is None else {"clock": clock}
            return await stack.enter_async_context(running_bot(built, **extra))

        yield make


@pytest.fixture
def config() -> dpytest.RunnerConfig:
    return dpytest.get_config()


def text_channel_at(index: int = 0) -> discord.TextChannel:
    """One of dpytest's text channels: 0 is "general", 1 is "gaps"."""
    # RunnerConfig lists them as GuildChannel; the ones start_bot asks for are text channels.
    channel = dpytest.get_config().channels[index]
    assert isinstance(channel, discord.TextChannel)
    return channel


def make_role(guild: discord.Guild, name: str, **permissions: bool) -> discord.Role:
    """A guild role with exactly the given permissions (besides the defaults of @everyone)."""
    perms = discord.Permissions.none()
    perms.update(**permissions)
    return backend.make_role(name, guild, permissions=perms.value)


async def give_role(member: discord.Member, role: discord.Role) -> discord.Member:
    await dpytest.add_role(member, role)
    refreshed = member.guild.get_member(member.id)
    assert refreshed is not None
    return refreshed


def stored_message(channel: discord.abc.Messageable, message_id: int) -> dict[str, Any]:
    """The server-side copy of a message in dpytest (edits included)."""
    assert backend._cur_config is not None
    channel_id = channel.id  # type: ignore[attr-defined]
    return next(m for m in backend._cur_config.messages[channel_id] if m["id"] == message_id)


async def latest(channel: discord.TextChannel, message: discord.Message) -> discord.Message:
    """A message as it is now, after the bot's edits."""
    return await channel.fetch_message(message.id)


async def send_reply(
    content: str,
    parent: discord.Message,
    author: discord.Member,
    channel: discord.TextChannel,
) -> discord.Message:
    """A member's reply to `parent` (dpytest has no helper for message references)."""
    # dpytest's overload types the author as BaseUser, but the function also takes a Member
    # (and then fills in the `member` field of a guild message), which is what we pass.
    data = factories.make_message_dict(  # type: ignore[call-overload]
        channel,
        author,
        content=content,
        mentions=backend.find_user_mentions(content, channel.guild),
        guild_id=channel.guild.id,
    )
    data["message_reference"] = {
        "message_id": parent.id,
        "channel_id": channel.id,
        "guild_id": channel.guild.id,
    }
    data["referenced_message"] = stored_message(channel, parent.id)
    state = backend.get_state()
    assert backend._cur_config is not None
    backend._cur_config.messages.setdefault(channel.id, []).append(data)
    state.parse_message_create(data)
    await dpytest.run_all_events()
    message = state._get_message(data["id"])
    assert message is not None
    return message


def custom_ids(message_data: dict[str, Any]) -> list[str]:
    """Every component custom_id in a stored message dict."""
    found: list[str] = []
    for row in message_data.get("components") or []:
        for item in row.get("components", []):
            if "custom_id" in item:
                found.append(item["custom_id"])
    return found


_ids = itertools.count(1)


def assert_no_mentions(allowed: discord.AllowedMentions | None) -> None:
    """The bot must pass AllowedMentions.none() explicitly on everything it sends."""
    assert allowed is not None, "allowed_mentions was not set"
    assert allowed.to_dict() == discord.AllowedMentions.none().to_dict()


@dataclass
class Sent:
    """What the bot said through an interaction."""

    kind: str
    content: str | None = None
    embeds: list[discord.Embed] = field(default_factory=list)
    ephemeral: bool = False
    modal: discord.ui.Modal | None = None
    view: discord.ui.View | None = None


class FakeInteraction:
    """A spec'd Interaction mock: replies are recorded; public follow-ups go to the channel.

    `interaction.response` and `.followup` are MagicMocks with spec_set, so a misspelt call
    fails; non-ephemeral follow-ups are posted to the dpytest channel, so they can be edited
    and fetched like any message.
    """

    def __init__(
        self, bot: CuratorBot, user: discord.abc.User, channel: discord.abc.Messageable
    ) -> None:
        self.sent: list[Sent] = []
        self.done = False
        self.channel = channel
        mock = MagicMock(spec_set=discord.Interaction)
        mock.client = bot
        mock.user = user
        mock.id = next(_ids)
        mock.channel = channel
        guild = getattr(channel, "guild", None)
        mock.guild = guild
        mock.guild_id = guild.id if guild else None
        mock.channel_id = getattr(channel, "id", None)
        mock.command = None
        response = MagicMock(spec_set=discord.InteractionResponse)
        response.is_done.side_effect = lambda: self.done
        response.send_message.side_effect = self._respond
        response.defer.side_effect = self._defer
        response.send_modal.side_effect = self._modal
        mock.response = response
        followup = MagicMock(spec_set=discord.Webhook)
        followup.send.side_effect = self._followup
        mock.followup = followup
        self.mock = mock

    async def _respond(self, content: str | None = None, **kwargs: Any) -> None:
        assert not self.done, "responded twice to one interaction"
        self.done = True
        self.sent.append(
            Sent(
                "response",
                content,
                list(kwargs.get("embeds") or []),
                bool(kwargs.get("ephemeral")),
                view=kwargs.get("view"),
            )
        )
        assert_no_mentions(kwargs.get("allowed_mentions"))

    async def _defer(self, **kwargs: Any) -> None:
        assert not self.done
        self.done = True
        self.sent.append(Sent("defer", ephemeral=bool(kwargs.get("ephemeral"))))

    async def _modal(self, modal: discord.ui.Modal) -> None:
        assert not self.done
        self.done = True
        self.sent.append(Sent("modal", modal=modal))

    async def _followup(
        self, content: str | None = None, *, wait: bool = False, ephemeral: bool = False, **kw: Any
    ) -> discord.Message | None:
        assert self.done, "a follow-up needs a response or a defer first"
        allowed = kw.get("allowed_mentions")
        if content and content.startswith("<@") and allowed is not None and allowed.users:
            # The one ping the bot sends: a queued member whose answer is ready.
            assert allowed.to_dict()["parse"] == [] and not allowed.roles
        else:
            assert_no_mentions(allowed)
        self.sent.append(
            Sent(
                "followup",
                content,
                list(kw.get("embeds") or []),
                ephemeral,
                view=kw.get("view"),
            )
        )
        if ephemeral:
            return self._ephemeral_message() if wait else None
        message = await self.channel.send(content, **kw)
        return message if wait else None

    def _ephemeral_message(self) -> discord.WebhookMessage:
        """An ephemeral follow-up the bot can edit; its edits are recorded as 'edit'."""
        message = MagicMock(spec_set=discord.WebhookMessage)
        message.jump_url = "https://discord.com/channels/ephemeral"

        async def edit(**kwargs: Any) -> None:
            assert_no_mentions(kwargs.get("allowed_mentions"))
            self.sent.append(
                Sent(
                    "edit",
                    kwargs.get("content"),
                    list(kwargs.get("embeds") or []),
                    True,
                    view=kwargs.get("view"),
                )
            )

        message.edit.side_effect = edit
        return cast(discord.WebhookMessage, message)

    @property
    def ephemeral_texts(self) -> list[str]:
        return [s.content or "" for s in self.sent if s.ephemeral]


class RecordingAdapter:
    """Stands in for Discord's interaction-callback endpoint (discord.py's webhook adapter)."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []

    async def create_interaction_response(
        self, interaction_id: int, token: str, *, params: Any, **kwargs: Any
    ) -> dict[str, Any]:
        self.payloads.append(params.payload)
        return {"interaction": {"id": str(interaction_id), "type": params.payload["type"]}}


@pytest.fixture
def interaction_responses() -> Iterator[RecordingAdapter]:
    adapter = RecordingAdapter()
    token = webhook_async.async_context.set(adapter)  # type: ignore[arg-type]
    yield adapter
    webhook_async.async_context.reset(token)


def component_interaction(
    bot: CuratorBot,
    member: discord.Member,
    channel: discord.TextChannel,
    message_data: dict[str, Any],
    custom_id: str,
) -> ComponentPayload:
    """A gateway INTERACTION_CREATE payload for a click on a button of a stored message."""
    assert bot.user is not None
    member_data = factories.dict_from_member(member)
    member_data["permissions"] = "0"
    payload = {
        "id": str(factories.make_id()),
        "application_id": str(bot.user.id),
        "type": 3,
        "token": "interaction-token",
        "version": 1,
        "guild_id": str(channel.guild.id),
        "channel": {"id": str(channel.id), "type": 0},
        "channel_id": str(channel.id),
        "member": member_data,
        "message": message_data,
        "data": {"custom_id": custom_id, "component_type": 2},
        "attachment_size_limit": 8_000_000,
        "locale": "en-US",
    }
    # Only the fields discord.py reads to route a click, not all that the TypedDict lists.
    return cast("ComponentPayload", payload)


def modal_submit_interaction(
    bot: CuratorBot,
    member: discord.Member,
    channel: discord.TextChannel,
    modal_payload: dict[str, Any],
    values: dict[str, str],
) -> ModalSubmitPayload:
    """A gateway payload submitting the modal the bot showed, with text input values."""
    assert bot.user is not None
    member_data = factories.dict_from_member(member)
    member_data["permissions"] = "0"
    rows = []
    for row in modal_payload["components"]:
        inputs = row["components"] if row.get("type") == 1 else [row.get("component", row)]
        for item in inputs:
            rows.append(
                {
                    "type": 1,
                    "components": [
                        {
                            "type": 4,
                            "custom_id": item["custom_id"],
                            "value": values.get(item["custom_id"], ""),
                        }
                    ],
                }
            )
    payload = {
        "id": str(factories.make_id()),
        "application_id": str(bot.user.id),
        "type": 5,
        "token": "interaction-token",
        "version": 1,
        "guild_id": str(channel.guild.id),
        "channel": {"id": str(channel.id), "type": 0},
        "member": member_data,
        "data": {"custom_id": modal_payload["custom_id"], "components": rows},
        "attachment_size_limit": 8_000_000,
        "locale": "en-US",
    }
    # Only the fields discord.py reads to route a modal submit, as for a click.
    return cast("ModalSubmitPayload", payload)
