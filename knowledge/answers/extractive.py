"""Answers without a language model: the passages' best sentences, quoted with their article's [n].

What is quoted are units (knowledge/sentences.py): a whole sentence, with the one before it when
it opens with a pronoun or connective. Their vectors are computed at ingest time and read from the
sentence store, so a question costs one query embedding and a dot product; units of chunks the
store lacks are embedded here instead.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np

from knowledge.answers.prompt import NumberedArticle
from knowledge.answers.terms import key_terms
from knowledge.embeddings.base import Embedder, Vectors
from knowledge.embeddings.query_vectors import QueryVectorCache
from knowledge.models import Article, Chunk, Hit
from knowledge.sentences import ELLIPSIS, MAX_CHARS, Unit, excerpt, quotable_units, split_pieces
from knowledge.text import WORD, stems

log = logging.getLogger(__name__)

EXTRACTIVE_LABEL = "From the curated articles (quoted passages, no AI summary):"


class StoredVectors(Protocol):
    """Unit vectors kept beside the chunks (knowledge/store/sentence_store.py)."""

    def vectors_for(self, chunks: Sequence[Chunk]) -> Mapping[str, Vectors]:
        """{chunk id: (units, dim) vectors} for the chunks stored at their current text."""
        ...

    def put(self, chunk: Chunk, vectors: Vectors) -> None:
        """Keep one chunk's unit vectors for the next question."""
        ...


# A quote from an article not quoted yet must score within this much of the best quote: an
# article that only brushes the question adds noise (and a takeaway) rather than an answer.
_OTHER_ARTICLE_MARGIN = 0.25
# Word overlap above this share makes a takeaway a repeat of a quote.
_REPEAT_OVERLAP = 0.6
_SPACE = re.compile(r"\s+")
# Measured on xquad-en (docs/benchmarks.md): four quotes from the five best passages hold the
# gold answer far more often than three, and more passages only add candidates that distract.
MAX_QUOTES = 4
MAX_PASSAGES = 5
_PASSAGE_RANK_WEIGHT = 0.1
# A question often has parts ("How should I evaluate a RAG system?": evaluation, and RAG).
# Search ranks first the passages matching most of it, so a part named by one word can rank
# below the passages quoted from: up to this many lower-ranked passages of the articles already
# among them are added, each for a question term the passages before it lack.
MAX_EXTRA_PASSAGES = 2
# After the first quote, a unit gains this much times the question weight of the terms it
# holds that no chosen quote holds: a quote on an unanswered part of the question wins over
# one more quote on a part already answered. Measured on xquad-en (docs/benchmarks.md): 0.5
# keeps single-part answers as they were; 1.0 starts to push out the answer for a stray word.
_NEW_TERM_BONUS = 0.5


@dataclass(frozen=True)
class QuoteCandidate:
    """One quotable unit of a retrieved passage, with the numbered article it is cited by."""

    article: NumberedArticle
    hit: Hit
    unit: Unit

    @property
    def text(self) -> str:
        return self.unit.text


def _fold(text: str) -> str:
    return _SPACE.sub(" ", text.casefold()).strip()


def passages_in_rank_order(
    articles: Sequence[NumberedArticle], limit: int
) -> list[tuple[NumberedArticle, Hit]]:
    """The `limit` best-ranked passages over all articles, each with its numbered article."""
    pairs = [(article, hit) for article in articles for hit in article.hits]
    pairs.sort(key=lambda pair: pair[1].rank)
    return pairs[:limit]


def _passage_terms(hit: Hit) -> set[str]:
    return stems(WORD.findall(hit.chunk.text)) | stems(WORD.findall(hit.chunk.title))


@dataclass(frozen=True)
class QuotedPassages:
    """The passages quotes are chosen from, best first, and the question terms (stems) only the
    lower-ranked passages added for them hold."""

    pairs: list[tuple[NumberedArticle, Hit]]
    added_for: frozenset[str]


