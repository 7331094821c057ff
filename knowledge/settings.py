"""Configuration: one `Settings` with nested groups, from CURATOR_* variables and .env."""

from __future__ import annotations

import datetime as dt
import difflib
import json
import logging
import os
import re
from collections.abc import Mapping
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, TypeGuard, TypeVar, Union, get_args, get_origin
from zoneinfo import ZoneInfo

from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from knowledge.errors import ConfigError

log = logging.getLogger(__name__)

PREFIX = "CURATOR_"
NESTED_DELIMITER = "__"
#: Discord ids are snowflakes: positive 64-bit integers.
_SNOWFLAKE_MAX = 2**63 - 1
DiscordId = Annotated[int, Field(ge=1, le=_SNOWFLAKE_MAX)]
LogFormat = Literal["text", "json"]


def _split_list(value: object) -> object:
    """Accept a JSON list or a comma/newline separated string for list settings."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]
    return value


def _none_word(value: object) -> object:
    """'none' (any case) -> '': an empty variable means the default, so 'none' says none."""
    if isinstance(value, str) and value.strip().lower() == "none":
        return ""
    return value


_HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _clock_time(value: object) -> object:
    """'HH:MM' (24-hour) -> datetime.time; other shapes ('9:00', '0900', seconds) are refused."""
    if isinstance(value, str):
        match = _HH_MM.match(value.strip())
        if match is None:
            raise ValueError(f"expected a 24-hour time as HH:MM, got {value!r}")
        return dt.time(int(match.group(1)), int(match.group(2)))
    if isinstance(value, dt.time) and value.tzinfo is not None:
        raise ValueError("give the time without a timezone; the timezone is its own setting")
    return value


#: The deprecation notices of the settings being loaded, while load_settings collects them.
_collected_notices: ContextVar[list[str] | None] = ContextVar("_collected_notices", default=None)


def _notice(message: str) -> None:
    """Log a deprecated-but-accepted value, and keep it for `Settings.notices` (doctor shows it)."""
    log.warning(message)
    collected = _collected_notices.get()
    if collected is not None:
        collected.append(message)


class SettingsGroup(BaseModel):
    """A group of settings: unknown keys are refused and every assignment is validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ChromaSettings(SettingsGroup):
    host: str | None = Field(
        default=None,
        description="Chroma server host. Unset: an in-process PersistentClient under the data dir.",
    )
    port: int = Field(default=8000, ge=1, le=65535, description="Chroma server port.")
    ssl: bool = Field(default=False, description="Use HTTPS to reach the Chroma server.")
    collection_prefix: str = Field(
        default="curator",
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,30}$",
        description="Prefix of collection names; the embedder's name is appended.",
    )
    timeout: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="Seconds to wait for the Chroma server to answer one request.",
    )
    store_documents: bool = Field(
        default=False,
        description="Also keep chunk text in Chroma, for other tools reading the collection "
        "(the catalog already holds it; Chroma's full-text index halves ingest speed).",
    )

    @property
    def server_url(self) -> str | None:
        """Base URL of the Chroma server, or None for the in-process store."""
        if not self.host:
            return None
        return f"http{'s' if self.ssl else ''}://{self.host}:{self.port}"

    @property
    def heartbeat_url(self) -> str | None:
        """The server's liveness endpoint, which answers without authentication."""
        return f"{self.server_url}/api/v2/heartbeat" if self.server_url else None


class EmbeddingSettings(SettingsGroup):
    provider: Literal["auto", "onnx", "openai", "hash"] = Field(
        default="auto",
        description="auto: all-MiniLM-L6-v2 (ONNX) when its model is available, else hash.",
    )
    model: str = Field(
        default="text-embedding-3-small", description="Model name for the openai provider."
    )
    model_dir: Path | None = Field(
        default=None,
        description="Folder with model.onnx and tokenizer.json (default: Chroma's model cache).",
    )
    download_timeout: float = Field(
        default=15.0,
        ge=0,
        le=3600,
        description="Seconds auto/onnx may spend downloading the model.",
    )
    batch_size: int = Field(default=32, ge=1, le=1024, description="Texts per embedding batch.")
    threads: int = Field(
        default=0,
        ge=0,
        le=256,
        description="CPU cores the onnx embedder uses for batches (0: every core it may use).",
    )
    hash_dim: int = Field(
        default=384, ge=16, le=4096, description="Dimensions of the hash embedder."
    )


