"""Article text made safe to store and show: checked per field, then normalised.

Every loader's articles pass through `clean_article`. A field that cannot be stored (a lone
surrogate) or that is not the one-line text it should be (a control character in a title) fails
that article alone, named by field. Everything else is normalised: Unicode NFKC, terminal escape
sequences removed, and format and control characters (zero-width, bidi overrides, NUL, ESC…)
dropped, so what members see in Discord or a terminal is the text itself and nothing hidden.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache

from knowledge.loaders.fields import FieldError
from knowledge.models import Article

# ESC/CSI sequences as terminals read them: CSI (colours, cursor moves), OSC (titles, links)
# and two-byte escapes. Removed whole, so no "[31m" is left behind.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[@-Z\\-_]"
)
_LINE_BREAKS = re.compile(r"\r\n?|[\u2028\u2029\x85\x0b\x0c]")
_ONE_LINE_FIELDS = ("title", "url", "publisher", "author", "depth")
_ONE_LINE_LISTS = ("topics", "best_for")
_BLOCK_FIELDS = ("summary", "key_takeaway", "body")


@cache
def _dropped() -> dict[int, None]:
    """Format (Cf) and control (Cc) characters except tab and newline, as a translate table."""
    table: dict[int, None] = {}
    for code in range(sys.maxunicode + 1):
        if unicodedata.category(chr(code)) in ("Cf", "Cc") and chr(code) not in "\t\n":
            table[code] = None
    return table


def _check_storable(text: str, name: str) -> None:
    """FieldError when `text` holds a lone surrogate, which no UTF-8 store can hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise FieldError(
            f"'{name}' contains a lone surrogate (U+{ord(text[exc.start]):04X} at character "
            f"{exc.start}), which is not valid text"
        ) from None


def _check_one_line(text: str, name: str) -> None:
    """FieldError for a control character (other than tab) in a one-line field."""
    for index, char in enumerate(text):
        if char != "\t" and unicodedata.category(char) == "Cc":
            raise FieldError(
                f"'{name}' contains the control character U+{ord(char):04X} at character {index}"
            )


def normalise_text(text: str) -> str:
    """NFKC text with escape sequences, format and control characters (but \\t, \\n) removed."""
    text = _LINE_BREAKS.sub("\n", _ESCAPES.sub("", text))
    return unicodedata.normalize("NFKC", text).translate(_dropped())


def _one_line(text: str, name: str) -> str:
    _check_storable(text, name)
    _check_one_line(text, name)
    return " ".join(normalise_text(text).split())


def _block(text: str, name: str) -> str:
    _check_storable(text, name)
    return normalise_text(text).strip()


def clean_article(article: Article) -> Article:
    """`article` with every text field checked and normalised; FieldError names a bad field."""
    update: dict[str, object] = {}
    for name in _ONE_LINE_FIELDS:
        update[name] = _one_line(getattr(article, name), name)
    if not update["title"]:
        raise FieldError("the title is empty once invisible characters are removed")
    for name in _ONE_LINE_LISTS:
        items = (_one_line(item, name) for item in getattr(article, name))
        update[name] = [item for item in items if item]
    for name in _BLOCK_FIELDS:
        update[name] = _block(getattr(article, name), name)
    insights = (_block(item, "key_insights") for item in article.key_insights)
    update["key_insights"] = [item for item in insights if item]
    sections: dict[str, str] = {}
    for heading, text in article.sections.items():
        sections[_one_line(heading, "sections")] = _block(text, f"sections.{heading}")
    update["sections"] = sections
    # A file name with undecodable bytes reaches us with surrogates: shown, never fatal.
    for name in ("origin", "text_origin"):
        value: str = getattr(article, name)
        update[name] = value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return article.model_copy(update=update)
