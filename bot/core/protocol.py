"""What crosses process boundaries as data: the bot's requests to the gateway, and notices.

The action server (``actions/``) asks the gateway to act with a custom reply ``{kind: {...}}``:
``{"handoff": {"reason": "requested"}}``, ``{"offer": {"answer": "accept"}}`` or
``{"mydata": {"request": "show"}}``. Both ends use the types here: ``to_custom`` on the action
side, ``parse_request`` on the gateway side. An unknown kind or value, or a missing one, is a
``ProtocolError``: the gateway never guesses (a missing answer once meant "accept").

Notices tell a channel who answers now (the widget's typing indicator, its "agent" styling);
they travel to channels as the ``control`` field of a reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Mapping

from bot.core.errors import CitybotError


class ProtocolError(CitybotError):
    """A message between our processes is not one of the known shapes."""


class HandoffReason(str, Enum):
    """Why the bot asks for a person."""

    REQUESTED = "requested"  # the citizen asked
    NOT_UNDERSTOOD = "not_understood"  # the bot missed twice
    TOPIC = "topic"  # the topic needs a person (knowledge/handoff.yml)
    TRANSFERRED = "transferred"  # an agent moved the conversation


class OfferAnswer(str, Enum):
    """The citizen's answer to an offer."""

    ACCEPT = "accept"
    DECLINE = "decline"
    CHANGE = "change"


class DataRequestKind(str, Enum):
    """What the citizen asked about their data."""

    SHOW = "show"
    OPT_IN = "opt_in"
    OPT_OUT = "opt_out"
    DELETE = "delete"


class Notice(str, Enum):
    """Who answers the conversation now (sent to channels as ``control``)."""

    AGENT_JOINED = "agent_joined"
    HANDOFF_ENDED = "handoff_ended"
    REQUEUED = "requeued"


@dataclass(frozen=True)
class HandoffRequest:
    """The bot asks the gateway to bring in a person."""

    reason: HandoffReason


@dataclass(frozen=True)
class OfferReply:
    """The citizen answered an offer (the gateway knows which offer)."""

    answer: OfferAnswer


@dataclass(frozen=True)
class DataRequest:
    """The citizen asked about their data (the gateway answers with the details)."""

    request: DataRequestKind


BotRequest = HandoffRequest | OfferReply | DataRequest
_FIELDS: dict[str, tuple[type, str, type[Enum]]] = {
    "handoff": (HandoffRequest, "reason", HandoffReason),
    "offer": (OfferReply, "answer", OfferAnswer),
    "mydata": (DataRequest, "request", DataRequestKind),
}
KINDS = tuple(_FIELDS)


def to_custom(request: BotRequest) -> dict[str, dict[str, str]]:
    """The custom reply an action sends for ``request``."""
    for kind, (cls, field, _) in _FIELDS.items():
        if isinstance(request, cls):
            return {kind: {field: getattr(request, field).value}}
    raise ProtocolError(f"not a bot request: {request!r}")


def is_request(custom: Any) -> bool:
    """True when a custom reply claims to be a request (has one of the known kinds as a key)."""
    return isinstance(custom, Mapping) and any(kind in custom for kind in KINDS)


def parse_request(custom: Mapping[str, Any]) -> BotRequest:
    """The request in a custom reply; ProtocolError when it is not exactly one known shape."""
    kinds = [kind for kind in KINDS if kind in custom]
    if len(kinds) != 1:
        raise ProtocolError(f"a request needs exactly one of {', '.join(KINDS)}")
    kind = kinds[0]
    cls, field, values = _FIELDS[kind]
    body = custom[kind]
    if not isinstance(body, Mapping) or field not in body:
        raise ProtocolError(f"a {kind} request needs its {field}")
    try:
        value = values(body[field])
    except ValueError:
        raise ProtocolError(f"unknown {kind} {field} {body[field]!r}") from None
    request: BotRequest = cls(value)
    return request
