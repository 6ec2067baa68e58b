"""Small helpers for reading a rasa-sdk Tracker."""

from typing import Any

from rasa_sdk import Tracker

from bot.core.i18n import DEFAULT_LANGUAGE, normalise_language


def language_of(tracker: Tracker) -> str:
    """The conversation's language slot, or the default when it is unset or odd."""
    return normalise_language(tracker.get_slot("language")) or DEFAULT_LANGUAGE


def latest_intent(tracker: Tracker) -> str | None:
    """The name of the intent of the latest user message."""
    intent = (tracker.latest_message or {}).get("intent") or {}
    name = intent.get("name")
    return str(name) if name else None


def entity_values(tracker: Tracker, entity: str) -> list[Any]:
    """Values of ``entity`` in the latest message, in order, without duplicates."""
    values: dict[Any, None] = {}
    for item in (tracker.latest_message or {}).get("entities") or []:
        if item.get("entity") == entity and item.get("value") is not None:
            value = item["value"]
            for one in value if isinstance(value, list) else [value]:
                values.setdefault(one)
    return list(values)
