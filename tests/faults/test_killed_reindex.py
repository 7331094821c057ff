"""A real `curator reindex` killed with SIGKILL while it embeds: the next run completes and the
catalog, Chroma and BM25 hold exactly the chunks of the sources, nothing more."""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from knowledge.index import KnowledgeIndex
from knowledge.store.vector_store import collection_name
from tests.faults.conftest import curator_env, generated_cards, run_curator
from tests.support.settings import make_settings

pytestmark = pytest.mark.slow

CARDS = 150
# Smaller batches than the default 512 chunks, so the kill can land after some batches were
# committed and while another is half written: the hardest state to recover from.
BATCH_CHUNKS = 50
# Each embedding call takes a moment, as a real model's would: the state polled stays put for
# ~0.1 s, so the kill lands in the state the test saw, not in the instant after a commit.
EMBED_DELAY_S = 0.1
REINDEX = [
    sys.executable,
    "-c",
    "import sys, time; from knowledge.index_writer import Indexer; "
    "from knowledge.embeddings.hash import HashEmbedder; "
    f"Indexer.batch_chunks = {BATCH_CHUNKS}; "
    "real = HashEmbedder.embed; "
    "HashEmbedder.embed = lambda self, texts: "
    f"(time.sleep({EMBED_DELAY_S}), real(self, texts))[1]; "
    "from bot.cli.app import main; sys.argv = ['curator', 'reindex', '--json']; main()",
]


def progress(catalog: Path) -> tuple[int, list[str]]:
    """Articles committed, and the catalog's `pending` list (the batch being embedded)."""
    if not catalog.exists():
        return 0, []
    with contextlib.closing(sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=1)) as db:
        try:
            committed = db.execute("SELECT count(*) FROM articles").fetchone()[0]
            row = db.execute("SELECT value FROM meta WHERE key = 'pending'").fetchone()
        except sqlite3.OperationalError:  # schema not created yet, or briefly locked
            return 0, []
    return int(committed), list(json.loads(row[0])) if row else []


def test_a_reindex_killed_mid_way_is_completed_by_the_next_run(tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    generated_cards(cards, CARDS)
    data = tmp_path / "data"
    env = curator_env(data, cards)
    catalog = data / "index" / collection_name("curator", "hash-384") / "catalog.sqlite3"

    first = subprocess.Popen(
        REINDEX, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        # Kill once a batch is committed and the next one is being embedded.
        while not ((state := progress(catalog))[0] > 0 and state[1]):
            assert first.poll() is None, "reindex ended before it could be killed"
            assert time.monotonic() < deadline, "reindex never got past its first batch"
            time.sleep(0.01)
    finally:
        # Also when an assertion above failed: no reindex outlives the test.
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert first.returncode == -signal.SIGKILL
    committed, pending = progress(catalog)
    assert 0 < committed < CARDS and pending, (committed, pending)

    second = run_curator("reindex", "--json", env=env, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)
    assert report["failed"] == [] and report["removed"] == 0

    settings = make_settings(data, knowledge={"sources": [str(cards)]})
    index = KnowledgeIndex(settings)
    try:
        assert progress(catalog) == (CARDS, [])
        assert index.catalog.article_count() == CARDS
        urls = {a.url for a in index.list_articles()}
        assert urls == {f"https://example.org/note-{i:04d}" for i in range(CARDS)}
        catalog_ids = {chunk.id for chunk in index.catalog.iter_chunks()}
        chroma_ids = set(index.vectors.ids())
        assert len(index.lexical) == len(catalog_ids)
        # BM25 writes the chunk ids it holds next to its index.
        lexical_meta = json.loads((index.lexical.folder / "meta.json").read_text())
        assert catalog_ids == chroma_ids == set(lexical_meta["ids"])
        assert index.catalog.get_meta("bm25_dirty") == "0"
        # And a third run finds nothing left to do.
        assert index.reindex().unchanged == CARDS
        top = index.search("Note 137 field note measurement 137", k=3)
        assert top[0].chunk.url == "https://example.org/note-0137"
    finally:
        index.close()
