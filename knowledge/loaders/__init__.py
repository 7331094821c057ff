"""Article loaders: Markdown cards, JSON/JSONL records, RSS/Atom feeds and web pages."""

from knowledge.loaders.dispatch import SUPPORTED_EXTENSIONS, load_sources
from knowledge.loaders.result import LoadResult

__all__ = ["SUPPORTED_EXTENSIONS", "LoadResult", "load_sources"]
