"""Exceptions that carry a message fit to show a user."""

from __future__ import annotations

from knowledge.url_credentials import without_url_credentials


class CuratorError(Exception):
    """Base class: `str(exc)` is a message a member or admin can read."""

    @property
    def user_message(self) -> str:
        return str(self)


class ConfigError(CuratorError):
    """A setting is missing or invalid."""


class InputError(CuratorError):
    """A question, file or record that cannot be used as given."""


class SourceError(InputError):
    """One source (file, record, feed entry, page) could not be loaded."""

    def __init__(self, path: str, reason: str) -> None:
        # `path` stays as given (it identifies the source); the message hides a URL's password.
        super().__init__(without_url_credentials(f"{path}: {reason}"))
        self.path = path
        self.reason = reason


class StoreUnavailableError(CuratorError):
    """The vector store cannot be reached right now."""


class IndexBusyError(CuratorError):
    """Another reindex holds the lock."""


class EmbedderUnavailableError(CuratorError):
    """The configured embedder cannot be loaded."""


class StoreBusyError(StoreUnavailableError):
    """Another process holds the embedded vector store."""
