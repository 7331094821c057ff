"""The services a front end needs, built once from settings and passed in (never globals)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from knowledge.settings import Settings
from knowledge.state import StateDB

if TYPE_CHECKING:
    from knowledge.answers.llm import LLMClient
    from knowledge.answers.service import AnswerService
    from knowledge.digest.engine import DigestService
    from knowledge.digest.history import DigestHistory
    from knowledge.feedback import FeedbackStore
    from knowledge.index import KnowledgeIndex

_Part = TypeVar("_Part")


class Services:
    """The parts a front end uses, each built on first use (a CLI command pays only for what it
    uses) unless it was handed in (tests and tools pass stand-ins or shared instances).

    Services owns its parts, given or built: `aclose()` closes every one that exists, once.
    Answers and digests share its one LLM client (one connection pool), which only it closes.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        state: StateDB | None = None,
        index: KnowledgeIndex | None = None,
        llm: LLMClient | None = None,
        answers: AnswerService | None = None,
        digests: DigestService | None = None,
        digest_history: DigestHistory | None = None,
        feedback: FeedbackStore | None = None,
    ) -> None:
        self.settings = settings
        self._state = state
        self._index = index
        self._llm = llm
        # The client is built once, even when no model is configured and it is None.
        self._llm_built = llm is not None
        self._answers = answers
        self._digests = digests
        self._digest_history = digest_history
        self._feedback = feedback
        # Re-entrant: building the answers builds the index. The bot builds parts in worker
        # threads (warm-up, reindex) while the event loop may ask for them too.
        self._lock = threading.RLock()
        self._closed = False

    def _get(self, current: _Part | None, build: Callable[[], _Part]) -> _Part:
        if current is not None:
            return current
        if self._closed:
            raise RuntimeError("these services are closed")
        return build()

    @property
    def state(self) -> StateDB:
        """The SQLite state database (digest history, feedback)."""
        with self._lock:
            self._state = self._get(
                self._state, lambda: StateDB(self.settings.data_dir / "state.sqlite3")
            )
            return self._state

    @property
    def index(self) -> KnowledgeIndex:
        """The knowledge index (catalog, vectors, BM25)."""
        from knowledge.index import KnowledgeIndex

        with self._lock:
            self._index = self._get(self._index, lambda: KnowledgeIndex(self.settings))
            return self._index

    @property
    def llm(self) -> LLMClient | None:
        """The language model client answers and digests share (one connection pool), None
        when no model is configured (extractive answers, template intros)."""
        from knowledge.answers.llm import LLMClient

        with self._lock:
            if not self._llm_built:
                if self._closed:
                    raise RuntimeError("these services are closed")
                self._llm = LLMClient.from_settings(self.settings.llm)
                self._llm_built = True
            return self._llm

    @property
    def answers(self) -> AnswerService:
        """Answers to questions, over the index."""
        from knowledge.answers.service import AnswerService

        with self._lock:
            self._answers = self._get(
                self._answers, lambda: AnswerService(self.settings, self.index, self.llm)
            )
            return self._answers

    @property
    def digests(self) -> DigestService:
        """Digests of what was curated, over the index."""
        from knowledge.digest.engine import DigestService

        with self._lock:
            self._digests = self._get(
                self._digests, lambda: DigestService(self.settings, self.index, self.llm)
            )
            return self._digests

    @property
    def digest_history(self) -> DigestHistory:
        """Which digests were posted, in the state database."""
        from knowledge.digest.history import DigestHistory

        with self._lock:
            self._digest_history = self._get(
                self._digest_history, lambda: DigestHistory(self.state)
            )
            return self._digest_history

    @property
    def feedback(self) -> FeedbackStore:
        """Answer feedback, in the state database."""
        from knowledge.feedback import FeedbackStore

        with self._lock:
            self._feedback = self._get(self._feedback, lambda: FeedbackStore(self.state))
            return self._feedback

    async def aclose(self) -> None:
        """Close every part that exists: the LLM client (on this event loop, which its
        connections belong to: a CLI command closes its services inside the loop it asked on),
        then the index and the state database. Safe to call more than once; nothing is built
        by closing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            answers, digests, llm = self._answers, self._digests, self._llm
            index, state = self._index, self._state
        # Services handed in may hold clients of their own.
        if answers is not None:
            await answers.aclose()
        if digests is not None:
            await digests.aclose()
        if llm is not None:
            await llm.aclose()
        if index is not None:
            index.close()
        if state is not None:
            state.close()


def build_services(settings: Settings) -> Services:
    """The services for `settings`, each built on first use."""
    return Services(settings)
