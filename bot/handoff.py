"""Handing a conversation to a human agent and back: queues, cases, claims, in Redis.

A *case* (``citybot:case:<conversation>``, a hash) says who answers a conversation now:

- ``queued``: waiting in a queue (``citybot:queue:<queue>``, sorted by time queued); ``kind`` is
  ``live`` (the citizen is waiting) or ``message`` (left outside service hours, answered later);
- ``message``: the citizen was offered to leave a message and the next thing they write is it;
- ``agent``: an agent holds it; the bot sends nothing;
- ``rating``: the agent ended it; the citizen's next message may be a 1-5 rating;
- no case, or ``bot``: the bot answers.

Every change is announced on the ``citybot:handoff:events`` stream for the consoles. Claiming and
putting back at the head of a queue are Lua scripts, so they are atomic across gateway processes.
See docs/handoff.md.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from redis.asyncio import Redis

from bot import clock
from bot.conversations import PREFIX, as_text
from bot.errors import CodedError, KnowledgeError
from bot.i18n import LANGUAGES
from bot.knowledge import load_calendar, load_texts, read_yaml, trilingual
from bot.labels import faq_topic
from bot.opening_hours import Schedule, status_at
from bot.paths import knowledge_dir
from bot.service_points import parse_schedule

logger = logging.getLogger(__name__)
HANDOFF_FILE_ENV = "CITYBOT_HANDOFF_FILE"
EVENTS_KEY = f"{PREFIX}handoff:events"
ONLINE_KEY = f"{PREFIX}agents:online"
ASSIGNED_KEY = f"{PREFIX}handoff:assigned"
TYPING_CHANNEL = f"{PREFIX}handoff:typing"  # pub/sub: typing signals are worth nothing late
MAX_EVENTS = 1000
HANDLED_SAMPLES = 20
REASONS = ("requested", "not_understood", "topic", "transferred")

_CLAIM = """
local mode = redis.call('HGET', KEYS[2], 'mode')
if mode ~= 'queued' then return 0 end
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], 'mode', 'agent', 'agent', ARGV[2], 'claimed_at', ARGV[3])
redis.call('SADD', KEYS[3], ARGV[1])
return 1
"""

# Back at the head of its queue, if the agent named still holds it.
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


@dataclass(frozen=True)
class HandoffConfig:
    """``knowledge/handoff.yml``: queues and their hours, topics needing a person, texts."""

    queues: dict[str, Schedule]
    queue_names: dict[str, dict[str, str]]
    default_handling_minutes: float
    topics_needing_person: frozenset[str]
    texts: dict[str, dict[str, str]]

    def queue_for(self, language: str | None) -> str:
        """The queue of a conversation language (the first queue when there is none for it)."""
        if language in self.queues:
            return str(language)
        return next(iter(self.queues))

    def needs_person(self, intent: str | None) -> bool:
        """True for the ``faq_<topic>`` intents whose topic is configured as needing a person."""
        topic = faq_topic(intent or "")
        return topic is not None and f"faq/{topic}" in self.topics_needing_person


def handoff_file() -> Path:
    """``CITYBOT_HANDOFF_FILE`` or ``knowledge/handoff.yml``."""
    return Path(os.environ.get(HANDOFF_FILE_ENV) or knowledge_dir() / "handoff.yml")


@lru_cache(maxsize=4)
def load_handoff_config(path: Path | None = None) -> HandoffConfig:
    """Read and check the handoff configuration; raises KnowledgeError on a mistake."""
    path = path or handoff_file()
    data = read_yaml(path)
    calendar = load_calendar()
    closed_by_default = frozenset(calendar.holiday_names) - calendar.holidays_open_by_default
    queues: dict[str, Schedule] = {}
    names: dict[str, dict[str, str]] = {}
    for key, entry in (data.get("queues") or {}).items():
        if not isinstance(entry, Mapping):
            raise KnowledgeError(f"{path}: queues.{key} must be a mapping")
        queues[str(key)] = parse_schedule(entry, f"{path}: queues.{key}", closed_by_default)
        names[str(key)] = trilingual(entry.get("name"), f"{path}: queues.{key}.name")
    missing = [lang for lang in LANGUAGES if lang not in queues]
    if missing:
        raise KnowledgeError(f"{path}: every language needs a queue; missing {missing}")
    topics = frozenset(str(t) for t in data.get("topics_needing_person") or [])
    bad = [t for t in topics if not t.startswith("faq/")]
    if bad:
        raise KnowledgeError(f"{path}: topics_needing_person must be faq/<topic> labels: {bad}")
    return HandoffConfig(
        queues=queues,
        queue_names=names,
        default_handling_minutes=float(data.get("default_handling_minutes") or 6),
        topics_needing_person=topics,
        texts=load_texts(path, "texts"),
    )


@dataclass(frozen=True)
class Case:
    """Who answers a conversation, and since when."""

    conversation: str
    mode: str
    queue: str = ""
    kind: str = "live"
    agent: str = ""
    channel: str = ""
    language: str = ""
    reason: str = ""
    queued_at: float = 0.0
    claimed_at: float = 0.0

    @classmethod
    def from_hash(cls, conversation: str, data: Mapping[Any, Any]) -> Case:
        """A case from its Redis hash (bytes or str)."""
        fields = {as_text(k): as_text(v) for k, v in data.items()}
        return cls(
            conversation=conversation,
            mode=fields.get("mode", "bot") or "bot",
            queue=fields.get("queue", ""),
            kind=fields.get("kind", "live") or "live",
            agent=fields.get("agent", ""),
            channel=fields.get("channel", ""),
            language=fields.get("language", ""),
            reason=fields.get("reason", ""),
            queued_at=float(fields.get("queued_at") or 0),
            claimed_at=float(fields.get("claimed_at") or 0),
        )

    def public(self) -> dict[str, Any]:
        """What a console shows about the case."""
        return {
            "conversation": self.conversation,
            "mode": self.mode,
            "queue": self.queue,
            "kind": self.kind,
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


def case_key(conversation_id: str) -> str:
    """The Redis key of a conversation's handoff case."""
    return f"{PREFIX}case:{conversation_id}"


