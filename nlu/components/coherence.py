"""Does a message's wording fit the intent the classifier chose? A guard against word salad.

"pyörä kaali sininen tiistai hyppää lusikka kirjasto" is made of real words, so the vocabulary
check at the gateway lets it through, and the classifier, seeing "kirjasto", answers about
library cards with confidence. A real question about a topic is mostly made of words the topic's
examples use (or their inflected forms, or compounds containing them) and of words every topic
uses ("miten", "how", "kan"). ``coherence`` is the share of such words in a message; a long
message about a service topic with little of it is word salad, and the classifier lowers its
confidence so that the fallback answers "not understood" (issue 12).

Measured (docs/safety.md): on 3,251 held-out questions it flags 3 (0.09 %), on the word salads
of the scenarios and the safety sets that pass the gateway's vocabulary check it flags 7 of 11
that would otherwise get a topic answer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from bot.core.text import words

MIN_LETTERS = 3  # shorter words say little about the topic ("on", "ja", "is")
MIN_COMPOUND_PART = 5  # a known word this long inside a longer word: a compound ("neuvolakäynnin")


def _content_words(text: str) -> list[str]:
    return [w for w in words(text) if len(w) >= MIN_LETTERS and any(c.isalpha() for c in w)]


def intent_vocabulary(examples: Iterable[tuple[str, str]]) -> dict[str, frozenset[str]]:
    """Per intent, the folded words (3+ letters) of its training examples ``(text, intent)``."""
    vocabulary: dict[str, set[str]] = {}
    for text, intent in examples:
        vocabulary.setdefault(intent, set()).update(_content_words(text))
    return {intent: frozenset(found) for intent, found in vocabulary.items()}


def common_words(vocabulary: Mapping[str, frozenset[str]], share: float) -> frozenset[str]:
    """Words used by at least ``share`` of the intents: question words, verbs of asking."""
    counts = Counter(w for found in vocabulary.values() for w in found)
    return frozenset(w for w, n in counts.items() if n >= share * len(vocabulary))


def coherence(text: str, known: frozenset[str], common: frozenset[str], min_words: int) -> float:
    """The share of the message's words that the intent's examples (``known``) or every intent
    (``common``) use, counting inflected forms and compounds; 1.0 for short messages."""
    found = _content_words(text)
    if len(found) < min_words:
        return 1.0

    def fits(word: str) -> bool:
        if word in known or word in common:
            return True
        stem = word[: max(4, len(word) - 3)]  # "kirjastokortin" ~ "kirjastokortti"
        return any(k.startswith(stem) or (len(k) >= MIN_COMPOUND_PART and k in word) for k in known)

    return sum(map(fits, found)) / len(found)
