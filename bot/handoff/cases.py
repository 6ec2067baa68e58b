"""Handing a conversation to a human agent and back: queues and cases, in Redis.

A *case* (``case:<conversation>``, a hash) says who answers a conversation now (``CaseMode``):

- ``queued``: waiting in a queue (``queue:<queue>``, sorted by time queued); its ``kind`` is
  ``live`` (the citizen is waiting) or ``message`` (left outside service hours, answered later);
- ``message``: the citizen was offered to leave a message and the next thing they write is it;
- ``agent``: an agent holds it; the bot sends nothing;
- ``rating``: the agent ended it; the citizen's next message may be a 1-5 rating;
- no case: the bot answers.

Every change is announced on the ``handoff:events`` stream for the consoles. Claiming and
putting back at the head of a queue are Lua scripts, so they are atomic across gateway processes.
See docs/handoff.md.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Mapping

from redis.asyncio import Redis

from bot.conversation.stats import Stats
from bot.core import clock, metrics
from bot.core.errors import CodedError
from bot.handoff.agents import Agents
from bot.handoff.history import History
from bot.knowledge.handoff_config import HandoffConfig
from bot.knowledge.opening_hours import status_at
from bot.store import keys

logger = logging.getLogger(__name__)
MAX_EVENTS = 1000
HANDLED_SAMPLES = 20

# KEYS: the queue, the case, the assigned set. ARGV: conversation, agent, now.
_CLAIM = """
local mode = redis.call('HGET', KEYS[2], 'mode')
if mode ~= 'queued' then return 0 end
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], 'mode', 'agent', 'agent', ARGV[2], 'claimed_at', ARGV[3])
redis.call('SADD', KEYS[3], ARGV[1])
return 1
"""

# Back at the head of its queue, if the agent named still holds it.
# KEYS: the queue, the case, the assigned set. ARGV: conversation, agent, now, queue name.
_REQUEUE_HEAD = """
if redis.call('HGET', KEYS[2], 'mode') ~= 'agent' or redis.call('HGET', KEYS[2], 'agent') ~= ARGV[2] then
  return 0
end
local score = tonumber(ARGV[3])
local head = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if head[2] and tonumber(head[2]) <= score then score = tonumber(head[2]) - 1 end
redis.call('ZADD', KEYS[1], score, ARGV[1])
redis.call('HSET', KEYS[2], 'mode', 'queued', 'agent', '', 'queue', ARGV[4])
redis.call('SREM', KEYS[3], ARGV[1])
return 1
"""


class HandoffError(CodedError):
    """A handoff operation that cannot be done (unknown queue, conversation not held...)."""


class CaseMode(str, Enum):
    """Who answers a conversation now."""

    BOT = "bot"
    QUEUED = "queued"
    MESSAGE = "message"
    AGENT = "agent"
    RATING = "rating"


class CaseKind(str, Enum):
    """A queued case: the citizen waits (live), or left a message to answer later."""

    LIVE = "live"
    MESSAGE = "message"


@dataclass(frozen=True)
class Case:
    """Who answers a conversation, and since when."""

    conversation: str
    mode: CaseMode
    queue: str = ""
    kind: CaseKind = CaseKind.LIVE
    agent: str = ""
    channel: str = ""
    language: str = ""
    reason: str = ""
    queued_at: float = 0.0
    claimed_at: float = 0.0
    ended_by: str = ""

    @classmethod
    def from_hash(cls, conversation: str, fields: Mapping[str, str]) -> Case:
        """A case from its Redis hash; HandoffError for a mode or kind we do not know."""
        try:
            mode = CaseMode(fields.get("mode", ""))
            kind = CaseKind(fields.get("kind") or CaseKind.LIVE.value)
        except ValueError:
            raise HandoffError("corrupt", f"unknown case mode or kind in {sorted(fields.items())!r}") from None
        return cls(
            conversation=conversation,
            mode=mode,
            queue=fields.get("queue", ""),
            kind=kind,
            agent=fields.get("agent", ""),
            channel=fields.get("channel", ""),
            language=fields.get("language", ""),
            reason=fields.get("reason", ""),
            queued_at=float(fields.get("queued_at") or 0),
            claimed_at=float(fields.get("claimed_at") or 0),
            ended_by=fields.get("ended_by", ""),
        )

    def public(self) -> dict[str, Any]:
        """What a console shows about the case."""
        return {
            "conversation": self.conversation,
            "mode": self.mode.value,
            "queue": self.queue,
            "kind": self.kind.value,
            "agent": self.agent,
            "channel": self.channel,
            "language": self.language,
            "reason": self.reason,
            "since": self.queued_at,
        }


@dataclass(frozen=True)
class Availability:
    """What happens to a request for a person now: queued, or closed (leave a message)."""

    open: bool
    opens_at: datetime | None = None  # when closed by the hours: the next opening
    nobody_online: bool = False


@dataclass(frozen=True)
class Position:
    """A queued conversation's place (1 = next) and an estimate of the wait."""

    position: int
    wait_minutes: int


