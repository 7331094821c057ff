"""Markdown read line by line into heading sections: the one heading and code-fence parser.

Card loading (which heading opens "Summary", "Method"…) and chunking (the heading every chunk of
a section carries) both cut on these sections, so a heading means the same thing to both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# CommonMark ATX headings: up to three spaces, 1-6 `#`, a space, the text, an optional closing
# run of `#` after a space (so "# C#" is the heading "C#").
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


@dataclass
class Section:
    """One heading (`level` 1-6, its text and raw `line`) and the lines up to the next heading.

    Text before the first heading is a section of level 0 with an empty heading and line.
    """

    level: int
    heading: str
    line: str
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The section's lines without the heading, stripped."""
        return "\n".join(self.lines).strip()


def closes_fence(line: str, fence: str) -> bool:
    """Whether `line` closes a block opened by `fence` (same character, at least as long)."""
    stripped = line.strip()
    return (
        len(line) - len(line.lstrip(" ")) <= 3
        and len(stripped) >= len(fence)
        and set(stripped) == {fence[0]}
    )


def split_sections(markdown: str) -> list[Section]:
    """Sections of `markdown` in order, the first of level 0; a `#` line in a code fence is text."""
    sections = [Section(0, "", "")]
    fence: str | None = None
    for line in markdown.splitlines():
        if fence is None:
            if opened := FENCE_OPEN.match(line):
                fence = opened.group(1)
            elif match := HEADING.match(line):
                sections.append(Section(len(match.group(1)), match.group(2).strip(), line))
                continue
        elif closes_fence(line, fence):
            fence = None
        sections[-1].lines.append(line)
    return sections
