"""Finnish public holidays (and the eves when city service points close), computed per year."""

from datetime import date, timedelta


def easter_sunday(year: int) -> date:
    """Western Easter Sunday by the anonymous Gregorian algorithm (Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _first_weekday_on_or_after(start: date, weekday: int) -> date:
    return start + timedelta(days=(weekday - start.weekday()) % 7)


def holidays_in_year(year: int) -> dict[date, str]:
    """Map each holiday date of ``year`` to its id in ``knowledge/holidays.yml``."""
    easter = easter_sunday(year)
    midsummer_eve = _first_weekday_on_or_after(date(year, 6, 19), 4)  # Friday 19-25 June
    days = {
        date(year, 1, 1): "new_years_day",
        date(year, 1, 6): "epiphany",
        easter - timedelta(days=2): "good_friday",
        easter: "easter_sunday",
        easter + timedelta(days=1): "easter_monday",
        date(year, 5, 1): "may_day",
        easter + timedelta(days=39): "ascension_day",
        midsummer_eve: "midsummer_eve",
        midsummer_eve + timedelta(days=1): "midsummer_day",
        _first_weekday_on_or_after(date(year, 10, 31), 5): "all_saints_day",  # Sat 31.10-6.11
        date(year, 12, 6): "independence_day",
        date(year, 12, 24): "christmas_eve",
        date(year, 12, 25): "christmas_day",
        date(year, 12, 26): "st_stephens_day",
        date(year, 12, 31): "new_years_eve",
    }
    return days


def holiday_on(day: date) -> str | None:
    """The id of the holiday on ``day``, or None on an ordinary day."""
    return holidays_in_year(day.year).get(day)
