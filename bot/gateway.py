"""The gateway: one aiohttp application in front of the bot, holding every channel.

``create_app`` opens Redis and the HTTP client to Rasa in ``cleanup_ctx`` and closes them on
shutdown; nothing connects at import time. Channels are passed in (``bot`` imports no channel):
each is a function that adds its routes and handlers to the application.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.agents import Agents
from bot.callbacks import Callbacks, Systems
from bot.consent import Consents
from bot.conversations import Conversations
from bot.delivery import Delivery, DeliveryError
from bot.handoff import Handoff, load_handoff_config
from bot.identity import Links, TokenVerifier, ensure_development_key, load_identity_keys
from bot.offer_desk import OfferDesk
from bot.offer_texts import load_offer_texts
from bot.offers import Offers
from bot.rasa_client import RasaClient
from bot.router import Router
from bot.scheduler import Scheduler
from bot.settings import Settings
from bot.transcript import Entry, Transcripts
from bot.typedefs import (
    AGENTS,
    BOT,
    CONVERSATIONS,
    DELIVERY,
    DESK,
    HANDOFF,
    HTTP,
    REDIS,
    ROUTER,
    SCHEDULER,
    SETTINGS,
    SYSTEMS,
    TRANSCRIPTS,
    VERIFIER,
)

logger = logging.getLogger(__name__)
ChannelSetup = Callable[[web.Application], None]


async def shut(closing: Awaitable[Any], what: str, seconds: float = 5.0) -> None:
    """Await one step of shutting down, at most ``seconds``: a stuck client never blocks a stop."""
    try:
        await asyncio.wait_for(closing, seconds)
    except asyncio.CancelledError:
        pass
    except asyncio.TimeoutError:
        logger.warning("shutting down: %s did not close in %.0f s", what, seconds)
    except (RedisError, OSError, aiohttp.ClientError) as error:
        logger.info("shutting down: %s: %s", what, error.__class__.__name__)


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
    await shut(client.close(), "redis client")


async def _bot_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    session = aiohttp.ClientSession()
    app[HTTP] = session
    app[BOT] = RasaClient(session, settings.rasa_url, settings.rasa_token)
    redis = app[REDIS]
    scheduler = Scheduler(redis)
    app[SCHEDULER] = scheduler
    callbacks = Callbacks(redis, scheduler, session, app[SYSTEMS], base_delay=settings.callback_base_delay)
    app[DESK] = OfferDesk(
        redis,
        Offers(redis),
        Links(redis),
        Consents(redis),
        app[TRANSCRIPTS],
        app[DELIVERY],
        scheduler,
        callbacks,
        load_offer_texts(),
        retention_days=settings.transcript_days,
    )
    app[ROUTER] = Router(app[CONVERSATIONS], app[BOT], app[HANDOFF], app[TRANSCRIPTS], app[DESK])
    yield
    await shut(session.close(), "http session")


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
    """In every gateway process: requeue abandoned conversations, run due scheduled jobs."""
    interval = max(1.0, min(10.0, app[SETTINGS].agent_grace_seconds / 4))

    async def sweep() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await requeue_abandoned(app)
            except (RedisError, OSError) as error:
                logger.warning("handoff sweep failed: %s", error.__class__.__name__)

    tasks = [asyncio.create_task(sweep()), asyncio.create_task(app[SCHEDULER].run_forever(1.0))]
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        await shut(task, "background task")


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
    app[SYSTEMS] = Systems(settings.backoffice_file)
    ensure_development_key(settings.identity_keys_file)
    app[VERIFIER] = TokenVerifier(
        load_identity_keys(settings.identity_keys_file), settings.identity_audience, settings.identity_issuer
    )
    app.cleanup_ctx.append(_redis_ctx)
    app.cleanup_ctx.append(_bot_ctx)
    app.cleanup_ctx.append(_sweeper_ctx)
    app.router.add_get("/healthz", healthz)
    for setup in channels:
        setup(app)
    return app
