"""The one way our processes open Redis: text in and out (``decode_responses``), short timeouts."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.core.settings import RedisAddress


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
    )
