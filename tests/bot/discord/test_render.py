"""Rendering answers, refusals, progress and reports as Discord messages within every limit."""

from __future__ import annotations

from datetime import UTC, datetime

import discord

from bot.discord.reindex_changes import ReindexChanges
from bot.discord.render import (
    CURSOR,
    THINKING,
    OutgoingMessage,
    render_answer,
    render_feedback_report,
    render_gap,
    render_progress,
    render_queued,
    render_reindex_progress,
    render_reindex_report,
    source_link,
)
from bot.discord.split import (
    CONTENT_LIMIT,
    EMBED_TOTAL_LIMIT,
    EMBEDS_PER_MESSAGE,
    embed_fits,
)
from knowledge.answers.citations import cited_numbers
from knowledge.answers.notices import notice_text, refusal_text
from knowledge.feedback import FeedbackReport, QuestionScore
from knowledge.models import (
    Answer,
    Citation,
    IngestFailure,
    IngestReport,
    IngestWarning,
    NoticeCode,
    Pairing,
    RefusalReason,
    Timings,
)
from knowledge.question_log import LoggedQuestion


def citation(n: int, title: str | None = None, url: str | None = None) -> Citation:
    return Citation(
        n=n,
        title=title or f"Article number {n}",
        url=url or f"https://example.com/articles/{n}",
        publisher="Example Review",
        article_id=f"a{n}",
        chunk_id=f"a{n}:0",
        passage="passage",
    )


def assert_within_limits(messages: list[OutgoingMessage]) -> None:
    for message in messages:
        assert len(message.embeds) <= EMBEDS_PER_MESSAGE
        assert sum(len(e) for e in message.embeds) <= EMBED_TOTAL_LIMIT
        assert all(embed_fits(e) for e in message.embeds)
        assert message.content is None or len(message.content) <= CONTENT_LIMIT


def all_text(messages: list[OutgoingMessage]) -> str:
    parts: list[str] = []
    for message in messages:
        for embed in message.embeds:
            parts.append(embed.description or "")
            parts.extend(f.value or "" for f in embed.fields)
    return "\n".join(parts)


def test_answer_embed_has_text_sources_and_footer() -> None:
    answer = Answer(
        text="Keep promises small [1]. Admit mistakes [2].",
        citations=[citation(1, "How teams build trust"), citation(2)],
        mode="llm",
        timings=Timings(total_ms=2_340),
    )

    [message] = render_answer(answer, "How do teams build trust?")

    [embed] = message.embeds
    assert embed.title == "How do teams build trust?"
    # Each marker links to its article.
    assert embed.description == (
        "Keep promises small [\\[1\\]](https://example.com/articles/1). "
        "Admit mistakes [\\[2\\]](https://example.com/articles/2)."
    )
    assert embed.fields[0].name == "Sources"
    assert (embed.fields[0].value or "").splitlines() == [
        "**[1]** [How teams build trust](https://example.com/articles/1) — Example Review",
        "**[2]** [Article number 2](https://example.com/articles/2) — Example Review",
    ]
    assert embed.footer.text == "LLM · 2.3 s"


def test_each_source_shows_publisher_curated_date_and_key_takeaway() -> None:
    curated = datetime(2026, 11, 18, 16, 20, tzinfo=UTC)
    cited = citation(1, "LoRA").model_copy(
        update={"curated": curated, "key_takeaway": "Low-rank updates are enough."}
    )
    local = citation(2, "Team notes").model_copy(update={"url": "", "publisher": ""})
    answer = Answer(
        text="Low rank [1], as the notes say [2].", citations=[cited, local], mode="llm"
    )

    [message] = render_answer(answer, "q")

    embed = message.embeds[0]
    assert (embed.fields[0].value or "").splitlines() == [
        "**[1]** [LoRA](https://example.com/articles/1) — Example Review · curated "
        f"<t:{int(curated.timestamp())}:D>",
        "  *Low-rank updates are enough.*",
        # No web address: the title is plain text, and its marker is not a link.
        "**[2]** Team notes",
    ]
    assert embed.description == (
        "Low rank [\\[1\\]](https://example.com/articles/1), as the notes say [2]."
    )


