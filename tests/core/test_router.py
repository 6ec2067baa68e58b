"""The router on a real Redis with a fake bot: de-duplication, the transcript, bad bot answers."""

from __future__ import annotations

import pytest

from bot.conversation.rasa_client import BotProtocolError
from bot.core.envelope import BotTurn, Inbound, Outbound
from tests.core.conftest import Core


async def test_a_repeated_delivery_is_answered_once(core: Core) -> None:
    first = await core.say("webchat:a", "hei", message_id="m-1")
    again = await core.say("webchat:a", "hei", message_id="m-1")
    other = await core.say("webchat:b", "hei", message_id="m-1")  # ids are unique per conversation only
    assert [r.text for r in first] == ["vastaus: hei"] and again == [] and len(other) == 1
    assert [m.conversation_id for m in core.bot.sent] == ["webchat:a", "webchat:b"]


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
