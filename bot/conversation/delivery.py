"""Sending to a citizen from anywhere in the gateway: agent replies, handoff notices.

The router answers a citizen on the request that brought their message. Agents' replies and
handoff notices (an agent joined, the conversation ended) start elsewhere, possibly in another
gateway process, so each channel registers how to push to one of its users; ``bot`` imports no
channel. A channel's pusher must work from any gateway process (Telegram: the Bot API; web chat:
socket.io's Redis manager, or the conversation's outbox when no page is open).
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable, Sequence

from bot.core.envelope import Outbound
from bot.core.errors import CitybotError

logger = logging.getLogger(__name__)
Push = Callable[[str, Sequence[Outbound]], Awaitable[None]]
Typing = Callable[[str], Awaitable[None]]


class DeliveryError(CitybotError):
    """No channel can deliver to this conversation."""


class Delivery:
    """Channel name → how to push replies (and a typing signal) to one of its users."""

    def __init__(self) -> None:
        self._push: dict[str, Push] = {}
        self._typing: dict[str, Typing] = {}

    def register(self, channel: str, push: Push, typing: Typing | None = None) -> None:
        """Called by a channel when the gateway starts."""
        self._push[channel] = push
        if typing is not None:
            self._typing[channel] = typing

    async def send(self, conversation_id: str, replies: Sequence[Outbound]) -> None:
        """Push replies to the citizen of ``<channel>:<user id>``."""
        channel, _, user_id = conversation_id.partition(":")
        push = self._push.get(channel)
        if push is None:
            raise DeliveryError(f"no channel {channel!r} in this gateway to deliver to")
        await push(user_id, replies)

    async def typing(self, conversation_id: str) -> None:
        """Show the citizen that an agent is typing, where the channel can."""
        channel, _, user_id = conversation_id.partition(":")
        signal = self._typing.get(channel)
        if signal is not None:
            await signal(user_id)
