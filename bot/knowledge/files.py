"""Loading and validating the editors' knowledge files (``knowledge/``).

Every loader checks that each text exists in fi, sv and en, and raises KnowledgeError naming the
file and key when one is missing, so a broken edit fails the tests and start-up, not a citizen.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import yaml

from bot.core.errors import KnowledgeError
from bot.core.i18n import LANGUAGES
from bot.core.paths import knowledge_dir


class WordsLoader(yaml.SafeLoader):
    """YAML without YAML 1.1's booleans: "on", "no", "yes" and "off" stay words (Finnish "on",
    Swedish "ja" questions answered "no"...). For files of words and texts."""


WordsLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_yaml(path: Path) -> Any:
    """Parse one YAML file, turning every failure into a KnowledgeError naming the file."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError(f"{path}: {exc}") from exc


def trilingual(value: Any, where: str) -> dict[str, str]:
    """Check ``value`` maps each of fi/sv/en to non-empty text, and return it as a dict."""
    if not isinstance(value, Mapping):
        raise KnowledgeError(f"{where}: expected fi/sv/en texts, got {type(value).__name__}")
    missing = [lang for lang in LANGUAGES if not str(value.get(lang) or "").strip()]
    if missing:
        raise KnowledgeError(f"{where}: missing text in {', '.join(missing)}")
    return {lang: str(value[lang]).strip() for lang in LANGUAGES}


def load_texts(path: Path, section: str | None = None) -> dict[str, dict[str, str]]:
    """A YAML file of ``key: {fi, sv, en}`` texts (optionally under ``section``), each checked."""
    data = read_yaml(path)
    if section is not None:
        data = data[section]
    where = f"{path}: {section}." if section else f"{path}: "
    return {key: trilingual(value, f"{where}{key}") for key, value in data.items()}


MAX_ANSWER_TITLE = 24  # a follow-up button (WhatsApp list rows hold 24 characters)


@dataclass(frozen=True)
class FaqAnswer:
    """One question of a topic and its answer (``entries`` in ``knowledge/faq/<topic>.yml``):
    how citizens ask it (``asks``, for choosing the entry), a short answer, an optional link."""

    id: str
    title: dict[str, str]
    asks: dict[str, tuple[str, ...]]
    answer: dict[str, str]
    link: dict[str, str] | None = None
    link_title: dict[str, str] | None = None


@dataclass(frozen=True)
class FaqEntry:
    """One service topic: its title, overview answer, titled link and question-answer entries."""

    topic: str
    title: dict[str, str]
    answer: dict[str, str]  # the overview, for a question no entry answers
    link: dict[str, str]
    reviewed: dt.date
    link_title: dict[str, str] | None = None
    entries: tuple[FaqAnswer, ...] = ()

    def entry(self, entry_id: str) -> FaqAnswer | None:
        """The entry with this id, or None."""
        return next((e for e in self.entries if e.id == entry_id), None)


def _https(links: dict[str, str], where: str) -> dict[str, str]:
    for lang, url in links.items():
        if not url.startswith("https://"):
            raise KnowledgeError(f"{where}.{lang} must start with https://")
    return links


def trilingual_lists(value: Any, where: str, what: str = "texts") -> dict[str, tuple[str, ...]]:
    """Check ``value`` maps each of fi/sv/en to a non-empty list of texts (``what`` names them in
    the error), and return it with the texts stripped."""
    if not isinstance(value, Mapping):
        raise KnowledgeError(f"{where}: expected fi/sv/en lists of {what}")
    lists = {}
    for lang in LANGUAGES:
        items = value.get(lang)
        if not isinstance(items, list) or not items or not all(isinstance(i, str) and i.strip() for i in items):
            raise KnowledgeError(f"{where}.{lang}: expected a list of {what}")
        lists[lang] = tuple(i.strip() for i in items)
    return lists


def _entry(raw: Any, where: str) -> FaqAnswer:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str) or not raw["id"]:
        raise KnowledgeError(f"{where}: an entry needs an id")
    where = f"{where}[{raw['id']}]"
    title = trilingual(raw.get("title"), f"{where}.title")
    long = [lang for lang, text in title.items() if len(text) > MAX_ANSWER_TITLE]
    if long:
        raise KnowledgeError(f"{where}.title: longer than {MAX_ANSWER_TITLE} characters in {', '.join(long)}")
    link = _https(trilingual(raw["link"], f"{where}.link"), f"{where}.link") if raw.get("link") else None
    link_title = trilingual(raw.get("link_title"), f"{where}.link_title") if link else None
    return FaqAnswer(
        id=str(raw["id"]),
        title=title,
        asks=trilingual_lists(raw.get("asks"), f"{where}.asks", "questions"),
        answer=trilingual(raw.get("answer"), f"{where}.answer"),
        link=link,
        link_title=link_title,
    )


