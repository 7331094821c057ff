"""The one normalisation behind topic and publisher filters, shared by Chroma, BM25 and the catalog.

Two values filter alike exactly when their keys are equal: NFKC (full-width and compatibility
forms fold to their plain letters), Unicode case folding, and runs of white space made one space.
Punctuation and scripts are kept as they are, so `c++`, `c#`, `c` and `機械学習` stay four topics.
"""

from __future__ import annotations

import hashlib
import unicodedata

#: Bump when filter_key or the Chroma metadata built from it changes, so stored vectors get
#: their filter metadata rewritten (no re-embedding) on the next reindex.
#: 3: the publisher is stored as `publisher` / `publisher_key` (before: `source` / `source_key`).
FILTER_SCHEMA = 3

#: The first schema whose vectors carry `publisher_key`; older ones carry `source_key`.
PUBLISHER_KEY_SCHEMA = 3


def filter_key(value: str) -> str:
    """The form a topic or publisher is compared in: NFKC, case-folded, white space collapsed."""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def topic_key(topic: str) -> str:
    """Chroma metadata key flagging one topic: `t_` + a hash of its filter key.

    Chroma filters scalars, not list members, so each topic is its own boolean key; a hash
    keeps every script and punctuation distinct within the characters a key may use."""
    digest = hashlib.blake2b(filter_key(topic).encode(), digest_size=10).hexdigest()
    return f"t_{digest}"
