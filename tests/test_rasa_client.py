"""The gateway's client of several Rasa processes, against fake ones on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.conversation.rasa_client import RasaClient
from bot.core.envelope import Inbound

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


@dataclass
class FakeRasa:
    """A Rasa process: ``dies`` drops the next turn's connection; not ``ready`` (restarting, the
    model loading) it takes connections but answers turns only after a long wait, and its
    channel's health is 503."""

    ready: bool = True
    dies: bool = False
    turns: int = 0

    async def webhook(self, request: web.Request) -> web.Response:
        if self.dies:
            self.dies = False
            assert request.transport is not None
            request.transport.close()  # the process went away mid-turn
            await asyncio.sleep(1)
        if not self.ready:
            await asyncio.sleep(30)
        self.turns += 1
        return web.json_response({"replies": [{"text": "hei"}], "language": "fi"})

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({}, status=200 if self.ready else 503)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/citybot/webhook", self.webhook)
        app.router.add_get("/webhooks/citybot/", self.health)
        return app


async def test_a_restarting_rasa_gets_no_messages_until_its_model_is_loaded(aiohttp_server: ServerFactory) -> None:
    """Found by CI: after a Rasa process was killed and restarted, messages sent to it while it
    loaded its model waited out the 15 s timeout (the scale-out test saw answers after 16.5 s)."""
    first, second = FakeRasa(), FakeRasa()
    servers = [await aiohttp_server(first.app()), await aiohttp_server(second.app())]
    async with aiohttp.ClientSession() as session:
        client = RasaClient(session, [f"http://127.0.0.1:{s.port}" for s in servers], "token", timeout=10)
        message = Inbound("webchat", "a", "m1", "hei")
        first.dies = True
        assert (await client.send(message)).replies[0].text == "hei"  # tried once more, on the other
        first.ready = False  # restarted, loading its model
        started = time.monotonic()
        for n in range(4):
            await client.send(Inbound("webchat", "a", f"m{n + 2}", "hei"))
        assert time.monotonic() - started < 5  # none waited for the loading process
        assert first.turns == 0 and second.turns == 5
        first.ready = True  # loaded: it takes its turn again
        for n in range(4):
            await client.send(Inbound("webchat", "a", f"r{n}", "hei"))
        assert first.turns == 2
