"""The worked settlement of domain.md section 4, posted end to end in the books.

Gross 250,000.00 deposited to trust; fee 33.33% = 83,325.00 and 8,500.00 of advanced costs
invoiced and paid from trust; 45,000.00 of liens and the client's 113,175.00 paid by trust
checks. The file's trust ends at exactly 0.00 and every account is where it should be.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from casebridge.books.models import AccountRole, ActivityCode, GLAccount, TrustLedger
from casebridge.books.selectors.reports import trial_balance
from casebridge.books.services import checks, invoices
from casebridge.core.money import percent_of
from tests.conftest import account

D = dt.date(2026, 3, 2)


def test_the_worked_settlement_leaves_the_file_at_zero(
    firm, admin, attorney, operating, trust, client_file
):
    copy_code = ActivityCode.objects.get(firm=firm, code="E101")
    # Costs advanced from operating during the case: 8,500.00.
    checks.check_request_create(
        firm=firm,
        actor=admin,
        bank_account_id=operating.pk,
        payee="Records Inc",
        amount_cents=850_000,
        file_id=client_file.pk,
        activity_code_id=copy_code.pk,
        request_date=dt.date(2026, 2, 1),
    )
    checks.trust_receipt_record(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        file_id=client_file.pk,
        payer="Acme Insurance",
        amount_cents=25_000_000,
        reference="88123",
        received_on=D,
    )
    fee = percent_of(25_000_000, Decimal("33.33"))
    assert fee == 8_332_500
    invoice = invoices.invoice_create(
        firm=firm,
        actor=admin,
        file_id=client_file.pk,
        pay_from_trust=True,
        invoice_date=D,
        lines=[
            invoices.LineSpec(
                kind="fee",
                description="Contingency fee 33.33%",
                amount_cents=fee,
                timekeeper_id=attorney.pk,
            ),
            invoices.LineSpec(
                kind="cost",
                description="Reimbursement of advanced costs",
                amount_cents=850_000,
                activity_code_id=copy_code.pk,
            ),
        ],
    )
    invoices.invoice_finalise(firm=firm, actor=admin, invoice_id=invoice.pk, on=D)
    for payee, cents in [
        ("Valley Medical (lien)", 3_000_000),
        ("Blue Shield (lien)", 1_500_000),
        ("Maria Lopez", 11_317_500),
    ]:
        checks.check_request_create(
            firm=firm,
            actor=admin,
            bank_account_id=trust.pk,
            payee=payee,
            amount_cents=cents,
            file_id=client_file.pk,
            request_date=D,
        )

    assert TrustLedger.objects.get(file=client_file).balance_cents == 0
    balances = {
        a.role: a.balance_cents for a in GLAccount.objects.filter(firm=firm).exclude(role="")
    }
    assert balances[AccountRole.TRUST_BANK] == 0
    assert balances[AccountRole.CLIENT_TRUST_LIABILITY] == 0
    assert balances[AccountRole.ADVANCED_COSTS] == 0  # advanced, then reimbursed
    assert balances[AccountRole.FEE_INCOME] == -8_332_500  # credit balance
    assert balances[AccountRole.OPERATING_BANK] == -850_000 + 8_332_500 + 850_000
    tb = trial_balance(firm=firm)
    assert tb.total_debit_cents == tb.total_credit_cents == 8_332_500
    assert account(firm, AccountRole.OPERATING_BANK).normal_balance_cents == 8_332_500
