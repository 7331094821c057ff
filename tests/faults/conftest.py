"""Shared pieces of the fault tests: generated corpora and the environment of a `curator` run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.cards import write_card

CURATOR = str(Path(sys.executable).with_name("curator"))

_WORDS = [
    "amber",
    "basalt",
    "cobalt",
    "dahlia",
    "ember",
    "fjord",
    "garnet",
    "harbor",
    "indigo",
    "juniper",
    "kelp",
    "lagoon",
    "meadow",
    "nectar",
    "obsidian",
    "pewter",
    "quartz",
    "russet",
    "saffron",
    "tundra",
    "umber",
    "velvet",
    "willow",
    "xenon",
    "yarrow",
    "zephyr",
]


def generated_cards(folder: Path, count: int) -> list[Path]:
    """`count` distinct cards of two chunks each (the card's summary and a short body)."""
    paths = []
    for i in range(count):
        a, b, c = _WORDS[i % 26], _WORDS[(i // 26) % 26], _WORDS[(i * 7 + 3) % 26]
        paths.append(
            write_card(
                folder,
                f"note-{i:04d}",
                title=f"Note {i}: {a} {b}",
                topics=(a,),
                summary=f"Card {i} summarises {a}, {b} and {c}.",
                body=f"Field note {i} on {a} and {b}: {c} measurement {i} recorded.",
            )
        )
    return paths


def run_curator(
    *args: str,
    env: dict[str, str],
    cwd: Path,
    prefix: list[str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run the installed `curator` command (after `prefix`, e.g. a privilege drop) to the end."""
    return subprocess.run(
        [*(prefix or []), CURATOR, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def curator_env(data_dir: Path, sources: Path, **extra: str) -> dict[str, str]:
    """The environment of a `curator` subprocess: no stray CURATOR_/OPENAI_ variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CURATOR_", "OPENAI_"))}
    env.update(
        CURATOR_DATA_DIR=str(data_dir),
        CURATOR_EMBEDDINGS__PROVIDER="hash",
        CURATOR_KNOWLEDGE__SOURCES=str(sources),
        ANONYMIZED_TELEMETRY="False",
        **extra,
    )
    return env
