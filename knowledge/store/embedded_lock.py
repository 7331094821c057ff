"""One process at a time for the embedded (in-process) Chroma store.

Chroma's PersistentClient keeps state in memory that another process writing the same folder
does not see, and two such processes damage the store. A second process therefore waits up to
`wait_seconds` for the holder's OS lock, then refuses with a message naming the holder. Within
a process the lock is shared (counted), since Chroma itself shares one client per folder.
"""

from __future__ import annotations

import fcntl
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from knowledge.errors import StoreBusyError

#: How long a second process waits for the holder before refusing, in seconds.
WAIT_SECONDS = 5.0
_POLL = 0.1


def describe_process(argv: list[str] | None = None) -> str:
    """How the lock file names its holder: `the bot`, or the command line's first words."""
    args = list(sys.argv if argv is None else argv)
    name = Path(args[0]).name if args else "python"
    command = args[1] if len(args) > 1 and not args[1].startswith("-") else ""
    if name == "curator" and command == "run":
        return "the bot"
    return f"`{name} {command}`" if command else f"`{name}`"


def holder_message(holder: str) -> str:
    """The refusal a second process prints, naming who holds the store."""
    who = holder or "another process"
    return (
        f"{who} holds the embedded store: use /reindex, or a Chroma server for several "
        "processes (CURATOR_CHROMA__HOST)."
    )


class EmbeddedStoreLock:
    """A counted, process-wide hold on one embedded store's OS lock file."""

    _held: ClassVar[dict[Path, EmbeddedStoreLock]] = {}
    _guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd
        self._users = 1
        self._on_last: list[Callable[[], None]] = []

    @classmethod
    def acquire(
        cls,
        path: Path,
        wait_seconds: float | None = None,
        on_last_release: Callable[[], None] | None = None,
    ) -> EmbeddedStoreLock:
        """Hold the lock (shared with this process's other users); raises StoreBusyError.

        `on_last_release` runs just before the OS lock is freed, when this call took it."""
        # One key per file, however it is reached (a symlinked data dir must not lock itself out).
        path = path.expanduser().absolute()
        path = path.parent.resolve() / path.name
        with cls._guard:
            held = cls._held.get(path)
            if held is not None:
                held._users += 1
                return held
            fd = cls._take(path, WAIT_SECONDS if wait_seconds is None else wait_seconds)
            lock = cls(path, fd)
            if on_last_release is not None:
                lock._on_last.append(on_last_release)
            cls._held[path] = lock
            return lock

    @staticmethod
    def _take(path: Path, wait_seconds: float) -> int:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = read_holder(fd)
                    os.close(fd)
                    raise StoreBusyError(holder_message(holder)) from None
                time.sleep(_POLL)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{describe_process()} (pid {os.getpid()})".encode(), 0)
        return fd

    def release(self) -> None:
        """Drop one use; the last one runs the release actions and frees the OS lock."""
        with self._guard:
            self._users -= 1
            if self._users > 0:
                return
            self._held.pop(self.path, None)
            try:
                for action in self._on_last:
                    action()
            finally:
                os.close(self._fd)  # closing the descriptor releases the lock


def read_holder(fd: int) -> str:
    """What the holder wrote into the lock file ('' when nothing)."""
    try:
        return os.pread(fd, 200, 0).decode(errors="replace").strip()
    except OSError:
        return ""


def current_holder(path: Path) -> str | None:
    """Who holds the lock at `path` now, or None when it is free (does not take it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return read_holder(fd) or "another process"
        return None
    finally:
        os.close(fd)
