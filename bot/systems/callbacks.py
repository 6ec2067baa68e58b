"""The city's calling systems: their tokens, and callbacks telling them of each offer change.

A system is configured in the back-office file (``CITYBOT_BACKOFFICE_FILE``, made with
``python -m bot backoffice add``): the SHA-256 of its API token (the token itself is shown once),
its callback URL and the secret we sign callbacks with. A callback is a POST of JSON with

    X-Citybot-Delivery: <id, the same on every retry>
    X-Citybot-Timestamp: <unix seconds>
    X-Citybot-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>

and is retried with growing delays (doubling, at most an hour apart) until the system answers
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from redis.asyncio import Redis

from bot.core.errors import CitybotError
from bot.core.private_files import write_private
from bot.knowledge.files import read_yaml
from bot.store import keys
from bot.store.scheduler import Scheduler

logger = logging.getLogger(__name__)
JOB_KIND = "callback"


class SystemsError(CitybotError):
    """The back-office systems file is wrong, or a system name is taken."""


@dataclass(frozen=True)
class System:
    """One calling system of the city (a school office, the screening register...)."""

    name: str
    token_sha256: str
    callback_url: str = ""
    callback_secret: str = ""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def load_systems(path: Path) -> dict[str, System]:
    """The systems of the back-office file; {} when it does not exist."""
    if not path.exists():
        return {}
    data = read_yaml(path) or {}
    systems = {}
    for name, entry in (data.get("systems") or {}).items():
        digest = str(entry.get("token_sha256", ""))
        if len(digest) != 64:
            raise SystemsError(f"{path}: system {name} needs token_sha256 (64 hex characters)")
        url = str(entry.get("callback_url") or "")
        if url and not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise SystemsError(f"{path}: system {name}: callback_url must be https (or loopback for tests)")
        systems[str(name)] = System(str(name), digest, url, str(entry.get("callback_secret") or ""))
    return systems


def add_system(path: Path, name: str, callback_url: str = "") -> tuple[str, str]:
    """Add a system to the file; returns (API token, callback secret), shown once."""
    if name in load_systems(path):
        raise SystemsError(f"a system called {name} exists already")
    token, secret = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    data = (read_yaml(path) if path.exists() else None) or {}
    data.setdefault("systems", {})[name] = {
        "token_sha256": _digest(token),
        "callback_url": callback_url,
        "callback_secret": secret,
    }
    write_private(
        path,
        "# The city's systems that call the back-office API (python -m bot backoffice add).\n"
        + yaml.safe_dump(data, sort_keys=True),
    )
    load_systems(path)  # refuse to leave a file the gateway would not read
    return token, secret


def authenticate(systems: dict[str, System], header: str | None) -> System | None:
    """The system whose token is in ``Authorization: Bearer <token>`` (constant-time), or None."""
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    digest = _digest(token.strip()).encode()
    found = None
    for system in systems.values():
        if hmac.compare_digest(digest, system.token_sha256.encode()):
            found = system
    return found


class Systems:
    """The systems file, re-read when it changes (a system added while the service runs works)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stamp: float | None = None
        self._systems: dict[str, System] = {}
        self._reload()

    def _reload(self) -> None:
        stamp = self._path.stat().st_mtime if self._path.exists() else None
        if stamp != self._stamp:
            self._systems = load_systems(self._path)
            self._stamp = stamp

    def get(self, name: str) -> System | None:
        """The system called ``name``, or None."""
        self._reload()
        return self._systems.get(name)

    def authenticate(self, header: str | None) -> System | None:
        """The system whose token is in the Authorization header, or None."""
        self._reload()
        return authenticate(self._systems, header)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value of a callback body."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
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
        scheduler.register(JOB_KIND, self._deliver)

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
            "X-Citybot-Signature": sign(system.callback_secret, timestamp, body),
        }
        attempts = int(data.get("attempts") or 0) + 1
        try:
            async with self._session.post(system.callback_url, data=body, headers=headers, timeout=self._timeout) as r:
                ok = 200 <= r.status < 300
                outcome = f"HTTP {r.status}"
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
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
