"""The intro written by an LLM from the cards, keeping only citations of cards it was given."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from knowledge.answers.citations import validate_citations
from knowledge.answers.llm import LLMClient
from knowledge.digest.contents import DigestEntry, DigestSection, IntroCitation
from knowledge.digest.template import period_phrase
from knowledge.digest.window import DigestWindow
from knowledge.models import Article

log = logging.getLogger(__name__)

_MARKER = re.compile(r"\[(\d+)\]")

#: Cards shown to the model; a bigger day is introduced from its first cards in reading order.
MAX_PROMPT_CARDS = 40
_SUMMARY_CHARS = 400
_INTRO_MAX_TOKENS = 300

SYSTEM_PROMPT = """\
You write the short introduction of a community's reading digest. You are given numbered \
article cards. Write 2 to 4 sentences (at most 90 words) in a warm, plain voice: what the \
articles are about and who will get the most from which. Mention only articles from the cards \
and cite each one you mention with its number in square brackets, like [2]. Never invent \
articles, numbers, links or facts. No headings, no lists, no @mentions, no sign-off."""


@dataclass(frozen=True)
class WrittenIntro:
    text: str
    citations: list[IntroCitation]


def format_cards(
    sections: Sequence[DigestSection], articles: Mapping[str, Article], limit: int
) -> str:
    """The numbered cards the model reads; numbers are the digest's own [n]."""
    blocks: list[str] = []
    for section in sections:
        for entry in section.articles:
            if len(blocks) >= limit:
                break
            blocks.append(_card(entry, section.topic, articles.get(entry.article_id)))
    return "\n\n".join(blocks)


def _card(entry: DigestEntry, topic: str, article: Article | None) -> str:
    lines = [f"[{entry.n}] {entry.title}" + (f" — {entry.publisher}" if entry.publisher else "")]
    lines.append(f"Topic: {topic}")
    if entry.takeaway:
        lines.append(f"Key takeaway: {entry.takeaway}")
    if entry.best_for:
        lines.append(f"Best for: {', '.join(entry.best_for)}")
    summary = " ".join(article.summary.split()) if article is not None else ""
    if summary:
        if len(summary) > _SUMMARY_CHARS:
            summary = summary[: _SUMMARY_CHARS - 1].rstrip() + "…"
        lines.append(f"Summary: {summary}")
    return "\n".join(lines)


async def write_llm_intro(
    llm: LLMClient,
    sections: Sequence[DigestSection],
    articles: Mapping[str, Article],
    window: DigestWindow,
) -> WrittenIntro | None:
    """The model's intro with hallucinated [n] markers removed; None when nothing valid is left.

    An intro that cites none of the cards it was shown is not trusted: the caller falls back to
    the template rather than post claims nobody can check. LLM errors propagate to the caller.
    """
    entries = [e for s in sections for e in s.articles]
    shown = entries[:MAX_PROMPT_CARDS]
    cards = format_cards(sections, articles, MAX_PROMPT_CARDS)
    more = len(entries) - len(shown)
    note = f"\n\n(and {more} more articles not shown)" if more > 0 else ""
    user = (
        f"{len(entries)} articles were curated {period_phrase(window)}, in "
        f"{len(sections)} topic(s). The cards:\n\n{cards}{note}\n\nWrite the introduction."
    )
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": user},
    ]
    raw = await llm.complete(messages, max_tokens=_INTRO_MAX_TOKENS)
    result = validate_citations(raw, [e.n for e in shown])
    # The validator renumbers by first use; the digest keeps its own numbers, which are the
    # positions readers see in the list below the intro.
    text = _restore_numbers(result.text, result.used)
    by_number = {e.n: e for e in shown}
    used = sorted(n for n in set(result.used) if n in by_number)
    if not text or not used:
        log.warning("LLM digest intro kept no valid citation; using the template instead")
        return None
    citations = [
        IntroCitation(
            n=n, title=by_number[n].title, url=by_number[n].url, publisher=by_number[n].publisher
        )
        for n in used
    ]
    return WrittenIntro(text=text, citations=citations)


def _restore_numbers(text: str, used: Sequence[int]) -> str:
    """Map the validator's [1..k] back to the original numbers; anything else is dropped."""

    def original(match: re.Match[str]) -> str:
        new = int(match.group(1))
        return f"[{used[new - 1]}]" if 1 <= new <= len(used) else ""

    return _MARKER.sub(original, text).strip()
