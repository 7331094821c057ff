"""Fixtures for the answer tests: the fake OpenAI server and a small in-memory index."""

from tests.support.fake_openai import fake_openai  # noqa: F401
