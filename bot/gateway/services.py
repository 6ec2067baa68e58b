"""Every service of a gateway process, built from its resources in one place.

The app factory builds them once per process; the fast core tests build them around an
embedded Redis and a fake bot, without Rasa or aiohttp.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from redis.asyncio import Redis

from bot.conversation.claims import Claims
from bot.conversation.delivery import Delivery
from bot.conversation.limits import RateLimits
from bot.conversation.outbox import Outbox
from bot.conversation.questions import Questions
from bot.conversation.rasa_client import BotClient
from bot.conversation.records import Conversations
from bot.conversation.trackers import Trackers
from bot.conversation.transcripts import Transcripts
from bot.core.private_files import generated_secret
from bot.core.settings import Settings
from bot.gateway.router import Router
from bot.handoff.agents import Agents
from bot.handoff.cases import Handoff
from bot.handoff.service import HandoffDesk
from bot.knowledge.handoff_config import load_handoff_config
from bot.mydata.in_chat import MyData
from bot.mydata.rights import DataRights
from bot.offers.desk import OfferDesk
from bot.offers.store import Offers
from bot.offers.texts import load_offer_texts
from bot.privacy.addresses import Addresses
from bot.privacy.audit import AuditLog
from bot.privacy.consent import Consents
from bot.privacy.identity import Links
from bot.privacy.sessions import WebSessions
from bot.privacy.vault import Vault
from bot.store.scheduler import Scheduler
from bot.systems.callbacks import Callbacks
from bot.systems.registry import Systems


@dataclass(frozen=True)
class Services:
    """The services of one gateway process (all state is in Redis; these hold none)."""

    conversations: Conversations
    transcripts: Transcripts
    questions: Questions
    outbox: Outbox
    limits: RateLimits
    links: Links
    addresses: Addresses
    consents: Consents
    web_sessions: WebSessions
    agents: Agents
    scheduler: Scheduler
    callbacks: Callbacks
    cases: Handoff
    handoff: HandoffDesk
    offers: OfferDesk
    mydata: MyData
    rights: DataRights
    router: Router


def build_services(
    settings: Settings,
    redis: Redis,
    bot: BotClient,
    delivery: Delivery,
    systems: Systems,
    session: aiohttp.ClientSession,
) -> Services:
    """Wire the services of a gateway process around its Redis client, bot client and delivery."""
    conversations = Conversations(redis, settings.transcript_days)
    transcripts = Transcripts(redis, settings.transcript_days)
    questions, outbox = Questions(redis), Outbox(redis, settings.transcript_days)
    links, consents = Links(redis, settings.link_days), Consents(redis, settings.consent_days)
    offers = Offers(redis, settings.offer_days)
    agents = Agents(redis, grace_seconds=settings.agent_grace_seconds)
    cases = Handoff(redis, load_handoff_config(), agents, settings.transcript_days)
    scheduler = Scheduler(redis)
    callbacks = Callbacks(redis, scheduler, session, systems, base_delay=settings.callback_base_delay)
    texts = load_offer_texts()
    web_sessions = WebSessions(redis, settings.transcript_days)
    trackers = Trackers(redis)
    audit, vault = AuditLog(redis, settings.audit_days), Vault(redis, settings.vault_days)
    pseudonym_key = settings.pseudonym_key or generated_secret(settings.data_dir / "secrets" / "pseudonym_key")
    addresses = Addresses(redis, pseudonym_key, settings.transcript_days)
    retention = {
        "chat": settings.transcript_days,
        "links": settings.link_days,
        "offers": settings.offer_days,
        "consents": settings.consent_days,
        "audit_log": settings.audit_days,
        "masked_values": settings.vault_days,
    }
    rights = DataRights(
        links,
        consents,
        offers,
        conversations,
        transcripts,
        outbox,
        questions,
        trackers,
        cases,
        web_sessions,
        redis,
        audit,
        vault,
        addresses,
        retention,
    )
    handoff = HandoffDesk(cases, transcripts, delivery, conversations, bot, vault, links)
    offer_desk = OfferDesk(
        offers, links, consents, conversations, questions, transcripts, delivery, scheduler, callbacks, texts
    )
    mydata = MyData(links, consents, offers, conversations, questions, rights, texts, settings.transcript_days)
    claims = Claims(redis)
    router = Router(
        conversations,
        questions,
        transcripts,
        bot,
        handoff,
        offer_desk,
        mydata,
        claims,
        vault,
        repeat_wait=settings.bot_timeout_seconds + 5,
        stats=cases.stats,
    )
    return Services(
        conversations=conversations,
        transcripts=transcripts,
        questions=questions,
        outbox=outbox,
        limits=RateLimits(redis, settings.max_messages_per_minute),
        links=links,
        addresses=addresses,
        consents=consents,
        web_sessions=web_sessions,
        agents=agents,
        scheduler=scheduler,
        callbacks=callbacks,
        cases=cases,
        handoff=handoff,
        offers=offer_desk,
        mydata=mydata,
        rights=rights,
        router=router,
    )
