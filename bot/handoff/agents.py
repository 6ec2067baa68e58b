"""Support agents' accounts, sign-in and console sessions, in Redis.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile) and
re-hashed on sign-in when the parameters change. Sign-in attempts are throttled per username
and per client address (``sign_in``): a few free failures, then a delay that doubles (capped at
60 s per username, 10 s per address, where a whole office may share one address); the owner's
right password is accepted once the delay has passed. Sessions are random tokens (the cookie) that
expire after ``session_hours`` without use; each carries its own CSRF token.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis.asyncio import Redis

from bot.core.errors import CodedError
from bot.core.i18n import LANGUAGES
from bot.store import keys

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
MIN_PASSWORD_CHARS = 12
_HASHER = PasswordHasher()
# A hash to verify against when the username does not exist, so both cases take as long.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class AgentError(CodedError):
    """An agent account operation that cannot be done; ``code`` says which rule failed."""


class ThrottledError(AgentError):
    """A sign-in refused unchecked: the username or address must wait ``retry_after`` seconds."""

    def __init__(self, code: str, message: str, retry_after: float) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


# Admit a sign-in attempt, or say how long to wait. KEYS: the username's and the address's
# throttle hashes {failures, next_at}. ARGV: now, free failures and delay cap for the username,
# the same for the address, the window (seconds) after which a throttle is forgotten.
# Returns the seconds to wait (a string), "0" when admitted; an admitted attempt counts as a
# failure at once and is taken back on success.
_ADMIT = """
local now = tonumber(ARGV[1])
local wait = 0
for i = 1, 2 do
  local next_at = tonumber(redis.call('HGET', KEYS[i], 'next_at') or '0')
  if next_at - now > wait then wait = next_at - now end
end
if wait > 0 then return tostring(wait) end
for i = 1, 2 do
  local free, cap = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local failures = redis.call('HINCRBY', KEYS[i], 'failures', 1)
  if failures > free then
    redis.call('HSET', KEYS[i], 'next_at', tostring(now + math.min(2 ^ (failures - free - 1), cap)))
  else
    redis.call('HDEL', KEYS[i], 'next_at')
  end
  redis.call('EXPIRE', KEYS[i], tonumber(ARGV[6]))
end
return '0'
"""


@dataclass(frozen=True)
class Agent:
    """One support agent."""

    username: str
    name: str
    queues: tuple[str, ...]  # the queues (languages) the agent serves
    admin: bool = False


@dataclass(frozen=True)
class Session:
    """A signed-in console session."""

    token: str
    username: str
    csrf: str

    def csrf_ok(self, given: str | None) -> bool:
        """Constant-time check of a request's CSRF token."""
        return bool(given) and hmac.compare_digest(str(given).encode(), self.csrf.encode())


