"""`curator latest`, `recommend` and `article` on the sample, through typer's runner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import knowledge
from bot.cli.app import app
from bot.cli.curation_commands import paragraphs
from knowledge.settings import get_settings

SAMPLE = Path(knowledge.__file__).parent / "sample"
runner = CliRunner()


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    data = tmp_path_factory.mktemp("curation-cli")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(data)
        patch.setenv("CURATOR_DATA_DIR", str(data / "data"))
        patch.setenv("CURATOR_EMBEDDINGS__PROVIDER", "hash")
        patch.setenv("CURATOR_KNOWLEDGE__SOURCES", str(SAMPLE))
        get_settings.cache_clear()
        assert run("reindex", "--json").exit_code == 0
        yield
    get_settings.cache_clear()


def run(*args: str) -> Any:
    return runner.invoke(app, list(args))


def run_json(*args: str) -> Any:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_latest_json_newest_first(indexed: None) -> None:
    cards = run_json("latest", "--topic", "agents", "--limit", "2")
    assert [c["title"] for c in cards] == [
        "Building effective agents",
        "LLM Powered Autonomous Agents",
    ]
    assert cards[0]["url"] == "https://www.anthropic.com/research/building-effective-agents"
    assert cards[0]["key_takeaway"] and cards[0]["curated"].startswith("2026-11-23")


def test_latest_in_the_terminal(indexed: None) -> None:
    result = run("latest", "--limit", "3")
    assert result.exit_code == 0
    assert "Retrieval-Augmented Generation" in result.stdout and "arXiv" in result.stdout


def test_recommend_json_says_why(indexed: None) -> None:
    picks = run_json("recommend", "--role", "engineers building keyword or hybrid search")
    assert picks[0]["title"] == "The Probabilistic Relevance Framework: BM25 and Beyond"
    assert picks[0]["matched_best_for"] == "engineers building keyword or hybrid search"
    assert picks[0]["role_fit"] == 1.0


def test_recommend_bad_depth_is_a_clear_error(indexed: None) -> None:
    result = run("recommend", "--depth", "expert")
    assert result.exit_code == 2
    assert "Depth must be one of intro, intermediate, deep" in result.stderr


def test_article_prints_the_whole_card(indexed: None) -> None:
    result = run("article", "lora")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "LoRA: Low-Rank Adaptation of Large Language Models" in out
    for heading in ("Summary", "Key takeaway", "Key insights", "Best for", "Topics"):
        assert heading in out
    card = run_json("article", "LoRA")
    assert card["key_insights"] and card["summary"].startswith("Microsoft researchers")


def test_article_unknown_title(indexed: None) -> None:
    result = run("article", "banana bread")
    assert result.exit_code == 2 and "No article is titled" in result.stderr


NIPS_URL = "https://papers.nips.cc/paper/5656-hidden-technical-debt-in-machine-learning-systems"


def test_piped_articles_keep_long_urls_whole(indexed: None) -> None:
    result = run("articles")
    assert result.exit_code == 0, result.output
    assert any(NIPS_URL in line for line in result.stdout.splitlines()), result.stdout
    # Plain lines as the README promises for piped output: no table, no padding.
    assert not any(ch in result.stdout for ch in "┃│━─┏")
    lines = result.stdout.splitlines()
    assert all(line == line.rstrip() for line in lines), "a piped line is padded"
    assert any(line.strip() == NIPS_URL for line in lines), "the URL is not on its own line"


def test_piped_ask_keeps_long_urls_whole_and_lines_unpadded(indexed: None) -> None:
    result = run("ask", "What is hidden technical debt in machine learning systems?", "--no-stream")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(line.strip() == NIPS_URL for line in lines), result.stdout
    assert not [line for line in lines if line != line.rstrip()]


BOX_DRAWING = set("┏┓┗┛━┃│─┼┡┩╇╈┳┻├┤")


@pytest.mark.parametrize(
    "command", [["latest", "--limit", "3"], ["recommend"], ["recommend", "--topic", "agents"]]
)
def test_piped_cards_are_plain_lines_neither_boxed_nor_padded(
    indexed: None, command: list[str]
) -> None:
    result = run(*command)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert not BOX_DRAWING & set(result.stdout), result.stdout
    assert not [line for line in lines if line != line.rstrip()]
    cards = [line for line in lines if line[:4].isdigit()]  # "2026-11-23 · Title · ..."
    assert cards and all(" · " in line for line in cards)
    # Each card's URL whole on its own line, right under it.
    urls = [line.strip() for line in lines if line.startswith("  https://")]
    assert len(urls) == len(cards) and all(" " not in url for url in urls)


def test_recommend_names_a_topic_no_article_has_even_when_it_finds_some(indexed: None) -> None:
    result = run("recommend", "--topic", "agent")
    assert result.exit_code == 0, result.output
    assert "No indexed article has the topic “agent”; closest: “agents”." in result.stderr
    assert "Building effective agents" in result.stdout
    as_json = run("recommend", "--topic", "agent", "--json")
    assert json.loads(as_json.stdout) and "closest: “agents”" in as_json.stderr
    # A known topic needs no notice.
    assert run("recommend", "--topic", "agents").stderr == ""


def test_an_unknown_topic_is_named_with_the_closest_known_ones(indexed: None) -> None:
    for command in (["articles"], ["latest"], ["recommend"]):
        result = run(*command, "--topic", "agentss")
        assert result.exit_code == 0, result.output
        assert "No indexed article has the topic “agentss”; closest: “agents”" in result.stderr
        assert "article(s)" not in result.stdout and "broader role" not in result.stdout
        assert "Latest articles" not in result.stdout
        as_json = run(*command, "--topic", "agentss", "--json")
        assert json.loads(as_json.stdout) == [] and "closest: “agents”" in as_json.stderr


def test_search_names_an_unknown_topic_or_publisher(indexed: None) -> None:
    result = run("search", "bubble", "--topic", "ai ethics")
    assert result.exit_code == 0 and "No results." not in result.stdout
    assert "No indexed article has the topic “ai ethics”; closest:" in result.stderr
    result = run("search", "lora", "--publisher", "arxiv.org", "--json")
    assert json.loads(result.stdout) == []
    assert "No indexed article has the publisher “arxiv.org”; closest: “arXiv”" in result.stderr
    known = run("search", "lora", "--publisher", "ARXIV", "--json")
    assert json.loads(known.stdout) and known.stderr == ""
    assert {hit["publisher"] for hit in json.loads(known.stdout)} == {"arXiv"}


def test_search_source_still_filters_by_publisher_with_a_notice(indexed: None) -> None:
    old = run("search", "lora", "--source", "ARXIV", "--json")
    assert old.exit_code == 0
    assert old.stdout == run("search", "lora", "--publisher", "ARXIV", "--json").stdout
    assert old.stderr.strip() == "--source is now --publisher"
    both = run("search", "lora", "--source", "arXiv", "--publisher", "arXiv")
    assert both.exit_code == 2 and "--publisher only" in both.stderr
    shown = run("search", "--help")
    assert "--publisher" in shown.stdout and "--source" not in shown.stdout


def test_recommend_suggests_changing_only_what_was_given(indexed: None) -> None:
    result = run("recommend", "--role", "zookeepers feeding penguins")
    assert result.exit_code == 0
    assert "try a broader role." in result.stdout and "depth" not in result.stdout


def test_article_joins_soft_wrapped_lines_into_paragraphs(indexed: None) -> None:
    result = run("article", "LLM Powered")
    assert result.exit_code == 0, result.output
    assert "acting as the controller of a system" in result.stdout
    summary = result.stdout.split("Summary\n")[1].split("\n\n")[0]
    assert summary.count("\n") == 0 and summary.startswith("Lilian Weng")
    assert "\n• Planning covers" in result.stdout and "\n• Memory maps" in result.stdout


def test_article_unknown_title_says_how_to_list_titles(indexed: None) -> None:
    result = run("article", "zzz")
    assert result.exit_code == 2
    assert "`curator articles` lists every title" in result.stderr
    assert "start typing" not in result.stderr
    markup = run("article", "zzz[/b]")
    assert markup.exit_code == 2 and "No article is titled “zzz[/b]”" in markup.stderr


def test_paragraphs_keep_breaks_and_list_items() -> None:
    text = "One line\nwrapped here.\n\n- item one\n  continued\n- item two\n2. numbered\n\nEnd"
    assert paragraphs(text) == (
        "One line wrapped here.\n\n- item one continued\n- item two\n2. numbered\n\nEnd"
    )


def test_every_command_writes_dates_and_takeaways_alike(indexed: None) -> None:
    listed = {a["article_id"]: a["curated"] for a in run_json("articles")}
    answer = run_json("ask", "What is LoRA and why is it cheap?")
    assert answer["citations"]
    for citation in answer["citations"]:
        assert "T" in citation["curated"] and citation["curated"] == listed[citation["article_id"]]
    card = run_json("article", "LoRA")
    assert card["curated"] == listed[card["article_id"]]
    digest = run_json("digest", "--date", "2026-11-23")
    entries = [a for section in digest["sections"] for a in section["articles"]]
    assert entries and all("takeaway" not in a for a in entries)
    assert all(a["key_takeaway"] for a in entries)
