"""Answers to the city's offers and the citizen's data requests (MyData).

The bot does not see offers or personal data: these actions only tell the gateway what the
citizen said (a control item), and the gateway's ``OfferDesk`` answers with the details of the
citizen's open offer, their consent and their linked chats, or with the anonymous texts.
"""

from typing import List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.tracker_utils import latest_intent

ANSWERS = {"affirm": "accept", "deny": "decline", "request_change": "change"}
REQUESTS = {"my_data": "show", "opt_out_offers": "opt_out", "opt_in_offers": "opt_in", "delete_my_data": "delete"}


class ActionOfferAnswer(Action):
    """Yes / no / change: an answer to the open offer, if there is one."""

    def name(self) -> str:
        return "action_offer_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Send the answer to the gateway."""
        answer = ANSWERS.get(latest_intent(tracker) or "", "accept")
        dispatcher.utter_message(json_message={"offer": {"answer": answer}})
        return []


class ActionMyData(Action):
    """What the city holds and why, offers on or off, delete my data."""

    def name(self) -> str:
        return "action_my_data"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Send the request to the gateway."""
        request = REQUESTS.get(latest_intent(tracker) or "", "show")
        dispatcher.utter_message(json_message={"mydata": {"request": request}})
        return []
