"""The one way our processes open Redis: text in and out (``decode_responses``), short timeouts."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from bot.core.settings import RedisAddress

# One quick retry: enough for a connection a restarted Redis dropped; a Redis that does not
# answer fails fast (redis-py's default, 3 retries of 5 s timeouts with backoff up to 10 s, kept
# a citizen waiting over 30 s before any error could be shown).
RETRIES = 1


def connect(address: RedisAddress) -> Redis:
    """A client for ``address`` that returns ``str`` (never bytes); connects on first use."""
    return Redis(
        host=address.host,
        port=address.port,
        db=address.db,
        password=address.password,
        decode_responses=True,
        socket_timeout=5,
        socket_connect_timeout=3,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=RETRIES),
    )
