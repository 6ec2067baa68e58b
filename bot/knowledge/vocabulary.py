"""The words the service knows: everything in the bot's training data and in ``knowledge/``.

A message made mostly of words nobody ever wrote to the bot or in its knowledge (keyboard mash,
word salad, emoji only) is not something it can understand: the gateway says so instead of
letting the model guess a topic with confidence, and the conversation's language stays as it
was. Names of places and services are known from ``knowledge/``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from bot.core.paths import NLU_DATA_DIRS, knowledge_dir
from bot.core.text import words

MIN_WORD_LETTERS = 3
_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)


@lru_cache(maxsize=2)
def known_words(knowledge: Path | None = None) -> frozenset[str]:
    """The folded words of the training data and the knowledge files."""
    files = [p for d in NLU_DATA_DIRS for p in d.glob("*.yml")]
    files += list((knowledge or knowledge_dir()).rglob("*.yml"))
    vocabulary: set[str] = set()
    for path in files:
        vocabulary.update(words(path.read_text(encoding="utf-8")))
    return frozenset(vocabulary)


def known_share(text: str) -> float:
    """The share of the message's words (3+ letters) the service knows; 0.0 when it has none
    (emoji, punctuation, "??")."""
    candidates = [w for w in words(text) if len(w) >= MIN_WORD_LETTERS and _LETTERS.search(w)]
    if not candidates:  # short words ("ok", "4") and numbers are for the bot; emoji and "??" are not
        return 1.0 if any(w.isdigit() or _LETTERS.search(w) for w in words(text)) else 0.0
    vocabulary = known_words()
    return sum(w in vocabulary for w in candidates) / len(candidates)
