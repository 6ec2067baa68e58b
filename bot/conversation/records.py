"""Conversation records (key ``conv:``); messages are de-duplicated by bot/conversation/claims.py.

The record of a conversation (``conv:<conversation id>``) is a hash with ``channel``,
``language``, ``first_seen`` and ``last_seen``, ``stopped`` (the citizen said /stop: no
proactive messages), ``open_offers`` (the offers the conversation may answer now, the latest
last) and ``danger``/``danger_at`` (the latest emergency or crisis written here).
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

from bot.store import keys


class Conversations:
    """Shared conversation state; any gateway process may read and write it."""

    def __init__(self, redis: Redis, retention_days: int = 30) -> None:
        self._redis = redis
        self._retention = retention_days * 86400  # from the last activity or change

    async def _set(self, conversation_id: str, mapping: dict[str, str]) -> None:
        key = keys.conversation(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=mapping)
            pipe.expire(key, self._retention)
            await pipe.execute()

    async def touch(self, conversation_id: str, channel: str, language: str | None) -> None:
        """Record activity (and the latest language) of a conversation."""
        key = keys.conversation(conversation_id)
        now = str(time.time())
        mapping = {"channel": channel, "last_seen": now}
        if language:
            mapping["language"] = language
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, "first_seen", now)
            pipe.hset(key, mapping=mapping)
            pipe.expire(key, self._retention)
            await pipe.execute()

    async def language(self, conversation_id: str) -> str | None:
        """The conversation's latest language, if known."""
        value: str | None = await self._redis.hget(keys.conversation(conversation_id), "language")
        return value

    async def record(self, conversation_id: str) -> dict[str, str]:
        """The whole record (for the citizen's data export)."""
        record: dict[str, str] = await self._redis.hgetall(keys.conversation(conversation_id))
        return record

    async def mark_danger(self, conversation_id: str, danger: str, now: float | None = None) -> None:
        """The citizen wrote of an emergency or a crisis now (later path-ending replies repeat 112)."""
        moment = time.time() if now is None else now
        await self._set(conversation_id, {"danger": danger, "danger_at": f"{moment:.0f}"})

    async def in_danger(self, conversation_id: str, within_seconds: float = 3600, now: float | None = None) -> bool:
        """True when the citizen wrote of an emergency or a crisis in the last ``within_seconds``."""
        at = await self._redis.hget(keys.conversation(conversation_id), "danger_at")
        moment = time.time() if now is None else now
        return at is not None and moment - float(at) <= within_seconds

    async def mark_stopped(self, conversation_id: str) -> None:
        """The citizen said stop (Telegram's /stop): proactive messages must not be sent."""
        await self._set(conversation_id, {"stopped": "1"})

    async def is_stopped(self, conversation_id: str) -> bool:
        """True when the citizen said stop in this conversation."""
        return bool(await self._redis.hget(keys.conversation(conversation_id), "stopped"))

    async def add_open_offer(self, conversation_id: str, offer_id: str) -> None:
        """An offer delivered in this conversation, which it may answer (the latest last)."""
        offers = [o for o in await self.open_offers(conversation_id) if o != offer_id] + [offer_id]
        await self._set(conversation_id, {"open_offers": ",".join(offers)})

    async def open_offers(self, conversation_id: str) -> list[str]:
        """The ids of the offers the conversation may answer, the latest last."""
        value = await self._redis.hget(keys.conversation(conversation_id), "open_offers")
        return [o for o in str(value or "").split(",") if o]

    async def open_offer(self, conversation_id: str) -> str | None:
        """The offer delivered last and still open here, if any."""
        offers = await self.open_offers(conversation_id)
        return offers[-1] if offers else None

    async def close_offer(self, conversation_id: str, offer_id: str | None = None) -> None:
        """An offer (or, without ``offer_id``, every offer) is no longer to be answered here."""
        key = keys.conversation(conversation_id)
        remaining = [o for o in await self.open_offers(conversation_id) if offer_id is not None and o != offer_id]
        if remaining:
            await self._redis.hset(key, "open_offers", ",".join(remaining))
        else:
            await self._redis.hdel(key, "open_offers")

    async def forget(self, conversation_id: str) -> None:
        """Delete the record (the citizen's data is erased)."""
        await self._redis.delete(keys.conversation(conversation_id))
