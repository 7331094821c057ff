"""The seed pair (a real card export and its original article) kept outside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CARD = "card-evolving-role-of-the-ml-engineer.txt"
ARTICLE = "article-evolving-role-of-the-ml-engineer.txt"


def seeds_dir() -> Path:
    """`../shared/seeds` beside the checkout (or beside the worktrees folder); skips if absent."""
    for base in (REPO.parent, REPO.parent.parent):
        folder = base / "shared" / "seeds"
        if (folder / CARD).is_file() and (folder / ARTICLE).is_file():
            return folder
    pytest.skip(f"the seed pair is not in {REPO.parent / 'shared' / 'seeds'} (../shared absent)")


def seed_files() -> list[Path]:
    """The card export and the article text, in that order."""
    folder = seeds_dir()
    return [folder / CARD, folder / ARTICLE]
