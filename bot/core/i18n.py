"""The three conversation languages and picking a text in one of them."""

from typing import Mapping

LANGUAGES = ("fi", "sv", "en")
DEFAULT_LANGUAGE = "fi"


def normalise_language(code: object) -> str | None:
    """``"sv-FI"``, ``"SV"``, ``"sv_SE"`` → ``"sv"``; anything not fi/sv/en → None."""
    if not isinstance(code, str) or not code:
        return None
    base = code.replace("_", "-").split("-", 1)[0].strip().lower()
    return base if base in LANGUAGES else None


def pick(texts: Mapping[str, str], language: str | None) -> str:
    """The text in ``language``; falls back to the default language, never to nothing."""
    lang = normalise_language(language) or DEFAULT_LANGUAGE
    return texts.get(lang) or texts[DEFAULT_LANGUAGE]
