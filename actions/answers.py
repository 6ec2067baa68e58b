"""Answers to service questions from ``knowledge/faq``, and the request for a person.

The bot does not manage queues: asking for a person sends the gateway a control item
(``{"handoff": {"reason": ...}}``, see ``request_handoff``) and the gateway's router queues the
conversation and tells the citizen what happens next (docs/handoff.md).
"""

import logging
from typing import List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.tracker_utils import language_of, latest_intent
from bot.core.i18n import pick
from bot.core.protocol import HandoffReason, HandoffRequest, to_custom
from bot.knowledge.files import load_faq
from bot.knowledge.handoff_config import load_handoff_config
from bot.knowledge.labels import faq_topic

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


def request_handoff(dispatcher: CollectingDispatcher, reason: HandoffReason) -> None:
    """Ask the gateway to bring in a person."""
    dispatcher.utter_message(json_message=to_custom(HandoffRequest(reason)))


class ActionAnswerFaq(Action):
    """Answer the ``faq_<topic>`` intent with ``knowledge/faq/<topic>.yml``."""

    def name(self) -> str:
        return "action_answer_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Pick the topic from the intent and send its answer in the conversation's language."""
        intent = latest_intent(tracker)
        topic = faq_topic(intent) or ""
        if not utter_faq(dispatcher, topic, language_of(tracker)):
            dispatcher.utter_message(response="utter_default")
        elif load_handoff_config().needs_person(intent):
            request_handoff(dispatcher, HandoffReason.TOPIC)
        return []


class ActionRequestHuman(Action):
    """The citizen asked for a person: hand the conversation to the gateway's queue."""

    def name(self) -> str:
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Send the handoff control item; the gateway says what happens next."""
        request_handoff(dispatcher, HandoffReason.REQUESTED)
        return []