def test_an_extractive_answer_does_not_repeat_its_takeaways_under_the_sources() -> None:
    cited = citation(1, "LoRA").model_copy(update={"key_takeaway": "Low-rank updates suffice."})
    text = "- Quoted [1]\n\nKey takeaways:\n- LoRA: Low-rank updates suffice. [1]"
    answer = Answer(text=text, citations=[cited], mode="extractive")

    embed = render_answer(answer, "q")[0].embeds[0]

    shown = (embed.description or "") + "".join(str(f.value) for f in embed.fields)
    assert shown.count("Low-rank updates suffice.") == 1


def test_markers_inside_code_are_left_alone() -> None:
    text = (
        "Merge the update [1]:\n\n```python\nW = W + lora_B[1] @ lora_A[0]\n```\n\n"
        "Then read `logits[1]` as usual [1]."
    )
    answer = Answer(text=text, citations=[citation(1)])

    description = render_answer(answer, "q")[0].embeds[0].description or ""

    assert "W = W + lora_B[1] @ lora_A[0]\n```" in description
    assert "`logits[1]`" in description
    assert description.count("](https://example.com/articles/1)") == 2


def test_markers_are_linked_only_where_citation_validation_counted_them() -> None:
    # A double-backtick span and a fence closed by a longer one are code to the validator.
    text = "Call ``x[1]`` here [1].\n\n````\ny[1]\n```\nz[1]\n````\n"
    answer = Answer(text=text, citations=[citation(1)])

    description = render_answer(answer, "q")[0].embeds[0].description or ""

    assert cited_numbers(text) == [1]
    assert "``x[1]``" in description and "\ny[1]\n```\nz[1]\n" in description
    assert description.count("](https://example.com/articles/1)") == 1


def test_extractive_mode_is_named_in_the_footer() -> None:
    answer = Answer(text="Quoted [1].", citations=[citation(1)], mode="extractive")
    [message] = render_answer(answer, "q", elapsed_s=0.42)
    assert message.embeds[0].footer.text == "Extractive (no LLM) · 0.4 s"


def test_long_answer_with_many_sources_is_split_and_nothing_is_lost() -> None:
    paragraphs = [f"Paragraph {i}: " + "insight " * 120 + f"[{i % 40 + 1}]." for i in range(24)]
    citations = [citation(n, "A fairly long article title " * 3) for n in range(1, 41)]
    answer = Answer(text="\n\n".join(paragraphs), citations=citations, mode="llm")

    messages = render_answer(answer, "q" * 400)

    assert len(messages) > 1
    assert_within_limits(messages)
    text = all_text(messages)
    assert text.split().count("insight") == 24 * 120
    for n in range(1, 41):
        assert f"**[{n}]**" in text
    assert messages[0].embeds[0].title is not None and len(messages[0].embeds[0].title) == 256
    assert messages[-1].embeds[-1].footer.text is not None


def test_more_than_25_source_fields_spill_into_another_embed() -> None:
    # Each source line is near 1,000 characters: one field each, 30 fields.
    long_url = "https://example.com/" + "x" * 900
    citations = [citation(n, url=f"{long_url}{n}") for n in range(1, 31)]
    answer = Answer(text="Short [1].", citations=citations)

    messages = render_answer(answer, "q")

    assert_within_limits(messages)
    fields = [f for m in messages for e in m.embeds for f in e.fields]
    assert len(fields) == 30
    assert fields[0].name == "Sources" and fields[1].name == "Sources (continued)"


def test_refused_answer_is_honest_and_offers_the_closest_articles() -> None:
    closest = [citation(1, "Sleep and memory"), citation(2, "How teams build trust")]
    answer = Answer(
        text="The curated articles don't cover this, so I won't guess.",
        refused=True,
        refusal=RefusalReason.NOT_COVERED,
        closest=closest,
    )

    [message] = render_answer(answer, "What is the airspeed of a swallow?")

    [embed] = message.embeds
    assert embed.description == "The curated articles don't cover this, so I won't guess."
    assert embed.fields[0].name == "Closest articles"
    assert "[Sleep and memory](https://example.com/articles/1)" in (embed.fields[0].value or "")
    assert embed.footer.text and embed.footer.text.startswith("Not covered")
    assert embed.colour != render_answer(Answer(text="x [1]."), "q")[0].embeds[0].colour


