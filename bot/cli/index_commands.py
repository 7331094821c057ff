"""`curator ingest | reindex | search | stats | articles`."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from bot.cli.common import (
    SINCE_HELP,
    console,
    err_console,
    linked,
    markup_safe,
    print_error,
    print_json,
    report_unknown_filters,
    services_or_exit,
    since_option,
    terminal_text,
    usage_error,
)
from knowledge import refresh as refresh_module
from knowledge.index import KnowledgeIndex, SearchMode
from knowledge.index_writer import STAGE_LABELS
from knowledge.index_writer import Progress as ProgressFn
from knowledge.models import Hit, IngestFailure, IngestReport, SearchFilters
from knowledge.refresh import Refresher, RefreshOutcome, refresh_off_reason, run_on_schedule


@contextmanager
def progress_bar(enabled: bool) -> Iterator[ProgressFn | None]:
    """A rich progress display driven by the index's (stage, done, total) callbacks; only on a
    terminal: elsewhere it would show nothing but leave a blank line on stderr."""
    if not enabled or not err_console.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(
                    STAGE_LABELS.get(stage, stage).capitalize(), total=total or 1
                )
            bar.update(tasks[stage], completed=done, total=total or 1)

        yield update


def _show_report(
    report: IngestReport, as_json: bool, dry_run: bool = False, rebuilt: bool = False
) -> None:
    if as_json:
        print_json(report.as_json())
        return
    title = "Would change" if dry_run else "Indexed"
    # After --rebuild, `repaired` counts the chunks re-embedded on request, not damage found.
    repaired = (
        f", re-embedded {report.repaired} chunks"
        if rebuilt
        else (f", {report.repaired} vectors repaired" if report.repaired else "")
    )
    console.print(
        f"[bold]{title}:[/bold] {report.added} added, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.removed} removed, {len(report.failed)} failed"
        + repaired
    )
    _print_failures(report.failed)
    for warning in report.warnings:
        console.print(
            f"  [yellow]![/yellow] {markup_safe(warning.path)}: {markup_safe(warning.message)}"
        )
    for pairing in report.paired:
        console.print(
            f"  [green]⇄[/green] paired by {pairing.by}: {markup_safe(pairing.card)} + "
            f"{markup_safe(pairing.article)} → {markup_safe(pairing.title)}"
        )
    if report.skipped:
        console.print(
            f"  [dim]skipped {len(report.skipped)} file(s) (unsupported type, or a folder's "
            "README, LICENSE or CHANGELOG):[/dim]"
        )
        for path in report.skipped:
            console.print(f"    [dim]{markup_safe(path)}[/dim]")


def _print_failures(failures: list[IngestFailure]) -> None:
    for failure in failures:
        console.print(f"  [red]✗[/red] {markup_safe(failure.path)}: {markup_safe(failure.reason)}")


def _exit_if_failed(report: IngestReport) -> None:
    """Exit status 1 when any source failed, so scripts notice; the rest was still indexed."""
    if report.failed:
        raise typer.Exit(1)


def ingest(
    paths: Annotated[list[str], typer.Argument(help="Files, folders, feed or page URLs.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Add or update articles from files, folders, feeds or web pages."""
    with services_or_exit() as services, progress_bar(not as_json) as progress:
        report = services.index.ingest(paths, progress=progress)
    _show_report(report, as_json)
    _exit_if_failed(report)


def reindex(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would change.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    rebuild: Annotated[
        bool,
        typer.Option("--rebuild", help="Re-embed every chunk from the stored text first."),
    ] = False,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Keep running: refresh every CURATOR_KNOWLEDGE__REFRESH_MINUTES (unchanged "
            "feeds and pages cost one small request), as the bot does. Ctrl-C stops.",
        ),
    ] = False,
) -> None:
    """Re-read the configured sources: add, update and remove to match them."""
    if watch:
        if dry_run:
            raise typer.BadParameter(
                "--watch changes the index; drop --dry-run", param_hint="--watch"
            )
        _watch(as_json)
        return
    with services_or_exit() as services, progress_bar(not as_json) as progress:
        if rebuild and not services.settings.knowledge.sources:
            report = services.index.rebuild(progress=progress)
        else:
            report = services.index.reindex(dry_run=dry_run, progress=progress, rebuild=rebuild)
    _show_report(report, as_json, dry_run=dry_run, rebuilt=rebuild and not dry_run)
    _exit_if_failed(report)


