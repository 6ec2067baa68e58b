"""Typed keys of the gateway application's state."""

from aiohttp import ClientSession, web
from redis.asyncio import Redis

from bot.conversations import Conversations
from bot.rasa_client import RasaClient
from bot.router import Router
from bot.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", Redis)
HTTP = web.AppKey("http", ClientSession)
BOT = web.AppKey("bot", RasaClient)
CONVERSATIONS = web.AppKey("conversations", Conversations)
ROUTER = web.AppKey("router", Router)