def queue_key(queue: str) -> str:
    """The Redis key of a queue."""
    return f"{PREFIX}queue:{queue}"


class Handoff:
    """The handoff state machine over Redis; any gateway process may use it."""

    def __init__(self, redis: Redis, config: HandoffConfig, grace_seconds: float = 60.0) -> None:
        self._redis = redis
        self.config = config
        self.grace_seconds = grace_seconds
        self._claim = redis.register_script(_CLAIM)
        self._requeue_head = redis.register_script(_REQUEUE_HEAD)

    # -- reading ----------------------------------------------------------------------------

    async def case(self, conversation_id: str) -> Case:
        """The conversation's case (mode ``bot`` when it has none)."""
        data = await self._redis.hgetall(case_key(conversation_id))
        return Case.from_hash(conversation_id, data) if data else Case(conversation_id, "bot")

    async def agents_online(self, queue: str | None = None) -> list[str]:
        """Usernames with a console connected in the last ``grace_seconds`` (for ``queue``)."""
        cutoff = time.time() - self.grace_seconds
        names = [as_text(n) for n in await self._redis.zrangebyscore(ONLINE_KEY, cutoff, "+inf")]
        if queue is None:
            return names
        result = []
        for name in names:
            languages = await self._redis.hget(f"{PREFIX}agent:{name}", "queues")
            if languages is None or queue in as_text(languages).split(","):
                result.append(name)
        return result

    async def availability(self, queue: str, now: datetime | None = None) -> Availability:
        """Open (service hours and someone online) or closed, and when it opens."""
        status = status_at(self.config.queues[queue], now or clock.now())
        if not status.open_now:
            return Availability(False, opens_at=status.next_opening)
        if not await self.agents_online(queue):
            return Availability(False, nobody_online=True)
        return Availability(True)

    async def position(self, conversation_id: str, queue: str) -> Position | None:
        """The place of a live queued conversation and its estimated wait."""
        rank = await self._redis.zrank(queue_key(queue), conversation_id)
        if rank is None:
            return None
        live_ahead = 0
        for member in await self._redis.zrange(queue_key(queue), 0, rank - 1) if rank else []:
            kind = await self._redis.hget(case_key(as_text(member)), "kind")
            live_ahead += (as_text(kind) if kind else "live") == "live"
        position = live_ahead + 1
        agents = max(1, len(await self.agents_online(queue)))
        minutes = math.ceil(position * await self._handling_minutes(queue) / agents)
        return Position(position, max(1, minutes))

    async def _handling_minutes(self, queue: str) -> float:
        samples = [float(as_text(v)) for v in await self._redis.lrange(f"{PREFIX}handoff:handled:{queue}", 0, -1)]
        if not samples:
            return self.config.default_handling_minutes
        return sum(samples) / len(samples) / 60.0

    async def waiting(self) -> list[dict[str, Any]]:
        """Every queued case, queue by queue, each queue head first, with its waiting time."""
        now = time.time()
        result = []
        for queue in self.config.queues:
            for member in await self._redis.zrange(queue_key(queue), 0, -1):
                case = await self.case(as_text(member))
                if case.mode != "queued":
                    continue
                item = case.public()
                item["waiting_seconds"] = max(0, round(now - case.queued_at))
                result.append(item)
        return result

    async def held_by(self, agent: str) -> list[Case]:
        """The cases an agent holds now."""
        cases = []
        for member in await self._redis.smembers(ASSIGNED_KEY):
            case = await self.case(as_text(member))
            if case.mode == "agent" and case.agent == agent:
                cases.append(case)
        return sorted(cases, key=lambda c: c.claimed_at)

    # -- changes from the citizen's side --------------------------------------------------------

    async def enqueue(self, conversation_id: str, channel: str, language: str, reason: str, kind: str = "live") -> str:
        """Put a conversation in the queue of its language; returns the queue."""
        queue = self.config.queue_for(language)
        now = time.time()
        mapping = {
            "mode": "queued",
            "queue": queue,
            "kind": kind,
            "agent": "",
            "channel": channel,
            "language": language,
            "reason": reason,
            "queued_at": f"{now:.3f}",
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(case_key(conversation_id), mapping=mapping)
            pipe.zadd(queue_key(queue), {conversation_id: now}, nx=True)
            await pipe.execute()
        await self._event("queued", conversation_id)
        return queue

    async def await_message(self, conversation_id: str, channel: str, language: str, reason: str) -> None:
        """Closed: the citizen's next message is a message for the agents."""
        mapping = {"mode": "message", "channel": channel, "language": language, "reason": reason}
        await self._redis.hset(case_key(conversation_id), mapping=mapping)

    async def to_bot(self, conversation_id: str, why: str) -> None:
        """The bot answers again (cancelled, rated, or the rating was skipped)."""
        case = await self.case(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            if case.queue:
                pipe.zrem(queue_key(case.queue), conversation_id)
            pipe.srem(ASSIGNED_KEY, conversation_id)
            pipe.delete(case_key(conversation_id))
            await pipe.execute()
        await self._event(why, conversation_id)

    async def rate(self, conversation_id: str, score: int) -> None:
        """Store the citizen's 1-5 rating of the handoff, then back to the bot."""
        case = await self.case(conversation_id)
        record = {"conversation_channel": case.channel, "queue": case.queue, "score": str(score)}
        record["agent"] = await self._redis.hget(case_key(conversation_id), "ended_by") or ""
        await self._redis.xadd(f"{PREFIX}handoff:ratings", record, maxlen=10000, approximate=True)
        await self.to_bot(conversation_id, "rated")

    # -- changes from the agents' side ------------------------------------------------------------

    async def claim(self, conversation_id: str, agent: str) -> Case:
        """Take a queued conversation; exactly one of agents claiming at once gets it."""
        case = await self.case(conversation_id)
        if case.mode != "queued" or not case.queue:
            raise HandoffError("taken", "this conversation is no longer waiting")
        keys = [queue_key(case.queue), case_key(conversation_id), ASSIGNED_KEY]
        if not await self._claim(keys=keys, args=[conversation_id, agent, f"{time.time():.3f}"]):
            raise HandoffError("taken", "another agent took this conversation")
        await self._event("claimed", conversation_id, agent)
        return await self.case(conversation_id)

    async def _held(self, conversation_id: str, agent: str) -> Case:
        case = await self.case(conversation_id)
        if case.mode != "agent" or case.agent != agent:
            raise HandoffError("not_yours", "you do not hold this conversation")
        return case

    async def end(self, conversation_id: str, agent: str) -> Case:
        """The agent is done: the citizen is back with the bot and may rate the service."""
        case = await self._held(conversation_id, agent)
        handled = max(0.0, time.time() - case.claimed_at)
        handled_key = f"{PREFIX}handoff:handled:{case.queue}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(case_key(conversation_id), mapping={"mode": "rating", "agent": "", "ended_by": agent})
            pipe.srem(ASSIGNED_KEY, conversation_id)
            pipe.lpush(handled_key, f"{handled:.1f}")
            pipe.ltrim(handled_key, 0, HANDLED_SAMPLES - 1)
            await pipe.execute()
        await self._event("ended", conversation_id, agent)
        return case

    async def transfer(self, conversation_id: str, agent: str, *, queue: str = "", to_agent: str = "") -> Case:
        """Hand a held conversation to another queue (at its head) or straight to another agent."""
        await self._held(conversation_id, agent)
        if to_agent:
            if to_agent == agent or to_agent not in await self.agents_online():
                raise HandoffError("agent_offline", "that agent is not signed in")
            await self._redis.hset(
                case_key(conversation_id), mapping={"agent": to_agent, "claimed_at": f"{time.time():.3f}"}
            )
            await self._event("transferred", conversation_id, to_agent)
            return await self.case(conversation_id)
        if queue not in self.config.queues:
            raise HandoffError("unknown_queue", "no such queue")
        keys = [queue_key(queue), case_key(conversation_id), ASSIGNED_KEY]
        await self._requeue_head(keys=keys, args=[conversation_id, agent, f"{time.time():.3f}", queue])
        await self._event("transferred", conversation_id)
        return await self.case(conversation_id)

    async def citizen_typing(self, conversation_id: str) -> None:
        """Tell the consoles the citizen is typing, when an agent holds the conversation."""
        if await self._redis.hget(case_key(conversation_id), "mode") in (b"agent", "agent"):
            await self._redis.publish(TYPING_CHANNEL, conversation_id)

    async def heartbeat(self, agent: str) -> None:
        """A console of ``agent`` is connected now."""
        await self._redis.zadd(ONLINE_KEY, {agent: time.time()})

    async def offline(self, agent: str) -> None:
        """The agent signed out: not online any more (their cases follow the grace rule)."""
        await self._redis.zadd(ONLINE_KEY, {agent: time.time() - self.grace_seconds - 1})

    async def requeue_abandoned(self) -> list[str]:
        """Put cases whose agent has had no console for ``grace_seconds`` back at the queue head.

        Every gateway process calls this now and then; the script moves a case only if the same
        agent still holds it, so each case moves once.
        """
        cutoff = time.time() - self.grace_seconds
        moved = []
        for member in await self._redis.smembers(ASSIGNED_KEY):
            case = await self.case(as_text(member))
            if case.mode != "agent":
                await self._redis.srem(ASSIGNED_KEY, case.conversation)
                continue
            seen = await self._redis.zscore(ONLINE_KEY, case.agent)
            if seen is not None and seen >= cutoff:
                continue
            keys = [queue_key(case.queue), case_key(case.conversation), ASSIGNED_KEY]
            args = [case.conversation, case.agent, f"{time.time():.3f}", case.queue]
            if await self._requeue_head(keys=keys, args=args):
                logger.info("conversation put back at the head of queue %s: its agent went away", case.queue)
                await self._event("requeued", case.conversation, case.agent)
                moved.append(case.conversation)
        return moved

    # -- events -------------------------------------------------------------------------------------

    async def _event(self, kind: str, conversation_id: str, agent: str = "") -> None:
        fields = {"type": kind, "conversation": conversation_id, "agent": agent, "at": f"{time.time():.3f}"}
        await self._redis.xadd(EVENTS_KEY, fields, maxlen=MAX_EVENTS, approximate=True)
