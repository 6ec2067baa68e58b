"""What the service says about offers and about the citizen's data, from ``knowledge/``.

``knowledge/offers.yml`` has, per offer kind, the message and its follow-ups, and common texts
(buttons, what silence means, status words); ``knowledge/mydata.yml`` the MyData texts. Every
text is checked to exist in fi, sv and en with the same placeholders.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Mapping

from bot.core.clock import CITY_TZ
from bot.core.errors import KnowledgeError
from bot.core.i18n import pick
from bot.core.paths import knowledge_dir
from bot.knowledge.files import load_calendar, load_texts, read_yaml, trilingual
from bot.knowledge.time_words import format_time
from bot.offers.store import KINDS

KIND_KEYS = ("title", "mentioned_by", "message", "accepted", "declined", "change_question", "change_recorded", "why")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _same_fields(texts: Mapping[str, str], where: str) -> None:
    fields = [_fields(text) for text in texts.values()]
    if any(f != fields[0] for f in fields):
        raise KnowledgeError(f"{where}: fi, sv and en use different {{placeholders}}")


@dataclass(frozen=True)
class OfferTexts:
    """Per kind: key → {fi, sv, en}; common: key → {fi, sv, en}; mydata: key → {fi, sv, en}."""

    kinds: dict[str, dict[str, dict[str, str]]]
    common: dict[str, dict[str, str]]
    mydata: dict[str, dict[str, str]]
    facts: dict[str, list[tuple[dict[str, str], str]]] = field(default_factory=dict)  # kind → (label, value)

    def kind(self, kind: str, key: str, language: str | None, **values: object) -> str:
        """A kind's text in a language, with its placeholders filled."""
        return pick(self.kinds[kind][key], language).format(**values)

    def card_facts(self, kind: str, language: str | None, **values: object) -> list[tuple[str, str]]:
        """A kind's key facts in a language: (label, value), the values filled in."""
        return [(pick(label, language), value.format(**values)) for label, value in self.facts.get(kind, [])]

    def say(self, key: str, language: str | None, **values: object) -> str:
        """A common offer text."""
        return pick(self.common[key], language).format(**values)

    def data(self, key: str, language: str | None, **values: object) -> str:
        """A MyData text."""
        return pick(self.mydata[key], language).format(**values)


@lru_cache(maxsize=2)
def load_offer_texts(directory: Path | None = None) -> OfferTexts:
    """Read and check ``offers.yml`` and ``mydata.yml``."""
    folder = directory or knowledge_dir()
    path = folder / "offers.yml"
    data = read_yaml(path)
    kinds: dict[str, dict[str, dict[str, str]]] = {}
    facts: dict[str, list[tuple[dict[str, str], str]]] = {}
    for kind in KINDS:
        entry = (data.get("kinds") or {}).get(kind)
        if not isinstance(entry, Mapping):
            raise KnowledgeError(f"{path}: kinds.{kind} is missing")
        kinds[kind] = {}
        for key in KIND_KEYS:
            texts = trilingual(entry.get(key), f"{path}: kinds.{kind}.{key}")
            _same_fields(texts, f"{path}: kinds.{kind}.{key}")
            kinds[kind][key] = texts
        facts[kind] = _facts(entry.get("facts"), _fields(kinds[kind]["message"]["fi"]), f"{path}: kinds.{kind}.facts")
    common = load_texts(path, "common")
    for key, texts in common.items():
        _same_fields(texts, f"{path}: common.{key}")
    mydata = load_texts(folder / "mydata.yml", "texts")
    for key, texts in mydata.items():
        _same_fields(texts, f"{folder / 'mydata.yml'}: texts.{key}")
    return OfferTexts(kinds, common, mydata, facts)


def _facts(raw: object, known: set[str], where: str) -> list[tuple[dict[str, str], str]]:
    """A kind's ``facts``: a list of {label: {fi, sv, en}, value: "{placeholders}"}, each value
    made only of the placeholders the kind's message has."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise KnowledgeError(f"{where}: a list of {{label, value}}")
    facts = []
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping) or not isinstance(item.get("value"), str):
            raise KnowledgeError(f"{where}[{index}]: needs a label and a value")
        label = trilingual(item.get("label"), f"{where}[{index}].label")
        unknown = _fields(item["value"]) - known
        if unknown:
            raise KnowledgeError(f"{where}[{index}].value: {sorted(unknown)} are not in the message")
        facts.append((dict(label), item["value"]))
    return facts


def format_date(value: str | date | datetime, language: str) -> str:
    """``2027-08-05`` → "5.8.2027"; a date with a time adds it ("5.8.2027 klo 14.30")."""
    if isinstance(value, str):
        try:
            parsed: date | datetime = (
                datetime.fromisoformat(value) if "T" in value or " " in value.strip() else date.fromisoformat(value)
            )
        except ValueError:
            return value  # written by the back office as it wants it shown
        value = parsed
    if isinstance(value, datetime):
        local = value.astimezone(CITY_TZ) if value.tzinfo else value
        clock = format_time(local.time(), language, load_calendar())
        day = f"{local.day}.{local.month}.{local.year}"
        return load_offer_texts().say("date_time", language, date=day, time=clock)
    return f"{value.day}.{value.month}.{value.year}"
