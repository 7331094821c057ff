"""Fixtures shared by every test package."""

from __future__ import annotations

import gc
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from knowledge.settings import Settings
from tests.support.settings import make_settings

pytest_plugins = ["tests.support.chroma_server"]

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "knowledge" / "sample"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's .env, OpenAI variables or Chroma model cache by accident."""
    monkeypatch.chdir(tmp_path)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("CURATOR_"):
            monkeypatch.delenv(name, raising=False)
    # Tests never touch the network: without the model, `auto` must not try to download it.
    monkeypatch.setenv("CURATOR_EMBEDDINGS__DOWNLOAD_TIMEOUT", "0")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """A test that runs `curator` configures process-wide logging; undo it afterwards, so no
    handler outlives the captured stream it writes to and no filter leaks into later tests."""
    import logging

    root = logging.getLogger()
    handlers = list(root.handlers)
    filters = {h: list(h.filters) for h in handlers}
    level = root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler, kept in filters.items():
        handler.filters[:] = kept
    root.setLevel(level)
    logging.captureWarnings(False)


def _connected(sock: socket.socket) -> bool:
    try:
        return sock.fileno() != -1 and bool(sock.getpeername())
    except OSError:
        return False


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when a connection is still open after every test and fixture has ended.

    pytest turns a ResourceWarning raised while the tests run into a failure (see pyproject);
    a socket something still holds at the end would only warn at interpreter exit, after the
    exit status is decided, so it is looked for here.
    """
    gc.collect()
    leaked = [o for o in gc.get_objects() if isinstance(o, socket.socket) and _connected(o)]
    if leaked:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"ResourceWarning: {len(leaked)} sockets left open:", red=True)
            for sock in leaked:
                reporter.write_line(f"  {sock!r}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def sample_dir() -> Path:
    return SAMPLE_DIR


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Embedded defaults in a fresh data dir, with the deterministic hash embedder."""
    return make_settings(tmp_path / "data")


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
