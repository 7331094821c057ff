"""Turning the sources a user names into the files and URLs to read."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

_URL_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")

# A folder's own documentation, not an article: skipped when a folder is walked (README.md,
# LICENSE, CHANGELOG.txt...), read when named on the command line.
_FOLDER_DOCS = frozenset({"readme", "license", "licence", "changelog", "changes", "copying"})


def is_folder_doc(path: Path) -> bool:
    """Whether `path` is named like a folder's README, LICENSE or CHANGELOG (any extension)."""
    return path.name.split(".", 1)[0].casefold() in _FOLDER_DOCS


def is_url(source: str) -> bool:
    """Whether `source` is written as a URL (any scheme: the guard refuses all but http(s))."""
    return bool(_URL_LIKE.match(source))


def walk_files(directory: Path, on_error: Callable[[OSError], None] | None = None) -> list[Path]:
    """Files under `directory`, recursively, in path order; hidden files and folders skipped.

    A folder that cannot be listed is passed to `on_error` and the walk goes on.
    """
    found: list[Path] = []
    for root, dirs, files in os.walk(directory, onerror=on_error):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(Path(root) / name for name in files if not name.startswith("."))
    # Sorting by path parts puts "a/z.md" before "b.md" whatever order the file system lists.
    return sorted(found, key=lambda path: path.relative_to(directory).parts)
