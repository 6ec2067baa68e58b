"""Language following: hint, detection that ignores short or unsure messages, explicit choice."""

import pytest

from bot.core.i18n import normalise_language
from bot.knowledge.language import LanguageState, detect, follow


def run(messages: list[str], start: LanguageState | None = None, **kwargs: str) -> LanguageState:
    state = start or LanguageState()
    for text in messages:
        state = follow(state, text=text, **kwargs)
    return state


@pytest.mark.parametrize("code", ["sv-FI", "SV", "sv_SE", "sv"])
def test_normalise(code: str) -> None:
    assert normalise_language(code) == "sv"


@pytest.mark.parametrize("code", ["de", "", None, 3, "xx-FI"])
def test_normalise_rejects(code: object) -> None:
    assert normalise_language(code) is None


def test_hint_sets_language_of_a_new_conversation() -> None:
    assert follow(LanguageState(), hint="sv-FI") == LanguageState("sv", "hint")


def test_what_the_citizen_writes_beats_the_hint() -> None:
    state = follow(LanguageState(), hint="en", text="Miten haen lapselle päivähoitopaikkaa?")
    assert state == LanguageState("fi", "detected")


@pytest.mark.parametrize("short", ["ok", "kiitos", "tack", "joo", "hej", "ja", "no", "where is neuvola"])
@pytest.mark.parametrize("current", ["fi", "sv", "en"])
def test_short_or_unsure_messages_keep_the_language(short: str, current: str) -> None:
    for source in ("hint", "detected"):
        start = LanguageState(current, source)
        assert follow(start, text=short) == start


def test_a_clear_message_in_another_language_switches() -> None:
    state = LanguageState("fi", "detected")
    assert follow(state, text="Var finns närmaste hälsostation i Helsingfors?").language == "sv"
    assert follow(state, text="How do I renew my library loans online?").language == "en"


def test_first_short_greeting_sets_language_without_hint() -> None:
    assert follow(LanguageState(), text="hej").language == "sv"
    assert follow(LanguageState(), text="moi").language == "fi"


def test_explicit_request_pins_the_language() -> None:
    state = follow(LanguageState("fi", "detected"), text="in English please", requested="en")
    assert state == LanguageState("en", "explicit")
    # Later Finnish messages do not undo an explicit choice...
    state = follow(state, text="Miten uusin kirjastolainat verkossa?")
    assert state.language == "en"
    # ...but another explicit choice does (e.g. the widget's language switch).
    assert follow(state, choice="sv") == LanguageState("sv", "explicit")


def test_hint_does_not_override_detection() -> None:
    state = LanguageState("fi", "detected")
    assert follow(state, hint="en", text="ok") == state


def test_detect_returns_none_without_words() -> None:
    assert detect("123 !!", established=False) is None


def test_a_lone_word_does_not_undo_the_pages_language() -> None:
    """Scenario sv-offers-bare-ja-two-open-pick-screening: a first "ja" on a Swedish page was
    taken for Finnish (and "which offer?" was asked in Finnish)."""
    assert follow(LanguageState(), hint="sv", text="ja") == LanguageState("sv", "hint")
    assert follow(LanguageState(), hint="fi", text="is Oodi open now?").language == "en"
