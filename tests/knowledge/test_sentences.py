"""Splitting passages into quotable units: sentences, abbreviations, leaning openers, excerpts."""

from __future__ import annotations

import pytest

from knowledge.sentences import (
    MAX_CHARS,
    excerpt,
    is_question,
    leans_on_previous,
    quotable_units,
    split_pieces,
)


def test_initials_and_abbreviations_do_not_end_a_sentence() -> None:
    text = (
        "McKinsey & Company was founded by James O. McKinsey in 1926. "
        "Jean Ribault mapped the St. Johns River. Jones et al. 1998 agreed, e.g. on dates."
    )
    assert split_pieces(text) == [
        "McKinsey & Company was founded by James O. McKinsey in 1926.",
        "Jean Ribault mapped the St. Johns River.",
        "Jones et al. 1998 agreed, e.g. on dates.",
    ]


def test_a_sentence_the_chunker_broke_at_an_abbreviation_is_joined_again() -> None:
    assert split_pieces("Supported by Jones et al.\n\n1998 and Briffa 2000.") == [
        "Supported by Jones et al. 1998 and Briffa 2000."
    ]


def test_list_items_and_blank_lines_still_separate_pieces() -> None:
    text = "Intro line here.\n- first item\n- second item\n\nNew paragraph."
    assert split_pieces(text) == ["Intro line here.", "first item", "second item", "New paragraph."]


@pytest.mark.parametrize(
    ("sentence", "leans"),
    [
        ("It was founded in 1850.", True),
        ("However, the plan failed.", True),
        ("In addition, costs rose.", True),
        ("These results hold.", True),
        ("Italy joined in 1957.", False),
        ("Items were sold.", False),
        ("There are three kinds.", False),
    ],
)
def test_leaning_openers(sentence: str, leans: bool) -> None:
    assert leans_on_previous(sentence) is leans


def test_a_long_sentence_is_quoted_by_its_best_clauses() -> None:
    filler = ", ".join(f"clause number {i} about nothing" for i in range(20))
    text = f"Airports abound: {filler}, Van Nuys Airport is the busiest general aviation airport."
    shown = excerpt(text, lambda clause: float("aviation" in clause))
    assert len(shown) <= MAX_CHARS + 4
    assert shown.startswith("… ") and "Van Nuys Airport is the busiest" in shown


def test_a_short_text_is_quoted_whole() -> None:
    assert excerpt("Short and sweet.", lambda clause: 0.0) == "Short and sweet."


def test_an_excerpt_keeps_the_sentence_start_when_a_later_stretch_only_repeats_its_words() -> None:
    filler = ", ".join(f"clause {i} on nothing" for i in range(25))
    text = (
        "Southern California is home to Los Angeles International Airport, the second-busiest "
        f"airport by volume, {filler}, see busiest airports by traffic."
    )
    words = {"busiest", "airport"}
    shown = excerpt(text, lambda stretch: float(sum(w in stretch.lower() for w in words)))
    assert shown.startswith("Southern California is home to Los Angeles International Airport")


def test_a_question_is_not_quoted_on_its_own() -> None:
    text = (
        "Do you think the hype has created a bubble like the dot-com era? "
        "I think this is a bubble, but the underlying technology is not to blame."
    )
    units = [u.text for u in quotable_units(text)]
    assert units == ["I think this is a bubble, but the underlying technology is not to blame."]
    assert not any(is_question(u) for u in units)


def test_a_question_still_leads_an_answer_that_leans_on_it() -> None:
    text = "Why do general methods win in the long run? It is because they scale with compute."
    units = [u.text for u in quotable_units(text)]
    # "It ..." cannot stand alone, so the question it answers comes with it, never alone.
    assert units == [text]


def test_a_short_topic_line_is_quoted_only_with_the_sentence_after_it() -> None:
    topic = "Evaluation gets the most attention."
    follower = "Yan surveys reference-based metrics and explains why they fail on open tasks."
    units = [u.text for u in quotable_units(f"{topic} {follower}")]
    assert units == [f"{topic} {follower}"]


def test_a_short_line_that_ends_its_paragraph_concludes_and_is_quoted_alone() -> None:
    conclusion = "It's only fair that you should pay more for oil. Let's say ten times more."
    text = f"{conclusion}\n\nThe embargo began in October 1973 and lasted until March 1974."
    units = [u.text for u in quotable_units(text)]
    assert "Let's say ten times more." in units


def test_a_short_topic_line_is_not_quoted_when_what_follows_cannot_be() -> None:
    # What follows in its paragraph is a question: the topic line has nothing to lead.
    text = "Evals come first every time. But how do you build them well?"
    assert quotable_units(text) == []


@pytest.mark.parametrize(
    ("sentence", "asks"),
    [
        ("Do you think the AI hype has created a bubble?", True),
        ("She asked: “Is it a bubble?”", True),
        ("It is a bubble.", False),
    ],
)
def test_questions(sentence: str, asks: bool) -> None:
    assert is_question(sentence) is asks


def test_a_short_sentence_holding_a_number_states_a_fact_and_is_quoted_alone() -> None:
    text = "Tesla died on 7 January 1943. His estate was taken into custody by the government."
    units = [u.text for u in quotable_units(text)]
    assert units[0] == "Tesla died on 7 January 1943."


def test_a_stray_mark_does_not_lead_the_sentence_after_it() -> None:
    # An elided quotation leaves ". ." pieces: too short to be quoted, too short to lead.
    text = 'Gandhi told the court, "I am here to . . . submit cheerfully to the highest penalty."'
    units = [u.text for u in quotable_units(text)]
    assert not [u for u in units if u.startswith(". .")], units
