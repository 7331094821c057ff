"""What ../shared holds outside the repository: the seed pair (a real card export and its
original article) and the xquad-en evaluation set."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CARD = "card-evolving-role-of-the-ml-engineer.txt"
ARTICLE = "article-evolving-role-of-the-ml-engineer.txt"


#: ../shared beside the checkout, or beside the folder of git worktrees.
SHARED_PLACES = (REPO.parent / "shared", REPO.parent.parent / "shared")


def xquad_file() -> Path:
    """`../shared/eval/xquad-en/xquad.en.json`, found as the seeds are; the first place it
    would be when absent (for a skip reason)."""
    for shared in SHARED_PLACES:
        candidate = shared / "eval" / "xquad-en" / "xquad.en.json"
        if candidate.is_file():
            return candidate
    return SHARED_PLACES[0] / "eval" / "xquad-en" / "xquad.en.json"


def seeds_dir() -> Path:
    """`../shared/seeds` beside the checkout (or beside the worktrees folder); skips if absent."""
    for shared in SHARED_PLACES:
        folder = shared / "seeds"
        if (folder / CARD).is_file() and (folder / ARTICLE).is_file():
            return folder
    pytest.skip(f"the seed pair is not in {REPO.parent / 'shared' / 'seeds'} (../shared absent)")


def seed_files() -> list[Path]:
    """The card export and the article text, in that order."""
    folder = seeds_dir()
    return [folder / CARD, folder / ARTICLE]
