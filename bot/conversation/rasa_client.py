"""The gateway's client for the bot (``bot.rasa_plugins.channel`` on Rasa's loopback port)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any, Protocol, Sequence

import aiohttp

from bot.core.envelope import BotTurn, Button, Inbound, Link, Outbound
from bot.core.errors import CitybotError
from bot.core.protocol import ProtocolError, is_request, parse_request

logger = logging.getLogger(__name__)
READY_CHECK = aiohttp.ClientTimeout(total=1.0)  # asking a process that failed whether it is ready


class BotUnavailableError(CitybotError):
    """Rasa did not answer, or answered with an error."""


class _Interrupted(BotUnavailableError):
    """The bot process closed the connection mid-turn (it died): safe to try another."""


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
    return Outbound(text=text, buttons=buttons, links=_links(custom), language=language)


def _links(custom: Any) -> tuple[Link, ...]:
    """The titled links of a ``{"links": [{"title", "url"}]}`` custom reply (https only)."""
    if not isinstance(custom, dict) or not isinstance(custom.get("links"), list):
        return ()
    return tuple(
        Link(str(item.get("title") or item["url"]), item["url"])
        for item in custom["links"]
        if isinstance(item, dict) and isinstance(item.get("url"), str) and item["url"].startswith("https://")
    )


def merge_links(replies: list[Outbound]) -> list[Outbound]:
    """Rasa sends an action's text and its custom part (the titled links) as two replies: the
    links go with the text before them."""
    merged: list[Outbound] = []
    for reply in replies:
        if reply.links and not reply.text and not reply.buttons and reply.request is None and merged:
            merged[-1] = dataclasses.replace(merged[-1], links=merged[-1].links + reply.links)
        else:
            merged.append(reply)
    return merged


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
    """Sends a citizen's message to the bot and returns its replies.

    With several Rasa processes (``base_url`` a list; they share the Redis tracker and lock
    stores), messages go round-robin, and a process that refuses the connection (stopped,
    restarting) is skipped: the next one answers. A message whose answer timed out is not sent
    again (the first process may still be working on it); the citizen is told to try again.
    """

    def __init__(
        self, session: aiohttp.ClientSession, base_url: str | Sequence[str], token: str, timeout: float = 30.0
    ) -> None:
        self._session = session
        self._bases = [base_url] if isinstance(base_url, str) else list(base_url)
        if not self._bases:
            raise ValueError("RasaClient needs at least one base URL")
        self._next = 0
        # Processes that refused or died: a restarting Rasa takes connections before its model is
        # loaded, and a message sent to it then waits out the timeout. Each is asked for readiness
        # (its channel's health, 200 once the model is loaded) before it gets a message again.
        self._down: set[str] = set()
        self._token = token
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    def _order(self) -> list[str]:
        """The bases to try, starting with the next one in turn."""
        start = self._next
        self._next = (self._next + 1) % len(self._bases)
        return self._bases[start:] + self._bases[:start]

    async def _ready(self, base: str) -> bool:
        """True for a process in good standing, or one that failed and is ready again."""
        if base not in self._down:
            return True
        try:
            async with self._session.get(f"{base}/webhooks/citybot/", timeout=READY_CHECK) as response:
                ready = response.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            ready = False
        if ready:
            self._down.discard(base)
        return ready

    async def _post(self, path: str, **kwargs: Any) -> Any:
        """POST to the first ready process that takes the connection; its JSON answer."""
        refused: Exception | None = None
        for base in self._order():
            if not await self._ready(base):
                refused = BotUnavailableError("restarting")
                continue
            try:
                async with self._session.post(f"{base}{path}", timeout=self._timeout, **kwargs) as response:
                    if response.status != 200:
                        raise BotUnavailableError(f"bot answered HTTP {response.status}")
                    return await response.json()
            except aiohttp.ClientConnectorError as exc:  # not reached: safe to try the next process
                self._down.add(base)
                refused = exc
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
                self._down.add(base)
                raise _Interrupted(f"bot process went away: {exc.__class__.__name__}") from exc
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:  # not builtin TimeoutError on 3.10
                raise BotUnavailableError(f"bot unreachable: {exc.__class__.__name__}") from exc
        raise BotUnavailableError(f"bot unreachable: {refused.__class__.__name__}") from refused

    async def send(self, message: Inbound) -> BotTurn:
        """Run one message through the bot; raise BotUnavailableError if it cannot answer."""
        body = {
            "sender": message.conversation_id,
            "message": message.text,
            "channel": message.channel,
            "metadata": message.metadata(),
        }
        # Every turn of ours ends in a reply or a request; none means the bot failed inside (its
        # action server died or cannot be reached: Rasa logs it and answers 200 with nothing). That,
        # or the Rasa process dying mid-turn, is tried once more, on the next process: another
        # action server replica or Rasa process answers (at least once to the bot; the citizen
        # sees one answer). A turn that timed out is not sent again: it may still be running.
        # If the second try fails too, the citizen is told to try again, never left in silence.
        for attempt in (1, 2):
            try:
                data = await self._post("/webhooks/citybot/webhook", json=body, headers=self._headers)
            except _Interrupted as error:
                if attempt == 2:
                    raise BotUnavailableError(str(error)) from error
                logger.warning("%s; trying the message once more", error)
                continue
            language = data.get("language") if isinstance(data.get("language"), str) else None
            replies = merge_links(
                [to_outbound(reply, language) for reply in data.get("replies") or [] if isinstance(reply, dict)]
            )
            if replies:
                break
            if attempt == 2:
                raise BotUnavailableError("the bot gave no reply")
            logger.warning("the bot gave no reply (its action server?); trying the message once more")
        understood = data.get("understood") if isinstance(data.get("understood"), dict) else {}
        intent = understood.get("intent") if isinstance(understood.get("intent"), str) else None
        confidence = understood.get("confidence")
        return BotTurn(replies, language, intent, float(confidence) if isinstance(confidence, (int, float)) else None)

    async def parse(self, text: str) -> tuple[str | None, float]:
        """Only the NLU: the intent of ``text`` and its confidence (Rasa's /model/parse)."""
        data = await self._post("/model/parse", json={"text": text}, params={"token": self._token})
        intent = data.get("intent") or {}
        return intent.get("name"), float(intent.get("confidence") or 0.0)

    async def healthy(self) -> bool:
        """True when a Rasa process's channel answers."""
        for base in self._bases:
            try:
                async with self._session.get(
                    f"{base}/webhooks/citybot/", timeout=aiohttp.ClientTimeout(total=3)
                ) as response:
                    if response.status == 200:
                        return True
            except (aiohttp.ClientError, asyncio.TimeoutError):
                continue
        return False
