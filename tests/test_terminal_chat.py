"""`python -m bot chat` and `python -m bot demo` against the running stack (issue 16, operators).

Before: the terminal chat talked to Rasa directly, so a handoff printed nothing (the request for
a person was never carried out) and offers could not reach it; the demo took a chat of its
earlier run, closed since, for the open one and sent the offers there.
"""

from __future__ import annotations

import asyncio
import io
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest

from bot.cli.demo import _opened_since
from bot.cli.supervisor import Stack
from bot.cli.terminal_chat import TerminalChat, describe
from bot.handoff.agents import Agents
from bot.privacy.identity import Links, development_token
from bot.store.redis import connect
from tests.clients import Console
from tests.conftest import BACKOFFICE, reset_handoff
from tests.conversations.runner import OFFER_DETAILS

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery staple"


async def printed(out: io.StringIO, text: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in out.getvalue():
            return out.getvalue()
        await asyncio.sleep(0.1)
    raise AssertionError(f"{text!r} never printed; got:\n{out.getvalue()}")


def test_offers_agents_and_notices_are_told_apart() -> None:
    offer = {"text": "Elsa aloittaa koulun", "quick_replies": [{"title": "Hyväksy", "payload": "/offer:accept:o1"}]}
    assert describe(offer)[0] == ["┌─ offer ─────\n│ Elsa aloittaa koulun\n└─────────────"]
    agent = {"text": "Autan.", "sender": "agent", "agent_name": "Aino", "control": "agent_joined"}
    assert describe(agent)[0] == ["── a person joined the conversation ──", "Aino (person): Autan."]
    assert describe({"text": "Hei!"}) == (["bot: Hei!"], [])


async def test_the_terminal_chat_shows_a_handoff_the_agent_and_an_offer(stack: Stack) -> None:
    gateway = f"http://127.0.0.1:{stack.settings.gateway_port}"
    redis = connect(stack.settings.redis)
    await reset_handoff(redis)
    agent = f"term-agent-{time.time_ns()}"
    await Agents(redis).create(agent, "Aino", PASSWORD, ("fi", "sv", "en"))
    citizen = f"term-citizen-{time.time_ns()}"
    token = development_token(stack.settings.identity_keys_file, citizen, stack.settings.identity_audience, 60)
    out = io.StringIO()
    chat = TerminalChat(out)
    console = Console(gateway)
    try:
        await chat.start(gateway, "fi", token)
        await printed(out, "yhdistetty")  # "this chat is now linked to your city account"
        assert await console.sign_in(agent, PASSWORD) == 200
        await console.connect()  # someone is online: the citizen is queued
        await chat.say("haluan puhua ihmiselle")
        await printed(out, "sijalla 1")
        conversation = f"webchat:{chat.session}"
        await console.waiting_for(conversation)
        await console.send(type="claim", conversation=conversation)
        await printed(out, "── a person joined the conversation ──")
        await console.send(type="send", conversation=conversation, text="Miten voin auttaa?")
        await printed(out, "Aino (person): Miten voin auttaa?")
        await console.send(type="end", conversation=conversation)
        await printed(out, "── back with the bot ──")
        headers = {"Authorization": f"Bearer {BACKOFFICE.token}"}
        async with aiohttp.ClientSession(headers=headers) as http:
            consent = f"{gateway}/api/v1/citizens/{citizen}/consent/proactive_offers"
            async with http.put(consent, json={"granted": True}) as response:
                assert response.status == 200
            body: dict[str, Any] = {
                "offer_id": f"term-{time.time_ns()}",
                "citizen_id": citizen,
                "kind": "school_placement",
                "details": OFFER_DETAILS["school_placement"],
                "respond_by": (datetime.now(timezone.utc) + timedelta(days=14)).isoformat(),
                "on_silence": "none",
            }
            async with http.post(f"{gateway}/api/v1/offers", json=body) as response:
                assert (await response.json())["status"] == "delivered"
        shown = await printed(out, "┌─ offer")
        assert OFFER_DETAILS["school_placement"]["child_name"] in shown.split("┌─ offer")[1]
        await printed(out, "[1] Hyväksy")
        await chat.say("1")  # the offer's first button
        await printed(out, "Olet hyväksynyt koulupaikan")
    finally:
        await console.close()
        await chat.client.disconnect()
        await redis.aclose()


async def test_the_demo_waits_for_a_chat_opened_after_it_started(stack: Stack) -> None:
    redis = connect(stack.settings.redis)
    try:
        links = Links(redis)
        citizen = f"demo-{time.time_ns()}"
        await links.link("webchat:old-page", citizen, "webchat token", expires_at=time.time() + 3600)
        await asyncio.sleep(2.5)  # links keep whole seconds
        started = time.time()
        assert not await _opened_since(links, citizen, started)  # the earlier run's chat
        await links.link("webchat:new-page", citizen, "webchat token", expires_at=time.time() + 3600)
        assert await _opened_since(links, citizen, started)
    finally:
        await redis.aclose()
