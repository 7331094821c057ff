"""Token estimates for embedders without a local tokenizer, in every script."""

from __future__ import annotations

import re

# Scripts written without spaces between words (and Hangul, whose syllables tokenize about one
# piece each): every character counts as one token, since splitting on spaces finds no words.
_UNSPACED = re.compile(
    "["
    "\u0e00-\u0eff"  # Thai, Lao
    "\u0f00-\u0fff"  # Tibetan
    "\u1000-\u109f"  # Myanmar
    "\u1100-\u11ff"  # Hangul Jamo
    "\u1780-\u17ff"  # Khmer
    "\u3000-\u30ff"  # CJK punctuation, Hiragana, Katakana
    "\u3130-\u318f"  # Hangul compatibility Jamo
    "\u31f0-\u31ff"  # Katakana extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff00-\uffef"  # full- and half-width forms
    "\U00020000-\U0003ffff"  # CJK extensions B and later
    "]"
)
#: Words longer than this (URLs, base64, identifiers) are counted by length, not as one word.
_LONG_WORD = 12
#: Characters per token BPE and word-piece vocabularies manage on long Latin-script strings.
_CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    """Approximate tokens of `text` (>= 1): 1.3 per short word, 1 per CJK/Thai character,
    one per 4 characters of long words such as URLs."""
    short_words = 0
    extra = 0
    for word in text.split():
        unspaced = len(_UNSPACED.findall(word))
        rest = len(word) - unspaced
        extra += unspaced
        if rest > _LONG_WORD:
            extra += -(-rest // _CHARS_PER_TOKEN)
        elif rest:
            short_words += 1
    # ~1.3 word pieces per English word is what BERT tokenizers give on prose.
    return int(short_words * 1.3) + extra + 1


def utf8_size(text: str) -> int:
    """Bytes of `text` in UTF-8: an upper bound on byte-level BPE tokens, whatever the script."""
    return len(text.encode("utf-8"))
