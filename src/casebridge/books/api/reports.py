"""Reports: the trial balance and the monthly three-way trust reconciliation.

Both are reads (GET with query parameters). The reconciliation compares the adjusted bank
statement balance, the trust account's journal balance and the sum of the client ledgers
(domain.md section 5) and lists every difference rather than hiding it.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Query, Router
from pydantic import Field

from casebridge.books.api.security import context
from casebridge.books.models import AccountType, BankAccount
from casebridge.books.selectors import reports
from casebridge.core.api.lookups import get_or_404
from casebridge.core.api.schemas import (
    ERRORS,
    Cents,
    Clean,
    Id,
    Money,
    NonNegativeCents,
    Out,
    money,
)

router = Router(tags=["reports"])


class TrialBalanceIn(Clean):
    as_of: dt.date | None = Field(None, description="Default: current balances.")


class TrialBalanceRowOut(Out):
    account_id: int
    number: str
    name: str
    type: AccountType
    debit: Money
    credit: Money


class TrialBalanceOut(Out):
    as_of: dt.date | None
    rows: list[TrialBalanceRowOut]
    total_debit: Money
    total_credit: Money
    is_balanced: bool


@router.get("/reports/trial-balance", response={200: TrialBalanceOut, **ERRORS})
def trial_balance(request: HttpRequest, params: Query[TrialBalanceIn]) -> TrialBalanceOut:
    """Every account with a balance, in a debit or a credit column."""
    tb = reports.trial_balance(firm=context(request).firm, as_of=params.as_of)
    return TrialBalanceOut(
        as_of=tb.as_of,
        rows=[
            TrialBalanceRowOut(
                account_id=row.account_id,
                number=row.number,
                name=row.name,
                type=AccountType(row.type),
                debit=money(row.debit_cents),
                credit=money(row.credit_cents),
            )
            for row in tb.rows
        ],
        total_debit=money(tb.total_debit_cents),
        total_credit=money(tb.total_credit_cents),
        is_balanced=tb.is_balanced,
    )


class ReconciliationIn(Clean):
    bank_account_id: Id = Field(description="A client trust bank account.")
    statement_balance: Cents = Field(description="The bank statement's closing balance.")
    deposits_in_transit: NonNegativeCents = 0
    outstanding_checks: NonNegativeCents | None = Field(
        None,
        description="Default: every unvoided check of the account the books know about.",
    )
    as_of: dt.date | None = Field(None, description="The statement date. Default: today.")


class OutstandingCheckOut(Out):
    check_id: int
    check_number: int | None
    payee: str
    amount: Money


class ReconciliationOut(Out):
    bank_account_id: int
    bank_account_name: str
    as_of: dt.date
    statement_balance: Money
    deposits_in_transit: Money
    outstanding_checks: Money
    outstanding_check_list: list[OutstandingCheckOut]
    adjusted_bank_balance: Money
    trust_journal_balance: Money
    client_ledgers_total: Money
    client_ledgers_recomputed: Money
    differences: list[str]
    is_reconciled: bool


@router.get("/reports/three-way-reconciliation", response={200: ReconciliationOut, **ERRORS})
def three_way_reconciliation(
    request: HttpRequest, params: Query[ReconciliationIn]
) -> ReconciliationOut:
    """Adjusted bank balance = trust journal balance = sum of the client ledgers."""
    firm = context(request).firm
    bank = get_or_404(
        BankAccount.objects.filter(firm=firm), params.bank_account_id, field="bank_account_id"
    )
    rec = reports.three_way_reconciliation(
        firm=firm,
        bank_account_id=bank.pk,
        statement_balance_cents=params.statement_balance,
        deposits_in_transit_cents=params.deposits_in_transit,
        outstanding_checks_cents=params.outstanding_checks,
        as_of=params.as_of,
    )
    return ReconciliationOut(
        bank_account_id=rec.bank_account.pk,
        bank_account_name=rec.bank_account.name,
        as_of=rec.as_of,
        statement_balance=money(rec.statement_balance_cents),
        deposits_in_transit=money(rec.deposits_in_transit_cents),
        outstanding_checks=money(rec.outstanding_checks_cents),
        outstanding_check_list=[
            OutstandingCheckOut(
                check_id=c.check_id,
                check_number=c.check_number,
                payee=c.payee,
                amount=money(c.amount_cents),
            )
            for c in rec.outstanding_checks
        ],
        adjusted_bank_balance=money(rec.adjusted_bank_balance_cents),
        trust_journal_balance=money(rec.trust_journal_balance_cents),
        client_ledgers_total=money(rec.client_ledgers_total_cents),
        client_ledgers_recomputed=money(rec.client_ledgers_recomputed_cents),
        differences=rec.differences,
        is_reconciled=rec.is_reconciled,
    )