def test_refusal_without_text_or_closest_still_says_why() -> None:
    [message] = render_answer(Answer(text="", refused=True), "q")
    assert refusal_text(RefusalReason.NOT_COVERED) in (message.embeds[0].description or "")


def test_uncited_answer_is_flagged() -> None:
    answer = Answer(text="Something without sources.", uncited=True)
    [message] = render_answer(answer, "q")
    assert notice_text(NoticeCode.UNCITED) in (message.embeds[0].description or "")
    assert "uncited" in (message.embeds[0].footer.text or "")


def test_uncited_flag_is_not_repeated_when_the_service_added_a_notice() -> None:
    answer = Answer(text="Something.", uncited=True, notices=[NoticeCode.UNCITED])
    [message] = render_answer(answer, "q")
    description = message.embeds[0].description or ""
    assert description.count("cite") == 1 and notice_text(NoticeCode.UNCITED) in description


def test_notices_are_shown() -> None:
    answer = Answer(
        text="Answer [1].", citations=[citation(1)], notices=[NoticeCode.QUESTION_TRUNCATED]
    )
    [message] = render_answer(answer, "q")
    text = notice_text(NoticeCode.QUESTION_TRUNCATED)
    assert f"*{text}*" in (message.embeds[0].description or "")


def test_source_link_escapes_markdown_and_odd_urls() -> None:
    assert source_link("A [weird] *title*", "https://e.com/a (b)") == (
        "[A \\[weird\\] \\*title\\*](https://e.com/a%20%28b%29)"
    )
    # Not a web link: the title alone, never a broken or local link.
    assert source_link("Local file", "/srv/articles/x.md") == "Local file"


def test_progress_shows_a_marker_and_stays_within_content_limit() -> None:
    assert render_progress("") == [THINKING]
    assert render_progress("Partial answer") == ["Partial answer" + CURSOR]


def test_a_long_answer_fills_the_first_message_and_continues_in_the_next() -> None:
    text = "\n\n".join(f"Paragraph {i}: " + "word " * 60 for i in range(20))
    pages = render_progress(text)
    assert len(pages) >= 3
    assert all(len(page) <= CONTENT_LIMIT for page in pages)
    # Nothing is lost and the reading order is kept: the start is in the first message.
    assert pages[0].startswith("Paragraph 0:") and "Paragraph 19:" in pages[-1]
    assert pages[-1].endswith(CURSOR) and not any(p.endswith(CURSOR) for p in pages[:-1])


def test_a_code_fence_open_mid_stream_is_closed_in_every_page() -> None:
    partial = "Run this:\n\n```python\n" + "\n".join(f"x{i} = {i}" for i in range(400))
    pages = render_progress(partial)
    assert len(pages) >= 2
    for page in pages:
        lines = page.splitlines()
        fences = [line for line in lines if line.startswith("```")]
        assert len(fences) % 2 == 0, page[-80:]
    # The cursor never sits on a closing fence's line (that would leave the fence open).
    assert pages[-1].endswith("```\n▌")


def test_queued_placeholder_says_how_many_are_ahead() -> None:
    assert "2 questions ahead" in render_queued(2)
    assert "1 question ahead" in render_queued(1)


def test_reindex_report_lists_counts_and_every_failure() -> None:
    failures = [
        IngestFailure(path=f"/src/file{i}.md", reason="bad front matter") for i in range(60)
    ]
    report = IngestReport(added=2, updated=1, unchanged=11, removed=1, failed=failures)

    messages = render_reindex_report(report, dry_run=False, seconds=3.2)

    assert_within_limits(messages)
    text = all_text(messages)
    assert "**Added** 2" in text and "**Failed** 60" in text
    assert all(f"/src/file{i}.md" in text for i in range(60))
    assert messages[0].embeds[0].title == "Reindex finished"


def test_reindex_report_says_how_many_failures_it_left_out() -> None:
    failures = [IngestFailure(path=f"f{i}", reason="r") for i in range(150)]
    messages = render_reindex_report(IngestReport(failed=failures), dry_run=True, seconds=1)
    text = all_text(messages)
    assert "…and 50 more failures" in text
    assert messages[0].embeds[0].title == "Dry run: what a reindex would do"


