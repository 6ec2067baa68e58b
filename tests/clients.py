"""Test clients: a web chat citizen (socket.io) and an agent's console (HTTP + WebSocket)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import redis
import socketio

from bot.cli.supervisor import Stack


class Citizen:
    """A socket.io client that collects what the server emits."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.secret: str | None = None  # the resume secret the server issued with our session
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        for name in ("session_confirm", "bot_uttered", "chat_error", "agent_typing"):
            self.client.on(name, self._collector(name))

    def _collector(self, name: str) -> Callable[[Any], Awaitable[None]]:
        async def collect(data: Any = None) -> None:
            await self.events.put((name, data))

        return collect

    async def next(self, timeout: float = 30) -> tuple[str, Any]:
        return await asyncio.wait_for(self.events.get(), timeout)

    async def start(
        self,
        url: str,
        session_id: str | None = None,
        protocol: str | None = "citybot",
        secret: str | None = None,
        **extra: Any,
    ) -> str:
        """Connect and ask for a session (resumed when ``secret`` is its resume secret)."""
        await self.client.connect(url, transports=["websocket"], socketio_path="socket.io")
        request = {"session_id": session_id, "protocol": protocol, "resume_secret": secret, **extra}
        await self.client.emit("session_request", request)
        name, confirmed = await self.next()
        assert name == "session_confirm"
        if isinstance(confirmed, dict):
            self.secret = confirmed.get("resume_secret") or self.secret
            return str(confirmed["session_id"])
        return str(confirmed)

    async def say(self, text: str, session_id: str, **custom: Any) -> None:
        await self.client.emit("user_uttered", {"message": text, "session_id": session_id, "customData": custom})

    async def replies(self, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        """The next ``count`` bot_uttered events (other events are skipped)."""
        got: list[dict[str, Any]] = []
        while len(got) < count:
            name, data = await self.next(timeout)
            if name == "bot_uttered":
                got.append(data)
            elif name == "chat_error":
                raise AssertionError(f"chat_error: {data}")
        return got

    async def silent(self, seconds: float) -> bool:
        """True if no bot_uttered arrives within ``seconds``."""
        try:
            while True:
                name, _ = await self.next(seconds)
                if name == "bot_uttered":
                    return False
        except asyncio.TimeoutError:
            return True


class Console:
    """An agent's console: signs in over HTTP, then talks over the WebSocket."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""
        self.ws: Any = None  # aiohttp.ClientWebSocketResponse once connected
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None

    async def sign_in(self, username: str, password: str) -> int:
        async with self.session.post(
            f"{self.base}/console/api/signin", json={"username": username, "password": password}
        ) as response:
            if response.status == 200:
                self.csrf = (await response.json())["csrf"]
            return response.status

    async def connect(self) -> None:
        self.ws = await self.session.ws_connect(f"{self.base}/console/ws", origin=self.base)
        await self.ws.send_json({"type": "hello", "csrf": self.csrf})
        self._reader = asyncio.create_task(self._read())
        await self.expect("ready")

    async def _read(self) -> None:
        assert self.ws is not None
        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                await self.inbox.put(json.loads(message.data))

    async def send(self, **payload: Any) -> None:
        assert self.ws is not None
        await self.ws.send_json(payload)

    async def expect(
        self, kind: str, where: Callable[[dict[str, Any]], bool] = lambda _: True, timeout: float = 20
    ) -> dict[str, Any]:
        """The next message of type ``kind`` that matches ``where`` (others are skipped)."""

        async def find() -> dict[str, Any]:
            while True:
                message = await self.inbox.get()
                if message["type"] == kind and where(message):
                    return message

        return await asyncio.wait_for(find(), timeout)

    async def waiting_for(self, conversation: str, timeout: float = 20) -> dict[str, Any]:
        """The queue item of ``conversation``, once the queue shows it."""
        queue = await self.expect(
            "queue", lambda m: any(w["conversation"] == conversation for w in m["waiting"]), timeout
        )
        return next(w for w in queue["waiting"] if w["conversation"] == conversation)

    async def entry(self, conversation: str, sender: str, timeout: float = 20) -> dict[str, Any]:
        """The next transcript entry from ``sender`` in ``conversation``."""
        message = await self.expect(
            "entry", lambda m: m["conversation"] == conversation and m["entry"]["from"] == sender, timeout
        )
        return dict(message["entry"])

    async def disconnect(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        self.ws = None

    async def close(self) -> None:
        await self.disconnect()
        await self.session.close()


def redis_text(stack: Stack, skip: tuple[str, ...] = ("citybot:vault:",)) -> str:
    """Every key and value in the stack's Redis, as one text to search; by default without the
    vault of masked values, the one place kept for agents to reveal them (7 days)."""
    client = redis.Redis.from_url(stack.settings.redis.url, decode_responses=True)
    parts: list[str] = []
    try:
        for key in client.scan_iter(count=1000):
            if key.startswith(skip):
                continue
            kind = client.type(key)
            parts.append(key)
            value: Any
            if kind == "string":
                value = client.get(key)
            elif kind == "hash":
                value = client.hgetall(key)
            elif kind == "list":
                value = client.lrange(key, 0, -1)
            elif kind == "set":
                value = client.smembers(key)
            elif kind == "zset":
                value = client.zrange(key, 0, -1)
            elif kind == "stream":
                value = client.xrange(key)
            else:
                value = ""
            parts.append(str(value))
    finally:
        client.close()
    return "\n".join(parts)


def logs(stack: Stack) -> str:
    return "\n".join(m.log_path.read_text(encoding="utf-8", errors="replace") for m in stack.processes)
