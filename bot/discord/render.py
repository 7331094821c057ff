"""Answers, reports and progress as Discord messages: pure functions, each within the limits."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import discord

from bot.discord.reindex_changes import ReindexChanges
from bot.discord.split import (
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_VALUE_LIMIT,
    FIELDS_PER_EMBED,
    TITLE_LIMIT,
    close_open_fence,
    group_embeds,
    split_lines,
    split_markdown,
    truncate,
)
from knowledge.answers.notices import notice_text, refusal_text
from knowledge.feedback import FeedbackReport
from knowledge.index_writer import STAGE_LABELS
from knowledge.markdown_code import map_prose, markdown_lines
from knowledge.models import Answer, Citation, IngestReport, NoticeCode, RefusalReason

THINKING = "…thinking"
CURSOR = " ▌"

ANSWER_COLOUR = discord.Colour.blurple()
REFUSED_COLOUR = discord.Colour.orange()
ADMIN_COLOUR = discord.Colour.dark_teal()

# Footers are set last, so room is kept for them while fields are packed.
FOOTER_RESERVE = 200
MAX_FAILURES_SHOWN = 100
MAX_TITLES_SHOWN = 20
#: The most embeds an answer's text may fill, and the most messages a streaming answer may
#: fill: a runaway reply never turns into a flood of messages (the LLM's size cap comes first).
MAX_TEXT_EMBEDS = 8
MAX_PROGRESS_PAGES = 4
CUT_NOTE = "*…(cut here: too long to show in Discord)*"

MODE_LABELS = {"llm": "LLM", "extractive": "Extractive (no LLM)"}


@dataclass
class OutgoingMessage:
    """One message to post: content and/or embeds, already within Discord's limits."""

    content: str | None = None
    embeds: list[discord.Embed] = field(default_factory=list)


