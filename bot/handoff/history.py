"""Ended cases: what an agent handled, kept for the agent's own history and the context panel.

When an agent ends a case, a record of it (``handoff:closed:<id>``, a hash: the conversation, its
channel, language, reason, when it was queued, taken and ended, by whom, the last message of the
citizen as the transcript keeps it, masked) is indexed for the agent who held it
(``handoff:closed-by:<agent>``) and for the conversation (``handoff:closed-of:<conversation>``),
both sorted sets by the time it ended. The citizen's rating lands on the record. Records last as
long as the chats (the transcript retention) and are erased with the conversation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Mapping

from redis.asyncio import Redis

from bot.store import keys

MAX_PER_INDEX = 500  # the newest ended cases an agent or a conversation keeps in its index


@dataclass(frozen=True)
class ClosedCase:
    """One ended case."""

    id: str
    conversation: str
    agent: str
    channel: str
    language: str
    reason: str
    queue: str
    queued_at: float
    claimed_at: float
    ended_at: float
    preview: str
    rating: int | None = None
    last_entry: str = ""  # the transcript's last entry when the case ended (its end notice)

    @classmethod
    def from_hash(cls, record_id: str, fields: Mapping[str, str]) -> ClosedCase:
        rating = fields.get("rating", "")
        return cls(
            id=record_id,
            conversation=fields.get("conversation", ""),
            agent=fields.get("agent", ""),
            channel=fields.get("channel", ""),
            language=fields.get("language", ""),
            reason=fields.get("reason", ""),
            queue=fields.get("queue", ""),
            queued_at=float(fields.get("queued_at") or 0),
            claimed_at=float(fields.get("claimed_at") or 0),
            ended_at=float(fields.get("ended_at") or 0),
            preview=fields.get("preview", ""),
            rating=int(rating) if rating.isdigit() else None,
            last_entry=fields.get("last_entry", ""),
        )

    def public(self) -> dict[str, Any]:
        """What a console shows of it."""
        return {
            "id": self.id,
            "conversation": self.conversation,
            "channel": self.channel,
            "language": self.language,
            "reason": self.reason,
            "queue": self.queue,
            "queued_at": self.queued_at,
            "claimed_at": self.claimed_at,
            "ended_at": self.ended_at,
            "preview": self.preview,
            "rating": self.rating,
        }


class History:
    """The ended cases, by agent and by conversation."""

    def __init__(self, redis: Redis, retention_days: int = 30) -> None:
        self._redis = redis
        self._retention = retention_days * 86400

    async def record(self, fields: Mapping[str, str], ended_at: float | None = None) -> str:
        """Keep an ended case (``fields``: conversation, agent, channel, language, reason, queue,
        queued_at, claimed_at, preview); its id."""
        now = time.time() if ended_at is None else ended_at
        conversation, agent = fields["conversation"], fields["agent"]
        record_id = f"{int(now * 1000)}-{conversation}"
        oldest = now - self._retention
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.closed_case(record_id), mapping={**fields, "ended_at": f"{now:.3f}"})
            pipe.expire(keys.closed_case(record_id), self._retention)
            for index in (keys.closed_by(agent), keys.closed_of(conversation)):
                pipe.zadd(index, {record_id: now})
                pipe.zremrangebyscore(index, "-inf", oldest)
                pipe.zremrangebyrank(index, 0, -MAX_PER_INDEX - 1)
                pipe.expire(index, self._retention)
            await pipe.execute()
        return record_id

    async def mark_last_entry(self, record_id: str, entry_id: str) -> None:
        """The transcript entry the case ended with: a reread stops there."""
        if await self._redis.exists(keys.closed_case(record_id)):
            await self._redis.hset(keys.closed_case(record_id), "last_entry", entry_id)

    async def rate(self, record_id: str, score: int) -> None:
        """The citizen's 1-5 rating of the case, if it is still kept."""
        if await self._redis.exists(keys.closed_case(record_id)):
            await self._redis.hset(keys.closed_case(record_id), "rating", str(score))

    async def by_agent(self, agent: str, limit: int = 50) -> list[ClosedCase]:
        """The agent's ended cases, newest first."""
        return await self._read(await self._redis.zrevrange(keys.closed_by(agent), 0, limit - 1))

    async def of_conversation(self, conversation: str, limit: int = 20) -> list[ClosedCase]:
        """The conversation's earlier cases, newest first."""
        return await self._read(await self._redis.zrevrange(keys.closed_of(conversation), 0, limit - 1))

    async def get(self, record_id: str) -> ClosedCase | None:
        """One ended case, if kept."""
        fields = await self._redis.hgetall(keys.closed_case(record_id))
        return ClosedCase.from_hash(record_id, fields) if fields else None

    async def _read(self, record_ids: list[str]) -> list[ClosedCase]:
        if not record_ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for record_id in record_ids:
                pipe.hgetall(keys.closed_case(record_id))
            rows = await pipe.execute()
        return [ClosedCase.from_hash(rid, row) for rid, row in zip(record_ids, rows, strict=True) if row]

    async def forget(self, conversation: str) -> None:
        """Erase the conversation's ended cases (the citizen's data is erased)."""
        for case in await self.of_conversation(conversation, MAX_PER_INDEX):
            await self._redis.zrem(keys.closed_by(case.agent), case.id)
            await self._redis.delete(keys.closed_case(case.id))
        await self._redis.delete(keys.closed_of(conversation))
