"""The words for refusal reasons and notices: one place, so every front end says the same."""

from __future__ import annotations

from knowledge.models import NoticeCode, RefusalReason, SearchFilters

# The language the articles are written in, and so the only one plain search understands
# (the stemmer, stop words and the MiniLM embedder are English).
COLLECTION_LANGUAGE = "English"

_NOTICE_TEXT: dict[NoticeCode, str] = {
    NoticeCode.QUESTION_TRUNCATED: "Your question was very long; only its first part was used.",
    NoticeCode.LLM_UNAVAILABLE: (
        "The language model is not answering right now. Showing quoted passages instead."
    ),
    NoticeCode.LLM_WITHHELD: (
        "The language model's reply repeated its own instructions, so it was withheld; "
        "showing quoted passages instead."
    ),
    NoticeCode.UNCITED: "This answer cites none of the curated articles; treat it with care.",
    NoticeCode.REPLY_TIME_LIMIT: (
        "The language model took too long, so its answer was stopped at the time limit."
    ),
    NoticeCode.REPLY_SIZE_LIMIT: (
        "The language model's answer was too long, so it was stopped at the size limit."
    ),
    NoticeCode.DROP_FILTERS: "Ask again without the filters to search the whole collection.",
    NoticeCode.LINKS_REWRITTEN: (
        "A link whose text showed a different address was replaced by its real address."
    ),
}


def notice_text(code: NoticeCode) -> str:
    """The sentence a member reads for a notice code."""
    return _NOTICE_TEXT[code]


def describe_filters(filters: SearchFilters | None) -> str:
    """ "topic 'x', since 2024-01-01" for the filters that are set; '' when none are."""
    if filters is None or filters.is_empty():
        return ""
    parts = []
    if filters.topic:
        parts.append(f"topic '{filters.topic}'")
    if filters.publisher:
        parts.append(f"publisher '{filters.publisher}'")
    if filters.since:
        parts.append(f"since {filters.since.isoformat()}")
    if filters.until:
        parts.append(f"until {filters.until.isoformat()}")
    return ", ".join(parts)


def refusal_text(reason: RefusalReason, filters: SearchFilters | None = None) -> str:
    """The refusal's lead sentence; the closest articles are a separate field, not in here."""
    if reason is RefusalReason.NO_MATCH_FOR_FILTERS:
        scope = describe_filters(filters)
        return (
            f"No curated article on this matches your filters ({scope})."
            if scope
            else ("No curated article on this matches your filters.")
        )
    if reason is RefusalReason.NOT_IN_LANGUAGE:
        return (
            f"I can only search questions written in {COLLECTION_LANGUAGE}, the language of the "
            f"curated articles. Please ask again in {COLLECTION_LANGUAGE}."
        )
    if reason is RefusalReason.LLM_DECLINED:
        return "The curated articles I found do not answer this, so I won't guess."
    return "The curated articles don't cover this yet, so I won't guess."
