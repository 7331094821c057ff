"""Words of English text: the tokenisers, stop-word lists and stemmers every module shares.

Search (BM25), the hash embedder and the answer checks (coverage, follow-ups, extracts) each
read words here, so "a word" means the same thing to all of them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

import bm25s
import Stemmer

#: A word: a run of letters, digits or underscores in any script.
WORD = re.compile(r"\w+", re.UNICODE)
#: A word for the hash embedder: letters and digits only, with inner apostrophes ("it's");
#: underscores and punctuation split words.
APOSTROPHE_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")

# The stop-word lists nest: each adds to the one before, so a word that carries no topic for
# search carries none anywhere.
#: bm25s' English list (the Lucene one): what BM25 search leaves out.
STOP_WORDS = frozenset(bm25s.stopwords.STOPWORDS_EN)
#: Frequent function words: the hash embedder keeps no IDF, so without dropping these every
#: pair of texts would look alike.
FUNCTION_WORDS = STOP_WORDS | frozenset(
    """about above after again against all am any because been before being below between both
    can could did do does doing down during each few from further had has have having he her
    here hers herself him himself his how i its itself just me more most my myself nor now off
    once only other our ours ourselves out over own same she should so some than theirs them
    themselves those through too under until up very we were what when where which while who
    whom why would you your yours yourself yourselves""".split()  # noqa: SIM905
)
#: Words that name no topic in a question or passage: function words and everyday verbs and
#: fillers ("tell", "please", "use"). Coverage checks and follow-up carry-over skip them.
NON_TOPIC_WORDS = FUNCTION_WORDS | frozenset(
    """also done else even ever get gets got know let like made make many may might much must
    one ought please really said say says see tell thing things upon us use used want way well
    whose within without yes yet""".split()  # noqa: SIM905
)


def words(text: str) -> list[str]:
    """The `WORD`s of `text`, case-folded, in order."""
    return WORD.findall(text.casefold())


# PyStemmer instances must not be used by two threads at once, and searches run in threads;
# the cache also saves re-stemming the same words across a whole corpus (2x faster rebuilds).
_STEMMER = Stemmer.Stemmer("english")
_STEMMER_LOCK = threading.Lock()
_STEMS: dict[str, str] = {}  # a cache: bounded by _STEM_CACHE_LIMIT, never shrinks
_STEM_CACHE_LIMIT = 500_000


def stem_words(words: list[str]) -> list[str]:
    """English (Snowball) stems of lower-cased words, in order: 'articles' -> 'articl'."""
    missing = [w for w in set(words) if w not in _STEMS]
    if not missing:
        return [_STEMS[w] for w in words]
    with _STEMMER_LOCK:
        fresh = dict(zip(missing, _STEMMER.stemWords(missing), strict=True))
    # The cache only grows, so a word seen in it stays there; past the limit it stops growing.
    if len(_STEMS) < _STEM_CACHE_LIMIT:
        _STEMS.update(fresh)
    return [fresh[w] if w in fresh else _STEMS[w] for w in words]


def stems(words: Iterable[str]) -> set[str]:
    """The set of English stems of `words` (any case), so 'articles' meets 'article'."""
    return set(stem_words([w.lower() for w in words]))


def light_stem(word: str) -> str:
    """A crude English suffix stripper, so 'indexes', 'indexing' and 'indexed' meet."""
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ingly", "edly", "ing", "ed", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            # "running" -> "runn" -> "run": undo the doubled consonant the suffix brought.
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            break
    # "create", "creates", "creating" all end up as "creat".
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word
