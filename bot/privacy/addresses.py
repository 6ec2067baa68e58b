"""Channel addresses that are personal data (a WhatsApp number), kept out of conversation ids.

A WhatsApp user's id is their phone number. Used as the conversation id it would be in every
Redis key of the conversation, in Rasa's tracker, the console and the logs. Instead the
conversation id is a pseudonym (``whatsapp:<HMAC of the number>``, the same for the same number,
so links and offers find it again), and the number itself is kept in one place, here, only to
send to it: renewed while the conversation lives, deleted with the conversation or the citizen.

The pseudonym key (``CITYBOT_PSEUDONYM_KEY``) must be the same for every gateway replica and
must not change: with another key the same number becomes a new, unlinked conversation.
"""

from __future__ import annotations

import hashlib
import hmac

from redis.asyncio import Redis

from bot.store import keys


def pseudonym(key: str, channel: str, address: str) -> str:
    """A stable, non-reversible id for ``address`` on ``channel`` (24 hex characters)."""
    return hmac.new(key.encode(), f"{channel}:{address}".encode(), hashlib.sha256).hexdigest()[:24]


class Addresses:
    """Conversation → the address to send to (key ``address:<conversation>``)."""

    def __init__(self, redis: Redis, key: str, days: int = 30) -> None:
        self._redis = redis
        self._key = key
        self._seconds = days * 86400

    def conversation(self, channel: str, address: str) -> str:
        """The conversation id for an address (``<channel>:<pseudonym>``)."""
        return f"{channel}:{pseudonym(self._key, channel, address)}"

    async def remember(self, conversation: str, address: str, days: int | None = None) -> None:
        """Keep the address for ``days`` (default: the conversation's retention) from now; never
        shortens what a link asked for (``keep_for``)."""
        seconds = (days * 86400) if days is not None else self._seconds
        key = keys.address(conversation)
        left = await self._redis.ttl(key)
        await self._redis.set(key, address, ex=max(seconds, left if left and left > 0 else 0))

    async def keep_for(self, conversation: str, days: int) -> None:
        """Keep the address at least ``days`` from now (a linked conversation: offers reach it)."""
        address = await self.address_of(conversation)
        if address is not None:
            await self.remember(conversation, address, days)

    async def address_of(self, conversation: str) -> str | None:
        """The address to send to, or None when it is not (or no longer) kept."""
        value: str | None = await self._redis.get(keys.address(conversation))
        return value

    async def forget(self, conversation: str) -> None:
        """Delete the address (the conversation or the citizen was erased)."""
        await self._redis.delete(keys.address(conversation))
