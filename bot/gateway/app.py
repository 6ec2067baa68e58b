"""The gateway: one aiohttp application in front of the bot, holding every channel.

``create_app`` builds the services in ``cleanup_ctx`` (Redis and the HTTP client to Rasa are
opened there and closed on shutdown; nothing connects at import time). Channels are passed in
(``bot`` imports no channel): each is a function that adds its routes and handlers.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import platform
from collections.abc import AsyncIterator, Callable, Sequence

import aiohttp
import redis
from aiohttp import web
from redis.exceptions import RedisError

from bot.conversation.delivery import Delivery
from bot.conversation.rasa_client import RasaClient
from bot.core.settings import Settings
from bot.core.shutdown import shut
from bot.gateway.metrics import metrics
from bot.gateway.services import build_services
from bot.gateway.typedefs import (
    ADDRESSES,
    AGENTS,
    BOT,
    CHANNEL_STATES,
    CONSENTS,
    CONVERSATIONS,
    DELIVERY,
    HANDOFF,
    HTTP,
    LIMITS,
    MYDATA,
    OFFERS,
    OUTBOX,
    REDIS,
    RIGHTS,
    ROUTER,
    SCHEDULER,
    SETTINGS,
    SYSTEMS,
    VERIFIER,
    WEB_SESSIONS,
)
from bot.knowledge.vocabulary import known_words
from bot.privacy.identity import TokenVerifier, ensure_development_key, load_identity_keys
from bot.safety.classifier import load_model
from bot.store.aof import rewrite_daily
from bot.store.redis import connect
from bot.systems.registry import Systems

logger = logging.getLogger(__name__)
ChannelSetup = Callable[[web.Application], None]


async def _services_ctx(app: web.Application) -> AsyncIterator[None]:
    """Redis, the HTTP client to Rasa, and every service built on them."""
    settings = app[SETTINGS]
    redis = connect(settings.redis)
    session = aiohttp.ClientSession()
    bot = RasaClient(session, settings.bot_urls, settings.rasa_token, timeout=settings.bot_timeout_seconds)
    services = build_services(settings, redis, bot, app[DELIVERY], app[SYSTEMS], session)
    # Built before the first message, not on it: the safety model (3 s) and the vocabulary the
    # router checks every message against (every training and knowledge file read once).
    await asyncio.get_running_loop().run_in_executor(None, load_model)
    await asyncio.get_running_loop().run_in_executor(None, known_words)
    app[REDIS], app[HTTP], app[BOT] = redis, session, bot
    app[CONVERSATIONS], app[OUTBOX], app[AGENTS] = services.conversations, services.outbox, services.agents
    app[LIMITS] = services.limits
    app[CONSENTS], app[SCHEDULER], app[ROUTER] = services.consents, services.scheduler, services.router
    app[ADDRESSES] = services.addresses
    app[HANDOFF], app[OFFERS] = services.handoff, services.offers
    app[MYDATA], app[RIGHTS], app[WEB_SESSIONS] = services.mydata, services.rights, services.web_sessions
    yield
    await shut(services.callbacks.close(), "callback client")
    await shut(session.close(), "http session")
    await shut(redis.aclose(), "redis client")


async def _sweeper_ctx(app: web.Application) -> AsyncIterator[None]:
    """In every gateway process: requeue abandoned conversations, run due scheduled jobs, and once a
    day (one gateway) have Redis rewrite its append-only file (bot/store/aof.py)."""
    interval = max(1.0, min(10.0, app[SETTINGS].agent_grace_seconds / 4))

    async def sweep() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await app[HANDOFF].requeue_abandoned()
                await rewrite_daily(app[REDIS])  # expired data out of the append-only file
            except (RedisError, OSError) as error:
                logger.warning("handoff sweep failed: %s", error.__class__.__name__)

    tasks = [asyncio.create_task(sweep()), asyncio.create_task(app[SCHEDULER].run_forever(1.0))]
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        await shut(task, "background task")


def runtime() -> dict[str, str]:
    """What this gateway process runs on (for operators and security reviews)."""
    return {
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "redis-py": redis.__version__,
        "python-socketio": importlib.metadata.version("python-socketio"),
        "python-telegram-bot": importlib.metadata.version("python-telegram-bot"),
    }


async def healthz(request: web.Request) -> web.Response:
    """Liveness: this process serves requests (an orchestrator restarts it when this fails)."""
    return web.json_response({"status": "alive", "runtime": runtime()})


async def _actions_ok(request: web.Request) -> bool:
    url = request.app[SETTINGS].actions_url.removesuffix("/webhook") + "/health"
    try:
        async with request.app[HTTP].get(url, timeout=aiohttp.ClientTimeout(total=3)) as response:
            return response.status == 200
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return False


async def readyz(request: web.Request) -> web.Response:
    """Readiness: 503 while Redis, the bot (Rasa) or its action server cannot be reached (never
    a silent fallback); a channel that is retrying its start (Telegram's API unreachable) is
    reported as degraded, but does not make the gateway unready: web chat and the console work."""
    checks: dict[str, str] = {}
    try:
        await request.app[REDIS].ping()
        checks["redis"] = "ok"
    except (RedisError, OSError) as exc:
        checks["redis"] = f"down: {exc.__class__.__name__}"
    bot_ok, actions_ok = await asyncio.gather(request.app[BOT].healthy(), _actions_ok(request))
    checks["bot"] = "ok" if bot_ok else "down"
    checks["actions"] = "ok" if actions_ok else "down"
    ready = all(value == "ok" for value in checks.values())
    channels = request.app[CHANNEL_STATES].copy()
    status = "ok" if ready and all(v == "ok" for v in channels.values()) else "degraded"
    return web.json_response({"status": status, "checks": checks, "channels": channels}, status=200 if ready else 503)


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
    app.cleanup_ctx.append(_services_ctx)
    app.cleanup_ctx.append(_sweeper_ctx)
    app[CHANNEL_STATES] = {}
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    for setup in channels:
        setup(app)
    return app
