"""Telegram in polling mode, for development: ``python -m channels.telegram``.

Uses the same router, Redis and bot as the gateway; needs CITYBOT_TELEGRAM_TOKEN (and the rest of
the service running, e.g. ``python -m bot run --no-chat``). Agents' replies reach Telegram users
from the gateway, which pushes through the Bot API when it has the same token.
"""

import asyncio
import logging

import aiohttp
from redis.asyncio import Redis

from bot.conversations import Conversations
from bot.handoff import Handoff, load_handoff_config
from bot.rasa_client import RasaClient
from bot.router import Router
from bot.settings import load_settings
from bot.transcript import Transcripts
from channels.telegram.channel import TelegramChannel, build_application


async def main() -> None:
    """Poll Telegram until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    if not settings.telegram_token:
        raise SystemExit("error: set CITYBOT_TELEGRAM_TOKEN to poll Telegram")
    address = settings.redis
    redis = Redis(host=address.host, port=address.port, db=address.db, password=address.password)
    async with aiohttp.ClientSession() as session:
        bot = RasaClient(session, settings.rasa_url, settings.rasa_token)
        handoff = Handoff(redis, load_handoff_config(), grace_seconds=settings.agent_grace_seconds)
        router = Router(Conversations(redis), bot, handoff, Transcripts(redis, settings.transcript_days))
        application = build_application(settings, polling=True)
        TelegramChannel(application, router, redis, settings)
        async with application:
            await application.start()
            assert application.updater is not None
            await application.updater.start_polling()
            try:
                await asyncio.Event().wait()
            finally:
                await application.updater.stop()
                await application.stop()
    await redis.close()


if __name__ == "__main__":
    asyncio.run(main())
