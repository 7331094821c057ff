"""Reading article files safely: size limit, empty files and text that is not UTF-8."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from knowledge.errors import SourceError

SIZE_SETTING = "CURATOR_KNOWLEDGE__MAX_ARTICLE_BYTES"


def human_size(n: int) -> str:
    """Bytes as a short human figure: 950 bytes, 12.3 KB, 2.0 MB."""
    if n < 1_000:
        return f"{n} bytes"
    if n < 1_000_000:
        return f"{n / 1_000:.1f} KB"
    return f"{n / 1_000_000:.1f} MB"


def too_large(size: int | None, limit: int) -> str:
    """The reason given for anything over `limit` bytes."""
    shown = f"{human_size(size)}, " if size is not None else ""
    return f"too large ({shown}over the {human_size(limit)} limit set by {SIZE_SETTING})"


def open_regular(path: Path) -> BinaryIO:
    """`path` opened for reading if it is a regular file; SourceError otherwise.

    Opened non-blocking first: opening a named pipe for reading would otherwise wait for a writer
    forever, before there is any chance to look at what the file is.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise SourceError(str(path), f"cannot read the file: {exc.strerror or exc}") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SourceError(str(path), "not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_limited(path: Path, limit: int, *, hint: str = "") -> bytes:
    """The bytes of `path`, refusing files over `limit` bytes, files with no content and
    anything that is not a regular file (pipes, devices)."""
    name = str(path)
    with open_regular(path) as handle:
        try:
            size = os.fstat(handle.fileno()).st_size
            if size > limit:
                raise SourceError(name, too_large(size, limit) + hint)
            # The file may have grown since stat(): never read more than the limit allows.
            data = handle.read(limit + 1)
        except OSError as exc:
            raise SourceError(name, f"cannot read the file: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise SourceError(name, too_large(None, limit) + hint)
    if not data.strip():
        raise SourceError(name, "empty file")
    return data


def decode_utf8(data: bytes, where: str) -> str:
    """Text of `data`, which must be UTF-8 (a byte-order mark is allowed)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(
            where,
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save the file as UTF-8",
        ) from None
