"""Fixtures for the answer tests: the fake OpenAI server, a small real index, answer services."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from knowledge.answers.llm import LLMClient
from knowledge.answers.service import AnswerService
from knowledge.embeddings.base import Embedder, Vectors
from knowledge.index import KnowledgeIndex
from knowledge.models import Article
from knowledge.settings import Settings
from tests.support.fake_openai import (
    FakeOpenAI,
    fake_openai,  # noqa: F401
)
from tests.support.settings import make_settings, merged


class WordVectorEmbedder(Embedder):
    """Deterministic bag-of-words vectors: texts sharing words are similar, nothing else."""

    name = "test-words"
    dim = 256

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                slot = int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim
                out[row, slot] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


def _article(slug: str, title: str, topics: list[str], takeaway: str, body: str) -> Article:
    return Article(
        title=title,
        url=f"https://articles.example/{slug}",
        publisher="Example Review",
        author="A. Writer",
        published=datetime(2024, 3, 1, tzinfo=UTC),
        curated=datetime(2024, 3, 5, tzinfo=UTC),
        topics=topics,
        summary=body.split("\n\n")[0],
        key_takeaway=takeaway,
        body=body,
    )


ARTICLES = [
    _article(
        "trust",
        "How teams build trust",
        ["leadership"],
        "Trust grows from small promises kept, not from grand gestures.",
        "Trust inside a team grows when people keep small promises consistently.\n\n"
        "Leaders who admit their own mistakes in public make it safe for others to do the same. "
        "Teams with high trust share bad news earlier, which lets them fix problems sooner.\n\n"
        "Trust erodes quickly when credit is taken for other people's work.",
    ),
    _article(
        "sleep",
        "Sleep and memory",
        ["health"],
        "Protect sleep before an exam: memory consolidation happens at night.",
        "Sleep plays a central role in memory consolidation.\n\n"
        "During deep sleep the brain replays what was learned during the day, which strengthens "
        "long-term memories. Students who sleep after studying remember more than those who stay "
        "awake all night.\n\n"
        "Even a short afternoon nap improves recall of newly learned facts.",
    ),
    _article(
        "pricing",
        "Pricing a software product",
        ["business"],
        "Price on the value delivered to the customer, not on your costs.",
        "Value-based pricing sets the price from what the product is worth to the customer.\n\n"
        "Cost-plus pricing ignores willingness to pay and usually leaves money on the table. "
        "Offering three tiers lets customers choose and anchors the middle option.\n\n"
        "Raising prices for new customers first is the least risky way to test a change.",
    ),
    _article(
        "remote",
        "Writing for remote teams",
        ["remote work", "writing"],
        "Default to written, asynchronous communication and keep decisions in one place.",
        "Remote teams depend on clear written communication.\n\n"
        "Asynchronous updates let people in different time zones contribute without meetings. "
        "A single decision log prevents the same debate from happening again.\n\n"
        "Short written proposals get faster feedback than long slide decks.",
    ),
]


@pytest.fixture(scope="session")
def word_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeIndex]:
    """A real KnowledgeIndex (Chroma + BM25) over ARTICLES, built once for the session."""
    data_dir = tmp_path_factory.mktemp("answers-index")
    index = KnowledgeIndex(make_settings(data_dir), WordVectorEmbedder())
    index.add_articles(ARTICLES)
    try:
        yield index
    finally:
        index.close()


def service_settings(data_dir: Path, base_url: str | None = None, **overrides: object) -> Settings:
    """make_settings for a service test over `word_index`: fast LLM timeouts (the fake server at
    `base_url`, or no LLM), the refusal threshold fixed for ARTICLES, then `overrides`."""
    llm: dict[str, object] = {"timeout": 1.0, "retries": 1, "model": "test-model"}
    if base_url:
        llm["base_url"] = base_url
    # The test embedder has no calibrated threshold; this one separates ARTICLES' questions
    # from unrelated ones (see test_service.py's refusal tests).
    service = {"llm": llm, "answers": {"min_relevance": 0.3}}
    return make_settings(data_dir, **merged(service, overrides))


@pytest.fixture
def llm_settings(tmp_path: Path, fake_openai: FakeOpenAI) -> Settings:  # noqa: F811
    return service_settings(tmp_path / "data", fake_openai.base_url)


@pytest.fixture
async def service(
    llm_settings: Settings, word_index: KnowledgeIndex
) -> AsyncIterator[AnswerService]:
    """An AnswerService whose LLM is the fake server."""
    svc = AnswerService(llm_settings, word_index)
    assert isinstance(svc.llm, LLMClient)
    yield svc
    await svc.aclose()


@pytest.fixture
def offline_service(tmp_path: Path, word_index: KnowledgeIndex) -> AnswerService:
    """No LLM configured: answers are extractive."""
    svc = AnswerService(service_settings(tmp_path / "data"), word_index)
    assert svc.llm is None
    return svc