class KnowledgeSettings(SettingsGroup):
    sources: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Paths and URLs that `curator reindex` reads (comma separated or JSON list).",
    )
    allow_private_urls: bool = Field(
        default=False,
        description="Allow fetching URLs on private, loopback and link-local addresses.",
    )
    max_article_bytes: int = Field(
        default=2_000_000,
        ge=1_000,
        le=1_000_000_000,
        description="Largest article file or page accepted, in bytes.",
    )
    fetch_timeout: float = Field(
        default=20.0, gt=0, le=600, description="Seconds to fetch one URL."
    )
    chunk_tokens: int = Field(
        default=400, ge=64, le=2000, description="Target chunk size in tokens (capped by embedder)."
    )
    chunk_overlap: int = Field(default=40, ge=0, le=200, description="Token overlap of chunks.")
    refresh_minutes: int = Field(
        default=60,
        ge=0,
        le=7 * 24 * 60,
        description="Minutes between scheduled re-reads of the sources by the bot and "
        "`curator reindex --watch`, also run right before each daily digest (0: off).",
    )

    _split = field_validator("sources", mode="before")(_split_list)


class RetrievalSettings(SettingsGroup):
    k: int = Field(default=8, ge=1, le=100, description="Chunks retrieved per question.")
    per_article: int = Field(
        default=3, ge=0, le=100, description="Most slots one article may fill (0: no limit)."
    )
    fusion: Literal["zscore", "rrf"] = Field(
        default="zscore",
        description="How dense and BM25 rankings are fused: z-scored scores, or reciprocal ranks.",
    )
    dense_weight: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Weight of the dense ranking in the fusion (unset: the embedder's own).",
    )
    rrf_k: int = Field(default=60, ge=1, le=10_000, description="Reciprocal-rank-fusion constant.")
    candidates: int = Field(
        default=50, ge=1, le=1000, description="Candidates each retriever contributes to fusion."
    )


class LLMSettings(SettingsGroup):
    api_key: SecretStr | None = Field(
        default=None,
        description="API key of an OpenAI-compatible endpoint (OPENAI_API_KEY is honoured).",
    )
    base_url: str | None = Field(
        default=None,
        description="Base URL of an OpenAI-compatible endpoint (OPENAI_BASE_URL is honoured).",
    )
    model: str = Field(default="gpt-4o-mini", description="Chat model name.")
    temperature: float = Field(default=0.2, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(
        default=700, ge=16, le=100_000, description="Longest answer, in tokens."
    )
    timeout: float = Field(default=30.0, gt=0, le=3600, description="Seconds for one LLM request.")
    retries: int = Field(default=2, ge=0, le=10, description="Retries on 429/5xx/timeouts.")
    reply_deadline: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="Most seconds one whole reply may take, streamed or not; then it stops.",
    )
    max_reply_chars: int = Field(
        default=8_000,
        ge=200,
        le=200_000,
        description="Longest reply kept, in characters; the model is stopped beyond it.",
    )

    @property
    def configured(self) -> bool:
        """An LLM is used when a key or a base URL (e.g. a keyless local server) is set."""
        return self.api_key is not None or bool(self.base_url)


class AnswerSettings(SettingsGroup):
    min_relevance: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Refuse below this top relevance; unset: the calibrated value per embedder.",
    )
    max_question_chars: int = Field(
        default=1_500,
        ge=50,
        le=100_000,
        description="Longer questions are truncated, with a notice.",
    )
    history_turns: int = Field(default=6, ge=0, le=50, description="Earlier turns kept.")


class ChannelScope(SettingsGroup):
    """What questions asked in one channel (and its threads) may search."""

    topic: str | None = Field(default=None, description="Only articles on this topic.")
    publisher: str | None = Field(default=None, description="Only articles from this publisher.")

    def label(self) -> str:
        """'topic llm, publisher arXiv' for the notice under an answer."""
        parts = [
            f"topic {self.topic}" if self.topic else "",
            f"publisher {self.publisher}" if self.publisher else "",
        ]
        return ", ".join(p for p in parts if p)


