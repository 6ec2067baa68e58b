"""Jobs due at a time (an offer's ``respond_by``, a callback retry), kept in Redis.

Jobs are members ``<kind>|<id>`` of a sorted set scored by their due time, so they survive
restarts. Every gateway process polls; a Lua script moves due jobs to a lease set in one step,
so each job is taken by one process. A job whose process dies before finishing goes back to the
due set when its lease expires (at least once); handlers are written to be safe to run twice
(an offer that is no longer open is not expired again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import AsyncIterator, Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.store import keys

logger = logging.getLogger(__name__)
DUE_KEY = keys.JOBS_DUE
LEASE_KEY = keys.JOBS_LEASED
Handler = Callable[[str, float], Awaitable[None]]  # (job id, the time the run is for)

_TAKE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  redis.call('ZADD', KEYS[2], ARGV[2], member)
end
return due
"""

_REAP = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
for _, member in ipairs(expired) do
  redis.call('ZREM', KEYS[2], member)
  redis.call('ZADD', KEYS[1], ARGV[1], member)
end
return #expired
"""


class Scheduler:
    """Schedule jobs and run the due ones with the handler registered for their kind."""

    def __init__(self, redis: Redis, lease_seconds: float = 60.0) -> None:
        self._redis = redis
        self._handlers: dict[str, Handler] = {}
        self._lease = lease_seconds
        self._take = redis.register_script(_TAKE)
        self._reap = redis.register_script(_REAP)

    def register(self, kind: str, handler: Handler) -> None:
        """Run ``handler(job_id, now)`` for due jobs of ``kind`` (``now``: the time of ``run_due``)."""
        self._handlers[kind] = handler

    async def schedule(self, kind: str, job_id: str, at: float) -> None:
        """Run the job at ``at`` (epoch seconds); scheduling it again moves it."""
        await self._redis.zadd(DUE_KEY, {f"{kind}|{job_id}": at})

    async def cancel(self, kind: str, job_id: str) -> None:
        """Forget a job that has not run."""
        await self._redis.zrem(DUE_KEY, f"{kind}|{job_id}")

    async def due_at(self, kind: str, job_id: str) -> float | None:
        """When the job is due, or None if it is not scheduled."""
        return await self._redis.zscore(DUE_KEY, f"{kind}|{job_id}")

    async def run_due(self, now: float | None = None, limit: int = 50) -> int:
        """Take and run the jobs due by ``now``; returns how many ran."""
        moment = time.time() if now is None else now
        await self._reap(keys=[DUE_KEY, LEASE_KEY], args=[repr(moment)])  # exact: a job due "now" is due
        args = [repr(moment), repr(moment + self._lease), limit]
        taken = await self._take(keys=[DUE_KEY, LEASE_KEY], args=args)
        for raw in taken:
            member = str(raw)
            kind, _, job_id = member.partition("|")
            handler = self._handlers.get(kind)
            if handler is None:
                logger.error("no handler for scheduled jobs of kind %s", kind)
                continue
            try:
                await handler(job_id, moment)
            except Exception:  # a failed job is retried when its lease ends; others still run
                logger.exception("scheduled %s job failed; it will be retried", kind)
                continue
            await self._redis.zrem(LEASE_KEY, member)
        return len(taken)

    async def run_forever(self, interval: float = 1.0) -> None:
        """Poll for due jobs until cancelled."""
        while True:
            try:
                await self.run_due()
            except (RedisError, OSError) as error:
                logger.warning("scheduler poll failed: %s", error.__class__.__name__)
            await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def running(scheduler: Scheduler, interval: float = 1.0) -> AsyncIterator[Scheduler]:
    """Poll in the background while the context is open."""
    task = asyncio.create_task(scheduler.run_forever(interval))
    try:
        yield scheduler
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