class Agents:
    """Accounts, sign-in with attempt limits, and sessions."""

    def __init__(
        self,
        redis: Redis,
        *,
        free_failures: int = 3,
        free_failures_per_address: int = 20,
        max_delay_seconds: float = 60.0,
        max_delay_per_address_seconds: float = 10.0,
        failure_window_seconds: int = 15 * 60,
        session_hours: float = 12.0,
        grace_seconds: float = 60.0,
    ) -> None:
        self._redis = redis
        self.grace_seconds = grace_seconds
        self._limits = (free_failures, max_delay_seconds, free_failures_per_address, max_delay_per_address_seconds)
        self._window = failure_window_seconds
        self._admit = redis.register_script(_ADMIT)
        self._session_seconds = int(session_hours * 3600)

    # -- accounts ---------------------------------------------------------------------------------

    async def create(
        self, username: str, name: str, password: str, queues: tuple[str, ...] = LANGUAGES, admin: bool = False
    ) -> Agent:
        """Add an agent; the username must be new."""
        username = username.strip().lower()
        if not USERNAME.match(username):
            raise AgentError("bad_username", "a username is 2-40 of a-z, 0-9, '.', '_' or '-'")
        _check_password(password)
        unknown = [q for q in queues if q not in LANGUAGES]
        if unknown or not queues:
            raise AgentError("bad_queues", f"queues must be some of {', '.join(LANGUAGES)}")
        mapping = {
            "name": name.strip() or username,
            "password": _HASHER.hash(password),
            "queues": ",".join(queues),
            "admin": "1" if admin else "",
            "created": f"{time.time():.0f}",
        }
        if not await self._redis.hsetnx(keys.agent(username), "password", mapping["password"]):
            raise AgentError("exists", f"an agent called {username} exists already")
        await self._redis.hset(keys.agent(username), mapping=mapping)
        await self._redis.sadd(keys.AGENTS, username)
        return Agent(username, mapping["name"], tuple(queues), admin)

    async def set_password(self, username: str, password: str) -> None:
        """Replace an agent's password and sign out all their sessions."""
        _check_password(password)
        if not await self._redis.exists(keys.agent(username)):
            raise AgentError("unknown", f"no agent called {username}")
        await self._redis.hset(keys.agent(username), "password", _HASHER.hash(password))
        await self._drop_sessions(username)

    async def remove(self, username: str) -> None:
        """Delete an agent and their sessions."""
        if not await self._redis.delete(keys.agent(username)):
            raise AgentError("unknown", f"no agent called {username}")
        await self._redis.srem(keys.AGENTS, username)
        await self._drop_sessions(username)

    async def get(self, username: str) -> Agent | None:
        """The agent, or None."""
        data: dict[str, str] = await self._redis.hgetall(keys.agent(username))
        if not data:
            return None
        return Agent(
            username,
            data.get("name", username),
            tuple(filter(None, data.get("queues", "").split(","))),
            bool(data.get("admin")),
        )

    async def all(self) -> list[Agent]:
        """Every agent, by username."""
        names = sorted(await self._redis.smembers(keys.AGENTS))
        agents = [await self.get(name) for name in names]
        return [a for a in agents if a is not None]

    # -- sign-in ----------------------------------------------------------------------------------

    async def sign_in(self, username: str, password: str, client: str, now: float | None = None) -> Session:
        """A new session for the right password; AgentError ``wrong`` or ``too_many`` otherwise.

        Every attempt is counted before its password is checked, in one step (a Lua script), so
        attempts sent at once are counted one by one; after a few free failures each further
        attempt of the username, or from the address, must wait a delay that doubles up to a cap.
        A right password after the wait is always accepted: the owner is slowed, never locked out.
        """
        username = username.strip().lower()
        throttle = [keys.signin_failures_by_user(username), keys.signin_failures_by_address(client)]
        moment = time.time() if now is None else now
        # Milliseconds: Lua keeps 14 significant digits, so a finer time would round past itself.
        wait = float(await self._admit(keys=throttle, args=[f"{moment:.3f}", *self._limits, self._window]))
        if wait > 0:
            raise ThrottledError("too_many", "too many failed sign-ins; try again later", wait)
        stored = await self._redis.hget(keys.agent(username), "password") if USERNAME.match(username) else None
        try:
            _HASHER.verify(stored if stored else _DUMMY_HASH, password)
            ok = stored is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:  # counted already
            raise AgentError("wrong", "wrong username or password")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(throttle[0])  # the username starts afresh
            pipe.hincrby(throttle[1], "failures", -1)  # a success is no failure of the address
            await pipe.execute()
        if stored and _HASHER.check_needs_rehash(stored):
            await self._redis.hset(keys.agent(username), "password", _HASHER.hash(password))
        await self.set_away(username, False)  # a sign-in starts available
        return await self._new_session(username)

    async def _new_session(self, username: str) -> Session:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        key = keys.console_session(token)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"username": username, "csrf": csrf})
            pipe.expire(key, self._session_seconds)
            pipe.sadd(keys.console_sessions(username), token)
            pipe.expire(keys.console_sessions(username), self._session_seconds)  # lives as its newest session
            await pipe.execute()
        return Session(token, username, csrf)

    async def session(self, token: str | None) -> Session | None:
        """The live session for a cookie value (its expiry is renewed), or None."""
        if not token or len(token) > 100:
            return None
        key = keys.console_session(token)
        data: dict[str, str] = await self._redis.hgetall(key)
        if not data.get("username") or not await self._redis.exists(keys.agent(data["username"])):
            return None
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.expire(key, self._session_seconds)
            pipe.expire(keys.console_sessions(data["username"]), self._session_seconds)
            await pipe.execute()
        return Session(token, data["username"], data.get("csrf", ""))

    async def sign_out(self, session: Session) -> None:
        """End one session."""
        await self._redis.delete(keys.console_session(session.token))
        await self._redis.srem(keys.console_sessions(session.username), session.token)

    async def _drop_sessions(self, username: str) -> None:
        tokens = await self._redis.smembers(keys.console_sessions(username))
        if tokens:
            await self._redis.delete(*[keys.console_session(t) for t in tokens])
        await self._redis.delete(keys.console_sessions(username))

    # -- presence: whose console is connected ------------------------------------------------------

    async def heartbeat(self, username: str) -> None:
        """A console of the agent is connected now."""
        await self._redis.zadd(keys.AGENTS_ONLINE, {username: time.time()})

    async def offline(self, username: str) -> None:
        """The agent signed out: not online any more (their cases follow the grace rule)."""
        await self._redis.zadd(keys.AGENTS_ONLINE, {username: time.time() - self.grace_seconds - 1})

    async def last_seen(self, username: str) -> float | None:
        """When a console of the agent was last connected (epoch seconds), or None."""
        seen: float | None = await self._redis.zscore(keys.AGENTS_ONLINE, username)
        return seen

    async def set_away(self, username: str, away: bool) -> None:
        """The agent's status: away (their console stays open, they take no new conversations and
        count for no queue) or available."""
        if away:
            await self._redis.hset(keys.agent(username), "away", "1")
        else:
            await self._redis.hdel(keys.agent(username), "away")

    async def is_away(self, username: str) -> bool:
        """True when the agent said they are away."""
        return bool(await self._redis.hget(keys.agent(username), "away"))

    async def online(self, queue: str | None = None) -> list[str]:
        """Usernames with a console connected in the last ``grace_seconds`` and available, not
        away (serving ``queue``): who can take a conversation now."""
        cutoff = time.time() - self.grace_seconds
        names: list[str] = await self._redis.zrangebyscore(keys.AGENTS_ONLINE, cutoff, "+inf")
        result = []
        for name in names:
            queues, away = await self._redis.hmget(keys.agent(name), ["queues", "away"])
            if away:
                continue
            if queue is None or queues is None or queue in queues.split(","):
                result.append(name)
        return result

    async def reset_presence(self) -> None:
        """Nobody is online (tests start from here)."""
        await self._redis.delete(keys.AGENTS_ONLINE)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AgentError("weak_password", f"a password needs at least {MIN_PASSWORD_CHARS} characters")
