"""Plain-text and saved HTML articles, and the bad files a batch of them may hold."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from knowledge.loaders import load_sources
from knowledge.settings import KnowledgeSettings
from tests.knowledge.loaders.conftest import ARTICLE_HTML

Write = Callable[[str, str | bytes], Path]

ARTICLE_TEXT = """Why Small Models Win on Phones

Edge Computing


Phones run out of memory long before they run out of ideas. A model that fits in a few hundred
megabytes answers at once and never needs the network.

Distillation keeps most of the teacher's skill in a student a tenth of its size.

Source link
"""


def test_a_text_file_is_a_title_line_and_a_body_without_label_or_boilerplate(
    write: Write,
) -> None:
    path = write("article.txt", ARTICLE_TEXT)
    result = load_sources([str(path)], KnowledgeSettings())
    (article,) = result.articles
    assert article.title == "Why Small Models Win on Phones"
    assert article.body.startswith("Phones run out of memory")
    assert article.body.endswith("a tenth of its size.")
    assert "Edge Computing" not in article.body and "Source link" not in article.body
    assert article.url == "" and article.summary == "" and article.key_takeaway == ""
    assert [w.message for w in result.warnings] == [
        "no link to the original: citations will name it without a link"
    ]


def test_a_label_right_under_the_title_is_dropped_without_blank_lines(write: Write) -> None:
    tight = write("tight.txt", "Markets after the merger\nOpinion\nPrices rose for a year.\n")
    wrapped = write("wrapped.txt", "Short notes\nThe quick\nbrown fox jumped.\n")
    result = load_sources([str(tight), str(wrapped)], KnowledgeSettings())
    bodies = {a.title: a.body for a in result.articles}
    assert bodies["Markets after the merger"] == "Prices rose for a year."
    # A short line the next one continues is the body's first line, not a label.
    assert bodies["Short notes"] == "The quick\nbrown fox jumped."


def test_a_saved_html_page_is_read_like_a_web_page(write: Write) -> None:
    path = write("saved.html", ARTICLE_HTML)
    htm = write("again.htm", ARTICLE_HTML.replace("Evaluating", "Judging"))
    result = load_sources([str(path), str(htm)], KnowledgeSettings())
    assert result.failures == []
    first, second = result.articles
    assert first.title == "Evaluating Retrieval Before Generation"
    assert first.publisher == "Test Journal" and first.author == "Ada Example"
    assert "Recall at k tells you" in first.body and "Copyright" not in first.body
    assert second.title == "Judging Retrieval Before Generation"


def test_a_saved_page_keeps_its_canonical_link(write: Write) -> None:
    html = ARTICLE_HTML.replace(
        "<meta charset", '<link rel="canonical" href="https://journal.example/eval"><meta charset'
    )
    (article,) = load_sources([str(write("saved.html", html))], KnowledgeSettings()).articles
    assert article.url == "https://journal.example/eval"


def test_bad_text_files_fail_by_name_and_the_rest_is_indexed(write: Write) -> None:
    big = write("big.txt", "Huge\n\n" + "word " * 1_100_000)
    binary = write("binary.txt", b"Title\n\n\x00\x01\x02\x89PNG")
    latin1 = write("latin1.txt", "Caf\xe9 title\n\nBody.".encode("latin-1"))
    title_only = write("title-only.txt", "Only a title\n\n")
    good = write("good.txt", ARTICLE_TEXT)
    result = load_sources(
        [str(big), str(binary), str(latin1), str(title_only), str(good)], KnowledgeSettings()
    )
    assert [a.title for a in result.articles] == ["Why Small Models Win on Phones"]
    reasons = {f.path: f.reason for f in result.failures}
    assert reasons[str(big)].startswith("too large (5.5 MB, over the 2.0 MB limit")
    assert reasons[str(binary)] == "binary data, not text (NUL byte at offset 7)"
    assert reasons[str(latin1)].startswith("not UTF-8 text (byte 0xe9 at offset 3)")
    assert reasons[str(title_only)] == "no text after the title line"
