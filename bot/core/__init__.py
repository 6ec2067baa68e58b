"""Core: what every process shares and nothing else needs to be built on.

The message envelope, the root exception, the cross-process protocol, languages, text folding,
the clock, paths and settings. Imports nothing else of ``bot``.
"""

from bot.core.envelope import BotTurn, Button, Inbound, Outbound
from bot.core.errors import CitybotError, CodedError, KnowledgeError
from bot.core.protocol import (
    BotRequest,
    DataRequest,
    DataRequestKind,
    HandoffReason,
    HandoffRequest,
    Notice,
    OfferAnswer,
    OfferReply,
    ProtocolError,
)
from bot.core.settings import RedisAddress, Settings, load_settings

__all__ = [
    "BotRequest",
    "BotTurn",
    "Button",
    "CitybotError",
    "CodedError",
    "DataRequest",
    "DataRequestKind",
    "HandoffReason",
    "HandoffRequest",
    "Inbound",
    "KnowledgeError",
    "Notice",
    "OfferAnswer",
    "OfferReply",
    "Outbound",
    "ProtocolError",
    "RedisAddress",
    "Settings",
    "load_settings",
]
