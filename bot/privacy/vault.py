"""The masked values of citizens' messages, kept apart for an agent who must see one.

The transcript holds the masked message (``[puhelinnumero]``); the values masked in it are kept
here, per conversation and message id (``vault:<conversation>``), for ``CITYBOT_VAULT_DAYS``
(7) only: a case that needs the phone number the citizen gave is handled within days. An agent
holding the conversation may reveal them with a reason; the reveal is recorded in the audit log
(``DataRights.reveal``). Erasing the conversation deletes them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis

from bot.privacy.masking import Found, Masker, default_masker
from bot.store import keys


class Vault:
    """Keep, read and forget masked values; any gateway process may use it."""

    def __init__(self, redis: Redis, retention_days: float = 7, masker: Masker | None = None) -> None:
        self._redis = redis
        self._retention = max(1, int(retention_days * 86400))
        self._masker = masker or default_masker()

    def find(self, text: str) -> list[Found]:
        """The personal data in ``text`` (bot/privacy/masking.py)."""
        return self._masker.find(text)

    async def mask(self, conversation_id: str, reference: str, text: str, language: str, found: list[Found]) -> str:
        """``text`` with what ``find`` found replaced by labels in ``language``; the values kept
        under ``reference`` (a message id) for a reveal. The one way messages are masked."""
        await self.keep(conversation_id, reference, found)
        return self._masker.mask(text, language, found).text

    async def keep(self, conversation_id: str, message_id: str, found: Sequence[Found]) -> None:
        """Keep the values masked in one message."""
        key = keys.vault(conversation_id)
        values = json.dumps([{"kind": f.kind.value, "value": f.value} for f in found], ensure_ascii=False)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, message_id, values)
            pipe.expire(key, self._retention)
            await pipe.execute()

    async def values(self, conversation_id: str, message_id: str) -> list[dict[str, Any]] | None:
        """The values masked in the message, or None when none are kept (any more)."""
        raw = await self._redis.hget(keys.vault(conversation_id), message_id)
        return list(json.loads(raw)) if raw else None

    async def all_values(self, conversation_id: str) -> dict[str, list[dict[str, Any]]]:
        """Every kept value of the conversation, by message id (for the citizen's export)."""
        raw = await self._redis.hgetall(keys.vault(conversation_id))
        return {message_id: list(json.loads(values)) for message_id, values in raw.items()}

    async def forget(self, conversation_id: str) -> None:
        """Delete every kept value of the conversation."""
        await self._redis.delete(keys.vault(conversation_id))


__all__ = ["Vault"]
