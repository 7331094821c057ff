"""Services: parts built on first use or handed in, all closed by one aclose()."""

from __future__ import annotations

from typing import cast

import pytest

from knowledge.digest.engine import DigestService
from knowledge.index import KnowledgeIndex
from knowledge.services import Services
from knowledge.settings import Settings
from knowledge.state import StateDB


class StandIn:
    """Enough of KnowledgeIndex or StateDB for Services: it counts being closed."""

    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


async def test_nothing_is_built_until_used_and_closing_builds_nothing(settings: Settings) -> None:
    services = Services(settings)
    await services.aclose()
    assert not (settings.data_dir / "state.sqlite3").exists()
    assert not settings.data_dir.exists()


async def test_parts_are_built_once_and_closed_once(settings: Settings) -> None:
    services = Services(settings)
    assert services.index is services.index
    assert services.answers.index is services.index
    assert services.feedback is services.feedback
    assert services.digest_history is services.digest_history
    await services.aclose()
    await services.aclose()  # a second close is harmless
    with pytest.raises(RuntimeError, match="closed"):
        _ = services.digests  # not built before closing: not built after either


async def test_given_parts_are_used_and_closed_too(settings: Settings) -> None:
    index, state = StandIn(), StandIn()
    services = Services(settings, index=cast(KnowledgeIndex, index), state=cast(StateDB, state))
    assert services.index is index and services.state is state
    digests = services.digests
    assert isinstance(digests, DigestService) and digests.index is index
    await services.aclose()
    await services.aclose()
    assert index.closed == 1 and state.closed == 1
