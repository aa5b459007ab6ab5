"""The banking-day calendar (ADR 0055): weekends and the Federal Reserve's holidays,
computed by their rules, with the Fed's weekend rule (Sunday's holiday observed on the
Monday, Saturday's not observed at all). The expected dates are the Federal Reserve's
published schedule for 2026 and 2027 (Richmond Fed, "Holiday Schedule")."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.books.banking_days import (
    add_banking_days,
    banking_day_on_or_after,
    fed_holidays,
    is_banking_day,
    next_banking_day,
    non_banking_reason,
)

D = dt.date


def test_the_federal_reserve_holidays_of_2026():
    # Independence Day falls on a Saturday: the Fed is open on Friday 3 July
    assert fed_holidays(2026) == {
        D(2026, 1, 1): "New Year's Day",
        D(2026, 1, 19): "Birthday of Martin Luther King, Jr.",
        D(2026, 2, 16): "Washington's Birthday",
        D(2026, 5, 25): "Memorial Day",
        D(2026, 6, 19): "Juneteenth National Independence Day",
        D(2026, 9, 7): "Labor Day",
        D(2026, 10, 12): "Columbus Day",
        D(2026, 11, 11): "Veterans Day",
        D(2026, 11, 26): "Thanksgiving Day",
        D(2026, 12, 25): "Christmas Day",
    }


def test_the_federal_reserve_holidays_of_2027():
    # Juneteenth and Christmas fall on a Saturday (not observed); Independence Day on a
    # Sunday (observed Monday 5 July)
    assert fed_holidays(2027) == {
        D(2027, 1, 1): "New Year's Day",
        D(2027, 1, 18): "Birthday of Martin Luther King, Jr.",
        D(2027, 2, 15): "Washington's Birthday",
        D(2027, 5, 31): "Memorial Day",
        D(2027, 7, 5): "Independence Day (observed)",
        D(2027, 9, 6): "Labor Day",
        D(2027, 10, 11): "Columbus Day",
        D(2027, 11, 11): "Veterans Day",
        D(2027, 11, 25): "Thanksgiving Day",
    }


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (D(2026, 12, 25), "Christmas Day"),
        (D(2026, 12, 26), "a Saturday"),
        (D(2026, 12, 27), "a Sunday"),
        (D(2026, 11, 26), "Thanksgiving Day"),
        (D(2026, 6, 19), "Juneteenth National Independence Day"),
        (D(2027, 7, 5), "Independence Day (observed)"),
        (D(2027, 7, 4), "a Sunday"),
        (D(2027, 12, 25), "a Saturday"),
        # the Fed does not close the Friday before a Saturday holiday
        (D(2026, 7, 3), None),
        (D(2027, 6, 18), None),
        (D(2027, 12, 24), None),
        (D(2027, 12, 31), None),  # New Year's Day 2028 is a Saturday
        (D(2026, 11, 27), None),  # the day after Thanksgiving
        (D(2026, 12, 24), None),
    ],
)
def test_why_a_day_is_or_is_not_a_banking_day(day, reason):
    assert non_banking_reason(day) == reason
    assert is_banking_day(day) is (reason is None)


@pytest.mark.parametrize(
    ("day", "following"),
    [
        (D(2026, 12, 24), D(2026, 12, 28)),  # Christmas Friday, then the weekend
        (D(2026, 11, 25), D(2026, 11, 27)),  # over Thanksgiving
        (D(2026, 1, 16), D(2026, 1, 20)),  # a Friday before MLK Day
        (D(2027, 7, 2), D(2027, 7, 6)),  # a Friday before Independence Day observed
        (D(2027, 6, 17), D(2027, 6, 18)),  # Juneteenth on Saturday moves nothing
        (D(2026, 12, 26), D(2026, 12, 28)),  # from a Saturday
        (D(2026, 12, 31), D(2027, 1, 4)),  # New Year's Day 2027 is a Friday
    ],
)
def test_the_next_banking_day(day, following):
    assert next_banking_day(day) == following


def test_on_or_after_and_counting_banking_days():
    assert banking_day_on_or_after(D(2026, 12, 8)) == D(2026, 12, 8)
    assert banking_day_on_or_after(D(2026, 12, 25)) == D(2026, 12, 28)
    assert add_banking_days(D(2026, 12, 22), 0) == D(2026, 12, 22)
    # 23, 24, (25 Christmas, 26, 27 the weekend) 28
    assert add_banking_days(D(2026, 12, 22), 3) == D(2026, 12, 28)
    assert add_banking_days(D(2027, 11, 24), 3) == D(2027, 11, 30)


@pytest.mark.parametrize("year", range(2022, 2041))
def test_every_year_follows_the_rules(year):
    """Computed by rule, never a table: for any year, the Monday holidays are Mondays in
    their week, Thanksgiving the fourth Thursday, and each fixed-date holiday is the day
    itself, the Monday after a Sunday, or absent on a Saturday."""
    holidays = fed_holidays(year)
    by_name = {name.removesuffix(" (observed)"): day for day, name in holidays.items()}
    for name, month, first_day in [
        ("Birthday of Martin Luther King, Jr.", 1, 15),
        ("Washington's Birthday", 2, 15),
        ("Labor Day", 9, 1),
        ("Columbus Day", 10, 8),
    ]:
        day = by_name[name]
        assert (day.month, day.weekday()) == (month, 0)
        assert first_day <= day.day <= first_day + 6
    assert by_name["Memorial Day"].weekday() == 0
    assert (by_name["Memorial Day"] + dt.timedelta(days=7)).month == 6
    assert by_name["Thanksgiving Day"].weekday() == 3
    assert 22 <= by_name["Thanksgiving Day"].day <= 28
    for name, month, dom in [
        ("New Year's Day", 1, 1),
        ("Juneteenth National Independence Day", 6, 19),
        ("Independence Day", 7, 4),
        ("Veterans Day", 11, 11),
        ("Christmas Day", 12, 25),
    ]:
        actual = D(year, month, dom)
        if actual.weekday() == 5:
            assert name not in by_name
        elif actual.weekday() == 6:
            assert holidays[actual + dt.timedelta(days=1)] == f"{name} (observed)"
        else:
            assert holidays[actual] == name
    assert all(day.weekday() < 5 for day in holidays)
