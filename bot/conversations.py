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


class Conversations:
    """Shared conversation state; any gateway process may read and write it."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def first_delivery(self, conversation_id: str, message_id: str) -> bool:
        """True the first time a message id is seen in a conversation; False for a repeat."""
        key = f"{PREFIX}seen:{conversation_id}:{message_id}"
        return bool(await self._redis.set(key, "1", nx=True, ex=DEDUPE_SECONDS))

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
