"""Fixtures for the digest tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.settings import Settings
from tests.knowledge.digest.fakes import digest_settings
from tests.support.fake_openai import fake_openai  # noqa: F401


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return digest_settings(tmp_path)
