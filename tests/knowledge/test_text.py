"""One vocabulary: search, the hash embedder and the answer checks read words the same way."""

from __future__ import annotations

from knowledge.answers.terms import key_terms
from knowledge.embeddings.hash import hashed_words
from knowledge.store.lexical_index import tokenize
from knowledge.text import FUNCTION_WORDS, NON_TOPIC_WORDS, STOP_WORDS, stems, words


def test_a_word_search_skips_is_skipped_everywhere() -> None:
    assert STOP_WORDS <= FUNCTION_WORDS <= NON_TOPIC_WORDS
    for word in STOP_WORDS:
        assert tokenize(word) == []
        assert hashed_words(word) == []
        assert key_terms(word) == []


def test_search_and_answer_checks_stem_alike() -> None:
    question = "Which articles explain Retrieval-Augmented generation?"
    assert set(tokenize(question)) <= stems(words(question))
    assert stems(["Articles"]) == stems(["article"])
