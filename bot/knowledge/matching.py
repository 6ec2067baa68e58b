"""Finding known names in a citizen's message by word stems.

Citizens inflect names ("Oodissa", "Itäkeskuksen uimahalliin") and skip diacritics, so a stem
matches a word that starts with it. Stems shorter than four letters must match a whole word, so
that "fin" does not match "final" and "tk" does not match "tkt".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Generic, Hashable, Iterable, TypeVar

from bot.core.text import fold

K = TypeVar("K", bound=Hashable)
_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*", re.UNICODE)
MIN_PREFIX_LEN = 4


@dataclass(frozen=True)
class Word:
    """A word of the message: its folded form and its character span in the original text."""

    folded: str
    start: int
    end: int


@dataclass(frozen=True)
class Hit(Generic[K]):
    """A stem found in the message: what it names and where (character offsets)."""

    key: K
    start: int
    end: int
    text: str


def split_words(text: str) -> list[Word]:
    """The words of ``text`` with their spans; hyphenated compounds stay one word."""
    return [Word(fold(m.group()), m.start(), m.end()) for m in _WORD.finditer(text)]


def _word_matches(word: str, stem: str) -> bool:
    if len(stem) < MIN_PREFIX_LEN:
        return word == stem
    return word.startswith(stem)


class StemMatcher(Generic[K]):
    """Maps (possibly multi-word) stems to keys and finds them in text."""

    def __init__(self, entries: Iterable[tuple[str, K]]) -> None:
        grouped: dict[tuple[str, ...], list[K]] = {}
        for stem, key in entries:
            parts = tuple(word.folded for word in split_words(stem))
            if parts and key not in grouped.setdefault(parts, []):
                grouped[parts].append(key)
        # Longer stems first, so "central library" wins over "library". One stem may name
        # several keys (a district with both a library and a health station).
        self._stems = sorted(grouped.items(), key=lambda item: (-len(item[0]), -sum(map(len, item[0]))))

    def find(self, text: str) -> list[Hit[K]]:
        """Every non-overlapping hit in ``text``, in order of appearance."""
        words = split_words(text)
        used: set[int] = set()
        hits: list[Hit[K]] = []
        for parts, keys in self._stems:
            for i in range(len(words) - len(parts) + 1):
                span = range(i, i + len(parts))
                if used.intersection(span):
                    continue
                if all(_word_matches(words[i + j].folded, part) for j, part in enumerate(parts)):
                    used.update(span)
                    start, end = words[i].start, words[i + len(parts) - 1].end
                    hits.extend(Hit(key, start, end, text[start:end]) for key in keys)
        return sorted(hits, key=lambda hit: hit.start)

    def keys_in(self, text: str) -> list[K]:
        """The distinct keys found in ``text``, in order of first appearance."""
        seen: dict[K, None] = {}
        for hit in self.find(text):
            seen.setdefault(hit.key)
        return list(seen)
