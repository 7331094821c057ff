"""Write small markdown article cards for tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.settings import get_settings


def write_card(
    folder: Path,
    slug: str,
    *,
    title: str,
    url: str | None = None,
    topics: tuple[str, ...] = ("retrieval",),
    publisher: str = "Test Journal",
    curated: str = "2026-11-20T09:00:00Z",
    summary: str = "",
    takeaway: str = "",
    body: str = "",
) -> Path:
    """A card in the project's markdown format; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    url = url or f"https://example.org/{slug}"
    topic_list = ", ".join(topics)
    text = (
        "---\n"
        f'title: "{title}"\n'
        f"url: {url}\n"
        f"publisher: {publisher}\n"
        f"curated: {curated}\n"
        f"topics: [{topic_list}]\n"
        "---\n\n"
        f"## Summary\n\n{summary or title + ' in brief.'}\n\n"
        f"## Key takeaway\n\n{takeaway or 'The main point of ' + title + '.'}\n\n"
        f"## Article\n\n{body or 'Body text of ' + title + '.'}\n"
    )
    path = folder / f"{slug}.md"
    path.write_text(text, encoding="utf-8")
    return path


def zebra_corpus(folder: Path) -> dict[str, Path]:
    """Three distinct articles whose words do not overlap, so search results are unambiguous."""
    return {
        "zebras": write_card(
            folder,
            "zebras",
            title="Why zebras have stripes",
            topics=("biology",),
            publisher="Savanna Review",
            curated="2026-11-20T08:00:00Z",
            summary="Stripes deter biting horseflies from landing on zebras.",
            body="Field experiments with striped coats showed horseflies fail to land.\n\n"
            "Researchers filmed flies approaching horses wearing striped blankets.",
        ),
        "sourdough": write_card(
            folder,
            "sourdough",
            title="Baking sourdough bread",
            topics=("cooking",),
            publisher="Kitchen Notes",
            curated="2026-11-21T08:00:00Z",
            summary="A starter of wild yeast leavens sourdough loaves slowly.",
            body="Feed the starter flour and water daily.\n\nBake the loaf in a hot dutch oven.",
        ),
        "glaciers": write_card(
            folder,
            "glaciers",
            title="How glaciers carve valleys",
            topics=("geology", "biology"),
            publisher="Savanna Review",
            curated="2026-11-22T08:00:00Z",
            summary="Moving ice grinds bedrock into U-shaped valleys over millennia.",
            body="Glacial erosion plucks and abrades rock.\n\nMoraines mark where the ice stopped.",
        ),
    }


def zebra_env(monkeypatch: pytest.MonkeyPatch, root: Path, data_dir: Path | None = None) -> Path:
    """The zebra cards under root/cards, and CURATOR_ variables that index them with the hash
    embedder into `data_dir` (root/data by default); returns the cards folder."""
    cards = root / "cards"
    zebra_corpus(cards)
    monkeypatch.setenv("CURATOR_DATA_DIR", str(data_dir or root / "data"))
    monkeypatch.setenv("CURATOR_EMBEDDINGS__PROVIDER", "hash")
    monkeypatch.setenv("CURATOR_KNOWLEDGE__SOURCES", str(cards))
    get_settings.cache_clear()
    return cards
