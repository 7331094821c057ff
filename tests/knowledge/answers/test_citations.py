"""Citation markers: invalid ones removed, valid ones renumbered in order of first use."""

from __future__ import annotations

import pytest

from knowledge.answers.citations import cited_numbers, strip_markers, validate_citations
from knowledge.markdown_code import code_regions


def test_valid_markers_in_order_are_unchanged() -> None:
    result = validate_citations("A [1]. B [2].", [1, 2, 3])
    assert result.text == "A [1]. B [2]."
    assert result.used == [1, 2] and result.removed == [] and not result.uncited


def test_renumbered_in_order_of_first_use() -> None:
    result = validate_citations("A [3]. B [1]. C [3].", [1, 2, 3])
    assert result.text == "A [1]. B [2]. C [1]."
    assert result.used == [3, 1]
    assert result.renumbered(3) == 1 and result.renumbered(1) == 2 and result.renumbered(2) is None


def test_marker_for_a_source_not_given_is_removed_with_its_space() -> None:
    result = validate_citations("Invented claim [9]. Real claim [2].", [1, 2])
    assert result.text == "Invented claim. Real claim [1]."
    assert result.used == [2] and result.removed == [9]


@pytest.mark.parametrize(
    ("text", "expected", "used"),
    [
        ("X [1][2].", "X [1][2].", [1, 2]),
        ("X [2][1].", "X [1][2].", [2, 1]),
        ("X [1, 2].", "X [1][2].", [1, 2]),
        ("X [1,2; 3].", "X [1][2][3].", [1, 2, 3]),
        ("X [1-3].", "X [1][2][3].", [1, 2, 3]),
        ("X [2–3].", "X [1][2].", [2, 3]),
        ("X [Source 2].", "X [1].", [2]),
        ("X [sources 1, 3].", "X [1][2].", [1, 3]),
    ],
)
def test_group_and_range_forms(text: str, expected: str, used: list[int]) -> None:
    result = validate_citations(text, [1, 2, 3])
    assert result.text == expected and result.used == used


def test_group_keeps_only_valid_members() -> None:
    result = validate_citations("X [1, 7, 2].", [1, 2])
    assert result.text == "X [1][2]." and result.removed == [7]


def test_range_partly_outside_sources() -> None:
    result = validate_citations("X [2-5].", [1, 2, 3])
    assert result.text == "X [1][2]." and result.used == [2, 3] and result.removed == [4, 5]


def test_absurd_range_is_not_expanded() -> None:
    result = validate_citations("X [1-1000].", [1, 2, 3])
    assert result.text == "X [1]." and result.removed == [1000]


def test_no_markers_at_all_is_uncited() -> None:
    result = validate_citations("A plain statement.", [1, 2])
    assert result.uncited and result.text == "A plain statement."


def test_only_invalid_markers_is_uncited() -> None:
    result = validate_citations("[4] Claim at line start.\n- item [5]", [1, 2])
    assert result.uncited
    assert result.text == "Claim at line start.\n- item"


def test_non_numeric_brackets_and_spacing_elsewhere_are_untouched() -> None:
    text = "Use `a[i]` and [see below].\n\n    indented  code [1]"
    result = validate_citations(text, [1])
    assert result.text == "Use `a[i]` and [see below].\n\n    indented  code [1]"


def test_repeated_number_in_one_group_is_cited_once() -> None:
    assert validate_citations("X [2, 2].", [2]).text == "X [1]."


# -- code is not prose ------------------------------------------------------------------------

LORA_REPLY = (
    "Merge the adapter into the base weights [2]:\n"
    "\n"
    "```python\n"
    "delta = lora_B[1] @ lora_A[0]\n"
    "W[3] += delta  # see [1]\n"
    "```\n"
    "\n"
    "Then read `logits[3]` as usual [1]."
)


def test_markers_inside_code_are_kept_byte_for_byte_and_never_cited() -> None:
    result = validate_citations(LORA_REPLY, [1, 2, 3])

    # [2] and [1] in prose are the only citations, renumbered by first use.
    assert result.used == [2, 1]
    assert result.removed == []
    block = LORA_REPLY[LORA_REPLY.index("```python") : LORA_REPLY.rindex("```") + 3]
    assert block in result.text
    assert "`logits[3]`" in result.text
    assert result.text.startswith("Merge the adapter into the base weights [1]:")
    assert result.text.endswith("as usual [2].")
    assert cited_numbers(result.text) == [1, 2]


def test_code_markers_do_not_count_when_prose_has_none() -> None:
    result = validate_citations("Call `f[1]` then\n~~~\nx[2]\n~~~", [1, 2])
    assert result.uncited
    assert result.text == "Call `f[1]` then\n~~~\nx[2]\n~~~"


def test_an_unclosed_fence_protects_everything_after_it() -> None:
    text = "See [1].\n```\ncode [2]\nmore [9]"
    result = validate_citations(text, [1, 2])
    assert result.text == text and result.used == [1]


def test_unmatched_backtick_is_literal_and_markers_after_it_count() -> None:
    result = validate_citations("A lone ` tick, then a claim [2].", [1, 2])
    assert result.text == "A lone ` tick, then a claim [1]." and result.used == [2]


def test_double_backtick_span_may_hold_single_backticks() -> None:
    text = "Use ``a`[1]`` here [1]."
    assert validate_citations(text, [1]).text == text
    assert [(region.start, region.end) for region in code_regions(text)] == [(4, 13)]


def test_longer_closing_fence_closes_and_prose_after_it_is_cited() -> None:
    text = "```\nx[1]\n`````\nAfter [3]."
    result = validate_citations(text, [3])
    assert result.text == "```\nx[1]\n`````\nAfter [1]." and result.used == [3]


def test_strip_markers_leaves_code_alone() -> None:
    assert strip_markers("Claim [1]. Code `a[2]` [3].") == "Claim. Code `a[2]`."
