"""Articles without a URL in digests: named by title and publisher, never an empty link."""

from __future__ import annotations

import json
from datetime import date

from knowledge.digest.engine import DigestService
from knowledge.digest.formats import digest_to_json, render_markdown, render_text
from knowledge.models import Article
from knowledge.settings import Settings
from tests.knowledge.digest.fakes import FakeArticleIndex, card, utc

DAY = date(2026, 11, 23)


def _unlinked(title: str, publisher: str) -> Article:
    return Article(
        title=title,
        publisher=publisher,
        curated=utc(2026, 11, 23, 7, 0),
        topics=["Careers"],
        key_takeaway="A point worth making.",
    )


async def test_unlinked_articles_are_listed_once_each_without_a_link(settings: Settings) -> None:
    articles = [
        _unlinked("The Evolving Role of the ML Engineer", "Towards Data Science"),
        _unlinked("Another Interview", "Towards Data Science"),
        card("linked", utc(2026, 11, 23, 6, 0), ["Careers"], title="Linked Piece"),
    ]
    digest = await DigestService(settings, FakeArticleIndex(articles)).build(date=DAY)
    assert digest.article_count == 3

    markdown = render_markdown(digest)
    assert "- **The Evolving Role of the ML Engineer** — Towards Data Science" in markdown
    assert "- **Another Interview** — Towards Data Science" in markdown
    assert "[Linked Piece](https://articles.example/linked)" in markdown
    assert "]()" not in markdown

    text = render_text(digest)
    block = text.split("The Evolving Role of the ML Engineer — Towards Data Science\n")[1]
    assert block.splitlines()[0].strip() == "A point worth making."
    assert not any(line.strip() == "" for line in block.splitlines()[:2])
    assert "https://articles.example/linked" in text

    entries = [
        a for s in json.loads(json.dumps(digest_to_json(digest)))["sections"] for a in s["articles"]
    ]
    assert {e["title"]: e["url"] for e in entries}["Another Interview"] == ""
