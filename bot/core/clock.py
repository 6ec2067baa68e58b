"""The current time in the city's time zone, with a fixed time for tests and demos."""

import os
from datetime import date, datetime
from zoneinfo import ZoneInfo

CITY_TZ = ZoneInfo("Europe/Helsinki")

FIXED_NOW_ENV = "CITYBOT_FIXED_NOW"


def now() -> datetime:
    """Now in Europe/Helsinki; ``CITYBOT_FIXED_NOW`` (ISO 8601) freezes it for tests."""
    fixed = os.environ.get(FIXED_NOW_ENV)
    if fixed:
        moment = datetime.fromisoformat(fixed)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=CITY_TZ)
        return moment.astimezone(CITY_TZ)
    return datetime.now(CITY_TZ)


def iso(moment: "float | str | datetime") -> str:
    """A time as the API and the exports give it: ISO 8601 to the second, with the city's offset
    (``2026-12-20T12:00:00+02:00``). Takes a Unix time (a number or its text) or a datetime (one
    without a zone is taken as the city's)."""
    if isinstance(moment, datetime):
        local = moment.astimezone(CITY_TZ) if moment.tzinfo else moment.replace(tzinfo=CITY_TZ)
    else:
        local = datetime.fromtimestamp(float(moment), CITY_TZ)
    return local.isoformat(timespec="seconds")


def day_start(day: str) -> float:
    """The Unix time when ``day`` (``YYYY-MM-DD``) starts in the city; ValueError if it is no date."""
    from datetime import time as day_time

    return datetime.combine(date.fromisoformat(day), day_time.min, CITY_TZ).timestamp()
