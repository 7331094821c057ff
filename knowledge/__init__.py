"""Curator's domain: articles, ingestion, the store, retrieval, answers and digests."""

__version__ = "0.1.0"
