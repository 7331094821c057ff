"""A real `chroma run` server on 127.0.0.1 for server-mode tests, started by fixtures."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chroma_executable() -> str | None:
    beside = Path(sys.executable).with_name("chroma")
    return str(beside) if beside.exists() else shutil.which("chroma")


@dataclass
class ChromaServer:
    """One `chroma run` process; `stop()` and `start()` simulate an outage."""

    path: Path
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        exe = chroma_executable()
        if exe is None:
            pytest.skip("the `chroma` command is not installed")
        self._close_log()
        self.log = (self.path.parent / f"chroma-{self.port}.log").open("ab")
        self.process = subprocess.Popen(
            [exe, "run", "--path", str(self.path), "--host", self.host, "--port", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(
                    f"http://{self.host}:{self.port}/api/v2/heartbeat", timeout=1
                ):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("chroma run did not answer its heartbeat in time")

    def stop(self) -> None:
        self._close_log()
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None

    def _close_log(self) -> None:
        # The child keeps its own copy of the descriptor; ours is only for handing it over.
        if self.log is not None:
            self.log.close()
            self.log = None


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    """A Chroma server shared by the session's server-mode tests (each uses its own prefix)."""
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server") / "db")
    server.start()
    try:
        yield server
    finally:
        server.stop()
