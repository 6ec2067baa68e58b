"""The scheduler against a real Redis: jobs survive restarts and run once across processes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.cli.supervisor import Stack
from bot.store.scheduler import DUE_KEY, LEASE_KEY, Scheduler

pytestmark = pytest.mark.integration


@pytest.fixture
async def redis(stack: Stack) -> AsyncIterator[Redis]:
    client = Redis(host=stack.settings.redis.host, port=stack.settings.redis.port, db=3)
    await client.delete(DUE_KEY, LEASE_KEY)
    yield client
    await client.delete(DUE_KEY, LEASE_KEY)
    await client.close()


async def test_a_job_scheduled_before_a_restart_runs_after_it(redis: Redis) -> None:
    before = Scheduler(redis)
    await before.schedule("test", "job-1", time.time() + 0.5)
    del before  # the process stops before the job is due
    ran: list[str] = []
    after = Scheduler(redis)

    async def handler(job_id: str) -> None:
        ran.append(job_id)

    after.register("test", handler)
    assert await after.run_due() == 0  # not due yet
    await asyncio.sleep(0.6)
    assert await after.run_due() == 1 and ran == ["job-1"]
    assert await after.run_due() == 0 and ran == ["job-1"]


async def test_a_job_taken_by_a_process_that_died_runs_again_after_its_lease(redis: Redis) -> None:
    dying = Scheduler(redis, lease_seconds=0.5)

    async def crash(job_id: str) -> None:
        raise RuntimeError("the process died here")

    dying.register("test", crash)
    await dying.schedule("test", "job-2", time.time())
    assert await dying.run_due() == 1  # taken, not finished
    ran: list[str] = []
    survivor = Scheduler(redis)

    async def handler(job_id: str) -> None:
        ran.append(job_id)

    survivor.register("test", handler)
    assert await survivor.run_due() == 0  # still leased
    await asyncio.sleep(0.6)
    assert await survivor.run_due() == 1 and ran == ["job-2"]


async def test_many_processes_polling_at_once_run_each_job_once(redis: Redis) -> None:
    ran: list[str] = []

    async def handler(job_id: str) -> None:
        ran.append(job_id)

    schedulers = [Scheduler(redis) for _ in range(8)]
    for scheduler in schedulers:
        scheduler.register("test", handler)
    for n in range(30):
        await schedulers[0].schedule("test", f"job-{n}", time.time())
    await asyncio.gather(*[s.run_due() for s in schedulers])
    assert sorted(ran) == sorted(f"job-{n}" for n in range(30))
