"""`curator ask`: a grounded answer with numbered sources, streamed into the terminal."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.live import Live
from rich.markdown import Markdown
from rich.markup import escape

from bot.cli.common import console, print_json, services_or_exit
from bot.cli.index_commands import parse_day
from knowledge.answers.service import AnswerService
from knowledge.models import Answer, Citation, SearchFilters


async def _collect(service: AnswerService, question: str, filters: SearchFilters) -> Answer:
    try:
        return await service.answer(question, filters=filters)
    finally:
        await service.aclose()


async def _stream(service: AnswerService, question: str, filters: SearchFilters) -> Answer:
    """Show the text as it arrives; the validated Answer replaces it at the end."""
    text = ""
    final: Answer | None = None
    try:
        with Live(Markdown(""), console=console, refresh_per_second=8) as live:
            async for item in service.stream(question, filters=filters):
                if isinstance(item, Answer):
                    final = item
                    live.update(Markdown(answer_body(item)))
                else:
                    text += item
                    live.update(Markdown(text))
    finally:
        await service.aclose()
    assert final is not None, "AnswerService.stream always ends with an Answer"
    # Live leaves the cursor on its last line when the output is not a terminal.
    console.print()
    return final


def answer_body(answer: Answer) -> str:
    """The text to show; a refusal's plain list of titles gives way to the linked one below."""
    if answer.refused and answer.closest:
        return answer.text.split("Closest articles:")[0].strip()
    return answer.text


def _citation_lines(citations: list[Citation], takeaways: bool = False) -> list[str]:
    """Two lines per article (title, publisher and curated date; its URL), and its takeaway."""
    lines = []
    for c in citations:
        about = [escape(c.source)] if c.source else []
        if c.curated is not None:
            about.append(f"curated {c.curated.date().isoformat()}")
        details = f" — {' · '.join(about)}" if about else ""
        if c.url:
            lines.append(f"  [bold][{c.n}][/bold] [link={c.url}]{escape(c.title)}[/link]{details}")
            lines.append(f"      [blue]{escape(c.url)}[/blue]")
        else:
            # No link to the original: named by title and publisher, nothing to click.
            lines.append(f"  [bold][{c.n}][/bold] {escape(c.title)}{details}")
        if takeaways and c.key_takeaway:
            lines.append(f"      [dim]{escape(c.key_takeaway)}[/dim]")
    return lines


def render_footer(answer: Answer) -> None:
    """Mode, notices and the numbered sources (or the closest articles of a refusal)."""
    for notice in answer.notices:
        console.print(f"[yellow]! {escape(notice)}[/yellow]")
    if answer.refused:
        if answer.closest:
            console.print("\n[bold]Closest articles:[/bold]")
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
    since: Annotated[str | None, typer.Option(help="Curated on or after YYYY-MM-DD.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the Answer as JSON (no streaming).")
    ] = False,
    no_stream: Annotated[
        bool, typer.Option("--no-stream", help="Print the answer once it is complete.")
    ] = False,
) -> None:
    """Answer a question from the curated articles, citing them by number."""
    filters = SearchFilters(topic=topic, since=parse_day(since, "--since"))
    with services_or_exit() as services:
        service = services.answers
        if as_json or no_stream:
            answer = asyncio.run(_collect(service, question, filters))
        else:
            answer = asyncio.run(_stream(service, question, filters))
    if as_json:
        print_json(answer.as_json())
        return
    if no_stream:
        console.print(Markdown(answer_body(answer)))
    render_footer(answer)


def register(app: typer.Typer) -> None:
    app.command()(ask)
