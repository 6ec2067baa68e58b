"""The bot's memory of a conversation: Rasa's tracker, which Rasa writes to Redis itself.

Rasa 3.6 has no API to delete a tracker, so forgetting one deletes its key; Rasa starts a new,
empty tracker at the next message.
"""

from __future__ import annotations

from redis.asyncio import Redis

from bot.store import keys


class Trackers:
    """Forget Rasa's tracker of a conversation."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def forget(self, conversation_id: str) -> None:
        """Delete the tracker (the conversation's history as the bot knows it)."""
        await self._redis.delete(keys.tracker(conversation_id))
