"""Callbacks telling the city's systems of each offer change (systems: ``bot.systems.registry``).

A callback is a POST of JSON to the system's callback URL with

    X-Citybot-Delivery: <id, the same on every retry>
    X-Citybot-Timestamp: <unix seconds>
    X-Citybot-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<delivery id>.<body>" with the secret>

Redirects are not followed (a 3xx is a failed attempt), and a callback connects only to public
addresses unless the system is allowed a private network (``bot.systems.urls``). It is retried
with growing delays (doubling, at most an hour apart) until the system answers
2xx or ``max_attempts`` have failed. Deliveries and retries go through the scheduler, so they
survive restarts and are sent by one gateway process.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import time
from typing import Any

import aiohttp
from redis.asyncio import Redis

from bot.store import keys
from bot.store.scheduler import Scheduler
from bot.systems.registry import Systems
from bot.systems.urls import PublicOnlyResolver

logger = logging.getLogger(__name__)
JOB_KIND = "callback"


def sign(secret: str, timestamp: str, delivery: str, body: bytes) -> str:
    """The signature header value of a callback: over its time, its delivery id and its body."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{delivery}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


class Callbacks:
    """Queue and send callbacks, with retries."""

    def __init__(
        self,
        redis: Redis,
        scheduler: Scheduler,
        session: aiohttp.ClientSession,
        systems: Systems,
        *,
        max_attempts: int = 12,
        base_delay: float = 1.0,
        timeout: float = 10.0,
    ) -> None:
        self._redis = redis
        self._scheduler = scheduler
        self._session = session
        self._systems = systems
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._public: aiohttp.ClientSession | None = None  # resolves to public addresses only
        scheduler.register(JOB_KIND, self._deliver)

    def _session_for(self, private_allowed: bool) -> aiohttp.ClientSession:
        if private_allowed:
            return self._session
        if self._public is None or self._public.closed:
            self._public = aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=PublicOnlyResolver()))
        return self._public

    async def close(self) -> None:
        """Close the public-only client (the gateway's own session is closed by the gateway)."""
        if self._public is not None:
            await self._public.close()

    async def notify(self, system_name: str, payload: dict[str, Any]) -> str | None:
        """Queue a callback to the system; None when it has no callback URL."""
        system = self._systems.get(system_name)
        if system is None or not system.callback_url:
            return None
        delivery = secrets.token_hex(12)
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True)
        key = keys.callback(delivery)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"system": system_name, "body": body, "attempts": "0"})
            pipe.expire(key, 7 * 24 * 3600)
            await pipe.execute()
        await self._scheduler.schedule(JOB_KIND, delivery, time.time())
        return delivery

    async def _deliver(self, delivery: str, now: float) -> None:
        key = keys.callback(delivery)
        data: dict[str, str] = await self._redis.hgetall(key)
        system = self._systems.get(str(data.get("system")))
        if not data or system is None:
            return
        body = str(data["body"]).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Citybot-Delivery": delivery,
            "X-Citybot-Timestamp": timestamp,
            "X-Citybot-Signature": sign(system.callback_secret, timestamp, delivery, body),
        }
        attempts = int(data.get("attempts") or 0) + 1
        session = self._session_for(system.allow_private_callback)
        try:
            async with session.post(
                system.callback_url, data=body, headers=headers, timeout=self._timeout, allow_redirects=False
            ) as r:
                ok = 200 <= r.status < 300
                outcome = f"HTTP {r.status}" + (" (redirects are not followed)" if 300 <= r.status < 400 else "")
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            ok, outcome = False, error.__class__.__name__
        if ok:
            await self._redis.delete(key)
            return
        await self._redis.hset(key, mapping={"attempts": str(attempts), "last_error": outcome})
        if attempts >= self._max_attempts:
            logger.error("callback to %s failed %s times (%s); giving up", system.name, attempts, outcome)
            await self._redis.hset(key, "failed", "1")
            return
        delay = min(3600.0, self._base_delay * 2 ** (attempts - 1))
        logger.warning("callback to %s failed (%s); retry %s in %.1f s", system.name, outcome, attempts, delay)
        await self._scheduler.schedule(JOB_KIND, delivery, max(now, time.time()) + delay)
