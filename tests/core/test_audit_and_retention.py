"""Issue 14, items 2 and 3: no copy left in the append-only file; accesses recorded in the audit log."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from redis.exceptions import RedisError

from bot.cli.supervisor import free_port, redis_server_binary
from bot.core.settings import RedisAddress
from bot.privacy.masking import Found, Kind
from bot.privacy.vault import Vault
from bot.store import keys
from bot.store.aof import rewrite_daily, rewrite_in_progress
from bot.store.redis import connect
from tests.core.conftest import Core


async def test_the_daily_rewrite_of_the_append_only_file_is_asked_for_once_a_day(core: Core) -> None:
    assert await rewrite_daily(core.redis) is True  # the first gateway to ask today
    assert await rewrite_daily(core.redis) is False  # the others (and this one again) do not
    assert 0 < await core.redis.ttl(keys.AOF_REWRITTEN) <= 24 * 3600


async def test_a_consent_changed_in_chat_is_in_the_citizens_audit_log(core: Core) -> None:
    await core.services.links.link("webchat:a", "citizen-9", "test")
    await core.services.mydata.set_offers("webchat:a", True, "fi")
    await core.services.mydata.set_offers("webchat:a", True, "fi")  # no change: nothing recorded
    [entry] = await core.services.rights.audit.of_citizen("citizen-9")
    assert (entry["actor"], entry["who"], entry["action"]) == ("citizen", "citizen", "consent_changed")
    assert entry["conversation"] == "webchat:a" and entry["why"] == "proactive_offers granted"


async def test_an_expired_value_is_gone_from_the_append_only_file_after_the_rewrite(tmp_path: Path) -> None:
    """Issue 14's table: a value Redis expired stayed in appendonly.aof (as the write that made it)
    until Redis rewrote the file; the daily rewrite bounds that to a day."""
    port = free_port()
    server = subprocess.Popen(
        [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        + ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    redis = connect(RedisAddress("127.0.0.1", port))
    aof = tmp_path / "appendonly.aof"
    try:
        for _ in range(100):
            try:
                await redis.ping()
                break
            except (RedisError, OSError):
                await asyncio.sleep(0.05)
        vault = Vault(redis, retention_days=1 / 86400)  # a second instead of a week
        await vault.keep("webchat:a", "m1", [Found(Kind.PHONE, 0, 12, "040 765 4321")])
        assert b"040 765 4321" in aof.read_bytes()
        await asyncio.sleep(1.5)
        assert await vault.values("webchat:a", "m1") is None  # expired
        assert b"040 765 4321" in aof.read_bytes()  # ... but still in the file
        assert await rewrite_daily(redis)
        for _ in range(100):
            if not await rewrite_in_progress(redis) and b"040 765 4321" not in aof.read_bytes():
                break
            await asyncio.sleep(0.05)
        assert b"040 765 4321" not in aof.read_bytes()
    finally:
        await redis.aclose()
        server.terminate()
        server.wait(10)


def test_a_reason_typed_by_an_agent_is_never_a_formula_in_the_csv_export() -> None:
    from channels.console.server import _csv_cell

    assert _csv_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert _csv_cell("+358") == "'+358" and _csv_cell("asiakas pyysi") == "asiakas pyysi"
