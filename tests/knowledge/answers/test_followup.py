"""Follow-up questions become standalone queries (heuristic and LLM)."""

from __future__ import annotations

from knowledge.answers.followup import heuristic_rewrite, looks_like_followup, rewrite_followup
from knowledge.answers.llm import LLMClient
from knowledge.models import Turn
from knowledge.settings import LLMSettings
from tests.support.fake_openai import Fail, FakeOpenAI, Reply

HISTORY = [
    Turn(role="user", content="What did Ada Lovelace write about the Analytical Engine?"),
    Turn(role="assistant", content="She described it as more than a calculator [1]."),
]


def test_pronoun_followup_carries_over_previous_key_terms() -> None:
    query = heuristic_rewrite("and what did she say about music?", HISTORY)
    assert query.startswith("and what did she say about music?")
    for term in ("ada", "lovelace", "analytical", "engine"):
        assert term in query


def test_standalone_question_is_left_alone() -> None:
    question = "How do vector databases index embeddings efficiently?"
    assert not looks_like_followup(question)
    assert heuristic_rewrite(question, HISTORY) == question


def test_no_history_means_no_rewrite() -> None:
    assert heuristic_rewrite("and her?", []) == "and her?"


async def test_without_llm_the_heuristic_is_used() -> None:
    rewrite = await rewrite_followup("what about music?", HISTORY, None)
    assert rewrite.method == "heuristic" and "lovelace" in rewrite.query


async def test_llm_rewrite_uses_the_model_reply(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply('Query: "Ada Lovelace on music and the Analytical Engine"\n'))
    llm = LLMClient(LLMSettings(base_url=fake_openai.base_url, timeout=2, retries=0))
    rewrite = await rewrite_followup("and what did she say about music?", HISTORY, llm)
    await llm.aclose()

    assert rewrite.method == "llm" and not rewrite.llm_failed
    assert rewrite.query == "Ada Lovelace on music and the Analytical Engine"
    prompt = fake_openai.chat_requests[0].prompt_text
    assert "User: What did Ada Lovelace write" in prompt
    assert "Last message: and what did she say about music?" in prompt


async def test_llm_failure_falls_back_to_the_heuristic(fake_openai: FakeOpenAI) -> None:
    fake_openai.always(Fail(500))
    llm = LLMClient(LLMSettings(base_url=fake_openai.base_url, timeout=2, retries=0))
    rewrite = await rewrite_followup("and what did she say about music?", HISTORY, llm)
    await llm.aclose()
    assert rewrite.method == "heuristic" and rewrite.llm_failed
    assert "lovelace" in rewrite.query
