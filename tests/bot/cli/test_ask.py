"""`curator ask` through typer's runner, over the sample articles and the fake OpenAI server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from knowledge.index import KnowledgeIndex
from knowledge.periods import utc_today
from knowledge.settings import get_settings
from tests.support.fake_openai import (
    FakeOpenAI,
    Reply,
    fake_openai,  # noqa: F401
)
from tests.support.settings import make_settings

runner = CliRunner()
QUESTION = "Why does the Transformer use multi-head attention?"


@pytest.fixture(scope="module")
def indexed_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample articles indexed once (hash embedder); `ask` only reads the index."""
    data_dir = tmp_path_factory.mktemp("ask-data")
    index = KnowledgeIndex(make_settings(data_dir))
    assert not index.reindex().failed
    index.close()
    return data_dir


@pytest.fixture
def env(indexed_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """CLI settings pointing at the indexed sample; no LLM configured."""
    monkeypatch.setenv("CURATOR_DATA_DIR", str(indexed_data_dir))
    monkeypatch.setenv("CURATOR_EMBEDDINGS__PROVIDER", "hash")
    get_settings.cache_clear()
    yield indexed_data_dir
    get_settings.cache_clear()


@pytest.fixture
def with_llm(env: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:  # noqa: F811
    monkeypatch.setenv("CURATOR_LLM__BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("CURATOR_LLM__TIMEOUT", "2")
    get_settings.cache_clear()
    return fake_openai


def _json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["ask", *args])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert isinstance(payload, dict)
    return payload


def test_ask_json_with_llm_has_the_documented_shape(with_llm: FakeOpenAI) -> None:
    with_llm.script(Reply("Several heads attend to different positions at once [1]. Made up [42]."))
    payload = _json(QUESTION, "--json")

    assert {"text", "citations", "refused", "refusal", "mode", "timings", "notices"} <= set(payload)
    assert payload["mode"] == "llm" and payload["refused"] is False
    assert payload["text"] == "Several heads attend to different positions at once [1]. Made up."
    citations = payload["citations"]
    assert isinstance(citations, list) and len(citations) == 1
    assert citations[0]["n"] == 1 and citations[0]["url"].startswith("http")
    assert set(citations[0]) == {
        "n",
        "title",
        "url",
        "publisher",
        "article_id",
        "chunk_id",
        "passage",
        "passages",
        "curated",
        "key_takeaway",
    }
    assert citations[0]["passage"] == citations[0]["passages"][0]
    assert set(payload["timings"]) == {"retrieve_ms", "generate_ms", "total_ms"}
    assert len(with_llm.chat_requests) == 1


def test_ask_json_without_llm_is_extractive(env: Path) -> None:
    payload = _json(QUESTION, "--json")
    assert payload["mode"] == "extractive" and payload["refused"] is False
    assert payload["citations"] and "[1]" in str(payload["text"])
    assert any(c["title"] == "Attention Is All You Need" for c in payload["citations"])


@pytest.mark.parametrize(
    "question",
    [
        QUESTION,
        "How should I evaluate a retrieval-augmented generation system?",
        "How does LoRA reduce the number of trainable parameters?",
    ],
)
def test_ask_sources_list_each_article_once(env: Path, question: str) -> None:
    payload = _json(question, "--json")
    urls = [c["url"] for c in payload["citations"]]
    assert urls and len(urls) == len(set(urls))
    result = runner.invoke(app, ["ask", question, "--no-stream"])
    assert result.exit_code == 0, result.output
    sources = result.stdout.split("Sources:")[1]
    assert all(sources.count(url) == 1 for url in urls)


def test_ask_refuses_a_question_the_articles_do_not_cover(with_llm: FakeOpenAI) -> None:
    payload = _json("What is the best recipe for Neapolitan pizza dough?", "--json")
    assert payload["refused"] is True and payload["closest"]
    assert with_llm.requests == []


def test_ask_topic_filter_with_no_match_says_so(env: Path) -> None:
    payload = _json(QUESTION, "--topic", "gardening", "--json")
    assert payload["refused"] is True and "gardening" in str(payload["text"])
    assert payload["refusal"] == "no_match_for_filters"


def test_ask_prints_numbered_sources_with_links(with_llm: FakeOpenAI) -> None:
    with_llm.script(Reply("Heads look at different subspaces [1][2]."))
    result = runner.invoke(app, ["ask", QUESTION, "--no-stream"])
    assert result.exit_code == 0, result.output
    assert "Heads look at different subspaces [1][2]." in result.stdout
    assert "Sources:" in result.stdout and "[1]" in result.stdout and "[2]" in result.stdout
    assert "https://" in result.stdout
    # Each source names its publisher and when it was curated.
    assert "arXiv" in result.stdout.split("Sources:")[1]
    assert "curated 20" in result.stdout


def test_ask_streams_and_ends_with_the_validated_answer(with_llm: FakeOpenAI) -> None:
    with_llm.script(Reply("Heads attend in parallel [1]. Bogus [77].", chunk_chars=3))
    result = runner.invoke(app, ["ask", QUESTION])
    assert result.exit_code == 0, result.output
    assert with_llm.chat_requests[0].streamed
    assert "Heads attend in parallel [1]. Bogus." in result.stdout
    assert "Sources:" in result.stdout


def test_ask_empty_question_is_a_clear_error(env: Path) -> None:
    result = runner.invoke(app, ["ask", "   "])
    assert result.exit_code == 2
    assert "empty" in result.stderr and "Traceback" not in result.output


def test_ask_empty_question_with_json_is_a_json_error(env: Path) -> None:
    result = runner.invoke(app, ["ask", "", "--json"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)
    assert error["code"] == "empty_question" and "empty" in error["error"]


@pytest.mark.parametrize("question", ["?!", " ... ", "¿?"])
def test_ask_punctuation_only_is_the_empty_question_error(env: Path, question: str) -> None:
    result = runner.invoke(app, ["ask", question, "--json"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)
    assert error["code"] == "empty_question" and "no words" in error["error"]
    shown = runner.invoke(app, ["ask", question])
    assert shown.exit_code == 2 and "Please ask a question" in shown.stderr
    # A one-character question in any script is still asked.
    assert runner.invoke(app, ["ask", "RAG?", "--json"]).exit_code == 0


def test_ask_bad_since_names_the_option(env: Path) -> None:
    result = runner.invoke(app, ["ask", QUESTION, "--since", "yesterday"])
    assert result.exit_code == 2 and "--since" in result.output


# -- every refusal reason, as data in --json and in words on the terminal --------------------


def test_ask_not_covered_is_reported_as_such(env: Path) -> None:
    payload = _json("What is the best recipe for Neapolitan pizza dough?", "--json")
    assert payload["refusal"] == "not_covered" and payload["closest"]
    result = runner.invoke(app, ["ask", "What is the best recipe for Neapolitan pizza dough?"])
    assert "don't cover" in result.stdout and "Closest articles:" in result.stdout


def test_ask_since_today_offers_to_drop_the_filter(env: Path) -> None:
    # Every sample article was curated before today.
    today = utc_today().isoformat()
    payload = _json(QUESTION, "--since", today, "--json")
    assert payload["refusal"] == "no_match_for_filters"
    assert payload["notices"] == ["drop_filters"]
    assert payload["closest"][0]["title"] == "Attention Is All You Need"

    result = runner.invoke(app, ["ask", QUESTION, "--since", today, "--no-stream"])
    assert result.exit_code == 0, result.output
    assert f"since {today}" in result.stdout
    assert "without the filters" in result.stdout.lower()
    assert "Without the filters, these articles match:" in result.stdout


def test_ask_since_tomorrow_is_refused_as_on_discord(env: Path) -> None:
    tomorrow = (utc_today() + timedelta(days=1)).isoformat()
    result = runner.invoke(app, ["ask", QUESTION, "--since", tomorrow])
    assert result.exit_code == 2
    assert "--since" in result.output and f"{tomorrow} is in the future" in result.output


def test_ask_llm_declining_is_a_refusal(with_llm: FakeOpenAI) -> None:
    with_llm.script(Reply("The curated articles do not cover this question."))
    payload = _json(QUESTION, "--json")
    assert payload["refused"] is True and payload["refusal"] == "llm_declined"
    assert payload["mode"] == "llm" and payload["closest"]


def test_ask_streamed_decline_prints_the_refusal(with_llm: FakeOpenAI) -> None:
    with_llm.script(Reply("The sources do not answer this.", chunk_chars=4))
    result = runner.invoke(app, ["ask", QUESTION])
    assert result.exit_code == 0, result.output
    assert "Closest articles:" in result.stdout and "Sources:" not in result.stdout


def test_ask_in_another_language_without_llm_says_which_language_it_needs(env: Path) -> None:
    payload = _json("Quelle est la meilleure recette de la paella ?", "--json")
    assert payload["refusal"] == "not_in_language"
    result = runner.invoke(app, ["ask", "Quelle est la meilleure recette de la paella ?"])
    assert "only search questions written in English" in result.stdout


FRENCH = "Pourquoi le Transformer utilise-t-il l'attention multi-têtes ?"


def test_french_question_over_the_sample_without_llm(env: Path) -> None:
    payload = _json(FRENCH, "--json")
    # "Transformer" and "attention" carry across languages: quoted passages from the paper.
    assert payload["refused"] is False and payload["mode"] == "extractive"
    assert payload["citations"][0]["title"] == "Attention Is All You Need"


def test_french_question_over_the_sample_with_llm(with_llm: FakeOpenAI) -> None:
    with_llm.script(
        Reply("Why does the Transformer use multi-head attention?"),
        Reply("Plusieurs têtes regardent des sous-espaces différents [1]."),
    )
    payload = _json(FRENCH, "--json")
    assert payload["refused"] is False and payload["mode"] == "llm"
    assert payload["text"] == "Plusieurs têtes regardent des sous-espaces différents [1]."
    assert payload["citations"][0]["title"] == "Attention Is All You Need"
    rewrite, generate = with_llm.chat_requests
    assert "English" in rewrite.messages[0]["content"]
    assert FRENCH in generate.messages[-1]["content"]
