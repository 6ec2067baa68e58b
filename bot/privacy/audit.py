"""The audit log: every read or change of a citizen's personal data by staff and systems.

Each access is one entry of a Redis stream (``audit``), kept ``CITYBOT_AUDIT_DAYS`` (730) and
trimmed by time, with a copy in the citizen's own stream (``audit:citizen:<id>``) when the access
concerns a known citizen, so that the art. 15 export can say who has seen their data. Recorded:

- an agent opening a conversation's transcript in the console (``transcript_opened``, why: the
  case's reason), an agent revealing a masked value (``value_revealed``, why: what the agent
  said it was needed for);
- a back-office system exporting or erasing a citizen's data (``exported``, ``erased``);
- a consent given or withdrawn, by the citizen in chat or by a system (``consent_changed``).

An entry names who (an agent's username, a calling system's name, or ``citizen``), what, when,
which conversation and citizen, and why. It never holds the data itself (a revealed value is
named by its kind only). The audit log is the city's record: an erasure does not delete it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from enum import Enum
from typing import Any

from redis.asyncio import Redis

from bot.core.clock import iso
from bot.store import keys

MAX_READ = 500


class Action(str, Enum):
    """What was done with the personal data."""

    TRANSCRIPT_OPENED = "transcript_opened"
    VALUE_REVEALED = "value_revealed"
    EXPORTED = "exported"
    ERASED = "erased"
    CONSENT_CHANGED = "consent_changed"


class Actor(str, Enum):
    """Who did it."""

    AGENT = "agent"
    SYSTEM = "system"
    CITIZEN = "citizen"


class AuditLog:
    """Append and read the audit log; any gateway process may use it."""

    def __init__(self, redis: Redis, retention_days: int = 730) -> None:
        self._redis = redis
        self._retention = retention_days * 86400

    async def record(
        self,
        actor: Actor,
        who: str,
        action: Action,
        *,
        citizen: str | None = None,
        conversation: str | None = None,
        why: str = "",
    ) -> None:
        """Append one access (and to the citizen's own stream when the citizen is known)."""
        now = time.time()
        fields = {
            "actor": actor.value,
            "who": who,
            "action": action.value,
            "citizen": citizen or "",
            "conversation": conversation or "",
            "why": why[:300],
            "at": f"{now:.3f}",
        }
        oldest = f"{int((now - self._retention) * 1000)}-0"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(keys.AUDIT, fields, minid=oldest, approximate=True)
            if citizen:
                pipe.xadd(keys.citizen_audit(citizen), fields, minid=oldest, approximate=True)
                pipe.expire(keys.citizen_audit(citizen), self._retention)
            await pipe.execute()

    async def latest(
        self, limit: int = 100, *, citizen: str | None = None, conversation: str | None = None
    ) -> list[dict[str, Any]]:
        """The newest entries first (at most ``limit``), optionally of one citizen or conversation."""
        stream = keys.citizen_audit(citizen) if citizen else keys.AUDIT
        found: list[dict[str, Any]] = []
        cursor = "+"
        while len(found) < limit:
            rows = await self._redis.xrevrange(stream, max=cursor, count=MAX_READ)
            for _, fields in rows:
                if conversation is None or fields.get("conversation") == conversation:
                    found.append(_entry(fields))
            if len(rows) < MAX_READ:
                break
            cursor = f"({rows[-1][0]}"
        return found[:limit]

    async def since(self, start: float) -> AsyncIterator[dict[str, Any]]:
        """Every kept entry from ``start`` (a Unix time) on, oldest first (for a full export)."""
        cursor = f"{int(start * 1000)}-0"
        while True:
            rows = await self._redis.xrange(keys.AUDIT, min=cursor, max="+", count=MAX_READ)
            for _, fields in rows:
                yield _entry(fields)
            if len(rows) < MAX_READ:
                return
            cursor = f"({rows[-1][0]}"

    async def of_citizen(self, citizen: str) -> list[dict[str, Any]]:
        """Every kept access to the citizen's data, oldest first (for the art. 15 export)."""
        rows = await self._redis.xrange(keys.citizen_audit(citizen))
        return [_entry(fields) for _, fields in rows]


def _entry(fields: dict[str, str]) -> dict[str, Any]:
    entry: dict[str, Any] = {key: value for key, value in fields.items() if value and key != "at"}
    entry["at"] = iso(fields["at"])
    return entry


__all__ = ["Action", "Actor", "AuditLog"]
