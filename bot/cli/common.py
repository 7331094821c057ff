"""What every CLI command shares: settings, services, error reporting, JSON output."""

from __future__ import annotations

import asyncio
import json
import sys
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.style import Style
from rich.text import Text

from knowledge import periods
from knowledge.curation import ArticleIndex, unknown_filters
from knowledge.errors import ConfigError, CuratorError, InputError
from knowledge.services import Services, build_services
from knowledge.settings import get_settings

# Off a terminal (a pipe, a file, a test runner) nothing wraps at 80 columns: lines are as long
# as their text, so URLs and paths come out whole and no line is padded with spaces.
UNWRAPPED_WIDTH = 4_000


def cli_console(stderr: bool = False) -> Console:
    """A Console for stdout (or stderr): rich's layout in a terminal; elsewhere soft-wrapped
    (no hard line breaks, no padding) and wide enough that tables keep their natural width."""
    made = Console(stderr=stderr)
    if not made.is_terminal:
        made.soft_wrap = True
        made.width = UNWRAPPED_WIDTH
    return made


console = cli_console()
err_console = cli_console(stderr=True)


@contextmanager
def services_or_exit() -> Iterator[Services]:
    """Build services from settings; a config or domain error becomes a message and exit 2/1."""
    try:
        settings = get_settings()
    except ConfigError as exc:
        print_error(exc)
        raise typer.Exit(2) from exc
    services = build_services(settings)
    try:
        yield services
    except CuratorError as exc:
        print_error(exc.user_message)
        raise typer.Exit(1) from exc
    finally:
        asyncio.run(services.aclose())


def terminal_text(value: object) -> str:
    """`value` as plain text a terminal shows as is: control, format and bidi characters
    (escape sequences, zero-width and direction overrides from articles) removed."""
    return "".join(
        ch
        for ch in str(value)
        if ch in "\n\t" or unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co"}
    )


def markup_safe(value: object) -> str:
    """Untrusted text to embed in rich markup: cleaned, with its own [tags] escaped."""
    return escape(terminal_text(value))


def linked(label: object, url: str, style: str = "") -> Text:
    """`label` as a terminal hyperlink to `url` (plain when the URL is not http/https); no
    markup is parsed in either, so a title holding "[/b]" prints as written."""
    text = Text(terminal_text(label), style=style)
    target = terminal_text(url)
    if target.startswith(("http://", "https://")):
        text.stylize(Style(link=target))
    return text


def print_error(message: object) -> None:
    """`error: <message>` on stderr, the message never read as markup."""
    err_console.print(f"[red]error:[/red] {markup_safe(message)}")


def print_json(payload: Any) -> None:
    """Stable JSON on stdout: UTF-8, no colour, one document."""
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


def report_unknown_filters(
    index: ArticleIndex, topic: str | None = None, publisher: str | None = None
) -> bool:
    """Say on stderr which --topic / --publisher no indexed article has, with the closest known
    ones; True when one was unknown (so an empty result is explained)."""
    problems = unknown_filters(index, topic, publisher)
    for problem in problems:
        err_console.print(f"[yellow]{markup_safe(problem)}[/yellow]")
    return bool(problems)


def usage_error(message: str, as_json: bool, code: str) -> typer.Exit:
    """A bad argument, said on stderr (or as `{"error", "code"}` JSON on stdout with --json);
    returns the exit (status 2) for the caller to raise."""
    if as_json:
        print_json({"error": message, "code": code})
    else:
        print_error(message)
    return typer.Exit(2)


# The same forms Discord's `since:` describes; read by since_option.
SINCE_HELP = (
    "Curated on or after a date (YYYY-MM-DD) or within a period back from today (7d, 2w, 3m, 1y)."
)


def _read_option(option: str, read: Callable[[], date | None]) -> date | None:
    """`read()`, with knowledge.periods' error put under the option's name (exit 2)."""
    try:
        return read()
    except InputError as exc:
        raise typer.BadParameter(exc.user_message, param_hint=option) from exc


def since_option(
    value: str | None, option: str = "--since", today: date | None = None
) -> date | None:
    """A `--since` value read by knowledge.periods exactly as Discord's `since:` is: a
    YYYY-MM-DD date or a period (7d, 2w, 3m, 1y) back from `today` (UTC today by default), not
    in the future; None when not given. A bad value exits 2 naming the option."""
    return _read_option(option, lambda: periods.parse_since(value, today or periods.utc_today()))


def until_option(
    value: str | None, option: str = "--until", today: date | None = None
) -> date | None:
    """A `--until` value: a YYYY-MM-DD date (the future allowed) or a period back from `today`
    (UTC today by default); None when not given. A bad value exits 2 naming the option."""
    return _read_option(option, lambda: periods.parse_until(value, today or periods.utc_today()))


def date_option(value: str | None, option: str) -> date | None:
    """A YYYY-MM-DD option value read by knowledge.periods as Discord's `/digest date:` is;
    None when not given. A bad value exits 2 naming the option."""
    return _read_option(option, lambda: None if value is None else periods.parse_date(value))