@contextmanager
def _quiet_refresh_log() -> Iterator[None]:
    """While watching, each refresh is printed by the CLI itself: the refresher's own log
    records (the same summary, each failure again, a JSON dump) stay off the terminal;
    unexpected errors (ERROR and above) still show."""
    logger = logging.getLogger(refresh_module.__name__)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _watch(as_json: bool) -> None:
    """`reindex --watch`: one line (or JSON line) per refresh until Ctrl-C."""
    with services_or_exit() as services, _quiet_refresh_log():
        off = refresh_off_reason(services.settings)
        if off:
            # One message naming only what turns refresh off; a configuration error (exit 2).
            print_error(off)
            raise typer.Exit(2)
        refresher = Refresher(services.index, services.state)
        if not as_json:
            minutes = services.settings.knowledge.refresh_minutes
            err_console.print(f"[dim]Refreshing every {minutes} min; Ctrl-C stops.[/dim]")
        try:
            run_on_schedule(
                refresher,
                services.settings,
                partial(_show_refresh, as_json),
                now=_now,
                sleep=_sleep,
            )
        except KeyboardInterrupt:
            if not as_json:
                err_console.print("[dim]Stopped.[/dim]")


# The watch loop's clock and sleep, looked up at call time so tests can move time.
def _now() -> datetime:
    return datetime.now(UTC)


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def _show_refresh(as_json: bool, outcome: RefreshOutcome) -> None:
    if as_json:
        sys.stdout.write(json.dumps(outcome.as_json(), ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return
    stamp = outcome.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    style = "red" if outcome.failed else ("green" if outcome.changed else "dim")
    console.print(f"[{style}]{stamp} {markup_safe(outcome.summary())}[/{style}]")
    _print_failures(outcome.report.failed)


def _hits_table(query: str, hits: list[Hit]) -> Table:
    # Cells are Text, never markup: titles, URLs and chunk text are untrusted article text.
    table = Table(title=Text(f"Results for {terminal_text(query)!r}"), show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("article")
    table.add_column("kind")
    # Named as in --json: the chunk's "text".
    table.add_column("text", overflow="fold")
    for hit in hits:
        c = hit.chunk
        snippet = " ".join(terminal_text(c.text).split())[:160]
        table.add_row(
            str(hit.rank), f"{hit.score:.4f}", linked(c.title, c.url), c.kind, Text(snippet)
        )
    return table


def _hits_lines(query: str, hits: list[Hit]) -> Text:
    """Piped or redirected: a block per hit (rank, score, title — publisher, kind; URL; text)."""
    lines = [f"Results for {terminal_text(query)!r}"]
    for hit in hits:
        c = hit.chunk
        name = f"{c.title} — {c.publisher}" if c.publisher else c.title
        lines.append(f"{hit.rank}. {hit.score:.4f} {terminal_text(name)} ({c.kind})")
        if c.url:
            lines.append("   " + terminal_text(c.url))
        lines.append("   " + " ".join(terminal_text(c.text).split())[:160])
    return Text("\n".join(lines))


def _renamed_publisher(publisher: str | None, old: str | None) -> str | None:
    """--publisher, or --source (its name before the rename) with a notice on stderr."""
    if old is None:
        return publisher
    if publisher is not None:
        raise typer.BadParameter("give --publisher only (--source is its old name)")
    err_console.print("[yellow]--source is now --publisher[/yellow]")
    return old


def search(
    query: Annotated[str | None, typer.Argument(help="What to look for.")] = None,
    k: Annotated[
        int | None,
        typer.Option(
            "-k",
            min=1,
            max=100,
            help="How many chunks (default: CURATOR_RETRIEVAL__K, as the bot retrieves).",
        ),
    ] = None,
    topic: Annotated[str | None, typer.Option(help="Only this topic.")] = None,
    publisher: Annotated[str | None, typer.Option(help="Only this publisher.")] = None,
    old_publisher: Annotated[
        str | None, typer.Option("--source", hidden=True, help="Old name of --publisher.")
    ] = None,
    since: Annotated[str | None, typer.Option(help=SINCE_HELP)] = None,
    mode: Annotated[str, typer.Option(help="hybrid, dense or bm25.")] = "hybrid",
    queries: Annotated[
        Path | None,
        typer.Option("--queries", help="A file with one query per line; prints JSON lines."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print hits as JSON.")] = False,
) -> None:
    """Search the index the way the bot does."""
    if mode not in ("hybrid", "dense", "bm25"):
        raise typer.BadParameter("expected hybrid, dense or bm25", param_hint="--mode")
    if query is None and queries is None:
        raise typer.BadParameter("give a query or --queries FILE", param_hint="QUERY")
    if query is not None and queries is None and not terminal_text(query).strip():
        raise usage_error("The query is empty: say what to look for.", as_json, "empty_query")
    publisher = _renamed_publisher(publisher, old_publisher)
    filters = SearchFilters(topic=topic, publisher=publisher, since=since_option(since))
    search_mode: SearchMode = mode  # type: ignore[assignment]
    with services_or_exit() as services:
        index = services.index
        if queries is not None:
            _search_many(index, queries, k, filters, search_mode)
            return
        assert query is not None
        hits = index.search(query, k=k, filters=filters, mode=search_mode)
        unknown = not hits and report_unknown_filters(index, topic, publisher)
        if as_json:
            print_json([h.as_json() for h in hits])
        elif hits:
            # A table in a terminal; plain lines elsewhere, as the README promises for pipes.
            console.print(
                _hits_table(query, hits) if console.is_terminal else _hits_lines(query, hits)
            )
        elif not unknown:
            console.print("No results.")


def _search_many(
    index: KnowledgeIndex, path: Path, k: int | None, filters: SearchFilters, mode: SearchMode
) -> None:
    """One JSON line per query line, everything loaded once (for evaluation harnesses)."""
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise typer.BadParameter(
            f"cannot read {path}: {exc.strerror}", param_hint="--queries"
        ) from exc
    with handle:
        for line in handle:
            query = line.rstrip("\n")
            hits = index.search(query, k=k, filters=filters, mode=mode) if query.strip() else []
            sys.stdout.write(json.dumps([h.as_json() for h in hits], ensure_ascii=False) + "\n")
    sys.stdout.flush()


def stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """What is indexed, with which embedder, in which store."""
    with services_or_exit() as services:
        figures = services.index.stats()
    if as_json:
        print_json(figures)
        return
    table = Table(show_header=False)
    for key, value in figures.items():
        table.add_row(
            key.replace("_", " "), Text(terminal_text("none" if value is None else value))
        )
    console.print(table)
    if not figures.get("vectors_match", True):
        err_console.print(
            f"[yellow]vectors ({figures['vectors']}) ≠ chunks ({figures['chunks']}):[/yellow] "
            "run `curator reindex` to repair the vector store from the catalog."
        )


def articles(
    topic: Annotated[str | None, typer.Option(help="Only this topic.")] = None,
    since: Annotated[str | None, typer.Option(help=SINCE_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List indexed articles, newest curated first."""
    day = since_option(since)
    start = datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None
    with services_or_exit() as services:
        found = services.index.list_articles(topic=topic, since=start)
        unknown = not found and report_unknown_filters(services.index, topic)
    if as_json:
        print_json(
            [
                {
                    "article_id": a.id,
                    "title": a.title,
                    "url": a.url,
                    "publisher": a.publisher,
                    "topics": a.topics,
                    "curated": a.curated.isoformat() if a.curated else None,
                }
                for a in found
            ]
        )
        return
    if unknown:
        return
    if not console.is_terminal:
        # Piped: plain lines, each URL whole under its title (as search, latest and recommend).
        lines = [f"{len(found)} article(s)"]
        for a in found:
            curated = a.curated.strftime("%Y-%m-%d") if a.curated else "—"
            name = f"{a.title} — {a.publisher}" if a.publisher else a.title
            topics = f" [{', '.join(a.topics)}]" if a.topics else ""
            lines.append(terminal_text(f"{curated}  {name}{topics}"))
            if a.url:
                lines.append("   " + terminal_text(a.url))
        console.print(Text("\n".join(lines)))
        return
    table = Table(title=f"{len(found)} article(s)")
    table.add_column("curated")
    table.add_column("title", overflow="fold")
    table.add_column("publisher")
    table.add_column("topics")
    for a in found:
        curated = a.curated.strftime("%Y-%m-%d") if a.curated else "—"
        table.add_row(
            curated,
            linked(a.title, a.url),
            Text(terminal_text(a.publisher)),
            Text(terminal_text(", ".join(a.topics))),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command()(ingest)
    app.command()(reindex)
    app.command()(search)
    app.command()(stats)
    app.command()(articles)
