"""Handoff use cases on a real Redis with a fake bot: queue, cancel, claim, chat, transfer, end,
rating, requeue, and erasure of a queued conversation (a defect of the old structure)."""

from __future__ import annotations

import time

import pytest
from prometheus_client import REGISTRY

from bot.core.protocol import Notice
from bot.handoff.agents import Agent
from bot.handoff.cases import CaseKind, CaseMode, HandoffError
from bot.handoff.texts import CANCEL_PAYLOAD
from bot.store import keys
from tests.core.conftest import Core

ANNA = Agent("anna", "Anna K.", ("fi", "sv", "en"))
BO = Agent("bo", "Bo", ("fi", "sv", "en"))


async def online(core: Core, *agents: Agent) -> None:
    for agent in agents:
        await core.services.agents.create(agent.username, agent.name, "correct horse battery", agent.queues)
        await core.services.agents.heartbeat(agent.username)


async def test_a_request_queues_with_a_place_and_a_cancel_button(core: Core) -> None:
    await online(core, ANNA)
    lead, status = await core.say("webchat:a", "/request_human")
    assert status.buttons[0].payload == CANCEL_PAYLOAD
    assert "1" in status.text  # first in the queue
    lead2, status2 = await core.say("webchat:b", "/request_human")
    assert "2" in status2.text and "2" not in status.text
    case = await core.services.cases.case("webchat:a")
    assert case.mode is CaseMode.QUEUED and case.queue == "fi" and case.kind is CaseKind.LIVE


async def test_while_queued_the_bot_is_not_asked_and_cancel_returns_to_it(core: Core) -> None:
    await online(core, ANNA)
    await core.say("webchat:a", "/request_human")
    sent = len(core.bot.sent)
    [still] = await core.say("webchat:a", "onko vielä pitkä jono?")
    assert len(core.bot.sent) == sent  # kept for the agent, not sent to the bot
    assert still.buttons[0].payload == CANCEL_PAYLOAD
    [cancelled] = await core.say("webchat:a", "ei sittenkään")  # free text the NLU takes for "deny"
    assert (await core.services.cases.case("webchat:a")).mode is CaseMode.BOT
    assert await core.redis.zcard(keys.queue("fi")) == 0
    [answer] = await core.say("webchat:a", "hei")
    assert answer.text == "vastaus: hei"


async def test_nobody_online_offers_to_leave_a_message_which_is_queued_as_one(core: Core) -> None:
    await core.say("webchat:a", "/request_human")
    assert (await core.services.cases.case("webchat:a")).mode is CaseMode.MESSAGE
    await core.say("webchat:a", "Soittakaa minulle huomenna")
    case = await core.services.cases.case("webchat:a")
    assert case.mode is CaseMode.QUEUED and case.kind is CaseKind.MESSAGE


async def test_claim_chat_transfer_end_and_rating(core: Core) -> None:
    desk = core.services.handoff
    await online(core, ANNA, BO)
    await core.say("webchat:a", "/request_human")
    waits = REGISTRY.get_sample_value("citybot_handoff_wait_seconds_count", {"queue": "fi"}) or 0
    case, joined = await desk.claim("webchat:a", ANNA)
    assert case.mode is CaseMode.AGENT and joined.notice is Notice.AGENT_JOINED and "Anna K." in joined.text
    assert REGISTRY.get_sample_value("citybot_handoff_wait_seconds_count", {"queue": "fi"}) == waits + 1  # metrics
    await desk.announce("webchat:a", [joined])
    assert await core.say("webchat:a", "hei Anna") == []  # the agent answers, not the bot
    await desk.reply("webchat:a", ANNA, "Hei, miten voin auttaa?")
    pushed = core.delivered.to("webchat:a")
    assert [r.sender for r in pushed] == ["bot", "agent"] and pushed[1].agent_name == "Anna K."
    _, entries = await desk.transcript("webchat:a", ANNA)
    assert [e["from"] for e in entries][-2:] == ["citizen", "agent"]

    await desk.transfer("webchat:a", ANNA, to_agent="bo")
    assert (await desk.case("webchat:a")).agent == "bo"
    await desk.end("webchat:a", BO)
    ended, question = core.delivered.to("webchat:a")[-2:]
    assert ended.notice is Notice.HANDOFF_ENDED and len(question.buttons) == 5
    [thanks] = await core.say("webchat:a", "4")
    rating = await core.redis.xrevrange(keys.HANDOFF_RATINGS, count=1)
    assert rating[0][1]["score"] == "4" and rating[0][1]["agent"] == "bo"
    assert (await desk.case("webchat:a")).mode is CaseMode.BOT


async def test_an_agent_cannot_act_on_a_conversation_they_do_not_hold(core: Core) -> None:
    desk = core.services.handoff
    await online(core, ANNA, BO)
    await core.say("webchat:a", "/request_human")
    await desk.claim("webchat:a", ANNA)
    for attempt in (desk.reply("webchat:a", BO, "hi"), desk.end("webchat:a", BO), desk.transcript("webchat:a", BO)):
        with pytest.raises(HandoffError) as refused:
            await attempt
        assert refused.value.code == "not_yours"
    assert core.delivered.to("webchat:a") == []


