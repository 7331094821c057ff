"""A `since` typed in the terminal or on Discord means the same day, or the same refusal.

`curator search --since`, `curator ask --since` and `/ask since:` all read knowledge.periods; the
errors differ only in how they name the option.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from bot.discord.cogs.ask_cog import AskingCog
from bot.discord.curator_bot import CuratorBot
from knowledge.answers.service import AnswerService
from knowledge.errors import InputError
from knowledge.index import KnowledgeIndex
from knowledge.models import Answer, SearchFilters, Turn
from knowledge.periods import parse_since, utc_today
from knowledge.settings import get_settings
from tests.bot.discord.test_commands import cog, interaction
from tests.support.fake_openai import FakeOpenAI

runner = CliRunner()
QUESTION = "How does LoRA work?"
TODAY = utc_today()
FUTURE = (TODAY + timedelta(days=5)).isoformat()
#: Typed -> the first day every front end filters on (None: every front end refuses it).
TYPED: dict[str, date | None] = {
    "7d": TODAY - timedelta(days=7),
    "2w": TODAY - timedelta(days=14),
    " 3 months ": TODAY - timedelta(days=90),
    "2026-11-01": date(2026, 11, 1),
    FUTURE: None,
    "yesterday": None,
    "23/11/2026": None,
}


def refusal(typed: str) -> str:
    """What knowledge.periods says about `typed`: the reason every front end gives."""
    try:
        parse_since(typed, TODAY)
    except InputError as exc:
        return exc.user_message
    raise AssertionError(f"{typed!r} is readable")


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[SearchFilters | None]:
    """The filters each search and each answer was asked for, whichever front end asked."""
    filters_seen: list[SearchFilters | None] = []
    real_search = KnowledgeIndex.search
    real_answer = AnswerService.answer
    real_stream = AnswerService.stream

    def search(self: KnowledgeIndex, query: str, *args: Any, **kwargs: Any) -> Any:
        filters_seen.append(kwargs.get("filters"))
        return real_search(self, query, *args, **kwargs)

    async def answer(
        self: AnswerService,
        question: str,
        history: Sequence[Turn] = (),
        filters: SearchFilters | None = None,
    ) -> Answer:
        filters_seen.append(filters)
        return await real_answer(self, question, history, filters)

    def stream(
        self: AnswerService,
        question: str,
        history: Sequence[Turn] = (),
        filters: SearchFilters | None = None,
    ) -> Any:
        filters_seen.append(filters)
        return real_stream(self, question, history, filters)

    monkeypatch.setattr(KnowledgeIndex, "search", search)
    monkeypatch.setattr(AnswerService, "answer", answer)
    monkeypatch.setattr(AnswerService, "stream", stream)
    return filters_seen


@pytest.fixture
def cli_env(
    tmp_path: Path, indexed_template: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """The CLI on its own copy of the indexed sample (the bot holds the other), no LLM."""
    data_dir = tmp_path / "cli-data"
    shutil.copytree(indexed_template, data_dir)
    monkeypatch.setenv("CURATOR_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CURATOR_EMBEDDINGS__PROVIDER", "hash")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _one_line(output: str) -> str:
    """typer's error box, its borders and line wrapping taken out."""
    return " ".join(output.replace("│", " ").replace("╭", " ").replace("╰", " ").split())


@pytest.mark.parametrize("command", ["search", "ask"])
@pytest.mark.parametrize("typed", list(TYPED))
def test_the_cli_reads_since_as_discord_does(
    cli_env: None, seen: list[SearchFilters | None], command: str, typed: str
) -> None:
    args = [command, QUESTION, "--since", typed] + (["--json"] if command == "ask" else [])
    result = runner.invoke(app, args)
    expected = TYPED[typed]
    if expected is None:
        assert result.exit_code == 2, result.output
        said = _one_line(result.output)
        assert "--since" in said and refusal(typed) in said
        assert seen == []
    else:
        assert result.exit_code == 0, result.output
        assert seen and all(f is not None and f.since == expected for f in seen)


@pytest.mark.parametrize("typed", list(TYPED))
async def test_discord_reads_since_as_the_cli_does(
    bot: CuratorBot, fake_openai: FakeOpenAI, seen: list[SearchFilters | None], typed: str
) -> None:
    fake_openai.always("Low-rank updates [1].")
    asking = cog(bot, AskingCog)
    fake = interaction(bot)

    await asking.ask.callback(asking, fake.mock, QUESTION, since=typed)

    expected = TYPED[typed]
    if expected is None:
        assert [s.kind for s in fake.sent] == ["response"] and fake.sent[0].ephemeral
        assert fake.sent[0].content == f"`since:` {refusal(typed)}."
        assert seen == []
    else:
        assert seen and all(f is not None and f.since == expected for f in seen)
