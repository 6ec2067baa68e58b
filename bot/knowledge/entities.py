"""Entities found from knowledge vocabularies: service points, kinds, days and languages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.knowledge.files import load_calendar, load_languages
from bot.knowledge.matching import StemMatcher
from bot.knowledge.service_points import ServicePoints, load_service_points


def _entity(kind: str, value: str, start: int, end: int) -> dict[str, Any]:
    return {"entity": kind, "value": value, "start": start, "end": end, "confidence_entity": 1.0}


@dataclass
class KnowledgeEntities:
    """The matchers built from the knowledge files."""

    points: ServicePoints
    days: StemMatcher[str]
    languages: StemMatcher[str]

    @classmethod
    def load(cls) -> KnowledgeEntities:
        """Build the matchers from ``knowledge/`` (validated on the way)."""
        calendar = load_calendar()
        language_stems = [(stem, lang) for lang, entry in load_languages().items() for stem in entry["match"]]
        return cls(load_service_points(), StemMatcher(calendar.stems), StemMatcher(language_stems))

    def extract(self, text: str) -> list[dict[str, Any]]:
        """Rasa-style entity dicts for everything found in ``text``."""
        found: list[dict[str, Any]] = []
        match = self.points.find(text)
        if match.candidates:
            first = match.hits[0] if match.hits else None
            start, end = (first.start, match.hits[-1].end) if first else (0, 0)
            found += [_entity("service_point", pid, start, end) for pid in match.candidates]
        for hit in match.hits:
            if hit.key in self.points.kind_names:
                found.append(_entity("service_kind", hit.key, hit.start, hit.end))
        for hit in self.days.find(text):
            found.append(_entity("day", hit.key, hit.start, hit.end))
        for hit in self.languages.find(text):
            found.append(_entity("language", hit.key, hit.start, hit.end))
        return found
