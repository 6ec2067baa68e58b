"""Emergencies and crises in a citizen's message, by rules from ``knowledge/safety.yml``.

Words are folded (lower case, ä→a, ö→o, å→a) so that "tajuton" and "TAJUTON" and "tajuttomana"
match one stem, and typed without diacritics too. A rule is a stem (a word that starts with it;
``$`` at its end: the whole word) or stems that must appear in order within ``WINDOW`` words.
Phrases listed as exclusions (fire safety inspections, "I'm dying to know") are blanked out
first. Every language's rules apply to every message: a citizen in danger may write in any of
them, and the answer is in the language whose words matched. Tuned for recall (docs/safety.md).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.core.errors import KnowledgeError
from bot.core.i18n import LANGUAGES
from bot.core.paths import knowledge_dir
from bot.core.text import fold
from bot.knowledge.files import WordsLoader, trilingual

WINDOW = 4
EXCLUSION_WINDOW = 2
# Below this probability of danger, the model vetoes a one-word rule: chosen by 5-fold
# cross-validation on nlu/safety (ordinary examples alarmed 16.5 % -> 10.8 %, emergencies found
# 99.6 % -> 99.5 %; at 0.1: 9.3 % and 99.2 %). Recall first.
RULE_VETO = 0.05
VETO_MIN_WORDS = 4
_WORD = re.compile(r"[\w']+|\d+", re.UNICODE)


class Danger(str, Enum):
    """What a message is about, for the service's answer."""

    EMERGENCY = "emergency"  # someone needs 112 now
    CRISIS = "crisis"  # suicidal thoughts, self-harm, violence at home, a child unsafe


@dataclass(frozen=True)
class Finding:
    """A message found to be an emergency or a crisis, the language and the words that matched."""

    danger: Danger
    language: str
    matched: str
    crisis_too: bool = False  # an emergency whose words also name a crisis ("he threatens me with a knife")

    @property
    def by_model(self) -> bool:
        """Found by the model only (no rule named it)."""
        return self.matched.startswith("model ")


Term = tuple[str, ...]


def detect_language(text: str, unsure: str = "fi") -> str:
    """fi, sv or en: the language ``text`` is written in, ``unsure`` when the evidence is weak
    (for a rule's finding, the rule's language; for the model's, Finnish: most citizens write it)."""
    from bot.knowledge.language import detect

    return detect(text, established=False) or unsure


def _words(text: str) -> list[str]:
    return [w.replace("'", "") for w in _WORD.findall(fold(text))]


def _stem_matches(stem: str, word: str) -> bool:
    return word == stem[:-1] if stem.endswith("$") else word.startswith(stem)


def _find(term: Term, words: list[str], window: int = WINDOW) -> list[int] | None:
    """The positions of the first occurrence of ``term`` (stems in order, each within ``window``
    words of the last)."""
    for start, word in enumerate(words):
        if not _stem_matches(term[0], word):
            continue
        found = [start]
        for stem in term[1:]:
            position = found[-1]
            following = [
                i for i in range(position + 1, min(len(words), position + 1 + window)) if _stem_matches(stem, words[i])
            ]
            if not following:
                break
            found.append(following[0])
        else:
            return found
    return None


def _terms(value: Any, where: str) -> list[Term]:
    if not isinstance(value, list):
        raise KnowledgeError(f"{where}: expected a list of stems")
    terms = []
    for item in value:
        stems = (item,) if isinstance(item, str) else tuple(item) if isinstance(item, list) else ()
        if not stems or not all(isinstance(s, str) and s for s in stems):
            raise KnowledgeError(f"{where}: {item!r} is not a stem or a list of stems")
        terms.append(tuple(fold(s) for s in stems))
    return terms


