"""Code in Markdown found as CommonMark finds it, and treated alike by chunking, card sections,
citations and link safety (Discord splitting: tests/bot/discord/test_split_fences.py)."""

from __future__ import annotations

import random

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from knowledge.answers.citations import cited_numbers, validate_citations
from knowledge.answers.links import defuse_masked_links
from knowledge.chunking import ChunkingPolicy, chunk_article, pack
from knowledge.headings import split_sections
from knowledge.loaders.sections import read_card_body
from knowledge.markdown_code import (
    Fence,
    code_regions,
    map_prose,
    markdown_lines,
    opening_fence,
    prose_of,
    unclosed_fence,
)
from knowledge.models import Article

COMMONMARK = MarkdownIt("commonmark")


def kinds(text: str) -> str:
    """One letter a line: p(rose), o(pening), c(ode), C(losing)."""
    letters = {"prose": "p", "opening": "o", "code": "c", "closing": "C"}
    return "".join(letters[line.kind] for line in markdown_lines(text))


def code_texts(text: str) -> list[str]:
    return [text[region.start : region.end] for region in code_regions(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("a\n```\n# x\n```\nb", "pocCp", id="backtick fence"),
        pytest.param("~~~\n# x\n~~~", "ocC", id="tilde fence"),
        pytest.param("~~~\n```\n~~~", "ocC", id="backticks inside a tilde fence are code"),
        pytest.param("```\n~~~\n```", "ocC", id="tildes inside a backtick fence are code"),
        pytest.param("````\n```\n````", "ocC", id="shorter run inside a 4-backtick fence"),
        pytest.param("```\ncode\n`````\nafter", "ocCp", id="a longer closing run closes"),
        pytest.param("~~~~\ncode\n~~~\n~~~~", "occC", id="a shorter closing run does not"),
        pytest.param("```\ncode\n``` python\n```", "occC", id="a closer takes no info string"),
        pytest.param("```\ncode\n```  \t\nafter", "ocCp", id="spaces may follow a closer"),
        pytest.param("   ```\ncode\n   ```", "ocC", id="indented three spaces"),
        pytest.param("    ```\ncode\n    ```", "ppp", id="four spaces are not a fence"),
        pytest.param("```\ncode\n    ```\nmore", "occc", id="a closer indented four is code"),
        pytest.param("\t```\ncode", "pp", id="a tab is four columns"),
        pytest.param("``\ncode\n``", "ppp", id="two backticks are not a fence"),
        pytest.param("```js`x\ncode", "pp", id="backtick in a backtick fence's info string"),
        pytest.param("~~~ js`x\ncode\n~~~", "ocC", id="backtick in a tilde fence's info string"),
        pytest.param("```\n# x\n\nmore", "occc", id="an unclosed fence runs to the end"),
        pytest.param("a\r\n```\r\nx\r```\nb", "pocCp", id="CRLF, CR and LF line endings"),
        pytest.param("- item\n\n  ```\n  # x\n  ```", "ppocC", id="fence in a list item"),
        pytest.param("1. Install:\n    ```sh\n    # x\n    ```", "pocC", id="item indented 4"),
        pytest.param("- ```sh\n  # x\n  ```", "ocC", id="fence right after the marker"),
        pytest.param("10. a\n\n     ```\n     x\n     ```", "ppocC", id="wide ordered marker"),
        pytest.param("- a\n  - b\n\n      ```\n      x\n      ```", "pppocC", id="nested"),
        pytest.param("- a\n\n      ```\n      x", "pppp", id="4 past the item is no fence"),
        pytest.param("- a\n```\nx\n```", "pocC", id="a fence at column 0 ends the item"),
        pytest.param("text\n2. x\n    ```", "ppp", id="only 1. interrupts a paragraph"),
        pytest.param("-\n\n    ```", "ppp", id="an empty item ends at a blank line"),
        pytest.param("Title\n-\n  ```", "ppo", id="a setext underline is no item"),
        pytest.param("- a\n  ```\ncode\n  ```\nafter", "pocCp", id="less indented code stays"),
        pytest.param("", "", id="empty text"),
    ],
)
def test_lines_are_told_whether_they_are_in_a_fence(text: str, expected: str) -> None:
    assert kinds(text) == expected


