"""`curator digest`: build a digest for a date or range and print it as Markdown, text or JSON."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import typer

from bot.cli.common import date_option, print_json, services_or_exit, since_option, until_option
from knowledge.digest.contents import Digest
from knowledge.digest.formats import digest_to_json, render_markdown, render_text
from knowledge.digest.window import resolve_window
from knowledge.errors import InputError


class DigestFormat(StrEnum):
    md = "md"
    json = "json"
    text = "text"


def digest_command(
    day: Annotated[
        str | None,
        typer.Option("--date", help="The digest of this day (YYYY-MM-DD), in the digest timezone."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="First day of a range (inclusive): YYYY-MM-DD or a period back from today (7d).",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="Last day of a range (inclusive; YYYY-MM-DD or a period like 1d; default: today).",
        ),
    ] = None,
    output: Annotated[
        DigestFormat, typer.Option("--format", "-f", help="Output: md, json or text.")
    ] = DigestFormat.md,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print as JSON (the same as --format json).")
    ] = False,
) -> None:
    """Print the digest: by default the latest one due (the window before the digest time)."""
    if as_json and output is DigestFormat.text:
        raise typer.BadParameter(
            "--json prints JSON, not text: give one of them", param_hint="--format"
        )
    # Parsed by hand rather than with typer's datetime type so a date is a date (no time part)
    # and the message names the option; knowledge.periods reads them, as it does for Discord.
    parsed_day = date_option(day, "--date")
    with services_or_exit() as services:
        # Periods count back from today where the digest is read: in the digest timezone.
        today = datetime.now(services.settings.digest.timezone).date()
        parsed_since = since_option(since, today=today)
        parsed_until = until_option(until, today=today)
        try:
            resolve_window(
                services.settings.digest, day=parsed_day, since=parsed_since, until=parsed_until
            )
        except InputError as exc:
            hint = "'--date'" if parsed_day else "'--since' / '--until'"
            raise typer.BadParameter(exc.user_message, param_hint=hint) from exc
        digests = services.digests

        async def build() -> Digest:
            try:
                return await digests.build(date=parsed_day, since=parsed_since, until=parsed_until)
            finally:
                await services.aclose()  # on this loop, which the model client's connections are on

        digest = asyncio.run(build())
    if as_json or output is DigestFormat.json:
        print_json(digest_to_json(digest))
    elif output is DigestFormat.text:
        sys.stdout.write(render_text(digest))
    else:
        sys.stdout.write(render_markdown(digest))
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    """Add `curator digest` to the app."""
    app.command("digest")(digest_command)
