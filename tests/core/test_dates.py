"""The window a caller's date must fall in (ADR 0007): not before the firm's opening date
(else its first record, else ten years back), not after today plus the days ahead allowed.
Both sides take their window from ``casebridge.core.dates``."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from casebridge.core import clock
from casebridge.core.dates import date_window
from casebridge.core.errors import ValidationFailed

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 12, 6)
HINT = "Settings > Opening date"


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: TODAY)


def window(opening=None, first=None, ahead=0):
    return date_window(
        opening_date=opening,
        first_recorded=first,
        days_ahead=ahead,
        settings_path=HINT,
        recorded="entry",
    )


def refusal(win, value, field="date"):
    with pytest.raises(ValidationFailed) as info:
        win.check(value, field=field)
    assert info.value.field == field
    return info.value


def test_the_window_runs_from_the_opening_date_to_today():
    win = window(opening=dt.date(2025, 1, 1))
    assert (win.earliest, win.latest) == (dt.date(2025, 1, 1), TODAY)
    assert win.check(dt.date(2025, 1, 1), field="date") == dt.date(2025, 1, 1)
    assert win.check(TODAY, field="date") == TODAY


def test_a_date_after_today_is_refused_naming_the_field_and_the_range():
    error = refusal(window(opening=dt.date(2025, 1, 1)), dt.date(2028, 1, 5), "request_date")
    assert error.message == (
        "request_date 2028-01-05 is after today (2026-12-06); "
        "dates from 2025-01-01 to 2026-12-06 are accepted"
    )
    assert error.details == {"earliest": "2025-01-01", "latest": "2026-12-06"}


def test_a_date_before_the_opening_date_is_refused_saying_where_it_is_set():
    error = refusal(window(opening=dt.date(2025, 1, 1)), dt.date(1900, 1, 1))
    assert error.message == (
        "date 1900-01-01 is before the firm's opening date 2025-01-01 "
        "(Settings > Opening date); dates from 2025-01-01 to 2026-12-06 are accepted"
    )


def test_without_an_opening_date_the_first_record_stands_for_it():
    error = refusal(window(first=dt.date(2026, 3, 2)), dt.date(2026, 3, 1))
    assert error.message == (
        "date 2026-03-01 is before the firm's first entry, dated 2026-03-02, which stands as "
        "its opening date until one is set (Settings > Opening date); "
        "dates from 2026-03-02 to 2026-12-06 are accepted"
    )


def test_a_first_record_dated_ahead_never_starts_the_window_after_today():
    win = window(first=dt.date(2027, 1, 5))
    assert (win.earliest, win.latest) == (dt.date(2026, 12, 6), dt.date(2026, 12, 6))
    error = refusal(win, dt.date(2026, 12, 5))
    assert error.message == (
        "date 2026-12-05 is before today (2026-12-06): the firm's first entry is dated "
        "2027-01-05, and until an opening date is set (Settings > Opening date) nothing goes "
        "before it or today; dates from 2026-12-06 to 2026-12-06 are accepted"
    )


def test_a_firm_with_nothing_recorded_accepts_ten_years_back_and_never_1900():
    win = window()
    assert win.earliest == dt.date(2016, 12, 6)
    assert win.check(dt.date(2016, 12, 6), field="date") == dt.date(2016, 12, 6)
    error = refusal(win, dt.date(1900, 1, 1))
    assert error.message == (
        "date 1900-01-01 is more than 10 years ago; to record it, set the firm's opening date "
        "(Settings > Opening date); dates from 2016-12-06 to 2026-12-06 are accepted"
    )


def test_ten_years_back_from_a_29th_of_february_is_the_28th(monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: dt.date(2028, 2, 29))
    assert window().earliest == dt.date(2018, 2, 28)


def test_days_ahead_move_the_latest_date_and_the_message_says_so():
    win = window(opening=dt.date(2025, 1, 1), ahead=30)
    assert win.latest == dt.date(2027, 1, 5)
    assert win.check(dt.date(2027, 1, 5), field="date") == dt.date(2027, 1, 5)
    error = refusal(win, dt.date(2027, 1, 6))
    assert error.message == (
        "date 2027-01-06 is after 2027-01-05, 30 days after today (2026-12-06); "
        "dates from 2025-01-01 to 2027-01-05 are accepted"
    )


def test_a_refusal_inside_a_batch_names_the_item():
    with pytest.raises(ValidationFailed) as info:
        window(opening=dt.date(2025, 1, 1)).check(
            dt.date(2027, 1, 1), field="date", where="entry 3"
        )
    assert info.value.message.startswith("entry 3: date 2027-01-01 is after today (2026-12-06)")


def _settings_with(value: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CASEBRIDGE_MAX_DAYS_AHEAD": value,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
    }
    return subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.CASEBRIDGE_MAX_DAYS_AHEAD)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(("value", "read"), [("", "0"), ("0", "0"), ("30", "30"), (" 7 ", "7")])
def test_settings_read_the_days_ahead(value, read):
    done = _settings_with(value)
    assert (done.returncode, done.stdout.strip()) == (0, read), done.stderr[-2000:]


@pytest.mark.parametrize("value", ["-1", "1.5", "ten", "3e2", "3651"])
def test_settings_refuse_days_ahead_that_are_negative_too_many_or_not_a_whole_number(value):
    done = _settings_with(value)
    assert done.returncode != 0
    assert (
        "ImproperlyConfigured: CASEBRIDGE_MAX_DAYS_AHEAD must be a whole number of days from 0 "
        f"to 3650 (it is {value!r})"
    ) in done.stderr