class DiscordSettings(SettingsGroup):
    token: SecretStr | None = Field(default=None, description="Bot token.")
    dev_guild_id: DiscordId | None = Field(
        default=None, description="Sync slash commands to this guild only (fast, for development)."
    )
    moderator_role: str | None = Field(default=None, description="Role name or id of moderators.")
    admin_role: str | None = Field(default=None, description="Role name or id of admins.")
    channels: Annotated[list[DiscordId], NoDecode] = Field(
        default_factory=list, description="Channel ids where the bot answers (empty: all)."
    )
    guilds: Annotated[list[DiscordId], NoDecode] = Field(
        default_factory=list, description="Guild ids the bot serves (empty: all)."
    )
    allow_dms: bool = Field(default=False, description="Answer direct messages.")
    mention_trigger: bool = Field(
        default=True, description="Answer mentions and replies (needs the message content intent)."
    )
    use_threads: bool = Field(default=False, description="Answer in a thread per question.")
    cooldown_seconds: float = Field(default=10.0, ge=0, le=86_400, description="Per-user cooldown.")
    max_concurrent: int = Field(default=4, ge=1, le=256, description="Answers generated at once.")
    max_queue: int = Field(
        default=20, ge=0, le=10_000, description="Questions waiting beyond that."
    )
    gaps_channel_id: DiscordId | None = Field(
        default=None, description="Channel where unanswered questions are posted for moderators."
    )
    log_channel_id: DiscordId | None = Field(
        default=None,
        description="Admin channel where scheduled refreshes that changed or failed are reported.",
    )
    context_chars: int = Field(
        default=4_000,
        ge=200,
        le=50_000,
        description="Most characters of a thread or reply chain read as an answer's history.",
    )
    auto_answer_channels: Annotated[list[DiscordId], NoDecode] = Field(
        default_factory=list,
        description="Forum or text channel ids where new posts are answered without a mention.",
    )
    auto_answer_uncovered: Literal["silent", "say"] = Field(
        default="silent",
        description="A new post the collection does not cover: stay silent, or say so.",
    )
    channel_scopes: dict[DiscordId, ChannelScope] = Field(
        default_factory=dict,
        description='Channel id -> {"topic": ..., "publisher": ...}: what questions there search '
        "(JSON object).",
    )
    small_talk_reaction: Annotated[str, BeforeValidator(_none_word)] = Field(
        default="👍",
        max_length=64,
        description="Reaction to thanks and small talk addressed to the bot (none: no reaction).",
    )

    _split = field_validator("channels", "guilds", "auto_answer_channels", mode="before")(
        _split_list
    )

    @field_validator("channel_scopes", mode="before")
    @classmethod
    def _publisher_once_source(cls, value: Any) -> Any:
        """Read "source", the publisher's key before it was renamed, as "publisher" (with a
        notice naming the channel); any other unknown key is still refused."""
        if not isinstance(value, Mapping):
            return value
        scopes = dict(value)
        for channel, scope in value.items():
            if not isinstance(scope, (Mapping, BaseModel)):
                raise ValueError(
                    f'channel {channel}: expected {{"topic": ..., "publisher": ...}}, '
                    f"got {scope!r:.60}"
                )
            if not isinstance(scope, Mapping) or "source" not in scope:
                continue
            fields = dict(scope)
            old = fields.pop("source")
            if "publisher" in fields:
                raise ValueError(
                    f'channel {channel}: give "publisher" only: "source" is its old name'
                )
            _notice(
                f"{PREFIX}DISCORD{NESTED_DELIMITER}CHANNEL_SCOPES: channel {channel}: "
                '"source" is now "publisher"; rename the key (it is still read as the publisher '
                "for now)"
            )
            scopes[channel] = {**fields, "publisher": old}
        return scopes


class DigestSettings(SettingsGroup):
    time: Annotated[dt.time, BeforeValidator(_clock_time)] = Field(
        default=dt.time(9, 0), description="Daily post time, HH:MM (24-hour)."
    )
    timezone: ZoneInfo = Field(
        default=ZoneInfo("UTC"), description="IANA timezone of the digest time."
    )
    channel_id: DiscordId | None = Field(
        default=None, description="Channel the daily digest goes to."
    )
    post_empty: bool = Field(default=True, description="Post 'nothing new today' on empty days.")


