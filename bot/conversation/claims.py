"""Each citizen message is answered once, whichever gateway gets it and however often it is sent.

A channel may deliver one message more than once: Telegram redelivers an update our webhook did
not acknowledge; the web chat widget sends a message again, with the same id, when its connection
dropped before the message was acknowledged (a gateway replica died, a phone changed network).

The first delivery **claims** the message: ``seen:<conversation>:<message>`` is set to ``busy``
for CLAIM_SECONDS and renewed while the message is being answered, so the claim of a gateway that
died lapses within CLAIM_SECONDS. Once answered, the key holds the answer for ANSWER_SECONDS. A
repeat waits for that answer and gets it again (the web chat: the widget knows each reply by its
message id and index and shows it once) or nothing (Telegram: it was sent). A repeat that finds
the claim lapsed without an answer takes the message over and answers it.

So a message is answered to the citizen exactly once. To the bot it is sent at least once: a
gateway that died after the bot answered but before the answer was kept leaves the message to be
sent to the bot again by the gateway that takes it over (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence

from redis.asyncio import Redis

from bot.conversation.outbox import reply_from_json, reply_json
from bot.core.envelope import Outbound
from bot.store import keys

logger = logging.getLogger(__name__)

ANSWER_SECONDS = 24 * 3600  # how long a message id is remembered, with its answer
CLAIM_SECONDS = 5  # a claim not renewed for this long is taken over
BUSY = "busy"


class Claims:
    """Claims on citizen messages, their answers and repeats; any gateway process may use it."""

    def __init__(self, redis: Redis, claim_seconds: float = CLAIM_SECONDS, poll_seconds: float = 0.2) -> None:
        self._redis = redis
        self._claim_ms = int(claim_seconds * 1000)
        self._poll = poll_seconds

    async def claim(self, conversation_id: str, message_id: str) -> bool:
        """True if this delivery is the one to answer the message (no one else is or was)."""
        key = keys.seen(conversation_id, message_id)
        return bool(await self._redis.set(key, BUSY, nx=True, px=self._claim_ms))

    async def first(self, conversation_id: str, message_id: str) -> bool:
        """True the first time a message id is seen, for what is handled without an answer to
        repeat (a Telegram link code): a repeat is then simply ignored."""
        key = keys.seen(conversation_id, message_id)
        return bool(await self._redis.set(key, "[]", nx=True, ex=ANSWER_SECONDS))

    @contextlib.asynccontextmanager
    async def answering(self, conversation_id: str, message_id: str) -> AsyncIterator[None]:
        """Keep the claim while the block answers the message; give it up if the block fails, so
        that the citizen's next try is answered."""
        key = keys.seen(conversation_id, message_id)
        renewal = asyncio.create_task(self._renew(key))
        try:
            yield
        except BaseException:
            with contextlib.suppress(Exception):
                await self._redis.delete(key)
            raise
        finally:
            renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewal

    async def _renew(self, key: str) -> None:
        while True:
            await asyncio.sleep(self._claim_ms / 3000)
            try:
                await self._redis.set(key, BUSY, xx=True, px=self._claim_ms)
            except Exception as error:  # noqa: BLE001 - the answer itself reports a Redis failure
                logger.debug("could not renew a message's claim: %s", error.__class__.__name__)

    async def answered(self, conversation_id: str, message_id: str, replies: Sequence[Outbound]) -> None:
        """Keep the answer for repeats of the message."""
        answer = json.dumps([reply_json(reply) for reply in replies])
        await self._redis.set(keys.seen(conversation_id, message_id), answer, ex=ANSWER_SECONDS)

    async def earlier_answer(self, conversation_id: str, message_id: str, timeout: float) -> list[Outbound] | None:
        """The answer to an earlier delivery of the message, waiting up to ``timeout`` seconds
        while it is being answered; None when its claim lapsed unanswered (take it over).
        TimeoutError when it is still being answered after ``timeout``."""
        key = keys.seen(conversation_id, message_id)
        deadline = time.monotonic() + timeout
        while True:
            value = await self._redis.get(key)
            if value is None:
                return None
            if value != BUSY:
                return _answer(value)
            if time.monotonic() >= deadline:
                raise TimeoutError("the message is still being answered")
            await asyncio.sleep(self._poll)


def _answer(value: str) -> list[Outbound]:
    """A kept answer; an id kept without one (a link code's update, or kept by an older version
    as "1") was answered, but its answer is not known: nothing to repeat."""
    try:
        kept = json.loads(value)
    except ValueError:
        return []
    return [reply_from_json(raw) for raw in kept] if isinstance(kept, list) else []


__all__ = ["CLAIM_SECONDS", "ANSWER_SECONDS", "Claims"]
