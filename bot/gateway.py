"""The gateway: one aiohttp application in front of the bot, holding every channel.

``create_app`` opens Redis and the HTTP client to Rasa in ``cleanup_ctx`` and closes them on
shutdown; nothing connects at import time. Channels are passed in (``bot`` imports no channel):
each is a function that adds its routes and handlers to the application.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence

import aiohttp
from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.conversations import Conversations
from bot.rasa_client import RasaClient
from bot.router import Router
from bot.settings import Settings
from bot.typedefs import BOT, CONVERSATIONS, HTTP, REDIS, ROUTER, SETTINGS

logger = logging.getLogger(__name__)
ChannelSetup = Callable[[web.Application], None]


async def _redis_ctx(app: web.Application) -> AsyncIterator[None]:
    address = app[SETTINGS].redis
    client = Redis(
        host=address.host,
        port=address.port,
        db=address.db,
        password=address.password,
        socket_timeout=5,
        socket_connect_timeout=3,
    )
    app[REDIS] = client
    app[CONVERSATIONS] = Conversations(client)
    yield
    await client.close()


async def _bot_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    session = aiohttp.ClientSession()
    app[HTTP] = session
    app[BOT] = RasaClient(session, settings.rasa_url, settings.rasa_token)
    app[ROUTER] = Router(app[CONVERSATIONS], app[BOT])
    yield
    await session.close()


async def healthz(request: web.Request) -> web.Response:
    """Each dependency's state; 503 when any is down (never a silent fallback)."""
    checks: dict[str, str] = {}
    try:
        await request.app[REDIS].ping()
        checks["redis"] = "ok"
    except (RedisError, OSError) as exc:
        checks["redis"] = f"down: {exc.__class__.__name__}"
    checks["bot"] = "ok" if await request.app[BOT].healthy() else "down"
    healthy = all(value == "ok" for value in checks.values())
    return web.json_response(
        {"status": "ok" if healthy else "degraded", "checks": checks}, status=200 if healthy else 503
    )


def create_app(settings: Settings, channels: Sequence[ChannelSetup] = ()) -> web.Application:
    """The gateway application with the given channels."""
    app = web.Application(client_max_size=64 * 1024)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_redis_ctx)
    app.cleanup_ctx.append(_bot_ctx)
    app.router.add_get("/healthz", healthz)
    for setup in channels:
        setup(app)
    return app
