"""The scheduler on a real Redis, on a driven clock: jobs survive restarts and run once."""

from __future__ import annotations

import asyncio
import time

from redis.asyncio import Redis

from bot.store.scheduler import Scheduler


async def test_a_job_scheduled_before_a_restart_runs_after_it(redis: Redis) -> None:
    now = time.time()
    before = Scheduler(redis)
    await before.schedule("test", "job-1", now + 30)
    del before  # the process stops before the job is due
    ran: list[tuple[str, float]] = []
    after = Scheduler(redis)

    async def handler(job_id: str, at: float) -> None:
        ran.append((job_id, at))

    after.register("test", handler)
    assert await after.run_due(now=now) == 0  # not due yet
    assert await after.run_due(now=now + 30) == 1 and ran == [("job-1", now + 30)]
    assert await after.run_due(now=now + 31) == 0 and len(ran) == 1


async def test_a_job_taken_by_a_process_that_died_runs_again_after_its_lease(redis: Redis) -> None:
    now = time.time()
    dying = Scheduler(redis, lease_seconds=60)

    async def crash(job_id: str, at: float) -> None:
        raise RuntimeError("the process died here")

    dying.register("test", crash)
    await dying.schedule("test", "job-2", now)
    assert await dying.run_due(now=now) == 1  # taken, not finished
    ran: list[str] = []
    survivor = Scheduler(redis)

    async def handler(job_id: str, at: float) -> None:
        ran.append(job_id)

    survivor.register("test", handler)
    assert await survivor.run_due(now=now + 59) == 0  # still leased
    assert await survivor.run_due(now=now + 60) == 1 and ran == ["job-2"]


async def test_many_processes_polling_at_once_run_each_job_once(redis: Redis) -> None:
    ran: list[str] = []

    async def handler(job_id: str, at: float) -> None:
        ran.append(job_id)

    schedulers = [Scheduler(redis) for _ in range(8)]
    for scheduler in schedulers:
        scheduler.register("test", handler)
    now = time.time()
    for n in range(30):
        await schedulers[0].schedule("test", f"job-{n}", now)
    await asyncio.gather(*[s.run_due(now=now) for s in schedulers])
    assert sorted(ran) == sorted(f"job-{n}" for n in range(30))


async def test_a_job_of_an_unknown_kind_is_not_run_and_others_still_are(redis: Redis) -> None:
    ran: list[str] = []

    async def handler(job_id: str, at: float) -> None:
        ran.append(job_id)

    scheduler = Scheduler(redis)
    scheduler.register("known", handler)
    now = time.time()
    await scheduler.schedule("unknown", "x", now)
    await scheduler.schedule("known", "y", now)
    assert await scheduler.run_due(now=now) == 2 and ran == ["y"]
