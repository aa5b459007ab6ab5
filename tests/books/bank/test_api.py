"""The bank reconciliation over the books API: match, set aside, reconcile, sign as an
attorney, download the PDF and CSV, then a back-dated receipt is refused 409; another
firm's ids are 404 and bad input 422, with nothing written."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest

from casebridge.books.models import BankAccount, ClearedItem, Reconciliation, StatementLine
from casebridge.books.services import auth
from tests.books.api.conftest import ApiClient, issue_token
from tests.books.bank.statement_files import Row, import_statement
from tests.books.ledger_helpers import deposit, snapshot, trust_check

pytestmark = pytest.mark.django_db

MAR = dt.date(2026, 3, 1)
END = dt.date(2026, 3, 31)


def d(day: int, month: int = 3) -> dt.date:
    return dt.date(2026, month, day)


@pytest.fixture
def month(firm, admin, opened, trust, client_file):
    deposit(firm, admin, trust, client_file, 10_000_000, on=d(2))
    trust_check(firm, admin, trust, client_file, 100_000, on=d(20), payee="Maria Lopez")
    _, lines = import_statement(
        firm,
        admin,
        trust,
        [Row(d(3), 10_000_000), Row(d(31), -1_250, text="MONTHLY SERVICE FEE")],
        start=MAR,
        end=END,
    )
    return lines


@pytest.fixture
def signer_api(client, signer) -> ApiClient:
    auth.security_question_enroll(user=signer, question="First car?", answer="Beetle")
    return ApiClient(client, issue_token("smith-pi", signer.email))


def test_the_month_through_the_api(api, signer_api, trust, client_file, month, tmp_path):
    matched = api.post(f"/bank-accounts/{trust.pk}/auto-match")
    assert matched.status == 200
    assert matched.body == {
        "lines_considered": 2,
        "lines_matched": 1,
        "items_cleared": 1,
        "lines_proposed": 0,
        "lines_left": 1,
        "lines_in_closed_months": 0,
    }
    unmatched = api.get(f"/bank-accounts/{trust.pk}/statement-lines", {"status": "unmatched"})
    assert [(x["amount"], x["description"]) for x in unmatched.body["items"]] == [
        ("-12.50", "MONTHLY SERVICE FEE")
    ]
    fee_id = unmatched.body["items"][0]["id"]
    aside = api.post(f"/statement-lines/{fee_id}/set-aside", {"note": "Refund asked"})
    assert (aside.status, aside.body["status"], aside.body["note"]) == (
        200,
        "reconciling",
        "Refund asked",
    )
    # set aside on a trust account it stops the month: recorded to the client ledger instead
    set_aside = api.get(f"/bank-accounts/{trust.pk}/reconciliation", {"month": "2026-03"})
    assert set_aside.body["is_reconciled"] is False
    assert api.post(f"/statement-lines/{fee_id}/unmatch", {"reason": ""}).status == 200
    recorded = api.post(
        f"/statement-lines/{fee_id}/record",
        {"file_id": client_file.pk, "memo": "Returned item fee"},
    )
    assert (recorded.status, recorded.body["status"]) == (200, "matched")

    live = api.get(f"/bank-accounts/{trust.pk}/reconciliation", {"month": "2026-03"})
    assert live.status == 200
    assert {
        k: live.body[k]
        for k in (
            "statement_balance",
            "deposits_in_transit",
            "outstanding_checks",
            "reconciling_items",
            "adjusted_bank_balance",
            "journal_balance",
            "client_ledgers_total",
            "difference",
            "is_reconciled",
        )
    } == {
        "statement_balance": "99987.50",
        "deposits_in_transit": "0.00",
        "outstanding_checks": "1000.00",
        "reconciling_items": "0.00",
        "adjusted_bank_balance": "98987.50",
        "journal_balance": "98987.50",
        "client_ledgers_total": "98987.50",
        "difference": "0.00",
        "is_reconciled": True,
    }
    assert [
        (x["kind"], x["description"], x["amount"]) for x in live.body["outstanding_check_items"]
    ] == [("check", "Maria Lopez", "-1000.00")]

    prepared = api.post(f"/bank-accounts/{trust.pk}/reconciliations", {"month": "2026-03"})
    assert (prepared.status, prepared.body["status"]) == (201, "prepared")
    rec_id = prepared.body["id"]

    refused = api.post(f"/reconciliations/{rec_id}/sign")
    assert (refused.status, refused.error["code"]) == (403, "permission_denied")
    assert BankAccount.objects.get(pk=trust.pk).closed_through is None

    signed = signer_api.post(f"/reconciliations/{rec_id}/sign")
    assert (signed.status, signed.body["status"], signed.body["signed_by"]) == (
        200,
        "signed",
        "partner@smith.test",
    )
    history = api.get(f"/bank-accounts/{trust.pk}/reconciliations").body
    assert [(r["id"], r["status"]) for r in history["items"]] == [(rec_id, "signed")]

    csv_reply = api.client.get(
        f"/books/api/v1/reconciliations/{rec_id}/csv/client_ledgers",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert csv_reply.status_code == 200
    assert csv_reply.content.decode() == (
        f"File,Matter,Balance\r\n{client_file.number},{client_file.name},98987.50\r\n"
    )

    pdf = api.client.get(
        f"/books/api/v1/reconciliations/{rec_id}/pdf",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    if shutil.which("pdftotext"):
        path = tmp_path / "rec.pdf"
        path.write_bytes(pdf.content)
        text = subprocess.run(  # noqa: S603 - a fixed command on a file the test wrote
            ["pdftotext", "-layout", str(path), "-"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for shown in (
            "reconciliation for March 2026",
            "$99,987.50",
            "$98,987.50",
            "Maria Lopez",
            client_file.number,
            "Signed by Pat Partner, attorney",
        ):
            assert shown in text, shown

    # a back-dated receipt into the signed month: 409, nothing written
    before = snapshot()
    late = api.post(
        "/trust-receipts",
        {
            "bank_account_id": trust.pk,
            "file_id": client_file.pk,
            "payer": "Acme",
            "amount": "10.00",
            "received_on": "2026-03-15",
        },
    )
    assert (late.status, late.error["code"]) == (409, "period_closed")
    assert "closed through 2026-03-31" in late.error["message"]
    assert snapshot() == before

    # an administrator reopens it, with a reason
    reopened = api.post(
        f"/bank-accounts/{trust.pk}/reopen", {"month": "2026-03", "reason": "Late deposit"}
    )
    assert reopened.body == {
        "bank_account_id": trust.pk,
        "closed_through": None,
        "superseded": [rec_id],
    }


def test_matching_by_hand_and_back(api, firm, admin, opened, trust, client_file):
    receipt = deposit(firm, admin, trust, client_file, 12_345, on=d(2))
    _, (line,) = import_statement(firm, admin, trust, [Row(d(3), 12_345)], start=MAR, end=END)
    item = receipt.entry.postings.get(account_id=trust.gl_account_id).pk

    wrong = api.post(f"/statement-lines/{line.pk}/match", {"items": [item + 10_000]})
    assert (wrong.status, wrong.error["field"]) == (422, "items")
    empty = api.post(f"/statement-lines/{line.pk}/match", {"items": []})
    assert empty.status == 422

    ok = api.post(f"/statement-lines/{line.pk}/match", {"items": [item]})
    assert ok.status == 200
    assert [(c["posting_id"], c["amount"], c["how"]) for c in ok.body["cleared"]] == [
        (item, "123.45", "manual")
    ]
    back = api.post(f"/statement-lines/{line.pk}/unmatch", {"reason": "wrong"})
    assert (back.body["status"], back.body["cleared"]) == ("unmatched", [])
    assert ClearedItem.objects.count() == 0


def test_another_firms_lines_and_accounts_are_404_and_bad_months_422(
    api, firm, admin, opened, trust, other_firm
):
    _, (line,) = import_statement(firm, admin, trust, [Row(d(3), 100)], start=MAR, end=END)
    other_bank = BankAccount.objects.filter(firm=other_firm).first()
    assert other_bank is not None
    assert api.post(f"/bank-accounts/{other_bank.pk}/auto-match").status == 404
    assert api.get(f"/bank-accounts/{other_bank.pk}/outstanding").status == 404
    bad = api.get(f"/bank-accounts/{trust.pk}/reconciliation", {"month": "2026-13"})
    assert (bad.status, bad.error["field"]) == (422, "month")
    assert api.get(f"/bank-accounts/{trust.pk}/reconciliation", {"month": "March"}).status == 422
    assert api.post("/reconciliations/999999/sign").status == 404
    aside = api.post(f"/statement-lines/{line.pk}/set-aside", {"note": ""})
    assert (aside.status, aside.error["field"]) == (422, "note")
    assert StatementLine.objects.get(pk=line.pk).status == "unmatched"
    assert Reconciliation.objects.count() == 0


def test_the_firm_wide_close_over_the_api(api, opened):
    closed = api.post("/periods/close", {"through": "2026-02-28"})
    assert (closed.status, closed.body["closed_through"]) == (200, "2026-02-28")
    no_reason = api.post("/periods/reopen", {"through": None, "reason": " "})
    assert (no_reason.status, no_reason.error["field"]) == (422, "reason")
    reopened = api.post("/periods/reopen", {"through": None, "reason": "Late bill"})
    assert reopened.body["closed_through"] is None


def test_ids_too_large_for_the_database_are_refused_422(api, firm, admin, opened, trust):
    _, (line,) = import_statement(firm, admin, trust, [Row(d(3), 100)], start=MAR, end=END)
    huge = api.post(f"/statement-lines/{line.pk}/match", {"items": [10**20]})
    assert (huge.status, huge.error["field"]) == (422, "items[0]")
    record = api.post(f"/statement-lines/{line.pk}/record", {"file_id": 10**20})
    assert record.status == 422
    assert ClearedItem.objects.count() == 0
