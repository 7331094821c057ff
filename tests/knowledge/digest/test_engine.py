"""DigestService: the window's articles grouped by topic, with a template or LLM intro."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from knowledge.answers.llm import LLMClient
from knowledge.digest.engine import DigestService
from knowledge.settings import Settings
from tests.knowledge.digest.fakes import FakeArticleIndex, built, card, digest_settings, utc
from tests.support.fake_openai import Fail, FakeOpenAI

DAY = date(2026, 11, 23)


def _day_of_articles() -> list:
    return [
        card("r1", utc(2026, 11, 22, 10, 0), ["Retrieval", "Search"], title="Hybrid search"),
        card("r2", utc(2026, 11, 23, 7, 0), ["retrieval"], title="Reranking in practice"),
        card("e1", utc(2026, 11, 22, 20, 0), ["Evaluation"], title="Evals that matter"),
        card("g1", utc(2026, 11, 22, 21, 0), [], title="A note on taste"),
        card("p1", utc(2026, 11, 22, 22, 0), ["Prompting"], title="Prompt patterns"),
        # Outside the window of 23 Nov (09:00 UTC): the day before and after the digest time.
        card("old", utc(2026, 11, 22, 8, 59), ["Retrieval"], title="Yesterday's news"),
        card("new", utc(2026, 11, 23, 9, 0), ["Retrieval"], title="Tomorrow's news"),
    ]


async def test_sections_group_by_primary_topic_biggest_first_general_last(
    settings: Settings,
) -> None:
    service = DigestService(settings, FakeArticleIndex(_day_of_articles()))
    digest = await service.build(date=DAY)
    titles = [e.title for e in digest.entries()]
    assert "Yesterday's news" not in titles and "Tomorrow's news" not in titles
    assert digest.article_count == 5
    assert [s.topic for s in digest.sections] == ["Retrieval", "Evaluation", "Prompting", "General"]
    # Case-insensitive topics share a section; newest first within it.
    assert [e.title for e in digest.sections[0].articles] == [
        "Reranking in practice",
        "Hybrid search",
    ]
    assert [e.n for e in digest.entries()] == [1, 2, 3, 4, 5]
    assert digest.start.isoformat() == "2026-11-22T09:00:00+00:00"
    assert digest.intro_mode == "template"


async def test_template_intro_counts_and_names_topics(settings: Settings) -> None:
    digest = await built(DigestService(settings, FakeArticleIndex(_day_of_articles())), date=DAY)
    assert digest.intro.startswith("5 new articles were curated since the last digest")
    assert "across 4 topics: Retrieval (2), Evaluation (1), Prompting (1) and General (1)." in (
        digest.intro
    )
    assert "Start with “Reranking in practice”: The point of r2." in digest.intro


async def test_one_article_reads_naturally(settings: Settings) -> None:
    index = FakeArticleIndex([card("x", utc(2026, 11, 23, 1, 0), ["Agents"], title="Agents 101")])
    digest = await built(DigestService(settings, index), date=DAY)
    assert digest.intro.startswith("One new article was curated since the last digest, on Agents.")


async def test_an_empty_day_says_nothing_new(settings: Settings) -> None:
    index = FakeArticleIndex([card("old", utc(2026, 11, 20, 10, 0))])
    digest = await built(DigestService(settings, index), date=DAY)
    assert digest.empty and digest.sections == [] and digest.article_count == 0
    assert digest.intro == "Nothing new today: no articles were curated since the last digest."


async def test_default_window_is_the_latest_digest_time(settings: Settings) -> None:
    index = FakeArticleIndex(_day_of_articles())
    before_nine = await built(DigestService(settings, index), now=utc(2026, 11, 23, 8, 0))
    after_nine = await built(DigestService(settings, index), now=utc(2026, 11, 23, 9, 0))
    assert before_nine.date == date(2026, 11, 22)
    assert after_nine.date == DAY and after_nine.article_count == 5
    # The index was asked for the window in UTC, widened to the whole calendar day (22 Nov)
    # whose date-only cards this digest lists.
    assert index.calls[-1] == (utc(2026, 11, 22, 0, 0), utc(2026, 11, 23, 9, 0))


async def test_range_digest(settings: Settings) -> None:
    index = FakeArticleIndex(_day_of_articles())
    digest = await built(
        DigestService(settings, index), since=date(2026, 11, 22), until=date(2026, 11, 22)
    )
    assert not digest.daily
    assert digest.article_count == 5  # everything on 22 Nov UTC, not the 23 Nov ones
    assert digest.intro.startswith("5 articles were curated on 22 Nov 2026")


async def test_llm_intro_keeps_valid_citations_and_drops_hallucinated_ones(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    settings = digest_settings(tmp_path, llm_base_url=fake_openai.base_url)
    fake_openai.script(
        "Retrieval leads today with a hands-on look at reranking [1] and hybrid search [2]. "
        "Evaluators should read [3], and everyone will enjoy the essay on taste [9]."
    )
    service = DigestService(settings, FakeArticleIndex(_day_of_articles()))
    assert service.llm is not None
    digest = await built(service, date=DAY)
    assert digest.intro_mode == "llm"
    assert "[9]" not in digest.intro
    assert "reranking [1] and hybrid search [2]" in digest.intro
    assert "read [3]" in digest.intro
    assert digest.intro.endswith("the essay on taste.")
    assert [(c.n, c.title) for c in digest.citations] == [
        (1, "Reranking in practice"),
        (2, "Hybrid search"),
        (3, "Evals that matter"),
    ]
    # The model saw the numbered cards it was allowed to cite.
    prompt = fake_openai.chat_requests[0].prompt_text
    assert "[1] Reranking in practice — Example Review" in prompt
    assert "Key takeaway: The point of r2." in prompt
    assert "[6]" not in prompt


async def test_llm_citations_keep_the_digest_numbering(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    # The validator renumbers by first use; the intro must still point at list positions.
    settings = digest_settings(tmp_path, llm_base_url=fake_openai.base_url)
    fake_openai.script("Start with prompt patterns [4], then the evals piece [3].")
    digest = await built(DigestService(settings, FakeArticleIndex(_day_of_articles())), date=DAY)
    assert digest.intro == "Start with prompt patterns [4], then the evals piece [3]."
    entries = {e.n: e.title for e in digest.entries()}
    assert entries[4] == "Prompt patterns" and entries[3] == "Evals that matter"
    assert [c.n for c in digest.citations] == [3, 4]


async def test_llm_failure_falls_back_to_the_template(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    settings = digest_settings(tmp_path, llm_base_url=fake_openai.base_url)
    fake_openai.always(Fail(500))
    digest = await built(DigestService(settings, FakeArticleIndex(_day_of_articles())), date=DAY)
    assert digest.intro_mode == "template"
    assert digest.intro.startswith("5 new articles were curated")
    assert digest.citations == []
    assert len(fake_openai.chat_requests) == 1


async def test_llm_intro_without_any_valid_citation_is_not_trusted(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    settings = digest_settings(tmp_path, llm_base_url=fake_openai.base_url)
    fake_openai.script("Today brings a groundbreaking study on quantum retrieval [12].")
    digest = await built(DigestService(settings, FakeArticleIndex(_day_of_articles())), date=DAY)
    assert digest.intro_mode == "template"
    assert "quantum" not in digest.intro


async def test_empty_day_never_calls_the_llm(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    settings = digest_settings(tmp_path, llm_base_url=fake_openai.base_url)
    digest = await built(DigestService(settings, FakeArticleIndex([])), date=DAY)
    assert digest.empty and fake_openai.chat_requests == []


async def test_injected_llm_client_is_used(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    settings = digest_settings(tmp_path)  # no LLM configured
    assert DigestService(settings, FakeArticleIndex([])).llm is None
    llm = LLMClient(digest_settings(tmp_path, llm_base_url=fake_openai.base_url).llm)
    fake_openai.script("Read the reranking piece [1].")
    digest = await built(
        DigestService(settings, FakeArticleIndex(_day_of_articles()), llm=llm), date=DAY
    )
    assert digest.intro == "Read the reranking piece [1]."
    assert not llm.is_closed()  # handed in: the service leaves it to its owner
    await llm.aclose()
