"""`curator ask`: a grounded answer with numbered sources, streamed into the terminal."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.live import Live
from rich.markdown import Markdown
from rich.text import Text

from bot.cli.common import (
    SINCE_HELP,
    console,
    linked,
    print_json,
    services_or_exit,
    since_option,
    terminal_text,
    usage_error,
)
from knowledge.answers.links import defuse_masked_links
from knowledge.answers.notices import notice_text
from knowledge.answers.question import clean_question, has_words
from knowledge.errors import InputError
from knowledge.models import Answer, Citation, RefusalReason, SearchFilters
from knowledge.services import Services

# What a refusal's list of articles is, by reason.
_CLOSEST_HEADINGS = {
    RefusalReason.NO_MATCH_FOR_FILTERS: "Without the filters, these articles match:",
}


async def _collect(services: Services, question: str, filters: SearchFilters) -> Answer:
    try:
        return await services.answers.answer(question, filters=filters)
    finally:
        await services.aclose()  # on this loop, which the model client's connections are on


async def _stream(services: Services, question: str, filters: SearchFilters) -> Answer:
    """Show the text as it arrives; the validated Answer replaces it at the end."""
    service = services.answers
    text = ""
    final: Answer | None = None
    try:
        if not console.is_terminal:
            # Live redraws only in a terminal; piped, `ask` prints the answer once, complete.
            async for item in service.stream(question, filters=filters):
                if isinstance(item, Answer):
                    final = item
            assert final is not None, "AnswerService.stream always ends with an Answer"
            return final
        with Live(Markdown(""), console=console, refresh_per_second=8) as live:
            async for item in service.stream(question, filters=filters):
                if isinstance(item, Answer):
                    final = item
                    live.update(Markdown(answer_body(item)))
                else:
                    text += item
                    # Provisional text is article-derived too: no masked link, even briefly.
                    live.update(Markdown(terminal_text(defuse_masked_links(text).text)))
    finally:
        await services.aclose()
    assert final is not None, "AnswerService.stream always ends with an Answer"
    # Live leaves the cursor on its last line when the output is not a terminal.
    console.print()
    return final


def answer_body(answer: Answer) -> str:
    """The answer's text as raw Markdown (never read as rich markup), with anything that
    would drive the terminal removed; a refusal's closest articles are not in its text."""
    return terminal_text(answer.text)


def _citation_lines(citations: list[Citation], takeaways: bool = False) -> list[Text]:
    """Per article: number, title (a hyperlink when it has a URL), publisher and curated date;
    its URL on the next line when it has one; its key takeaway when asked."""
    lines = []
    for c in citations:
        line = Text("  ")
        line.append(f"[{c.n}]", style="bold")
        line.append(" ")
        line.append_text(linked(c.title, c.url))
        about = [terminal_text(c.publisher)] if c.publisher else []
        if c.curated is not None:
            about.append(f"curated {c.curated.date().isoformat()}")
        if about:
            line.append(" — " + " · ".join(about))
        lines.append(line)
        # No link to the original: named by title and publisher, nothing to click.
        if c.url:
            lines.append(Text("      ").append_text(linked(c.url, c.url, style="blue")))
        if takeaways and c.key_takeaway:
            lines.append(Text("      " + terminal_text(c.key_takeaway), style="dim"))
    return lines


def render_footer(answer: Answer) -> None:
    """Notices, mode and the numbered sources (or the articles a refusal offers instead)."""
    for notice in answer.notices:
        console.print(Text(f"! {notice_text(notice)}", style="yellow"))
    if answer.refused:
        if answer.closest:
            heading = "Closest articles:"
            if answer.refusal is not None:
                heading = _CLOSEST_HEADINGS.get(answer.refusal, heading)
            console.print(Text(f"\n{heading}", style="bold"))
            for line in _citation_lines(answer.closest):
                console.print(line)
        return
    if answer.mode == "extractive":
        console.print("[dim]Extractive answer: quoted from the articles, no language model.[/dim]")
    if answer.citations:
        console.print("\n[bold]Sources:[/bold]")
        # An extractive answer already lists the takeaways of the articles it quotes.
        for line in _citation_lines(answer.citations, takeaways=answer.mode == "llm"):
            console.print(line)


def ask(
    question: Annotated[str, typer.Argument(help="Your question, in quotes.")],
    topic: Annotated[str | None, typer.Option(help="Only articles on this topic.")] = None,
    since: Annotated[str | None, typer.Option(help=SINCE_HELP)] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the Answer as JSON (no streaming).")
    ] = False,
    no_stream: Annotated[
        bool, typer.Option("--no-stream", help="Print the answer once it is complete.")
    ] = False,
) -> None:
    """Answer a question from the curated articles, citing them by number."""
    try:
        clean = clean_question(question, max_chars=len(question) + 1)
    except InputError as exc:
        raise usage_error(exc.user_message, as_json, "empty_question") from exc
    if not has_words(clean.text):
        # Punctuation alone matches nothing: the same mistake as an empty question.
        raise usage_error(
            f"Please ask a question: “{clean.text[:40]}” has no words.", as_json, "empty_question"
        )
    filters = SearchFilters(topic=topic, since=since_option(since))
    with services_or_exit() as services:
        if as_json or no_stream:
            answer = asyncio.run(_collect(services, question, filters))
        else:
            answer = asyncio.run(_stream(services, question, filters))
    if as_json:
        print_json(answer.as_json())
        return
    if not console.is_terminal:
        # The raw Markdown itself: rendering would pad lines and crop long list items.
        console.print(Text(answer_body(answer)))
    elif no_stream:
        console.print(Markdown(answer_body(answer)))
    render_footer(answer)


def register(app: typer.Typer) -> None:
    app.command()(ask)