def test_reindex_report_names_what_changed_bounded_with_a_count() -> None:
    changes = ReindexChanges(
        added=[f"New article {i}" for i in range(25)], updated=["LoRA"], removed=["Old *one*"]
    )
    report = IngestReport(added=25, updated=1, removed=1)

    text = all_text(render_reindex_report(report, dry_run=False, seconds=1, changes=changes))

    assert "**Added** (25)" in text and "• New article 19" in text
    assert "New article 20" not in text and "…and 5 more." in text
    assert "**Updated** (1)\n• LoRA" in text
    assert "**Removed** (1)\n• Old \\*one\\*" in text


def test_reindex_report_shows_repairs_warnings_and_pairings() -> None:
    report = IngestReport(
        added=1,
        repaired=7,
        warnings=[
            IngestWarning(
                path="/src/interview.txt",
                message="no link to the original: citations will name it without a link",
            )
        ],
        paired=[
            Pairing(
                title="The Bitter Lesson", card="/src/card.txt", article="/src/a.txt", by="title"
            )
        ],
    )

    text = all_text(render_reindex_report(report, dry_run=False, seconds=1))

    assert "**Vectors repaired** 7" in text
    assert "**Warnings** (1)\n• `/src/interview.txt`: no link to the original" in text
    assert "**Paired** (1)\n• The Bitter Lesson (card and article paired by title)" in text


def test_reindex_progress_line() -> None:
    assert render_reindex_progress("embed", 5, 20, False) == "🔄 Reindexing: embedding 5/20 (25%)"
    assert "dry run" in render_reindex_progress("load", 0, 0, True)
    assert "re-embedding the stored text" in render_reindex_progress("reembed", 1, 4, False)


def test_feedback_report_rendering() -> None:
    report = FeedbackReport(
        days=7,
        questions_asked=12,
        gap_count=3,
        ratings=5,
        helpful=4,
        not_helpful=1,
        worst=[
            QuestionScore(
                answer_id="a",
                question="Why is the sky green?",
                helpful=0,
                not_helpful=1,
                reasons=["outdated"],
            )
        ],
        gaps=[
            LoggedQuestion(
                question="What about banana bread?",
                user_hash="h",
                gap=True,
                mode="extractive",
                asked_at=datetime(2025, 1, 1, tzinfo=UTC),
            )
        ],
    )

    [message] = render_feedback_report(report)

    embed = message.embeds[0]
    assert embed.title == "Feedback, last 7 days"
    assert "**Questions asked** 12 · **Content gaps** 3" in (embed.description or "")
    assert "**Helpful** 80%" in (embed.description or "")
    names = [f.name for f in embed.fields]
    assert names == ["Worst rated", "Content gaps"]
    worst = embed.fields[0].value or ""
    assert "Why is the sky green?" in worst and "outdated" in worst
    assert "banana bread" in (embed.fields[1].value or "")


def test_gap_post_names_the_question_and_where() -> None:
    [message] = render_gap("What about banana bread?", "https://discord.com/x", [citation(1)])
    embed = message.embeds[0]
    assert embed.description == "What about banana bread?"
    # Footers render no links: the jump link is a field.
    assert embed.fields[0].name == "Asked in"
    assert embed.fields[0].value == "[Jump to the question](https://discord.com/x)"
    assert "https://" not in (embed.footer.text or "")
    assert isinstance(embed.colour, discord.Colour)


def test_a_runaway_answer_fills_a_bounded_number_of_messages() -> None:
    # A model that ignored its size cap: 200 paragraphs, one of them an open code block.
    paragraphs = [f"Paragraph {i} says something about the articles [1]." * 8 for i in range(200)]
    paragraphs[150] = "```python\n" + "x = 1\n" * 400
    answer = Answer(text="\n\n".join(paragraphs), mode="llm", citations=[citation(1)])

    messages = render_answer(answer, "A long question")

    assert_within_limits(messages)
    text_embeds = [e for m in messages for e in m.embeds if e.description]
    assert len(text_embeds) <= 8
    assert text_embeds[-1].description is not None
    assert text_embeds[-1].description.endswith("*…(cut here: too long to show in Discord)*")
    assert "Paragraph 199" not in all_text(messages)
    # While it streams, too, it never spreads over more than four messages.
    pages = render_progress("\n\n".join(paragraphs))
    assert 1 < len(pages) <= 4
    assert all(len(page) <= 2000 and page.count("```") % 2 == 0 for page in pages)
