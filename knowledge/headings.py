"""Markdown read line by line into heading sections: the one heading parser.

Card loading (which heading opens "Summary", "Method"…) and chunking (the heading every chunk of
a section carries) both cut on these sections, so a heading means the same thing to both. Code
fences are found by `knowledge.markdown_code`, so a `#` line inside one is text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge.markdown_code import markdown_lines

# CommonMark ATX headings: up to three spaces, 1-6 `#`, a space, the text, an optional closing
# run of `#` after a space (so "# C#" is the heading "C#").
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")


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


def split_sections(markdown: str) -> list[Section]:
    """Sections of `markdown` in order, the first of level 0; a `#` line in a code fence is text."""
    sections = [Section(0, "", "")]
    for line in markdown_lines(markdown):
        if not line.in_code and (match := HEADING.match(line.text)):
            sections.append(Section(len(match.group(1)), match.group(2).strip(), line.text))
        else:
            sections[-1].lines.append(line.text)
    return sections
