"""Settings for tests, built validated with overrides instead of changed after validation.

`make_settings(data_dir, retrieval={"k": 3})` starts from the test defaults (hash embedder, the
sample articles) and merges each override group key by key; `with_overrides(settings, ...)`
(knowledge.settings, re-exported here with `merged`) does the same starting from existing
settings. Both go through validation, so a bad override fails where it is written, as a
misspelt variable fails start-up. They are the one way tests build a whole Settings:
tests/test_settings_in_tests.py fails on one built directly elsewhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from knowledge.settings import Settings, load_settings, merged, with_overrides

__all__ = ["SAMPLE_DIR", "TEST_DEFAULTS", "make_settings", "merged", "with_overrides"]

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "knowledge" / "sample"

#: What every test starts from unless it says otherwise: no model, no network, small articles.
TEST_DEFAULTS: dict[str, Any] = {
    "embeddings": {"provider": "hash"},
    "knowledge": {"sources": [str(SAMPLE_DIR)]},
}


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Validated settings in `data_dir`: the test defaults, then `overrides` (groups as dicts).

    The environment is read as at start-up (tests run with it cleaned), so this is the path a
    real `curator` command takes; a value out of range raises ConfigError naming it.
    """
    return load_settings(**merged({**TEST_DEFAULTS, "data_dir": data_dir}, overrides))
