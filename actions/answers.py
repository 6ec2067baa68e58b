"""Answers to service questions from ``knowledge/faq``, and the request for a person.

The bot does not manage queues: asking for a person sends the gateway a control item
(``{"handoff": {"reason": ...}}``, see ``request_handoff``) and the gateway's router queues the
conversation and tells the citizen what happens next (docs/handoff.md).
"""

import logging
from typing import Any, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.tracker_utils import entity_values, language_of, latest_intent
from bot.core.i18n import pick
from bot.core.protocol import HandoffReason, HandoffRequest, to_custom
from bot.knowledge.answer_picker import answer_picker
from bot.knowledge.files import FaqEntry, load_faq
from bot.knowledge.handoff_config import load_handoff_config
from bot.knowledge.labels import faq_topic
from bot.knowledge.waste import load_sorting_list

logger = logging.getLogger(__name__)


WASTE_TOPICS = ("waste_sorting", "bulky_waste")  # a question about one item is answered by the item
MAX_FOLLOW_UPS = 4


def entry_payload(topic: str, entry_id: str) -> str:
    """The payload of a follow-up button: the topic's intent with the entry chosen."""
    return f'/faq_{topic}{{"faq_entry":"{entry_id}"}}'


def _links(title: dict[str, str] | None, url: dict[str, str], language: str) -> dict[str, Any]:
    return {"links": [{"title": pick(title, language) if title else pick(url, language), "url": pick(url, language)}]}


def utter_faq(
    dispatcher: CollectingDispatcher, topic: str, language: str, question: str = "", chosen: str | None = None
) -> bool:
    """Answer within ``topic``: the entry ``chosen`` (a follow-up button), else the one the
    ``question`` asks (bot/knowledge/answer_picker.py), else the overview; with the entry's (or
    topic's) titled link and the topic's other entries as follow-up buttons. A waste question
    about one item gets the item's bin. False when the topic has no knowledge file."""
    faq = load_faq().get(topic)
    if faq is None:
        logger.error("no knowledge/faq/%s.yml for a recognised topic", topic)
        return False
    if topic in WASTE_TOPICS and not chosen and question:
        item = load_sorting_list().find(question)
        if item is not None:
            dispatcher.utter_message(text=item.answer(language), buttons=_follow_ups(faq, None, language))
            dispatcher.utter_message(json_message=_links(faq.link_title, faq.link, language))
            return True
    entry = faq.entry(chosen) if chosen else None
    if entry is None and question and not chosen:
        entry = answer_picker().pick(topic, question, language).entry
    if entry is None:
        dispatcher.utter_message(text=pick(faq.answer, language), buttons=_follow_ups(faq, None, language))
        dispatcher.utter_message(json_message=_links(faq.link_title, faq.link, language))
        return True
    dispatcher.utter_message(text=pick(entry.answer, language), buttons=_follow_ups(faq, entry.id, language))
    if entry.link:
        dispatcher.utter_message(json_message=_links(entry.link_title, entry.link, language))
    else:
        dispatcher.utter_message(json_message=_links(faq.link_title, faq.link, language))
    return True


def _follow_ups(faq: FaqEntry, answered: str | None, language: str) -> list[dict[str, str]]:
    """The topic's other entries, as buttons (the first few)."""
    others = [e for e in faq.entries if e.id != answered][:MAX_FOLLOW_UPS]
    return [{"title": pick(e.title, language), "payload": entry_payload(faq.topic, e.id)} for e in others]


def request_handoff(dispatcher: CollectingDispatcher, reason: HandoffReason) -> None:
    """Ask the gateway to bring in a person."""
    dispatcher.utter_message(json_message=to_custom(HandoffRequest(reason)))


class ActionAnswerFaq(Action):
    """Answer the ``faq_<topic>`` intent with ``knowledge/faq/<topic>.yml``."""

    def name(self) -> str:
        return "action_answer_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Pick the topic from the intent, the entry from the question (or the button), and send
        its answer in the conversation's language; remember the topic for follow-ups."""
        intent = latest_intent(tracker)
        topic = faq_topic(intent) or ""
        question = str((tracker.latest_message or {}).get("text") or "")
        chosen = next((str(v) for v in entity_values(tracker, "faq_entry")), None)
        if question.startswith("/"):
            question = ""  # a button's payload, not the citizen's words
        if not utter_faq(dispatcher, topic, language_of(tracker), question, chosen):
            dispatcher.utter_message(response="utter_default")
            return []
        if load_handoff_config().needs_person(intent):
            request_handoff(dispatcher, HandoffReason.TOPIC)
        return [SlotSet("faq_topic", topic)]


class ActionRequestHuman(Action):
    """The citizen asked for a person: hand the conversation to the gateway's queue."""

    def name(self) -> str:
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Send the handoff control item; the gateway says what happens next."""
        request_handoff(dispatcher, HandoffReason.REQUESTED)
        return []
