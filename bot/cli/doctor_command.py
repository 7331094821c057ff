"""`curator doctor`: say whether Curator is safe to start, and what to fix if not."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from bot.cli.common import console, err_console, print_json
from bot.discord_token import token_check
from knowledge.health import Check, run_checks, safe_to_start

_MARKS = {"ok": "[green]ok  [/green]", "warn": "[yellow]warn[/yellow]", "fail": "[red]fail[/red]"}


def render_check(check: Check) -> str:
    """One check as rich markup: status, name, detail, and the remedy on its own line."""
    line = f"{_MARKS[check.status]}  [bold]{escape(check.name):<14}[/bold] {escape(check.detail)}"
    if check.remedy and check.status != "ok":
        line += f"\n      [dim]→ {escape(check.remedy)}[/dim]"
    return line


def summary(checks: list[Check]) -> str:
    """'Safe to start' or how many checks failed, with the warning count."""
    fails = sum(c.status == "fail" for c in checks)
    warns = sum(c.status == "warn" for c in checks)
    tail = f", {warns} warning{'s' if warns != 1 else ''}" if warns else ""
    if fails:
        return f"[red]Not safe to start:[/red] {fails} failed{tail}."
    return f"[green]Safe to start[/green]{tail}."


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only failures; the exit status says all.")
    ] = False,
    for_run: Annotated[
        bool,
        typer.Option(
            "--run", help="Check for `curator run`: a missing Discord token is then a failure."
        ),
    ] = False,
) -> None:
    """Check settings, data dir, Chroma, index, vector store, embedder, LLM and Discord token;
    exit 1 if unsafe."""
    checks = run_checks(front_end_checks=[token_check(required=for_run)])
    ok = safe_to_start(checks)
    if as_json:
        print_json({"safe_to_start": ok, "checks": [c.as_json() for c in checks]})
    elif quiet:
        for check in checks:
            if check.status == "fail":
                err_console.print(render_check(check))
    else:
        for check in checks:
            console.print(render_check(check))
        if len(checks) == 1 and not ok:
            console.print("[dim]The other checks need valid settings.[/dim]")
        console.print(summary(checks))
    if not ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `curator doctor` to the CLI."""
    app.command("doctor")(doctor)
