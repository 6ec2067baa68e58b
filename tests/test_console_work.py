"""Issue 16, item 3: what the console gives agents to work with, over its real socket against the
running bot: a preview of each waiting citizen's last message (masked), a context panel for the
open conversation, the agent's ended conversations with the citizen's rating (searchable, to
reread), and an away status that takes the agent out of the queues.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.cli.supervisor import Stack
from bot.handoff.agents import Agents
from bot.handoff.cases import Handoff
from bot.handoff.texts import CANCEL_PAYLOAD
from bot.knowledge.handoff_config import load_handoff_config
from bot.privacy.identity import development_token
from bot.store import keys
from tests import test_handoff
from tests.test_handoff import PASSWORD, clear_queues

# The handoff tests' fixtures: a Redis client, fresh agents, an in-process gateway, consoles.
redis, new_agent, gateway, consoles = (
    test_handoff.redis,
    test_handoff.new_agent,
    test_handoff.gateway,
    test_handoff.consoles,
)

pytestmark = pytest.mark.integration


async def _handed_over(console: Any, citizen: Any, gateway: str, sid: str, language: str = "fi") -> str:
    conversation = f"webchat:{sid}"
    ask = {"fi": "haluan puhua ihmisen kanssa", "sv": "kan jag få prata med en människa"}[language]
    await citizen.say(ask, sid, language=language)
    await citizen.replies(2)
    await console.waiting_for(conversation)
    return conversation


async def test_the_queue_previews_each_citizens_last_message_masked(
    gateway: str, redis: Redis, new_agent: Any, consoles: Any, citizens: Any
) -> None:
    await clear_queues(redis)
    console = await consoles(await new_agent())
    citizen = citizens()
    sid = await citizen.start(gateway)
    conversation = await _handed_over(console, citizen, gateway, sid)
    await citizen.say("laskuni on väärin, soittakaa numeroon 040 765 4321 " + "kiitos " * 30, sid)
    await citizen.replies(1)
    item = await console.expect(
        "queue",
        lambda m: any(w["conversation"] == conversation and "laskuni" in w.get("preview", "") for w in m["waiting"]),
    )
    [waiting] = [w for w in item["waiting"] if w["conversation"] == conversation]
    preview = waiting["preview"]
    assert preview.startswith("laskuni on väärin, soittakaa numeroon [puhelinnumero]")
    assert "040" not in preview and len(preview) <= 120 and preview.endswith("…")


async def test_an_ended_conversation_is_in_the_agents_history_with_its_rating_searchable_and_rereadable(
    gateway: str, redis: Redis, new_agent: Any, consoles: Any, citizens: Any, stack: Stack
) -> None:
    await clear_queues(redis)
    agent, other = await new_agent(), await new_agent()
    console = await consoles(agent)
    citizen = citizens()
    sid = await citizen.start(gateway)
    conversation = await _handed_over(console, citizen, gateway, sid, "sv")
    await console.send(type="claim", conversation=conversation)
    await console.expect("transcript", lambda m: m["conversation"] == conversation)
    await citizen.replies(1)  # the agent joined
    await citizen.say("Jag har en fråga om min faktura för hemvården", sid)
    await console.entry(conversation, "citizen")
    await console.send(type="end", conversation=conversation)
    ended = await console.expect("closed", lambda m: any(c["conversation"] == conversation for c in m["cases"]))
    [case] = [c for c in ended["cases"] if c["conversation"] == conversation]
    assert case["rating"] is None and case["language"] == "sv" and case["channel"] == "webchat"
    assert case["preview"] == "Jag har en fråga om min faktura för hemvården"
    assert case["ended_at"] >= case["claimed_at"] >= case["queued_at"] > 0
    await citizen.replies(2)  # ended; rate us
    await citizen.say("/handoff_rating_4", sid)
    await citizen.replies(1)
    rated = await console.expect(
        "closed", lambda m: any(c["conversation"] == conversation and c["rating"] == 4 for c in m["cases"])
    )
    assert rated["query"] == ""

    # Searchable by what was said, for the agent who held it only.
    await console.send(type="search", query="FAKTURA hemvården")
    found = await console.expect("closed", lambda m: m["query"] == "FAKTURA hemvården")
    assert [c["conversation"] for c in found["cases"]] == [conversation]
    await console.send(type="search", query="faktura zebra")
    assert (await console.expect("closed", lambda m: m["query"] == "faktura zebra"))["cases"] == []
    stranger = await consoles(other)
    await stranger.send(type="search", query="faktura")
    assert (await stranger.expect("closed", lambda m: m["query"] == "faktura"))["cases"] == []
    await console.send(type="search", query="x" * 201)
    assert (await console.expect("error"))["code"] == "malformed"

    # Reread: the whole transcript, for the holder only, and the reading is in the audit log.
    await stranger.send(type="view", conversation=case["id"])
    assert (await stranger.expect("error"))["code"] == "not_yours"
    await console.send(type="view", conversation=case["id"])
    reread = await console.expect("closed_transcript")
    assert reread["case"]["id"] == case["id"]
    assert any(e["text"] == "Jag har en fråga om min faktura för hemvården" for e in reread["entries"])
    assert not any(e["text"] == "/handoff_rating_4" for e in reread["entries"])  # said after the end
    audit = [entry for _, entry in await redis.xrevrange(keys.AUDIT, count=50)]
    assert any(e["who"] == agent and e["why"] == "ended conversation reread" for e in audit)

    # Erased with the conversation: nothing left in anyone's history.
    await Handoff(redis, load_handoff_config(), Agents(redis)).forget(conversation)
    await console.send(type="search", query="")
    remaining = await console.expect("closed", lambda m: m["query"] == "")
    assert conversation not in [c["conversation"] for c in remaining["cases"]]
    assert not await redis.exists(keys.closed_of(conversation), keys.closed_case(case["id"]))


async def test_the_context_panel_shows_channel_language_linking_and_earlier_cases(
    gateway: str, redis: Redis, new_agent: Any, consoles: Any, citizens: Any, stack: Stack
) -> None:
    await clear_queues(redis)
    console = await consoles(await new_agent())
    citizen = citizens()
    sid = await citizen.start(gateway)
    conversation = await _handed_over(console, citizen, gateway, sid)
    await console.send(type="claim", conversation=conversation)
    first = await console.expect("context", lambda m: m["conversation"] == conversation)
    assert first["channel"] == "webchat" and first["language"] == "fi"
    assert first["linked"] is False and first["earlier"] == []
    await console.send(type="end", conversation=conversation)
    await console.expect("released", lambda m: m["conversation"] == conversation)
    await citizen.replies(3)  # the agent joined; ended; rate us
    await citizen.say("/handoff_rating_5", sid)
    await citizen.replies(1)

    await _handed_over(console, citizen, gateway, sid)
    await console.send(type="claim", conversation=conversation)
    again = await console.expect("context", lambda m: m["conversation"] == conversation)
    [earlier] = again["earlier"]
    assert earlier["rating"] == 5 and earlier["preview"] == "haluan puhua ihmisen kanssa"

    # A signed-in citizen's chat is linked (the console never says to whom).
    who = f"citizen-context-{os.getpid()}"
    token = development_token(stack.settings.identity_keys_file, who, stack.settings.identity_audience, 60)
    signed = citizens()
    signed_sid = await signed.start(gateway, language="fi", identity_token=token)
    await signed.replies(1)
    linked = await _handed_over(console, signed, gateway, signed_sid)
    await console.send(type="claim", conversation=linked)
    context = await console.expect("context", lambda m: m["conversation"] == linked)
    assert context["linked"] is True and who not in str(context)


async def test_an_away_agent_takes_no_new_conversations_until_available_again(
    gateway: str, redis: Redis, new_agent: Any, consoles: Any, citizens: Any
) -> None:
    await clear_queues(redis)
    agent = await new_agent()
    console = await consoles(agent)
    await console.send(type="status", status="away")
    assert (await console.expect("status"))["status"] == "away"
    citizen = citizens()
    sid = await citizen.start(gateway)
    await citizen.say("haluan puhua ihmisen kanssa", sid, language="fi")
    _, closed = await citizen.replies(2)
    assert "jättää viestin" in closed["text"]  # nobody available: leave a message
    await citizen.say(CANCEL_PAYLOAD, sid)
    await citizen.replies(1)

    await console.send(type="status", status="sleeping")
    assert (await console.expect("error"))["code"] == "malformed"
    await console.send(type="status", status="available")
    assert (await console.expect("status"))["status"] == "available"
    await _handed_over(console, citizen, gateway, sid)  # queued for the agent now
    await console.send(type="status", status="away")
    await console.expect("status")
    await console.disconnect()
    await console.connect()  # the status is kept across reconnects...
    assert await Agents(redis).is_away(agent) is True
    assert await console.sign_in(agent, PASSWORD) == 200  # ... and a new sign-in starts available
    assert await Agents(redis).is_away(agent) is False


async def test_the_queue_comes_with_ready_so_a_case_arriving_next_is_news(
    gateway: str, redis: Redis, new_agent: Any, consoles: Any, citizens: Any
) -> None:
    """Found by the sound test in CI: the first queue was sent after the pump's first read (up to a
    second), so a case arriving in that second came in the first queue, which the page takes as
    what was already there: no sound, no announcement. The queue now follows ``ready`` at once."""
    await clear_queues(redis)
    console = await consoles(await new_agent())  # connected: ``ready`` taken
    first = await asyncio.wait_for(console.inbox.get(), 5)
    assert first["type"] == "queue", first["type"]
    citizen = citizens()
    sid = await citizen.start(gateway)
    await _handed_over(console, citizen, gateway, sid)  # then the case, in a later queue
