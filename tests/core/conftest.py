"""Fast core tests: the domain services against a real Redis (the embedded one), no Rasa.

One redis-server for the session; every test gets a clean client (``flushdb`` after it) and a
fake bot that answers from a script, at the protocol level of ``bot.conversation.BotClient``.
"""

from __future__ import annotations

import dataclasses
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
import redis as sync_redis
from redis.asyncio import Redis

from bot.cli.supervisor import free_port, redis_server_binary
from bot.conversation.delivery import Delivery
from bot.core.envelope import BotTurn, Inbound, Outbound
from bot.core.protocol import (
    BotRequest,
    DataRequest,
    DataRequestKind,
    HandoffReason,
    HandoffRequest,
    OfferAnswer,
    OfferReply,
)
from bot.core.settings import RedisAddress, Settings
from bot.gateway.services import Services, build_services
from bot.store.redis import connect
from bot.systems.registry import Systems


@pytest.fixture(scope="session")
def redis_address() -> Iterator[RedisAddress]:
    """A redis-server of our own on a free loopback port, without persistence."""
    port = free_port()
    folder = tempfile.mkdtemp(prefix="citybot-core-redis-")
    server = subprocess.Popen(
        [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        + ["--appendonly", "no", "--dir", folder],
        stdout=subprocess.DEVNULL,
    )
    client = sync_redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except sync_redis.ConnectionError:
            time.sleep(0.05)
    yield RedisAddress("127.0.0.1", port)
    server.terminate()
    server.wait(10)


@pytest.fixture
async def redis(redis_address: RedisAddress) -> AsyncIterator[Redis]:
    """A clean Redis for one test (emptied after it)."""
    client = connect(redis_address)
    yield client
    await client.flushdb()
    await client.aclose()


class FakeBot:
    """Answers as the bot would, from a script: a text gives a request or a plain reply."""

    REQUESTS: dict[str, BotRequest] = {
        "/affirm": OfferReply(OfferAnswer.ACCEPT),
        "kyllä": OfferReply(OfferAnswer.ACCEPT),
        "kyllä, Elsan koulupaikka sopii": OfferReply(OfferAnswer.ACCEPT),
        "yes to the screening": OfferReply(OfferAnswer.ACCEPT),
        "/deny": OfferReply(OfferAnswer.DECLINE),
        "ei": OfferReply(OfferAnswer.DECLINE),
        "/request_change": OfferReply(OfferAnswer.CHANGE),
        "/request_human": HandoffRequest(HandoffReason.REQUESTED),
        "haluan puhua ihmiselle": HandoffRequest(HandoffReason.REQUESTED),
        "poista tietoni": DataRequest(DataRequestKind.DELETE),
        "mitä tietoja teillä on minusta?": DataRequest(DataRequestKind.SHOW),
        "miksi sain tämän?": DataRequest(DataRequestKind.SHOW),  # what the NLU makes of it
    }
    INTENTS = {
        "ei sittenkään": ("deny", 0.9),
        "hei": ("greet", 0.95),
        "Voisiko koulu olla Vattuniemessä?": ("faq_school_enrolment", 0.8),
        "milloin uimahalli on auki?": ("faq_opening_hours", 0.95),
        "Voisiko ajan siirtää helmikuulle?": ("request_change", 0.9),
    }

    def __init__(self) -> None:
        self.sent: list[Inbound] = []

    async def send(self, message: Inbound) -> BotTurn:
        self.sent.append(message)
        request = self.REQUESTS.get(message.text)
        if request is not None:
            return BotTurn([Outbound(language="fi", request=request)], "fi", "scripted", 1.0)
        if message.text.startswith("blorp") or message.text == "/nlu_fallback":  # what the bot does not understand
            return BotTurn([Outbound(text="En ymmärtänyt.", language="fi")], "fi", "nlu_fallback", 0.3)
        return BotTurn([Outbound(text=f"vastaus: {message.text}", language="fi")], "fi", "faq_library", 0.9)

    async def parse(self, text: str) -> tuple[str | None, float]:
        return self.INTENTS.get(text, ("faq_library", 0.9))

    async def healthy(self) -> bool:
        return True


class Delivered:
    """What channels were asked to push, per conversation."""

    def __init__(self, delivery: Delivery) -> None:
        self.replies: dict[str, list[Outbound]] = {}
        delivery.register("webchat", self._push)

    async def _push(self, user_id: str, replies: list[Outbound]) -> None:
        self.replies.setdefault(f"webchat:{user_id}", []).extend(replies)

    def to(self, conversation: str) -> list[Outbound]:
        """Everything pushed to ``conversation`` so far."""
        return self.replies.get(conversation, [])


@dataclasses.dataclass
class Core:
    """The services of one gateway process, with the fake bot and the pushes it made."""

    services: Services
    bot: FakeBot
    delivered: Delivered
    redis: Redis

    async def say(
        self, conversation: str, text: str, message_id: str | None = None, replay: bool = False
    ) -> list[Outbound]:
        """A citizen message through the router."""
        channel, _, user = conversation.partition(":")
        self._count = getattr(self, "_count", 0) + 1
        inbound = Inbound(channel, user, message_id or f"m{self._count}", text, replay=replay)
        return await self.services.router.handle(inbound)


@pytest.fixture
async def core(redis: Redis, tmp_path: Path) -> AsyncIterator[Core]:
    """Services on the test's Redis, a fake bot, and a web chat channel that records pushes."""
    settings = Settings(
        data_dir=tmp_path,
        redis=RedisAddress("127.0.0.1", 0),
        rasa_port=1,
        actions_port=1,
        rasa_token="unused",
        agent_grace_seconds=60,
    )
    delivery = Delivery()
    delivered = Delivered(delivery)
    bot = FakeBot()
    async with aiohttp.ClientSession() as session:
        systems = Systems(settings.backoffice_file)
        yield Core(build_services(settings, redis, bot, delivery, systems, session), bot, delivered, redis)
