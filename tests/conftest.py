"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from knowledge.settings import Settings, load_settings

pytest_plugins = ["tests.support.chroma_server"]

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "knowledge" / "sample"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's .env, OpenAI variables or Chroma model cache by accident."""
    monkeypatch.chdir(tmp_path)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    import os

    for name in list(os.environ):
        if name.startswith("CURATOR_"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sample_dir() -> Path:
    return SAMPLE_DIR


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Embedded defaults in a fresh data dir, with the deterministic hash embedder."""
    return load_settings(
        data_dir=tmp_path / "data",
        embeddings={"provider": "hash"},
        knowledge={"sources": [str(SAMPLE_DIR)]},
    )


@pytest.fixture
def index(settings: Settings) -> Iterator[object]:
    """A KnowledgeIndex over the sample articles (hash embedder, in-process Chroma)."""
    from knowledge.index import KnowledgeIndex

    idx = KnowledgeIndex(settings)
    idx.reindex()
    try:
        yield idx
    finally:
        idx.close()