def passages_to_quote(
    question: str, articles: Sequence[NumberedArticle], limit: int
) -> QuotedPassages:
    """The `limit` best-ranked passages, then up to MAX_EXTRA_PASSAGES lower-ranked ones of the
    same articles, each holding a question key term (stemmed) no passage before it (nor its
    title) holds. Another article's passage is not added: search ranked nothing else of it
    near the question, and the word alone is more often noise (in the sample, "instead" brought
    in The Bitter Lesson for "When should I use an agent instead of a simple workflow?")."""
    ranked = passages_in_rank_order(articles, sum(len(a.hits) for a in articles))
    pairs = ranked[:limit]
    missing = stems(key_terms(question))
    for _, hit in pairs:
        missing -= _passage_terms(hit)
    added_for: set[str] = set()
    relevant = {numbered.article_id for numbered, _ in pairs}
    for pair in ranked[limit:]:
        if not missing or len(pairs) - limit >= MAX_EXTRA_PASSAGES:
            break
        if pair[0].article_id not in relevant:
            continue
        held = _passage_terms(pair[1]) & missing
        if held:
            pairs.append(pair)
            missing -= held
            added_for |= held
    return QuotedPassages(pairs, frozenset(added_for))


@lru_cache(maxsize=256)
def _units(text: str) -> tuple[Unit, ...]:
    """`quotable_units` of a passage, split once: an answer needs them for its candidates and
    again for their vectors, and the next questions often quote the same passages."""
    return tuple(quotable_units(text))


def candidate_units(passages: Sequence[tuple[NumberedArticle, Hit]]) -> list[QuoteCandidate]:
    """Every unit of the passages, in passage order, without repeats (chunks overlap)."""
    # Folded text -> its first candidate (a dict keeps insertion order).
    first: dict[str, QuoteCandidate] = {}
    for numbered, hit in passages:
        for unit in _units(hit.chunk.text):
            key = _fold(unit.text)
            if key not in first:
                first[key] = QuoteCandidate(numbered, hit, unit)
    # A sentence the chunker cut short ("… and other …") is left out when an overlapping
    # passage holds it whole.
    cut = f" {ELLIPSIS}"
    folded = list(first)
    return [
        c
        for text, c in first.items()
        if not text.endswith(cut)
        or not any(text[: -len(cut)] in other for other in folded if other != text)
    ]


@dataclass(frozen=True)
class QuestionTerms:
    """The question's key terms (stems) each candidate holds, and what each term weighs."""

    #: Per candidate: the terms its text holds, and those its article's title holds.
    held: list[frozenset[str]]
    #: Per candidate: the terms its article's title holds (the article is about them).
    titled: list[frozenset[str]]
    #: Per term: its share of the question's weight (rarer among the candidates = heavier);
    #: the shares sum to 1.
    weight: dict[str, float]

    def share(self, terms: Iterable[str]) -> float:
        """The question's weight that `terms` carry, 0..1."""
        return sum(self.weight.get(t, 0.0) for t in terms)


def question_terms(question: str, candidates: Sequence[QuoteCandidate]) -> QuestionTerms:
    """Which of the question's words each unit holds, weighted by how rare each word is among
    the candidates (the topic word every passage shares says little; the rare one decides)."""
    wanted = stems(key_terms(question))
    if not wanted:
        none = [frozenset[str]()] * len(candidates)
        return QuestionTerms(none, none, {})
    # A word the article's title holds counts for each of its sentences: "What does ReAct
    # add?" is answered by the ReAct paper's sentences, which rarely repeat its name. When all
    # candidates share the title, its words are common and weigh little.
    titles = {c.hit.chunk.title for c in candidates}
    in_title = {t: frozenset(stems(WORD.findall(t)) & wanted) for t in titles}
    titled = [in_title[c.hit.chunk.title] for c in candidates]
    held = [
        frozenset(stems(WORD.findall(c.text)) & wanted) | title
        for c, title in zip(candidates, titled, strict=True)
    ]
    counts = Counter(term for terms in held for term in terms)
    weight = {t: math.log(1 + len(candidates) / (counts[t] or 0.5)) for t in wanted}
    total = sum(weight.values()) or 1.0  # 0 only when there are no candidates
    return QuestionTerms(held, titled, {t: w / total for t, w in weight.items()})