def test_each_line_carries_its_offsets_and_the_fence_that_closes_it() -> None:
    text = "Intro\n~~~~ python \nx = 1\n~~~~~\n"
    lines = list(markdown_lines(text))

    assert [text[line.start : line.end] for line in lines] == [
        "Intro\n",
        "~~~~ python \n",
        "x = 1\n",
        "~~~~~\n",
    ]
    assert [line.text for line in lines] == ["Intro", "~~~~ python ", "x = 1", "~~~~~"]
    fence = Fence("~~~~", "python")
    assert [line.fence for line in lines] == [None, fence, fence, fence]
    assert fence.closed_by("~~~~") and fence.closed_by(" ~~~~~~ ")
    assert not fence.closed_by("~~~") and not fence.closed_by("````")


@pytest.mark.parametrize(
    ("line", "fence"),
    [
        ("```", Fence("```")),
        ("  ~~~~ text with ` ticks ", Fence("~~~~", "text with ` ticks")),
        ("`````python", Fence("`````", "python")),
        ("``` a`b", None),
        ("    ```", None),
        ("text ```", None),
    ],
)
def test_opening_fence(line: str, fence: Fence | None) -> None:
    assert opening_fence(line) == fence


def test_the_fence_left_open_is_the_one_that_would_close_the_text() -> None:
    assert unclosed_fence("a\n```\nb\n```\n") is None
    assert unclosed_fence("````md\n```\ninner\n```\n") == Fence("````", "md")
    assert unclosed_fence("~~~\n```") == Fence("~~~")
    assert unclosed_fence("```a`\nnot a fence") is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param("a `b[1]` c", ["`b[1]`"], id="single backticks"),
        pytest.param("``a`b`` c `d`", ["``a`b``", "`d`"], id="double backticks hold one"),
        pytest.param("`a`` b` c", ["`a`` b`"], id="a run of another length is content"),
        pytest.param("a ` lone tick [1]", [], id="unmatched run is literal"),
        pytest.param("`` x ` y", [], id="no closer of the same length"),
        pytest.param("```` a ```", [], id="a longer opener needs as long a closer"),
        pytest.param("``` a ``` b", ["``` a ```"], id="three backticks inline are a span"),
        pytest.param("`` ` x", [], id="short run after an unmatched long one"),
        pytest.param("x `` y ` z `", ["` z `"], id="span after an unmatched run"),
        pytest.param("\\`not` `yes`", ["` `"], id="an escaped backtick opens nothing"),
        pytest.param("\\\\`yes`", ["`yes`"], id="an escaped backslash does not escape"),
        pytest.param("\\``x`", ["`x`"], id="the rest of an escaped run may open"),
        pytest.param("`a\\`b`", ["`a\\`"], id="no escapes inside a span"),
        pytest.param("`a\nb` c", ["`a\nb`"], id="a span may cross a line"),
        pytest.param("`a\n\nb` [1]", [], id="a span never crosses a blank line"),
        pytest.param("`a\n```\nb`", ["```\nb`"], id="a fence interrupts a paragraph"),
    ],
)
def test_code_spans(text: str, code: list[str]) -> None:
    assert code_texts(text) == code


def test_regions_cover_fences_whole_and_prose_keeps_the_rest() -> None:
    text = "See [1] `x[2]`.\n~~~ py\ny[3]\n~~~\nThen [4].\n````\nunclosed [5]"

    assert code_texts(text) == ["`x[2]`", "~~~ py\ny[3]\n~~~\n", "````\nunclosed [5]"]
    assert [r.marker for r in code_regions(text)] == ["`", "~~~", "````"]
    assert [r.fenced for r in code_regions(text)] == [False, True, True]
    assert prose_of(text) == "See [1]  .\n Then [4].\n "
    assert map_prose(text, str.upper) == (
        "SEE [1] `x[2]`.\n~~~ py\ny[3]\n~~~\nTHEN [4].\n````\nunclosed [5]"
    )


