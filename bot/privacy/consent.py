"""Citizens' consent per purpose (MyData): granted or withdrawn, when, through which channel.

The history is append-only (a Redis stream per citizen, never trimmed: it is the proof of
consent, GDPR art. 7(1)); the current state per purpose is a hash derived from it. Every
proactive message checks ``is_granted`` first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bot.core.errors import CitybotError
from bot.store import keys

PURPOSES = ("proactive_offers",)
CHANNELS = ("webchat", "telegram", "whatsapp", "backoffice")


class ConsentError(CitybotError):
    """Unknown purpose or channel."""


@dataclass(frozen=True)
class ConsentState:
    """The current consent for one purpose."""

    purpose: str
    granted: bool
    at: float
    channel: str


class Consents:
    """Read and change consent; every change is appended to the citizen's history."""

    def __init__(self, redis: Redis, retention_days: int = 1095) -> None:
        self._redis = redis
        self._retention = retention_days * 86400  # from the last change: the proof of consent

    async def set(self, citizen_id: str, purpose: str, granted: bool, channel: str) -> bool:
        """Grant or withdraw; returns False (and records nothing) when it was so already."""
        if purpose not in PURPOSES:
            raise ConsentError(f"unknown purpose {purpose!r}; known: {', '.join(PURPOSES)}")
        if channel not in CHANNELS:
            raise ConsentError(f"unknown channel {channel!r}")
        current = await self.current(citizen_id, purpose)
        if current is not None and current.granted == granted:
            return False
        now = f"{time.time():.3f}"
        value = f"{'1' if granted else '0'}|{now}|{channel}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(
                keys.consent_history(citizen_id),
                {"purpose": purpose, "granted": "1" if granted else "0", "at": now, "channel": channel},
            )
            pipe.hset(keys.consent(citizen_id), purpose, value)
            pipe.expire(keys.consent_history(citizen_id), self._retention)
            pipe.expire(keys.consent(citizen_id), self._retention)
            await pipe.execute()
        return True

    async def current(self, citizen_id: str, purpose: str) -> ConsentState | None:
        """The consent now, or None if the citizen was never asked."""
        raw = await self._redis.hget(keys.consent(citizen_id), purpose)
        if raw is None:
            return None
        granted, at, channel = raw.split("|", 2)
        return ConsentState(purpose, granted == "1", float(at), channel)

    async def is_granted(self, citizen_id: str, purpose: str = "proactive_offers") -> bool:
        """True only for a consent given and not withdrawn."""
        state = await self.current(citizen_id, purpose)
        return state is not None and state.granted

    async def history(self, citizen_id: str) -> list[dict[str, Any]]:
        """Every change, oldest first."""
        rows = await self._redis.xrange(keys.consent_history(citizen_id))
        result = []
        for _, fields in rows:
            data = fields
            result.append(
                {
                    "purpose": data["purpose"],
                    "granted": data["granted"] == "1",
                    "at": float(data["at"]),
                    "channel": data["channel"],
                }
            )
        return result
