"""``python -m bot agent``: accounts made from the command line are the ones the console uses."""

from __future__ import annotations

import os
import subprocess
import sys

from redis.asyncio import Redis

from bot.core.paths import PROJECT_ROOT
from bot.core.settings import RedisAddress
from bot.handoff.agents import Agents


def agent_command(address: RedisAddress, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REDIS_URL": address.url, "CITYBOT_AGENT_PASSWORD": "correct horse battery staple"}
    return subprocess.run(
        [sys.executable, "-m", "bot", "agent", *args],
        cwd=PROJECT_ROOT,
        env=env,
        input="correct horse battery staple\n",
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_add_list_sign_in_and_remove(redis: Redis, redis_address: RedisAddress) -> None:
    added = agent_command(redis_address, "add", "sanna", "--name", "Sanna V.", "--queues", "fi,sv")
    assert added.returncode == 0, added.stderr
    listed = agent_command(redis_address, "list")
    assert listed.stdout.splitlines() == ["sanna\tSanna V.\tfi,sv"]
    session = await Agents(redis).sign_in("sanna", "correct horse battery staple", "127.0.0.1")
    assert session.username == "sanna"
    again = agent_command(redis_address, "add", "sanna")
    assert again.returncode == 2 and "exists" in again.stderr
    assert agent_command(redis_address, "remove", "sanna").returncode == 0
    assert await Agents(redis).get("sanna") is None
