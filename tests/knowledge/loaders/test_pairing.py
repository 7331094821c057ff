"""A card export and its original article's text, loaded together, become one article."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from knowledge.loaders import load_sources
from knowledge.settings import KnowledgeSettings
from tests.knowledge.loaders.test_card_export import export

Write = Callable[[str, str | bytes], Path]


def text(title: str, body: str = "The original article's own words, in full.") -> str:
    return f"{title}\n\nSection Label\n\n{body}\n\nSource link\n"


def test_a_card_and_its_text_pair_by_title_despite_case_quotes_and_spacing(
    tmp_path: Path, write: Write
) -> None:
    card = write("card.txt", export(title='The "Tiny" Models,  Big Wins'))
    article = write("article.txt", text("the ‘tiny’ models — big wins!"))
    result = load_sources([str(tmp_path)], KnowledgeSettings())
    assert result.failures == []
    (paired,) = result.articles
    assert paired.title == 'The "Tiny" Models, Big Wins'
    assert paired.summary == "Small distilled models now run on phones."
    assert paired.body == "The original article's own words, in full."
    assert paired.publisher == "Field Notes Weekly"
    assert [(p.card, p.article, p.by) for p in result.paired] == [
        (str(card), str(article), "title")
    ]


def test_a_card_without_its_article_is_a_card_only_article(write: Write) -> None:
    card = write("card.txt", export())
    other = write("other.txt", text("Something else entirely"))
    result = load_sources([str(card), str(other)], KnowledgeSettings())
    by_title = {a.title: a for a in result.articles}
    assert by_title["Tiny Models, Big Wins"].body == ""
    assert by_title["Tiny Models, Big Wins"].summary
    assert result.paired == []


def test_an_article_without_its_card_has_no_editorial_fields(write: Write) -> None:
    path = write("article.txt", text("Tiny Models, Big Wins"))
    (article,) = load_sources([str(path)], KnowledgeSettings()).articles
    assert article.body == "The original article's own words, in full."
    assert (article.summary, article.key_takeaway, article.sections) == ("", "", {})


def test_pairs_yaml_pairs_files_whose_titles_differ(tmp_path: Path, write: Write) -> None:
    card = write("exports/card.txt", export(title="Tiny Models, Big Wins"))
    article = write("exports/interview.txt", text("An interview about small models"))
    write("exports/pairs.yaml", "# card: article\ncard.txt: interview.txt\n")
    result = load_sources([str(tmp_path / "exports")], KnowledgeSettings())
    assert result.failures == []
    (paired,) = result.articles
    assert paired.title == "Tiny Models, Big Wins"
    assert paired.body == "The original article's own words, in full."
    assert [(p.card, p.article, p.by) for p in result.paired] == [
        (str(card), str(article), "manifest")
    ]


def test_a_pairs_yaml_given_alone_loads_the_files_it_names(write: Write) -> None:
    write("exports/card.txt", export(title="Tiny Models, Big Wins"))
    write("exports/interview.txt", text("An interview about small models"))
    manifest = write("exports/pairs.yml", "card.txt: interview.txt\n")
    result = load_sources([str(manifest)], KnowledgeSettings())
    assert [a.title for a in result.articles] == ["Tiny Models, Big Wins"]
    assert len(result.paired) == 1


def test_pairs_yaml_problems_are_reported_and_the_rest_loads(write: Write) -> None:
    write("exports/card.txt", export(title="Tiny Models, Big Wins"))
    write("exports/interview.txt", text("An interview about small models"))
    manifest = write(
        "exports/pairs.yaml",
        "card.txt: missing.txt\ninterview.txt: card.txt\n",
    )
    result = load_sources([str(manifest.parent)], KnowledgeSettings())
    assert sorted(a.title for a in result.articles) == [
        "An interview about small models",
        "Tiny Models, Big Wins",
    ]
    reasons = [(f.path, f.reason) for f in result.failures]
    assert len(reasons) == 2
    assert (
        str(manifest),
        "missing.txt: not loaded (missing, unreadable or not an article text)",
    ) in reasons
    assert (str(manifest), "interview.txt: is not a card export") in reasons


def test_a_broken_pairs_yaml_fails_by_name(write: Write) -> None:
    manifest = write("exports/pairs.yaml", "- just\n- a list\n")
    result = load_sources([str(manifest)], KnowledgeSettings())
    assert [(f.path, f.reason) for f in result.failures] == [
        (str(manifest), "expected 'card file: article file' lines (a YAML mapping of file names)")
    ]


def test_two_unlinked_articles_with_the_same_title_and_publisher_are_one(write: Write) -> None:
    first = write("a/article.txt", text("Same Title"))
    second = write("b/article.txt", text("same title!"))
    result = load_sources([str(first), str(second)], KnowledgeSettings())
    assert len(result.articles) == 1
    (failure,) = result.failures
    assert failure.path == str(second)
    assert failure.reason == (
        f"duplicate article 'same title!' (same title and publisher): already loaded from {first}"
    )


def test_a_linked_version_in_the_same_batch_replaces_the_unlinked_one(write: Write) -> None:
    meta = "· Source: Field Notes Weekly · Link: https://notes.example/tiny"
    unlinked = write("a/card.txt", export())
    linked = write("b/card.txt", export(meta=meta))
    result = load_sources([str(unlinked), str(linked)], KnowledgeSettings())
    (article,) = result.articles
    assert article.url == "https://notes.example/tiny"
    assert [(w.path, w.message) for w in result.warnings] == [
        (str(unlinked), f"replaced by the version with a link from {linked}")
    ]
