"""A messy, hand-checked workload for the financial statements (issue 15, ADR 0042).

Smith PI's books from November 2025 to April 2026 (figures in dollars):

- 2025-11-03 manual entry: partners put 50,000.00 into operating (Dr 1000 / Cr 3000)
- 2025-12-15 operating check, file A (Lopez): 1,200.00 cost advance (E101 -> 1300)
- 2025-12-20 manual entry: bank charges 25.00 (Dr 5000 / Cr 1000)
- 2026-01-10 operating check, file B (Baker): 800.00 advance
- 2026-02-05 operating check, file A: 300.00 advance
- 2026-02-20 operating check, file B: 150.00 advance, voided on 2026-03-05
- 2026-03-02 trust deposit, file A: 100,000.00 settlement
- 2026-03-10 invoice, file A, paid from trust: fee 30,000.00 + costs recovered 1,200.00
- 2026-03-12 trust check, file A: 60,000.00 to the client, voided on 2026-04-02
- 2026-03-20 manual entry: office expenses 400.00 (Dr 5200 / Cr 1000)
- 2026-04-15 operating check, file C (Chen): 500.00 advance; trust deposit, file B: 20,000.00

As of 2026-03-31 (April left out, the check voided on 04-02 still counted):
operating 78,475.00, trust bank 8,800.00, advanced costs 1,100.00 (A 300.00 since 02-05,
B 800.00 since 01-10) = assets 88,375.00; client trust liability 8,800.00; equity
50,000.00 + retained earnings -25.00 + current-year earnings 29,600.00 = 79,575.00.

:func:`build_across_july` adds three entries around 1 July 2026, the first day of a
fiscal year that starts in July (ADR 0053):

- 2026-06-30 manual entry: COPP charges 500.00 (Dr 1000 / Cr 4100), the last day of the
  fiscal year 2025-26
- 2026-07-01 manual entry: bank charges 40.00 (Dr 5000 / Cr 1000), the first of 2026-27
- 2026-07-15 the June entry reversed: the correction counts in 2026-27, not in the year
  it corrects"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from casebridge.books.models import (
    AccountType,
    ActivityCode,
    BankAccount,
    Check,
    File,
    Firm,
    GLAccount,
    User,
)
from casebridge.books.services import checks, files, invoices
from casebridge.books.services.journal import Line, journal_entry_post, journal_entry_reverse
from tests.books.ledger_helpers import books_open, deposit, operating_check, trust_check

D = dt.date


@dataclass(frozen=True)
class Workload:
    file_a: File
    file_b: File
    file_c: File
    voided_advance: Check
    client_check: Check


def gl_account(firm: Firm, number: str) -> GLAccount:
    return GLAccount.objects.get(firm=firm, number=number)


def build(
    firm: Firm,
    admin: User,
    attorney: User,
    operating: BankAccount,
    trust: BankAccount,
    file_a: File,
) -> Workload:
    books_open(firm, admin, on=D(2025, 1, 1))
    client_b, _ = files.contact_find_or_create(firm=firm, actor=admin, name="Tom Baker")
    file_b, _ = files.file_find_or_create(
        firm=firm, actor=admin, name="Baker v. City Bus", client=client_b, number="2026-B"
    )
    client_c, _ = files.contact_find_or_create(firm=firm, actor=admin, name="Li Chen")
    file_c, _ = files.file_find_or_create(
        firm=firm, actor=admin, name="Chen v. Store", client=client_c, number="2026-C"
    )
    copying = ActivityCode.objects.get(firm=firm, code="E101")
    assert copying.gl_account.number == "1300"
    assert gl_account(firm, "3000").type == AccountType.EQUITY

    journal_entry_post(
        firm=firm,
        date=D(2025, 11, 3),
        lines=[
            Line(account=gl_account(firm, "1000"), debit_cents=5_000_000),
            Line(account=gl_account(firm, "3000"), credit_cents=5_000_000),
        ],
        memo="Partners' capital",
        actor=admin,
    )
    operating_check(firm, admin, operating, file_a, 120_000, copying, on=D(2025, 12, 15))
    journal_entry_post(
        firm=firm,
        date=D(2025, 12, 20),
        lines=[
            Line(account=gl_account(firm, "5000"), debit_cents=2_500),
            Line(account=gl_account(firm, "1000"), credit_cents=2_500),
        ],
        memo="Bank charges",
        actor=admin,
    )
    operating_check(firm, admin, operating, file_b, 80_000, copying, on=D(2026, 1, 10))
    operating_check(firm, admin, operating, file_a, 30_000, copying, on=D(2026, 2, 5))
    voided = operating_check(firm, admin, operating, file_b, 15_000, copying, on=D(2026, 2, 20))
    checks.check_void(firm=firm, actor=admin, check_id=voided.pk, void_date=D(2026, 3, 5))
    deposit(firm, admin, trust, file_a, 10_000_000, on=D(2026, 3, 2))
    invoice = invoices.invoice_create(
        firm=firm,
        actor=admin,
        file_id=file_a.pk,
        pay_from_trust=True,
        invoice_date=D(2026, 3, 10),
        lines=[
            invoices.LineSpec(
                kind="fee",
                description="Contingency fee",
                amount_cents=3_000_000,
                timekeeper_id=attorney.pk,
            ),
            invoices.LineSpec(
                kind="cost",
                description="Records copying",
                amount_cents=120_000,
                activity_code_id=copying.pk,
            ),
        ],
    )
    invoices.invoice_finalise(firm=firm, actor=admin, invoice_id=invoice.pk, on=D(2026, 3, 10))
    client_check = trust_check(
        firm, admin, trust, file_a, 6_000_000, on=D(2026, 3, 12), payee="Maria Lopez"
    )
    journal_entry_post(
        firm=firm,
        date=D(2026, 3, 20),
        lines=[
            Line(account=gl_account(firm, "5200"), debit_cents=40_000),
            Line(account=gl_account(firm, "1000"), credit_cents=40_000),
        ],
        memo="Office supplies",
        actor=admin,
    )
    checks.check_void(firm=firm, actor=admin, check_id=client_check.pk, void_date=D(2026, 4, 2))
    operating_check(firm, admin, operating, file_c, 50_000, copying, on=D(2026, 4, 15))
    deposit(firm, admin, trust, file_b, 2_000_000, on=D(2026, 4, 15))
    return Workload(file_a, file_b, file_c, voided, client_check)


def build_across_july(
    firm: Firm,
    admin: User,
    attorney: User,
    operating: BankAccount,
    trust: BankAccount,
    file_a: File,
) -> Workload:
    """:func:`build`, then the entries of 30 June, 1 July and 15 July 2026."""
    books = build(firm, admin, attorney, operating, trust, file_a)
    copp = journal_entry_post(
        firm=firm,
        date=D(2026, 6, 30),
        lines=[
            Line(account=gl_account(firm, "1000"), debit_cents=50_000),
            Line(account=gl_account(firm, "4100"), credit_cents=50_000),
        ],
        memo="COPP charges",
        actor=admin,
    )
    journal_entry_post(
        firm=firm,
        date=D(2026, 7, 1),
        lines=[
            Line(account=gl_account(firm, "5000"), debit_cents=4_000),
            Line(account=gl_account(firm, "1000"), credit_cents=4_000),
        ],
        memo="Bank charges",
        actor=admin,
    )
    journal_entry_reverse(
        firm=firm, entry=copp, date=D(2026, 7, 15), memo="COPP charged twice", actor=admin
    )
    return books
