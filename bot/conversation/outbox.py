"""Replies kept for a citizen who has no page open, and which web chat pages are open.

A reply pushed to a web chat conversation with no open page waits in its outbox (a list, kept
``OUTBOX_DAYS``) and is delivered when the citizen comes back. Pages are counted across gateway
processes (``open:<conversation>``), so any process knows whether to push or to keep.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from redis.asyncio import Redis

from bot.core.envelope import Button, Card, Fact, Link, Outbound
from bot.core.protocol import Notice
from bot.store import keys

OUTBOX_DAYS = 30
OPEN_SECONDS = 24 * 3600


def reply_json(reply: Outbound) -> str:
    """A reply as JSON, to keep it in Redis (its bot request, if any, is not kept)."""
    return json.dumps(
        {
            "text": reply.text,
            "buttons": [[b.title, b.payload] for b in reply.buttons],
            "links": [[link.title, link.url] for link in reply.links],
            "language": reply.language,
            "sender": reply.sender,
            "agent_name": reply.agent_name,
            "notice": reply.notice.value if reply.notice else None,
            "offer_id": reply.offer_id,
            "card": [reply.card.title, [[f.label, f.value] for f in reply.card.facts]] if reply.card else None,
        }
    )


def reply_from_json(raw: str) -> Outbound:
    """The reply ``reply_json`` kept."""
    data = json.loads(raw)
    return Outbound(
        text=data["text"],
        buttons=tuple(Button(title, payload) for title, payload in data["buttons"]),
        links=tuple(Link(*pair) if isinstance(pair, list) else Link(pair, pair) for pair in data["links"]),
        language=data["language"],
        sender=data["sender"],
        agent_name=data["agent_name"],
        notice=Notice(data["notice"]) if data.get("notice") else None,
        offer_id=data.get("offer_id"),
        card=_card(data.get("card")),
    )


def _card(kept: list[Any] | None) -> Card | None:
    if not kept:
        return None
    title, facts = kept
    return Card(title, tuple(Fact(label, value) for label, value in facts))


class Outbox:
    """Open pages per conversation, and the replies waiting for one to open."""

    def __init__(self, redis: Redis, days: int = OUTBOX_DAYS) -> None:
        self._redis = redis
        self._seconds = days * 24 * 3600

    async def opened(self, conversation_id: str) -> None:
        """A page of the conversation connected."""
        key = keys.open_pages(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, OPEN_SECONDS)
            await pipe.execute()

    async def closed(self, conversation_id: str) -> None:
        """A page of the conversation went away."""
        key = keys.open_pages(conversation_id)
        if await self._redis.decr(key) <= 0:
            await self._redis.delete(key)

    async def is_open(self, conversation_id: str) -> bool:
        """True while some page of the conversation is connected."""
        value = await self._redis.get(keys.open_pages(conversation_id))
        return value is not None and int(value) > 0

    async def keep(self, conversation_id: str, replies: Sequence[Outbound]) -> None:
        """Keep replies until a page opens."""
        key = keys.outbox(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, *[reply_json(r) for r in replies])
            pipe.expire(key, self._seconds)
            await pipe.execute()

    async def take(self, conversation_id: str) -> list[Outbound]:
        """The kept replies, oldest first; the outbox is then empty."""
        key = keys.outbox(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.lrange(key, 0, -1)
            pipe.delete(key)
            raw, _ = await pipe.execute()
        return [reply_from_json(item) for item in raw]

    async def forget(self, conversation_id: str) -> None:
        """Drop the kept replies (the citizen's data is erased)."""
        await self._redis.delete(keys.outbox(conversation_id))
