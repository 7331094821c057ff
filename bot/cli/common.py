"""What every CLI command shares: settings, services, error reporting, JSON output."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console

from knowledge.errors import ConfigError, CuratorError
from knowledge.services import Services, build_services
from knowledge.settings import get_settings

console = Console()
err_console = Console(stderr=True)


@contextmanager
def services_or_exit() -> Iterator[Services]:
    """Build services from settings; a config or domain error becomes a message and exit 2/1."""
    try:
        settings = get_settings()
    except ConfigError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    services = build_services(settings)
    try:
        yield services
    except CuratorError as exc:
        err_console.print(f"[red]error:[/red] {exc.user_message}")
        raise typer.Exit(1) from exc
    finally:
        asyncio.run(services.aclose())


def print_json(payload: Any) -> None:
    """Stable JSON on stdout: UTF-8, no colour, one document."""
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()
