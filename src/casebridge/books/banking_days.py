"""Banking days: the days the Federal Reserve's ACH settles (ADR 0055).

A banking day is a weekday that is not a Federal Reserve holiday. The holidays are
computed by their rule for any year, never read from a table:

- New Year's Day (1 January), Juneteenth National Independence Day (19 June, from 2021),
  Independence Day (4 July), Veterans Day (11 November), Christmas Day (25 December);
- Birthday of Martin Luther King, Jr. (third Monday of January), Washington's Birthday
  (third Monday of February), Memorial Day (last Monday of May), Labor Day (first Monday
  of September), Columbus Day (second Monday of October), Thanksgiving Day (fourth
  Thursday of November).

The Federal Reserve's own rule for a fixed-date holiday on a weekend (Richmond Fed,
"Holiday Schedule"): one that falls on a Sunday is observed the Monday after; one that
falls on a Saturday is **not** moved, the Reserve Banks are open the Friday before (unlike
the federal government's offices, which close that Friday).

Pure: dates in, dates out; no database, no clock.
"""

from __future__ import annotations

import datetime as dt
import functools

SATURDAY, SUNDAY = 5, 6
MONDAY, THURSDAY = 0, 3
#: Juneteenth became a legal public holiday on 17 June 2021 (Pub. L. 117-17).
JUNETEENTH_FROM = 2021


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The ``n``-th ``weekday`` (0 = Monday) of the month."""
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> dt.date:
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    last = following - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: dt.date) -> dt.date | None:
    """The day the Federal Reserve is closed for a fixed-date holiday: Sunday's on the
    Monday; Saturday's on no day (open the Friday before)."""
    if day.weekday() == SUNDAY:
        return day + dt.timedelta(days=1)
    if day.weekday() == SATURDAY:
        return None
    return day


@functools.cache
def fed_holidays(year: int) -> dict[dt.date, str]:
    """The days of ``year`` the Federal Reserve is closed for a holiday, with their names
    (an observed day says so: "Independence Day (observed)")."""
    fixed = [
        (dt.date(year, 1, 1), "New Year's Day"),
        (dt.date(year, 7, 4), "Independence Day"),
        (dt.date(year, 11, 11), "Veterans Day"),
        (dt.date(year, 12, 25), "Christmas Day"),
    ]
    if year >= JUNETEENTH_FROM:
        fixed.append((dt.date(year, 6, 19), "Juneteenth National Independence Day"))
    days: dict[dt.date, str] = {
        _nth_weekday(year, 1, MONDAY, 3): "Birthday of Martin Luther King, Jr.",
        _nth_weekday(year, 2, MONDAY, 3): "Washington's Birthday",
        _last_weekday(year, 5, MONDAY): "Memorial Day",
        _nth_weekday(year, 9, MONDAY, 1): "Labor Day",
        _nth_weekday(year, 10, MONDAY, 2): "Columbus Day",
        _nth_weekday(year, 11, THURSDAY, 4): "Thanksgiving Day",
    }
    for day, name in fixed:
        observed = _observed(day)
        if observed is not None:
            days[observed] = name if observed == day else f"{name} (observed)"
    return dict(sorted(days.items()))


def non_banking_reason(day: dt.date) -> str | None:
    """Why ``day`` is not a banking day ("a Saturday", "Christmas Day"), or None if it is."""
    if day.weekday() == SATURDAY:
        return "a Saturday"
    if day.weekday() == SUNDAY:
        return "a Sunday"
    return fed_holidays(day.year).get(day)


def is_banking_day(day: dt.date) -> bool:
    return non_banking_reason(day) is None


def banking_day_on_or_after(day: dt.date) -> dt.date:
    while not is_banking_day(day):
        day += dt.timedelta(days=1)
    return day


def next_banking_day(day: dt.date) -> dt.date:
    """The first banking day after ``day`` (whatever ``day`` is)."""
    return banking_day_on_or_after(day + dt.timedelta(days=1))


def add_banking_days(day: dt.date, count: int) -> dt.date:
    """The ``count``-th banking day after ``day`` (``count`` >= 0; 0 is ``day`` itself)."""
    for _ in range(count):
        day = next_banking_day(day)
    return day
