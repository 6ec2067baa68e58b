"""Gateway: the aiohttp application factory, its typed state, health, sweepers, and the router
that decides who answers each message (the bot, an agent, or an open question)."""

from bot.gateway.app import create_app
from bot.gateway.router import Router

__all__ = ["Router", "create_app"]