def test_a_text_full_of_unmatched_backticks_is_read_in_linear_time() -> None:
    # Each run has a different length, so none closes: quadratic scanning would take minutes.
    text = " ".join("`" * n for n in range(1, 2_000)) + " [1]"
    assert code_regions(text) == []
    assert cited_numbers(text) == [1]


def test_any_text_is_read_whole_with_regions_in_order_and_in_bounds() -> None:
    rng = random.Random(99)
    alphabet = ["`", "``", "```", "~~~", "\\", "\n", "\r", "\r\n", "\t", " ", "    ", "- ",
                "1. ", "# ", "a", "[1]", "é", "\u2028", "\x00", ">", "==="]  # fmt: skip
    for _ in range(3_000):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 40)))
        lines = list(markdown_lines(text))
        assert "".join(text[line.start : line.end] for line in lines) == text
        regions = code_regions(text)
        bounds = [offset for region in regions for offset in (region.start, region.end)]
        assert bounds == sorted(bounds) and all(0 <= b <= len(text) for b in bounds)
        assert map_prose(text, lambda prose: prose) == text


# Differential checks against markdown-it-py, a complete CommonMark parser, on generated text.
# The line pool avoids what this reader does not model: lists, block quotes, HTML, setext.
_LINE_POOL = [
    "```", "````", "`````", "~~~", "~~~~", "```py", "~~~ a`b", "``` a`b", "   ```", "    ```",
    "  ~~~~~", "```  ", "~~~ ```", "\t```", "text [1]", "", "# heading", "    code", " ``` x",
]  # fmt: skip


def _fence_maps(text: str) -> list[tuple[int, int, str, str]]:
    """(first line, line after the block, marker, info) of each fenced block, as we read it."""
    lines = list(markdown_lines(text))
    blocks: list[tuple[int, int, str, str]] = []
    for number, line in enumerate(lines):
        if line.kind == "opening" and line.fence is not None:
            blocks.append((number, len(lines), line.fence.marker, line.fence.info))
        elif line.kind == "closing":
            blocks[-1] = (blocks[-1][0], number + 1, *blocks[-1][2:])
    return blocks


def _markdown_it_fence_maps(text: str) -> list[tuple[int, int, str, str]]:
    return [
        (token.map[0], token.map[1], token.markup, token.info.strip())
        for token in COMMONMARK.parse(text)
        if token.type == "fence" and token.map is not None
    ]


def test_fences_agree_with_markdown_it_on_generated_documents() -> None:
    rng = random.Random(16)
    for _ in range(3_000):
        text = "\n".join(rng.choices(_LINE_POOL, k=rng.randint(1, 14)))
        assert _fence_maps(text) == _markdown_it_fence_maps(text), text


def _list_item(rng: random.Random, indent: int, depth: int) -> list[str]:
    """One list item at `indent` whose content lines are all indented to its content column
    (so no line ends the item early, which this reader does not model) and that closes the
    fences it opens."""
    marker = rng.choice(["-", "*", "+", "1.", "2)", "10."])
    gap = rng.choice([" ", "  ", "   ", " " * 4])
    first = rng.choice(["text [1]", "```py", "~~~", "````", "", "`` a"])
    column = indent + len(marker) + (len(gap) if first else 1)
    content = [first]
    for _ in range(rng.randint(0, 6)):
        if depth < 2 and rng.random() < 0.15:
            content += [line[column:] for line in _list_item(rng, column, depth + 1)]
            content.append("# heading")  # ends the nested item: no later line falls into it
        else:
            # No tabs: they expand to columns that depend on the indentation added here.
            content.append(rng.choice([line for line in _LINE_POOL if "\t" not in line]))
    lines = [" " * indent + marker + (gap + first if first else "")]
    lines += [" " * column + line if line else "" for line in content[1:]]
    if fence := unclosed_fence("\n".join(line[indent:] for line in lines)):
        lines.append(" " * column + fence.marker)
    return lines


