"""`curator latest`, `curator recommend` and `curator article`: the collection's own cards."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from bot.cli.common import (
    console,
    linked,
    markup_safe,
    print_error,
    print_json,
    report_unknown_filters,
    services_or_exit,
    terminal_text,
)
from knowledge import curation
from knowledge.errors import InputError
from knowledge.models import Article


def card_json(article: Article, **extra: object) -> dict[str, Any]:
    """The JSON shape of one card in these commands' --json output."""
    return {
        "article_id": article.id,
        "title": article.title,
        "url": article.url,
        "publisher": article.publisher,
        "curated": article.curated.isoformat() if article.curated else None,
        "depth": article.depth,
        "topics": article.topics,
        "best_for": article.best_for,
        "key_takeaway": article.key_takeaway,
        **extra,
    }


def _cards_table(heading: str, articles: list[Article], best_for: list[str] | None = None) -> Table:
    # The heading may quote the --topic given: never read as markup.
    table = Table(title=Text(terminal_text(heading)), show_lines=True)
    table.add_column("curated", no_wrap=True)
    table.add_column("article", overflow="fold")
    table.add_column("publisher")
    table.add_column("depth")
    for index, a in enumerate(articles):
        curated = a.curated.strftime("%Y-%m-%d") if a.curated else "—"
        cell = linked(a.title, a.url, style="bold")
        if a.key_takeaway:
            cell.append("\n" + terminal_text(a.key_takeaway), style="italic")
        if best_for is not None and best_for[index]:
            cell.append(f"\nBest for: {terminal_text(best_for[index])}")
        table.add_row(curated, cell, Text(terminal_text(a.publisher)), Text(terminal_text(a.depth)))
    return table


def _cards_lines(heading: str, articles: list[Article], best_for: list[str] | None = None) -> Text:
    """The cards as plain lines for a pipe or a file: no box and no padding, each card's URL
    whole on its own line, a blank line between cards."""
    lines = [terminal_text(heading)]
    for index, a in enumerate(articles):
        curated = a.curated.strftime("%Y-%m-%d") if a.curated else "—"
        about = " · ".join(p for p in (curated, a.title, a.publisher, a.depth) if p)
        lines += ["", terminal_text(about)]
        lines += [
            "  " + terminal_text(line)
            for line in (
                a.url,
                " ".join(a.key_takeaway.split()),
                f"Best for: {best_for[index]}" if best_for is not None and best_for[index] else "",
            )
            if line
        ]
    return Text("\n".join(lines))


def _print_cards(heading: str, articles: list[Article], best_for: list[str] | None = None) -> None:
    """A table in a terminal; plain lines elsewhere, as the README promises for piped output."""
    if console.is_terminal:
        console.print(_cards_table(heading, articles, best_for))
    else:
        console.print(_cards_lines(heading, articles, best_for))


_TITLES_HINT = "`curator articles` lists every title"


def paragraphs(text: str) -> str:
    """Card text as a terminal shows it best: soft-wrapped file lines joined into one line per
    paragraph; blank lines between paragraphs and list items ("- ", "* ", "• ", "1. ") kept."""
    blocks = []
    for block in re.split(r"\n[ \t]*\n", text.strip()):
        lines: list[str] = []
        for raw in block.splitlines():
            line = raw.strip()
            if not line:
                continue
            if lines and not _LIST_ITEM.match(line):
                lines[-1] += " " + line
            else:
                lines.append(line)
        blocks.append("\n".join(lines))
    return "\n\n".join(b for b in blocks if b)


_LIST_ITEM = re.compile(r"(?:[-*+•]|\d{1,3}[.)])\s")


def _fail(exc: InputError) -> typer.Exit:
    # The message quotes what was typed: never read as markup.
    print_error(exc.user_message)
    return typer.Exit(2)