# A card's line about the article itself ("The paper that named RAG.", "This post describes
# ...") tells what the article is, not what it says: it yields to passages that answer.
_ABOUT_THE_ARTICLE = re.compile(
    r"^(?:(?:the|this|that|our) |[\w.-]+(?:'s|’s) )"
    r"(?:paper|post|blog post|article|essay|talk|book|guide|survey|report|piece|study)\b",
    re.IGNORECASE,
)
_ABOUT_THE_ARTICLE_PENALTY = 0.3


def _about_the_article(candidates: Sequence[QuoteCandidate]) -> list[float]:
    return [
        -_ABOUT_THE_ARTICLE_PENALTY if _ABOUT_THE_ARTICLE.match(c.text) else 0.0 for c in candidates
    ]


def _passage_prior(candidates: Sequence[QuoteCandidate]) -> list[float]:
    # Search already weighed the whole passage; a small pull towards its best passages breaks
    # near-ties between sentences in favour of the better context.
    return [-_PASSAGE_RANK_WEIGHT * math.log(max(c.hit.rank, 1)) for c in candidates]


def _unit_vectors(
    candidates: Sequence[QuoteCandidate], embedder: Embedder, stored: StoredVectors | None
) -> Vectors:
    """One row per candidate: from the store when it has the chunk, else embedded now.

    Chunks embedded here are put in the store, so an index built before the store existed
    (or whose write failed) is filled in by the questions asked of it.
    """
    chunks = list({c.hit.chunk.id: c.hit.chunk for c in candidates}.values())
    found: dict[str, Vectors] = {}
    if stored is not None:
        try:
            found = dict(stored.vectors_for(chunks))
        except Exception:
            log.warning("reading stored sentence vectors failed", exc_info=True)
    rows: dict[tuple[str, str], Vectors] = {}
    missing: list[tuple[Chunk, list[str]]] = []
    for chunk in chunks:
        texts = [u.text for u in _units(chunk.text)]
        matrix = found.get(chunk.id)
        if matrix is None or len(matrix) != len(texts):
            missing.append((chunk, texts))
            continue
        rows.update({(chunk.id, text): matrix[i] for i, text in enumerate(texts)})
    if missing:
        flat = [text for _, texts in missing for text in texts]
        log.debug("embedding %d units at question time", len(flat))
        vectors = embedder.embed(flat)
        start = 0
        for chunk, texts in missing:
            matrix = vectors[start : start + len(texts)]
            start += len(texts)
            rows.update({(chunk.id, text): matrix[i] for i, text in enumerate(texts)})
            if stored is not None:
                try:
                    stored.put(chunk, matrix)
                except Exception:
                    log.warning("storing sentence vectors failed", exc_info=True)
    return np.stack([rows[(c.hit.chunk.id, c.text)] for c in candidates])


def rank_units(
    question: str,
    candidates: Sequence[QuoteCandidate],
    embedder: Embedder | None,
    stored: StoredVectors | None = None,
    query_vectors: QueryVectorCache | None = None,
    terms: QuestionTerms | None = None,
) -> list[float]:
    """Similarity of each unit to the question: cosine, plus the weighted share of the
    question's words it holds (cosine alone favours short sentences sharing one common word),
    plus a small prior for the passage's search rank, minus a little for a line that describes
    the article rather than saying something. The question's vector comes from `query_vectors`
    when given (search has usually embedded the same text already); its terms from `terms`
    when given (`question_terms` of the same question and candidates)."""
    if not candidates:
        return []
    terms = terms if terms is not None else question_terms(question, candidates)
    lexical = [
        o + p + a
        for o, p, a in zip(
            [terms.share(held) for held in terms.held],
            _passage_prior(candidates),
            _about_the_article(candidates),
            strict=True,
        )
    ]
    if embedder is not None:
        try:
            vectors = query_vectors if query_vectors is not None else QueryVectorCache()
            query = vectors.vector(embedder, question)
            cosines = _unit_vectors(candidates, embedder, stored) @ query
            return [float(c) + x for c, x in zip(cosines, lexical, strict=True)]
        except Exception:
            # This is the path of last resort: it must answer even when the embedder cannot.
            log.warning("embedding sentences failed; ranking by word overlap", exc_info=True)
    return lexical


