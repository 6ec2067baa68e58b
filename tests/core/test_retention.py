"""Issue 14, item 2: erased and expired data leaves no copy in Redis's append-only file."""

from __future__ import annotations

from bot.store import keys
from bot.store.aof import rewrite_daily
from tests.core.conftest import Core


async def test_the_daily_rewrite_of_the_append_only_file_is_asked_for_once_a_day(core: Core) -> None:
    assert await rewrite_daily(core.redis) is True  # the first gateway to ask today
    assert await rewrite_daily(core.redis) is False  # the others (and this one again) do not
    assert 0 < await core.redis.ttl(keys.AOF_REWRITTEN) <= 24 * 3600
