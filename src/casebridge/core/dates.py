"""The window a date given by a caller must fall in (ADR 0007), for both sides.

From the firm's opening date (else the date of its first record, which stands for it until
one is set; else, for a firm with nothing recorded, ten years back) to today plus the days
ahead allowed (``settings.CASEBRIDGE_MAX_DAYS_AHEAD`` for documents; the books allow a
manual journal entry more). Each side reads its own opening date and first record and
builds the window here, so the arithmetic and the refusals are the same on both.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings

from casebridge.core import clock
from casebridge.core.errors import ValidationFailed
from casebridge.core.words import plural

#: How far back a firm with no opening date and nothing recorded may date its first record.
YEARS_BACK_WITHOUT_OPENING_DATE = 10


def max_days_ahead() -> int:
    """How many days after today a document may be dated (``CASEBRIDGE_MAX_DAYS_AHEAD``)."""
    return int(settings.CASEBRIDGE_MAX_DAYS_AHEAD)


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # the 29th of February, in a year that has none
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True)
class DateWindow:
    """The dates accepted, ``earliest`` to ``latest`` inclusive, and why those two."""

    earliest: dt.date
    latest: dt.date
    today: dt.date
    days_ahead: int
    opening_date: dt.date | None
    first_recorded: dt.date | None
    #: Where the opening date is set, e.g. "Settings > Opening date".
    settings_path: str
    #: What the firm's first record is, e.g. "entry" or "cost or deposit".
    recorded: str

    def check(
        self, value: dt.date, *, field: str, label: str | None = None, where: str = ""
    ) -> dt.date:
        """``value`` if it is in the window; else :class:`ValidationFailed` for ``field``,
        its message naming the date (as ``label``, default ``field``; ``where`` names an
        item of a batch), the bound it crosses and the dates accepted."""
        if self.earliest <= value <= self.latest:
            return value
        if value > self.latest:
            if self.days_ahead:
                problem = (
                    f"is after {self.latest}, {plural(self.days_ahead, 'day')} after today "
                    f"({self.today})"
                )
            else:
                problem = f"is after today ({self.today})"
        elif self.opening_date is not None:
            problem = (
                f"is before the firm's opening date {self.opening_date} ({self.settings_path})"
            )
        elif self.first_recorded is not None:
            if self.first_recorded > self.today:  # its first record is dated ahead
                problem = (
                    f"is before today ({self.today}): the firm's first {self.recorded} is "
                    f"dated {self.first_recorded}, and until an opening date is set "
                    f"({self.settings_path}) nothing goes before it or today"
                )
            else:
                problem = (
                    f"is before the firm's first {self.recorded}, dated {self.first_recorded}, "
                    f"which stands as its opening date until one is set ({self.settings_path})"
                )
        else:
            problem = (
                f"is more than {YEARS_BACK_WITHOUT_OPENING_DATE} years ago; to record it, set "
                f"the firm's opening date ({self.settings_path})"
            )
        prefix = f"{where}: " if where else ""
        raise ValidationFailed(
            f"{prefix}{label or field} {value} {problem}; "
            f"dates from {self.earliest} to {self.latest} are accepted",
            field=field,
            earliest=self.earliest.isoformat(),
            latest=self.latest.isoformat(),
        )


def date_window(
    *,
    opening_date: dt.date | None,
    first_recorded: dt.date | None,
    days_ahead: int,
    settings_path: str,
    recorded: str,
) -> DateWindow:
    """The window of a firm whose opening date and first record are these, as of today."""
    today = clock.today()
    if opening_date is not None:
        earliest = opening_date
    elif first_recorded is not None:
        # a journal entry may be dated ahead: the window never starts after today
        earliest = min(first_recorded, today)
    else:
        earliest = _years_before(today, YEARS_BACK_WITHOUT_OPENING_DATE)
    return DateWindow(
        earliest=earliest,
        latest=today + dt.timedelta(days=days_ahead),
        today=today,
        days_ahead=days_ahead,
        opening_date=opening_date,
        first_recorded=first_recorded,
        settings_path=settings_path,
        recorded=recorded,
    )


def opening_date_refusal(
    opening_date: dt.date, *, first_recorded: dt.date | None, holds: str
) -> ValidationFailed | None:
    """Why ``opening_date`` cannot be the firm's opening date, or None: it is after today,
    or after the firm's first record (the firm would hold records from before its own
    opening). ``holds`` says what the firm holds, e.g. "the books hold entries"."""
    today = clock.today()
    if opening_date > today:
        return ValidationFailed(
            f"the opening date {opening_date} is after today ({today})", field="opening_date"
        )
    if first_recorded is not None and opening_date > first_recorded:
        return ValidationFailed(
            f"{holds} from {first_recorded}, before {opening_date}: the opening date can be "
            f"{first_recorded} at the latest",
            field="opening_date",
            first_recorded=first_recorded.isoformat(),
        )
    return None


def month_ends(today: dt.date, months: int = 12) -> list[dt.date]:
    """The last ``months`` month ends, oldest first, the current month's as of ``today``
    (the dashboards' charts of money held)."""
    ends = [today]
    first = today.replace(day=1)
    for _ in range(months - 1):
        ends.append(first - dt.timedelta(days=1))
        first = ends[-1].replace(day=1)
    return list(reversed(ends))
