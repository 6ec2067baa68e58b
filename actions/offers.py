"""Answers to the city's offers and the citizen's data requests (MyData).

The bot does not see offers or personal data: these actions only tell the gateway what the
citizen said (a control item), and the gateway's ``OfferDesk`` answers with the details of the
citizen's open offer, their consent and their linked chats, or with the anonymous texts.
"""

import logging
from typing import List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.tracker_utils import latest_intent
from bot.core.protocol import DataRequest, DataRequestKind, OfferAnswer, OfferReply, to_custom

logger = logging.getLogger(__name__)
ANSWERS = {"affirm": OfferAnswer.ACCEPT, "deny": OfferAnswer.DECLINE, "request_change": OfferAnswer.CHANGE}
REQUESTS = {
    "my_data": DataRequestKind.SHOW,
    "opt_out_offers": DataRequestKind.OPT_OUT,
    "opt_in_offers": DataRequestKind.OPT_IN,
    "delete_my_data": DataRequestKind.DELETE,
}


class ActionOfferAnswer(Action):
    """Yes / no / change: an answer to the open offer, if there is one."""

    def name(self) -> str:
        return "action_offer_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Send the answer to the gateway."""
        intent = latest_intent(tracker)
        answer = ANSWERS.get(intent or "")
        if answer is None:  # a rule that runs this action for another intent: never guess "accept"
            logger.error("action_offer_answer ran for intent %s, which is no answer", intent)
            dispatcher.utter_message(response="utter_default")
            return []
        dispatcher.utter_message(json_message=to_custom(OfferReply(answer)))
        return []


class ActionMyData(Action):
    """What the city holds and why, offers on or off, delete my data."""

    def name(self) -> str:
        return "action_my_data"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Send the request to the gateway."""
        intent = latest_intent(tracker)
        request = REQUESTS.get(intent or "")
        if request is None:
            logger.error("action_my_data ran for intent %s, which is no data request", intent)
            dispatcher.utter_message(response="utter_default")
            return []
        dispatcher.utter_message(json_message=to_custom(DataRequest(request)))
        return []