_CLAUSE = re.compile(r"(?<=[.,;:!?])\s+")
# Shorter clauses ("In 1990,") recur by chance; longer ones only when quoted again.
_MIN_REPEATED_CLAUSE = 40


def _said_before(text: str, previous: Sequence[str]) -> bool:
    """Whether an earlier answer quoted this unit, wholly or in an excerpt."""
    clauses = [c for c in _CLAUSE.split(_fold(text)) if len(c) >= _MIN_REPEATED_CLAUSE]
    clauses = clauses or [_fold(text)]
    return any(c in p for p in previous for c in clauses)


def _quoted(candidate: QuoteCandidate, wanted: frozenset[str]) -> str:
    """The unit as shown: whole, or its clauses that hold most of the question's words."""
    if candidate.unit.first != candidate.unit.last:
        return candidate.text  # a lead sentence must stay with what leans on it
    return excerpt(candidate.text, lambda clause: len(stems(WORD.findall(clause)) & wanted))


def choose_quotes(
    candidates: Sequence[QuoteCandidate],
    scores: Sequence[float],
    max_quotes: int,
    previous: Sequence[str] = (),
    terms: QuestionTerms | None = None,
    added_for: frozenset[str] = frozenset(),
) -> list[QuoteCandidate]:
    """The best units: no sentence twice, no quote an earlier answer gave, no weak article.

    With `terms`, the choice covers the question's parts: each pick after the first favours
    units holding question terms no chosen quote holds (a set-cover bonus in the manner of
    maximal marginal relevance, Carbonell & Goldstein, SIGIR 1998, with the redundancy measured
    on the question's terms), and an article about such a term (its title holds it, or it was
    among `added_for`, the terms passages were added for) is not left out as weak.
    """
    order = sorted(
        range(len(candidates)),
        key=lambda i: (-scores[i], candidates[i].article.n, candidates[i].unit.last),
    )
    folded_previous = [_fold(p) for p in previous]
    fresh = [i for i in order if not _said_before(candidates[i].text, folded_previous)]
    # A follow-up whose passages hold nothing new still answers, with what is best.
    remaining = fresh or order
    none = [frozenset[str]()] * len(candidates)
    held = terms.held if terms is not None else none
    titled = terms.titled if terms is not None else none
    chosen: list[QuoteCandidate] = []
    chosen_sentences: list[set[str]] = []
    quoted_articles: set[str] = set()
    covered: set[str] = set()

    def gain(i: int) -> float:
        if terms is None or not chosen:
            return scores[i]
        return scores[i] + _NEW_TERM_BONUS * terms.share(held[i] - covered)

    best = scores[remaining[0]] if remaining else 0.0
    while remaining and len(chosen) < max_quotes:
        # The first of the best gains: ties keep the order of the plain scores.
        at = max(range(len(remaining)), key=lambda k: (gain(remaining[k]), -k))
        i = remaining.pop(at)
        candidate = candidates[i]
        sentences = {_fold(s) for s in split_pieces(candidate.text) if s != ELLIPSIS}
        overlapping = [j for j, seen in enumerate(chosen_sentences) if seen & sentences]
        if overlapping:
            j = overlapping[0]
            # "A. It B." after "A." was chosen: the unit one sentence longer takes its place (no
            # sentence twice, and B was worth quoting too); anything else overlapping is left
            # out, so a quote never grows by more than the one sentence that leaned on it.
            extends = chosen_sentences[j] < sentences and len(sentences - chosen_sentences[j]) == 1
            if len(overlapping) == 1 and extends:
                chosen[j] = candidate
                chosen_sentences[j] = sentences
                covered |= held[i]
            continue
        new_article = candidate.article.article_id not in quoted_articles
        weak = scores[i] < best - _OTHER_ARTICLE_MARGIN
        # A weak article still answers a part of the question nothing chosen answers when it is
        # about that part; an article that merely holds the word (xquad: "president", "type")
        # is noise, and is left out.
        about_a_new_part = held[i] & (titled[i] | added_for) - covered
        if chosen and new_article and weak and not about_a_new_part:
            continue
        chosen.append(candidate)
        chosen_sentences.append(sentences)
        quoted_articles.add(candidate.article.article_id)
        covered |= held[i]
    return chosen


