"""A terminal chat with the running service, as a web chat citizen of the gateway.

It speaks the widget's socket.io protocol to the gateway, so everything a citizen meets is there:
a handoff to a person (queue notices, the agent's messages with their name, the end of the
handoff), offers (with ``--citizen``, signed in as that citizen with the development key, as the
city's login would), masking, safety answers. Buttons are numbered; type the number to press
one. ``/quit`` (or Ctrl-D) ends the chat.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import Any, TextIO

import socketio

from bot.core.i18n import normalise_language

NOTICES = {
    "agent_joined": "── a person joined the conversation ──",
    "handoff_ended": "── back with the bot ──",
    "requeued": "── waiting for the next free person ──",
}


def describe(event: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """The lines to print for one ``bot_uttered`` event, and its buttons (numbered later)."""
    lines: list[str] = []
    control = event.get("control")
    if control in NOTICES:
        lines.append(NOTICES[control])
    buttons = list(event.get("quick_replies") or [])
    text = str(event.get("text") or "")
    offer = any(str(b.get("payload", "")).startswith("/offer:") for b in buttons)
    if event.get("sender") == "agent":
        who = event.get("agent_name") or "customer service"
        lines.append(f"{who} (person): {text}")
    elif offer:
        lines.append(f"┌─ offer ─────\n│ {text}\n└─────────────")
    elif text:
        lines.append(f"bot: {text}")
    for link in event.get("links") or []:
        if isinstance(link, dict):
            lines.append(f"  ↗ {link.get('title')}: {link.get('url')}")
    return lines, buttons


class TerminalChat:
    """One citizen's session with the gateway, printing what arrives as it arrives."""

    def __init__(self, stdout: TextIO) -> None:
        self.client = socketio.AsyncClient(reconnection=True)
        self.stdout = stdout
        self.buttons: list[dict[str, Any]] = []
        self.session: str | None = None
        self.confirmed = asyncio.Event()
        self.client.on("session_confirm", self._confirmed)
        self.client.on("bot_uttered", self._uttered)
        self.client.on("chat_error", self._error)
        self.client.on("agent_typing", self._typing)

    async def _confirmed(self, data: Any) -> None:
        self.session = str(data["session_id"]) if isinstance(data, dict) else str(data)
        self.confirmed.set()

    async def _uttered(self, event: Any) -> None:
        if not isinstance(event, dict):
            return
        lines, buttons = describe(event)
        if buttons:
            self.buttons = buttons
        for line in lines:
            self.stdout.write(f"\r{line}\n")
        for number, button in enumerate(buttons, 1):
            self.stdout.write(f"  [{number}] {button.get('title')}\n")
        self.stdout.write("> ")
        self.stdout.flush()

    async def _error(self, data: Any) -> None:
        message = data.get("message") if isinstance(data, dict) else data
        self.stdout.write(f"\r(the service refused that: {message})\n> ")
        self.stdout.flush()

    async def _typing(self, _: Any = None) -> None:
        self.stdout.write("\r(customer service is typing…)\n> ")
        self.stdout.flush()

    async def start(self, gateway: str, language: str | None, identity_token: str | None) -> None:
        await self.client.connect(gateway, transports=["websocket"], socketio_path="socket.io")
        request: dict[str, Any] = {"session_id": None, "protocol": "citybot"}
        if language:
            request["language"] = language
        if identity_token:
            request["identity_token"] = identity_token
        await self.client.emit("session_request", request)
        await asyncio.wait_for(self.confirmed.wait(), 30)

    async def say(self, text: str) -> None:
        if text.isdigit() and 1 <= int(text) <= len(self.buttons):
            text = str(self.buttons[int(text) - 1]["payload"])
        await self.client.emit(
            "user_uttered", {"message": text, "session_id": self.session, "message_id": uuid.uuid4().hex}
        )


async def _chat(gateway: str, language: str | None, identity_token: str | None, stdin: TextIO, stdout: TextIO) -> None:
    session = TerminalChat(stdout)
    try:
        await session.start(gateway, language, identity_token)
    except (socketio.exceptions.ConnectionError, asyncio.TimeoutError) as error:
        stdout.write(f"error: no service answers at {gateway} ({error.__class__.__name__}); start it with `make run`\n")
        return
    stdout.write("Type a message (fi/sv/en), a button's number to press it, or /quit.\n> ")
    stdout.flush()
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, stdin.readline)
            if not line or line.strip() == "/quit":
                stdout.write("\n")
                return
            if line.strip():
                await session.say(line.strip())
            else:
                stdout.write("> ")
                stdout.flush()
    finally:
        await session.client.disconnect()


def chat(
    gateway: str,
    language: str | None,
    identity_token: str | None = None,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> None:
    """Chat until /quit or end of input (``gateway``: the gateway's base URL)."""
    asyncio.run(_chat(gateway, normalise_language(language), identity_token, stdin, stdout))
