"""Embedders: text in, L2-normalised vectors out (MiniLM via ONNX, OpenAI-compatible, hash)."""

from knowledge.embeddings.base import Embedder, Vectors
from knowledge.embeddings.factory import create_embedder
from knowledge.embeddings.hash import HashEmbedder

__all__ = ["Embedder", "HashEmbedder", "Vectors", "create_embedder"]
