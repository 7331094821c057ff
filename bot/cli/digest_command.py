"""`curator digest`: build a digest for a date or range and print it as Markdown, text or JSON."""

from __future__ import annotations

import asyncio
import sys
from datetime import date
from enum import Enum

import typer

from bot.cli.common import print_json, services_or_exit
from knowledge.digest.render import digest_to_json, render_markdown, render_text
from knowledge.digest.window import resolve_window
from knowledge.errors import InputError


class DigestFormat(str, Enum):
    md = "md"
    json = "json"
    text = "text"


def _parse_day(value: str | None, option: str) -> date | None:
    """YYYY-MM-DD, or a usage error naming the option (exit 2)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date; use YYYY-MM-DD, e.g. 2026-11-23.", param_hint=f"'{option}'"
        ) from None


def digest_command(
    day: str | None = typer.Option(
        None, "--date", help="The digest of this day (YYYY-MM-DD), in the digest timezone."
    ),
    since: str | None = typer.Option(
        None, "--since", help="First day of a range (YYYY-MM-DD, inclusive)."
    ),
    until: str | None = typer.Option(
        None, "--until", help="Last day of a range (YYYY-MM-DD, inclusive; default: today)."
    ),
    output: DigestFormat = typer.Option(
        DigestFormat.md, "--format", "-f", help="Output: md, json or text."
    ),
) -> None:
    """Print the digest: by default the latest one due (the window before the digest time)."""
    # Parsed here rather than with typer's datetime type so the message names the option and
    # the expected form, and a date is a date (no time part).
    parsed_day = _parse_day(day, "--date")
    parsed_since = _parse_day(since, "--since")
    parsed_until = _parse_day(until, "--until")
    with services_or_exit() as services:
        try:
            resolve_window(
                services.settings.digest, day=parsed_day, since=parsed_since, until=parsed_until
            )
        except InputError as exc:
            raise typer.BadParameter(exc.user_message) from exc
        digest = asyncio.run(
            services.digests.build(date=parsed_day, since=parsed_since, until=parsed_until)
        )
    if output is DigestFormat.json:
        print_json(digest_to_json(digest))
    elif output is DigestFormat.text:
        sys.stdout.write(render_text(digest))
    else:
        sys.stdout.write(render_markdown(digest))
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    """Add `curator digest` to the app."""
    app.command("digest")(digest_command)
