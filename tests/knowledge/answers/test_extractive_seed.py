"""Extractive answers over the real seed article (../shared/seeds), as a member would read them."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.answers.extractive import EXTRACTIVE_LABEL
from knowledge.answers.service import AnswerService
from knowledge.index import KnowledgeIndex
from knowledge.models import Article
from knowledge.sentences import is_question, leans_on_previous
from tests.knowledge.answers.conftest import ARTICLES, WordVectorEmbedder
from tests.support.settings import make_settings


def _seeds() -> Path:
    for parent in Path(__file__).resolve().parents:
        if (parent / "shared" / "seeds").is_dir():
            return parent / "shared" / "seeds"
    return Path(__file__).resolve().parents[4] / "shared" / "seeds"


SEED = _seeds() / "article-evolving-role-of-the-ml-engineer.txt"
QUESTIONS = [
    "What did Stephanie do before machine learning?",
    "How has the role of the machine learning engineer changed?",
    "What advice is there for people starting a career in ML?",
    "What does she write about on TDS?",
]


@pytest.fixture(scope="module")
def seed_service(tmp_path_factory: pytest.TempPathFactory) -> AnswerService:
    if not SEED.exists():
        pytest.skip(f"seed article not found at {SEED} (../shared/seeds absent)")
    title, _, body = SEED.read_text(encoding="utf-8").partition("\n")
    seed = Article(
        title=title.strip(),
        url="https://example.org/seed",
        publisher="Towards Data Science",
        key_takeaway="ML engineering now spans data, modelling and production systems.",
        body=body,
    )
    data_dir = tmp_path_factory.mktemp("seed-index")
    settings = make_settings(data_dir, answers={"min_relevance": 0.0})
    index = KnowledgeIndex(settings, WordVectorEmbedder())
    index.add_articles([seed, *ARTICLES])
    return AnswerService(settings, index, llm=None)


def _quotes(text: str) -> list[str]:
    body = text.split("\n\nKey takeaways:")[0]
    return [line[2:].rsplit(" [", 1)[0] for line in body.splitlines() if line.startswith("- ")]


@pytest.mark.parametrize("question", QUESTIONS)
async def test_seed_answers_read_well(seed_service: AnswerService, question: str) -> None:
    answer = await seed_service.answer(question)
    assert answer.mode == "extractive" and not answer.refused
    assert answer.text.startswith(EXTRACTIVE_LABEL)
    quotes = _quotes(answer.text)
    assert quotes
    # No quote opens with a word that points at a sentence the member cannot see.
    assert not [q for q in quotes if leans_on_previous(q)]
    # No sentence twice, and each article listed once.
    assert len(quotes) == len(set(quotes))
    ids = [c.article_id for c in answer.citations]
    assert len(ids) == len(set(ids))
    takeaways = answer.text.split("Key takeaways:")[1] if "Key takeaways:" in answer.text else ""
    assert not any(q in takeaways for q in quotes)


async def test_the_interviewers_question_is_not_quoted(seed_service: AnswerService) -> None:
    answer = await seed_service.answer("Does Stephanie Kirmer think the AI economy is a bubble?")
    assert answer.mode == "extractive" and not answer.refused
    quotes = _quotes(answer.text)
    assert quotes and not [q for q in quotes if is_question(q)], quotes
    # Her answer is quoted: "I think this is a bubble, but ...".
    assert any("bubble" in q and not q.endswith("?") for q in quotes), quotes
