"""Pairing card exports with their original articles' text, by title or by a pairs.yaml file.

A card export holds the editorial fields and no original text; an article's text (.txt, .html)
holds the text and no editorial fields. Loaded in the same ingest, a card and a text whose titles
match (case, punctuation, quotes and spacing ignored) become one article. When the titles differ,
a `pairs.yaml` beside them names the pairs explicitly:

    # card export: its original article (paths relative to this file)
    card-bubble.txt: interview-with-the-author.txt
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from knowledge.errors import SourceError
from knowledge.loaders.files import decode_utf8, read_limited
from knowledge.loaders.markdown import StrictYAMLLoader
from knowledge.loaders.result import Role
from knowledge.models import Article, IngestFailure, Pairing, title_key

MANIFEST_NAMES = frozenset({"pairs.yaml", "pairs.yml"})
_MANIFEST_BYTES = 1_000_000


@dataclass
class Entry:
    """One loaded article with where it came from and what it is to pairing."""

    where: str
    article: Article
    role: Role
    file: Path | None = None  # the resolved file it was read from, for pairs.yaml


@dataclass(frozen=True)
class ManifestPair:
    card: Path
    article: Path
    manifest: str


def is_manifest(path: Path) -> bool:
    """Whether `path` is named like a pairs manifest."""
    return path.name.lower() in MANIFEST_NAMES


def read_manifest(path: Path) -> list[ManifestPair]:
    """The pairs a pairs.yaml names, as resolved paths; SourceError when it is not such a file."""
    name = str(path)
    text = decode_utf8(read_limited(path, _MANIFEST_BYTES), name)
    try:
        data = yaml.load(text, Loader=StrictYAMLLoader)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SourceError(name, f"broken YAML: {first}") from None
    except RecursionError:
        raise SourceError(name, "broken YAML: nested too deeply") from None
    if not isinstance(data, dict) or not data:
        raise SourceError(
            name, "expected 'card file: article file' lines (a YAML mapping of file names)"
        )
    pairs: list[ManifestPair] = []
    for card, article in data.items():
        if not isinstance(card, str) or not isinstance(article, str):
            raise SourceError(name, f"{card!r}: both sides must be file names")
        pairs.append(
            ManifestPair((path.parent / card).resolve(), (path.parent / article).resolve(), name)
        )
    return pairs


def merge(card: Article, text: Article) -> Article:
    """One article: the card's editorial fields and the text's body (and link, if the card lacks
    one)."""
    return card.model_copy(
        update={
            "url": card.url or text.url,
            "publisher": card.publisher or text.publisher,
            "author": card.author or text.author,
            "published": card.published or text.published,
            "body": text.body,
            "text_origin": text.origin,
        }
    )


def pair_entries(
    entries: list[Entry], manifest: list[ManifestPair]
) -> tuple[list[Entry], list[Pairing], list[IngestFailure]]:
    """Entries with each paired card and text merged into one, the pairings, and the failures of
    manifest lines that name no loaded card or text."""
    by_file = {e.file: e for e in entries if e.file is not None and e.role != "article"}
    merged: dict[int, Entry] = {}  # id(card entry) -> merged entry
    used: set[int] = set()
    pairings: list[Pairing] = []
    failures: list[IngestFailure] = []

    def join(card: Entry, text: Entry, by: Literal["title", "manifest"]) -> None:
        article = merge(card.article, text.article)
        merged[id(card)] = Entry(card.where, article, "article", card.file)
        used.update((id(card), id(text)))
        pairings.append(Pairing(title=article.title, card=card.where, article=text.where, by=by))

    for pair in manifest:
        card, text = by_file.get(pair.card), by_file.get(pair.article)
        problem = _manifest_problem(pair, card, text, used)
        if problem:
            failures.append(IngestFailure(path=pair.manifest, reason=problem))
            continue
        assert card is not None and text is not None
        join(card, text, "manifest")

    texts: dict[str, list[Entry]] = {}
    for entry in entries:
        if entry.role == "text" and id(entry) not in used:
            texts.setdefault(title_key(entry.article.title), []).append(entry)
    for entry in entries:
        if entry.role != "card" or id(entry) in used:
            continue
        candidates = [t for t in texts.get(title_key(entry.article.title), []) if id(t) not in used]
        if candidates:
            join(entry, candidates[0], "title")

    result = []
    for entry in entries:
        if id(entry) in merged:
            result.append(merged[id(entry)])
        elif id(entry) not in used:
            result.append(entry)
    return result, pairings, failures


def _manifest_problem(
    pair: ManifestPair, card: Entry | None, text: Entry | None, used: set[int]
) -> str | None:
    for path, entry, role, label in (
        (pair.card, card, "card", "a card export"),
        (pair.article, text, "text", "an article text"),
    ):
        if entry is None:
            return f"{path.name}: not loaded (missing, unreadable or not {label})"
        if entry.role != role:
            return f"{path.name}: is not {label}"
        if id(entry) in used:
            return f"{path.name}: already paired"
    return None