class Settings(BaseSettings):
    """Everything Curator reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="CURATOR_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        # `X=` means unset, in the environment and in .env alike: .env.example's lines are
        # written that way, to be uncommented and filled in.
        env_ignore_empty=True,
        # Unknown CURATOR_* variables are caught by `unknown_variables` with a suggestion;
        # other variables in .env (OPENAI_API_KEY, compose's own) are not Curator's business.
        dotenv_filtering="only_existing",
        extra="forbid",
        validate_assignment=True,
        populate_by_name=True,
    )

    data_dir: Path = Field(default=Path("./data"), description="Store, indexes and state.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Logging level."
    )
    log_format: LogFormat = Field(
        default="text",
        description="Log lines as text (fields as key=value after the message) or one JSON "
        "object per line.",
    )
    chroma: ChromaSettings = Field(default_factory=ChromaSettings)
    embeddings: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    knowledge: KnowledgeSettings = Field(default_factory=KnowledgeSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    answers: AnswerSettings = Field(default_factory=AnswerSettings)
    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)

    _notices: tuple[str, ...] = PrivateAttr(default=())

    @property
    def notices(self) -> tuple[str, ...]:
        """Deprecated values load_settings accepted, one message each naming its variable."""
        return self._notices

    @model_validator(mode="after")
    def _keep_notices(self) -> Settings:
        # The groups' validators ran first and noted what load_settings is collecting.
        collected = _collected_notices.get()
        if collected:
            self._notices = tuple(collected)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The usual sources, then OPENAI_API_KEY / OPENAI_BASE_URL below every CURATOR_ one."""
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            file_secret_settings,
            _StandardOpenAIVariables(settings_cls),
        )

    @field_validator("data_dir")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        # "~/curator" names the home folder for every reader (the bot, the CLI and doctor
        # alike), never a folder called "~".
        return value.expanduser()


SettingsModel = TypeVar("SettingsModel", bound=BaseModel)


class _StandardOpenAIVariables(PydanticBaseSettingsSource):
    """OPENAI_API_KEY and OPENAI_BASE_URL fill `llm.api_key` / `llm.base_url` left unset, so
    existing Ollama/vLLM set-ups need no renaming; the CURATOR_LLM__* variables (and values
    given in code, such as with_overrides' `api_key=None`) win, being read first."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ gives every value at once

    def __call__(self) -> dict[str, Any]:
        llm = {
            key: os.environ[variable]
            for key, variable in (("api_key", "OPENAI_API_KEY"), ("base_url", "OPENAI_BASE_URL"))
            if os.environ.get(variable)
        }
        return {"llm": llm} if llm else {}


class InvalidSettings(ConfigError):
    """Settings that cannot be loaded: one problem per variable, each naming it."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("Invalid configuration: " + "; ".join(problems))
        self.problems = problems


#: What one entry of a dict setting is called in messages ("channel 123"); others say 'key "x"'.
_ENTRY_NOUNS: dict[tuple[str, ...], str] = {("discord", "channel_scopes"): "channel"}
#: The prefixes pydantic puts before the message of a ValueError / assert in our own validators.
_VALIDATOR_PREFIXES = {"value_error": "Value error, ", "assertion_error": "Assertion failed, "}


