"""Services: parts built on first use or handed in, all closed by one aclose()."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import cast

import pytest

from knowledge.answers.llm import LLMClient
from knowledge.digest.engine import DigestService
from knowledge.index import KnowledgeIndex
from knowledge.services import Services
from knowledge.settings import Settings
from knowledge.state import StateDB
from tests.support.fake_openai import FakeOpenAI, Reply, fake_openai  # noqa: F401
from tests.support.settings import make_settings


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


async def test_answers_and_digests_share_one_llm_client_closed_once_by_services(
    tmp_path: Path,
    fake_openai: FakeOpenAI,  # noqa: F811
) -> None:
    fake_openai.script(
        Reply("LoRA trains two small low-rank matrices [1]."), Reply("Today: sleep.")
    )
    settings = make_settings(tmp_path / "data", llm={"base_url": fake_openai.base_url})
    services = Services(settings)
    services.index.reindex()  # the sample articles
    llm = services.llm
    assert llm is not None
    assert services.answers.llm is llm and services.digests.llm is llm  # one connection pool
    # Both use it; closing one service leaves the client to the other (Services owns it).
    answer = await services.answers.answer(
        "How does LoRA reduce the number of trainable parameters?"
    )
    await services.answers.aclose()
    assert not llm.is_closed()
    await services.digests.build(since=date(2000, 1, 1), until=date(2100, 1, 1))
    await services.aclose()
    assert llm.is_closed()
    assert answer.mode == "llm" and len(fake_openai.chat_requests) == 2


async def test_without_a_model_no_client_is_built(settings: Settings) -> None:
    services = Services(settings)
    assert services.llm is None
    assert services.answers.llm is None and services.digests.llm is None
    await services.aclose()


async def test_a_service_built_alone_closes_the_client_it_built(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", llm={"base_url": "http://127.0.0.1:9/v1"})
    index = StandIn()
    alone = DigestService(settings, cast(KnowledgeIndex, index))
    assert alone.llm is not None and not alone.llm.is_closed()
    await alone.aclose()
    assert alone.llm.is_closed()
    shared = LLMClient(settings.llm)
    handed = DigestService(settings, cast(KnowledgeIndex, index), llm=shared)
    await handed.aclose()
    assert handed.llm is shared and not shared.is_closed()  # its owner closes it
    await shared.aclose()


async def test_a_given_llm_client_is_shared_and_closed_too(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")  # no model configured: only the given one
    given = LLMClient(
        make_settings(tmp_path / "data", llm={"base_url": "http://127.0.0.1:9/v1"}).llm
    )
    services = Services(settings, index=cast(KnowledgeIndex, StandIn()), llm=given)
    assert services.llm is given
    assert services.answers.llm is given and services.digests.llm is given
    await services.aclose()
    assert given.is_closed()
