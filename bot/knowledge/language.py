"""Which language a conversation is in, and when a message should change it.

Order of evidence, weakest first: the default (Finnish), the channel's hint (browser or Telegram
language), what the citizen writes, and an explicit choice (asking "in English please", the
widget's language switch, Telegram's /language). An explicit choice pins the language: later
messages in another language do not undo it, only another explicit choice does, because a
citizen who asked for English may well keep typing Finnish words.

Detection needs more evidence once a language is established: a short or unsure message ("ok",
"kiitos", "tack", "where is neuvola") keeps the current language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from bot.core.i18n import DEFAULT_LANGUAGE, LANGUAGES, normalise_language

SOURCES = ("default", "hint", "detected", "explicit")

# Thresholds, measured on short citizen messages with lingua (see tests/test_language.py).
ESTABLISHED_MIN_WORDS = 3
ESTABLISHED_MIN_LETTERS = 12
ESTABLISHED_MIN_CONFIDENCE = 0.9
FIRST_MIN_CONFIDENCE = 0.5
FIRST_MIN_MARGIN = 0.15
HINT_MIN_WORDS = 2

_LINGUA = {Language.FINNISH: "fi", Language.SWEDISH: "sv", Language.ENGLISH: "en"}
_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*_LINGUA).with_preloaded_language_models().build()


def detect(text: str, *, established: bool, min_words: int = 1) -> str | None:
    """The language ``text`` is written in, or None when the evidence is too weak.

    ``established`` says the conversation already has a language from earlier messages; then a
    switch needs a longer message and a near-certain detection. ``min_words``: fewer words are
    no evidence (a page's language is not undone by a lone "ja" or "ok").
    """
    words = _WORD.findall(text)
    if len(words) < max(1, min_words):
        return None
    if established and (len(words) < ESTABLISHED_MIN_WORDS or sum(map(len, words)) < ESTABLISHED_MIN_LETTERS):
        return None
    values = _detector().compute_language_confidence_values(" ".join(words))
    ranked = [(v.value, _LINGUA[v.language]) for v in values if v.language in _LINGUA]
    ranked.sort(reverse=True)
    if not ranked:
        return None
    best_value, best = ranked[0]
    runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
    if established:
        return best if best_value >= ESTABLISHED_MIN_CONFIDENCE else None
    if best_value >= FIRST_MIN_CONFIDENCE and best_value - runner_up >= FIRST_MIN_MARGIN:
        return best
    return None


@dataclass(frozen=True)
class LanguageState:
    """The conversation's language and how it was decided."""

    language: str = DEFAULT_LANGUAGE
    source: str = "default"

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES or self.source not in SOURCES:
            raise ValueError(f"bad language state {self.language!r}/{self.source!r}")


def follow(
    state: LanguageState,
    *,
    text: str = "",
    hint: object = None,
    choice: object = None,
    requested: object = None,
) -> LanguageState:
    """The language after one citizen message.

    ``choice`` is an explicit pick from the channel (widget switch, /language), ``requested`` a
    language the citizen asked for in words (a change_language intent), ``hint`` the channel's
    guess (browser or Telegram language), ``text`` what they wrote.
    """
    explicit = normalise_language(choice) or normalise_language(requested)
    if explicit:
        return LanguageState(explicit, "explicit")
    if state.source == "explicit":
        return state
    hinted = normalise_language(hint)
    # A first message in another language than the page's ("is Oodi open now?") switches, but a
    # lone word does not undo the page's language ("ja" on a Swedish page is Swedish).
    min_words = HINT_MIN_WORDS if hinted and state.source == "default" else 1
    detected = detect(text, established=state.source != "default", min_words=min_words) if text else None
    if detected:
        return LanguageState(detected, "detected")
    if hinted and state.source in ("default", "hint"):
        return LanguageState(hinted, "hint")
    return state
