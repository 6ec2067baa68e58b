"""The common message envelope every channel translates to and from."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from bot.core.protocol import BotRequest, Notice


@dataclass(frozen=True)
class Inbound:
    """One citizen message, whatever channel it came from."""

    channel: str  # "webchat", "telegram", "whatsapp"
    user_id: str  # the channel's id for the citizen (web chat session id, Telegram chat id)
    message_id: str  # unique per channel, for de-duplication
    text: str  # what they wrote, or a button payload ("/faq_library")
    language_hint: str | None = None  # the channel's guess (browser, Telegram language_code)
    language_choice: str | None = None  # an explicit pick (widget switch, /language)
    citizen_id: str | None = None  # set once the conversation is linked to a citizen
    timestamp: float = field(default_factory=time.time)
    # A repeat of this message (same id) gets its answer again: the channel shows each reply once
    # (the web chat widget resends a message whose acknowledgement its dropped connection lost).
    replay: bool = False
    # Personal data was masked in ``text``; the values are in the vault under this message's id
    # (bot/privacy/vault.py), for an agent who must see one.
    masked: bool = False

    @property
    def conversation_id(self) -> str:
        """``<channel>:<channel user id>``, the id of the conversation everywhere."""
        return f"{self.channel}:{self.user_id}"

    def metadata(self) -> dict[str, Any]:
        """What the bot gets as message metadata."""
        data: dict[str, Any] = {"channel": self.channel, "message_id": self.message_id}
        if self.language_hint:
            data["language_hint"] = self.language_hint
        if self.language_choice:
            data["language_choice"] = self.language_choice
        return data


@dataclass(frozen=True)
class Button:
    """A quick reply: what the citizen sees, and what is sent when it is pressed."""

    title: str
    payload: str


@dataclass(frozen=True)
class Link:
    """A titled link under a reply ("Liikunta – hel.fi"): channels show the title, not the URL,
    where they can."""

    title: str
    url: str


@dataclass(frozen=True)
class Fact:
    """One key fact of a card ("School": "Lauttasaari school, Isokaari 1")."""

    label: str
    value: str


@dataclass(frozen=True)
class Card:
    """A reply's key facts under a title (an offer): channels that can draw a card show these
    above the text; the others send the text, which says it all."""

    title: str
    facts: tuple[Fact, ...] = ()


@dataclass(frozen=True)
class Outbound:
    """One reply to the citizen; channels render buttons and links their own way."""

    text: str = ""
    buttons: tuple[Button, ...] = ()
    links: tuple[Link, ...] = ()  # shown under the text (not in it)
    language: str | None = None
    # A request from the bot to the gateway (a person, an offer answer, a data request): the
    # router acts on it and it never reaches a channel.
    request: BotRequest | None = None
    # Who answers now: channels render it their own way (the widget's typing indicator).
    notice: Notice | None = None
    sender: str = "bot"  # "bot" or "agent": channels may show who is speaking
    agent_name: str | None = None  # the agent's display name, for agent replies
    # The offer this message delivers: channels that cannot always write freely (WhatsApp outside
    # its 24-hour window) send the offer's approved template instead, and report its delivery.
    offer_id: str | None = None
    card: Card | None = None  # the key facts, for channels that draw cards (the widget)


@dataclass(frozen=True)
class BotTurn:
    """The bot's answer to one message: its replies and what it took the message for."""

    replies: list[Outbound]
    language: str | None = None
    intent: str | None = None
    confidence: float | None = None
