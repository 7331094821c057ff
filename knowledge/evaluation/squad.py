"""Reading SQuAD-format files (v1.1 shape) into articles and gold questions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.errors import InputError
from knowledge.models import Article, article_id_for


@dataclass(frozen=True)
class EvalQuestion:
    """One question with the article it was written from and its accepted answers."""

    id: str
    question: str
    article_id: str
    answers: tuple[str, ...]


@dataclass
class EvalCorpus:
    """The articles to index and the questions to ask of them."""

    articles: list[Article] = field(default_factory=list)
    questions: list[EvalQuestion] = field(default_factory=list)


def wikipedia_url(title: str) -> str:
    """The article URL SQuAD titles come from (titles already use underscores)."""
    return "https://en.wikipedia.org/wiki/" + title.replace(" ", "_")


class _Shape:
    """Checks one part of the file and names it in the error when it is not as expected."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, where: str, problem: str) -> InputError:
        return InputError(f"{self.origin}: {where}: {problem} (expected SQuAD v1.1 format)")

    def obj(self, value: object, where: str) -> dict[str, object]:
        if not isinstance(value, dict):
            raise self.fail(where, "not a JSON object")
        return value

    def items(self, parent: dict[str, object], key: str, where: str) -> list[object]:
        value = parent.get(key)
        if not isinstance(value, list):
            raise self.fail(where, f'no "{key}" list')
        return value

    def text(self, parent: dict[str, object], key: str, where: str) -> str:
        value = parent.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f'missing "{key}" text')
        return value.strip()


def parse_squad(
    payload: object, origin: str = "SQuAD file", max_titles: int | None = None
) -> EvalCorpus:
    """Articles (one per title, paragraphs joined by blank lines) and their questions.

    `max_titles` keeps only the first N titles. Raises InputError naming the first entry that
    does not have the SQuAD shape.
    """
    shape = _Shape(origin)
    corpus = EvalCorpus()
    # Titles repeated across entries are merged, so one title is always one article.
    bodies: dict[str, list[str]] = {}
    seen_ids: set[str] = set()
    for i, raw_entry in enumerate(
        shape.items(shape.obj(payload, "top level"), "data", "top level")
    ):
        where = f"data[{i}]"
        entry = shape.obj(raw_entry, where)
        title = shape.text(entry, "title", where)
        paragraphs = shape.items(entry, "paragraphs", where)
        if title not in bodies:
            if max_titles is not None and len(bodies) >= max_titles:
                break
            bodies[title] = []
        article_id = article_id_for(wikipedia_url(title))
        for j, raw_paragraph in enumerate(paragraphs):
            pwhere = f"{where}.paragraphs[{j}]"
            paragraph = shape.obj(raw_paragraph, pwhere)
            bodies[title].append(shape.text(paragraph, "context", pwhere))
            for n, raw_qa in enumerate(shape.items(paragraph, "qas", pwhere)):
                qwhere = f"{pwhere}.qas[{n}]"
                qa = shape.obj(raw_qa, qwhere)
                if qa.get("is_impossible") is True:
                    continue  # SQuAD 2.0 questions without an answer cannot be scored here
                question = shape.text(qa, "question", qwhere)
                answers = tuple(
                    shape.text(
                        shape.obj(a, f"{qwhere}.answers[{m}]"), "text", f"{qwhere}.answers[{m}]"
                    )
                    for m, a in enumerate(shape.items(qa, "answers", qwhere))
                )
                if not answers:
                    raise shape.fail(qwhere, "no answers")
                qid = str(qa.get("id") or f"{i}.{j}.{n}")
                if qid in seen_ids:
                    raise shape.fail(qwhere, f"duplicate question id {qid!r}")
                seen_ids.add(qid)
                corpus.questions.append(EvalQuestion(qid, question, article_id, answers))

    for title, texts in bodies.items():
        corpus.articles.append(
            Article(
                title=title.replace("_", " "),
                url=wikipedia_url(title),
                publisher="wikipedia",
                body="\n\n".join(texts),
            )
        )
    if not corpus.questions:
        raise shape.fail("data", "no questions found")
    return corpus


def load_squad(path: Path, max_titles: int | None = None) -> EvalCorpus:
    """Read and parse a SQuAD JSON file; unreadable or malformed files raise InputError."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc.strerror or exc}") from exc
    try:
        payload = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON: {exc}") from exc
    return parse_squad(payload, origin=str(path), max_titles=max_titles)
