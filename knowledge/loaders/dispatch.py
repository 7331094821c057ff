"""Loading a batch of sources: pick a loader per file or URL, then check the batch as a whole."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.errors import SourceError
from knowledge.loaders.feeds import load_feed_file
from knowledge.loaders.fields import FieldError
from knowledge.loaders.markdown import load_markdown
from knowledge.loaders.records import load_json, load_jsonl
from knowledge.loaders.result import LoadResult, SourceBatch
from knowledge.loaders.safe_text import clean_article
from knowledge.loaders.walk import is_url, walk_files
from knowledge.loaders.web import load_url
from knowledge.models import IngestFailure

if TYPE_CHECKING:
    from knowledge.settings import KnowledgeSettings

log = logging.getLogger(__name__)

FileLoader = Callable[[Path, int], SourceBatch]

LOADERS: dict[str, FileLoader] = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".json": load_json,
    ".jsonl": load_jsonl,
    ".ndjson": load_jsonl,
    ".xml": load_feed_file,
    ".rss": load_feed_file,
    ".atom": load_feed_file,
}
SUPPORTED_EXTENSIONS = tuple(LOADERS)


def load_sources(sources: Sequence[str], settings: KnowledgeSettings) -> LoadResult:
    """Read every file, directory and URL in `sources`; each problem is reported, none is fatal."""
    loading = _BatchLoading(settings)
    for raw in sources:
        loading.load_source(raw)
    result = loading.result
    log.info(
        "loaded %d articles from %d sources (%d failed, %d skipped)",
        len(result.articles),
        len(sources),
        len(result.failures),
        len(result.skipped),
    )
    return result


class _BatchLoading:
    """One call of load_sources: the result so far and what the batch has already seen."""

    def __init__(self, settings: KnowledgeSettings) -> None:
        self.settings = settings
        self.result = LoadResult()
        self.first_seen: dict[str, str] = {}  # url -> where it was first loaded
        self.read_files: set[Path] = set()

    def fail(self, where: str, reason: str) -> None:
        self.result.failures.append(IngestFailure(path=where, reason=reason))

    def load_source(self, raw: str) -> None:
        source = raw.strip()
        if not source:
            self.fail(repr(raw), "empty source")
        elif is_url(source):
            self.attempt(source, partial(load_url, source, self.settings))
        else:
            self.load_path(Path(source).expanduser())

    def load_path(self, path: Path) -> None:
        if path.is_dir():
            for file in walk_files(path, on_error=self.unreadable_folder):
                loader = LOADERS.get(file.suffix.lower())
                if loader is None:
                    self.result.skipped.append(str(file))
                else:
                    self.load_file(file, loader)
        elif not path.exists():
            self.fail(str(path), "no such file or directory")
        elif (loader := LOADERS.get(path.suffix.lower())) is None:
            shown = path.suffix or "(no extension)"
            expected = ", ".join(SUPPORTED_EXTENSIONS)
            self.fail(str(path), f"unsupported file type {shown} (expected {expected})")
        else:
            self.load_file(path, loader)

    def unreadable_folder(self, error: OSError) -> None:
        self.fail(str(error.filename), f"cannot read the folder: {error.strerror or error}")

    def load_file(self, path: Path, loader: FileLoader) -> None:
        key = path.resolve()
        if key in self.read_files:
            return  # Named twice (e.g. a file and its folder): read once.
        self.read_files.add(key)
        self.attempt(str(path), partial(loader, path, self.settings.max_article_bytes))

    def attempt(self, where: str, load: Callable[[], SourceBatch]) -> None:
        try:
            batch = load()
        except SourceError as exc:
            self.fail(exc.path, exc.reason)
            return
        except Exception as exc:
            # A parser bug on one odd file must not stop the rest of the batch.
            log.exception("unexpected error while loading %s", where)
            self.fail(where, f"unexpected error: {type(exc).__name__}: {exc}")
            return
        self.take(batch)

    def take(self, batch: SourceBatch) -> None:
        """Keep the batch's articles, failing any whose url an earlier one already has."""
        self.result.failures.extend(batch.failures)
        for where, loaded in batch.entries:
            try:
                article = clean_article(loaded)
            except FieldError as exc:
                self.fail(where, str(exc))
                continue
            first = self.first_seen.get(article.url)
            if first is not None:
                self.fail(where, f"duplicate url {article.url}: already loaded from {first}")
                continue
            self.first_seen[article.url] = where
            self.result.articles.append(article)