def _list_document(rng: random.Random) -> str:
    """List items and other lines; a heading after each item ends it."""
    lines: list[str] = []
    for _ in range(rng.randint(1, 4)):
        if rng.random() < 0.6:
            lines += [*_list_item(rng, rng.choice([0, 0, 1, 3]), 0), "# heading"]
        else:
            lines += rng.choices(_LINE_POOL, k=rng.randint(1, 4))
        lines.append("")
    return "\n".join(lines)


def test_fences_in_list_items_agree_with_markdown_it() -> None:
    rng = random.Random(52)
    for _ in range(3_000):
        text = _list_document(rng)
        assert _fence_maps(text) == _markdown_it_fence_maps(text), text


def _span_content(span: str, marker: str) -> str:
    """A code span's content as CommonMark 6.1 defines it."""
    content = span[len(marker) : -len(marker)].replace("\n", " ")
    if content.startswith(" ") and content.endswith(" ") and content.strip(" "):
        content = content[1:-1]
    return content


def test_code_spans_agree_with_markdown_it_on_generated_paragraphs() -> None:
    rng = random.Random(61)
    pieces = ["`", "``", "```", "a", " ", "\\", "[1]"]
    for _ in range(3_000):
        # Every line starts with a letter: one paragraph, no fences, no indented code.
        text = "\n".join(
            "a" + "".join(rng.choices(pieces, k=rng.randint(0, 12)))
            for _ in range(rng.randint(1, 3))
        )
        ours = [
            _span_content(text[region.start : region.end], region.marker)
            for region in code_regions(text)
        ]
        children = COMMONMARK.parseInline(text)[0].children or []
        theirs = [token.content for token in children if token.type == "code_inline"]
        assert ours == theirs, text


_SPAN_LINE_POOL = [
    "- a `b", "* `c` d", "1. x `` y", "2. z`", "# h `x` `", "text ` a", "more `` b ``", "``",
    "`", "", "  cont `x", "```", "~~~", "  - nested `q", "   `", "a \\`b`", "10. `k",
]  # fmt: skip


def _inline_code(tokens: list[Token]) -> list[str]:
    return [
        child.content
        for token in tokens
        if token.type == "inline"
        for child in token.children or []
        if child.type == "code_inline"
    ]


def test_code_spans_in_lists_and_headings_agree_with_markdown_it() -> None:
    rng = random.Random(35)
    for _ in range(3_000):
        text = "\n".join(rng.choices(_SPAN_LINE_POOL, k=rng.randint(1, 10)))
        # Whitespace compared loosely: markdown-it drops a list item's indentation in spans.
        ours = [
            " ".join(_span_content(text[region.start : region.end], region.marker).split())
            for region in code_regions(text)
            if not region.fenced
        ]
        theirs = [" ".join(content.split()) for content in _inline_code(COMMONMARK.parse(text))]
        assert ours == theirs, text


# --- Every reader of Markdown sees the same code -----------------------------------------------

FENCED_BODY = """Intro paragraph.

~~~bash
# Install the package
pip install curator
~~~

## Configure

````markdown
```
# Not a heading either
```
````

Set the token."""


def _article(body: str) -> Article:
    return Article(title="Setting up", url="https://example.com/a1", body=body)


def test_a_hash_line_in_a_tilde_or_long_fence_is_no_heading_for_sections_or_chunks() -> None:
    assert [s.heading for s in split_sections(FENCED_BODY)] == ["", "Configure"]

    policy = ChunkingPolicy(target_tokens=200, overlap_tokens=0, count_tokens=lambda s: len(s))
    chunks = chunk_article(_article(FENCED_BODY), policy)

    assert {chunk.heading for chunk in chunks} == {"", "Configure"}
    text = "\n".join(chunk.text for chunk in chunks)
    assert "# Install the package" in text and "# Not a heading either" in text


def test_a_hash_line_in_a_list_item_fence_is_no_heading() -> None:
    body = "Steps:\n\n- ```sh\n  # install it\n  pip install curator\n  ```\n- Done."
    assert [s.heading for s in split_sections(body)] == [""]


