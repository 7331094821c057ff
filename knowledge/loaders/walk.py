"""Turning the sources a user names into the files and URLs to read."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

_URL_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(source: str) -> bool:
    """Whether `source` is written as a URL (any scheme: the guard refuses all but http(s))."""
    return bool(_URL_LIKE.match(source))


def walk_files(directory: Path) -> Iterator[Path]:
    """Files under `directory`, recursively, sorted by name; hidden files and folders skipped."""
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(root) / name
