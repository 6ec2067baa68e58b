"""Daily service figures for the supervisors' dashboard, per language and channel, in Redis.

Each city day (Europe/Helsinki) has a hash of counters (``stats:<day>``; fields
``<measure>|<language>|<channel>``): conversations (counted once a day each), bot turns,
turns the bot did not understand, conversations that asked for a person, conversations a person
took, ratings (their sum and the satisfied ones, 4-5). The queue waits of the conversations taken
are a list per language and channel (the median needs them all), and the messages the bot did
not understand are counted per language in a sorted set (``stats:<day>:unanswered:<language>``),
as the transcript keeps them: masked, so a number or an address never reaches the dashboard.

Everything expires with the chats (the transcript retention). The sets that make a conversation
count once a day hold pseudonymous conversation ids and last two days.

From these the report gives, for a period: conversations; containment (the share no person had
to take); the handoff rate (the share that asked for a person); the fallback rate (the share of
bot turns not understood); the median queue wait; CSAT (the share of ratings that are 4 or 5)
and the mean rating; the top unanswered questions.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.core import clock
from bot.core.i18n import LANGUAGES
from bot.store import keys

CHANNELS = ("webchat", "telegram", "whatsapp")
MEASURES = ("conversations", "turns", "fallbacks", "asked", "served", "ratings", "rating_sum", "satisfied")
MAX_WAITS = 5000  # queue waits kept per day, language and channel
MAX_UNANSWERED = 300  # distinct unanswered questions kept per day and language
UNANSWERED_CHARS = 160
TOP_UNANSWERED = 10
SEEN_SECONDS = 2 * 86400


def normalised(text: str) -> str:
    """An unanswered question as it is counted: one line, trimmed, lower case, shortened."""
    line = re.sub(r"\s+", " ", text).strip().strip(".!?,;:").strip()
    return line.casefold()[:UNANSWERED_CHARS]


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class Figures:
    """The counters of one slice (a language, a channel, or all) over a period."""

    conversations: int = 0
    turns: int = 0
    fallbacks: int = 0
    asked: int = 0
    served: int = 0
    ratings: int = 0
    rating_sum: int = 0
    satisfied: int = 0

    def add(self, measure: str, value: int) -> None:
        setattr(self, measure, getattr(self, measure) + value)

    def public(self, waits: list[float]) -> dict[str, Any]:
        """The dashboard's figures of the slice."""
        return {
            "conversations": self.conversations,
            "turns": self.turns,
            "asked": self.asked,
            "served": self.served,
            "ratings": self.ratings,
            "containment": _ratio(self.conversations - min(self.served, self.conversations), self.conversations),
            "handoff_rate": _ratio(min(self.asked, self.conversations), self.conversations),
            "fallback_rate": _ratio(self.fallbacks, self.turns),
            "median_wait_seconds": round(statistics.median(waits), 1) if waits else None,
            "csat": _ratio(self.satisfied, self.ratings),
            "mean_rating": round(self.rating_sum / self.ratings, 2) if self.ratings else None,
        }


