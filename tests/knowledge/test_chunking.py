from __future__ import annotations

import re

from knowledge.chunking import ChunkingPolicy, chunk_article, pack
from knowledge.headings import split_sections
from knowledge.loaders.sections import read_card_body
from knowledge.models import Article


def words(text: str) -> int:
    return len(text.split())


def make_article(body: str) -> Article:
    return Article(
        title="A study of chunking",
        url="https://example.org/chunking",
        summary="Short summary.",
        key_takeaway="Chunks must fit the model.",
        key_insights=["one", "two"],
        topics=["retrieval"],
        body=body,
    )


LONG_BODY = "\n\n".join(
    f"## Part {p}\n\n"
    + "\n\n".join(
        " ".join(f"Sentence {p}-{q}-{s} has several plain words in it." for s in range(6))
        for q in range(4)
    )
    for p in range(3)
)


def test_summary_record_comes_first_and_holds_the_editorial_fields() -> None:
    policy = ChunkingPolicy(target_tokens=400, overlap_tokens=0, count_tokens=words)
    records = chunk_article(make_article(LONG_BODY), policy)
    first = records[0]
    assert first.kind == "summary" and first.position == 0
    assert "Short summary." in first.text and "Chunks must fit the model." in first.text
    assert "- one" in first.text
    assert all(r.kind == "chunk" for r in records[1:])


def test_chunks_fit_the_embedder_window_including_the_title_prefix() -> None:
    policy = ChunkingPolicy(target_tokens=400, overlap_tokens=5, count_tokens=words, max_tokens=60)
    records = chunk_article(make_article(LONG_BODY), policy)
    assert len(records) > 3
    for r in records:
        assert words(r.embedding_text()) <= 60, r.embedding_text()


def test_no_body_text_is_lost_and_headings_are_carried() -> None:
    policy = ChunkingPolicy(target_tokens=50, overlap_tokens=8, count_tokens=words)
    records = chunk_article(make_article(LONG_BODY), policy)
    joined = " ".join(r.text for r in records)
    for sentence_id in re.findall(r"Sentence (\d+-\d+-\d+)", LONG_BODY):
        assert f"Sentence {sentence_id} " in joined
    assert {r.heading for r in records if r.kind == "chunk"} == {"Part 0", "Part 1", "Part 2"}


def test_ids_are_stable_and_derived_from_url_and_position() -> None:
    policy = ChunkingPolicy(target_tokens=50, overlap_tokens=0, count_tokens=words)
    a = chunk_article(make_article(LONG_BODY), policy)
    b = chunk_article(make_article(LONG_BODY), policy)
    assert [r.id for r in a] == [r.id for r in b]
    assert [r.position for r in a] == list(range(len(a)))
    assert len({r.id for r in a}) == len(a)


def test_overlap_repeats_the_end_of_the_previous_chunk() -> None:
    text = " ".join(f"Fact number {i} is here." for i in range(40))
    chunks = pack(text, budget=30, overlap=6, count=words)
    assert len(chunks) > 2
    last_sentence = chunks[0].split("\n\n")[-1]
    assert chunks[1].startswith(last_sentence)
    assert words(chunks[1]) <= 30


def test_a_card_with_only_a_title_is_still_indexed() -> None:
    policy = ChunkingPolicy(target_tokens=50, overlap_tokens=0, count_tokens=words)
    records = chunk_article(Article(title="Only a title", url="https://e.org/t"), policy)
    assert [r.text for r in records] == ["Only a title"]


def test_split_sections_keeps_text_before_the_first_heading() -> None:
    sections = split_sections("Intro line.\n\n# One\n\nFirst.\n\n## Two ##\n\nSecond.")
    assert [(s.level, s.heading, s.text) for s in sections] == [
        (0, "", "Intro line."),
        (1, "One", "First."),
        (2, "Two", "Second."),
    ]


def test_cards_and_chunks_read_a_heading_the_same_way() -> None:
    body = "## Method\n\nUse it.\n\n## C#\n\nTyped code."
    card = read_card_body(body)
    assert card.sections == {"Method": "Use it."}
    policy = ChunkingPolicy(target_tokens=50, overlap_tokens=0, count_tokens=words)
    chunks = chunk_article(Article(title="T", url="https://e.org/t", body=card.body), policy)
    assert [(c.heading, c.text) for c in chunks if c.kind == "chunk"] == [("C#", "Typed code.")]
