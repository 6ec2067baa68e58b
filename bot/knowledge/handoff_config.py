"""``knowledge/handoff.yml``: queues and their service hours, topics that need a person, texts.

Editors keep this file; the gateway (queues) and the action server (topics needing a person)
both read it, so it is knowledge, not handoff state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping

import yaml

from bot.core.errors import KnowledgeError
from bot.core.i18n import LANGUAGES
from bot.core.paths import knowledge_dir
from bot.knowledge.files import load_calendar, load_texts, read_yaml, trilingual
from bot.knowledge.labels import faq_topic
from bot.knowledge.opening_hours import WEEKDAYS, Schedule
from bot.knowledge.service_points import parse_schedule

HANDOFF_FILE_ENV = "CITYBOT_HANDOFF_FILE"


@dataclass(frozen=True)
class HandoffConfig:
    """``knowledge/handoff.yml``: queues and their hours, topics needing a person, texts."""

    queues: dict[str, Schedule]
    queue_names: dict[str, dict[str, str]]
    default_handling_minutes: float
    topics_needing_person: frozenset[str]
    texts: dict[str, dict[str, str]]

    def queue_for(self, language: str | None) -> str:
        """The queue of a conversation language (the first queue when there is none for it)."""
        if language in self.queues:
            return str(language)
        return next(iter(self.queues))

    def needs_person(self, intent: str | None) -> bool:
        """True for the ``faq_<topic>`` intents whose topic is configured as needing a person."""
        topic = faq_topic(intent or "")
        return topic is not None and f"faq/{topic}" in self.topics_needing_person


def write_handoff_variant(path: Path, queues: Iterable[str] | None = None, *, open_: bool = True) -> Path:
    """Write to ``path`` a copy of ``knowledge/handoff.yml`` whose ``queues`` (every queue when
    None) are open around the clock every day, holidays included, or (``open_=False``) never
    open; the other queues keep their hours. For tests and benchmarks, through
    ``CITYBOT_HANDOFF_FILE``."""
    data = read_yaml(knowledge_dir() / "handoff.yml")
    for name in data["queues"] if queues is None else queues:
        data["queues"][name]["hours"] = {day: "00:00-24:00" for day in WEEKDAYS} if open_ else {}
        data["queues"][name]["holidays"] = "normal"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def handoff_file() -> Path:
    """``CITYBOT_HANDOFF_FILE`` or ``knowledge/handoff.yml``."""
    return Path(os.environ.get(HANDOFF_FILE_ENV) or knowledge_dir() / "handoff.yml")


def load_handoff_config(path: Path | None = None) -> HandoffConfig:
    """Read and check the handoff configuration (``handoff_file()`` when no path is given, read
    when called: the cache is per file); raises KnowledgeError on a mistake."""
    return _load(path or handoff_file())


@lru_cache(maxsize=4)
def _load(path: Path) -> HandoffConfig:
    data = read_yaml(path)
    calendar = load_calendar()
    closed_by_default = frozenset(calendar.holiday_names) - calendar.holidays_open_by_default
    queues: dict[str, Schedule] = {}
    names: dict[str, dict[str, str]] = {}
    for key, entry in (data.get("queues") or {}).items():
        if not isinstance(entry, Mapping):
            raise KnowledgeError(f"{path}: queues.{key} must be a mapping")
        queues[str(key)] = parse_schedule(entry, f"{path}: queues.{key}", closed_by_default)
        names[str(key)] = trilingual(entry.get("name"), f"{path}: queues.{key}.name")
    missing = [lang for lang in LANGUAGES if lang not in queues]
    if missing:
        raise KnowledgeError(f"{path}: every language needs a queue; missing {missing}")
    topics = frozenset(str(t) for t in data.get("topics_needing_person") or [])
    bad = [t for t in topics if not t.startswith("faq/")]
    if bad:
        raise KnowledgeError(f"{path}: topics_needing_person must be faq/<topic> labels: {bad}")
    return HandoffConfig(
        queues=queues,
        queue_names=names,
        default_handling_minutes=float(data.get("default_handling_minutes") or 6),
        topics_needing_person=topics,
        texts=load_texts(path, "texts"),
    )
