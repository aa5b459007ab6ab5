"""The dashboard's reads beyond the balances: statement lines not reconciled yet, and the
money held for clients at each of the last twelve month ends (one read of the postings)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, Sum

from casebridge.books.models import (
    BankAccount,
    Firm,
    Posting,
    StatementLine,
    StatementLineStatus,
)
from casebridge.core import dates

#: A line not reconciled yet: not matched, or matched only as a proposal.
UNRECONCILED = (StatementLineStatus.UNMATCHED, StatementLineStatus.PROPOSED)


def unreconciled_lines(firm: Firm, banks: list[BankAccount]) -> dict[int, int]:
    """Each bank account's statement lines not reconciled yet (every bank listed)."""
    counts = dict(
        StatementLine.objects.filter(firm=firm, bank_account__in=banks, status__in=UNRECONCILED)
        .values_list("bank_account_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {bank.pk: counts.get(bank.pk, 0) for bank in banks}


def trust_held_by_month(firm: Firm, today: dt.date) -> list[tuple[dt.date, int]]:
    """The sum of the client trust ledgers (credits less debits of their postings) as of
    each of the last twelve month ends: what ``client_trust_total_cents(as_of=...)``
    gives, twelve in one aggregate."""
    ends = dates.month_ends(today)
    row = Posting.objects.filter(trust_ledger__firm=firm, entry__date__lte=ends[-1]).aggregate(
        **{
            f"{side}{n}": Sum(f"{field}_cents", filter=Q(entry__date__lte=end))
            for n, end in enumerate(ends)
            for side, field in (("c", "credit"), ("d", "debit"))
        }
    )
    return [(end, int(row[f"c{n}"] or 0) - int(row[f"d{n}"] or 0)) for n, end in enumerate(ends)]
