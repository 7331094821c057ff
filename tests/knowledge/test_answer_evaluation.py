"""Answer evaluation: scoring one answer, summaries, the runner, and the xquad-en answer floor."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.embeddings.hash import HashEmbedder
from knowledge.evaluation import load_squad, parse_squad
from knowledge.evaluation.answer_quality import (
    AnswerOutcome,
    run_answer_eval,
    score_answer,
    summarise_answers,
    without_llm,
)
from knowledge.evaluation.squad import EvalQuestion
from knowledge.models import Answer, Citation
from tests.support.fake_openai import (
    FakeOpenAI,
    Reply,
    fake_openai,  # noqa: F401
)
from tests.support.seeds import xquad_file
from tests.support.settings import make_settings

XQUAD = xquad_file()
QUESTION = EvalQuestion("q1", "What do zebra stripes deter?", "zebra", ("biting horseflies",))


def _citation(n: int, article_id: str, *passages: str) -> Citation:
    return Citation(
        n=n,
        title=f"Article {article_id}",
        url=f"https://example.org/{article_id}",
        article_id=article_id,
        chunk_id=f"{article_id}-0",
        passage=passages[0],
        passages=list(passages),
    )


def test_a_good_answer_scores_on_every_count() -> None:
    answer = Answer(
        text="Stripes deter biting horseflies [1].",
        citations=[_citation(1, "zebra", "Other text.", "Stripes deter Biting  horseflies.")],
    )
    outcome = score_answer(answer, QUESTION, 12.5)
    assert outcome == AnswerOutcome(True, True, False, 0, False, 12.5)


def test_duplicate_articles_and_dangling_markers_are_counted() -> None:
    answer = Answer(
        text="Flies [1]. More [2]. Invented [3]. In code `x[7]` is not a marker.",
        citations=[_citation(1, "zebra", "Nothing."), _citation(2, "zebra", "Nothing again.")],
    )
    outcome = score_answer(answer, QUESTION, 1.0)
    assert outcome.lists_an_article_twice
    assert outcome.dangling_markers == 1
    assert not outcome.gold_in_text and not outcome.gold_in_cited


def test_a_refusal_never_counts_as_holding_the_gold_answer() -> None:
    answer = Answer(text="Not covered; closest: biting horseflies", refused=True)
    outcome = score_answer(answer, QUESTION, 1.0)
    assert outcome.refused and not outcome.gold_in_text


def test_summary_gives_shares_counts_and_percentiles() -> None:
    outcomes = [
        AnswerOutcome(True, True, False, 0, False, 10.0),
        AnswerOutcome(False, True, True, 2, False, 20.0),
        AnswerOutcome(False, False, False, 0, True, 30.0),
        AnswerOutcome(True, False, False, 0, False, 40.0),
    ]
    result = summarise_answers("extractive", outcomes)
    assert (result.gold_in_text, result.gold_in_cited) == (0.5, 0.5)
    assert (result.articles_listed_twice, result.dangling_markers, result.refusals) == (1, 2, 1)
    assert result.latency_p50_ms == 25.0 and result.latency_p95_ms == pytest.approx(38.5)
    assert summarise_answers("extractive", []).gold_in_text == 0.0


def test_without_llm_drops_only_the_model_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment-0123456789")
    settings = make_settings(tmp_path, llm={"base_url": "http://127.0.0.1:9/v1"})
    assert settings.llm.configured
    plain = without_llm(settings)
    assert not plain.llm.configured and plain.llm.model == settings.llm.model


ZEBRA = parse_squad(
    {
        "data": [
            {
                "title": "Plains_zebra",
                "paragraphs": [
                    {
                        "context": "Zebra stripes deter biting horseflies from landing.",
                        "qas": [
                            {
                                "id": "z1",
                                "question": "What do zebra stripes deter?",
                                "answers": [{"text": "biting horseflies"}],
                            }
                        ],
                    }
                ],
            }
        ]
    }
)


def test_runner_answers_every_question_in_a_throwaway_store(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", answers={"min_relevance": 0.0})
    report = run_answer_eval(ZEBRA, settings, embedder=HashEmbedder(64))
    assert list(report.modes) == ["extractive"]
    result = report.modes["extractive"]
    assert result.questions == 1 and result.gold_in_text == 1.0 and result.gold_in_cited == 1.0
    assert not (tmp_path / "data").exists()


def test_with_an_llm_configured_both_modes_are_scored(
    tmp_path: Path,
    fake_openai: FakeOpenAI,  # noqa: F811
) -> None:
    # The scripted model cites one real source and one it was never given.
    fake_openai.always(Reply("They deter biting horseflies [1]. Also flies [1]. Made up [4]."))
    settings = make_settings(
        tmp_path / "data",
        answers={"min_relevance": 0.0},
        llm={"base_url": fake_openai.base_url, "timeout": 2.0, "retries": 0},
    )
    report = run_answer_eval(ZEBRA, settings, embedder=HashEmbedder(64))
    assert list(report.modes) == ["extractive", "llm"]
    llm = report.modes["llm"]
    assert llm.gold_in_text == 1.0 and llm.articles_listed_twice == 0
    # The invented [4] was stripped before the answer was scored.
    assert llm.dangling_markers == 0
    # Warm-up and the one question went to the model; the extractive pass never did.
    assert len(fake_openai.chat_requests) == 2


# -- floor on xquad-en (hash embedder, no model needed) -----------------------------------

# Measured 2026-11-30 on the 2-core dev machine: all 48 titles, 120 questions spread over the
# file, hash-384 embedder, extractive answers:
#   gold in text 0.933 · gold in a cited passage 0.967 · listed twice 0 · dangling 0 ·
#   2 refusals
# Floors sit a little under those; raise them when answers get better.
ANSWER_FLOORS = {"gold_in_text": 0.91, "gold_in_cited": 0.94}


@pytest.mark.skipif(not XQUAD.exists(), reason=f"xquad-en not found at {XQUAD} (../shared absent)")
def test_xquad_answers_stay_above_their_floor(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    report = run_answer_eval(load_squad(XQUAD), settings, limit=120, embedder=HashEmbedder(384))
    result = report.modes["extractive"]
    figures = {"gold_in_text": result.gold_in_text, "gold_in_cited": result.gold_in_cited}
    below = {k: (round(figures[k], 4), floor) for k, floor in ANSWER_FLOORS.items()}
    below = {k: v for k, v in below.items() if v[0] < v[1]}
    assert not below, f"answer quality fell below its floor (measured, floor): {below}"
    # Faults that must never happen, whatever the embedder.
    assert result.articles_listed_twice == 0
    assert result.dangling_markers == 0
    assert result.refusals <= 6
    assert report.questions == 120