def format_seconds(seconds: float) -> str:
    """Short human duration for footers: '0.4 s', '12 s', '3 min 5 s'."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def _escape_label(text: str) -> str:
    escaped = discord.utils.escape_markdown(text.replace("\n", " "))
    return escaped.replace("[", "\\[").replace("]", "\\]")


def source_link(title: str, url: str) -> str:
    """A markdown link to the original article; plain text when the URL is not http(s)."""
    label = _escape_label(truncate(title.strip() or url, 200))
    if not url.startswith(("http://", "https://")):
        return label
    # Parentheses and spaces would end the markdown link early.
    safe = url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"[{label}]({safe})"


def source_line(citation: Citation, numbered: bool = True, takeaway: bool = True) -> str:
    """'**[n]** [Title](url) — publisher · curated <date>', then the card's key takeaway
    (unless `takeaway` is False).

    The title is a link only when the article has a web address; the date is a Discord
    timestamp (rendered in the reader's locale), which works in fields, not in footers.
    """
    head = f"**[{citation.n}]** " if numbered else "• "
    about = [_escape_label(truncate(citation.publisher, 100))] if citation.publisher else []
    if citation.curated is not None:
        about.append(f"curated {discord.utils.format_dt(citation.curated, 'D')}")
    tail = f" — {' · '.join(about)}" if about else ""
    line = f"{head}{source_link(citation.title, citation.url)}{tail}"
    if takeaway and citation.key_takeaway.strip():
        line += f"\n  *{_escape_label(truncate(citation.key_takeaway.strip(), 300))}*"
    return line


_MARKER = re.compile(r"(?<![\\\]])\[(\d{1,3})\](?!\()")


def link_markers(text: str, citations: Sequence[Citation]) -> str:
    """`[n]` markers as links to article n (when it has a web address); code left untouched."""
    urls = {
        c.n: c.url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
        for c in citations
        if c.url.startswith(("http://", "https://"))
    }
    if not urls:
        return text

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        return f"[\\[{n}\\]]({urls[n]})" if n in urls else match.group(0)

    # Code is found as citation validation finds it, so only markers it counted are linked.
    return map_prose(text, lambda prose: _MARKER.sub(link, prose))


def fields_embeds(
    first: discord.Embed, name: str, lines: Sequence[str], colour: discord.Colour
) -> list[discord.Embed]:
    """Add `lines` as fields named `name` to `first`, spilling into new embeds as needed."""
    embeds = [first]
    current = first
    values = split_lines(lines, FIELD_VALUE_LIMIT)
    for index, value in enumerate(values):
        field_name = name if index == 0 else f"{name} (continued)"
        too_many = len(current.fields) >= FIELDS_PER_EMBED
        too_big = len(current) + len(field_name) + len(value) > EMBED_TOTAL_LIMIT - FOOTER_RESERVE
        if too_many or too_big:
            current = discord.Embed(colour=colour)
            embeds.append(current)
        current.add_field(name=field_name, value=value, inline=False)
    return embeds


def _text_embeds(title: str, text: str, colour: discord.Colour) -> list[discord.Embed]:
    chunks = split_markdown(text, DESCRIPTION_LIMIT) or ["(empty answer)"]
    if len(chunks) > MAX_TEXT_EMBEDS:
        chunks = chunks[:MAX_TEXT_EMBEDS]
        chunks[-1] = _with_cut_note(chunks[-1], DESCRIPTION_LIMIT)
    embeds = [discord.Embed(description=chunk, colour=colour) for chunk in chunks]
    embeds[0].title = truncate(title, TITLE_LIMIT) if title else None
    return embeds


def _with_cut_note(chunk: str, limit: int) -> str:
    """`chunk` ending with the cut note, within `limit` characters, any code fence closed."""
    room = limit - len(CUT_NOTE) - 8
    return close_open_fence(truncate(chunk, room)) + "\n" + CUT_NOTE


def finish_messages(
    embeds: list[discord.Embed], footer: str, content: str | None = None
) -> list[OutgoingMessage]:
    """`footer` on the last embed, the embeds grouped into messages, `content` on the first."""
    embeds[-1].set_footer(text=truncate(footer, FOOTER_RESERVE))
    groups = group_embeds(embeds)
    messages = [OutgoingMessage(embeds=group) for group in groups]
    if content:
        messages[0].content = truncate(content, CONTENT_LIMIT)
    return messages


def render_answer(
    answer: Answer,
    question: str = "",
    elapsed_s: float | None = None,
    notes: Sequence[str] = (),
) -> list[OutgoingMessage]:
    """The answer embed(s): text with [n] markers, numbered linked sources, mode and time;
    `notes` are the front end's own lines (e.g. the channel's scope), shown after notices."""
    if answer.refused:
        return render_refusal(answer, question, elapsed_s, notes)
    seconds = answer.timings.total_ms / 1000 if answer.timings.total_ms else (elapsed_s or 0.0)
    parts = [link_markers(answer.text.strip(), answer.citations)]
    notices = list(answer.notices)
    # The answer service usually explains a missing citation in a notice already.
    if answer.uncited and NoticeCode.UNCITED not in notices:
        notices.append(NoticeCode.UNCITED)
    parts.extend(f"*{notice_text(notice)}*" for notice in notices)
    parts.extend(f"*{note}*" for note in notes)
    embeds = _text_embeds(question or answer.question, "\n\n".join(parts), ANSWER_COLOUR)
    if answer.citations:
        # An extractive answer's text lists the takeaways of the articles it quotes already.
        takeaways = answer.mode == "llm"
        cited = sorted(answer.citations, key=lambda c: c.n)
        lines = [source_line(c, takeaway=takeaways) for c in cited]
        embeds = embeds[:-1] + fields_embeds(embeds[-1], "Sources", lines, ANSWER_COLOUR)
    mode = MODE_LABELS.get(answer.mode, answer.mode)
    flag = " · uncited" if answer.uncited else ""
    return finish_messages(embeds, f"{mode} · {format_seconds(seconds)}{flag}")


# By refusal reason: the footer, and the name of the list of articles offered instead.
_REFUSAL_FOOTERS = {
    RefusalReason.NO_MATCH_FOR_FILTERS: "Nothing matches the filters",
    RefusalReason.NOT_IN_LANGUAGE: "Question not in the collection's language",
}
_CLOSEST_NAMES = {RefusalReason.NO_MATCH_FOR_FILTERS: "Matching without the filters"}


def render_refusal(
    answer: Answer,
    question: str = "",
    elapsed_s: float | None = None,
    notes: Sequence[str] = (),
) -> list[OutgoingMessage]:
    """The honest refusal, worded by its reason, offering the closest articles when there are
    any (the service keeps them out of the text)."""
    seconds = answer.timings.total_ms / 1000 if answer.timings.total_ms else (elapsed_s or 0.0)
    reason = answer.refusal or RefusalReason.NOT_COVERED
    parts = [answer.text.strip() or refusal_text(reason)]
    parts.extend(f"*{notice_text(notice)}*" for notice in answer.notices)
    parts.extend(f"*{note}*" for note in notes)
    embeds = _text_embeds(question or answer.question, "\n\n".join(parts), REFUSED_COLOUR)
    if answer.closest:
        name = _CLOSEST_NAMES.get(reason, "Closest articles")
        lines = [source_line(c, numbered=False) for c in answer.closest]
        embeds = embeds[:-1] + fields_embeds(embeds[-1], name, lines, REFUSED_COLOUR)
    footer = _REFUSAL_FOOTERS.get(reason, "Not covered by the collection")
    return finish_messages(embeds, f"{footer} · {format_seconds(seconds)}")


def render_progress(text: str) -> list[str]:
    """The in-progress messages while an answer streams: the text so far, then a cursor.

    A long answer fills one message and continues in the next; a code fence still open in
    the partial text is closed, so nothing renders as a runaway code block mid-stream.
    """
    if not text.strip():
        return [THINKING]
    # Room for the cursor and for a fence closed at the end.
    pages = split_markdown(close_open_fence(text), CONTENT_LIMIT - len(CURSOR) - 8)
    if not pages:
        return [THINKING]
    if len(pages) > MAX_PROGRESS_PAGES:
        # The rest arrives in the final answer (itself bounded); the stream stops growing.
        pages = pages[:MAX_PROGRESS_PAGES]
    last = pages[-1]
    # A closing fence must stand alone on its line, so the cursor goes below it.
    lines = list(markdown_lines(last.rstrip()))
    ends_a_block = bool(lines) and lines[-1].kind == "closing"
    pages[-1] = last + ("\n" + CURSOR.strip() if ends_a_block else CURSOR)
    return pages


def render_ready(user_id: int, jump_url: str) -> str:
    """The ping a queued member gets when their answer lands (mentions only them)."""
    return f"<@{user_id}> your answer is ready: {jump_url}"


def render_queued(ahead: int) -> str:
    """Placeholder while a question waits for a free answering slot."""
    noun = "question" if ahead == 1 else "questions"
    return f"⏳ Busy right now: {ahead} {noun} ahead of yours. I'll answer as soon as I can."


def render_gap(question: str, where: str, closest: Sequence[Citation]) -> list[OutgoingMessage]:
    """A post for the moderators' content-gaps channel: a question the collection missed.

    `where` is a jump URL or a channel mention; it goes in a field, where Discord renders
    links (a footer shows them as plain text).
    """
    embed = discord.Embed(
        title="Question not covered by the collection",
        description=truncate(question, DESCRIPTION_LIMIT),
        colour=REFUSED_COLOUR,
    )
    if where.startswith(("https://", "http://")):
        embed.add_field(name="Asked in", value=f"[Jump to the question]({where})", inline=False)
    elif where:
        embed.add_field(name="Asked in", value=truncate(where, FIELD_VALUE_LIMIT), inline=False)
    embeds = [embed]
    if closest:
        lines = [source_line(c, numbered=False) for c in closest]
        embeds = fields_embeds(embed, "Closest articles", lines, REFUSED_COLOUR)
    return finish_messages(embeds, "A member's question" if where else "Asked by a member")


def render_reindex_progress(stage: str, done: int, total: int, dry_run: bool) -> str:
    """One line of reindex progress for the edited status message."""
    verb = "Checking (dry run)" if dry_run else "Reindexing"
    label = STAGE_LABELS.get(stage, stage)
    if total > 0:
        percent = min(100, round(100 * done / total))
        return f"🔄 {verb}: {label} {done}/{total} ({percent}%)"
    return f"🔄 {verb}: {label}…"


def _bounded(title: str, items: Sequence[str], limit: int) -> list[str]:
    """A bold heading and at most `limit` items, then how many more there are."""
    if not items:
        return []
    lines = [f"**{title}** ({len(items)})"]
    lines.extend(f"• {item}" for item in items[:limit])
    if len(items) > limit:
        lines.append(f"…and {len(items) - limit} more.")
    return lines


def render_reindex_report(
    report: IngestReport,
    dry_run: bool,
    seconds: float,
    changes: ReindexChanges | None = None,
) -> list[OutgoingMessage]:
    """Counts, then what was added, updated, removed and failed (each bounded, with a count)."""
    title = "Dry run: what a reindex would do" if dry_run else "Reindex finished"
    counts = (
        f"**Added** {report.added} · **Updated** {report.updated} · "
        f"**Unchanged** {report.unchanged} · **Removed** {report.removed} · "
        f"**Failed** {len(report.failed)}"
        + (f" · **Vectors repaired** {report.repaired}" if report.repaired else "")
    )
    lines = [counts]
    if changes is not None:
        for heading, titles in (
            ("Added", changes.added),
            ("Updated", changes.updated),
            ("Removed", changes.removed),
        ):
            named = [_escape_label(truncate(t, 200)) for t in titles]
            lines.extend(["", *_bounded(heading, named, MAX_TITLES_SHOWN)] if named else [])
    warnings = [f"`{truncate(w.path, 300)}`: {truncate(w.message, 500)}" for w in report.warnings]
    if warnings:
        lines.extend(["", *_bounded("Warnings", warnings, MAX_FAILURES_SHOWN)])
    pairs = [
        f"{_escape_label(truncate(p.title, 200))} (card and article paired by {p.by})"
        for p in report.paired
    ]
    if pairs:
        lines.extend(["", *_bounded("Paired", pairs, MAX_TITLES_SHOWN)])
    failures = [f"`{truncate(f.path, 300)}`: {truncate(f.reason, 500)}" for f in report.failed]
    if failures:
        lines.extend(["", *_bounded("Failures", failures, MAX_FAILURES_SHOWN)])
        if len(failures) > MAX_FAILURES_SHOWN:
            lines[-1] = (
                f"…and {len(failures) - MAX_FAILURES_SHOWN} more failures, in the bot's log."
            )
    embeds = [
        discord.Embed(description=chunk, colour=ADMIN_COLOUR)
        for chunk in split_lines(lines, DESCRIPTION_LIMIT)
    ]
    embeds[0].title = title
    return finish_messages(embeds, format_seconds(seconds))


def _linked_question(question: str, link: str | None) -> str:
    """A reported question, linked to its answer when the answer's message is known."""
    label = _escape_label(truncate(question, 200))
    if link and link.startswith("https://"):
        return f"[{label}]({link})"
    return label


