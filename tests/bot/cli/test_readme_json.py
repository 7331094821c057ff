"""The README's "JSON output" section against what each command really prints on the sample.

Every documented shape is parsed from the README and compared key for key (and, for objects
and lists of objects it spells out, one level further down) with the command's --json output,
so the documentation cannot drift from the code again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import knowledge
from bot.cli.app import app
from knowledge.settings import get_settings

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"
SAMPLE = Path(knowledge.__file__).parent / "sample"
runner = CliRunner()

# The label of each README bullet (its text before the first ":") and the command line it documents.
# A covered question gives citations; an uncovered one gives `closest`.
COMMANDS: dict[str, list[list[str]]] = {
    "`ingest` / `reindex`": [["reindex", "--json"], ["ingest", str(SAMPLE), "--json"]],
    "`search`": [["search", "lora", "--json"]],
    "`stats`": [["stats", "--json"]],
    "A usage error with `--json` (an empty `ask` question or `search` query)": [
        ["ask", "", "--json"],
        ["search", " ", "--json"],
    ],
    "`ask`": [
        ["ask", "What is LoRA and why is it cheap?", "--json"],
        ["ask", "How do zebra stripes keep biting flies away?", "--json"],
    ],
    "`articles`": [["articles", "--json"]],
    "`latest`": [["latest", "--json"]],
    "`recommend`": [["recommend", "--role", "engineers", "--json"]],
    "`article`": [["article", "LoRA", "--json"]],
    "`digest --json` (the same as `--format json`)": [["digest", "--date", "2026-11-23", "--json"]],
    "`eval --json`": [["eval", "{squad}", "--json"]],
    "`eval --answers --json`": [["eval", "{squad}", "--answers", "--json"]],
    "`doctor --json`": [["doctor", "--json"]],
}

SQUAD = {
    "version": "1.1",
    "data": [
        {
            "title": "Plains_zebra",
            "paragraphs": [
                {
                    "context": "Zebra stripes deter biting horseflies from landing on the herd.",
                    "qas": [
                        {
                            "id": "z1",
                            "question": "What do zebra stripes deter?",
                            "answers": [{"text": "biting horseflies", "answer_start": 20}],
                        }
                    ],
                }
            ],
        }
    ],
}

# A parsed shape: each documented key, with what it holds when the README spells it out
# (an object's shape, or a one-element list holding the shape of every element).
Shape = dict[str, Any]
_TOKEN = re.compile(r'"[^"]*"|[{}\[\]:,]|[^\s{}\[\]:,"]+')


def _parse_value(tokens: list[str]) -> Any:
    """The shape at the head of `tokens` (consumed): a Shape, [Shape], or None (no detail)."""
    head = tokens.pop(0)
    if head == "{":
        return _parse_object(tokens)
    if head == "[":
        inner = _parse_value(tokens) if tokens[0] in "{[" else None
        depth = 1
        while depth:  # skip the rest of the list, e.g. `[path]`
            token = tokens.pop(0)
            depth += {"[": 1, "]": -1}.get(token, 0)
        return [inner] if isinstance(inner, dict) else None
    return None


def _parse_object(tokens: list[str]) -> Shape:
    shape: Shape = {}
    while (token := tokens.pop(0)) != "}":
        if token.startswith('"'):
            detail = None
            if tokens[0] == ":":
                tokens.pop(0)
                detail = _parse_value(tokens)
            shape[token.strip('"')] = detail
        elif token in "{[":
            tokens.insert(0, token)
            _parse_value(tokens)
    return shape


def parse_shape(code: str) -> Shape | list[Shape]:
    """`{"a", "b": {"c"}}` or `[{...}]` as written in the README, as a Shape (or [Shape])."""
    tokens = _TOKEN.findall(code)
    shape = _parse_value(tokens)
    assert shape is not None, f"not a JSON shape: {code}"
    return shape


def documented_shapes(readme: str) -> dict[str, Shape | list[Shape]]:
    """Each bullet of the "JSON output" section that shows a shape: its label -> the shape
    (the first inline code that starts with `{` or `[`)."""
    section = readme.split("### JSON output (stable)", 1)[1].split("\n## ", 1)[0]
    shapes: dict[str, Shape | list[Shape]] = {}
    for bullet in re.split(r"\n- ", "\n" + section.split("\n- ", 1)[1]):
        text = " ".join(bullet.split())
        label, _, rest = text.partition(":")
        for code in re.findall(r"`([^`]+)`", rest):
            if code.startswith(("{", "[")):
                shapes[label.strip()] = parse_shape(code)
                break
    return shapes


def differences(shape: Any, value: Any, where: str = "") -> list[str]:
    """Where `value` does not have the documented keys (empty when it matches)."""
    if isinstance(shape, list):
        if not isinstance(value, list):
            return [f"{where or 'output'}: documented a list, got {type(value).__name__}"]
        return [d for i, item in enumerate(value) for d in differences(shape[0], item, where)]
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return [f"{where or 'output'}: documented an object, got {type(value).__name__}"]
        found = []
        if set(shape) != set(value):
            found.append(
                f"{where or 'top level'}: documented {sorted(shape)}, emitted {sorted(value)}"
            )
        for key, inner in shape.items():
            if inner is not None and key in value:
                found += differences(inner, value[key], f"{where}.{key}".lstrip("."))
        return found
    return []


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The sample articles indexed through the CLI (hash embedder, no LLM)."""
    data = tmp_path_factory.mktemp("readme-json")
    squad = data / "tiny-squad.json"
    squad.write_text(json.dumps(SQUAD), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(data)
        patch.setenv("CURATOR_DATA_DIR", str(data / "data"))
        patch.setenv("CURATOR_EMBEDDINGS__PROVIDER", "hash")
        patch.setenv("CURATOR_KNOWLEDGE__SOURCES", str(SAMPLE))
        get_settings.cache_clear()
        assert runner.invoke(app, ["reindex"]).exit_code == 0
        yield squad
    get_settings.cache_clear()


def test_every_documented_shape_is_checked_here() -> None:
    assert set(documented_shapes(README.read_text(encoding="utf-8"))) == set(COMMANDS)


@pytest.mark.parametrize("label", list(COMMANDS))
def test_the_readme_shows_the_keys_each_command_prints(sample: Path, label: str) -> None:
    shape = documented_shapes(README.read_text(encoding="utf-8"))[label]
    for command in COMMANDS[label]:
        args = [str(sample) if arg == "{squad}" else arg for arg in command]
        result = runner.invoke(app, args)
        assert result.stdout.strip(), f"{args}: no output; {result.output}"
        payload = json.loads(result.stdout)
        if isinstance(shape, list):
            # A list the sample leaves empty would check nothing.
            assert payload, f"{args} printed an empty list"
        assert not differences(shape, payload), (args, differences(shape, payload))


def test_a_stale_readme_would_be_caught() -> None:
    shape = parse_shape('{"text", "citations": [{"n", "title"}], "timings": {"total_ms"}}')
    assert differences(shape, {"text": "", "citations": [], "timings": {"total_ms": 1}}) == []
    assert differences(shape, {"text": "", "citations": [{"n": 1}], "timings": {}}) == [
        "citations: documented ['n', 'title'], emitted ['n']",
        "timings: documented ['total_ms'], emitted []",
    ]
    assert differences(shape, {"text": "", "timings": {"total_ms": 1}, "extra": 1}) == [
        "top level: documented ['citations', 'text', 'timings'], emitted ['extra', 'text', "
        "'timings']"
    ]
