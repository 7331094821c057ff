"""What a reindex changed, by title: snapshots of the catalog before and after, compared."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from knowledge.index import KnowledgeIndex


@dataclass
class ReindexChanges:
    """Titles of the articles a reindex added, updated and removed (a dry run lists none)."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


Snapshot = dict[str, tuple[str, str]]


def snapshot(index: KnowledgeIndex) -> Snapshot:
    """article id -> (content hash, title) of every indexed article."""
    return {a.id: (a.content_hash(), a.title) for a in index.list_articles()}


def changes_between(before: Snapshot, after: Snapshot) -> ReindexChanges:
    """What changed from one snapshot to the next, titles sorted for reading."""
    added = [after[i][1] for i in after.keys() - before.keys()]
    removed = [before[i][1] for i in before.keys() - after.keys()]
    updated = [after[i][1] for i in after.keys() & before.keys() if after[i][0] != before[i][0]]
    return ReindexChanges(
        added=sorted(added, key=str.casefold),
        updated=sorted(updated, key=str.casefold),
        removed=sorted(removed, key=str.casefold),
    )