@dataclass(frozen=True)
class SafetyRules:
    """The rules, exclusions and texts of ``knowledge/safety.yml``."""

    rules: dict[Danger, dict[str, list[Term]]]
    exclusions: dict[str, list[Term]]
    texts: dict[str, dict[str, str]]
    use_model: bool = True

    def assess(self, text: str) -> Finding | None:
        """The danger in ``text``, if any: by the rules, else by the model (when ``use_model``)."""
        found = self.by_rules(text)
        if not self.use_model:
            return found
        from bot.safety.classifier import load_model  # scikit-learn: loaded only where it is used

        if found is not None:
            # One word alone ("fire", "crash", "dementia", "112") also names near misses ("a fire
            # last winter", "my laptop crashed"): the model, which learned those, may veto it
            # when it is all but sure and the message gives it context. Phrases of two or more
            # stems stand, and so does a short cry ("kolari!") and an emergency whose message
            # also names a crisis.
            if " " in found.matched or found.crisis_too or len(_words(text)) < VETO_MIN_WORDS:
                return found
            return found if load_model().danger_probability(text) >= RULE_VETO else None

        # The model reads the whole message: its ordinary examples taught it that "smoke alarm"
        # and "fire safety inspection" are ordinary (measured: blanking the exclusions' words
        # first raised its false alarms).
        judged = load_model().danger(text)
        if judged is None:
            return None
        language = detect_language(text)
        return Finding(Danger(judged[0]), language, f"model {judged[1]:.2f}")

    def by_rules(self, text: str) -> Finding | None:
        """The danger the rules find in ``text``. When both an emergency's and a crisis's words
        appear ("my husband threatened me with a knife"), it is the emergency, marked
        ``crisis_too``: the answer is 112 first, and then the crisis lines (Nollalinja for
        violence at home)."""
        words = self._unexcluded(text)
        found: dict[Danger, Finding] = {}
        for danger in (Danger.EMERGENCY, Danger.CRISIS):
            for language in LANGUAGES:
                for term in self.rules[danger].get(language, []):
                    if danger not in found and _find(term, words) is not None:
                        found[danger] = Finding(danger, language, " ".join(term))
        first = found.get(Danger.EMERGENCY) or found.get(Danger.CRISIS)
        if first is None:
            return None
        # Answered in the language the message is written in: "dementi" is a Finnish rule, but
        # "can't find my dad, he has dementia" is English.
        return dataclasses.replace(
            first,
            language=detect_language(text, unsure=first.language),
            crisis_too=first.danger is Danger.EMERGENCY and Danger.CRISIS in found,
        )

    def _unexcluded(self, text: str) -> list[str]:
        """The folded words of ``text``, those of its excluded phrases blanked."""
        words = _words(text)
        for terms in self.exclusions.values():
            for term in terms:
                # An exclusion is a phrase (at most one word between its words), and only its
                # own words are ignored: "a fire, the fire brigade is coming" is still a fire.
                while (found := _find(term, words, EXCLUSION_WINDOW)) is not None:
                    for i in found:
                        words[i] = ""
        return words

    def say(self, key: str, language: str | None) -> str:
        """A text of the file in ``language`` (Finnish when unknown)."""
        texts = self.texts[key]
        return texts.get(language or "fi", texts["fi"])


@lru_cache(maxsize=4)
def load_safety(path: Path | None = None) -> SafetyRules:
    """Read and check ``knowledge/safety.yml``; KnowledgeError on a mistake."""
    path = path or knowledge_dir() / "safety.yml"
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=WordsLoader) or {}  # noqa: S506 - a SafeLoader
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError(f"{path}: {exc}") from exc
    rules: dict[Danger, dict[str, list[Term]]] = {}
    for danger in Danger:
        section = (data.get("rules") or {}).get(danger.value) or {}
        missing = [lang for lang in LANGUAGES if lang not in section]
        if missing:
            raise KnowledgeError(f"{path}: rules.{danger.value} needs every language; missing {missing}")
        rules[danger] = {lang: _terms(section[lang], f"{path}: rules.{danger.value}.{lang}") for lang in LANGUAGES}
    exclusions = {
        lang: _terms(terms, f"{path}: exclusions.{lang}") for lang, terms in (data.get("exclusions") or {}).items()
    }
    texts = {key: trilingual(value, f"{path}: texts.{key}") for key, value in (data.get("texts") or {}).items()}
    for key in ("emergency", "crisis", "repeat_112", "console_label"):
        if key not in texts:
            raise KnowledgeError(f"{path}: texts.{key} is missing")
    for key in ("emergency", "crisis"):
        for lang in LANGUAGES:
            if "112" not in texts[key][lang].split(".")[0]:
                raise KnowledgeError(f"{path}: texts.{key}.{lang} must name 112 in its first sentence")
    return SafetyRules(rules, exclusions, texts)
