"""Reading article files safely: size limit, empty files and text that is not UTF-8."""

from __future__ import annotations

from pathlib import Path

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


def read_limited(path: Path, limit: int, *, hint: str = "") -> bytes:
    """The bytes of `path`, refusing files over `limit` bytes and files with no content."""
    name = str(path)
    try:
        size = path.stat().st_size
        if size > limit:
            raise SourceError(name, too_large(size, limit) + hint)
        with path.open("rb") as handle:
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
