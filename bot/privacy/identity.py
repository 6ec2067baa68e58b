"""Who a conversation belongs to: anonymous until linked to a citizen (docs/offers.md).

- Web chat: the embedding page passes a token signed by the city's login service (a JWT); we
  check its signature against the configured keys, its expiry and its audience (and issuer when
  configured). The token's ``sub`` is the citizen id.
- Telegram: a signed-in citizen gets a one-time link code from the city's e-services (the
  back-office API issues it); ``/start <code>`` links the chat. Codes expire in minutes.

Links live in Redis: ``link:<conversation>`` names the citizen; ``links:<citizen>`` is the set of
the citizen's linked conversations (``bot.store.keys``). Personal details go only to linked
conversations (the offers module asks ``conversations_of``).
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from redis.asyncio import Redis

from bot.core.errors import CodedError
from bot.core.private_files import write_private
from bot.knowledge.files import read_yaml
from bot.store import keys

logger = logging.getLogger(__name__)
CODE_SECONDS = 10 * 60
CITIZEN_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")
ALGORITHMS = ("RS256", "ES256", "EdDSA", "HS256")


class IdentityError(CodedError):
    """An identity token or link code was refused; ``code`` says why (for logs and clients)."""


@dataclass(frozen=True)
class IdentityKey:
    """One key the city's login service signs with: a public key (PEM) or a shared secret."""

    kid: str
    algorithm: str
    key: str


def load_identity_keys(path: Path) -> list[IdentityKey]:
    """``keys: [{kid, alg, public_key | secret}]`` from a YAML file; [] when the file is missing."""
    if not path.exists():
        return []
    data = read_yaml(path) or {}
    loaded = []
    for entry in data.get("keys") or []:
        algorithm = str(entry.get("alg", ""))
        if algorithm not in ALGORITHMS:
            raise IdentityError("config", f"{path}: alg must be one of {', '.join(ALGORITHMS)}")
        material = entry.get("public_key") if algorithm != "HS256" else entry.get("secret")
        if not isinstance(material, str) or len(material) < 32:
            raise IdentityError("config", f"{path}: key {entry.get('kid')!r} needs its public_key or a 32+ char secret")
        loaded.append(IdentityKey(str(entry.get("kid") or ""), algorithm, material))
    return loaded


def ensure_development_key(path: Path) -> None:
    """Create a file with one random HS256 key for development and the demo, if none exists."""
    if path.exists():
        return
    secret = secrets.token_urlsafe(48)
    write_private(
        path,
        "# Keys that sign citizens' identity tokens for the web chat (see docs/offers.md).\n"
        "# Generated for development: a city puts its login service's public key here instead.\n"
        f"keys:\n  - kid: dev\n    alg: HS256\n    secret: {secret}\n",
    )


@dataclass(frozen=True)
class Identity:
    """A citizen proven by a token, until the token expires (epoch seconds)."""

    citizen_id: str
    expires_at: float