class Handoff:
    """The handoff state machine over Redis; any gateway process may use it."""

    def __init__(self, redis: Redis, config: HandoffConfig, agents: Agents, retention_days: int = 30) -> None:
        self._redis = redis
        self._retention = retention_days * 86400
        self.config = config
        self.agents = agents
        self._claim = redis.register_script(_CLAIM)
        self._requeue_head = redis.register_script(_REQUEUE_HEAD)
        self.history = History(redis, retention_days)
        self.stats = Stats(redis, retention_days)

    # -- reading ----------------------------------------------------------------------------

    async def case(self, conversation_id: str) -> Case:
        """The conversation's case (mode ``bot`` when it has none)."""
        data: dict[str, str] = await self._redis.hgetall(keys.case(conversation_id))
        return Case.from_hash(conversation_id, data) if data else Case(conversation_id, CaseMode.BOT)

    async def availability(self, queue: str, now: datetime | None = None) -> Availability:
        """Open (service hours and someone online) or closed, and when it opens."""
        status = status_at(self.config.queues[queue], now or clock.now())
        if not status.open_now:
            return Availability(False, opens_at=status.next_opening)
        if not await self.agents.online(queue):
            return Availability(False, nobody_online=True)
        return Availability(True)

    async def position(self, conversation_id: str, queue: str) -> Position | None:
        """The place of a live queued conversation and its estimated wait."""
        rank = await self._redis.zrank(keys.queue(queue), conversation_id)
        if rank is None:
            return None
        live_ahead = 0
        for member in await self._redis.zrange(keys.queue(queue), 0, rank - 1) if rank else []:
            kind = await self._redis.hget(keys.case(member), "kind")
            live_ahead += (kind or CaseKind.LIVE.value) == CaseKind.LIVE.value
        position = live_ahead + 1
        agents = max(1, len(await self.agents.online(queue)))
        minutes = math.ceil(position * await self._handling_minutes(queue) / agents)
        return Position(position, max(1, minutes))

    async def _handling_minutes(self, queue: str) -> float:
        samples = [float(v) for v in await self._redis.lrange(keys.handled_times(queue), 0, -1)]
        if not samples:
            return self.config.default_handling_minutes
        return sum(samples) / len(samples) / 60.0

    async def waiting(self) -> list[dict[str, Any]]:
        """Every queued case, with its waiting time, in the order they are to be taken across
        all queues: by their place in the queue (the time they came, or a returned case's place
        at the head), so a Swedish case waiting two minutes comes before a Finnish one waiting
        ten seconds (issue 16: the list was grouped by language)."""
        now = time.time()
        ranked: list[tuple[float, dict[str, Any]]] = []
        for queue in self.config.queues:
            for member, score in await self._redis.zrange(keys.queue(queue), 0, -1, withscores=True):
                case = await self.case(member)
                if case.mode is not CaseMode.QUEUED:
                    continue
                item = case.public()
                item["waiting_seconds"] = max(0, round(now - case.queued_at))
                ranked.append((float(score), item))
        return [item for _, item in sorted(ranked, key=lambda pair: pair[0])]

    async def held_by(self, agent: str) -> list[Case]:
        """The cases an agent holds now."""
        cases = []
        for member in await self._redis.smembers(keys.HANDOFF_ASSIGNED):
            case = await self.case(member)
            if case.mode is CaseMode.AGENT and case.agent == agent:
                cases.append(case)
        return sorted(cases, key=lambda c: c.claimed_at)

    # -- changes from the citizen's side --------------------------------------------------------

    async def enqueue(
        self, conversation_id: str, channel: str, language: str, reason: str, kind: CaseKind = CaseKind.LIVE
    ) -> str:
        """Put a conversation in the queue of its language; returns the queue."""
        queue = self.config.queue_for(language)
        now = time.time()
        mapping = {
            "mode": CaseMode.QUEUED.value,
            "queue": queue,
            "kind": kind.value,
            "agent": "",
            "channel": channel,
            "language": language,
            "reason": reason,
            "queued_at": f"{now:.3f}",
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            for other in self.config.queues:  # one queue at a time
                if other != queue:
                    pipe.zrem(keys.queue(other), conversation_id)
            pipe.hset(keys.case(conversation_id), mapping=mapping)
            pipe.zadd(keys.queue(queue), {conversation_id: now}, nx=True)
            await pipe.execute()
        await self._event("queued", conversation_id)
        return queue

    async def await_message(self, conversation_id: str, channel: str, language: str, reason: str) -> None:
        """Closed: the citizen's next message is a message for the agents."""
        mapping = {"mode": CaseMode.MESSAGE.value, "channel": channel, "language": language, "reason": reason}
        await self._redis.hset(keys.case(conversation_id), mapping=mapping)
        await self._redis.expire(keys.case(conversation_id), self._retention)

    async def to_bot(self, conversation_id: str, why: str) -> None:
        """The bot answers again (cancelled, rated, the rating was skipped, or forgotten)."""
        case = await self.case(conversation_id)
        await self._drop(conversation_id, case)
        await self._event(why, conversation_id)

    async def forget(self, conversation_id: str) -> None:
        """Remove the conversation from every queue and from its agent, and its ended cases from
        the agents' histories (its data is erased)."""
        case = await self.case(conversation_id)
        await self._drop(conversation_id, case)
        await self.history.forget(conversation_id)
        if case.mode is not CaseMode.BOT:
            await self._event("forgotten", conversation_id, case.agent)

    async def _drop(self, conversation_id: str, case: Case) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            # Every queue: a case's queue field may be stale after a transfer, and an entry left
            # behind would count as a citizen waiting ahead of everyone else.
            for queue in self.config.queues:
                pipe.zrem(keys.queue(queue), conversation_id)
            if case.queue and case.queue not in self.config.queues:
                pipe.zrem(keys.queue(case.queue), conversation_id)
            pipe.srem(keys.HANDOFF_ASSIGNED, conversation_id)
            pipe.delete(keys.case(conversation_id))
            await pipe.execute()

    async def rate(self, conversation_id: str, score: int) -> None:
        """Store the citizen's 1-5 rating of the handoff, then back to the bot."""
        case = await self.case(conversation_id)
        record = {"conversation_channel": case.channel, "queue": case.queue, "score": str(score)}
        record["agent"] = case.ended_by
        await self._redis.xadd(keys.HANDOFF_RATINGS, record, maxlen=10000, approximate=True)
        await self.stats.rated(case.channel, case.language, score)
        closed = await self._redis.hget(keys.case(conversation_id), "closed")
        if closed:
            await self.history.rate(closed, score)
        await self._drop(conversation_id, case)
        await self._event("rated", conversation_id, case.ended_by)

    # -- changes from the agents' side ------------------------------------------------------------

    async def claim(self, conversation_id: str, agent: str) -> Case:
        """Take a queued conversation; exactly one of agents claiming at once gets it."""
        case = await self.case(conversation_id)
        if case.mode is not CaseMode.QUEUED or not case.queue:
            raise HandoffError("taken", "this conversation is no longer waiting")
        names = [keys.queue(case.queue), keys.case(conversation_id), keys.HANDOFF_ASSIGNED]
        if not await self._claim(keys=names, args=[conversation_id, agent, f"{time.time():.3f}"]):
            raise HandoffError("taken", "another agent took this conversation")
        await self._event("claimed", conversation_id, agent)
        waited = max(0.0, time.time() - case.queued_at)
        metrics.HANDOFF_WAIT.labels(case.queue).observe(waited)
        await self.stats.served(conversation_id, case.channel, case.language, waited)
        return await self.case(conversation_id)

    async def closed_record(self, conversation_id: str) -> str | None:
        """The id of the conversation's latest ended case while it waits for a rating."""
        record: str | None = await self._redis.hget(keys.case(conversation_id), "closed")
        return record

    async def held(self, conversation_id: str, agent: str) -> Case:
        """The case, if ``agent`` holds it; HandoffError ``not_yours`` otherwise."""
        case = await self.case(conversation_id)
        if case.mode is not CaseMode.AGENT or case.agent != agent:
            raise HandoffError("not_yours", "you do not hold this conversation")
        return case

    async def end(self, conversation_id: str, agent: str, preview: str = "") -> Case:
        """The agent is done: the citizen is back with the bot and may rate the service. The case
        goes to the agent's history (``preview``: the citizen's last message, masked)."""
        case = await self.held(conversation_id, agent)
        handled = max(0.0, time.time() - case.claimed_at)
        handled_key = keys.handled_times(case.queue)
        closed = await self.history.record(
            {
                "conversation": conversation_id,
                "agent": agent,
                "channel": case.channel,
                "language": case.language,
                "reason": case.reason,
                "queue": case.queue,
                "queued_at": f"{case.queued_at:.3f}",
                "claimed_at": f"{case.claimed_at:.3f}",
                "preview": preview,
            }
        )
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                keys.case(conversation_id),
                mapping={"mode": CaseMode.RATING.value, "agent": "", "ended_by": agent, "closed": closed},
            )
            pipe.srem(keys.HANDOFF_ASSIGNED, conversation_id)
            pipe.lpush(handled_key, f"{handled:.1f}")
            pipe.ltrim(handled_key, 0, HANDLED_SAMPLES - 1)
            await pipe.execute()
        await self._event("ended", conversation_id, agent)
        return case

    async def transfer(self, conversation_id: str, agent: str, *, queue: str = "", to_agent: str = "") -> Case:
        """Hand a held conversation to another queue (at its head) or straight to another agent."""
        await self.held(conversation_id, agent)
        if to_agent:
            if to_agent == agent or to_agent not in await self.agents.online():
                raise HandoffError("agent_offline", "that agent is not signed in")
            await self._redis.hset(
                keys.case(conversation_id), mapping={"agent": to_agent, "claimed_at": f"{time.time():.3f}"}
            )
            await self._event("transferred", conversation_id, to_agent)
            return await self.case(conversation_id)
        if queue not in self.config.queues:
            raise HandoffError("unknown_queue", "no such queue")
        names = [keys.queue(queue), keys.case(conversation_id), keys.HANDOFF_ASSIGNED]
        await self._requeue_head(keys=names, args=[conversation_id, agent, f"{time.time():.3f}", queue])
        await self._event("transferred", conversation_id)
        return await self.case(conversation_id)

    async def citizen_typing(self, conversation_id: str) -> None:
        """Tell the consoles the citizen is typing, when an agent holds the conversation."""
        if await self._redis.hget(keys.case(conversation_id), "mode") == CaseMode.AGENT.value:
            await self._redis.publish(keys.HANDOFF_TYPING, conversation_id)

    async def requeue_abandoned(self, now: float | None = None) -> list[str]:
        """Put cases whose agent has had no console for the grace time back at the queue head.

        Every gateway process calls this now and then; the script moves a case only if the same
        agent still holds it, so each case moves once.
        """
        moment = time.time() if now is None else now
        cutoff = moment - self.agents.grace_seconds
        moved = []
        for member in await self._redis.smembers(keys.HANDOFF_ASSIGNED):
            case = await self.case(member)
            if case.mode is not CaseMode.AGENT:
                await self._redis.srem(keys.HANDOFF_ASSIGNED, case.conversation)
                continue
            seen = await self.agents.last_seen(case.agent)
            if seen is not None and seen >= cutoff:
                continue
            names = [keys.queue(case.queue), keys.case(case.conversation), keys.HANDOFF_ASSIGNED]
            args = [case.conversation, case.agent, f"{moment:.3f}", case.queue]
            if await self._requeue_head(keys=names, args=args):
                logger.info("conversation put back at the head of queue %s: its agent went away", case.queue)
                await self._event("requeued", case.conversation, case.agent)
                moved.append(case.conversation)
        return moved

    async def reset(self) -> None:
        """No queues, no cases, nobody assigned (tests start from here; never in service)."""
        names = [*await self._redis.keys(keys.queue_pattern()), *await self._redis.keys(keys.case_pattern())]
        await self._redis.delete(keys.HANDOFF_ASSIGNED, *names)

    # -- events -------------------------------------------------------------------------------------

    async def latest_event_id(self) -> str:
        """The id of the newest event ("0" when there is none): a console follows from there."""
        last = await self._redis.xrevrange(keys.HANDOFF_EVENTS, count=1)
        return str(last[0][0]) if last else "0"

    @property
    def events_stream(self) -> str:
        """The name of the events stream, for readers that follow several streams at once."""
        return keys.HANDOFF_EVENTS

    @property
    def typing_channel(self) -> str:
        """The pub/sub channel of citizens' typing signals."""
        return keys.HANDOFF_TYPING

    async def _event(self, kind: str, conversation_id: str, agent: str = "") -> None:
        now = time.time()
        fields = {"type": kind, "conversation": conversation_id, "agent": agent, "at": f"{now:.3f}"}
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xadd(keys.HANDOFF_EVENTS, fields, maxlen=MAX_EVENTS, approximate=True)
            # ... and never older than the chat itself (they name conversations).
            pipe.xtrim(keys.HANDOFF_EVENTS, minid=f"{int((now - self._retention) * 1000)}-0", approximate=True)
            await pipe.execute()
        if kind != "forgotten":  # a case is kept as long as the chat, from its last change
            await self._redis.expire(keys.case(conversation_id), self._retention)
