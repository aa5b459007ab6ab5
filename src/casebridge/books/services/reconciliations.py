"""The monthly bank reconciliation, saved and signed (issue 11, ADR 0015).

- :func:`reconciliation_prepare` computes the month (``selectors.bank``) and saves it as a
  record: every figure and list as of the month's last day, and who prepared it. Preparing
  the month again replaces the prepared (unsigned) record.
- :func:`reconciliation_sign`: an attorney signs a prepared record that reconciles (no
  difference). The month is recomputed first and must still give the same figures (else
  the books changed since: prepare it again). Signing closes the month for the bank
  account (``BankAccount.closed_through``): ``periods.check_open`` refuses any entry dated
  in it that touches the account or its client ledgers.
- :func:`reconciliation_reopen`: an administrator, with a reason, reopens a bank account
  from a month on: every signed record from that month is marked superseded, and the
  account is closed through the last month still signed before it.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from casebridge.books.audit import books_audit
from casebridge.books.errors import (
    AdminRequired,
    Conflict,
    PermissionDenied,
    ValidationFailed,
)
from casebridge.books.models import (
    Firm,
    Reconciliation,
    ReconciliationStatus,
    User,
)
from casebridge.books.selectors.bank import BankReconciliation, bank_reconciliation, month_bounds
from casebridge.books.services.matching import bank_for_update
from casebridge.books.services.periods import clean_reason
from casebridge.core import clock, words
from casebridge.core.money import MAX_CENTS
from casebridge.core.money import format_cents as f

#: The figures a signature vouches for; signing recomputes them and compares.
FIGURES = (
    "statement_balance_cents",
    "deposits_in_transit_cents",
    "outstanding_checks_cents",
    "reconciling_items_cents",
    "adjusted_bank_balance_cents",
    "journal_balance_cents",
    "client_ledgers_total_cents",
    "difference_cents",
)


def _figures(rec: BankReconciliation) -> dict[str, int | None]:
    return {name: getattr(rec, name) for name in FIGURES}


def _saved_figures(saved: Reconciliation) -> dict[str, int | None]:
    return {name: getattr(saved, name) for name in FIGURES}


@transaction.atomic
def reconciliation_prepare(
    *,
    firm: Firm,
    actor: User,
    bank_account_id: int,
    month: dt.date,
    statement_balance_cents: int | None = None,
) -> Reconciliation:
    """Compute and save the reconciliation of the month containing ``month``: a prepared
    record (replacing an earlier prepared one of the month). A signed month is refused:
    reopen it first."""
    if statement_balance_cents is not None and abs(statement_balance_cents) > MAX_CENTS:
        raise ValidationFailed(
            "the statement balance is larger than the books can hold",
            field="statement_balance_cents",
        )
    start, end = month_bounds(month)
    if end >= clock.today() and start > clock.today():
        raise ValidationFailed("the month has not begun", field="month")
    bank = bank_for_update(firm, bank_account_id)
    signed = Reconciliation.objects.filter(
        bank_account=bank, period_end=end, status=ReconciliationStatus.SIGNED
    ).first()
    if signed is not None:
        raise Conflict(
            f"{bank.name} is already reconciled and signed for {end:%B %Y}; an administrator "
            "may reopen the month",
            reconciliation_id=signed.pk,
        )
    rec = bank_reconciliation(
        firm=firm,
        bank_account_id=bank.pk,
        period_end=end,
        statement_balance_cents=statement_balance_cents,
    )
    Reconciliation.objects.filter(
        bank_account=bank, period_end=end, status=ReconciliationStatus.PREPARED
    ).delete()
    saved = Reconciliation.objects.create(
        firm=firm,
        bank_account=bank,
        period_start=start,
        period_end=end,
        statement_id=rec.statement_id,
        statement_balance_cents=rec.statement_balance_cents,
        deposits_in_transit_cents=rec.deposits_in_transit_cents,
        outstanding_checks_cents=rec.outstanding_checks_cents,
        reconciling_items_cents=rec.reconciling_items_cents,
        adjusted_bank_balance_cents=rec.adjusted_bank_balance_cents,
        journal_balance_cents=rec.journal_balance_cents,
        client_ledgers_total_cents=rec.client_ledgers_total_cents,
        difference_cents=rec.difference_cents,
        items=rec.items_snapshot(),
        status=ReconciliationStatus.PREPARED,
        prepared_by=actor,
        prepared_at=clock.now(),
    )
    books_audit(
        firm_id=firm.pk,
        actor=actor,
        action="reconciliation_prepared",
        entity_type="reconciliation",
        entity_id=saved.pk,
        summary=(
            f"Reconciliation of {bank.name} for {end:%B %Y} prepared: "
            + (
                "reconciled"
                if rec.is_reconciled
                else words.plural(len(rec.differences), "difference")
            )
        ),
        after={"bank_account_id": bank.pk, "period_end": end.isoformat(), **_figures(rec)},
    )
    return saved


@transaction.atomic
def reconciliation_sign(*, firm: Firm, actor: User, reconciliation_id: int) -> Reconciliation:
    """An attorney signs a prepared reconciliation that reconciles; the month closes for
    the bank account. The month is recomputed and must give the figures prepared."""
    if not actor.is_attorney:
        raise PermissionDenied(
            "only an attorney may sign a reconciliation (Users: Attorney)", field="user"
        )
    bank_id = (
        Reconciliation.objects.filter(firm=firm, pk=reconciliation_id)
        .values_list("bank_account_id", flat=True)
        .first()
    )
    if bank_id is None:
        raise ValidationFailed("reconciliation not found in this firm", field="reconciliation")
    bank = bank_for_update(firm, bank_id)
    saved = Reconciliation.objects.select_for_update().get(pk=reconciliation_id)
    if saved.status != ReconciliationStatus.PREPARED:
        raise Conflict(f"the reconciliation is {saved.get_status_display().lower()}")
    if saved.period_end >= clock.today():
        raise Conflict(
            f"{saved.period_end:%B %Y} has not ended; sign it from "
            f"{saved.period_end + dt.timedelta(days=1)}"
        )
    now_rec = bank_reconciliation(
        firm=firm,
        bank_account_id=bank.pk,
        period_end=saved.period_end,
        statement_balance_cents=saved.statement_balance_cents,
    )
    if not now_rec.is_reconciled:
        raise Conflict(
            "the month does not reconcile: " + "; ".join(now_rec.differences),
            differences=now_rec.differences,
        )
    if _figures(now_rec) != _saved_figures(saved):
        raise Conflict(
            "the books changed since the reconciliation was prepared; prepare it again",
            prepared=_saved_figures(saved),
            now=_figures(now_rec),
        )
    saved.status = ReconciliationStatus.SIGNED
    saved.signed_by = actor
    saved.signed_at = clock.now()
    saved.items = now_rec.items_snapshot()
    saved.save(update_fields=["status", "signed_by", "signed_at", "items"])
    before = bank.closed_through
    if before is None or saved.period_end > before:
        bank.closed_through = saved.period_end
        bank.save(update_fields=["closed_through"])
    books_audit(
        firm_id=firm.pk,
        actor=actor,
        action="reconciliation_signed",
        entity_type="reconciliation",
        entity_id=saved.pk,
        summary=(
            f"Reconciliation of {bank.name} for {saved.period_end:%B %Y} signed; closed "
            f"through {bank.closed_through.isoformat() if bank.closed_through else '-'}"
        ),
        before={"closed_through": before.isoformat() if before else None},
        after={
            "closed_through": bank.closed_through.isoformat() if bank.closed_through else None,
            "journal_balance": f(saved.journal_balance_cents),
        },
    )
    return saved


@transaction.atomic
def reconciliation_reopen(
    *, firm: Firm, actor: User, bank_account_id: int, month: dt.date, reason: str
) -> list[Reconciliation]:
    """Reopen a bank account from the month containing ``month`` on (an administrator,
    with a reason; audited): the signed reconciliations of that month and later are
    superseded; the account stays closed through the last month signed before it."""
    if not actor.is_admin:
        raise AdminRequired("only an administrator may reopen a reconciled month")
    reason = clean_reason(reason)
    start, end = month_bounds(month)
    bank = bank_for_update(firm, bank_account_id)
    superseded = list(
        Reconciliation.objects.select_for_update()
        .filter(bank_account=bank, status=ReconciliationStatus.SIGNED, period_end__gte=end)
        .order_by("period_end")
    )
    if not superseded and (bank.closed_through is None or bank.closed_through < start):
        raise ValidationFailed(f"{bank.name} is not closed in {end:%B %Y}", field="month")
    now = clock.now()
    for rec in superseded:
        rec.status = ReconciliationStatus.SUPERSEDED
        rec.superseded_at = now
        rec.superseded_reason = reason
        rec.save(update_fields=["status", "superseded_at", "superseded_reason"])
    still = (
        Reconciliation.objects.filter(
            bank_account=bank, status=ReconciliationStatus.SIGNED, period_end__lt=start
        )
        .order_by("-period_end")
        .values_list("period_end", flat=True)
        .first()
    )
    before = bank.closed_through
    bank.closed_through = still
    bank.save(update_fields=["closed_through"])
    books_audit(
        firm_id=firm.pk,
        actor=actor,
        action="reconciliation_reopened",
        entity_type="bank_account",
        entity_id=bank.pk,
        summary=f"{bank.name} reopened from {end:%B %Y}: {reason}"[:500],
        before={"closed_through": before.isoformat() if before else None},
        after={
            "closed_through": still.isoformat() if still else None,
            "superseded": [r.pk for r in superseded],
            "reason": reason,
        },
    )
    return superseded
