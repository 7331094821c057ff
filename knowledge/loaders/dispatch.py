"""Loading a batch of sources: pick a loader per file or URL, then check the batch as a whole."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.errors import SourceError
from knowledge.loaders.feeds import load_feed_file
from knowledge.loaders.fields import FieldError
from knowledge.loaders.markdown import load_markdown
from knowledge.loaders.pairing import (
    Entry,
    ManifestPair,
    is_manifest,
    pair_entries,
    read_manifest,
)
from knowledge.loaders.records import load_json, load_jsonl
from knowledge.loaders.result import LoadResult, SourceBatch
from knowledge.loaders.safe_text import clean_article
from knowledge.loaders.text_files import load_html_file, load_text
from knowledge.loaders.walk import is_folder_doc, is_url, walk_files
from knowledge.loaders.web import load_url
from knowledge.models import Article, IngestFailure, IngestWarning

if TYPE_CHECKING:
    from knowledge.settings import KnowledgeSettings

log = logging.getLogger(__name__)

FileLoader = Callable[[Path, int], SourceBatch]

LOADERS: dict[str, FileLoader] = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_text,
    ".html": load_html_file,
    ".htm": load_html_file,
    ".json": load_json,
    ".jsonl": load_jsonl,
    ".ndjson": load_jsonl,
    ".xml": load_feed_file,
    ".rss": load_feed_file,
    ".atom": load_feed_file,
}
SUPPORTED_EXTENSIONS = tuple(LOADERS)
NO_LINK_WARNING = "no link to the original: citations will name it without a link"


def load_sources(
    sources: Sequence[str],
    settings: KnowledgeSettings,
    known_feeds: Collection[str] = (),
) -> LoadResult:
    """Read every file, directory and URL in `sources`; each problem is reported, none is fatal.

    `known_feeds` are URLs that served a feed before: an HTML page from one of them (a login wall,
    a maintenance page) fails that source instead of replacing the feed's articles.
    """
    loading = _BatchLoading(settings, frozenset(known_feeds))
    for raw in sources:
        loading.load_source(raw)
    result = loading.finish()
    log.info(
        "loaded %d articles from %d sources (%d failed, %d skipped, %d paired)",
        len(result.articles),
        len(sources),
        len(result.failures),
        len(result.skipped),
        len(result.paired),
    )
    return result


class _BatchLoading:
    """One call of load_sources: what the batch has read so far, checked as a whole at the end."""

    def __init__(self, settings: KnowledgeSettings, known_feeds: frozenset[str]) -> None:
        self.settings = settings
        self.known_feeds = known_feeds
        self.result = LoadResult()
        self.entries: list[Entry] = []
        self.manifest: list[ManifestPair] = []
        self.read_files: set[Path] = set()

    def fail(self, where: str, reason: str) -> None:
        self.result.failures.append(IngestFailure(path=where, reason=reason))

    def warn(self, where: str, message: str) -> None:
        self.result.warnings.append(IngestWarning(path=where, message=message))

    def load_source(self, raw: str) -> None:
        source = raw.strip()
        if not source:
            self.fail(repr(raw), "empty source")
        elif is_url(source):
            expect_feed = source in self.known_feeds
            load = partial(load_url, source, self.settings, expect_feed=expect_feed)
            if self.attempt(source, load):
                self.result.feeds.append(source)
        else:
            self.load_path(Path(source).expanduser())

    def load_path(self, path: Path) -> None:
        if path.is_dir():
            for file in walk_files(path, on_error=self.unreadable_folder):
                loader = LOADERS.get(file.suffix.lower())
                if is_manifest(file):
                    self.load_manifest(file)
                elif loader is None or is_folder_doc(file):
                    self.result.skipped.append(str(file))
                else:
                    self.load_file(file, loader)
        elif not path.exists():
            self.fail(str(path), "no such file or directory")
        elif is_manifest(path):
            self.load_manifest(path)
        elif (loader := LOADERS.get(path.suffix.lower())) is None:
            shown = path.suffix or "(no extension)"
            expected = ", ".join(SUPPORTED_EXTENSIONS)
            self.fail(str(path), f"unsupported file type {shown} (expected {expected})")
        else:
            self.load_file(path, loader)

    def unreadable_folder(self, error: OSError) -> None:
        self.fail(str(error.filename), f"cannot read the folder: {error.strerror or error}")

    def load_manifest(self, path: Path) -> None:
        """Note the pairs a pairs.yaml names, and read their files if nothing else named them."""
        key = path.resolve()
        if key in self.read_files:
            return
        self.read_files.add(key)
        try:
            pairs = read_manifest(path)
        except SourceError as exc:
            self.fail(exc.path, exc.reason)
            return
        self.manifest += pairs
        for pair in pairs:
            for file in (pair.card, pair.article):
                if file.exists():
                    self.load_path(file)

    def load_file(self, path: Path, loader: FileLoader) -> None:
        key = path.resolve()
        if key in self.read_files:
            return  # Named twice (e.g. a file and its folder): read once.
        self.read_files.add(key)
        self.attempt(str(path), partial(loader, path, self.settings.max_article_bytes), key)

    def attempt(
        self, where: str, load: Callable[[], SourceBatch], file: Path | None = None
    ) -> bool:
        """Load one source into the batch; whether it was read as a feed."""
        try:
            batch = load()
        except SourceError as exc:
            self.fail(exc.path, exc.reason)
            return False
        except Exception as exc:
            # A parser bug on one odd file must not stop the rest of the batch.
            log.exception("unexpected error while loading %s", where)
            self.fail(where, f"unexpected error: {type(exc).__name__}: {exc}")
            return False
        self.take(batch, file)
        return batch.is_feed

    def take(self, batch: SourceBatch, file: Path | None) -> None:
        """Keep the batch's articles, each checked and normalised; a bad one fails alone."""
        self.result.failures.extend(batch.failures)
        self.result.warnings.extend(batch.warnings)
        for where, loaded, role in batch.entries:
            try:
                article = clean_article(loaded)
            except FieldError as exc:
                self.fail(where, str(exc))
                continue
            self.entries.append(Entry(where, article, role, file))

    def finish(self) -> LoadResult:
        """Pair cards with their texts, then keep one article per identity."""
        entries, paired, failures = pair_entries(self.entries, self.manifest)
        self.result.paired = paired
        self.result.failures += failures
        linked: dict[str, str] = {}  # unlinked id -> where its first linked version was loaded
        for entry in entries:
            if entry.article.url:
                linked.setdefault(entry.article.unlinked_id, entry.where)
        first_seen: dict[str, str] = {}  # article id -> where it was first loaded
        for entry in entries:
            article, where = entry.article, entry.where
            if not article.url and article.id in linked:
                self.warn(where, f"replaced by the version with a link from {linked[article.id]}")
                continue
            first = first_seen.get(article.id)
            if first is not None:
                self.fail(where, f"{_identity(article)}: already loaded from {first}")
                continue
            first_seen[article.id] = where
            if not article.url:
                self.warn(where, NO_LINK_WARNING)
            self.result.articles.append(article)
        return self.result


def _identity(article: Article) -> str:
    if article.url:
        return f"duplicate url {article.url}"
    publisher = f" — {article.publisher}" if article.publisher else ""
    return f"duplicate article {article.title!r}{publisher} (same title and publisher)"
