"""Times and days as each language writes them: "20.00", "20:00", "huomenna", "på söndag"."""

from __future__ import annotations

from datetime import date, datetime, time

from bot.core.i18n import pick
from bot.knowledge.files import Calendar
from bot.knowledge.holidays import holiday_on
from bot.knowledge.opening_hours import WEEKDAYS, DayHours


def format_time(moment: datetime | time, language: str, calendar: Calendar) -> str:
    """A clock time the way the language writes it ("20.00" in fi/sv, "20:00" in en).

    An interval that ends at midnight (``time.max``, written 24:00 in the knowledge file) is
    written 24.00.
    """
    fmt = pick(calendar.time_format, language)
    if moment == time.max:
        return fmt.format(hour=24, minute=0)
    return fmt.format(hour=moment.hour, minute=moment.minute)


def format_intervals(day: DayHours, language: str, calendar: Calendar) -> str:
    """``10.00–20.00`` (several intervals joined with commas)."""
    return ", ".join(
        format_time(i.opens, language, calendar) + "–" + format_time(i.closes, language, calendar)
        for i in day.intervals
    )


def day_phrase(target: date, today: date, language: str, calendar: Calendar) -> str:
    """ "tänään", "huomenna", "sunnuntaina", "perjantaina 19.6."; a holiday is named in brackets."""
    offset = (target - today).days
    if offset == 0:
        phrase = pick(calendar.relative_names["today"], language)
    elif offset == 1:
        phrase = pick(calendar.relative_names["tomorrow"], language)
    else:
        phrase = pick(calendar.weekday_on[WEEKDAYS[target.weekday()]], language)
        if offset >= 7:
            phrase += " " + pick(calendar.date_format, language).format(day=target.day, month=target.month)
    holiday = holiday_on(target)
    if holiday and holiday in calendar.holiday_names:
        phrase += f" ({pick(calendar.holiday_names[holiday], language)})"
    return phrase