def render_feedback_report(
    report: FeedbackReport, links: Mapping[str, str] | None = None
) -> list[OutgoingMessage]:
    """The moderators' summary: counts, helpful ratio, worst-rated questions and content gaps.

    `links` maps answer ids to the jump URLs of their messages; each listed item links there.
    """
    links = links or {}
    ratio = "n/a" if report.helpful_ratio is None else f"{report.helpful_ratio:.0%}"
    days = f"{report.days:g}"
    lines = [
        f"**Questions asked** {report.questions_asked} · **Content gaps** {report.gap_count}",
        f"**Ratings** {report.ratings} · 👍 {report.helpful} · 👎 {report.not_helpful} · "
        f"**Helpful** {ratio}",
    ]
    embed = discord.Embed(
        title=f"Feedback, last {days} day{'s' if days != '1' else ''}",
        description="\n".join(lines),
        colour=ADMIN_COLOUR,
    )
    embeds = [embed]
    if report.worst:
        worst = []
        for score in report.worst:
            reasons = "; ".join(truncate(r, 200) for r in score.reasons[:3])
            line = f"• {_linked_question(score.question, links.get(score.answer_id))}"
            line += f" — 👎 {score.not_helpful} / 👍 {score.helpful}"
            line += f" — “{_escape_label(reasons)}”" if reasons else ""
            worst.append(line)
        embeds = embeds[:-1] + fields_embeds(embeds[-1], "Worst rated", worst, ADMIN_COLOUR)
    if report.gaps:
        gaps = [
            f"• {_linked_question(q.question, links.get(q.answer_id or ''))} "
            f"({discord.utils.format_dt(q.asked_at, 'R')})"
            for q in report.gaps
        ]
        embeds = embeds[:-1] + fields_embeds(embeds[-1], "Content gaps", gaps, ADMIN_COLOUR)
    return finish_messages(embeds, "Users are stored only as salted hashes.")


def render_error(message: str, error_id: str | None = None) -> str:
    """The reply when something failed: the reason, and the id to find it in the log."""
    text = message if error_id is None else f"{message} (error id `{error_id}`)"
    return truncate(text, CONTENT_LIMIT)
