"""Answering "is Oodi open now?" and "när öppnar Itäkeskus simhall på söndag?"."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, time, timedelta
from typing import Callable, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answers import utter_faq
from actions.tracker_utils import entity_values, language_of
from bot.core import clock
from bot.core.clock import CITY_TZ
from bot.core.i18n import pick
from bot.knowledge.files import HOLIDAY_DAY_PREFIX, Calendar, load_calendar
from bot.knowledge.holidays import holiday_on
from bot.knowledge.opening_hours import WEEKDAYS, status_at
from bot.knowledge.service_points import ServicePoint, load_service_points
from bot.knowledge.time_words import day_phrase, format_intervals, format_time

logger = logging.getLogger(__name__)
MAX_CHOICES = 8


def is_day(value: object, calendar: Calendar) -> bool:
    """True for the day entity values this action understands."""
    if not isinstance(value, str):
        return False
    if value.startswith(HOLIDAY_DAY_PREFIX):
        return value[len(HOLIDAY_DAY_PREFIX) :] in calendar.holiday_names
    return value in WEEKDAYS or value in calendar.relative_offsets


def target_date(day: str, today: date, calendar: Calendar) -> date:
    """The date a day word means: today/tomorrow, the next such weekday or holiday (today included)."""
    if day in calendar.relative_offsets:
        return today + timedelta(days=calendar.relative_offsets[day])
    if day.startswith(HOLIDAY_DAY_PREFIX):
        wanted = day[len(HOLIDAY_DAY_PREFIX) :]
        for offset in range(0, 367):
            candidate = today + timedelta(days=offset)
            if holiday_on(candidate) == wanted:
                return candidate
        raise ValueError(f"no {wanted} within a year")  # cannot happen: every holiday is yearly
    return today + timedelta(days=(WEEKDAYS.index(day) - today.weekday()) % 7)


class ActionOpeningHours(Action):
    """Tell whether a service point is open now, or its hours on a given day."""

    def __init__(self, now: Callable[[], datetime] = clock.now) -> None:
        self._now = now

    def name(self) -> str:
        return "action_opening_hours"

    def _open_places(
        self, dispatcher: CollectingDispatcher, places: list[ServicePoint], day: str, language: str, calendar: Calendar
    ) -> None:
        today = self._now().date()
        when = target_date(day, today, calendar)
        phrase = day_phrase(when, today, language, calendar)
        open_ones = []
        for point in places:
            hours = point.schedule.hours_on(when)
            if hours.is_open:
                open_ones.append(f"{pick(point.name, language)} {format_intervals(hours, language, calendar)}")
        if open_ones:
            dispatcher.utter_message(
                response="utter_hours_open_places", day=phrase, places="; ".join(open_ones[:MAX_CHOICES])
            )
        else:
            dispatcher.utter_message(response="utter_hours_no_open_places", day=phrase)

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Answer for one place, ask which place when several match, or give the general answer."""
        language = language_of(tracker)
        points = load_service_points()
        calendar = load_calendar()
        ids = [i for i in entity_values(tracker, "service_point") if i in points.points]
        days = [d for d in entity_values(tracker, "day") if is_day(d, calendar)]
        day = days[-1] if days else "now"
        if not ids:
            utter_faq(dispatcher, "opening_hours", language)
            return []
        if len(ids) > 1 and entity_values(tracker, "service_kind"):
            # "Which libraries are open on Sunday?": the places of that kind open then, with hours.
            self._open_places(dispatcher, [points.points[i] for i in ids], day, language, calendar)
            return []
        if len(ids) > 1:
            buttons = [
                {
                    "title": pick(points.points[i].name, language),
                    "payload": "/faq_opening_hours" + json.dumps({"service_point": i, "day": day}),
                }
                for i in ids[:MAX_CHOICES]
            ]
            dispatcher.utter_message(response="utter_hours_ask_place", buttons=buttons)
            return []
        point = points.points[ids[0]]
        name = pick(point.name, language)
        now = self._now()
        today = now.date()
        if day == "now":
            status = status_at(point.schedule, now)
            if status.open_now and status.closes_at:
                # Open past midnight means the interval ends at 24:00 today.
                closes = status.closes_at.time() if status.closes_at.date() == today else time.max
                dispatcher.utter_message(
                    response="utter_hours_open_now",
                    name=name,
                    closes=format_time(closes, language, calendar),
                    address=point.address,
                )
            elif status.next_opening:
                opening = status.next_opening
                dispatcher.utter_message(
                    response="utter_hours_closed_now",
                    name=name,
                    opens_day=day_phrase(opening.date(), today, language, calendar),
                    opens=format_time(opening, language, calendar),
                    address=point.address,
                )
            else:
                dispatcher.utter_message(response="utter_hours_closed_now_no_opening", name=name)
            return []
        when = target_date(day, today, calendar)
        hours = point.schedule.hours_on(when)
        phrase = day_phrase(when, today, language, calendar)
        if hours.is_open:
            dispatcher.utter_message(
                response="utter_hours_on_day",
                name=name,
                day=phrase,
                hours=format_intervals(hours, language, calendar),
            )
        else:
            # Closed that day (a holiday, say): tell when it opens next, not only that it is closed.
            after = status_at(point.schedule, datetime.combine(when, time.max, tzinfo=CITY_TZ))
            if after.next_opening is None:
                dispatcher.utter_message(response="utter_hours_closed_on_day", name=name, day=phrase)
            else:
                dispatcher.utter_message(
                    response="utter_hours_closed_on_day_opens",
                    name=name,
                    day=phrase,
                    opens_day=day_phrase(after.next_opening.date(), today, language, calendar),
                    opens=format_time(after.next_opening, language, calendar),
                )
        return []
