"""Issue 14, items 2 and 3: no copy left in the append-only file; accesses recorded in the audit log."""

from __future__ import annotations

from bot.store import keys
from bot.store.aof import rewrite_daily
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
