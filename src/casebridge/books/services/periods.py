"""Closed periods (issue 11, ADR 0015).

- **A bank account's months** close when an attorney signs their reconciliation
  (``BankAccount.closed_through``, the last day of the last signed month): no journal
  entry dated on or before it may post to the bank's GL account nor, for a trust account,
  to its client trust liability account (its clients' ledgers).
- **The firm-wide close** (``Firm.closed_through``, set by an administrator, audited):
  no journal entry dated on or before it posts at all.

A correction is a reversal dated in an open period. Reopening is an administrator's
action with a reason, audited; reopening a bank account's month marks the signed
reconciliations from that month on superseded (``services/reconciliations.py``).

:func:`check_open` is called by the journal's one posting path for every batch: one query
for the bank accounts closed on or after the batch's earliest date, the firm row read
fresh.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Protocol

from django.db import transaction

from casebridge.books.audit import books_audit
from casebridge.books.errors import AdminRequired, PeriodClosed, ValidationFailed
from casebridge.books.models import BankAccount, Firm, User
from casebridge.core import clock


class _Dated(Protocol):
    @property
    def date(self) -> dt.date: ...


def closed_accounts(firm: Firm, since: dt.date) -> dict[int, tuple[dt.date, str]]:
    """The GL accounts closed on some day on or after ``since``, by account id: the day
    closed through and what closed it (the bank account's name)."""
    closed: dict[int, tuple[dt.date, str]] = {}
    for gl_id, liability_id, through, name in BankAccount.objects.filter(
        firm=firm, closed_through__gte=since
    ).values_list("gl_account_id", "trust_liability_account_id", "closed_through", "name"):
        assert through is not None  # filtered above
        closed[gl_id] = (through, name)
        if liability_id is not None:
            closed[liability_id] = (through, f"the client ledgers of {name}")
    return closed


def check_open(
    firm: Firm,
    specs: Sequence[_Dated],
    accounts_of: Iterable[set[int]],
    labels: Sequence[str],
) -> None:
    """Refuse (:class:`PeriodClosed`) the first of ``specs`` dated in a closed period:
    on or before the firm-wide close, or on or before the close of a bank account whose
    GL account (or client trust liability account) it posts to. ``accounts_of`` gives
    each spec's account ids."""
    if not specs:
        return
    firm_through = Firm.objects.filter(pk=firm.pk).values_list("closed_through", flat=True).get()
    earliest = min(spec.date for spec in specs)
    closed = closed_accounts(firm, earliest)
    for spec, accounts, label in zip(specs, accounts_of, labels, strict=True):
        prefix = f"{label}: " if label else ""
        if firm_through is not None and spec.date <= firm_through:
            raise PeriodClosed(
                f"{prefix}the books are closed through {firm_through.isoformat()}; date the "
                "entry (or its correction, as a reversal) in an open period, or ask an "
                "administrator to reopen the period",
                field="date",
                closed_through=firm_through.isoformat(),
            )
        for account_id in sorted(accounts):
            if account_id in closed and spec.date <= closed[account_id][0]:
                through, what = closed[account_id]
                raise PeriodClosed(
                    f"{prefix}{what} is closed through {through.isoformat()} by a signed "
                    "reconciliation; date the entry (or its correction, as a reversal) after "
                    "it, or ask an administrator to reopen the month",
                    field="date",
                    closed_through=through.isoformat(),
                )


def _require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise AdminRequired("only an administrator may close or reopen a period")


def clean_reason(reason: str) -> str:
    """A reopening's reason: required, one line of at most 500 characters."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationFailed("give the reason for reopening", field="reason")
    if len(reason) > 500:
        raise ValidationFailed("the reason is longer than 500 characters", field="reason")
    return reason


@transaction.atomic
def firm_period_close(*, firm: Firm, actor: User, through: dt.date) -> Firm:
    """Close the books firm-wide through ``through`` (an administrator; audited). Moving
    the close earlier is a reopen (:func:`firm_period_reopen`, with a reason)."""
    _require_admin(actor)
    locked = Firm.objects.select_for_update(no_key=True).get(pk=firm.pk)
    if locked.closed_through is not None and through <= locked.closed_through:
        raise ValidationFailed(
            f"the books are already closed through {locked.closed_through.isoformat()}; "
            "to move the close earlier, reopen",
            field="through",
        )
    if through > clock.today() + dt.timedelta(days=366):
        raise ValidationFailed("the close cannot be more than a year ahead", field="through")
    before = locked.closed_through
    locked.closed_through = through
    locked.save(update_fields=["closed_through"])
    books_audit(
        firm_id=firm.pk,
        actor=actor,
        action="period_closed",
        entity_type="firm",
        entity_id=firm.pk,
        summary=f"Books closed firm-wide through {through.isoformat()}",
        before={"closed_through": before.isoformat() if before else None},
        after={"closed_through": through.isoformat()},
    )
    firm.closed_through = through
    return locked


@transaction.atomic
def firm_period_reopen(*, firm: Firm, actor: User, through: dt.date | None, reason: str) -> Firm:
    """Move the firm-wide close back to ``through`` (None: nothing closed), with a reason;
    an administrator's action, audited."""
    _require_admin(actor)
    reason = clean_reason(reason)
    locked = Firm.objects.select_for_update(no_key=True).get(pk=firm.pk)
    if locked.closed_through is None:
        raise ValidationFailed("the books are not closed", field="through")
    if through is not None and through >= locked.closed_through:
        raise ValidationFailed(
            f"reopening moves the close earlier than {locked.closed_through.isoformat()}",
            field="through",
        )
    before = locked.closed_through
    locked.closed_through = through
    locked.save(update_fields=["closed_through"])
    books_audit(
        firm_id=firm.pk,
        actor=actor,
        action="period_reopened",
        entity_type="firm",
        entity_id=firm.pk,
        summary=(
            f"Books reopened firm-wide after {through.isoformat() if through else 'the start'}"
            f": {reason}"
        )[:500],
        before={"closed_through": before.isoformat()},
        after={"closed_through": through.isoformat() if through else None, "reason": reason},
    )
    firm.closed_through = through
    return locked
