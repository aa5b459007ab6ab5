"""A client's trust is never below zero on any date, as an outside client sees it: a trust
check dated before the money arrived is refused (409, naming what was available on its
date), writes nothing, and the client ledger report and the trial balance as of any date
never show the client's trust below zero (ADR 0011)."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.books.models import AccountRole, TrustLedger
from casebridge.books.services import checks
from tests.books.api.conftest import row_counts
from tests.books.ledger_helpers import books_open
from tests.conftest import account

DEPOSITED_ON = dt.date(2026, 3, 10)


@pytest.fixture(autouse=True)
def opened(firm, admin) -> None:
    """The books open on Jan 1 (ADR 0007): a check dated before the deposit reaches the
    trust rule, not the date window."""
    books_open(firm, admin)


def deposit_500(firm, admin, trust, file) -> None:
    checks.trust_receipt_record(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        file_id=file.pk,
        payer="Acme Insurance",
        amount_cents=50_000,
        received_on=DEPOSITED_ON,
    )


def trust_check(trust, file, amount: str, on: dt.date) -> dict[str, object]:
    return {
        "bank_account_id": trust.pk,
        "payee": "Valley Medical",
        "amount": amount,
        "file_id": file.pk,
        "request_date": on.isoformat(),
    }


def running_balances(api, file) -> list[tuple[str, str]]:
    """(date, running balance) of every line of the file's client trust ledger report."""
    [ledger] = api.get(f"/files/{file.pk}/trust-ledger").body["ledgers"]
    return [(line["date"], line["balance"]) for line in ledger["lines"]]


def trust_bank_row(api, firm, as_of: dt.date) -> list[dict[str, object]]:
    trust_bank = account(firm, AccountRole.TRUST_BANK)
    rows = api.get("/reports/trial-balance", {"as_of": as_of.isoformat()}).body["rows"]
    return [row for row in rows if row["account_id"] == trust_bank.pk]


def test_a_trust_check_dated_before_the_only_deposit_is_refused_and_writes_nothing(
    api, firm, admin, trust, client_file
):
    deposit_500(firm, admin, trust, client_file)
    before = row_counts()

    reply = api.post("/checks", trust_check(trust, client_file, "200.00", dt.date(2026, 3, 1)))

    assert reply.status == 409
    assert reply.error["code"] == "insufficient_trust_funds"
    assert reply.error["details"] == {
        "available": "0.00",
        "requested": "200.00",
        "file_id": client_file.pk,
        "date": "2026-03-01",
    }
    assert reply.error["message"] == (
        f"file {client_file.number} has $0.00 available in trust on 2026-03-01 "
        "(it has $500.00 available from 2026-03-10); $200.00 was requested"
    )
    assert row_counts() == before
    assert TrustLedger.objects.get(file=client_file).balance_cents == 50_000
    assert running_balances(api, client_file) == [("2026-03-10", "500.00")]
    assert trust_bank_row(api, firm, dt.date(2026, 3, 1)) == []  # no trust money yet, no credit


def test_a_trust_check_that_fits_its_date_is_accepted_and_the_ledger_never_goes_below_zero(
    api, firm, admin, trust, client_file
):
    deposit_500(firm, admin, trust, client_file)

    reply = api.post("/checks", trust_check(trust, client_file, "200.00", dt.date(2026, 3, 12)))

    assert reply.status == 201, reply.body
    assert reply.body["request_date"] == "2026-03-12"
    assert running_balances(api, client_file) == [
        ("2026-03-10", "500.00"),
        ("2026-03-12", "300.00"),
    ]
    assert trust_bank_row(api, firm, dt.date(2026, 3, 11))[0]["debit"] == "500.00"
    assert trust_bank_row(api, firm, dt.date(2026, 3, 12))[0]["debit"] == "300.00"
