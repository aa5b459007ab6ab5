"""Helpers shared by the books' service tests: short ways to move money, a snapshot of
everything the books write, and the ledger's invariants checked from the postings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db.models import Count, F, Q, Sum

from casebridge.books.models import (
    BankAccount,
    Check,
    Firm,
    GLAccount,
    IntegrationToken,
    Invoice,
    InvoiceLine,
    JournalEntry,
    LoginAttempt,
    Posting,
    TrustLedger,
    TrustReceipt,
)
from casebridge.books.selectors.reports import trial_balance
from casebridge.books.services import checks, setup
from casebridge.core.models import AuditEvent

D = dt.date(2026, 3, 2)
#: The opening date of books that post out of date order (ADR 0007: without one, nothing
#: can be dated before the first entry).
OPENED = dt.date(2026, 1, 1)


def books_open(firm: Firm, actor: Any, on: dt.date = OPENED) -> Firm:
    return setup.firm_opening_date_set(firm=firm, actor=actor, opening_date=on)


def snapshot() -> dict[str, Any]:
    """Every row count the books write and every maintained balance and sequence."""
    return {
        "entries": JournalEntry.objects.count(),
        "postings": Posting.objects.count(),
        "checks": Check.objects.count(),
        "check_states": sorted(Check.objects.values_list("pk", "status", "check_number")),
        "receipts": TrustReceipt.objects.count(),
        "receipt_states": sorted(TrustReceipt.objects.values_list("pk", "status")),
        "invoices": sorted(Invoice.objects.values_list("pk", "stage", "entry_id")),
        "invoice_lines": InvoiceLine.objects.count(),
        "audit": AuditEvent.objects.count(),
        "tokens": IntegrationToken.objects.count(),
        "login_attempts": LoginAttempt.objects.count(),
        "gl": sorted(GLAccount.objects.values_list("pk", "balance_cents")),
        "trust": sorted(TrustLedger.objects.values_list("pk", "balance_cents")),
        "check_numbers": sorted(BankAccount.objects.values_list("pk", "next_check_number")),
        "invoice_numbers": sorted(Firm.objects.values_list("pk", "next_invoice_number")),
    }


@contextmanager
def refused(
    error: type[Exception], *, code: str, match: str | None = None
) -> Iterator[pytest.ExceptionInfo[Any]]:
    """Expect a refusal with ``code`` (and a message matching ``match``) that wrote nothing."""
    before = snapshot()
    with pytest.raises(error, match=match) as info:
        yield info
    assert info.value.code == code  # type: ignore[attr-defined]
    assert snapshot() == before, "a refused operation wrote to the books"


@contextmanager
def writes_nothing() -> Iterator[None]:
    """The block succeeds and leaves the books exactly as they were (e.g. a replay)."""
    before = snapshot()
    yield
    assert snapshot() == before, "the block wrote to the books"


def gl(firm: Firm, number: str) -> int:
    """An account's maintained balance (debits minus credits), read fresh."""
    return GLAccount.objects.get(firm=firm, number=number).balance_cents


def trust_balance(file: Any, bank: BankAccount | None = None) -> int:
    qs = TrustLedger.objects.filter(file=file)
    if bank is not None:
        qs = qs.filter(bank_account=bank)
    ledger = qs.first()
    return ledger.balance_cents if ledger else 0


def deposit(firm, actor, trust, file, cents: int, on: dt.date = D, payer: str = "Acme Insurance"):
    return checks.trust_receipt_record(
        firm=firm,
        actor=actor,
        bank_account_id=trust.pk,
        file_id=file.pk,
        payer=payer,
        amount_cents=cents,
        received_on=on,
    )


def trust_check(firm, actor, trust, file, cents: int, on: dt.date = D, payee: str = "Maria Lopez"):
    return checks.check_request_create(
        firm=firm,
        actor=actor,
        bank_account_id=trust.pk,
        payee=payee,
        amount_cents=cents,
        file_id=file.pk,
        request_date=on,
    )


def operating_check(
    firm, actor, operating, file, cents: int, code, on: dt.date = D, payee: str = "Records Inc"
):
    return checks.check_request_create(
        firm=firm,
        actor=actor,
        bank_account_id=operating.pk,
        payee=payee,
        amount_cents=cents,
        file_id=file.pk if file is not None else None,
        activity_code_id=code.pk,
        request_date=on,
    )


def assert_books_consistent(firm: Firm) -> None:
    """The ledger's invariants, recomputed from the postings themselves (a few grouped
    queries, so property tests can afford it after every step)."""
    broken = (
        JournalEntry.objects.filter(firm=firm)
        .annotate(
            d=Sum("postings__debit_cents"),
            c=Sum("postings__credit_cents"),
            n=Count("postings"),
        )
        .filter(Q(n__lt=2) | ~Q(d=F("c")))
    )
    assert list(broken.values_list("pk", "d", "c", "n")) == [], "unbalanced journal entries"

    tb = trial_balance(firm=firm)
    assert tb.total_debit_cents == tb.total_credit_cents

    assert not TrustLedger.objects.filter(firm=firm, balance_cents__lt=0).exists()

    by_account = {
        row["account"]: (row["d"] or 0) - (row["c"] or 0)
        for row in Posting.objects.filter(account__firm=firm)
        .values("account")
        .annotate(d=Sum("debit_cents"), c=Sum("credit_cents"))
    }
    for pk, number, balance in GLAccount.objects.filter(firm=firm).values_list(
        "pk", "number", "balance_cents"
    ):
        assert balance == by_account.get(pk, 0), f"GL {number} drifted from its postings"

    by_ledger = {
        row["trust_ledger"]: (row["c"] or 0) - (row["d"] or 0)
        for row in Posting.objects.filter(trust_ledger__firm=firm)
        .values("trust_ledger")
        .annotate(d=Sum("debit_cents"), c=Sum("credit_cents"))
    }
    for pk, balance in TrustLedger.objects.filter(firm=firm).values_list("pk", "balance_cents"):
        assert balance == by_ledger.get(pk, 0), f"trust ledger {pk} drifted from its postings"

    # three ways: each trust bank's GL balance = its clients' ledgers = its liability account
    for bank in BankAccount.objects.filter(firm=firm, kind="trust").select_related(
        "gl_account", "trust_liability_account"
    ):
        clients = (
            TrustLedger.objects.filter(bank_account=bank).aggregate(s=Sum("balance_cents"))["s"]
            or 0
        )
        assert bank.gl_account.balance_cents == clients, f"{bank} differs from its client ledgers"
        assert bank.trust_liability_account is not None
        assert -bank.trust_liability_account.balance_cents == clients

    # every client trust posting names a file and its ledger
    assert not Posting.objects.filter(
        Q(file__isnull=True) | Q(trust_ledger__isnull=True),
        account__firm=firm,
        account__is_client_trust=True,
    ).exists()
