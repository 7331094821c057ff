"""Settings refuse mistakes: unknown variables, unknown keys, out-of-range values, bad times."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import BaseModel, ValidationError

from knowledge.errors import ConfigError
from knowledge.settings import (
    DigestSettings,
    InvalidSettings,
    RetrievalSettings,
    Settings,
    SettingsGroup,
    load_settings,
    setting_variables,
    unknown_variables,
)
from tests.support.settings import make_settings, with_overrides


def groups() -> list[type[BaseModel]]:
    """Every settings group Settings holds."""
    found = []
    for info in Settings.model_fields.values():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found.append(annotation)
    return found


@pytest.mark.parametrize("group", groups(), ids=lambda g: g.__name__)
def test_every_group_forbids_unknown_keys_and_validates_assignment(
    group: type[BaseModel],
) -> None:
    assert issubclass(group, SettingsGroup)
    assert group.model_config.get("extra") == "forbid"
    assert group.model_config.get("validate_assignment") is True
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        group.model_validate({"no_such_setting": 1})


def test_the_top_level_forbids_unknown_keys_too(tmp_path: Path) -> None:
    with pytest.raises(InvalidSettings) as caught:
        load_settings(data_directory=tmp_path)
    assert caught.value.problems == [
        "CURATOR_DATA_DIRECTORY is not a setting: did you mean CURATOR_DATA_DIR?"
    ]


def test_an_assignment_out_of_range_is_refused() -> None:
    # Assigns on purpose: it tests validate_assignment (allowed in tests/test_settings_in_tests.py).
    retrieval = RetrievalSettings()
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        retrieval.k = -5
    assert retrieval.k == 8


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CURATOR_RETRIEVAL__K", "0"),
        ("CURATOR_RETRIEVAL__RRF_K", "1000000"),
        ("CURATOR_LLM__TIMEOUT", "0"),
        ("CURATOR_LLM__MAX_TOKENS", "10000000"),
        ("CURATOR_DISCORD__MAX_CONCURRENT", "100000"),
        ("CURATOR_DISCORD__COOLDOWN_SECONDS", "-1"),
        ("CURATOR_ANSWERS__MIN_RELEVANCE", "1.5"),
        ("CURATOR_DIGEST__CHANNEL_ID", "-3"),
        ("CURATOR_DISCORD__CHANNELS", "10,0"),
        ("CURATOR_KNOWLEDGE__FETCH_TIMEOUT", "86400"),
        ("CURATOR_LLM__REPLY_DEADLINE", "inf"),
        ("CURATOR_LLM__REPLY_DEADLINE", "86400"),
        ("CURATOR_LLM__MAX_REPLY_CHARS", "1000000000000"),
    ],
)
def test_numbers_out_of_range_fail_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert variable in caught.value.user_message


def test_a_typo_names_the_variable_and_the_nearest_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CURATOR_RETRIEVAL__KK", "5")
    monkeypatch.setenv("CURATOR_LOGLEVEL", "DEBUG")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = caught.value.user_message
    assert "CURATOR_RETRIEVAL__KK is not a setting: did you mean CURATOR_RETRIEVAL__K?" in message
    assert "CURATOR_LOGLEVEL is not a setting: did you mean CURATOR_LOG_LEVEL?" in message


def test_a_typo_in_the_env_file_is_caught_and_its_other_variables_are_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "OPENAI_API_KEY=sk-test-not-a-real-key\nCOMPOSE_PROJECT_NAME=curator\n"
        "CURATOR_DIGEST__TIMEZON=Europe/Berlin\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "CURATOR_DIGEST__TIMEZON is not a setting: did you mean CURATOR_DIGEST__TIMEZONE?" in (
        caught.value.user_message
    )
    assert "(in .env)" in caught.value.user_message

    (tmp_path / ".env").write_text(
        "OPENAI_API_KEY=sk-test-not-a-real-key\nCOMPOSE_PROJECT_NAME=curator\n"
        "CURATOR_DIGEST__TIMEZONE=Europe/Berlin\n"
    )
    assert load_settings().digest.timezone == ZoneInfo("Europe/Berlin")


def test_names_are_matched_as_the_settings_read_them_regardless_of_case() -> None:
    assert unknown_variables({"curator_retrieval__k": "3", "CURATOR_LLM": "{}", "PATH": "/"}) == []
    assert unknown_variables({"CURATOR_NOPE_NOTHING_LIKE_IT": "1"}) == [
        "CURATOR_NOPE_NOTHING_LIKE_IT is not a setting (see .env.example)"
    ]


def test_every_field_and_group_is_a_known_variable() -> None:
    names = setting_variables()
    assert {"CURATOR_DATA_DIR", "CURATOR_RETRIEVAL", "CURATOR_RETRIEVAL__K"} <= set(names)
    assert len(names) == len(set(names))


def test_digest_time_and_timezone_are_typed_at_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURATOR_DIGEST__TIME", "18:45")
    monkeypatch.setenv("CURATOR_DIGEST__TIMEZONE", "America/New_York")
    digest = load_settings().digest
    assert digest.time == dt.time(18, 45)
    assert digest.timezone == ZoneInfo("America/New_York")
    assert DigestSettings().time == dt.time(9, 0) and DigestSettings().timezone.key == "UTC"


@pytest.mark.parametrize("value", ["9:00", "0900", "24:00", "09:00:30", "32400", "noon"])
def test_a_digest_time_not_written_hh_mm_fails_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CURATOR_DIGEST__TIME", value)
    with pytest.raises(InvalidSettings) as caught:
        load_settings()
    # Our validator's own words, without pydantic's "Value error, " before them.
    assert caught.value.problems == [
        f"CURATOR_DIGEST__TIME: expected a 24-hour time as HH:MM, got {value!r}"
    ]


@pytest.mark.parametrize("value", ["Mars/Olympus", "Europe/Berln", "../../etc/passwd"])
def test_an_invalid_timezone_fails_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CURATOR_DIGEST__TIMEZONE", value)
    with pytest.raises(ConfigError, match="CURATOR_DIGEST__TIMEZONE"):
        load_settings()


def test_an_assigned_timezone_is_converted_and_checked() -> None:
    # Assigns on purpose: it tests validate_assignment (allowed in tests/test_settings_in_tests.py).
    digest = DigestSettings()
    digest.timezone = "Asia/Tokyo"  # type: ignore[assignment]
    assert digest.timezone == ZoneInfo("Asia/Tokyo")
    with pytest.raises(ValidationError):
        digest.timezone = "Asia/Nowhere"  # type: ignore[assignment]


def test_the_test_helper_merges_overrides_and_validates_them(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, retrieval={"k": 3}, discord={"allow_dms": True})
    assert settings.embeddings.provider == "hash"  # a test default, kept
    assert settings.retrieval.k == 3 and settings.retrieval.candidates == 50
    changed = with_overrides(settings, discord={"guilds": [1]})
    assert changed.discord.guilds == [1] and changed.discord.allow_dms
    assert settings.discord.guilds == []  # the original is untouched
    with pytest.raises(ConfigError) as caught:
        with_overrides(settings, retrieval={"kk": 3})
    assert 'CURATOR_RETRIEVAL: unknown key "kk" (did you mean "k"?)' in str(caught.value)
    with pytest.raises(ConfigError, match="CURATOR_RETRIEVAL__K"):
        make_settings(tmp_path, retrieval={"k": 0})


def test_with_overrides_validates_every_override_and_names_a_bad_one(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with pytest.raises(ConfigError) as caught:
        with_overrides(settings, llm={"reply_deadline": float("inf"), "max_reply_chars": 10**12})
    message = caught.value.user_message
    assert "CURATOR_LLM__REPLY_DEADLINE" in message and "CURATOR_LLM__MAX_REPLY_CHARS" in message
    # A single group is checked the same way, named as its variable.
    with pytest.raises(ConfigError, match="CURATOR_CHROMA__PORT"):
        with_overrides(settings.chroma, port=70_000)
    assert with_overrides(settings.chroma, port=9000).port == 9000


def test_with_overrides_does_not_read_the_environment_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key set to None is meant: OPENAI_API_KEY does not fill it back in (as it would for
    settings read from the environment)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment-0123456789")
    settings = make_settings(tmp_path)
    assert settings.llm.api_key is not None
    assert with_overrides(settings, llm={"api_key": None}).llm.api_key is None


def test_a_data_dir_under_home_is_the_same_folder_for_every_reader(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The bot and the CLI open it as given; doctor checks it: "~" must mean home for all.
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CURATOR_DATA_DIR", "~/curator-data")
    settings = load_settings()
    assert settings.data_dir == tmp_path / "curator-data"
    # Assigns on purpose: validate_assignment expands "~" too (allowed in
    # tests/test_settings_in_tests.py).
    settings.data_dir = Path("~/elsewhere")
    assert settings.data_dir == tmp_path / "elsewhere"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CURATOR_DISCORD__CHANNEL_SCOPES", "{bad}"),
        ("CURATOR_DISCORD__CHANNEL_SCOPES", '{"123": {"topic": "llm"'),
        ("CURATOR_DISCORD", "{not json"),
    ],
)
def test_a_json_value_that_does_not_decode_fails_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = caught.value.user_message
    assert message.startswith(f"Invalid configuration: {variable}: not valid JSON")
    assert "line 1 column" in message  # where the JSON went wrong


def test_a_json_value_that_does_not_decode_in_the_env_file_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("CURATOR_DISCORD__CHANNEL_SCOPES={bad}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "CURATOR_DISCORD__CHANNEL_SCOPES: not valid JSON" in caught.value.user_message
    assert "(in .env)" in caught.value.user_message


def test_valid_json_values_and_plain_lists_still_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURATOR_DISCORD__CHANNEL_SCOPES", '{"123": {"topic": "llm"}}')
    monkeypatch.setenv("CURATOR_DISCORD__CHANNELS", "10, 11")
    monkeypatch.setenv("CURATOR_KNOWLEDGE__SOURCES", "notes/{draft}.md")  # not JSON: a path
    settings = load_settings()
    assert settings.discord.channel_scopes[123].topic == "llm"
    assert settings.discord.channels == [10, 11]
    assert settings.knowledge.sources == ["notes/{draft}.md"]


def test_a_channel_scope_source_is_read_as_its_publisher_with_a_notice(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(
        "CURATOR_DISCORD__CHANNEL_SCOPES",
        '{"123": {"topic": "llm", "source": "arXiv"}, "456": {"publisher": "Anthropic"}}',
    )
    with caplog.at_level("WARNING", logger="knowledge.settings"):
        settings = load_settings()
    scopes = settings.discord.channel_scopes
    assert (scopes[123].topic, scopes[123].publisher) == ("llm", "arXiv")
    assert scopes[456].publisher == "Anthropic"
    notice = (
        'CURATOR_DISCORD__CHANNEL_SCOPES: channel 123: "source" is now "publisher"; rename the '
        "key (it is still read as the publisher for now)"
    )
    # Kept as data for doctor, and logged for whoever reads the bot's log.
    assert settings.notices == (notice,)
    assert [r.getMessage() for r in caplog.records] == [notice]


def test_settings_without_a_deprecated_value_have_no_notice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CURATOR_DISCORD__CHANNEL_SCOPES", '{"123": {"publisher": "arXiv"}}')
    assert load_settings().notices == ()


@pytest.mark.parametrize(
    ("scope", "problem"),
    [
        (
            '{"source": "arXiv", "publisher": "arXiv"}',
            'channel 123: give "publisher" only: "source" is its old name',
        ),
        (
            '{"publsher": "arXiv"}',
            'channel 123: unknown key "publsher" (did you mean "publisher"?)',
        ),
        (
            '{"publisher": "arXiv", "topc": "x"}',
            'channel 123: unknown key "topc" (did you mean "topic"?)',
        ),
        ('{"colour": "red"}', 'channel 123: unknown key "colour"'),
        ('{"topic": 5}', 'channel 123: key "topic": Input should be a valid string'),
    ],
    ids=["both-names", "publisher-typo", "topic-typo", "no-near-key", "wrong-type"],
)
def test_a_mistake_inside_a_channel_scope_names_the_variable_and_the_channel(
    monkeypatch: pytest.MonkeyPatch, scope: str, problem: str
) -> None:
    monkeypatch.setenv("CURATOR_DISCORD__CHANNEL_SCOPES", f'{{"123": {scope}}}')
    with pytest.raises(InvalidSettings) as caught:
        load_settings()
    assert caught.value.problems == [f"CURATOR_DISCORD__CHANNEL_SCOPES: {problem}"]


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        (
            "CURATOR_DISCORD__CHANNEL_SCOPES",
            '{"general": {"topic": "llm"}}',
            "CURATOR_DISCORD__CHANNEL_SCOPES: channel general (the key): Input should be a valid "
            "integer, unable to parse string as an integer",
        ),
        (
            "CURATOR_DISCORD__CHANNEL_SCOPES",
            '{"123": "llm"}',
            'CURATOR_DISCORD__CHANNEL_SCOPES: channel 123: expected {"topic": ..., "publisher": '
            "...}, got 'llm'",
        ),
        (
            "CURATOR_DISCORD__CHANNELS",
            "10, eleven",
            "CURATOR_DISCORD__CHANNELS: item 2 ('eleven'): Input should be a valid integer, "
            "unable to parse string as an integer",
        ),
        (
            "CURATOR_DISCORD__GUILDS",
            "[10, -3]",
            "CURATOR_DISCORD__GUILDS: item 2 (-3): Input should be greater than or equal to 1",
        ),
        (
            "CURATOR_DISCORD",
            '{"tokn": "abc"}',
            'CURATOR_DISCORD: unknown key "tokn" (did you mean "token"?)',
        ),
        (
            "CURATOR_DIGEST",
            '{"time": "25:00"}',
            "CURATOR_DIGEST__TIME: expected a 24-hour time as HH:MM, got '25:00'",
        ),
    ],
    ids=["channel-key", "scope-not-object", "list-item", "json-list-item", "group-key", "group"],
)
def test_a_mistake_inside_any_json_value_names_the_real_variable_and_the_place(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, problem: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(InvalidSettings) as caught:
        load_settings()
    assert caught.value.problems == [problem]


def test_with_overrides_names_a_mistake_inside_a_value_alike(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with pytest.raises(InvalidSettings) as caught:
        with_overrides(settings, discord={"channel_scopes": {"7": {"topik": "llm"}}})
    assert caught.value.problems == [
        'CURATOR_DISCORD__CHANNEL_SCOPES: channel 7: unknown key "topik" (did you mean "topic"?)'
    ]
    with pytest.raises(InvalidSettings) as caught:
        with_overrides(settings.discord, channels=[5, 0])
    assert caught.value.problems == [
        "CURATOR_DISCORD__CHANNELS: item 2 (0): Input should be greater than or equal to 1"
    ]


#: Lines of .env.example written `X=` ("Default: unset"): uncommented as they are, they must
#: leave the setting at its default.
EMPTY_MEANS_DEFAULT = [
    "CURATOR_EMBEDDINGS__MODEL_DIR",
    "CURATOR_LLM__API_KEY",
    "CURATOR_LLM__BASE_URL",
    "CURATOR_DIGEST__CHANNEL_ID",
    "CURATOR_DISCORD__DEV_GUILD_ID",
    "CURATOR_DISCORD__GAPS_CHANNEL_ID",
    "CURATOR_DISCORD__LOG_CHANNEL_ID",
    "CURATOR_RETRIEVAL__DENSE_WEIGHT",
    "CURATOR_ANSWERS__MIN_RELEVANCE",
    "CURATOR_DIGEST__TIMEZONE",
    "CURATOR_DISCORD__CHANNEL_SCOPES",
    "CURATOR_DISCORD__CHANNELS",
]


def _defaults_of(settings: Settings) -> dict[str, object]:
    return {
        "model_dir": settings.embeddings.model_dir,
        "llm_configured": settings.llm.configured,
        "digest_channel": settings.digest.channel_id,
        "dev_guild": settings.discord.dev_guild_id,
        "gaps": settings.discord.gaps_channel_id,
        "log": settings.discord.log_channel_id,
        "dense_weight": settings.retrieval.dense_weight,
        "min_relevance": settings.answers.min_relevance,
        "timezone": settings.digest.timezone,
        "scopes": settings.discord.channel_scopes,
        "channels": settings.discord.channels,
    }


UNSET: dict[str, object] = {
    "model_dir": None,
    "llm_configured": False,
    "digest_channel": None,
    "dev_guild": None,
    "gaps": None,
    "log": None,
    "dense_weight": None,
    "min_relevance": None,
    "timezone": ZoneInfo("UTC"),
    "scopes": {},
    "channels": [],
}


def test_empty_variables_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in EMPTY_MEANS_DEFAULT:
        monkeypatch.setenv(variable, "")
    assert _defaults_of(load_settings()) == UNSET


def test_empty_lines_uncommented_in_the_env_file_mean_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("".join(f"{v}=\n" for v in EMPTY_MEANS_DEFAULT))
    assert _defaults_of(load_settings()) == UNSET


def test_an_empty_variable_does_not_hide_the_same_setting_in_the_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("CURATOR_RETRIEVAL__K=5\n")
    monkeypatch.setenv("CURATOR_RETRIEVAL__K", "")
    assert load_settings().retrieval.k == 5


def test_a_settings_error_not_foreseen_still_names_the_group() -> None:
    from pydantic_settings import SettingsError

    from knowledge.settings import _settings_error_problem

    try:
        try:
            json.loads("{bad}")
        except ValueError as cause:
            raise SettingsError(
                'error parsing value for field "discord" from source "DotEnvSettingsSource"'
            ) from cause
    except SettingsError as exc:
        problem = _settings_error_problem(exc)
    assert problem.startswith(
        "CURATOR_DISCORD (or one of its CURATOR_DISCORD__* variables in .env) cannot be read: "
        "Expecting property name"
    )


def test_no_small_talk_reaction_is_written_none_since_empty_means_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CURATOR_DISCORD__SMALL_TALK_REACTION", "")
    assert load_settings().discord.small_talk_reaction == "👍"
    monkeypatch.setenv("CURATOR_DISCORD__SMALL_TALK_REACTION", "None")
    assert load_settings().discord.small_talk_reaction == ""


def test_uncommenting_every_line_of_the_example_as_written_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = Path(__file__).resolve().parents[2] / ".env.example"
    lines = [
        line.removeprefix("# ")
        for line in example.read_text(encoding="utf-8").splitlines()
        if line.startswith("# CURATOR_") and "=" in line
    ]
    assert sum(line.endswith("=") for line in lines) >= 10  # the "Default: unset" lines
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")
    from_example = load_settings()
    (tmp_path / ".env").unlink()
    assert from_example.model_dump() == load_settings().model_dump()


def test_the_standard_openai_variables_fill_an_unset_llm_and_curator_ones_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-from-openai-variable")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
    settings = load_settings()
    assert settings.llm.configured
    assert settings.llm.api_key is not None
    assert settings.llm.api_key.get_secret_value() == "sk-test-from-openai-variable"
    assert settings.llm.base_url == "http://127.0.0.1:11434/v1"

    monkeypatch.setenv("CURATOR_LLM__BASE_URL", "http://127.0.0.1:8000/v1")
    monkeypatch.setenv("CURATOR_LLM__API_KEY", "sk-test-curator-variable")
    settings = load_settings()
    assert settings.llm.base_url == "http://127.0.0.1:8000/v1"
    assert settings.llm.api_key is not None
    assert settings.llm.api_key.get_secret_value() == "sk-test-curator-variable"
