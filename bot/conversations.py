"""Conversation records and message de-duplication, in Redis.

Keys (prefix ``citybot:``):
- ``conv:<conversation id>``: hash with channel, language, mode (``bot``/``agent``), first/last seen;
- ``seen:<conversation id>:<message id>``: set once per delivered message, expires after a day
  (message ids are only unique within a conversation: web chat clients choose their own).
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

PREFIX = "citybot:"
DEDUPE_SECONDS = 24 * 3600


def as_text(value: bytes | str | int | float) -> str:
    """A value read from Redis (bytes, as our clients do not decode) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


class Conversations:
    """Shared conversation state; any gateway process may read and write it."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def first_delivery(self, conversation_id: str, message_id: str) -> bool:
        """True the first time a message id is seen in a conversation; False for a repeat."""
        key = f"{PREFIX}seen:{conversation_id}:{message_id}"
        return bool(await self._redis.set(key, "1", nx=True, ex=DEDUPE_SECONDS))

    async def arrival(self, conversation_id: str, message_id: str) -> tuple[bool, dict[str, str], str | None]:
        """One round trip for a new message: is it the first delivery, the conversation's handoff
        case (``citybot:case:<id>``, empty when the bot answers), and what its next message is
        awaited as (an offer change request, a yes/no to deleting)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(f"{PREFIX}seen:{conversation_id}:{message_id}", "1", nx=True, ex=DEDUPE_SECONDS)
            pipe.hgetall(f"{PREFIX}case:{conversation_id}")
            pipe.hget(f"{PREFIX}conv:{conversation_id}", "awaiting")
            first, case, awaiting = await pipe.execute()
        fields = {as_text(k): as_text(v) for k, v in (case or {}).items()}
        return bool(first), fields, as_text(awaiting) if awaiting is not None else None

    async def touch(self, conversation_id: str, channel: str, language: str | None) -> None:
        """Record activity (and the latest language) of a conversation."""
        key = f"{PREFIX}conv:{conversation_id}"
        now = str(time.time())
        mapping = {"channel": channel, "last_seen": now}
        if language:
            mapping["language"] = language
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, "first_seen", now)
            pipe.hsetnx(key, "mode", "bot")
            pipe.hset(key, mapping=mapping)
            await pipe.execute()

    async def language(self, conversation_id: str) -> str | None:
        """The conversation's latest language, if known."""
        value = await self._redis.hget(f"{PREFIX}conv:{conversation_id}", "language")
        return value.decode() if isinstance(value, bytes) else value

    async def mark_stopped(self, conversation_id: str) -> None:
        """The citizen said stop (Telegram's /stop): proactive messages must not be sent."""
        await self._redis.hset(f"{PREFIX}conv:{conversation_id}", "stopped", "1")
