"""The cases side's date window (ADR 0007), the books' own: a cost's date, its paid date
and a deposit's date fall between the firm's opening date (unset: its first cost or
deposit; neither: ten years back) and today plus ``CASEBRIDGE_MAX_DAYS_AHEAD``. A date out
of it is refused before anything is written, so nothing is queued for the books."""

from __future__ import annotations

import datetime as dt

from casebridge.cases.models import Cost, Deposit, Firm
from casebridge.core.dates import DateWindow, date_window, max_days_ahead

#: Where an administrator sets the opening date, as the refusals say.
SETTINGS_PATH = "Account Settings > Opening date"


def _first(*dates: dt.date | None) -> dt.date | None:
    known = [d for d in dates if d is not None]
    return min(known) if known else None


def first_record_date(firm: Firm, *, except_cost_id: int | None = None) -> dt.date | None:
    """The date of the firm's earliest cost or deposit (None when it has neither), leaving
    out the cost ``except_cost_id`` (a cost being edited does not bound its own date)."""
    costs = Cost.objects.filter(firm=firm)
    if except_cost_id is not None:
        costs = costs.exclude(pk=except_cost_id)
    first_cost = costs.order_by("cost_date").values_list("cost_date", flat=True)
    first_deposit = (
        Deposit.objects.filter(firm=firm)
        .order_by("deposited_on")
        .values_list("deposited_on", flat=True)
    )
    return _first(first_cost.first(), first_deposit.first())


def window_for(firm: Firm, *, except_cost_id: int | None = None) -> DateWindow:
    """The firm's window now, read fresh: its opening date, and only while that is unset
    the dates of its first cost (``except_cost_id`` aside) and deposit."""
    opening = Firm.objects.filter(pk=firm.pk).values_list("opening_date", flat=True).get()
    return date_window(
        opening_date=opening,
        first_recorded=(
            first_record_date(firm, except_cost_id=except_cost_id) if opening is None else None
        ),
        days_ahead=max_days_ahead(),
        settings_path=SETTINGS_PATH,
        recorded="cost or deposit",
    )


def date_in_window(
    firm: Firm, value: dt.date, *, field: str, except_cost_id: int | None = None
) -> dt.date:
    """``value``, or :class:`~casebridge.core.errors.ValidationFailed` naming ``field``
    and the dates accepted."""
    return window_for(firm, except_cost_id=except_cost_id).check(value, field=field)
