"""Consent on a real Redis: a change is recorded once, with its time and channel."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from bot.privacy.consent import ConsentError, Consents


async def test_grant_and_withdraw_are_recorded_once_each(redis: Redis) -> None:
    consents = Consents(redis)
    assert await consents.current("c1", "proactive_offers") is None
    assert not await consents.is_granted("c1")
    assert await consents.set("c1", "proactive_offers", True, "webchat")
    assert not await consents.set("c1", "proactive_offers", True, "telegram")  # so already: nothing new
    assert await consents.is_granted("c1")
    assert await consents.set("c1", "proactive_offers", False, "backoffice")
    state = await consents.current("c1", "proactive_offers")
    assert state is not None and not state.granted and state.channel == "backoffice"
    history = await consents.history("c1")
    assert [(h["granted"], h["channel"]) for h in history] == [(True, "webchat"), (False, "backoffice")]
    assert history[0]["at"] <= history[1]["at"]
    assert await consents.history("c2") == []


@pytest.mark.parametrize(("purpose", "channel"), [("marketing", "webchat"), ("proactive_offers", "fax")])
async def test_unknown_purposes_and_channels_are_refused(redis: Redis, purpose: str, channel: str) -> None:
    with pytest.raises(ConsentError):
        await Consents(redis).set("c1", purpose, True, channel)
    assert await Consents(redis).history("c1") == []
