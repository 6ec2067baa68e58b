"""Web chat sessions: ids the server issues, resumable only with the secret the browser was given.

A web chat conversation is ``webchat:<session id>``. The id is issued here (192 random bits) with
a resume secret that only the browser that started the session holds; the store keeps the
secret's SHA-256, never the secret. A session request for an existing id without its secret gets a
new session instead, so knowing (or guessing) an id gives nothing. Sessions expire
``SESSION_DAYS`` after their last resume.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.store import keys

SESSION_DAYS = 30
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
SECRET = re.compile(r"^[A-Za-z0-9_-]{20,128}$")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class WebSession:
    """A session the browser may use: its id, and its secret when it was just issued."""

    session_id: str
    secret: str | None  # only for a new session: the browser keeps it to resume later
    resumed: bool


class WebSessions:
    """Issue and resume web chat sessions (key ``wcsession:<id>``)."""

    def __init__(self, redis: Redis, days: int = SESSION_DAYS) -> None:
        self._redis = redis
        self._seconds = days * 24 * 3600

    async def start(self) -> WebSession:
        """A new session with a fresh id and secret."""
        session_id, secret = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
        key = keys.web_session(session_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"secret_sha256": _digest(secret), "created": f"{time.time():.0f}"})
            pipe.expire(key, self._seconds)
            await pipe.execute()
        return WebSession(session_id, secret, resumed=False)

    async def resume(self, session_id: object, secret: object, citizen: str | None = None) -> bool:
        """True when ``secret`` is the one issued with ``session_id`` and, for a session a citizen
        signed in to, ``citizen`` is that citizen (proven by a valid token now). Renews the expiry.

        A signed-in session without its sign-in is not resumed: the next person at a shared
        computer gets a new, anonymous conversation, not the previous citizen's.
        """
        if not isinstance(session_id, str) or not isinstance(secret, str):
            return False
        if not SESSION_ID.match(session_id) or not SECRET.match(secret):
            return False
        key = keys.web_session(session_id)
        stored: dict[str, str] = await self._redis.hgetall(key)
        if not stored.get("secret_sha256") or not hmac.compare_digest(stored["secret_sha256"], _digest(secret)):
            return False
        if stored.get("citizen") and stored["citizen"] != citizen:
            return False
        await self._redis.expire(key, self._seconds)
        return True

    async def sign_in(self, session_id: str, citizen: str) -> None:
        """The session is a citizen's from now on: resuming it needs that citizen's valid token."""
        await self._redis.hset(keys.web_session(session_id), "citizen", citizen)

    async def forget(self, session_id: str) -> None:
        """The session can no longer be resumed (the citizen's data is erased)."""
        await self._redis.delete(keys.web_session(session_id))