def _load_faq_file(path: Path) -> FaqEntry:
    data = read_yaml(path)
    where = str(path)
    if not isinstance(data, Mapping):
        raise KnowledgeError(f"{where}: expected a mapping")
    topic = data.get("topic")
    if topic != path.stem:
        raise KnowledgeError(f"{where}: topic {topic!r} does not match the file name")
    reviewed = data.get("reviewed")
    if not isinstance(reviewed, dt.date):
        raise KnowledgeError(f"{where}: reviewed must be a date (YYYY-MM-DD)")
    links = _https(trilingual(data.get("link"), f"{where}: link"), f"{where}: link")
    raw_entries = data.get("entries") or []
    if not isinstance(raw_entries, list):
        raise KnowledgeError(f"{where}: entries must be a list")
    entries = tuple(_entry(raw, f"{where}: entries") for raw in raw_entries)
    ids = [e.id for e in entries]
    if len(set(ids)) != len(ids):
        raise KnowledgeError(f"{where}: entry ids must be unique")
    return FaqEntry(
        topic=topic,
        title=trilingual(data.get("title"), f"{where}: title"),
        answer=trilingual(data.get("answer"), f"{where}: answer"),
        link=links,
        reviewed=reviewed,
        link_title=trilingual(data["link_title"], f"{where}: link_title") if data.get("link_title") else None,
        entries=entries,
    )


@lru_cache(maxsize=2)
def load_faq(directory: Path | None = None) -> dict[str, FaqEntry]:
    """Every ``knowledge/faq/*.yml`` entry by topic."""
    folder = (directory or knowledge_dir()) / "faq"
    entries = [_load_faq_file(path) for path in sorted(folder.glob("*.yml"))]
    return {entry.topic: entry for entry in entries}


@lru_cache(maxsize=2)
def load_languages(directory: Path | None = None) -> dict[str, dict[str, Any]]:
    """``knowledge/languages.yml``: per language its autonym and name stems."""
    path = (directory or knowledge_dir()) / "languages.yml"
    data = read_yaml(path)["languages"]
    missing = [lang for lang in LANGUAGES if lang not in data]
    if missing:
        raise KnowledgeError(f"{path}: missing languages {missing}")
    return {lang: data[lang] for lang in LANGUAGES}


HOLIDAY_DAY_PREFIX = "holiday:"


@dataclass(frozen=True)
class Calendar:
    """Day words: weekday and relative-day names, "on <day>" forms, stems and time formats."""

    weekday_names: dict[str, dict[str, str]]
    weekday_on: dict[str, dict[str, str]]
    relative_names: dict[str, dict[str, str]]
    relative_offsets: dict[str, int]
    stems: list[tuple[str, str]]  # (stem, day key: "mon".."sun", "now", "today", "tomorrow", "holiday:<id>")
    time_format: dict[str, str]
    date_format: dict[str, str]
    holiday_names: dict[str, dict[str, str]]
    holidays_open_by_default: frozenset[str]


@lru_cache(maxsize=2)
def load_calendar(directory: Path | None = None) -> Calendar:
    """``knowledge/calendar.yml`` and ``knowledge/holidays.yml`` together."""
    folder = directory or knowledge_dir()
    cal_path, hol_path = folder / "calendar.yml", folder / "holidays.yml"
    cal, hol = read_yaml(cal_path), read_yaml(hol_path)
    stems: list[tuple[str, str]] = []
    names, on, rel_names, offsets = {}, {}, {}, {}
    for key, entry in cal["weekdays"].items():
        names[key] = trilingual(entry["name"], f"{cal_path}: weekdays.{key}.name")
        on[key] = trilingual(entry["on_day"], f"{cal_path}: weekdays.{key}.on_day")
        stems += [(stem, key) for lang in LANGUAGES for stem in entry["match"].get(lang, [])]
    for key, entry in cal["relative_days"].items():
        rel_names[key] = trilingual(entry["name"], f"{cal_path}: relative_days.{key}.name")
        offsets[key] = int(entry["offset"])
        stems += [(stem, key) for lang in LANGUAGES for stem in entry["match"].get(lang, [])]
    holiday_names = {
        key: trilingual(entry["name"], f"{hol_path}: holidays.{key}.name") for key, entry in hol["holidays"].items()
    }
    for key, entry in hol["holidays"].items():
        match = entry.get("match") or {}
        stems += [(stem, f"{HOLIDAY_DAY_PREFIX}{key}") for lang in LANGUAGES for stem in match.get(lang, [])]
    open_by_default = frozenset(
        key for key, entry in hol["holidays"].items() if entry.get("closed_by_default") is False
    )
    return Calendar(
        weekday_names=names,
        weekday_on=on,
        relative_names=rel_names,
        relative_offsets=offsets,
        stems=stems,
        time_format=trilingual(cal["time_format"], f"{cal_path}: time_format"),
        date_format=trilingual(cal["date_format"], f"{cal_path}: date_format"),
        holiday_names=holiday_names,
        holidays_open_by_default=open_by_default,
    )


@lru_cache(maxsize=2)
def load_conversation_titles(directory: Path | None = None) -> dict[str, dict[str, str]]:
    """``knowledge/conversation_titles.yml``: button titles of the non-service labels."""
    return load_texts((directory or knowledge_dir()) / "conversation_titles.yml", "titles")


def clear_caches() -> None:
    """Forget loaded knowledge so the next call re-reads the files (after an editor's change)."""
    for loader in (load_faq, load_languages, load_calendar, load_conversation_titles):
        loader.cache_clear()
