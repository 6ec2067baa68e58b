"""When the bot is not sure: ask which of the two likeliest topics was meant, then bring in a person.

An emergency among the likely meanings is never left to a clarifying question: the emergency
guidance is given at once.
"""

import logging
from typing import Any, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answers import request_handoff, utter_faq
from actions.tracker_utils import language_of
from bot.core.i18n import pick
from bot.core.protocol import HandoffReason
from bot.knowledge.answer_picker import answer_picker
from bot.knowledge.files import load_conversation_titles, load_faq
from bot.knowledge.labels import faq_topic

logger = logging.getLogger(__name__)

# An emergency that is the likeliest meaning, at least this likely, is answered, not asked about.
# (Lower, and gibberish whose flat ranking happens to put it first would get 112 guidance; an
# emergency in second place is still offered as a button.) Measured on nonsense and held-out cases.
EMERGENCY_MIN_CONFIDENCE = 0.25
# Intents worth offering as "did you mean"; greetings, yes/no and out-of-scope are not.
# A follow-up read within the topic answered last must be this close to one of its entries
# (higher than within a recognised topic: here nothing else says it is about that topic).
FOLLOW_UP_MIN_SCORE = 0.5
NOT_OFFERED = {"greet", "goodbye", "thank", "affirm", "deny", "out_of_scope", "nlu_fallback"}


def _title(intent: str, language: str) -> str | None:
    topic = faq_topic(intent)
    if topic is not None:
        entry = load_faq().get(topic)
        return pick(entry.title, language) if entry else None
    titles = load_conversation_titles().get(intent)
    return pick(titles, language) if titles else None


class ActionClarify(Action):
    """First miss: "did you mean A or B?"; second miss in a row: hand off to a person. A
    follow-up the model could not place ("entä hinta?", "and for pensioners?") that clearly asks
    an entry of the topic answered last is answered from it instead."""

    def name(self) -> str:
        return "action_clarify"

    @staticmethod
    def _follow_up(tracker: Tracker, language: str) -> tuple[str, str] | None:
        topic = tracker.get_slot("faq_topic")
        text = str((tracker.latest_message or {}).get("text") or "")
        if not topic or not text or text.startswith("/"):
            return None
        ranked = answer_picker().ranked(str(topic), text, language)
        if ranked and ranked[0][0] is not None and ranked[0][1] >= FOLLOW_UP_MIN_SCORE:
            return str(topic), ranked[0][0].id
        return None

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Choose between emergency guidance, a clarifying question and a handoff to a person."""
        language = language_of(tracker)
        ranking: list[dict[str, Any]] = [
            item
            for item in (tracker.latest_message or {}).get("intent_ranking") or []
            if item.get("name") != "nlu_fallback"
        ]
        top = ranking[0] if ranking else {}
        if (tracker.latest_message or {}).get("incoherent"):
            # Word salad (the classifier found its words do not fit its topic): the topics of
            # its ranking mean nothing, not even an emergency; the safety check ran before.
            if float(tracker.get_slot("fallback_count") or 0) >= 2:
                request_handoff(dispatcher, HandoffReason.NOT_UNDERSTOOD)
            else:
                dispatcher.utter_message(response="utter_default")
            return []
        if top.get("name") == "faq_emergency" and float(top.get("confidence") or 0) >= EMERGENCY_MIN_CONFIDENCE:
            utter_faq(dispatcher, "emergency", language)
            return []
        if float(tracker.get_slot("fallback_count") or 0) >= 2:
            request_handoff(dispatcher, HandoffReason.NOT_UNDERSTOOD)
            return []
        follow_up = self._follow_up(tracker, language)
        if follow_up is not None:
            topic, entry = follow_up
            utter_faq(dispatcher, topic, language, chosen=entry)
            return [SlotSet("fallback_count", 0.0)]
        buttons = []
        for item in ranking:
            intent = str(item.get("name") or "")
            title = None if intent in NOT_OFFERED else _title(intent, language)
            if title:
                buttons.append({"title": title, "payload": f"/{intent}"})
            if len(buttons) == 2:
                break
        if not buttons:
            dispatcher.utter_message(response="utter_default")
            return []
        dispatcher.utter_message(response="utter_clarify", buttons=buttons)
        return []