def _unwrapped(annotation: Any) -> Any:
    """`annotation` without Annotated[...] and without `| None`: list[int] for
    Annotated[list[int], NoDecode] | None."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, UnionType):
            options = [a for a in get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation


def _is_group(annotation: Any) -> TypeGuard[type[BaseModel]]:
    """Whether `annotation` is a settings group (a model nested in the settings)."""
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _split_loc(
    loc: tuple[int | str, ...],
) -> tuple[tuple[str, ...], tuple[int | str, ...], Any]:
    """(the fields naming the variable, the parts inside its value, the variable's type).

    ("discord", "channel_scopes", "123", "topc") -> (("discord", "channel_scopes"),
    ("123", "topc"), dict[...]): a dict or list setting is one variable holding JSON, and a
    key no group has (("discord", "tokn")) is inside the group's own JSON variable."""
    model: type[BaseModel] = Settings
    path: list[str] = []
    for i, part in enumerate(loc):
        info = model.model_fields.get(part) if isinstance(part, str) else None
        if info is None:
            return tuple(path), loc[i:], model
        path.append(str(part))
        annotation = _unwrapped(info.annotation)
        if not _is_group(annotation):
            return tuple(path), loc[i + 1 :], annotation
        model = annotation
    return tuple(path), (), model


def _step(annotation: Any, part: int | str) -> Any:
    """The type one loc `part` further inside a value of type `annotation` (None: unknown)."""
    annotation = _unwrapped(annotation)
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is dict and len(args) == 2:
        return args[1]
    if origin in (list, set, frozenset, tuple) and args:
        return args[0]
    if _is_group(annotation) and isinstance(part, str) and part in annotation.model_fields:
        return annotation.model_fields[part].annotation
    return None


def _inside_words(
    path: tuple[str, ...], inside: tuple[int | str, ...], annotation: Any, value: object
) -> tuple[list[str], Any]:
    """Each loc part inside a JSON value as words ('channel 123', 'item 2', 'key "topic"'),
    and the type the last part leads to."""
    words: list[str] = []
    for position, part in enumerate(inside, start=1):
        container = _unwrapped(annotation)
        if part == "[key]":
            words[-1:] = [f"{words[-1]} (the key)" if words else "a key"]
            continue
        if get_origin(container) is dict:
            noun = _ENTRY_NOUNS.get(path) if len(words) == 0 else None
            words.append(f"{noun} {part}" if noun else f'key "{part}"')
        elif isinstance(part, int):
            # The bad item itself, when short: "10, eleven" has no brackets to count.
            shown = repr(value) if position == len(inside) and isinstance(value, str | int) else ""
            shown = f" ({shown})" if 0 < len(shown) <= 40 else ""
            words.append(f"item {part + 1}{shown}")
        else:
            words.append(f'key "{part}"')
        annotation = _step(container, part)
    return words, annotation


def _message(err: ErrorDetails) -> str:
    """pydantic's message, without the prefix it puts before our own validators' words."""
    return err["msg"].removeprefix(_VALIDATOR_PREFIXES.get(err["type"], ""))


def _problem(err: ErrorDetails, within: tuple[str, ...] = ()) -> str:
    """One validation error as 'CURATOR_VARIABLE: where inside its JSON: what is wrong'.

    `within` is the group the error's loc starts in (("llm",) for an LLMSettings)."""
    path, inside, annotation = _split_loc((*within, *err["loc"]))
    if not path:  # a key Settings itself lacks (only given in code): name it as its variable
        if err["type"] == "extra_forbidden":
            return _not_a_setting(PREFIX + str(inside[0]).upper())
        path, inside = (str(inside[0]),), inside[1:]
    variable = PREFIX + NESTED_DELIMITER.join(p.upper() for p in path)
    message = _message(err)
    if err["type"] == "extra_forbidden" and inside:
        unknown = str(inside[-1])
        words, owner = _inside_words(path, inside[:-1], annotation, err.get("input"))
        owner = _unwrapped(owner)
        known = list(owner.model_fields) if _is_group(owner) else []
        nearest = difflib.get_close_matches(unknown, known, n=1, cutoff=0.6)
        hint = f' (did you mean "{nearest[0]}"?)' if nearest else ""
        message = f'unknown key "{unknown}"{hint}'
    else:
        words, _ = _inside_words(path, inside, annotation, err.get("input"))
    return ": ".join([variable, *words, message])


def setting_variables(model: type[BaseModel] = Settings, prefix: str = PREFIX) -> list[str]:
    """Every CURATOR_* variable the settings read: each field, and each group as a whole (JSON)."""
    names: list[str] = []
    for name, info in model.model_fields.items():
        variable = f"{prefix}{name.upper()}"
        names.append(variable)
        if _is_group(info.annotation):
            names += setting_variables(info.annotation, variable + NESTED_DELIMITER)
    return names


def _decodes_json(info: FieldInfo) -> bool:
    """Whether the settings parse this field's variable as JSON (groups, dicts, lists...)."""
    if any(m is NoDecode or isinstance(m, NoDecode) for m in info.metadata):
        return False
    annotation = info.annotation
    options = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else ()
    for option in options or (annotation,):
        origin = get_origin(option) or option
        if origin in (dict, list, set, frozenset, tuple) or _is_group(origin):
            return True
    return False


def json_variables(model: type[BaseModel] = Settings, prefix: str = PREFIX) -> list[str]:
    """The CURATOR_* variables whose value is read as JSON: each group, and dict fields."""
    names: list[str] = []
    for name, info in model.model_fields.items():
        variable = f"{prefix}{name.upper()}"
        if _decodes_json(info):
            names.append(variable)
        if _is_group(info.annotation):
            names += json_variables(info.annotation, variable + NESTED_DELIMITER)
    return names


def undecodable_json(environ: Mapping[str, str | None]) -> list[str]:
    """One message per variable in `environ` read as JSON whose value does not decode.

    pydantic-settings would raise a SettingsError naming only the group; this names the variable
    and where the JSON goes wrong. Empty values are unset, so they are not decoded."""
    read_as_json = set(json_variables())
    problems = []
    for name, value in sorted(environ.items()):
        if name.upper() not in read_as_json or not value:
            continue
        try:
            json.loads(value)
        except ValueError as exc:
            problems.append(f"{name}: not valid JSON ({exc}); write {_json_example(name)}")
    return problems


def _json_example(variable: str) -> str:
    """How to write `variable` right: an example, or the one-variable-per-field alternative."""
    upper = variable.upper()
    if upper == f"{PREFIX}DISCORD{NESTED_DELIMITER}CHANNEL_SCOPES":
        return 'e.g. {"123456789012345678": {"topic": "llm"}} (JSON, with double quotes)'
    return (
        'a JSON object such as {"field": "value"} (double quotes), or set each field as '
        f"{upper}{NESTED_DELIMITER}<FIELD>"
    )


def unknown_variables(environ: Mapping[str, str | None]) -> list[str]:
    """One message per CURATOR_* name in `environ` that no setting reads, with the nearest name.

    Names are compared case-insensitively, as the settings read them.
    """
    known = set(setting_variables())
    return [
        _not_a_setting(name)
        for name in sorted(environ)
        if name.upper().startswith(PREFIX) and name.upper() not in known
    ]


def _not_a_setting(name: str) -> str:
    """'CURATOR_X is not a setting: did you mean CURATOR_Y?', or where to look if none is near."""
    nearest = difflib.get_close_matches(name.upper(), setting_variables(), n=1, cutoff=0.6)
    hint = f": did you mean {nearest[0]}?" if nearest else " (see .env.example)"
    return f"{name} is not a setting{hint}"


def _dotenv_variables(env_file: object) -> dict[str, str | None]:
    """The assignments of the .env file settings would read, or {} when there is none."""
    if not isinstance(env_file, str | os.PathLike) or not Path(env_file).is_file():
        return {}
    return dotenv_values(env_file, encoding=Settings.model_config.get("env_file_encoding"))


def load_settings(**overrides: Any) -> Settings:
    """Build settings; an unknown CURATOR_* variable or an invalid value raises ConfigError
    naming the variable."""
    env_file = overrides.get("_env_file", Settings.model_config.get("env_file"))
    dotenv = _dotenv_variables(env_file)
    problems = unknown_variables(dict(os.environ))
    problems += [f"{problem} (in {env_file})" for problem in unknown_variables(dotenv)]
    problems += undecodable_json(dict(os.environ))
    problems += [f"{problem} (in {env_file})" for problem in undecodable_json(dotenv)]
    if problems:
        raise InvalidSettings(problems)
    notices: list[str] = []
    collecting = _collected_notices.set(notices)
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise InvalidSettings([_problem(err) for err in exc.errors()]) from exc
    except SettingsError as exc:
        # A value pydantic-settings could not decode that the check above did not foresee:
        # still a message, never a traceback. Its text names the group ("field \"discord\"").
        raise InvalidSettings([_settings_error_problem(exc)]) from exc
    finally:
        _collected_notices.reset(collecting)
    return settings


def _settings_error_problem(exc: SettingsError) -> str:
    """'CURATOR_DISCORD (or one of its CURATOR_DISCORD__* variables): <cause>'."""
    found = re.search(r'field "(\w+)"', str(exc))
    group = f"{PREFIX}{found.group(1).upper()}" if found else "a CURATOR_* variable"
    cause = exc.__cause__ or exc
    where = " in .env" if "DotEnv" in str(exc) else ""
    return (
        f"{group} (or one of its {group}{NESTED_DELIMITER}* variables{where}) cannot be "
        f"read: {cause}"
    )


def merged(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `overrides` on top; nested mappings (settings groups) merge key by key."""
    result = dict(base)
    for key, value in overrides.items():
        current = result.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            result[key] = merged(current, value)
        else:
            result[key] = value
    return result


def with_overrides(settings: SettingsModel, **overrides: Any) -> SettingsModel:
    """A new, validated copy of `settings` (a Settings or one group) with `overrides` merged
    on top, groups as dicts: `with_overrides(s, llm={"api_key": None}, data_dir=path)`.

    Use it instead of `model_copy(update=...)`, which skips validation. Every value comes from
    `settings` or `overrides`, never from the environment (a key set to None stays None). An
    invalid value or unknown key raises InvalidSettings naming its variable.
    """
    # model_dump keeps typed values (SecretStr, ZoneInfo, time), which validate back as they are.
    values = merged(settings.model_dump(), overrides)
    model = type(settings)
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        group = _group_name(model)
        raise InvalidSettings([_problem(err, group) for err in exc.errors()]) from exc


def _group_name(model: type[BaseModel]) -> tuple[str, ...]:
    """Where a settings group sits in Settings: ("llm",) for LLMSettings, () for Settings."""
    for name, info in Settings.model_fields.items():
        if info.annotation is model:
            return (name,)
    return ()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once on first use."""
    return load_settings()
