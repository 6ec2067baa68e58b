"""Restarts of the service's processes by ``python -m bot run`` (key ``process:restarts``).

The supervisor counts them here; each gateway shows them in ``/metrics``
(``citybot_process_restarts``). Under Kubernetes the kubelet counts restarts instead.
"""

from __future__ import annotations

import redis
from redis.asyncio import Redis

from bot.store import keys


def count_restarts(client: redis.Redis, counts: dict[str, int]) -> None:
    """Add ``counts`` (process kind → restarts); RedisError if Redis does not answer."""
    for process, count in counts.items():
        client.hincrby(keys.PROCESS_RESTARTS, process, count)


async def restart_counts(client: Redis) -> dict[str, int]:
    """Restarts per process kind so far."""
    return {process: int(count) for process, count in (await client.hgetall(keys.PROCESS_RESTARTS)).items()}


__all__ = ["count_restarts", "restart_counts"]
