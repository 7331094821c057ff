"""The `curator` command: a typer app whose commands live in one module each."""

from __future__ import annotations

import importlib
import sys

import typer

from bot.discord_token import configure_bot_logging

app = typer.Typer(
    name="curator",
    help="Curator: answers from a curated collection of articles, with citations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each module has `register(app)`; a feature adds its module name here.
COMMAND_MODULES = [
    "bot.cli.index_commands",
    "bot.cli.ask_command",
    "bot.cli.digest_command",
    "bot.cli.run_command",
    "bot.cli.eval_command",
    "bot.cli.doctor_command",
    "bot.cli.curation_commands",
]

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    """Console-script entry point."""
    # Secrets are scrubbed from every log record, whichever library logs them.
    configure_bot_logging()
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
