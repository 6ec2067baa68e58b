"""How many messages a conversation may send: per conversation, whatever socket or process.

A sliding window of 60 seconds in Redis (``rate:<conversation>``), checked and counted in one
step, so several tabs, reconnections or gateway processes share one limit. A message over the
limit is refused with a clear error by the channel; it is never dropped silently.
"""

from __future__ import annotations

import secrets
import time

from redis.asyncio import Redis

from bot.store import keys

WINDOW_SECONDS = 60

# KEYS: the conversation's recent messages (sorted set: a unique member → its time).
# ARGV: now, window seconds, limit, a unique member. Returns 1 when the message may go, else 0.
_ALLOW = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('EXPIRE', KEYS[1], window)
return 1
"""


class RateLimits:
    """At most ``per_minute`` messages in any 60 seconds, per conversation."""

    def __init__(self, redis: Redis, per_minute: int) -> None:
        self._redis = redis
        self._limit = per_minute
        self._allow = redis.register_script(_ALLOW)

    async def allow(self, conversation_id: str, now: float | None = None) -> bool:
        """True (and counted) when the conversation may send one more message now."""
        moment = time.time() if now is None else now
        member = f"{moment:.3f}-{secrets.token_hex(4)}"
        args = [f"{moment:.3f}", WINDOW_SECONDS, self._limit, member]
        return bool(await self._allow(keys=[keys.rate(conversation_id)], args=args))