async def test_a_conversation_whose_agent_went_away_goes_back_to_the_head_of_the_queue(core: Core) -> None:
    desk = core.services.handoff
    await online(core, ANNA)
    await core.say("webchat:a", "/request_human")
    await core.say("webchat:b", "/request_human")
    await desk.claim("webchat:a", ANNA)
    assert await desk.requeue_abandoned(now=time.time()) == []  # Anna is still here
    later = time.time() + core.services.agents.grace_seconds + 1  # a driven clock, no sleeping
    assert await desk.requeue_abandoned(now=later) == ["webchat:a"]
    assert await core.redis.zrange(keys.queue("fi"), 0, -1) == ["webchat:a", "webchat:b"]
    assert core.delivered.to("webchat:a")[-1].notice is Notice.REQUEUED


async def test_erasing_a_queued_conversation_takes_it_out_of_the_queue(core: Core) -> None:
    """Before: the erased conversation kept its queue entry, and the next citizen was told
    "position 2" behind a conversation that no longer existed."""
    await online(core, ANNA)
    await core.services.links.link("webchat:a", "citizen-1", "test")
    await core.say("webchat:a", "/request_human")
    await core.say("webchat:b", "/request_human")
    await core.services.rights.erase("citizen-1", "test-office")  # the back office's erasure
    assert await core.redis.zrange(keys.queue("fi"), 0, -1) == ["webchat:b"]
    position = await core.services.cases.position("webchat:b", "fi")
    assert position is not None and position.position == 1
    assert [c["conversation"] for c in await core.services.cases.waiting()] == ["webchat:b"]


async def test_deleting_a_queued_conversation_from_the_chat_takes_it_out_of_the_queue(core: Core) -> None:
    await online(core, ANNA)
    await core.say("webchat:a", "/request_human")
    await core.say("webchat:b", "/request_human")
    await core.services.rights.forget_conversation("webchat:a")  # what "delete my data" in the chat does
    assert await core.redis.zrange(keys.queue("fi"), 0, -1) == ["webchat:b"]
    assert await core.redis.exists(keys.case("webchat:a"), keys.transcript("webchat:a")) == 0


async def test_erasing_a_held_conversation_releases_it_from_its_agent(core: Core) -> None:
    desk = core.services.handoff
    await online(core, ANNA)
    await core.say("webchat:a", "/request_human")
    await desk.claim("webchat:a", ANNA)
    await core.services.rights.forget_conversation("webchat:a")
    assert await desk.held_by(ANNA) == []
    [(_, event)] = await core.redis.xrevrange(keys.HANDOFF_EVENTS, count=1)
    assert event["type"] == "forgotten" and event["agent"] == "anna"
    with pytest.raises(HandoffError):
        await desk.reply("webchat:a", ANNA, "are you there?")


async def test_f3_an_agent_sees_and_takes_only_the_queues_they_serve(core: Core) -> None:
    """Security finding 3. Before: an agent for fi saw the sv queue, claimed a Swedish conversation
    and read its transcript. A supervisor (admin) sees and may take every queue."""
    desk = core.services.handoff
    finnish = Agent("fiona", "Fiona", ("fi",))
    swedish = Agent("sven", "Sven", ("sv",))
    supervisor = Agent("sue", "Sue", ("fi",), admin=True)
    await online(core, finnish, swedish)
    await core.services.agents.create("sue", "Sue", "correct horse battery", ("fi",), admin=True)
    await core.services.agents.heartbeat("sue")
    await core.say("webchat:suomi", "haluan puhua ihmiselle")  # queued in fi (the fake bot speaks fi)
    await core.services.cases.enqueue("webchat:ruotsi", "webchat", "sv", "requested")
    assert [c["queue"] for c in await desk.waiting(finnish)] == ["fi"]
    assert [c["queue"] for c in await desk.waiting(swedish)] == ["sv"]
    assert {c["queue"] for c in await desk.waiting(supervisor)} == {"fi", "sv"}
    with pytest.raises(HandoffError) as refused:
        await desk.claim("webchat:ruotsi", finnish)
    assert refused.value.code == "not_your_queue"
    assert (await desk.case("webchat:ruotsi")).mode is CaseMode.QUEUED  # still waiting for a Swedish agent
    with pytest.raises(HandoffError):
        await desk.transcript("webchat:ruotsi", finnish)
    await desk.claim("webchat:ruotsi", supervisor)
    with pytest.raises(HandoffError) as not_theirs:
        await desk.transfer("webchat:ruotsi", supervisor, to_agent="fiona")
    assert not_theirs.value.code == "not_their_queue"
    await desk.transfer("webchat:ruotsi", supervisor, to_agent="sven")
    assert (await desk.case("webchat:ruotsi")).agent == "sven"


async def test_the_queue_is_listed_by_waiting_time_across_languages(core: Core) -> None:
    """Issue 16: the console listed the queue language by language, so a Finnish case waiting
    10 s stood above a Swedish one waiting 1 min 51 s."""
    await online(core, ANNA)
    cases = core.services.cases
    await cases.enqueue("webchat:swede", "webchat", "sv", "requested")
    await cases.enqueue("webchat:finn", "webchat", "fi", "requested")
    await cases.enqueue("webchat:english", "webchat", "en", "requested")
    order = [c["conversation"] for c in await core.services.handoff.waiting(ANNA)]
    assert order == ["webchat:swede", "webchat:finn", "webchat:english"]
