"""Every refusal reason through AnswerService, with the real index and the scripted LLM server."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from knowledge.answers.language import in_collection_language
from knowledge.answers.notices import notice_text, refusal_text
from knowledge.answers.refusal import declines
from knowledge.answers.service import AnswerService
from knowledge.models import Answer, NoticeCode, RefusalReason, SearchFilters
from tests.support.fake_openai import FakeOpenAI, Reply

TRUST_Q = "How do teams build trust?"
TOMORROW = date.today() + timedelta(days=1)


async def _final(service: AnswerService, question: str, **kwargs: object) -> Answer:
    items = [item async for item in service.stream(question, **kwargs)]  # type: ignore[arg-type]
    final = items[-1]
    assert isinstance(final, Answer)
    return final


# -- not_covered --------------------------------------------------------------------------------


async def test_not_covered_is_a_gap_with_closest_articles(offline_service: AnswerService) -> None:
    answer = await offline_service.answer("How do I bake sourdough bread?")
    assert answer.refusal is RefusalReason.NOT_COVERED and answer.is_gap
    assert answer.text == refusal_text(RefusalReason.NOT_COVERED)
    assert answer.as_json()["refusal"] == "not_covered"
    # The closest articles carry their card's curated time and takeaway, as citations do.
    assert answer.closest
    for offered in answer.closest:
        card = offline_service.index.get_article(offered.article_id)
        assert card is not None and offered.curated == card.curated
        assert offered.key_takeaway == " ".join(card.key_takeaway.split())


async def test_filters_that_match_but_miss_an_uncovered_topic_are_still_a_gap(
    offline_service: AnswerService,
) -> None:
    # The filter matches articles, and without it the collection has nothing either.
    answer = await offline_service.answer(
        "How do I bake sourdough bread?", filters=SearchFilters(topic="health")
    )
    assert answer.refusal is RefusalReason.NOT_COVERED and answer.is_gap


# -- no_match_for_filters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "filters",
    [
        SearchFilters(since=TOMORROW),
        SearchFilters(topic="astronomy"),
        SearchFilters(topic="health"),
    ],
    ids=["since-tomorrow", "topic-nobody-has", "topic-of-other-articles"],
)
async def test_filter_hiding_the_answer_is_said_and_is_not_a_gap(
    offline_service: AnswerService, filters: SearchFilters
) -> None:
    answer = await offline_service.answer(TRUST_Q, filters=filters)

    assert answer.refused and answer.refusal is RefusalReason.NO_MATCH_FOR_FILTERS
    assert not answer.is_gap
    assert "filters" in answer.text
    # Offers to drop the filter, with what the whole collection has.
    assert NoticeCode.DROP_FILTERS in answer.notices
    assert answer.closest[0].title == "How teams build trust"
    assert answer.as_json()["notices"] == ["drop_filters"]


async def test_filter_refusal_names_the_filter(offline_service: AnswerService) -> None:
    answer = await offline_service.answer(TRUST_Q, filters=SearchFilters(since=TOMORROW))
    assert f"since {TOMORROW.isoformat()}" in answer.text


# -- llm_declined ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "The curated articles do not cover how to measure trust in a survey.",
        "I'm sorry, but the sources don't cover that.",
        "Les articles ne couvrent pas cette question.",
        "Los artículos no cubren esta pregunta.",
    ],
)
async def test_llm_saying_the_sources_do_not_answer_is_a_refusal_and_a_gap(
    service: AnswerService, fake_openai: FakeOpenAI, reply: str
) -> None:
    fake_openai.script(Reply(reply))
    answer = await service.answer(TRUST_Q)

    assert answer.refused and answer.refusal is RefusalReason.LLM_DECLINED
    assert answer.is_gap and answer.mode == "llm"
    # In the model's words (the member's language), with the articles it was given.
    assert answer.text == reply
    assert answer.closest and answer.closest[0].title == "How teams build trust"
    assert answer.citations == [] and NoticeCode.UNCITED not in answer.notices


async def test_streamed_decline_ends_with_the_refusal(
    service: AnswerService, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Reply("The sources do not answer this question.", chunk_chars=5))
    final = await _final(service, TRUST_Q)
    assert final.refusal is RefusalReason.LLM_DECLINED and final.is_gap


async def test_cited_answer_noting_a_missing_detail_is_not_a_refusal(
    service: AnswerService, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(
        Reply("Teams keep small promises [1]. The sources do not cover remote teams.")
    )
    answer = await service.answer(TRUST_Q)
    assert not answer.refused and answer.refusal is None and answer.citations


def test_declines_reads_common_wordings_and_leaves_answers_alone() -> None:
    assert declines("The provided sources don’t contain information about pizza.")
    assert declines("Die Artikel enthalten keine Informationen dazu.")
    assert not declines("Trust grows when small promises are kept.")
    assert not declines("Coverage of the topic is thin but the answer is yes.")


# -- not_in_language ------------------------------------------------------------------------------


async def test_foreign_question_without_llm_and_nothing_carried_is_not_in_language(
    offline_service: AnswerService,
) -> None:
    answer = await offline_service.answer("Comment les équipes gagnent-elles la confiance ?")

    assert answer.refused and answer.refusal is RefusalReason.NOT_IN_LANGUAGE
    assert not answer.is_gap
    assert "English" in answer.text and "cover" not in answer.text


async def test_foreign_question_without_llm_is_searched_with_what_carries_across(
    offline_service: AnswerService,
) -> None:
    # "Pricing", "software" and "value" are the same words in the articles' language.
    answer = await offline_service.answer("Quel est le value pricing pour le software ?")
    assert not answer.refused
    assert answer.citations[0].title == "Pricing a software product"


async def test_foreign_question_with_llm_is_translated_then_answered_in_its_language(
    service: AnswerService, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(
        Reply("How do teams build trust?"),
        Reply("La confiance grandit quand on tient de petites promesses [1]."),
    )
    answer = await service.answer("Comment les équipes gagnent-elles la confiance ?")

    assert not answer.refused
    assert answer.text.startswith("La confiance grandit")
    assert answer.citations[0].title == "How teams build trust"
    rewrite, generate = fake_openai.chat_requests
    assert "English" in rewrite.messages[0]["content"]
    # The model answers the member's own question, so it replies in their language.
    assert "Comment les équipes gagnent-elles la confiance ?" in generate.messages[-1]["content"]
    assert "Trust inside a team grows" in generate.prompt_text


async def test_foreign_question_whose_translation_fails_falls_back_to_plain_search(
    service: AnswerService, fake_openai: FakeOpenAI
) -> None:
    fake_openai.always(Reply("unused")).script(*([Reply("x", delay=5.0)] * 2))
    answer = await service.answer("Comment les équipes gagnent-elles la confiance ?")
    assert answer.refusal is RefusalReason.NOT_IN_LANGUAGE


@pytest.mark.parametrize(
    ("question", "english"),
    [
        ("Pourquoi le Transformer utilise-t-il l'attention multi-têtes ?", False),
        ("¿Qué es LoRA y por qué reduce los parámetros?", False),
        ("Was ist der Unterschied zwischen ReAct und Chain-of-Thought?", False),
        ("Transformerの注意機構とは何ですか", False),
        ("Why does the Transformer use multi-head attention?", True),
        ("LoRA rank?", True),
        ("Is RAG used de facto in production?", True),
    ],
)
def test_language_of_questions(question: str, english: bool) -> None:
    assert in_collection_language(question) is english


def test_every_notice_and_reason_has_words() -> None:
    assert all(notice_text(code) for code in NoticeCode)
    assert all(refusal_text(reason) for reason in RefusalReason)
