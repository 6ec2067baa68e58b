"""Typed keys of the gateway application's state: the services channels may call."""

from aiohttp import ClientSession, web
from redis.asyncio import Redis

from bot.conversation.delivery import Delivery
from bot.conversation.limits import RateLimits
from bot.conversation.outbox import Outbox
from bot.conversation.rasa_client import BotClient
from bot.conversation.records import Conversations
from bot.core.settings import Settings
from bot.gateway.router import Router
from bot.handoff.agents import Agents
from bot.handoff.service import HandoffDesk
from bot.mydata.in_chat import MyData
from bot.mydata.rights import DataRights
from bot.offers.desk import OfferDesk
from bot.privacy.addresses import Addresses
from bot.privacy.consent import Consents
from bot.privacy.identity import TokenVerifier
from bot.privacy.sessions import WebSessions
from bot.store.scheduler import Scheduler
from bot.systems.registry import Systems

SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", Redis)
HTTP = web.AppKey("http", ClientSession)
BOT = web.AppKey("bot", BotClient)
CONVERSATIONS = web.AppKey("conversations", Conversations)
OUTBOX = web.AppKey("outbox", Outbox)
LIMITS = web.AppKey("rate_limits", RateLimits)
ROUTER = web.AppKey("router", Router)
HANDOFF = web.AppKey("handoff", HandoffDesk)
AGENTS = web.AppKey("agents", Agents)
DELIVERY = web.AppKey("delivery", Delivery)
OFFERS = web.AppKey("offers", OfferDesk)
MYDATA = web.AppKey("mydata", MyData)
RIGHTS = web.AppKey("data_rights", DataRights)
CONSENTS = web.AppKey("consents", Consents)
ADDRESSES = web.AppKey("addresses", Addresses)
SCHEDULER = web.AppKey("scheduler", Scheduler)
SYSTEMS = web.AppKey("backoffice_systems", Systems)
VERIFIER = web.AppKey("identity_verifier", TokenVerifier)
WEB_SESSIONS = web.AppKey("web_sessions", WebSessions)
# Each optional channel's state for /readyz: "ok", or "degraded: <why>" while it retries.
CHANNEL_STATES = web.AppKey("channel_states", dict[str, str])
