"""Card exports: the plain-text card layout of curation sites, read into an article's fields."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from knowledge.loaders import load_sources
from knowledge.loaders.card_export import looks_like_card_export
from knowledge.models import Article
from knowledge.settings import KnowledgeSettings

Write = Callable[[str, str | bytes], Path]

SECTIONS = ("Summary", "Key takeaway", "Key insights", "Principles", "Method", "In practice")


def export(
    title: str = "Tiny Models, Big Wins",
    meta: str = "· Source: Field Notes Weekly · Field: Computing — Machine Learning, Edge AI "
    "· Depth: Advanced, long",
    texts: dict[str, str] | None = None,
    best_for: str = "Best for: Embedded Engineer, Product Lead",
    footer: bool = True,
) -> str:
    """A card export in the seed layout, written for these tests."""
    texts = (
        {
            "Summary": "Small distilled models now run on phones.",
            "Key takeaway": "Ship the small model first.",
            "Key insights": "Latency matters more than a point of accuracy.",
            "Principles": "",
            "Method": "Distil a large teacher into a small student.",
            "In practice": "",
        }
        if texts is None
        else texts
    )
    lines = [title, ""] if title else []
    if meta:
        lines += [meta, ""]
    for heading, text in texts.items():
        lines += [heading, ""] + ([text, ""] if text else [])
    lines += ["Topics", "", best_for, ""]
    if footer:
        lines += [
            "Related on Curio",
            "",
            "Another card title",
            "",
            "Open in Curio →",
            "",
            "Editorial summary, takeaway, and curation by Curio. "
            "Original article published by Field Notes Weekly.",
        ]
    return "\n".join(lines)


def _load(write: Write, name: str, content: str | bytes) -> tuple[Article, list[str]]:
    path = write(name, content)
    result = load_sources([str(path)], KnowledgeSettings())
    assert result.failures == [], result.failures
    (article,) = result.articles
    return article, [w.message for w in result.warnings]


def test_every_field_of_a_card_export_is_read(write: Write) -> None:
    article, warnings = _load(write, "card.txt", export())
    assert article.title == "Tiny Models, Big Wins"
    assert article.url == ""
    assert article.publisher == "Field Notes Weekly"
    assert article.topics == ["computing", "machine learning", "edge ai"]
    assert (article.depth, article.length) == ("advanced", "long")
    assert article.best_for == ["Embedded Engineer", "Product Lead"]
    assert article.summary == "Small distilled models now run on phones."
    assert article.key_takeaway == "Ship the small model first."
    assert article.key_insights == ["Latency matters more than a point of accuracy."]
    assert article.sections == {"Method": "Distil a large teacher into a small student."}
    assert article.curator == "Curio"
    assert article.body == ""
    assert warnings == ["no link to the original: citations will name it without a link"]


def test_the_footer_never_reaches_the_text(write: Write) -> None:
    article, _ = _load(write, "card.txt", export())
    everything = article.model_dump_json()
    for footer_text in ("Related on", "Another card title", "Open in", "Editorial summary"):
        assert footer_text not in everything


@pytest.mark.parametrize("empty", SECTIONS)
def test_an_empty_section_stays_empty_and_never_swallows_the_next(write: Write, empty: str) -> None:
    texts = {heading: f"Text of {heading}." for heading in SECTIONS}
    texts[empty] = ""
    article, _ = _load(write, "card.txt", export(texts=texts))
    fields = {
        "Summary": article.summary,
        "Key takeaway": article.key_takeaway,
        "Key insights": " ".join(article.key_insights),
        **{
            name: article.sections.get(name, "") for name in ("Principles", "Method", "In practice")
        },
    }
    for heading, value in fields.items():
        assert value == ("" if heading == empty else f"Text of {heading}."), heading


def test_the_same_text_as_markdown_without_front_matter_is_a_card(write: Write) -> None:
    txt, _ = _load(write, "a/card.txt", export())
    md, _ = _load(write, "b/card.md", export())
    assert md.model_dump(exclude={"origin"}) == txt.model_dump(exclude={"origin"})


def test_crlf_and_a_byte_order_mark_are_read_like_plain_lines(write: Write) -> None:
    plain, _ = _load(write, "a/card.txt", export())
    windows = ("\ufeff" + export().replace("\n", "\r\n")).encode("utf-8")
    crlf, _ = _load(write, "b/card.txt", windows)
    assert crlf.model_dump(exclude={"origin"}) == plain.model_dump(exclude={"origin"})


def test_detection_is_by_content_not_by_file_name(write: Write) -> None:
    assert looks_like_card_export(export())
    assert not looks_like_card_export("A title\n\nSummary of my holiday, told in one line.\n")
    article, _ = _load(write, "card-looking-name.txt", "Just a title\n\nA paragraph of text.\n")
    assert article.summary == "" and article.body == "A paragraph of text."


def test_publisher_comes_from_the_credits_when_the_metadata_has_none(write: Write) -> None:
    article, _ = _load(write, "card.txt", export(meta=""))
    assert article.publisher == "Field Notes Weekly" and article.curator == "Curio"


def test_a_link_and_a_curated_date_in_the_metadata_are_used(write: Write) -> None:
    meta = "· Source: Field Notes Weekly · Link: https://notes.example/tiny · Curated: 2026-11-20"
    article, warnings = _load(write, "card.txt", export(meta=meta))
    assert article.url == "https://notes.example/tiny"
    assert article.curated is not None and article.curated.date().isoformat() == "2026-11-20"
    assert article.curated_is_date
    assert warnings == []


def test_unknown_metadata_keys_are_reported_and_the_card_kept(write: Write) -> None:
    meta = "· Source: Field Notes Weekly · Mood: Upbeat · Depth: Basic, short"
    article, warnings = _load(write, "card.txt", export(meta=meta))
    assert article.publisher == "Field Notes Weekly" and article.depth == "basic"
    assert warnings[0].startswith("unknown metadata 'Mood: Upbeat' ignored (known keys: Source,")


def test_a_card_export_with_no_title_line_fails_by_name_and_the_rest_loads(
    write: Write,
) -> None:
    bad = write("untitled.txt", export(title=""))
    good = write("good.txt", export(title="A Good Card"))
    result = load_sources([str(bad), str(good)], KnowledgeSettings())
    assert [a.title for a in result.articles] == ["A Good Card"]
    (failure,) = result.failures
    assert failure.path == str(bad)
    assert failure.reason.startswith("card export has no title line: its first line is '· Source")


def test_topics_listed_under_the_topics_heading_are_added(write: Write) -> None:
    text = export().replace("Topics\n\n", "Topics\n\nQuantisation, On-device AI\n\n")
    article, _ = _load(write, "card.txt", text)
    assert article.topics == [
        "computing",
        "machine learning",
        "edge ai",
        "quantisation",
        "on-device ai",
    ]


def test_key_insights_are_one_per_line_or_per_bullet(write: Write) -> None:
    texts = {
        "Summary": "S.",
        "Key takeaway": "T.",
        "Key insights": "First insight.\nSecond insight.\n\nThird insight.",
    }
    article, _ = _load(write, "a/card.txt", export(texts=texts))
    assert article.key_insights == ["First insight.", "Second insight.", "Third insight."]
    texts["Key insights"] = "- One that\n  wraps.\n- Two."
    article, _ = _load(write, "b/card.txt", export(texts=texts))
    assert article.key_insights == ["One that wraps.", "Two."]


def test_a_metadata_line_wrapped_over_two_lines_is_read_whole(write: Write) -> None:
    meta = "· Source: Field Notes Weekly · Field: Computing\n· Depth: Advanced, long"
    article, warnings = _load(write, "card.txt", export(meta=meta))
    assert (article.publisher, article.topics, article.depth) == (
        "Field Notes Weekly",
        ["computing"],
        "advanced",
    )
    assert warnings == ["no link to the original: citations will name it without a link"]
