"""Telling a question in the collection's language (English) from one in another language.

Function words give a language away even in a short question, and they are what cannot carry
across languages in a search; names, acronyms, numbers and technical terms usually can.
"""

from __future__ import annotations

import unicodedata

from knowledge.text import NON_TOPIC_WORDS, WORD


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Common function words of languages members are likely to ask in, without the ones that are
# also English words ("in", "is", "a", "die", "on") so that English never scores here.
_FOREIGN_STOPWORDS: dict[str, frozenset[str]] = {
    "fr": _words(
        """le la les un une des du de d l qu que qui quoi quel quelle quels quelles est sont
        pourquoi comment où quand combien ce cet cette ces il elle ils elles nous vous je tu
        leur leurs dans sur avec pour par mais ou et donc au aux ne pas plus sans selon entre
        été être avoir fait faire peut peuvent dit disent cela ça y en son sa ses mon ma mes"""
    ),
    "es": _words(
        """el la los las un una unos unas del de que qué quién cuál cuáles es son está están
        por para porqué cómo dónde cuándo cuánto con sin sobre entre pero y o según su sus
        lo le les se este esta estos estas ese esa ha han hay fue ser puede pueden dice
        dicen qué también muy más"""
    ),
    "de": _words(
        """der die das den dem des ein eine einen einem einer ist sind war warum wie wo wann
        was wer welche welcher welches mit ohne für über unter und oder aber nicht auch
        nach bei von zu zum zur sich sie er es wir ihr ich kann können sagt sagen laut"""
    ),
    "it": _words(
        """il lo la gli le un una uno del della dei delle che chi cosa quale quali perché
        come dove quando quanto è sono con senza per tra fra ma e o secondo suo sua suoi
        questo questa questi ha hanno fa può possono dice dicono anche più"""
    ),
    "pt": _words(
        """o a os as um uma uns umas do da dos das de que quem qual quais porque porquê como
        onde quando quanto é são está estão com sem sobre entre mas e ou segundo seu sua
        seus este esta isso isto tem têm foi ser pode podem diz dizem também mais não"""
    ),
    "nl": _words(
        """de het een van waarom hoe waar wanneer wat wie welke zijn was met zonder voor over
        onder en maar niet ook bij naar zich zij hij wij ik kan kunnen zegt zeggen volgens
        deze dit dat er"""
    ),
}
_FOREIGN_STOPWORDS = {
    lang: words - NON_TOPIC_WORDS - {"a", "in", "is", "die", "on", "an", "was", "have"}
    for lang, words in _FOREIGN_STOPWORDS.items()
}
ALL_FOREIGN_STOPWORDS = frozenset().union(*_FOREIGN_STOPWORDS.values())


def _latin_share(text: str) -> float:
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 1.0
    latin = sum("LATIN" in unicodedata.name(ch, "") for ch in letters)
    return latin / len(letters)


def in_collection_language(question: str) -> bool:
    """True unless the question is plainly in another language than English.

    Mostly non-Latin script, or more function words of one other language than English ones (two at
    least, or one in a question of three words or fewer). Questions of names and terms alone
    ("LoRA rank?") count as English: they search fine.
    """
    if _latin_share(question) < 0.8:
        return False
    words = WORD.findall(question.lower())
    english = sum(w in NON_TOPIC_WORDS for w in words)
    foreign = max(sum(w in stop for w in words) for stop in _FOREIGN_STOPWORDS.values())
    if foreign >= 2 and foreign > english:
        return False
    return not (foreign == 1 and english == 0 and len(words) <= 3)


def carried_terms(question: str) -> str:
    """The words of a question that may match across languages: not function words of any."""
    words = WORD.findall(question)
    kept = [w for w in words if w.lower() not in ALL_FOREIGN_STOPWORDS and len(w) > 1]
    return " ".join(kept)
