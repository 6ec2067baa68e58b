"""Answers to service questions from ``knowledge/faq``, and the contact path to a person."""

import logging
from typing import List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.tracker_utils import language_of, latest_intent
from bot.i18n import pick
from bot.knowledge import load_faq
from bot.labels import faq_topic

logger = logging.getLogger(__name__)


def utter_faq(dispatcher: CollectingDispatcher, topic: str, language: str) -> bool:
    """Send the knowledge answer for ``topic``; False when the topic has no knowledge file."""
    entry = load_faq().get(topic)
    if entry is None:
        logger.error("no knowledge/faq/%s.yml for a recognised topic", topic)
        return False
    dispatcher.utter_message(
        response="utter_faq_answer",
        answer=pick(entry.answer, language),
        link=pick(entry.link, language),
    )
    return True


class ActionAnswerFaq(Action):
    """Answer the ``faq_<topic>`` intent with ``knowledge/faq/<topic>.yml``."""

    def name(self) -> str:
        return "action_answer_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Pick the topic from the intent and send its answer in the conversation's language."""
        topic = faq_topic(latest_intent(tracker)) or ""
        if not utter_faq(dispatcher, topic, language_of(tracker)):
            dispatcher.utter_message(response="utter_default")
        return []


class ActionRequestHuman(Action):
    """Until live handoff exists, tell the citizen how to reach the city's customer service."""

    def name(self) -> str:
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Say a person cannot join this chat yet, and give the city's contact answer."""
        dispatcher.utter_message(response="utter_request_human_unavailable")
        utter_faq(dispatcher, "city_contact", language_of(tracker))
        return []
