"""Typed keys of the gateway application's state."""

from aiohttp import ClientSession, web
from redis.asyncio import Redis

from bot.agents import Agents
from bot.callbacks import Systems
from bot.conversations import Conversations
from bot.delivery import Delivery
from bot.handoff import Handoff
from bot.identity import TokenVerifier
from bot.offer_desk import OfferDesk
from bot.rasa_client import RasaClient
from bot.router import Router
from bot.scheduler import Scheduler
from bot.settings import Settings
from bot.transcript import Transcripts

SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", Redis)
HTTP = web.AppKey("http", ClientSession)
BOT = web.AppKey("bot", RasaClient)
CONVERSATIONS = web.AppKey("conversations", Conversations)
ROUTER = web.AppKey("router", Router)
HANDOFF = web.AppKey("handoff", Handoff)
TRANSCRIPTS = web.AppKey("transcripts", Transcripts)
AGENTS = web.AppKey("agents", Agents)
DELIVERY = web.AppKey("delivery", Delivery)
DESK = web.AppKey("offer_desk", OfferDesk)
SCHEDULER = web.AppKey("scheduler", Scheduler)
SYSTEMS = web.AppKey("backoffice_systems", Systems)
VERIFIER = web.AppKey("identity_verifier", TokenVerifier)
