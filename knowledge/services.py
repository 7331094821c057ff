"""The services a front end needs, built once from settings and passed in (never globals)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from knowledge.settings import Settings
from knowledge.state import StateDB

if TYPE_CHECKING:
    from knowledge.answers.service import AnswerService
    from knowledge.digest.engine import DigestService
    from knowledge.digest.history import DigestHistory
    from knowledge.feedback import FeedbackStore
    from knowledge.index import KnowledgeIndex


class Services:
    """Lazily built services: a CLI command pays only for what it uses."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def state(self) -> StateDB:
        return StateDB(self.settings.data_dir / "state.sqlite3")

    @cached_property
    def index(self) -> KnowledgeIndex:
        from knowledge.index import KnowledgeIndex

        return KnowledgeIndex(self.settings)

    @cached_property
    def answers(self) -> AnswerService:
        from knowledge.answers.service import AnswerService

        return AnswerService(self.settings, self.index)

    @cached_property
    def digests(self) -> DigestService:
        from knowledge.digest.engine import DigestService

        return DigestService(self.settings, self.index)

    @cached_property
    def digest_history(self) -> DigestHistory:
        from knowledge.digest.history import DigestHistory

        return DigestHistory(self.state)

    @cached_property
    def feedback(self) -> FeedbackStore:
        from knowledge.feedback import FeedbackStore

        return FeedbackStore(self.state)

    def close(self) -> None:
        if "index" in self.__dict__:
            self.index.close()
        if "state" in self.__dict__:
            self.state.close()


def build_services(settings: Settings) -> Services:
    return Services(settings)
