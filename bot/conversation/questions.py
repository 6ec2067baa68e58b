"""The question the bot asked and awaits an answer to ("what would you like instead?", "delete?").

A free-text or yes/no answer applies to the last question only, and only while it is open: a
question expires after ``QUESTION_SECONDS``, a new question replaces the older one, and any
message that is not an answer to it closes it (``bot.gateway.router``). So an ignored "delete my
data?" can never be answered by a later, unrelated "yes" (an offer's Accept button).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum

from redis.asyncio import Redis

from bot.core.errors import CitybotError
from bot.store import keys

QUESTION_SECONDS = 10 * 60


class QuestionKind(str, Enum):
    """What the bot asked."""

    CHANGE_WISH = "change_wish"  # what the citizen would like instead of an offer (free text)
    DELETE_CONFIRMATION = "delete_confirmation"  # yes or no to deleting the conversation's data
    UNLINK_CONFIRMATION = "unlink_confirmation"  # yes or no to unlinking the chat from the account


class QuestionError(CitybotError):
    """A stored question is not one we know (written by a newer or broken process)."""


@dataclass(frozen=True)
class Question:
    """An open question; ``subject`` is what it is about (an offer id) or the nonce its buttons
    carry (a confirmation)."""

    kind: QuestionKind
    subject: str = ""
    asked_at: float = 0.0


class Questions:
    """At most one open question per conversation, with an expiry."""

    def __init__(self, redis: Redis, seconds: int = QUESTION_SECONDS) -> None:
        self._redis = redis
        self._seconds = seconds

    async def ask(self, conversation_id: str, kind: QuestionKind, subject: str = "") -> Question:
        """Open a question (closing any older one)."""
        question = Question(kind, subject, time.time())
        key = keys.question(conversation_id)
        mapping = {"kind": kind.value, "subject": subject, "asked_at": f"{question.asked_at:.3f}"}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping=mapping)
            pipe.expire(key, self._seconds)
            await pipe.execute()
        return question

    async def open(self, conversation_id: str) -> Question | None:
        """The open question, or None (never asked, answered, replaced or expired)."""
        data: dict[str, str] = await self._redis.hgetall(keys.question(conversation_id))
        if not data:
            return None
        try:
            kind = QuestionKind(data.get("kind", ""))
        except ValueError:
            raise QuestionError(f"unknown question kind {data.get('kind')!r}") from None
        return Question(kind, data.get("subject", ""), float(data.get("asked_at") or 0))

    async def close(self, conversation_id: str) -> None:
        """The question was answered or is no longer asked."""
        await self._redis.delete(keys.question(conversation_id))

    forget = close