def latest(
    topic: Annotated[str | None, typer.Option(help="Only articles on this topic.")] = None,
    days: Annotated[
        int | None, typer.Option(help="Only articles curated in the last N days.", min=1)
    ] = None,
    limit: Annotated[int, typer.Option(help="How many articles.", min=1, max=25)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """The newest curated articles, newest first."""
    with services_or_exit() as services:
        try:
            found = curation.latest(services.index, topic, days, limit=limit)
        except InputError as exc:
            raise _fail(exc) from exc
        unknown = not found and report_unknown_filters(services.index, topic)
    if as_json:
        print_json([card_json(a) for a in found])
        return
    if not found:
        if not unknown:  # an unknown topic was already named on stderr
            scope = f" on {topic}" if topic else ""
            period = f" in the last {days} days" if days else ""
            console.print(f"No articles{markup_safe(scope)} were curated{period}.")
        return
    _print_cards(f"Latest articles{' on ' + topic if topic else ''}", found)


def recommend(
    role: Annotated[
        str | None, typer.Option(help="Who you are, e.g. 'engineers building search'.")
    ] = None,
    depth: Annotated[str | None, typer.Option(help="intro, intermediate or deep.")] = None,
    topic: Annotated[str | None, typer.Option(help="What it should be about.")] = None,
    limit: Annotated[int, typer.Option(help="How many articles.", min=1, max=25)] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Articles whose 'best for' and depth match, ranked by how well they fit the topic."""
    with services_or_exit() as services:
        try:
            picks = curation.recommend(services.index, role, depth, topic, limit=limit)
        except InputError as exc:
            raise _fail(exc) from exc
        # The topic ranks cards by their words too, so picks can come without an exact topic:
        # named on stderr as search, latest and articles name it, with the closest known ones.
        unknown = report_unknown_filters(services.index, topic)
    if as_json:
        print_json(
            [
                card_json(
                    p.article,
                    matched_best_for=p.best_for,
                    role_fit=round(p.role_fit, 3),
                    topic_fit=round(p.topic_fit, 3),
                )
                for p in picks
            ]
        )
        return
    if not picks:
        if not unknown:
            console.print(_no_fit(role, depth, topic))
        return
    articles = [p.article for p in picks]
    _print_cards("Recommended reading", articles, [p.best_for for p in picks])


def _no_fit(role: str | None, depth: str | None, topic: str | None) -> str:
    """Why nothing was recommended, suggesting only changes to what was given."""
    hints = [
        hint
        for given, hint in (
            (role, "a broader role"),
            (topic, "another topic"),
            (depth, "leaving out the depth"),
        )
        if given and given.strip()
    ]
    if not hints:
        return "No articles are indexed yet: run `curator ingest` or `curator reindex`."
    return "No curated article fits; try " + " or ".join(hints) + "."


def article(
    title: Annotated[str, typer.Argument(help="The title, or the start of it.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """One curated article's card in full."""
    with services_or_exit() as services:
        try:
            card = curation.find_article(services.index, title, hint=_TITLES_HINT)
        except InputError as exc:
            raise _fail(exc) from exc
    if as_json:
        print_json(
            card_json(
                card, summary=card.summary, key_insights=card.key_insights, author=card.author
            )
        )
        return
    console.print(linked(card.title, card.url, style="bold"))
    about = [card.author, card.publisher, card.curated.strftime("%Y-%m-%d") if card.curated else ""]
    console.print(Text(terminal_text(" · ".join(p for p in [*about, card.depth] if p))))
    if card.url.startswith(("http://", "https://")):
        console.print(linked(card.url, card.url, style="blue"))
    for heading, body in (
        ("Summary", [paragraphs(card.summary)] if card.summary else []),
        ("Key takeaway", [paragraphs(card.key_takeaway)] if card.key_takeaway else []),
        ("Key insights", [f"• {paragraphs(i)}" for i in card.key_insights]),
        ("Best for", [f"• {paragraphs(b)}" for b in card.best_for]),
        ("Topics", [", ".join(card.topics)] if card.topics else []),
    ):
        if body:
            console.print(f"\n[bold]{heading}[/bold]")
            for line in body:
                console.print(Text(terminal_text(line)))


def register(app: typer.Typer) -> None:
    app.command()(latest)
    app.command()(recommend)
    app.command()(article)
