"""Opening hours of service points: is it open at a moment, and when does it next open.

All times are local to the city (``Europe/Helsinki``); callers pass aware datetimes and get
answers in local time, so daylight saving changes are handled by ``zoneinfo``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.core.clock import CITY_TZ
from bot.knowledge.holidays import holiday_on

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Interval:
    """One opening interval of a day, local time; ``closes`` 24:00 is written as time.max."""

    opens: time
    closes: time

    @classmethod
    def parse(cls, text: str) -> Interval:
        """``"08:00-22:00"`` → Interval(08:00, 22:00). Raises ValueError on bad input."""
        start, _, end = text.partition("-")
        opens = time.fromisoformat(start.strip())
        closes = time.max if end.strip() == "24:00" else time.fromisoformat(end.strip())
        if closes <= opens:
            raise ValueError(f"opening interval {text!r} closes before it opens")
        return cls(opens, closes)


@dataclass(frozen=True)
class DayHours:
    """What a service point does on one date: its intervals (empty = closed) and why."""

    day: date
    intervals: tuple[Interval, ...]
    holiday: str | None = None  # holiday id when a holiday rule or exception applied

    @property
    def is_open(self) -> bool:
        """True when the point opens at all on this day."""
        return bool(self.intervals)


@dataclass(frozen=True)
class Schedule:
    """Weekly hours plus holiday rule and exceptions of one service point."""

    weekly: dict[str, tuple[Interval, ...]]
    holidays_closed: bool = True
    holiday_exceptions: dict[str, tuple[Interval, ...]] | None = None
    date_exceptions: dict[date, tuple[Interval, ...]] | None = None
    closed_by_default: frozenset[str] = frozenset()

    def hours_on(self, day: date) -> DayHours:
        """The hours that apply on ``day``: date exception > holiday exception > holiday > week."""
        holiday = holiday_on(day)
        if self.date_exceptions and day in self.date_exceptions:
            return DayHours(day, self.date_exceptions[day], holiday)
        if holiday and self.holiday_exceptions and holiday in self.holiday_exceptions:
            return DayHours(day, self.holiday_exceptions[holiday], holiday)
        if holiday and self.holidays_closed and holiday in self.closed_by_default:
            return DayHours(day, (), holiday)
        return DayHours(day, self.weekly.get(WEEKDAYS[day.weekday()], ()), None)


@dataclass(frozen=True)
class Status:
    """Whether a point is open at a moment, and the next change."""

    open_now: bool
    closes_at: datetime | None  # when open: the end of the current interval
    next_opening: datetime | None  # when closed: the next opening within two weeks
    today: DayHours


def _at(day: date, moment: time) -> datetime:
    if moment == time.max:
        return datetime.combine(day + timedelta(days=1), time.min, CITY_TZ)
    return datetime.combine(day, moment, CITY_TZ)


def status_at(schedule: Schedule, when: datetime) -> Status:
    """Open or closed at ``when`` (any tz-aware datetime), and until/from when."""
    if when.tzinfo is None:
        raise ValueError("status_at needs a timezone-aware datetime")
    local = when.astimezone(CITY_TZ)
    today = schedule.hours_on(local.date())
    for interval in today.intervals:
        start, end = _at(local.date(), interval.opens), _at(local.date(), interval.closes)
        if start <= local < end:
            return Status(True, end, None, today)
    for offset in range(0, 15):
        day = local.date() + timedelta(days=offset)
        for interval in schedule.hours_on(day).intervals:
            start = _at(day, interval.opens)
            if start > local:
                return Status(False, None, start, today)
    return Status(False, None, None, today)
