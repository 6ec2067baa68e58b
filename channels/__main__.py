"""Run the gateway: ``python -m channels`` (started by ``python -m bot run``)."""

import logging

from aiohttp import web

from bot.core.settings import load_settings
from bot.gateway.access_log import TemplateAccessLogger
from bot.gateway.app import create_app
from channels.backoffice import setup_backoffice
from channels.console import setup_console
from channels.telegram import setup_telegram
from channels.webchat import setup_webchat
from channels.whatsapp import setup_whatsapp


def main() -> None:
    """Serve the gateway with every channel on the configured host and port."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    app = create_app(settings, [setup_webchat, setup_telegram, setup_whatsapp, setup_console, setup_backoffice])
    web.run_app(
        app,
        host=settings.gateway_host,
        port=settings.gateway_port,
        print=None,
        shutdown_timeout=5,
        access_log_class=TemplateAccessLogger,  # route templates, never a citizen's id (issue 14)
    )


if __name__ == "__main__":
    main()
