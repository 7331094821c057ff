"""One process at a time on the embedded store: a second process waits briefly for the holder,
then refuses with a message naming it, instead of damaging the store."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from knowledge.errors import StoreBusyError
from knowledge.health import check_store, served_index
from knowledge.index import KnowledgeIndex
from knowledge.store import embedded_lock
from knowledge.store.embedded_lock import EmbeddedStoreLock, current_holder, describe_process
from tests.faults.conftest import CURATOR, curator_env, generated_cards
from tests.support.settings import make_settings

# A process that holds the store as the bot does (argv `curator run`), until its stdin closes.
HOLDER = (
    "import sys; sys.argv = ['curator', 'run']; "
    "from knowledge.index import KnowledgeIndex; from knowledge.settings import load_settings; "
    "index = KnowledgeIndex(load_settings()); index.stats(); print('holding', flush=True); "
    "sys.stdin.read(); index.close()"
)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    generated_cards(tmp_path / "cards", 6)
    settings = make_settings(tmp_path / "data", knowledge={"sources": [str(tmp_path / "cards")]})
    index = KnowledgeIndex(settings)
    index.reindex()
    index.close()
    return tmp_path / "data"


@contextmanager
def holding_store(data: Path) -> Iterator[subprocess.Popen[str]]:
    """A second process holding the embedded store the way the running bot does, until
    `let_go`; as a context manager Popen closes its pipes (no ResourceWarning)."""
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER],
        env=curator_env(data, data.parent / "cards"),
        cwd=data.parent,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        try:
            yield holder
        finally:
            let_go(holder)


def let_go(holder: subprocess.Popen[str]) -> None:
    """Tell the holder to release the store (it waits on stdin) and wait for it to exit."""
    assert holder.stdin is not None
    if not holder.stdin.closed:
        holder.stdin.close()
    holder.wait(timeout=30)


@pytest.fixture
def bot(data: Path) -> Iterator[subprocess.Popen[str]]:
    with holding_store(data) as holder:
        yield holder


def test_a_second_process_is_refused_naming_the_bot(data: Path, bot: subprocess.Popen[str]) -> None:
    env = curator_env(data, data.parent / "cards")
    started = time.monotonic()
    for command in (["search", "saffron"], ["reindex"]):
        done = subprocess.run(
            [CURATOR, *command], env=env, cwd=data.parent, capture_output=True, text=True
        )
        assert done.returncode != 0
        said = " ".join((done.stderr + done.stdout).split())  # the terminal wraps lines
        assert f"the bot (pid {bot.pid}) holds the embedded store" in said
        assert "use /reindex, or a Chroma server for several processes" in said
    # It waited for the holder before refusing, but only briefly.
    assert time.monotonic() - started >= 2 * embedded_lock.WAIT_SECONDS
    assert current_holder(data / "chroma.lock") == f"the bot (pid {bot.pid})"


def test_a_process_in_this_one_waits_then_refuses(data: Path, bot: subprocess.Popen[str]) -> None:
    with pytest.raises(StoreBusyError, match=r"the bot \(pid \d+\) holds the embedded store"):
        EmbeddedStoreLock.acquire(data / "chroma.lock", wait_seconds=0.3)


def test_doctor_beside_the_bot_does_not_open_the_store_twice(
    data: Path, bot: subprocess.Popen[str]
) -> None:
    settings = make_settings(data)
    check = check_store(settings, served_index(settings))
    assert check.status == "ok" and f"open in the bot (pid {bot.pid})" in check.detail


def test_the_second_process_gets_the_store_once_the_holder_lets_go(data: Path) -> None:
    env = curator_env(data, data.parent / "cards")
    with (
        holding_store(data) as holder,
        subprocess.Popen(
            [CURATOR, "search", "saffron", "--json"],
            env=env,
            cwd=data.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as second,
    ):
        time.sleep(1.0)  # the second one is waiting now
        let_go(holder)
        out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert '"title"' in out


def test_one_process_shares_its_hold_and_frees_it_with_the_last_user(tmp_path: Path) -> None:
    path = tmp_path / "chroma.lock"
    first = EmbeddedStoreLock.acquire(path)
    second = EmbeddedStoreLock.acquire(path)
    assert first is second
    first.release()
    assert current_holder(path) is not None
    second.release()
    assert current_holder(path) is None


def test_the_holder_is_described_by_its_command() -> None:
    assert describe_process(["/usr/local/bin/curator", "run"]) == "the bot"
    assert describe_process(["/usr/local/bin/curator", "reindex", "--json"]) == "`curator reindex`"
    assert describe_process(["python"]) == "`python`"
    assert os.getpid() > 0


def test_a_symlinked_data_dir_shares_the_same_hold(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    first = EmbeddedStoreLock.acquire(tmp_path / "real" / "chroma.lock", wait_seconds=0.2)
    second = EmbeddedStoreLock.acquire(tmp_path / "link" / "chroma.lock", wait_seconds=0.2)
    assert first is second
    second.release()
    first.release()
