"""The current time in the city's time zone, with a fixed time for tests and demos."""

import os
from datetime import datetime
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
