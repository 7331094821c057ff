"""The README's `curator eval` examples run as written, and its configuration table names only
variables Curator reads."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from knowledge.settings import get_settings, setting_variables

README = Path(__file__).resolve().parents[3] / "README.md"
runner = CliRunner()

SQUAD = {
    "version": "1.1",
    "data": [
        {
            "title": title,
            "paragraphs": [
                {
                    "context": context,
                    "qas": [
                        {
                            "id": title,
                            "question": question,
                            "answers": [{"text": answer, "answer_start": context.index(answer)}],
                        }
                    ],
                }
            ],
        }
        for title, context, question, answer in (
            (
                "Plains_zebra",
                "Zebra stripes deter biting horseflies from landing on the herd.",
                "What do zebra stripes deter?",
                "biting horseflies",
            ),
            (
                "Sourdough",
                "Sourdough bread rises with a starter of wild yeast.",
                "What makes sourdough bread rise?",
                "wild yeast",
            ),
        )
    ],
}


def readme_commands(program: str) -> list[list[str]]:
    """Each `program ...` line of the README's sh blocks, as arguments (comments dropped)."""
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    return [
        shlex.split(line, comments=True)
        for block in blocks
        for line in block.splitlines()
        if line.startswith(program + " ") and "[" not in line.split("#")[0]
    ]


@pytest.fixture
def squad(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "dev-v1.1.json"
    path.write_text(json.dumps(SQUAD), encoding="utf-8")
    monkeypatch.setenv("CURATOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CURATOR_EMBEDDINGS__PROVIDER", "hash")
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def test_the_readme_shows_how_to_evaluate_a_slice() -> None:
    examples = readme_commands("curator eval")
    used = {arg for command in examples for arg in command if arg.startswith("--")}
    assert {"--limit", "--titles", "--per-article", "--answers"} <= used


def test_the_readme_eval_examples_run_as_written(squad: Path) -> None:
    examples = readme_commands("curator eval")
    assert examples
    for command in examples:
        args = [str(squad) if arg.endswith(".json") else arg for arg in command[1:]]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (command, result.output)
        assert "2 questions" in result.stdout or '"questions": 2' in result.stdout


def _table_variables() -> list[str]:
    """The variables named in the first column of the README's configuration table, with a
    shorthand such as `__PORT` completed from the name before it."""
    section = README.read_text(encoding="utf-8").split("## Configuration", 1)[1].split("\n## ")[0]
    names: list[str] = []
    for row in section.splitlines():
        if not row.startswith("| `"):
            continue
        previous = ""
        for name in re.findall(r"`([A-Z_]+)`", row.split(" | ")[0]):
            if name.startswith("__"):
                name = previous[: previous.rindex("__")] + name
            names.append(name)
            previous = name
    return names


def test_the_configuration_table_names_only_real_settings() -> None:
    named = _table_variables()
    assert {"CURATOR_LLM__API_KEY", "CURATOR_LLM__BASE_URL", "CURATOR_CHROMA__PORT"} <= set(named)
    assert set(named) <= set(setting_variables())
    # The variables the OpenAI client reads are named as the fall-backs doctor mentions.
    readme = README.read_text(encoding="utf-8")
    llm_row = next(row for row in readme.splitlines() if row.startswith("| `CURATOR_LLM__API_KEY`"))
    assert "`OPENAI_API_KEY`" in llm_row and "`OPENAI_BASE_URL`" in llm_row
