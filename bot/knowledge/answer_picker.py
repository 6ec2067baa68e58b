"""Which entry of a recognised topic answers the citizen's question (``knowledge/faq``).

The NLU model recognises the topic ("sports facilities"); within it, the entry is chosen by how
close the question is to the ways citizens ask each entry (its ``asks``): TF-IDF over character
3-5-grams of the folded text (inflected Finnish and Swedish words share their stems), the score
of an entry being its closest ask. Below ``MIN_SCORE`` no entry is sure enough and the topic's
overview answers, with the entries offered as follow-up buttons. Chosen by measurement against
Rasa's ResponseSelector: docs/answers.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.core.i18n import LANGUAGES
from bot.core.text import fold
from bot.knowledge.files import FaqAnswer, FaqEntry, load_faq

MIN_SCORE = 0.30  # measured: docs/answers.md


@dataclass(frozen=True)
class Pick:
    """The entry chosen for a question (None: the overview), and how close it was."""

    entry: FaqAnswer | None
    score: float


class _TopicIndex:
    """One topic's asks in one language, vectorised. The overview competes as an entry asked by
    the topic's title ("Kirjastot"): a question that only names the topic gets the overview,
    not the entry whose asks happen to share the topic's word."""

    def __init__(self, faq: FaqEntry, language: str) -> None:
        self.owners: list[int] = []
        texts: list[str] = []
        for number, entry in enumerate(faq.entries):
            for ask in (*entry.asks[language], entry.title[language]):
                texts.append(fold(ask))
                self.owners.append(number)
        texts.append(fold(faq.title[language]))
        self.owners.append(len(faq.entries))  # the overview
        self.entries: tuple[FaqAnswer | None, ...] = (*faq.entries, None)
        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
        self.matrix = self.vectorizer.fit_transform(texts)

    def scores(self, question: str) -> list[float]:
        """Each entry's score: the cosine of the question with its closest ask."""
        vector = self.vectorizer.transform([fold(question)])
        similarities = (self.matrix @ vector.T).toarray().ravel()
        best = np.zeros(len(self.entries))
        np.maximum.at(best, self.owners, similarities)
        return [float(v) for v in best]


class AnswerPicker:
    """Chooses entries within topics; one index per topic and language, built once."""

    def __init__(self, faq: dict[str, FaqEntry], min_score: float = MIN_SCORE) -> None:
        self._faq = faq
        self._min_score = min_score
        self._indexes: dict[tuple[str, str], _TopicIndex] = {}

    def _index(self, topic: str, language: str) -> _TopicIndex | None:
        entry = self._faq.get(topic)
        if entry is None or not entry.entries:
            return None
        key = (topic, language if language in LANGUAGES else "fi")
        if key not in self._indexes:
            self._indexes[key] = _TopicIndex(entry, key[1])
        return self._indexes[key]

    def ranked(self, topic: str, question: str, language: str) -> list[tuple[FaqAnswer | None, float]]:
        """Every entry of the topic (None: the overview) with its score, best first (asks in
        every language count: a citizen may mix them, and the best language wins)."""
        best: dict[str, tuple[FaqAnswer | None, float]] = {}
        for lang in dict.fromkeys((language, *LANGUAGES)):
            index = self._index(topic, lang)
            if index is None:
                return []
            for entry, score in zip(index.entries, index.scores(question), strict=True):
                key = entry.id if entry else ""
                if key not in best or score > best[key][1]:
                    best[key] = (entry, score)
        return sorted(best.values(), key=lambda pair: -pair[1])

    def pick(self, topic: str, question: str, language: str) -> Pick:
        """The entry answering ``question`` within ``topic``, or the overview (entry None)."""
        ranked = self.ranked(topic, question, language)
        if not ranked or ranked[0][1] < self._min_score:
            return Pick(None, ranked[0][1] if ranked else 0.0)
        return Pick(ranked[0][0], ranked[0][1])


@lru_cache(maxsize=1)
def answer_picker() -> AnswerPicker:
    """The picker over the knowledge files (built on first use, kept)."""
    return AnswerPicker(load_faq())
