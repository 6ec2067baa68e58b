"""The gateway's client for the bot (``bot.rasa_plugins.channel`` on Rasa's loopback port)."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, Protocol

import aiohttp

from bot.core.envelope import BotTurn, Button, Inbound, Outbound
from bot.core.errors import CitybotError
from bot.core.protocol import ProtocolError, is_request, parse_request

logger = logging.getLogger(__name__)
_URL = re.compile(r"https?://[^\s<>\"')]+")


class BotUnavailableError(CitybotError):
    """Rasa did not answer, or answered with an error."""


class BotProtocolError(BotUnavailableError):
    """The bot answered with a request the gateway does not know: nothing is acted on."""


def to_outbound(reply: dict[str, Any], language: str | None) -> Outbound:
    """Turn one Rasa reply into our envelope, pulling the links out of the text.

    A custom reply that is a request of ``bot.core.protocol`` (a person, an offer answer, a data
    request) becomes a typed ``request`` for the router; a malformed one is a BotProtocolError.
    """
    custom = reply.get("custom")
    if isinstance(custom, dict) and is_request(custom):
        try:
            return Outbound(language=language, request=parse_request(custom))
        except ProtocolError as error:
            raise BotProtocolError(str(error)) from error
    text = str(reply.get("text") or "")
    buttons = tuple(
        Button(str(b.get("title", "")), str(b.get("payload", "")))
        for b in reply.get("buttons") or []
        if isinstance(b, dict)
    )
    links = tuple(dict.fromkeys(_URL.findall(text)))
    return Outbound(text=text, buttons=buttons, links=links, language=language)


class BotClient(Protocol):
    """What the gateway needs of the bot; ``RasaClient`` over HTTP, a fake in the core tests."""

    async def send(self, message: Inbound) -> BotTurn:
        """The bot's turn for one message; BotUnavailableError when it cannot answer."""
        ...

    async def parse(self, text: str) -> tuple[str | None, float]:
        """Only the NLU: the intent of ``text`` and its confidence."""
        ...

    async def healthy(self) -> bool:
        """True when the bot answers."""
        ...


class RasaClient:
    """Sends a citizen's message to the bot and returns its replies."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str, timeout: float = 30.0) -> None:
        self._session = session
        self._url = f"{base_url}/webhooks/citybot/webhook"
        self._health = f"{base_url}/webhooks/citybot/"
        self._parse_url = f"{base_url}/model/parse"
        self._token = token
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def send(self, message: Inbound) -> BotTurn:
        """Run one message through the bot; raise BotUnavailableError if it cannot answer."""
        body = {
            "sender": message.conversation_id,
            "message": message.text,
            "channel": message.channel,
            "metadata": message.metadata(),
        }
        try:
            async with self._session.post(
                self._url, json=body, headers=self._headers, timeout=self._timeout
            ) as response:
                if response.status != 200:
                    raise BotUnavailableError(f"bot answered HTTP {response.status}")
                data = await response.json()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:  # not builtin TimeoutError on 3.10
            raise BotUnavailableError(f"bot unreachable: {exc.__class__.__name__}") from exc
        language = data.get("language") if isinstance(data.get("language"), str) else None
        replies = [to_outbound(reply, language) for reply in data.get("replies") or [] if isinstance(reply, dict)]
        understood = data.get("understood") if isinstance(data.get("understood"), dict) else {}
        intent = understood.get("intent") if isinstance(understood.get("intent"), str) else None
        confidence = understood.get("confidence")
        return BotTurn(replies, language, intent, float(confidence) if isinstance(confidence, (int, float)) else None)

    async def parse(self, text: str) -> tuple[str | None, float]:
        """Only the NLU: the intent of ``text`` and its confidence (Rasa's /model/parse)."""
        try:
            async with self._session.post(
                self._parse_url, json={"text": text}, params={"token": self._token}, timeout=self._timeout
            ) as response:
                if response.status != 200:
                    raise BotUnavailableError(f"bot answered HTTP {response.status}")
                data = await response.json()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise BotUnavailableError(f"bot unreachable: {exc.__class__.__name__}") from exc
        intent = data.get("intent") or {}
        return intent.get("name"), float(intent.get("confidence") or 0.0)

    async def healthy(self) -> bool:
        """True when the bot's channel answers."""
        try:
            async with self._session.get(self._health, timeout=aiohttp.ClientTimeout(total=3)) as response:
                return response.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return False
