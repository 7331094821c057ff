"""A data dir that cannot be written (read-only, under a file, or full): the commands fail with
a clear message, nothing already indexed is damaged, and once fixed the next run completes."""

from __future__ import annotations

import errno
import hashlib
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bm25s
import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from knowledge.index import KnowledgeIndex
from knowledge.settings import Settings, get_settings
from knowledge.store.catalog import Catalog
from tests.faults.conftest import curator_env, run_curator
from tests.support.cards import write_card, zebra_corpus, zebra_env
from tests.support.settings import make_settings

pytestmark = pytest.mark.slow


def fingerprint(folder: Path) -> dict[str, str]:
    """Path -> sha256 of every file under `folder` (what 'no corruption' compares)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def store_matches(index: KnowledgeIndex, expected_articles: int) -> None:
    """Catalog, Chroma and BM25 hold the same chunks, for `expected_articles` articles."""
    catalog_ids = {chunk.id for chunk in index.catalog.iter_chunks()}
    chroma_ids = set(index.vectors.ids())
    assert index.catalog.article_count() == expected_articles
    assert catalog_ids == chroma_ids
    assert len(index.lexical) == len(catalog_ids)
    assert index.catalog.get_meta("bm25_dirty") == "0"


# -- a data dir that cannot be created --------------------------------------------------------


@dataclass
class Outcome:
    """What the CLI did: exit code, everything it printed, and an exception that escaped."""

    code: int
    output: str
    exception: BaseException | None

    @property
    def clear(self) -> bool:
        """Ended with a message and an exit status, not an escaped exception (a traceback)."""
        return self.exception is None or isinstance(self.exception, SystemExit)


def invoke(*args: str) -> Outcome:
    get_settings.cache_clear()
    result = CliRunner().invoke(app, list(args))
    get_settings.cache_clear()
    return Outcome(result.exit_code, " ".join(result.output.split()), result.exception)


@pytest.fixture
def under_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """CURATOR_DATA_DIR inside a regular file, so the data dir can never be created."""
    (tmp_path / "not-a-folder").write_text("precious\n")
    zebra_env(monkeypatch, tmp_path, data_dir=tmp_path / "not-a-folder" / "data")
    return tmp_path


def test_a_data_dir_under_a_file_stops_commands_and_touches_nothing(under_a_file: Path) -> None:
    assert invoke("reindex").code != 0
    asked = invoke("ask", "Why do zebras have stripes?", "--json")
    assert asked.code == 1 and asked.clear
    assert "Not a directory" in asked.output and "not-a-folder/data" in asked.output
    doctor = invoke("doctor")
    assert doctor.code == 1 and "is a file" in doctor.output
    assert (under_a_file / "not-a-folder").read_text() == "precious\n"


def test_a_data_dir_under_a_file_gives_a_clear_reindex_error(under_a_file: Path) -> None:
    reindex = invoke("reindex")
    assert reindex.code in (1, 2) and reindex.clear, reindex.exception
    assert "not-a-folder/data" in reindex.output and "Not a directory" in reindex.output


# -- a read-only data dir ---------------------------------------------------------------------

# Root ignores file modes; without these capabilities it obeys them like any owner.
DROP_ROOT_OVERRIDES = [
    "setpriv",
    "--bounding-set=-dac_override,-dac_read_search,-fowner",
    "--inh-caps=-dac_override,-dac_read_search,-fowner",
]


def set_modes(folder: Path, writable: bool) -> None:
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755 if writable else 0o555)
        else:
            path.chmod(0o644 if writable else 0o444)


def obeying_file_modes(probe_dir: Path) -> list[str]:
    """A command prefix under which a process cannot write to a 0o555 folder."""
    set_modes(probe_dir, writable=False)
    try:
        for prefix in ([], DROP_ROOT_OVERRIDES):
            if prefix and shutil.which(prefix[0]) is None:
                continue
            touched = subprocess.run(
                [*prefix, "touch", str(probe_dir / "probe")], capture_output=True, check=False
            )
            if touched.returncode != 0:
                return prefix
            (probe_dir / "probe").unlink()
    finally:
        set_modes(probe_dir, writable=True)
    pytest.skip("cannot run a process that obeys file modes here (root without setpriv)")


@dataclass
class ReadOnlyRun:
    """A data dir made read-only after indexing, and what `curator` did against it."""

    site: Path
    env: dict[str, str]
    before: dict[str, str]
    after: dict[str, str]
    reindex: subprocess.CompletedProcess[str]
    ask: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def read_only_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReadOnlyRun]:
    """Run once for the module: each `curator` process costs seconds of imports."""
    site = tmp_path_factory.mktemp("read-only")
    (site / "probe").mkdir()
    prefix = obeying_file_modes(site / "probe")
    zebra_corpus(site / "cards")
    settings = make_settings(site / "data", knowledge={"sources": [str(site / "cards")]})
    index = KnowledgeIndex(settings)
    index.reindex()
    index.close()
    write_card(site / "cards", "tides", title="What drives the tides", summary="The moon.")
    env = curator_env(site / "data", site / "cards")
    set_modes(site / "data", writable=False)
    try:
        before = fingerprint(site / "data")
        reindex = run_curator("reindex", env=env, cwd=site, prefix=prefix)
        ask = run_curator("ask", "Why do zebras have stripes?", env=env, cwd=site, prefix=prefix)
        after = fingerprint(site / "data")
    finally:
        set_modes(site / "data", writable=True)
    yield ReadOnlyRun(site, env, before, after, reindex, ask)


def test_a_read_only_data_dir_fails_without_damage_and_recovers(
    read_only_run: ReadOnlyRun,
) -> None:
    run = read_only_run
    assert run.reindex.returncode != 0
    assert run.ask.returncode == 1
    assert "error:" in run.ask.stderr and "readonly" in run.ask.stderr.replace("-", "")
    assert run.after == run.before

    # Permissions fixed: the same data dir takes the new article and stays consistent.
    settings = make_settings(run.site / "data", knowledge={"sources": [str(run.site / "cards")]})
    index = KnowledgeIndex(settings)
    try:
        assert index.reindex().added == 1
        store_matches(index, 4)
        assert index.search("moon tides")[0].chunk.title == "What drives the tides"
    finally:
        index.close()


def test_a_read_only_data_dir_gives_a_clear_reindex_error(read_only_run: ReadOnlyRun) -> None:
    reindex = read_only_run.reindex
    assert reindex.returncode in (1, 2)
    assert "Traceback" not in reindex.stderr
    assert str(read_only_run.site / "data") in reindex.stderr


# -- a full disk ------------------------------------------------------------------------------
# A real full file system needs a mount (tmpfs) that tests cannot make; ENOSPC is raised where
# a full disk would first show: writing the BM25 index files, and SQLite committing a batch.


def no_space(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture
def indexed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    cards = zebra_env(monkeypatch, tmp_path)
    # What the `curator reindex` these tests run reads from the CURATOR_ variables just set.
    settings = get_settings()
    index = KnowledgeIndex(settings)
    index.reindex()
    index.close()
    # New work for the next reindex: one article changed, one added.
    write_card(cards, "zebras", title="Why zebras have stripes", summary="Horseflies avoid them.")
    write_card(cards, "tides", title="What drives the tides", summary="The moon pulls the sea.")
    yield settings
    get_settings.cache_clear()


class FullDisk:
    """A SQLite connection on a full disk: every statement fails as SQLite reports it."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def execute(self, *args: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    executemany = execute

    def __enter__(self) -> FullDisk:
        self._connection.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._connection.__exit__(*exc)