# A label a card line opens with ("Key takeaway:", "**TL;DR**:"): not part of what it says.
_LABEL = re.compile(r"^[*_\s]*[\w;' -]{1,30}?[*_\s]*:[*_\s]*")
# Quote excerpts carry "…" where text was left out.
_ELLIPSIS = re.compile(r"\s*…\s*")


def _repeats(takeaway: str, quotes: Sequence[str]) -> bool:
    """Whether a takeaway says what a quote already says: containment either way (ignoring a
    label the quote opens with and the "…" of an excerpt), or heavy word overlap."""
    folded = _fold(takeaway)
    words = set(WORD.findall(folded))
    for quote in quotes:
        q = _fold(quote)
        bare = _LABEL.sub("", q, count=1)
        stretches = [s for s in _ELLIPSIS.split(bare) if len(s) >= _MIN_REPEATED_CLAUSE]
        if folded in q or q in folded or bare in folded or any(s in folded for s in stretches):
            return True
        quote_words = set(WORD.findall(q))
        if words and len(words & quote_words) / len(words) >= _REPEAT_OVERLAP:
            return True
    return False


def _takeaways(
    chosen: Sequence[QuoteCandidate],
    quotes: Sequence[str],
    get_article: Callable[[str], Article | None],
) -> list[str]:
    lines: list[str] = []
    seen: set[str] = set()
    for c in chosen:
        article_id = c.article.article_id
        if article_id in seen:
            continue
        seen.add(article_id)
        try:
            article = get_article(article_id)
        except Exception:
            log.warning("could not read article %s for its takeaway", article_id, exc_info=True)
            article = None
        if article is None or not article.key_takeaway.strip():
            continue
        takeaway = " ".join(article.key_takeaway.split())
        if not _repeats(takeaway, quotes):
            lines.append(f"- {article.title}: {takeaway} [{c.article.n}]")
    return lines


def extractive_answer(
    question: str,
    articles: Sequence[NumberedArticle],
    embedder: Embedder | None,
    get_article: Callable[[str], Article | None],
    stored: StoredVectors | None = None,
    previous: Sequence[str] = (),
    max_quotes: int | None = None,
    max_passages: int | None = None,
    query_vectors: QueryVectorCache | None = None,
) -> str:
    """Quoted best units with their article's [n], then those articles' key takeaways.

    `previous` holds earlier answers of the conversation: their quotes are not given again.
    `query_vectors` holds the answer's query vectors: a question its search already embedded
    is not embedded again. Never raises.
    """
    quoted = passages_to_quote(question, articles, max_passages or MAX_PASSAGES)
    passages = quoted.pairs
    candidates = candidate_units(passages)
    terms = question_terms(question, candidates)
    scores = rank_units(question, candidates, embedder, stored, query_vectors, terms)
    chosen = choose_quotes(
        candidates, scores, max_quotes or MAX_QUOTES, previous, terms, quoted.added_for
    )
    wanted = frozenset(stems(key_terms(question)))
    quotes = [_quoted(c, wanted) for c in chosen]
    lines = [EXTRACTIVE_LABEL, ""]
    if chosen:
        lines += [f"- {q} [{c.article.n}]" for q, c in zip(quotes, chosen, strict=True)]
    elif passages:
        # Passages with no whole sentence (lists, headings): quote the best one's start.
        numbered, hit = passages[0]
        text = " ".join(split_pieces(hit.chunk.text))
        short = text[:MAX_CHARS].rsplit(" ", 1)[0] + " …" if len(text) > MAX_CHARS else text
        lines.append(f"- {short} [{numbered.n}]")
    takeaways = _takeaways(chosen, quotes, get_article)
    if takeaways:
        lines += ["", "Key takeaways:", *takeaways]
    return "\n".join(lines)
