"""Following the conversation's language on every user turn, and switching it on request."""

import json
import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import ValidationAction
from rasa_sdk.types import DomainDict

from actions.tracker_utils import entity_values, latest_intent
from bot.core.i18n import DEFAULT_LANGUAGE, LANGUAGES
from bot.knowledge.files import load_languages
from bot.knowledge.language import SOURCES, LanguageState, follow

logger = logging.getLogger(__name__)


class ValidateSlotMappings(ValidationAction):
    """Runs after every user message (``action_validate_slot_mappings``) to update slots.

    - ``language`` / ``language_source``: see ``bot.knowledge.language`` for the order of evidence;
    - ``fallback_count``: consecutive messages the bot did not understand.

    The domain is not sent to actions (``enable_selective_domain`` in endpoints.yml), so the
    slots this action owns are named here instead of being read from the domain.
    """

    OWN_SLOTS = ("language", "language_source", "fallback_count")

    def domain_slots(self, domain: DomainDict) -> list[str]:
        """The custom-mapped slots this action fills (a test checks they match domain.yml)."""
        return list(self.OWN_SLOTS)

    def extract_language(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Decide the language after this message from metadata, intent and text."""
        latest = tracker.latest_message or {}
        metadata = latest.get("metadata") or {}
        text = without_names(str(latest.get("text") or ""), latest.get("entities") or [])
        if text.startswith("/"):  # a button payload says nothing about the language
            text = ""
        try:
            state = LanguageState(
                tracker.get_slot("language") or "fi", tracker.get_slot("language_source") or "default"
            )
        except ValueError:
            state = LanguageState()
        requested = None
        if latest_intent(tracker) == "change_language":
            # "voitko vastata englanniksi? poikaystävä ei puhu suomea": asking to change names a
            # language other than the current one; the current one only when it is the only one.
            named = entity_values(tracker, "language")
            other = [language for language in named if language != state.language]
            requested = other[0] if other else (named[0] if named else None)
        new = follow(
            state,
            text=text,
            hint=metadata.get("language_hint"),
            choice=metadata.get("language_choice"),
            requested=requested,
        )
        if new != state:
            logger.info("language %s (%s) -> %s (%s)", state.language, state.source, new.language, new.source)
        return {"language": new.language, "language_source": new.source}

    def extract_fallback_count(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Count consecutive not-understood messages; anything understood resets it."""
        if latest_intent(tracker) == "nlu_fallback":
            return {"fallback_count": float(tracker.get_slot("fallback_count") or 0) + 1}
        return {"fallback_count": 0.0}

    def validate_language(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Only fi, sv and en are conversation languages."""
        return {"language": value if value in LANGUAGES else DEFAULT_LANGUAGE}

    def validate_language_source(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """One of the known sources of evidence."""
        return {"language_source": value if value in SOURCES else "default"}

    def validate_fallback_count(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A count, never negative."""
        return {"fallback_count": max(0.0, float(value or 0))}


NAME_ENTITIES = ("service_point",)  # "Itäkeskus", "Oodi": names, the same in every language


def without_names(text: str, entities: list[dict[str, Any]]) -> str:
    """``text`` without the names of places the NLU found: a Finnish place name in an English
    question ("when does Itäkeskus swimming hall open?") says nothing about the language."""
    spans = sorted(
        {
            (int(e["start"]), int(e["end"]))
            for e in entities
            if e.get("entity") in NAME_ENTITIES and isinstance(e.get("start"), int) and isinstance(e.get("end"), int)
        },
        reverse=True,
    )
    for start, end in spans:
        text = text[:start] + " " + text[end:]
    return " ".join(text.split())


class ActionChangeLanguage(Action):
    """Confirm a language switch, or ask which language when none was named."""

    def name(self) -> str:
        return "action_change_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """The slot was already switched by ValidateSlotMappings; say so, in the new language."""
        if entity_values(tracker, "language"):
            dispatcher.utter_message(response="utter_language_changed")
            return []
        buttons = [
            {"title": entry["autonym"], "payload": "/change_language" + json.dumps({"language": code})}
            for code, entry in load_languages().items()
        ]
        dispatcher.utter_message(response="utter_ask_language", buttons=buttons)
        return []
