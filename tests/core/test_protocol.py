"""The protocol between the action server and the gateway: typed at both ends, never guessed."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.offers import ActionMyData, ActionOfferAnswer
from bot.conversation.rasa_client import BotProtocolError, to_outbound
from bot.core.protocol import (
    DataRequest,
    DataRequestKind,
    HandoffReason,
    HandoffRequest,
    OfferAnswer,
    OfferReply,
    ProtocolError,
    parse_request,
    to_custom,
)


@pytest.mark.parametrize(
    "request_",
    [HandoffRequest(reason) for reason in HandoffReason]
    + [OfferReply(answer) for answer in OfferAnswer]
    + [DataRequest(kind) for kind in DataRequestKind],
)
def test_every_request_survives_the_round_trip(request_: Any) -> None:
    assert parse_request(to_custom(request_)) == request_


@pytest.mark.parametrize(
    "custom",
    [
        {"offer": {}},  # a missing answer was once taken for "accept"
        {"offer": {"answer": "maybe"}},
        {"offer": "accept"},
        {"handoff": {"reason": "bored"}},
        {"mydata": {"request": "sell"}},
        {"offer": {"answer": "accept"}, "mydata": {"request": "show"}},
    ],
)
def test_unknown_or_missing_values_are_errors(custom: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError):
        parse_request(custom)
    with pytest.raises(BotProtocolError):
        to_outbound({"custom": custom}, "fi")


def test_other_custom_replies_are_plain_replies() -> None:
    reply = to_outbound({"text": "Hei", "custom": {"something": 1}}, "fi")
    assert reply.request is None and reply.text == "Hei"


async def test_the_offer_action_answers_only_for_an_answer_intent(tracker: Any) -> None:
    dispatcher = CollectingDispatcher()
    await ActionOfferAnswer().run(dispatcher, tracker(intent="deny"), {})
    assert parse_request(dispatcher.messages[0]["custom"]) == OfferReply(OfferAnswer.DECLINE)
    dispatcher = CollectingDispatcher()
    await ActionOfferAnswer().run(dispatcher, tracker(intent="greet"), {})  # never a default "accept"
    assert [m.get("response") for m in dispatcher.messages] == ["utter_default"]
    assert all("custom" not in m or not m["custom"] for m in dispatcher.messages)


async def test_the_data_action_asks_only_for_a_data_intent(tracker: Any) -> None:
    dispatcher = CollectingDispatcher()
    await ActionMyData().run(dispatcher, tracker(intent="delete_my_data"), {})
    assert parse_request(dispatcher.messages[0]["custom"]) == DataRequest(DataRequestKind.DELETE)
    dispatcher = CollectingDispatcher()
    await ActionMyData().run(dispatcher, tracker(intent="greet"), {})
    assert [m.get("response") for m in dispatcher.messages] == ["utter_default"]
