"""Each conversation's transcript, as a Redis stream: what the citizen, the bot and agents said.

One stream per conversation (``log:<conversation id>``), so an agent's console that
reconnects reads the entries after the last id it saw: every entry arrives once and in order.
Entries are flat string maps (what a stream holds); ``from`` is ``citizen``, ``bot``, ``agent``,
``system`` or ``note`` (an agent's private note, never sent to the citizen). The stream is capped
and expires ``retention_days`` after the last entry.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from redis.asyncio import Redis

from bot.core.envelope import Inbound
from bot.store import keys

MAX_ENTRIES = 2000
SENDERS = ("citizen", "bot", "agent", "system", "note")


@dataclass(frozen=True)
class Entry:
    """One line of a transcript."""

    sender: str
    text: str
    language: str | None = None
    intent: str | None = None  # what the bot understood of a citizen message
    confidence: float | None = None
    buttons: Sequence[str] = ()  # the titles of the buttons a bot reply offered
    agent: str | None = None  # the agent's display name, for agent entries and notes
    safety: str | None = None  # "emergency" or "crisis": the console marks the message at once
    vault: str | None = None  # the message id whose masked values an agent may reveal (bot/privacy/vault.py)

    def fields(self) -> dict[str, str]:
        """The stream fields; empty values are left out."""
        if self.sender not in SENDERS:
            raise ValueError(f"unknown transcript sender {self.sender!r}")
        data = {"from": self.sender, "text": self.text, "at": f"{time.time():.3f}"}
        if self.language:
            data["language"] = self.language
        if self.intent:
            data["intent"] = self.intent
        if self.confidence is not None:
            data["confidence"] = f"{self.confidence:.3f}"
        if self.buttons:
            data["buttons"] = json.dumps(list(self.buttons), ensure_ascii=False)
        if self.agent:
            data["agent"] = self.agent
        if self.safety:
            data["safety"] = self.safety
        if self.vault:
            data["vault"] = self.vault
        return data


def citizen_entry(message: Inbound, language: str | None, **details: Any) -> Entry:
    """The transcript's line for a citizen's message (with its vault reference when masked)."""
    vault = message.message_id if message.masked else None
    return Entry("citizen", message.text, language=language, vault=vault, **details)


def decode_entry(entry_id: str, data: dict[str, str]) -> dict[str, Any]:
    """A stream entry as the console gets it: ``{id, from, text, at, ...}``."""
    out: dict[str, Any] = {"id": entry_id, "from": data.get("from", ""), "text": data.get("text", "")}
    out["at"] = float(data.get("at", "0"))
    for key in ("language", "intent", "agent", "safety", "vault"):
        if key in data:
            out[key] = data[key]
    if "confidence" in data:
        out["confidence"] = float(data["confidence"])
    if "buttons" in data:
        out["buttons"] = json.loads(data["buttons"])
    return out


class Transcripts:
    """Append to and read conversations' transcript streams."""

    def __init__(self, redis: Redis, retention_days: int = 30) -> None:
        self._redis = redis
        self._retention = retention_days * 24 * 3600

    async def append(self, conversation_id: str, entries: Iterable[Entry]) -> list[str]:
        """Add entries in order; returns their stream ids."""
        key = keys.transcript(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            count = 0
            for entry in entries:
                pipe.xadd(key, entry.fields(), maxlen=MAX_ENTRIES, approximate=True)
                count += 1
            if not count:
                return []
            pipe.expire(key, self._retention)
            results = await pipe.execute()
        return [str(r) for r in results[:count]]

    async def read(
        self, conversation_id: str, after: str = "0", limit: int = MAX_ENTRIES, until: str = "+"
    ) -> list[dict[str, Any]]:
        """Entries after the id ``after`` ("0" for all) up to the id ``until`` (included), oldest first."""
        start = f"({after}" if after not in ("0", "0-0", "-") else "-"
        rows = await self._redis.xrange(keys.transcript(conversation_id), min=start, max=until, count=limit)
        return [decode_entry(entry_id, fields) for entry_id, fields in rows]

    async def last_text(self, conversation_id: str, sender: str, look_back: int = 20) -> str:
        """The text of the latest entry from ``sender`` among the last ``look_back`` ("" if none)."""
        rows = await self._redis.xrevrange(keys.transcript(conversation_id), count=look_back)
        return next((fields.get("text", "") for _, fields in rows if fields.get("from") == sender), "")

    @staticmethod
    def stream_of(conversation_id: str) -> str:
        """The name of the conversation's stream, for readers that follow several (the console)."""
        return keys.transcript(conversation_id)

    @staticmethod
    def conversation_of(stream: str) -> str | None:
        """The conversation of a transcript stream's name, or None for another stream."""
        if not stream.startswith(keys.TRANSCRIPT_PREFIX):
            return None
        return stream[len(keys.TRANSCRIPT_PREFIX) :]

    async def forget(self, conversation_id: str) -> None:
        """Delete a conversation's transcript (the citizen's data is erased)."""
        await self._redis.delete(keys.transcript(conversation_id))