class Stats:
    """Records the day's figures and reports a period's."""

    def __init__(self, redis: Redis, retention_days: int = 30) -> None:
        self._redis = redis
        self._retention = retention_days * 86400
        self.retention_days = retention_days

    @staticmethod
    def _today() -> str:
        return clock.now().date().isoformat()

    def _add_count(self, pipe: Pipeline, day: str, measure: str, language: str, channel: str, by: int = 1) -> None:
        key = keys.stats_day(day)
        pipe.hincrby(key, f"{measure}|{language}|{channel}", by)
        pipe.expire(key, self._retention)

    @staticmethod
    def _add_seen(pipe: Pipeline, day: str, what: str, conversation: str) -> None:
        """Adds the conversation to the day's set for ``what``: the SADD's result is 1 the first time."""
        key = keys.stats_seen(day, what)
        pipe.sadd(key, conversation)
        pipe.expire(key, SEEN_SECONDS)

    async def _count(self, day: str, measure: str, language: str, channel: str, by: int = 1) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            self._add_count(pipe, day, measure, language, channel, by)
            await pipe.execute()

    async def _first_today(self, day: str, what: str, conversation: str) -> bool:
        async with self._redis.pipeline(transaction=False) as pipe:
            self._add_seen(pipe, day, what, conversation)
            added, _ = await pipe.execute()
        return bool(added)

    async def turn(self, conversation: str, channel: str, language: str, understood: bool, text: str = "") -> None:
        """A turn of the bot; ``text`` (masked) is counted as unanswered when not understood."""
        day = self._today()
        async with self._redis.pipeline(transaction=False) as pipe:  # one round trip on every turn
            self._add_seen(pipe, day, "conversations", conversation)
            self._add_count(pipe, day, "turns", language, channel)
            if not understood:
                self._add_count(pipe, day, "fallbacks", language, channel)
            first = (await pipe.execute())[0]
        if first:
            await self._count(day, "conversations", language, channel)
        if understood:
            return
        question = normalised(text)
        if question and not question.startswith("/"):
            key = keys.stats_unanswered(day, language)
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zincrby(key, 1, question)
                pipe.zremrangebyrank(key, 0, -MAX_UNANSWERED - 1)
                pipe.expire(key, self._retention)
                await pipe.execute()

    async def asked(self, conversation: str, channel: str, language: str) -> None:
        """The conversation asked for a person (counted once a day)."""
        day = self._today()
        if await self._first_today(day, "asked", conversation):
            await self._count(day, "asked", language, channel)

    async def served(self, conversation: str, channel: str, language: str, waited_seconds: float) -> None:
        """A person took the conversation after ``waited_seconds`` in the queue."""
        day = self._today()
        if await self._first_today(day, "served", conversation):
            await self._count(day, "served", language, channel)
        key = keys.stats_waits(day, language, channel)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.lpush(key, f"{max(0.0, waited_seconds):.1f}")
            pipe.ltrim(key, 0, MAX_WAITS - 1)
            pipe.expire(key, self._retention)
            await pipe.execute()

    async def rated(self, channel: str, language: str, score: int) -> None:
        """The citizen rated the person's help 1-5."""
        day = self._today()
        async with self._redis.pipeline(transaction=False) as pipe:
            self._add_count(pipe, day, "ratings", language, channel)
            self._add_count(pipe, day, "rating_sum", language, channel, score)
            if score >= 4:
                self._add_count(pipe, day, "satisfied", language, channel)
            await pipe.execute()

    async def report(self, first: date, last: date) -> dict[str, Any]:
        """The period's figures: all, by language, by channel, per day, and the top unanswered."""
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        async with self._redis.pipeline(transaction=False) as pipe:
            for day in days:
                pipe.hgetall(keys.stats_day(day.isoformat()))
            for day in days:
                for language in LANGUAGES:
                    for channel in CHANNELS:
                        pipe.lrange(keys.stats_waits(day.isoformat(), language, channel), 0, -1)
            for day in days:
                for language in LANGUAGES:
                    pipe.zrange(keys.stats_unanswered(day.isoformat(), language), 0, -1, withscores=True)
            results = await pipe.execute()
        counters, rest = results[: len(days)], results[len(days) :]
        slices = len(LANGUAGES) * len(CHANNELS)
        wait_lists, unanswered_lists = rest[: len(days) * slices], rest[len(days) * slices :]

        total = Figures()
        by_language = {language: Figures() for language in LANGUAGES}
        by_channel = {channel: Figures() for channel in CHANNELS}
        per_day = []
        for day, fields in zip(days, counters, strict=True):
            conversations = 0
            for name, value in fields.items():
                measure, language, channel = (name.split("|") + ["", ""])[:3]
                if measure not in MEASURES:
                    continue
                count = int(value)
                total.add(measure, count)
                if language in by_language:
                    by_language[language].add(measure, count)
                if channel in by_channel:
                    by_channel[channel].add(measure, count)
                conversations += count if measure == "conversations" else 0
            per_day.append({"day": day.isoformat(), "conversations": conversations})

        waits: dict[tuple[str, str], list[float]] = {}
        index = 0
        for _day in days:
            for language in LANGUAGES:
                for channel in CHANNELS:
                    waits.setdefault((language, channel), []).extend(float(w) for w in wait_lists[index])
                    index += 1

        def waits_of(language: str | None = None, channel: str | None = None) -> list[float]:
            return [
                w
                for (lg, ch), values in waits.items()
                if (language is None or lg == language) and (channel is None or ch == channel)
                for w in values
            ]

        unanswered: dict[str, list[dict[str, Any]]] = {}
        index = 0
        for _day in days:
            for language in LANGUAGES:
                counts = unanswered.setdefault(language, [])
                counts.extend({"text": text, "count": int(score)} for text, score in unanswered_lists[index])
                index += 1
        top: dict[str, list[dict[str, Any]]] = {}
        for language, items in unanswered.items():
            summed: dict[str, int] = {}
            for item in items:
                summed[item["text"]] = summed.get(item["text"], 0) + item["count"]
            ranked = sorted(summed.items(), key=lambda pair: (-pair[1], pair[0]))[:TOP_UNANSWERED]
            top[language] = [{"text": text, "count": count} for text, count in ranked]

        return {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "total": total.public(waits_of()),
            "by_language": {lg: figures.public(waits_of(language=lg)) for lg, figures in by_language.items()},
            "by_channel": {ch: figures.public(waits_of(channel=ch)) for ch, figures in by_channel.items()},
            "days": per_day,
            "unanswered": top,
        }
