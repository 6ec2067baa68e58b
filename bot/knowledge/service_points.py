"""City service points (libraries, swimming halls, health stations...) and finding them in text."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from bot.core.errors import KnowledgeError
from bot.core.i18n import LANGUAGES
from bot.core.paths import knowledge_dir
from bot.knowledge.files import load_calendar, read_yaml, trilingual
from bot.knowledge.matching import Hit, StemMatcher
from bot.knowledge.opening_hours import WEEKDAYS, Interval, Schedule


@dataclass(frozen=True)
class ServicePoint:
    """One place citizens visit, with its names, address and opening hours."""

    id: str
    kind: str
    name: dict[str, str]
    address: str
    schedule: Schedule


@dataclass(frozen=True)
class PointMatch:
    """What a message says about service points: candidates, the kinds named, and where."""

    candidates: tuple[str, ...]  # ids; one means the place is known
    kinds: tuple[str, ...]
    hits: tuple[Hit[str], ...]  # spans in the message that named a place or a kind


def _intervals(value: Any, where: str) -> tuple[Interval, ...]:
    texts = value if isinstance(value, list) else [value]
    try:
        return tuple(Interval.parse(str(text)) for text in texts)
    except ValueError as exc:
        raise KnowledgeError(f"{where}: {exc}") from exc


def _stems(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, Mapping):
        raise KnowledgeError(f"{where}: expected stems per language")
    return [str(stem) for lang in LANGUAGES for stem in value.get(lang, []) or []]


def parse_schedule(entry: Mapping[str, Any], where: str, closed_by_default: frozenset[str]) -> Schedule:
    """Weekly hours, holiday rule and exceptions of one entry (a service point, a handoff queue)."""
    hours = entry.get("hours") or {}
    unknown = set(hours) - set(WEEKDAYS)
    if unknown:
        raise KnowledgeError(f"{where}: unknown weekdays {sorted(unknown)}")
    weekly = {day: _intervals(value, f"{where}.hours.{day}") for day, value in hours.items()}
    holiday_exc: dict[str, tuple[Interval, ...]] = {}
    date_exc: dict[dt.date, tuple[Interval, ...]] = {}
    for exc in entry.get("exceptions") or []:
        spans = () if exc.get("closed") else _intervals(exc.get("hours"), f"{where}.exceptions")
        if "holiday" in exc:
            holiday_exc[str(exc["holiday"])] = spans
        elif isinstance(exc.get("date"), dt.date):
            date_exc[exc["date"]] = spans
        else:
            raise KnowledgeError(f"{where}: an exception needs `holiday` or a `date`")
    rule = entry.get("holidays", "closed")
    if rule not in ("closed", "normal"):
        raise KnowledgeError(f"{where}: holidays must be closed or normal")
    return Schedule(weekly, rule == "closed", holiday_exc, date_exc, closed_by_default)


class ServicePoints:
    """All service points of the city, with a matcher for names, districts and kinds."""

    def __init__(self, data: Mapping[str, Any], source: str = "service_points.yml") -> None:
        calendar = load_calendar()
        closed_by_default = frozenset(calendar.holiday_names) - calendar.holidays_open_by_default
        self.kind_names: dict[str, dict[str, str]] = {}
        kind_stems: list[tuple[str, str]] = []
        for kind, entry in data["kinds"].items():
            self.kind_names[kind] = trilingual(entry["name"], f"{source}: kinds.{kind}.name")
            kind_stems += [(stem, kind) for stem in _stems(entry["match"], f"{source}: kinds")]
        self.points: dict[str, ServicePoint] = {}
        name_stems: list[tuple[str, str]] = []
        district_stems: list[tuple[str, str]] = []
        for entry in data["service_points"]:
            where = f"{source}: {entry.get('id')}"
            if entry.get("kind") not in self.kind_names:
                raise KnowledgeError(f"{where}: unknown kind {entry.get('kind')!r}")
            if entry["id"] in self.points:
                raise KnowledgeError(f"{where}: duplicate id")
            if not entry.get("match") and not entry.get("district"):
                raise KnowledgeError(f"{where}: needs `match` or `district` stems")
            point = ServicePoint(
                id=entry["id"],
                kind=entry["kind"],
                name=trilingual(entry["name"], f"{where}.name"),
                address=str(entry["address"]),
                schedule=parse_schedule(entry, where, closed_by_default),
            )
            for exc_holiday in point.schedule.holiday_exceptions or {}:
                if exc_holiday not in calendar.holiday_names:
                    raise KnowledgeError(f"{where}: unknown holiday {exc_holiday!r}")
            self.points[point.id] = point
            name_stems += [(stem, point.id) for stem in _stems(entry.get("match"), where)]
            district_stems += [(stem, point.id) for stem in _stems(entry.get("district"), where)]
        self._names = StemMatcher(name_stems)
        self._districts = StemMatcher(district_stems)
        self._kinds = StemMatcher(kind_stems)

    def find(self, text: str) -> PointMatch:
        """Which service points ``text`` may mean.

        A unique name ("Oodi") decides; a district ("Itäkeskus") narrows to the points there, and
        a kind ("uimahalli") narrows further; a kind alone lists every point of that kind.
        """
        name_hits = self._names.find(text)
        district_hits = self._districts.find(text)
        kind_hits = self._kinds.find(text)
        kinds = tuple(dict.fromkeys(hit.key for hit in kind_hits))

        def of_kind(ids: list[str]) -> list[str]:
            narrowed = [i for i in ids if self.points[i].kind in kinds]
            return narrowed or ids

        named = list(dict.fromkeys(hit.key for hit in name_hits))
        in_district = list(dict.fromkeys(hit.key for hit in district_hits))
        if named:
            candidates = of_kind(named)
        elif in_district:
            narrowed = [i for i in in_district if self.points[i].kind in kinds] if kinds else in_district
            candidates = narrowed or [i for i in self.points if self.points[i].kind in kinds]
        elif kinds:
            candidates = [i for i in self.points if self.points[i].kind in kinds]
        else:
            candidates = []
        hits = tuple(sorted(name_hits + district_hits + kind_hits, key=lambda hit: hit.start))
        return PointMatch(tuple(candidates), kinds, hits)


@lru_cache(maxsize=2)
def load_service_points(directory: Path | None = None) -> ServicePoints:
    """``knowledge/service_points.yml``, validated."""
    path = (directory or knowledge_dir()) / "service_points.yml"
    return ServicePoints(read_yaml(path), str(path))
