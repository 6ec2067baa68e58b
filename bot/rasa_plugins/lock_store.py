"""Rasa's Redis lock store, with tickets that live while their process does.

Rasa 3.6's ``RedisLockStore`` gives each turn of a conversation a ticket that expires a fixed
time (``TICKET_LOCK_LIFETIME``) after it was issued, and changes the lock with a read and a
write from each process (no transaction). Two faults follow, both seen in
``tests/test_scale_out.py``:

- A turn that waits for a Rasa process killed mid-turn has its own ticket issued a moment after
  the dead one's; both expire together, the lock is left empty, and the waiting turn, whose
  ticket is gone, never counts as served: it waits until the gateway gives up (15 s).
- A turn that runs longer than the lifetime loses the lock to the next one while still running.

Here a ticket is kept alive by its turn: a waiting turn renews its own ticket each time it
looks, and the turn holding the lock renews it in the background. A process that dies stops
renewing, so its ticket ends ``TICKET_LOCK_LIFETIME`` seconds later (5 here) and the next turn
goes on; a slow turn in a live process keeps the lock. Every change is one Redis transaction
(WATCH/MULTI), so two processes cannot overwrite each other's tickets. Waiting turns look
every 50 ms rather than every second. The stored lock is Rasa's ``TicketLock`` JSON, under
Rasa's key, with a Redis expiry as a last resort.

Configured in ``endpoints.yml`` (``type: bot.rasa_plugins.lock_store.RenewedRedisLockStore``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, TypeVar

from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)
POLL_SECONDS = 0.05  # a waiting turn looks this often
T = TypeVar("T")


def _issue(lock: TicketLock, lifetime: float) -> int:
    """A new ticket after every live one. Numbers grow with the clock, not from 0 again when the
    lock was empty: a number is never given to two turns, so releasing one cannot free another."""
    lock.remove_expired_tickets()
    number = max(lock.last_issued + 1, time.time_ns() // 1_000_000)
    lock.tickets.append(Ticket(number, time.time() + lifetime))
    return number


def _renew(lock: TicketLock, number: int, lifetime: float) -> int:
    """Drop expired tickets and give ``number`` a new expiry; the number to use from now on.

    A ticket that ran out (its process too busy to renew it for a whole lifetime) is not put
    back in its place: another turn may hold the lock by now. The turn queues again."""
    lock.remove_expired_tickets()
    for ticket in lock.tickets:
        if ticket.number == number:
            ticket.expires = time.time() + lifetime
            return number
    logger.warning("a conversation lock's ticket ran out before it was renewed; queued again")
    return _issue(lock, lifetime)


def _release(lock: TicketLock, number: int) -> None:
    lock.remove_expired_tickets()
    lock.tickets = deque(t for t in lock.tickets if t.number != number)


@dataclass
class _Turn:
    """One turn's place in a conversation's lock (its number changes if it had to queue again)."""

    conversation_id: str
    number: int
    lifetime: float


class RenewedRedisLockStore(RedisLockStore):
    """``RedisLockStore`` whose tickets are renewed by the turns that hold them."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)

    def _change(self, conversation_id: str, change: Callable[[TicketLock], T], lifetime: float) -> T:
        """Apply ``change`` to the conversation's lock in one Redis transaction; an empty lock is
        deleted, any other kept at most a few lifetimes."""
        key = self.key_prefix + conversation_id

        def run(pipe: Any) -> T:
            stored = pipe.get(key)
            lock = TicketLock.from_dict(json.loads(stored)) if stored else TicketLock(conversation_id)
            lock.conversation_id = conversation_id
            result = change(lock)
            pipe.multi()
            if lock.tickets:
                pipe.set(key, lock.dumps(), ex=max(60, int(lifetime * 3)))
            else:
                pipe.delete(key)
            return result

        return self.red.transaction(run, key, value_from_callable=True)

    @contextlib.asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = POLL_SECONDS,
    ) -> AsyncIterator[TicketLock]:
        """Hold the conversation's lock for the turn; first come, first served."""
        poll = min(wait_time_in_seconds, POLL_SECONDS)
        try:
            number = self._change(conversation_id, lambda lock: _issue(lock, lock_lifetime), lock_lifetime)
        except Exception as error:  # noqa: BLE001 - Rasa's contract: a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error
        turn = _Turn(conversation_id, number, lock_lifetime)
        renewing: asyncio.Task[None] | None = None
        try:
            held = await self._wait(turn, poll)
            renewing = asyncio.create_task(self._keep(turn))
            yield held
        finally:
            if renewing is not None:
                renewing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewing
            try:
                self._change(conversation_id, lambda lock: _release(lock, turn.number), lock_lifetime)
            except Exception:  # noqa: BLE001 - the ticket then ends with its lifetime
                logger.exception("could not release a conversation lock; it ends with its lifetime")

    async def _wait(self, turn: _Turn, poll: float) -> TicketLock:
        """Renew the turn's ticket until it is the first one."""

        def look(lock: TicketLock) -> TicketLock | None:
            turn.number = _renew(lock, turn.number, turn.lifetime)
            return lock if lock.now_serving == turn.number else None

        while True:
            held = self._change(turn.conversation_id, look, turn.lifetime)
            if held is not None:
                return held
            await asyncio.sleep(poll)

    async def _keep(self, turn: _Turn) -> None:
        """Renew the held ticket a few times per lifetime, for as long as the turn runs."""

        def renew(lock: TicketLock) -> None:
            turn.number = _renew(lock, turn.number, turn.lifetime)

        while True:
            await asyncio.sleep(max(0.2, turn.lifetime / 4))
            try:
                self._change(turn.conversation_id, renew, turn.lifetime)
            except Exception:  # noqa: BLE001 - try again at the next renewal
                logger.warning("could not renew a conversation lock", exc_info=True)
