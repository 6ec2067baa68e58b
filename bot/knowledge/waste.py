"""Where one item goes: the sorting list of ``knowledge/waste_items.yml`` (items and bins).

"mihin laitan pizzalaatikon?", "var lämnar jag gamla batterier?": the item is found in the
question by its names in any language (folded; a name of five letters or more also matches the
start of a longer word, so "pizzalaatikot" finds "pizzalaatikko"'s stem only when listed, and
"batterierna" finds "batterier"), the longest name first, and the answer says its bin, where
that bin is, and the item's tip.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping

from bot.core.errors import KnowledgeError
from bot.core.i18n import LANGUAGES
from bot.core.paths import knowledge_dir
from bot.core.text import fold, words
from bot.knowledge.files import read_yaml, trilingual, trilingual_lists

PREFIX_MIN = 5  # a name this long also matches a word it begins (an inflected form)


@dataclass(frozen=True)
class Bin:
    """A bin or collection: its name and where it is."""

    key: str
    name: dict[str, str]
    where: dict[str, str]


@dataclass(frozen=True)
class Item:
    """A household item, the names citizens use for it (folded), its bin and a tip."""

    id: str
    label: dict[str, str]  # the first name in each language, as written
    names: dict[str, tuple[str, ...]]
    bin: Bin
    template: dict[str, str]  # the file's ``answer``: {item} {bin} {where} {note}
    note: dict[str, str] | None = None

    def answer(self, language: str) -> str:
        """Where the item goes, in ``language``."""
        lang = language if language in LANGUAGES else "fi"
        text = self.template[lang].format(
            item=self.label[lang][:1].upper() + self.label[lang][1:],
            bin=self.bin.name[lang],
            where=self.bin.where[lang],
            note=self.note[lang] if self.note else "",
        )
        return " ".join(text.split())


class SortingList:
    """Items by their folded names."""

    def __init__(self, items: list[Item]) -> None:
        self.items = items
        self._names: list[tuple[tuple[str, ...], Item]] = []
        for item in items:
            for names in item.names.values():
                for name in names:
                    self._names.append((tuple(words(name)), item))
        self._names.sort(key=lambda pair: -sum(len(w) for w in pair[0]))  # the longest first

    def find(self, question: str) -> Item | None:
        """The item the question is about, or None."""
        said = words(question)
        for name, item in self._names:
            if not name:
                continue
            for start in range(len(said) - len(name) + 1):
                window = said[start : start + len(name)]
                if all(_matches(w, n) for w, n in zip(window, name, strict=True)):
                    return item
        return None


def _matches(word: str, name: str) -> bool:
    return word == name or (len(name) >= PREFIX_MIN and word.startswith(name))


@lru_cache(maxsize=2)
def load_sorting_list(directory: Path | None = None) -> SortingList:
    """``knowledge/waste_items.yml``, checked: every text in three languages, every bin known,
    no name given to two items."""
    path = (directory or knowledge_dir()) / "waste_items.yml"
    data = read_yaml(path)
    if not isinstance(data, Mapping) or not isinstance(data.get("bins"), Mapping):
        raise KnowledgeError(f"{path}: expected bins and items")
    bins = {
        key: Bin(
            str(key),
            trilingual(raw.get("name"), f"{path}: bins.{key}.name"),
            trilingual(raw.get("where"), f"{path}: bins.{key}.where"),
        )
        for key, raw in data["bins"].items()
    }
    template = trilingual(data.get("answer"), f"{path}: answer")
    items: list[Item] = []
    owner: dict[str, str] = {}
    for raw in data.get("items") or []:
        where = f"{path}: items[{raw.get('id')}]"
        if any(item.id == raw.get("id") for item in items):
            raise KnowledgeError(f"{where}: the id is used twice")
        if raw.get("bin") not in bins:
            raise KnowledgeError(f"{where}: bin {raw.get('bin')!r} is not one of bins")
        written = trilingual_lists(raw.get("names"), f"{where}.names", "names")
        names = {lang: tuple(fold(n) for n in ns) for lang, ns in written.items()}
        for name in {n for ns in names.values() for n in ns}:
            if owner.setdefault(name, raw["id"]) != raw["id"]:
                raise KnowledgeError(f"{where}: the name {name!r} is also {owner[name]!r}'s")
        note = trilingual(raw["note"], f"{where}.note") if raw.get("note") else None
        label = {lang: ns[0] for lang, ns in written.items()}
        items.append(Item(str(raw["id"]), label, names, bins[raw["bin"]], template, note))
    return SortingList(items)
