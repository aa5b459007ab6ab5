"""An invoice released at once locks every GL account its entry posts to up front, in the
one order (ADR 0012), with its trust ledger: the operating bank, Fee Income and Accounts
Receivable too, not only the codes' and the trust accounts'. An account locked later, by
the posting, would take its lock out of order and could deadlock against a journal entry
posting the same accounts."""

from __future__ import annotations

import pytest

from casebridge.books.models import AccountRole, GLAccount, Posting
from casebridge.books.services import invoices, journal
from casebridge.books.services.invoices import InvoiceRequest, LineSpec
from tests.books.ledger_helpers import D, books_open, deposit

pytestmark = pytest.mark.django_db


@pytest.fixture
def locked(monkeypatch) -> list[set[int]]:
    """The GL accounts each up-front lock asked for."""
    asked: list[set[int]] = []
    real = journal.ledger_rows_lock

    def spy(*, firm, account_ids, trust_pairs):
        asked.append(set(account_ids))
        return real(firm=firm, account_ids=account_ids, trust_pairs=trust_pairs)

    monkeypatch.setattr(invoices, "ledger_rows_lock", spy)
    return asked


@pytest.mark.parametrize("from_trust", [True, False])
def test_a_released_invoice_locks_every_account_it_posts_to_first(
    firm, admin, attorney, trust, client_file, locked, from_trust
):
    books_open(firm, admin)
    deposit(firm, admin, trust, client_file, 500_000, on=D)
    code = firm.activity_codes.get(code="E101")
    [(invoice, _)] = invoices.invoices_create(
        firm=firm,
        actor=admin,
        requests=[
            InvoiceRequest(
                file_id=client_file.pk,
                invoice_date=D,
                pay_from_trust=from_trust,
                release="auto",
                lines=[
                    LineSpec(
                        kind="fee",
                        description="Fee",
                        amount_cents=100_000,
                        timekeeper_id=attorney.pk,
                    ),
                    LineSpec(
                        kind="cost",
                        description="Copies",
                        amount_cents=1_250,
                        activity_code_id=code.pk,
                    ),
                ],
            )
        ],
    )
    posted = set(Posting.objects.filter(entry=invoice.entry).values_list("account_id", flat=True))
    assert posted <= locked[0]
    roles = set(
        GLAccount.objects.filter(pk__in=posted).exclude(role="").values_list("role", flat=True)
    )
    assert AccountRole.FEE_INCOME in roles
    assert (AccountRole.ACCOUNTS_RECEIVABLE in roles) is not from_trust