def test_a_card_section_heading_inside_a_fence_stays_in_the_body() -> None:
    body = read_card_body(
        "## Summary\n\nShort.\n\n## Article\n\n~~~\n## Method\nstill code\n~~~\n\nEnd."
    )
    assert body.summary == "Short."
    assert body.sections == {}
    assert body.body == "~~~\n## Method\nstill code\n~~~\n\nEnd."


def test_an_unclosed_tilde_fence_is_closed_with_its_own_marker_in_a_chunk() -> None:
    chunks = pack("Before.\n\n~~~~\n# code\n```\nstill code", 500, 0, len)
    assert chunks == ["Before.\n\n~~~~\n# code\n```\nstill code\n~~~~"]


def test_a_long_block_in_a_list_item_is_chunked_with_its_fence_and_the_marker_once() -> None:
    code = "\n".join(f"   x_{i} = f({i})  # comment" for i in range(40))
    text = f"Steps:\n\n1. ~~~python\n{code}\n   ~~~\n2. Done."

    chunks = pack(text, 80, 0, lambda s: len(s.split()))

    assert len(chunks) > 2
    assert [chunk.count("~~~python") for chunk in chunks] == [1] * len(chunks)
    assert sum(chunk.count("1. ~~~python") for chunk in chunks) == 1
    assert all(unclosed_fence(chunk) is None for chunk in chunks)


def test_no_overlap_is_carried_out_of_a_code_block() -> None:
    code = "```python\n" + "\n".join(f"x{i} = f({i}). Done." for i in range(8)) + "\n```"
    text = f"Intro. Two.\n\n{code}\n\nAfter the code. More prose."

    chunks = pack(text, 30, 8, lambda s: len(s.split()))

    # Every chunk renders on its own: no stray closing fence carried into the next one.
    assert all(chunk.count("```") % 2 == 0 for chunk in chunks)
    assert chunks[-1].startswith("```python\nx7 = f(7). Done.\n```")


def test_a_marker_in_a_tilde_fence_or_double_backtick_span_is_no_citation() -> None:
    text = "Claim [2].\n~~~\nweights[1] = 0\n~~~\nUse ``a`[3]`` too [3]."

    result = validate_citations(text, [1, 2, 3])

    assert result.used == [2, 3]
    assert result.text == "Claim [1].\n~~~\nweights[1] = 0\n~~~\nUse ``a`[3]`` too [2]."


def test_a_stray_backtick_in_one_bullet_does_not_hide_the_next_bullets_citation() -> None:
    text = "- Pass the `--merge flag [1]\n- Then run `curator ask` [2]"
    assert cited_numbers(text) == [1, 2]


def test_a_marker_in_a_list_item_fence_is_no_citation() -> None:
    text = (
        "Steps [2]:\n\n1. Merge:\n    ~~~python\n    w = lora_B[1] @ lora_A[0]\n    ~~~\n2. Done."
    )

    result = validate_citations(text, [1, 2])

    assert result.used == [2]
    assert result.text == text.replace("[2]", "[1]", 1)


def test_masked_links_in_backtick_code_are_left_alone() -> None:
    masked = "[https://nature.com](https://evil.example/x)"
    text = f"`{masked}`\n\n````md\n{masked}\n````\n\n``{masked}``"

    assert defuse_masked_links(text).text == text


def test_masked_links_outside_code_are_defused_even_after_an_unclosed_inline_run() -> None:
    # The old pattern took everything after an unmatched ``` for code, link included.
    text = "Run ``` then [https://nature.com](https://evil.example/x)"
    safe = defuse_masked_links(text)
    assert safe.rewritten == 1
    assert safe.text == "Run ``` then https://evil.example/x"


def test_masked_links_in_a_tilde_fence_are_defused_as_discord_shows_them_live() -> None:
    text = "~~~\n[https://nature.com](https://evil.example/x)\n~~~"
    assert defuse_masked_links(text).text == "~~~\nhttps://evil.example/x\n~~~"
    # A span over lines is code to CommonMark, but Discord may show it as text: checked too.
    text = "`see\n[https://nature.com](https://evil.example/x)`"
    assert defuse_masked_links(text).text == "`see\nhttps://evil.example/x`"
