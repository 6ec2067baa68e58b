"""The router on a real Redis with a fake bot: de-duplication, the transcript, bad bot answers."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.conversation.claims import CLAIM_SECONDS, Claims
from bot.conversation.rasa_client import BotProtocolError, BotUnavailableError
from bot.core.envelope import BotTurn, Inbound, Outbound
from tests.core.conftest import Core


async def test_a_repeated_delivery_is_answered_once(core: Core) -> None:
    first = await core.say("webchat:a", "hei", message_id="m-1")
    again = await core.say("webchat:a", "hei", message_id="m-1")
    other = await core.say("webchat:b", "hei", message_id="m-1")  # ids are unique per conversation only
    assert [r.text for r in first] == ["vastaus: hei"] and again == [] and len(other) == 1
    assert [m.conversation_id for m in core.bot.sent] == ["webchat:a", "webchat:b"]


async def test_a_resent_web_chat_message_gets_its_answer_again_not_a_second_one(core: Core) -> None:
    """Issue 13: a message whose acknowledgement a dropped connection lost is sent again by the
    widget with its id; the bot answers it once and the repeat gets that answer."""
    first = await core.say("webchat:a", "hei", message_id="w-1", replay=True)
    again = await core.say("webchat:a", "hei", message_id="w-1", replay=True)
    assert [r.text for r in again] == [r.text for r in first] == ["vastaus: hei"]
    assert again[0].language == "fi" and len(core.bot.sent) == 1
    assert [e["text"] for e in await core.services.transcripts.read("webchat:a")] == ["hei", "vastaus: hei"]


async def test_a_repeat_while_the_first_is_answered_waits_for_that_answer(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two gateways got the same message (the citizen reconnected to another replica while the
    first still worked on it): one bot turn, both get its answer."""
    original, release = core.bot.send, asyncio.Event()

    async def slow(message: Inbound) -> BotTurn:
        await release.wait()
        return await original(message)

    monkeypatch.setattr(core.bot, "send", slow)
    first = asyncio.create_task(core.say("webchat:a", "hei", message_id="w-1", replay=True))
    second = asyncio.create_task(core.say("webchat:a", "hei", message_id="w-1", replay=True))
    await asyncio.sleep(0.5)
    assert not second.done()  # waiting, not answered empty
    release.set()
    assert [r.text for r in await first] == [r.text for r in await second] == ["vastaus: hei"]
    assert len(core.bot.sent) == 1


async def test_the_claim_of_a_gateway_that_died_is_taken_over(core: Core) -> None:
    """A gateway claimed the message and was killed before answering: its claim is not renewed,
    lapses within CLAIM_SECONDS, and the repeat is answered."""
    assert await Claims(core.redis).claim("webchat:a", "w-1")  # the dead gateway's claim
    started = time.monotonic()
    replies = await core.say("webchat:a", "hei", message_id="w-1", replay=True)
    assert [r.text for r in replies] == ["vastaus: hei"]
    assert time.monotonic() - started < CLAIM_SECONDS + 1


async def test_a_failed_answer_gives_up_its_claim_so_a_retry_is_answered(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = core.bot.send

    async def down(message: Inbound) -> BotTurn:
        raise BotUnavailableError("Rasa is restarting")

    monkeypatch.setattr(core.bot, "send", down)
    with pytest.raises(BotUnavailableError):
        await core.say("webchat:a", "hei", message_id="w-1", replay=True)
    monkeypatch.setattr(core.bot, "send", original)
    started = time.monotonic()
    assert [r.text for r in await core.say("webchat:a", "hei", message_id="w-1", replay=True)] == ["vastaus: hei"]
    assert time.monotonic() - started < 1  # at once, not after the claim lapsed


async def test_each_turn_is_in_the_transcript_with_what_the_bot_understood(core: Core) -> None:
    await core.say("webchat:a", "milloin kirjasto aukeaa?")
    entries = await core.services.transcripts.read("webchat:a")
    assert [(e["from"], e["text"]) for e in entries] == [
        ("citizen", "milloin kirjasto aukeaa?"),
        ("bot", "vastaus: milloin kirjasto aukeaa?"),
    ]
    assert entries[0]["intent"] == "faq_library" and entries[0]["confidence"] == pytest.approx(0.9)
    assert await core.services.conversations.language("webchat:a") == "fi"


async def test_a_bot_request_the_gateway_does_not_know_changes_nothing(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(message: Inbound) -> BotTurn:
        raise BotProtocolError("unknown offer answer 'maybe'")

    monkeypatch.setattr(core.bot, "send", broken)
    with pytest.raises(BotProtocolError):
        await core.say("webchat:a", "ehkä")
    assert await core.services.transcripts.read("webchat:a") == []


async def test_plain_replies_next_to_a_request_keep_their_order(core: Core, monkeypatch: pytest.MonkeyPatch) -> None:
    original = core.bot.send

    async def two(message: Inbound) -> BotTurn:
        turn = await original(Inbound("webchat", "a", "x", "/request_human"))
        return BotTurn([Outbound(text="Selvä.", language="fi"), *turn.replies], "fi", "request_human", 1.0)

    monkeypatch.setattr(core.bot, "send", two)
    replies = await core.say("webchat:a", "ihminen kiitos")
    assert replies[0].text == "Selvä." and len(replies) == 3  # then the lead and the status


async def test_gibberish_is_not_understood_whatever_a_model_would_guess(core: Core) -> None:
    """Issue 12. Before: "blergh" got emergency guidance (0.96), "purple monkey dishwasher" bulky
    waste (0.87); gibberish also switched the conversation's language."""
    for text in ("blorf snark", "purple monkey dishwasher", "asdfghjkl", "😀😀😀", "??"):
        await core.say("webchat:a", text)
    assert [m.text for m in core.bot.sent] == ["/nlu_fallback"] * 5  # the bot is told: not understood
    entries = await core.services.transcripts.read("webchat:a")
    assert [e["text"] for e in entries if e["from"] == "citizen"][0] == "blorf snark"  # the agent sees what was written
    for text in ("Oodi", "ok", "4", "kiitos", "milloin kirjasto aukeaa?"):  # names, short words, numbers: to the bot
        await core.say("webchat:b", text)
    assert "/nlu_fallback" not in [m.text for m in core.bot.sent[5:]]
