"""The books' date window (ADR 0007): every date a caller gives (a receipt, a check, an
invoice, a journal entry, a void) is refused before anything is written when it falls
before the firm's opening date or after today plus the days ahead allowed.

- ``"document"`` (receipts, checks, invoices and their voids): up to
  ``CASEBRIDGE_MAX_DAYS_AHEAD`` days ahead (default 0: not after today);
- ``"journal"`` (manual journal entries and their reversals): up to
  :data:`JOURNAL_DAYS_AHEAD` days ahead, so accruals can be dated ahead; every entry the
  journal posts is held to it, a document's entry included.

The lower bound is the firm's opening date; unset, the date of its first entry stands for
it; with nothing posted, ten years back (``casebridge.core.dates``).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.db.models import OuterRef, Subquery

from casebridge.books.models import Firm, JournalEntry
from casebridge.core.dates import DateWindow, date_window, max_days_ahead

#: A manual journal entry may be dated this many days ahead (an accrual for next year).
JOURNAL_DAYS_AHEAD = 366
#: Where an administrator sets the opening date, as the refusals say.
SETTINGS_PATH = "Settings > Opening date"

DateKind = Literal["document", "journal"]


def first_entry_date(firm: Firm) -> dt.date | None:
    """The date of the firm's earliest journal entry (None when nothing is posted)."""
    return (
        JournalEntry.objects.filter(firm=firm)
        .order_by("date")
        .values_list("date", flat=True)
        .first()
    )


def window_for(firm: Firm, *, kind: DateKind = "document") -> DateWindow:
    """The firm's window now, read fresh (one query: the opening date and the first
    entry's date, found through the (firm, date) index)."""
    first = JournalEntry.objects.filter(firm=OuterRef("pk")).order_by("date").values("date")[:1]
    opening, first_recorded = (
        Firm.objects.filter(pk=firm.pk)
        .annotate(first_entry=Subquery(first))
        .values_list("opening_date", "first_entry")
        .get()
    )
    ahead = max_days_ahead()
    if kind == "journal":
        ahead = max(ahead, JOURNAL_DAYS_AHEAD)
    return date_window(
        opening_date=opening,
        first_recorded=first_recorded,
        days_ahead=ahead,
        settings_path=SETTINGS_PATH,
        recorded="entry",
    )


def date_in_window(
    firm: Firm, value: dt.date, *, field: str, kind: DateKind = "document", where: str = ""
) -> dt.date:
    """``value``, or :class:`~casebridge.core.errors.ValidationFailed` naming ``field``
    and the dates accepted. A caller with many dates takes :func:`window_for` once."""
    return window_for(firm, kind=kind).check(value, field=field, where=where)