class TokenVerifier:
    """Checks identity tokens: signature by a configured key, expiry, audience, issuer."""

    def __init__(self, keys: list[IdentityKey], audience: str, issuer: str | None = None, leeway: int = 30) -> None:
        self._keys = keys
        self._audience = audience
        self._issuer = issuer
        self._leeway = leeway

    def verify(self, token: str) -> str:
        """The citizen id of a valid token; IdentityError otherwise."""
        return self.verify_identity(token).citizen_id

    def verify_identity(self, token: str) -> Identity:
        """The citizen of a valid token and until when it is valid; IdentityError otherwise."""
        if not self._keys:
            raise IdentityError("not_configured", "this service accepts no identity tokens")
        if not isinstance(token, str) or len(token) > 4096 or token.count(".") != 2:
            raise IdentityError("malformed", "not a signed token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise IdentityError("malformed", "not a signed token") from exc
        candidates = [k for k in self._keys if not header.get("kid") or k.kid == header.get("kid")]
        candidates = [k for k in candidates if k.algorithm == header.get("alg")]
        if not candidates:
            raise IdentityError("forged", "signed with an unknown key or algorithm")
        options = {"require": ["exp", "sub", "aud"]}
        last: Exception | None = None
        for key in candidates:
            try:
                claims: dict[str, Any] = jwt.decode(
                    token,
                    key.key,
                    algorithms=[key.algorithm],
                    audience=self._audience,
                    issuer=self._issuer,
                    leeway=self._leeway,
                    options=options,  # type: ignore[arg-type]
                )
            except jwt.ExpiredSignatureError as exc:
                raise IdentityError("expired", "the sign-in has expired") from exc
            except (jwt.InvalidAudienceError, jwt.InvalidIssuerError) as exc:
                raise IdentityError("audience", "the token is for another service") from exc
            except jwt.PyJWTError as exc:
                last = exc
                continue
            subject = claims.get("sub")
            if not isinstance(subject, str) or not CITIZEN_ID.match(subject):
                raise IdentityError("malformed", "the token names no valid citizen")
            return Identity(subject, float(claims["exp"]))
        raise IdentityError("forged", "the signature does not verify") from last


def development_token(path: Path, citizen_id: str, audience: str, minutes: int = 60) -> str:
    """A token signed with the development key (the demo and tests stand in for the login service)."""
    keys = [k for k in load_identity_keys(path) if k.algorithm == "HS256"]
    if not keys:
        raise IdentityError("not_configured", f"{path} has no HS256 development key")
    claims = {"sub": citizen_id, "aud": audience, "exp": int(time.time()) + minutes * 60, "iat": int(time.time())}
    return jwt.encode(claims, keys[0].key, algorithm="HS256", headers={"kid": keys[0].kid})


class Links:
    """Links between conversations and citizens, and one-time link codes (keys ``link:``,
    ``links:`` and ``linkcode:``)."""

    def __init__(self, redis: Redis, retention_days: int = 365) -> None:
        self._redis = redis
        self._retention = retention_days * 86400  # from when the link was made

    async def link(self, conversation_id: str, citizen_id: str, via: str, expires_at: float | None = None) -> None:
        """Link a conversation to a citizen (replacing another citizen's link, if any).

        ``expires_at``: a link made by a sign-in lasts only as long as the sign-in's token.
        """
        previous = await self.citizen_of(conversation_id)
        mapping = {"citizen_id": citizen_id, "linked_at": f"{time.time():.0f}", "linked_via": via}
        if expires_at is not None:
            mapping["expires_at"] = f"{expires_at:.0f}"
        async with self._redis.pipeline(transaction=True) as pipe:
            if previous and previous != citizen_id:
                pipe.srem(keys.citizen_links(previous), conversation_id)
            pipe.delete(keys.link(conversation_id))
            pipe.hset(keys.link(conversation_id), mapping=mapping)
            pipe.expire(keys.link(conversation_id), self._retention)
            pipe.sadd(keys.citizen_links(citizen_id), conversation_id)
            pipe.expire(keys.citizen_links(citizen_id), self._retention)
            await pipe.execute()
        logger.info("a %s conversation was linked to a citizen (via %s)", conversation_id.split(":")[0], via)

    async def unlink(self, conversation_id: str) -> str | None:
        """Remove the conversation's link; returns the citizen it was linked to."""
        citizen = await self.citizen_of(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.link(conversation_id))
            if citizen:
                pipe.srem(keys.citizen_links(citizen), conversation_id)
            await pipe.execute()
        return citizen

    async def citizen_of(self, conversation_id: str) -> str | None:
        """The linked citizen, or None for an anonymous conversation (or a sign-in that expired)."""
        link: dict[str, str] = await self._redis.hgetall(keys.link(conversation_id))
        if not link.get("citizen_id"):
            return None
        if link.get("expires_at") and float(link["expires_at"]) <= time.time():
            # The sign-in ended: no personal data goes there any more. The conversation stays in the
            # citizen's set (``known_conversations``), so export and erasure still find it.
            await self._redis.delete(keys.link(conversation_id))
            return None
        return link["citizen_id"]

    async def record(self, conversation_id: str) -> dict[str, str]:
        """The link as stored (citizen, when, how), for the citizen's data export."""
        record: dict[str, str] = await self._redis.hgetall(keys.link(conversation_id))
        return record

    async def conversations_of(self, citizen_id: str) -> list[str]:
        """The citizen's linked conversations (those whose sign-in has expired are unlinked)."""
        members = sorted(await self._redis.smembers(keys.citizen_links(citizen_id)))
        return [c for c in members if await self.citizen_of(c) == citizen_id]

    async def known_conversations(self, citizen_id: str) -> list[str]:
        """Every conversation linked to the citizen and not unlinked by them, even after its sign-in
        expired: what an export shows and an erasure deletes."""
        return sorted(await self._redis.smembers(keys.citizen_links(citizen_id)))

    async def forget_citizen(self, citizen_id: str) -> list[str]:
        """Unlink every conversation of the citizen; returns them."""
        conversations = await self.known_conversations(citizen_id)
        for conversation in conversations:
            await self.unlink(conversation)
        await self._redis.delete(keys.citizen_links(citizen_id))
        return conversations

    async def issue_code(self, citizen_id: str, seconds: int = CODE_SECONDS) -> str:
        """A one-time code that links the chat that sends it (Telegram's ``/start <code>``)."""
        if not CITIZEN_ID.match(citizen_id):
            raise IdentityError("malformed", "not a valid citizen id")
        code = secrets.token_urlsafe(12)
        await self._redis.set(keys.link_code(code), citizen_id, ex=seconds)
        return code

    async def redeem(self, code: str) -> str:
        """The citizen of a valid code, which is used up; IdentityError for a wrong or old one."""
        if not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", code or ""):
            raise IdentityError("invalid_code", "not a link code")
        citizen: str | None = await self._redis.getdel(keys.link_code(code))
        if citizen is None:
            raise IdentityError("invalid_code", "the code is wrong, used or expired")
        return citizen
