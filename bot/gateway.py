"""The gateway: one aiohttp application in front of the bot, holding every channel.

``create_app`` opens Redis and the HTTP client to Rasa in ``cleanup_ctx`` and closes them on
shutdown; nothing connects at import time. Channels are passed in (``bot`` imports no channel):
each is a function that adds its routes and handlers to the application.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence

import aiohttp
from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.agents import Agents
from bot.conversations import Conversations
from bot.delivery import Delivery, DeliveryError
from bot.handoff import Handoff, load_handoff_config
from bot.rasa_client import RasaClient
from bot.router import Router
from bot.settings import Settings
from bot.transcript import Entry, Transcripts
from bot.typedefs import (
    AGENTS,
    BOT,
    CONVERSATIONS,
    DELIVERY,
    HANDOFF,
    HTTP,
    REDIS,
    ROUTER,
    SETTINGS,
    TRANSCRIPTS,
)

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
    app[HANDOFF] = Handoff(client, load_handoff_config(), grace_seconds=app[SETTINGS].agent_grace_seconds)
    app[TRANSCRIPTS] = Transcripts(client, app[SETTINGS].transcript_days)
    app[AGENTS] = Agents(client)
    yield
    await client.close()


async def _bot_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    session = aiohttp.ClientSession()
    app[HTTP] = session
    app[BOT] = RasaClient(session, settings.rasa_url, settings.rasa_token)
    app[ROUTER] = Router(app[CONVERSATIONS], app[BOT], app[HANDOFF], app[TRANSCRIPTS])
    yield
    await session.close()


async def requeue_abandoned(app: web.Application) -> list[str]:
    """Put back conversations whose agent went away, and tell each citizen (once)."""
    moved = await app[HANDOFF].requeue_abandoned()
    texts = app[ROUTER].texts
    for conversation in moved:
        case = await app[HANDOFF].case(conversation)
        reply = texts.reply("requeued", case.language, texts.cancel_button(case.language), control="requeued")
        await app[TRANSCRIPTS].append(conversation, [Entry("bot", reply.text, language=case.language)])
        try:
            await app[DELIVERY].send(conversation, [reply])
        except DeliveryError as error:
            logger.warning("could not tell a citizen their conversation was requeued: %s", error)
    return moved


async def _sweeper_ctx(app: web.Application) -> AsyncIterator[None]:
    """Every few seconds, in every gateway process: requeue abandoned conversations."""
    interval = max(1.0, min(10.0, app[SETTINGS].agent_grace_seconds / 4))

    async def sweep() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await requeue_abandoned(app)
            except (RedisError, OSError) as error:
                logger.warning("handoff sweep failed: %s", error.__class__.__name__)

    task = asyncio.create_task(sweep())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


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
    app[DELIVERY] = Delivery()
    app.cleanup_ctx.append(_redis_ctx)
    app.cleanup_ctx.append(_bot_ctx)
    app.cleanup_ctx.append(_sweeper_ctx)
    app.router.add_get("/healthz", healthz)
    for setup in channels:
        setup(app)
    return app
