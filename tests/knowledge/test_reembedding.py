"""An update embeds only chunks whose text changed: a new topic or a chunker version that
leaves an article's chunks as they were costs no embedding, and filters still see the change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import knowledge.chunking as chunking
from knowledge.embeddings.hash import HashEmbedder
from knowledge.index import KnowledgeIndex
from knowledge.models import SearchFilters
from tests.support.cards import write_card, zebra_corpus
from tests.support.chroma_server import ChromaServer
from tests.support.counting_embedder import CountingEmbedder
from tests.support.settings import make_settings


@pytest.fixture
def cards(tmp_path: Path) -> Path:
    folder = tmp_path / "cards"
    zebra_corpus(folder)
    return folder


@pytest.fixture
def embedder() -> CountingEmbedder:
    return CountingEmbedder(HashEmbedder(dim=64))


@pytest.fixture(params=["embedded", "server"])
def index(
    request: pytest.FixtureRequest, tmp_path: Path, cards: Path, embedder: CountingEmbedder
) -> Iterator[KnowledgeIndex]:
    """The zebra cards indexed in-process, or in a `chroma run` server on 127.0.0.1."""
    chroma: dict[str, object] = {}
    if request.param == "server":
        server: ChromaServer = request.getfixturevalue("chroma_server")
        chroma = {"host": server.host, "port": server.port, "collection_prefix": tmp_path.name}
    settings = make_settings(tmp_path / "data", knowledge={"sources": [str(cards)]}, chroma=chroma)
    idx = KnowledgeIndex(settings, embedder=embedder)
    idx.reindex()
    embedder.reset()
    try:
        yield idx
    finally:
        idx.close()


def body_texts(index: KnowledgeIndex, title: str) -> set[str]:
    return {
        c.embedding_text()
        for c in index.catalog.iter_chunks()
        if c.title == title and c.kind != "summary"
    }


def test_a_new_topic_updates_the_filters_without_embedding_the_body_again(
    index: KnowledgeIndex, cards: Path, embedder: CountingEmbedder
) -> None:
    title = "Why zebras have stripes"
    body = body_texts(index, title)
    assert body
    write_card(
        cards,
        "zebras",
        title=title,
        topics=("ecology",),
        publisher="Savanna Review",
        curated="2026-11-20T08:00:00Z",
        summary="Stripes deter biting horseflies from landing on zebras.",
        body="Field experiments with striped coats showed horseflies fail to land.\n\n"
        "Researchers filmed flies approaching horses wearing striped blankets.",
    )

    report = index.reindex()

    assert (report.added, report.updated, report.unchanged) == (0, 1, 2)
    assert not body & set(embedder.embedded), "unchanged body chunks were embedded again"
    for mode in ("dense", "bm25", "hybrid"):
        found = index.search(
            "horseflies stripes", k=5, mode=mode, filters=SearchFilters(topic="ecology")
        )
        assert found and found[0].chunk.title == title, mode
        gone = index.search(
            "horseflies stripes", k=5, mode=mode, filters=SearchFilters(topic="biology")
        )
        assert all(h.chunk.title != title for h in gone), mode


def write_glaciers(cards: Path, paragraphs: list[str]) -> None:
    """The glaciers card with these body paragraphs."""
    body = "\n\n".join(paragraphs)
    write_card(
        cards, "glaciers", title="How glaciers carve valleys", topics=("geology",), body=body
    )


def test_an_edited_paragraph_embeds_that_paragraph_and_not_the_others(
    index: KnowledgeIndex, cards: Path, embedder: CountingEmbedder
) -> None:
    paragraphs = [
        f"Paragraph {n} on glacial {word} and moraines. " * 40
        for n, word in enumerate(("plucking", "abrasion", "cirques", "eskers"))
    ]
    write_glaciers(cards, paragraphs)
    index.reindex()
    before = body_texts(index, "How glaciers carve valleys")
    assert len(before) >= 3, "the test needs an article of several body chunks"
    embedder.reset()

    paragraphs[-1] = "Eskers are ridges of sand left by rivers under the ice. " * 40
    write_glaciers(cards, paragraphs)
    index.reindex()

    after = body_texts(index, "How glaciers carve valleys")
    embedded = set(embedder.embedded)
    assert after - before, "the edit must change a chunk"
    assert after - before <= embedded, "a changed chunk was not embedded"
    assert not (after & before) & embedded, "an unchanged chunk was embedded again"
    assert index.search("ridges of sand left by rivers", k=1, mode="dense")[0].chunk.title == (
        "How glaciers carve valleys"
    )


def test_a_new_chunker_version_that_chunks_alike_embeds_nothing(
    index: KnowledgeIndex, embedder: CountingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunking, "CHUNKER_VERSION", chunking.CHUNKER_VERSION + "-next")

    report = index.reindex()

    assert report.updated == 3, "a chunker change must re-chunk every article"
    assert sum(embedder.embedded.values()) == 0
    assert index.search("horseflies stripes", k=1, mode="dense")[0].chunk.title == (
        "Why zebras have stripes"
    )
