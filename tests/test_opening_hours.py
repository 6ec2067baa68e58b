"""Opening hours in Europe/Helsinki: weekly hours, holidays, exceptions, edges of intervals."""

from datetime import date, datetime

import pytest

from bot.knowledge.holidays import easter_sunday, holiday_on, holidays_in_year
from bot.knowledge.opening_hours import CITY_TZ, Interval, status_at
from bot.knowledge.service_points import load_service_points


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CITY_TZ)


@pytest.mark.parametrize(
    ("year", "expected"),
    [(2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)), (2026, date(2026, 4, 5)), (2027, date(2027, 3, 28))],
)
def test_easter(year: int, expected: date) -> None:
    assert easter_sunday(year) == expected


def test_moving_holidays_2026() -> None:
    days = {name: day for day, name in holidays_in_year(2026).items()}
    assert days["good_friday"] == date(2026, 4, 3)
    assert days["ascension_day"] == date(2026, 5, 14)
    assert days["midsummer_eve"] == date(2026, 6, 19)  # Friday between 19 and 25 June
    assert days["midsummer_day"] == date(2026, 6, 20)
    assert days["all_saints_day"] == date(2026, 10, 31)  # Saturday between 31.10 and 6.11
    assert holiday_on(date(2026, 12, 6)) == "independence_day"
    assert holiday_on(date(2026, 12, 7)) is None


def test_interval_rejects_backwards_hours() -> None:
    with pytest.raises(ValueError, match="closes before it opens"):
        Interval.parse("20:00-08:00")


def test_open_just_before_closing_and_closed_at_closing() -> None:
    oodi = load_service_points().points["oodi"].schedule
    before = status_at(oodi, at("2026-11-25T21:59:00"))  # Wednesday
    assert before.open_now and before.closes_at == at("2026-11-25T22:00:00")
    closing = status_at(oodi, at("2026-11-25T22:00:00"))
    assert not closing.open_now
    assert closing.next_opening == at("2026-11-26T08:00:00")


def test_closed_on_a_public_holiday_then_opens_next_day() -> None:
    kallio = load_service_points().points["kallio_library"].schedule
    # Independence Day 2026 is a Sunday; Kallio is closed on Sundays anyway. Christmas Day
    # 2026 is a Friday, normally open 8-18.
    christmas = status_at(kallio, at("2026-12-25T12:00:00"))
    assert not christmas.open_now and christmas.today.holiday == "christmas_day"
    assert christmas.next_opening == at("2026-12-28T08:00:00")  # Sat 26.12 is St Stephen's


def test_holiday_exception_gives_special_hours() -> None:
    oodi = load_service_points().points["oodi"].schedule
    eve = oodi.hours_on(date(2026, 12, 24))
    assert eve.holiday == "christmas_eve"
    assert [(i.opens.hour, i.closes.hour) for i in eve.intervals] == [(10, 14)]
    assert status_at(oodi, at("2026-12-24T13:59:00")).open_now
    assert not status_at(oodi, at("2026-12-24T14:00:00")).open_now


def test_new_years_eve_is_not_closed_by_default() -> None:
    kallio = load_service_points().points["kallio_library"].schedule
    assert kallio.hours_on(date(2026, 12, 31)).is_open  # Thursday, no exception listed


def test_status_uses_helsinki_time_for_utc_input() -> None:
    oodi = load_service_points().points["oodi"].schedule
    # 06:30 UTC is 08:30 in Helsinki in winter: open.
    assert status_at(oodi, datetime.fromisoformat("2026-11-25T06:30:00+00:00")).open_now
    # 05:30 UTC is 07:30 in Helsinki: still closed.
    assert not status_at(oodi, datetime.fromisoformat("2026-11-25T05:30:00+00:00")).open_now


def test_summer_time() -> None:
    oodi = load_service_points().points["oodi"].schedule
    # In summer Helsinki is UTC+3: 05:30 UTC is 08:30 local.
    assert status_at(oodi, datetime.fromisoformat("2026-07-01T05:30:00+00:00")).open_now


def test_naive_datetime_is_refused() -> None:
    oodi = load_service_points().points["oodi"].schedule
    with pytest.raises(ValueError, match="timezone-aware"):
        status_at(oodi, datetime(2026, 11, 25, 12, 0))
