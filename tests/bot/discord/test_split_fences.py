"""Discord messages keep code fences balanced as CommonMark reads them: tilde fences, fences
longer than three, and lines that only look like fences (knowledge/markdown_code.py)."""

from __future__ import annotations

from bot.discord.render import CURSOR, link_markers, render_progress
from bot.discord.split import close_open_fence, split_markdown
from knowledge.markdown_code import markdown_lines, unclosed_fence
from knowledge.models import Citation


def balanced(chunk: str) -> bool:
    """Whether every fence opened in `chunk` is closed in it."""
    return unclosed_fence(chunk) is None


def content_lines(chunks: list[str]) -> list[str]:
    """The lines of code and prose, fence lines left out."""
    return [
        line.text
        for chunk in chunks
        for line in markdown_lines(chunk)
        if line.kind in ("code", "prose") and line.text.strip()
    ]


def test_a_long_tilde_block_is_closed_and_reopened_with_its_fence_at_each_cut() -> None:
    code = "\n".join(f"step_{i} = run({i})  # [{i}]" for i in range(200))
    text = f"Intro.\n\n~~~python\n{code}\n~~~\n\nOutro."

    chunks = split_markdown(text, 1_000)

    assert chunks[0] == "Intro." and chunks[-1].endswith("~~~\n\nOutro.")
    for chunk in chunks[1:]:
        assert len(chunk) <= 1_000 and balanced(chunk)
        fences = [line.text for line in markdown_lines(chunk) if line.kind != "code"]
        assert fences[:2] == ["~~~python", "~~~"]
    assert content_lines(chunks) == content_lines([text])


def test_a_four_backtick_block_holding_three_backtick_lines_is_split_as_one_block() -> None:
    inner = "\n".join(f"```\nexample {i}\n```" for i in range(120))
    text = f"````markdown\n{inner}\n````"

    chunks = split_markdown(text, 600)

    assert len(chunks) > 2
    for chunk in chunks:
        # Each part is reopened with four backticks, so its ``` lines stay code.
        assert chunk.startswith("````markdown\n") and chunk.endswith("\n````")
        assert balanced(chunk)
        assert all(line.kind != "prose" for line in markdown_lines(chunk))
    assert content_lines(chunks) == content_lines([text])


def test_a_long_block_in_a_list_item_is_cut_and_reopened_without_its_list_marker() -> None:
    code = "\n".join(f"    pip install package-{i}  # [{i}]" for i in range(150))
    text = f"Steps:\n\n1. Install:\n    ```bash\n{code}\n    ```\n2. Run it."

    chunks = split_markdown(text, 1_000)

    assert len(chunks) > 3
    assert all(len(chunk) <= 1_000 and balanced(chunk) for chunk in chunks)
    assert "1. Install:\n\n    ```bash\n    pip install package-0" in chunks[0]
    assert all(chunk.startswith("```bash\n    pip install") for chunk in chunks[1:-1])
    assert chunks[-1].endswith("```\n\n2. Run it.")
    assert content_lines(chunks) == content_lines([text])


def test_close_open_fence_closes_with_the_marker_that_opened() -> None:
    assert close_open_fence("Partial:\n~~~~\n~~~\ncode") == "Partial:\n~~~~\n~~~\ncode\n~~~~"
    assert close_open_fence("````\n```\ninner\n```\n") == "````\n```\ninner\n```\n````"
    assert close_open_fence("Done.\n```\ncode\n`````") == "Done.\n```\ncode\n`````"
    # Streaming a list item's code: the block shows as code before its closing fence arrives.
    assert (
        close_open_fence("1. Run:\n    ```sh\n    pip in") == "1. Run:\n    ```sh\n    pip in\n```"
    )


def test_lines_that_only_look_like_fences_open_nothing() -> None:
    for text in ("Text\n    ```\nindented four", "```js`\nnot a fence", "Use ```x``` inline"):
        assert close_open_fence(text) == text
        assert split_markdown(text, 2_000) == [text]


def test_progress_closes_an_open_tilde_fence_and_puts_the_cursor_below_it() -> None:
    pages = render_progress("Here:\n\n~~~~\nx = 1")
    assert pages == ["Here:\n\n~~~~\nx = 1\n~~~~\n" + CURSOR.strip()]


def test_a_marker_inside_a_tilde_fence_is_not_linked() -> None:
    citation = Citation(
        n=1,
        title="Adapters",
        url="https://example.com/a",
        article_id="a",
        chunk_id="a-0000",
        passage="…",
    )
    text = "Merge the adapter [1]:\n~~~\nlora_B[1] @ lora_A[0]\n~~~\nand ``w[1]``."

    linked = link_markers(text, [citation])

    assert linked == (
        "Merge the adapter [\\[1\\]](https://example.com/a):\n~~~\nlora_B[1] @ lora_A[0]\n~~~\n"
        "and ``w[1]``."
    )