def failing_reindex(monkeypatch: pytest.MonkeyPatch, where: str) -> Outcome:
    """`curator reindex` with the disk filling up at `where` (after the first article)."""
    real_save, real_commit = bm25s.BM25.save, Catalog.commit_article
    if where == "bm25 files":
        monkeypatch.setattr(bm25s.BM25, "save", no_space)
    else:
        calls = {"n": 0}

        def commit(self: Catalog, *args: Any, **kwargs: Any) -> None:
            calls["n"] += 1
            if calls["n"] == 1:
                return real_commit(self, *args, **kwargs)
            connection = self._conn
            self._conn = FullDisk(connection)  # type: ignore[assignment]
            try:
                return real_commit(self, *args, **kwargs)
            finally:
                self._conn = connection

        monkeypatch.setattr(Catalog, "commit_article", commit)
    try:
        return invoke("reindex", "--json")
    finally:
        monkeypatch.setattr(bm25s.BM25, "save", real_save)
        monkeypatch.setattr(Catalog, "commit_article", real_commit)


@pytest.mark.parametrize("where", ["bm25 files", "catalog commit"])
def test_a_full_disk_leaves_search_working_and_the_next_run_completes(
    indexed: Settings, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    assert failing_reindex(monkeypatch, where).code != 0

    index = KnowledgeIndex(indexed)
    try:
        # What was committed before the disk filled up is still searchable.
        assert index.search("zebras stripes")[0].chunk.title == "Why zebras have stripes"
        assert index.catalog.article_count() in (3, 4)
        report = index.reindex()
        assert not report.failed
        store_matches(index, 4)
        assert index.search("moon sea tides")[0].chunk.title == "What drives the tides"
    finally:
        index.close()


@pytest.mark.parametrize(
    "where",
    [
        "bm25 files",
        "catalog commit",
    ],
)
def test_a_full_disk_gives_a_clear_reindex_error(
    indexed: Settings, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    result = failing_reindex(monkeypatch, where)
    assert result.code == 1 and result.clear, result.exception
    assert "space" in result.output.lower() or "full" in result.output.lower()
