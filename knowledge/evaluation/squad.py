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


def _require(condition: bool, source: str, where: str, problem: str) -> None:
    if not condition:
        raise InputError(f"{source}: {where}: {problem} (expected SQuAD v1.1 format)")


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def parse_squad(payload: object, source: str = "SQuAD file", max_titles: int | None = None) -> EvalCorpus:
    """Articles (one per title, paragraphs joined by blank lines) and their questions.

    Raises InputError naming the first entry that does not have the SQuAD shape.
    """
    _require(isinstance(payload, dict), source, "top level", "not a JSON object")
    assert isinstance(payload, dict)
    data = payload.get("data")
    _require(isinstance(data, list), source, "top level", 'no "data" list')
    assert isinstance(data, list)

    corpus = EvalCorpus()
    # Titles repeated across entries are merged, so one title is always one article.
    bodies: dict[str, list[str]] = {}
    seen_ids: set[str] = set()
    for i, entry in enumerate(data):
        where = f"data[{i}]"
        _require(isinstance(entry, dict), source, where, "not an object")
        assert isinstance(entry, dict)
        title = _text(entry.get("title"))
        _require(bool(title), source, where, 'missing "title"')
        paragraphs = entry.get("paragraphs")
        _require(isinstance(paragraphs, list), source, where, 'no "paragraphs" list')
        assert isinstance(paragraphs, list)
        if title not in bodies:
            if max_titles is not None and len(bodies) >= max_titles:
                break
            bodies[title] = []
        article_id = article_id_for(wikipedia_url(title))
        for j, paragraph in enumerate(paragraphs):
            pwhere = f"{where}.paragraphs[{j}]"
            _require(isinstance(paragraph, dict), source, pwhere, "not an object")
            context = _text(paragraph.get("context"))
            _require(bool(context), source, pwhere, 'missing "context"')
            bodies[title].append(context)
            qas = paragraph.get("qas", [])
            _require(isinstance(qas, list), source, pwhere, '"qas" is not a list')
            for n, qa in enumerate(qas):
                qwhere = f"{pwhere}.qas[{n}]"
                _require(isinstance(qa, dict), source, qwhere, "not an object")
                question = _text(qa.get("question"))
                _require(bool(question), source, qwhere, 'missing "question"')
                answers = qa.get("answers")
                _require(isinstance(answers, list), source, qwhere, 'no "answers" list')
                texts = tuple(
                    t for t in (_text(a.get("text")) if isinstance(a, dict) else "" for a in answers)
                    if t
                )
                _require(bool(texts), source, qwhere, "no answer text")
                qid = str(qa.get("id") or f"{i}.{j}.{n}")
                _require(qid not in seen_ids, source, qwhere, f"duplicate question id {qid!r}")
                seen_ids.add(qid)
                corpus.questions.append(EvalQuestion(qid, question, article_id, texts))

    for title, paragraphs in bodies.items():
        corpus.articles.append(
            Article(
                title=title.replace("_", " "),
                url=wikipedia_url(title),
                source="wikipedia",
                body="\n\n".join(paragraphs),
            )
        )
    _require(bool(corpus.questions), source, "data", "no questions found")
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
    return parse_squad(payload, source=str(path), max_titles=max_titles)
