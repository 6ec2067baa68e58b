"""Telegram in polling mode, for development: ``python -m channels.telegram``.

The same gateway application as ``python -m channels`` (one app factory), with only the
Telegram channel, polling instead of a webhook, and no port of its own. Needs
CITYBOT_TELEGRAM_TOKEN and the rest of the service running (``python -m bot run --no-chat``).
"""

import asyncio
import functools
import logging

from aiohttp import web

from bot.core.settings import load_settings
from bot.gateway.app import create_app
from channels.telegram.channel import setup_telegram


async def main() -> None:
    """Poll Telegram until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    if not settings.telegram_token:
        raise SystemExit("error: set CITYBOT_TELEGRAM_TOKEN to poll Telegram")
    app = create_app(settings, [functools.partial(setup_telegram, polling=True)])
    runner = web.AppRunner(app)
    await runner.setup()  # runs the cleanup contexts: services, sweepers, the poller
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
