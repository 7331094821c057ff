"""JSON and JSON Lines files of article records; a bad record fails alone."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from knowledge.errors import SourceError
from knowledge.loaders.fields import (
    FieldError,
    block_field,
    common_fields,
    list_field,
    sections_field,
)
from knowledge.loaders.files import decode_utf8, open_regular, read_limited, too_large
from knowledge.loaders.result import SourceBatch
from knowledge.models import Article

_JSON_SIZE_HINT = "; split it or use JSON Lines (.jsonl), which has no file limit"


def record_to_article(record: Mapping[str, Any], origin: str) -> Article:
    """Build an Article from one record; FieldError says which field is wrong."""
    return Article(
        **common_fields(record),
        summary=block_field(record, "summary"),
        key_takeaway=" ".join(block_field(record, "key_takeaway").split()),
        key_insights=list_field(record, "key_insights"),
        sections=sections_field(record),
        body=block_field(record, "body"),
        origin=origin,
    )


def _add_record(batch: SourceBatch, record: object, where: str, origin: str) -> None:
    if not isinstance(record, dict):
        batch.fail(where, f"expected a JSON object, got {_json_kind(record)}")
        return
    try:
        batch.add(where, record_to_article(record, origin))
    except FieldError as exc:
        batch.fail(where, str(exc))
    except RecursionError:
        batch.fail(where, "a field is nested too deeply to read")
    except ValueError as exc:
        # E.g. pydantic refusing a value the field checks let through: this record only.
        batch.fail(where, f"unusable record: {type(exc).__name__}: {str(exc).splitlines()[0]}")


def load_json(path: Path, max_bytes: int) -> SourceBatch:
    """Records of a JSON file: an array of objects, or a single object."""
    name = str(path)
    text = decode_utf8(read_limited(path, max_bytes, hint=_JSON_SIZE_HINT), name)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(
            name, f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise SourceError(name, "invalid JSON: nested too deeply to read") from None
    except ValueError as exc:
        raise SourceError(name, f"invalid JSON: {exc}") from None
    batch = SourceBatch()
    if isinstance(data, dict):
        _add_record(batch, data, name, name)
    elif isinstance(data, list):
        if not data:
            raise SourceError(name, "no records: the JSON array is empty")
        for number, record in enumerate(data, start=1):
            _add_record(batch, record, f"{name}[#{number}]", name)
    else:
        raise SourceError(
            name, f"expected an array of objects or one object, got {_json_kind(data)}"
        )
    return batch


def load_jsonl(path: Path, max_bytes: int) -> SourceBatch:
    """Records of a JSON Lines file, one object per line; each line is limited to `max_bytes`."""
    name = str(path)
    batch = SourceBatch()
    seen_record = False
    try:
        with open_regular(path) as handle:
            for number, raw in _lines(handle, max_bytes):
                where = f"{name}:line {number}"
                if raw is None:
                    batch.fail(where, too_large(None, max_bytes))
                    seen_record = True
                    continue
                if not raw.strip():
                    continue
                seen_record = True
                _add_line(batch, raw, where, name)
    except OSError as exc:
        raise SourceError(name, f"cannot read the file: {exc.strerror or exc}") from exc
    if not seen_record:
        raise SourceError(name, "empty file")
    return batch


def _add_line(batch: SourceBatch, raw: bytes, where: str, origin: str) -> None:
    try:
        text = decode_utf8(raw, where)
    except SourceError as exc:
        batch.fail(where, exc.reason)
        return
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        batch.fail(where, f"invalid JSON: {exc.msg} at column {exc.colno}")
        return
    except RecursionError:
        batch.fail(where, "invalid JSON: nested too deeply to read")
        return
    except ValueError as exc:
        # E.g. an integer literal longer than Python agrees to convert (int_max_str_digits).
        batch.fail(where, f"invalid JSON: {exc}")
        return
    _add_record(batch, record, where, origin)


def _lines(handle: BinaryIO, max_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) per line; bytes is None for a line longer than `max_bytes`."""
    number = 0
    while True:
        line = handle.readline(max_bytes + 1)
        if not line:
            return
        number += 1
        if len(line) > max_bytes and not line.endswith(b"\n"):
            # Skip the rest of the oversize line without holding it in memory.
            while line and not line.endswith(b"\n"):
                line = handle.readline(1 << 16)
            yield number, None
        else:
            yield number, line


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if value is None:
        return "null"
    return type(value).__name__
