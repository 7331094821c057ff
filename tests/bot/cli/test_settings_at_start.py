"""A configuration mistake stops the real `curator` command at start, naming the variable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.faults.conftest import curator_env, run_curator


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        (
            "CURATOR_RETRIEVAL__KK",
            "5",
            "CURATOR_RETRIEVAL__KK is not a setting: did you mean CURATOR_RETRIEVAL__K?",
        ),
        ("CURATOR_RETRIEVAL__K", "-5", "CURATOR_RETRIEVAL__K: Input should be greater than"),
        ("CURATOR_DIGEST__TIMEZONE", "Mars/Olympus", "CURATOR_DIGEST__TIMEZONE: invalid timezone"),
        (
            "CURATOR_DISCORD__CHANNEL_SCOPES",
            "{bad}",
            "CURATOR_DISCORD__CHANNEL_SCOPES: not valid JSON",
        ),
        (
            "CURATOR_DISCORD__CHANNEL_SCOPES",
            '{"123": {"publisher": "arXiv", "topc": "x"}}',
            'CURATOR_DISCORD__CHANNEL_SCOPES: channel 123: unknown key "topc" '
            '(did you mean "topic"?)',
        ),
        (
            "CURATOR_DIGEST__TIME",
            "25:00",
            "CURATOR_DIGEST__TIME: expected a 24-hour time as HH:MM, got '25:00'",
        ),
    ],
    ids=["typo", "out-of-range", "timezone", "json", "json-key", "time"],
)
def test_a_bad_variable_stops_a_command_before_it_does_anything(
    tmp_path: Path, sample_dir: Path, variable: str, value: str, said: str
) -> None:
    data_dir = tmp_path / "data"
    result = run_curator(
        "reindex", env=curator_env(data_dir, sample_dir, **{variable: value}), cwd=tmp_path
    )
    assert result.returncode == 2, result.stderr
    shown = " ".join(result.stderr.split())
    assert said in shown
    # Neither pydantic's wording nor a variable that does not exist.
    assert "Value error" not in shown and "Extra inputs" not in shown
    assert "__123" not in shown
    assert "Traceback" not in result.stderr
    assert not data_dir.exists()  # nothing was indexed with the wrong settings


def test_doctor_reports_the_same_mistake_from_the_env_file(
    tmp_path: Path, sample_dir: Path
) -> None:
    (tmp_path / ".env").write_text("CURATOR_DIGEST__TIMEZON=Europe/Berlin\n")
    result = run_curator("doctor", env=curator_env(tmp_path / "data", sample_dir), cwd=tmp_path)
    assert result.returncode == 1
    output = " ".join(result.stdout.split())
    assert "fail settings" in output
    assert (
        "CURATOR_DIGEST__TIMEZON is not a setting: did you mean CURATOR_DIGEST__TIMEZONE? "
        "(in .env)" in output
    )


def test_stats_stops_cleanly_on_undecodable_json_in_the_env_file(
    tmp_path: Path, sample_dir: Path
) -> None:
    (tmp_path / ".env").write_text("CURATOR_DISCORD__CHANNEL_SCOPES={bad}\n")
    result = run_curator("stats", env=curator_env(tmp_path / "data", sample_dir), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    said = " ".join(result.stderr.split())
    assert "CURATOR_DISCORD__CHANNEL_SCOPES: not valid JSON" in said and "(in .env)" in said


def test_doctor_fails_the_settings_check_on_undecodable_json(
    tmp_path: Path, sample_dir: Path
) -> None:
    env = curator_env(tmp_path / "data", sample_dir, CURATOR_DISCORD__CHANNEL_SCOPES="{bad}")
    result = run_curator("doctor", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    output = " ".join(result.stdout.split())
    assert "fail settings" in output and "CURATOR_DISCORD__CHANNEL_SCOPES: not valid JSON" in output


def test_empty_lines_uncommented_from_the_example_start_the_command(
    tmp_path: Path, sample_dir: Path
) -> None:
    (tmp_path / ".env").write_text(
        "CURATOR_DIGEST__CHANNEL_ID=\nCURATOR_DISCORD__GAPS_CHANNEL_ID=\n"
        "CURATOR_RETRIEVAL__DENSE_WEIGHT=\nCURATOR_EMBEDDINGS__MODEL_DIR=\n"
    )
    result = run_curator("stats", env=curator_env(tmp_path / "data", sample_dir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_doctor_warns_of_a_deprecated_channel_scope_key_and_is_still_safe_to_start(
    tmp_path: Path, sample_dir: Path
) -> None:
    scopes = '{"123": {"source": "arXiv"}}'
    env = curator_env(tmp_path / "data", sample_dir, CURATOR_DISCORD__CHANNEL_SCOPES=scopes)
    result = run_curator("doctor", "--json", env=env, cwd=tmp_path)
    assert "Traceback" not in result.stderr
    [settings] = [c for c in json.loads(result.stdout)["checks"] if c["name"] == "settings"]
    assert settings["status"] == "warn"
    assert (
        'CURATOR_DISCORD__CHANNEL_SCOPES: channel 123: "source" is now "publisher"'
        in settings["detail"]
    )
    shown = run_curator("doctor", env=env, cwd=tmp_path)
    assert "warn settings" in " ".join(shown.stdout.split())
