"""Roles through the books API (issue 13): a token acts with its user's role as it is at
each request; a staff token's corrections are 403 ``role_required`` naming the role
needed, with nothing written; the user API shows the role."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.books.models import (
    Check,
    ClearedItem,
    IdempotencyRecord,
    Invoice,
    InvoiceStage,
    Role,
    StatementLine,
    StatementLineStatus,
    TrustReceipt,
    User,
)
from casebridge.books.services import auth, invoices
from tests.books.api.conftest import ApiClient, issue_token
from tests.books.bank.statement_files import Row, import_statement
from tests.books.ledger_helpers import books_open, deposit, snapshot, trust_check
from tests.books.test_invoices import cost
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

D = dt.date(2026, 3, 2)


@pytest.fixture
def staff(firm) -> User:
    user = auth.user_create(firm=firm, email="stan@smith.test", password=PASSWORD, role=Role.STAFF)
    return auth.security_question_enroll(user=user, question="First pet?", answer="Rex")


@pytest.fixture
def staff_api(client, staff) -> ApiClient:
    return ApiClient(client, issue_token("smith-pi", staff.email))


@pytest.fixture
def money(firm, admin, trust, client_file):
    books_open(firm, admin)
    receipt = deposit(firm, admin, trust, client_file, 50_000, on=D)
    check = trust_check(firm, admin, trust, client_file, 10_000, on=D)
    code = firm.activity_codes.get(code="E101")
    invoice = invoices.invoice_create(
        firm=firm, actor=admin, file_id=client_file.pk, lines=[cost(code.pk)], invoice_date=D
    )
    return {"receipt": receipt, "check": check, "invoice": invoice}


def refused_role(reply, doing: str) -> None:
    assert reply.status == 403, reply.body
    assert reply.body == {
        "error": {
            "code": "role_required",
            "message": f"{doing} needs the accountant role (or administrator); your role is staff",
            "details": {"required_role": "accountant", "role": "staff"},
        }
    }


@pytest.mark.parametrize(
    ("path", "doing"),
    [
        ("/checks/{check}/void", "Voiding a check"),
        ("/trust-receipts/{receipt}/void", "Voiding a trust receipt"),
        ("/invoices/{invoice}/void", "Voiding an invoice"),
    ],
)
def test_a_staff_token_cannot_void(staff_api, money, path, doing):
    before = snapshot()
    ids = {name: obj.pk for name, obj in money.items()}
    reply = staff_api.post(path.format(**ids), {"reason": "typo"}, key="void-1")
    refused_role(reply, doing)
    assert snapshot() == before
    assert IdempotencyRecord.objects.count() == 0
    assert Check.objects.get().status == "queued"
    assert TrustReceipt.objects.get().status == "posted"
    assert Invoice.objects.get().stage == InvoiceStage.DRAFT


def test_reversing_by_api_stays_for_administrators(staff, staff_api, money):
    """The API's reverse was administrators only before roles, stricter than the
    accountant role a correction needs: staff and accountants both hear that."""
    entry = money["receipt"].entry
    for role in (Role.STAFF, Role.ACCOUNTANT):
        User.objects.filter(pk=staff.pk).update(role=role)
        before = snapshot()
        reply = staff_api.post(f"/journal-entries/{entry.pk}/reverse", {"date": "2026-03-03"})
        assert (reply.status, reply.error["code"]) == (403, "admin_required")
        assert snapshot() == before


def test_a_staff_token_cannot_record_or_unmatch_a_line(firm, admin, api, staff_api, money, trust):
    _, (fee,) = import_statement(
        firm, admin, trust, [Row(D, -1_250)], start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31)
    )
    file_id = money["receipt"].file_id
    before = snapshot()
    reply = staff_api.post(f"/statement-lines/{fee.pk}/record", {"file_id": file_id})
    refused_role(reply, "Recording a statement line")
    assert snapshot() == before
    assert StatementLine.objects.get().status == StatementLineStatus.UNMATCHED

    assert api.post(f"/statement-lines/{fee.pk}/record", {"file_id": file_id}).status == 200
    before = snapshot()
    reply = staff_api.post(f"/statement-lines/{fee.pk}/unmatch", {"reason": "wrong file"})
    refused_role(reply, "Unmatching a statement line")
    assert snapshot() == before
    assert StatementLine.objects.get().status == StatementLineStatus.MATCHED
    assert ClearedItem.objects.count() == 1


def test_a_promotion_and_a_demotion_apply_to_the_same_token_at_once(staff, staff_api, money):
    check = money["check"]
    refused_role(staff_api.post(f"/checks/{check.pk}/void", {"reason": "x"}), "Voiding a check")
    User.objects.filter(pk=staff.pk).update(role=Role.ACCOUNTANT)
    reply = staff_api.post(f"/checks/{check.pk}/void", {"reason": "x"})
    assert (reply.status, reply.body["status"]) == (200, "voided")

    User.objects.filter(pk=staff.pk).update(role=Role.STAFF)
    receipt = money["receipt"]
    refused_role(
        staff_api.post(f"/trust-receipts/{receipt.pk}/void", {"reason": "x"}),
        "Voiding a trust receipt",
    )
    assert TrustReceipt.objects.get().status == "posted"


def test_the_user_api_shows_each_role(api, admin, staff):
    reply = api.get("/users")
    assert [(u["email"], u["role"], u["is_admin"]) for u in reply.body["items"]] == [
        ("admin@smith.test", "administrator", True),
        ("stan@smith.test", "staff", False),
    ]
    assert api.get(f"/users/{staff.pk}").body["role"] == "staff"
    assert api.get("/auth/session").body["user"]["role"] == "administrator"
