"""Roles on the books' screens (issue 13): a correction's pop-up (void a check, a receipt,
an invoice; unmatch or record a statement line) is 403 for staff, GET and POST, naming the
role needed, and writes nothing; the Users screen sets a role (audited)."""

from __future__ import annotations

import datetime as dt
import html as htmllib

import pytest
from django.test import Client
from django.urls import reverse

from casebridge.books.models import Role, User
from casebridge.books.services import auth, checks, invoices
from casebridge.core.models import AuditEvent
from tests.books.bank.statement_files import Row, import_statement
from tests.books.ledger_helpers import books_open, snapshot
from tests.books.test_invoices import cost
from tests.conftest import PASSWORD

from .conftest import HX, sign_in, text

pytestmark = pytest.mark.django_db

D = dt.date(2026, 3, 2)


@pytest.fixture
def staff(firm) -> User:
    user = auth.user_create(firm=firm, email="stan@smith.test", password=PASSWORD, role=Role.STAFF)
    return auth.security_question_enroll(user=user, question="First pet?", answer="Rex")


@pytest.fixture
def staff_client(staff) -> Client:
    return sign_in(Client(), staff)


@pytest.fixture
def corrections(firm, admin, trust, client_file) -> dict[str, tuple[str, dict[str, str]]]:
    """Each correction's screen URL and a valid POST for it."""
    books_open(firm, admin)
    receipt = checks.trust_receipt_record(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        file_id=client_file.pk,
        payer="Acme Insurance",
        amount_cents=50_000,
        received_on=D,
    )
    check = checks.check_request_create(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        payee="Maria Lopez",
        amount_cents=10_000,
        file_id=client_file.pk,
        request_date=D,
    )
    code = firm.activity_codes.get(code="E101")
    invoice = invoices.invoice_create(
        firm=firm, actor=admin, file_id=client_file.pk, lines=[cost(code.pk)], invoice_date=D
    )
    _, (line,) = import_statement(
        firm, admin, trust, [Row(D, -1_250)], start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31)
    )
    void = {"void_date": "2026-03-03", "reason": "Wrong payee"}
    return {
        "Voiding a check": (reverse("books:check_void", args=[check.pk]), void),
        "Voiding a trust receipt": (reverse("books:receipt_void", args=[receipt.pk]), void),
        "Voiding an invoice": (reverse("books:invoice_void", args=[invoice.pk]), void),
        "Recording a statement line": (
            reverse("books:line_record", args=[line.pk]),
            {"file": client_file.number, "memo": "Bank fee"},
        ),
        "Unmatching a statement line": (
            reverse("books:line_unmatch", args=[line.pk]),
            {"reason": "wrong"},
        ),
    }


def test_staff_are_refused_every_correction_screen(staff_client, corrections):
    for doing, (url, data) in corrections.items():
        before = snapshot()
        for response in (staff_client.get(url, **HX), staff_client.post(url, data, **HX)):
            assert response.status_code == 403, (doing, response.status_code)
            page = htmllib.unescape(text(response))
            assert (
                f"{doing} needs the accountant role (or administrator); your role is staff. "
                "Ask an administrator."
            ) in page
            assert "Accountants and above only" in page
        assert snapshot() == before, doing


def test_an_accountant_opens_and_uses_them(client, firm, corrections):
    accountant = auth.user_create(firm=firm, email="acc@smith.test", password=PASSWORD)
    auth.security_question_enroll(user=accountant, question="First pet?", answer="Rex")
    sign_in(client, accountant)
    for doing, (url, _data) in corrections.items():
        assert client.get(url, **HX).status_code == 200, doing
    url, data = corrections["Voiding a check"]
    assert client.post(url, data, **HX).status_code in (200, 204)
    assert "voided" in AuditEvent.objects.filter(entity_type="check").values_list(
        "after__status", flat=True
    )


def test_the_users_screen_sets_a_role_and_audits_it(admin_client, admin, staff):
    edit = text(admin_client.get(reverse("books:user_edit", args=[staff.pk]), **HX))
    assert '<option value="staff" selected>Staff</option>' in edit
    response = admin_client.post(
        reverse("books:user_edit", args=[staff.pk]),
        {
            "first_name": staff.first_name,
            "last_name": staff.last_name,
            "email": staff.email,
            "initials": staff.initials,
            "role": "accountant",
            "is_active": "on",
            "tab": "general",
        },
        **HX,
    )
    assert response.status_code == 200
    assert f'<tr id="user-row-{staff.pk}" hx-swap-oob="true"' in text(response)
    assert '<span data-col="role">Accountant</span>' in text(response)
    staff.refresh_from_db()
    assert (staff.role, staff.is_admin) == ("accountant", False)
    event = AuditEvent.objects.filter(action="change", entity_type="user").get()
    assert (event.actor_id, event.before, event.after) == (
        admin.pk,
        {"role": "staff", "is_admin": False},
        {"role": "accountant", "is_admin": False},
    )


def test_an_unknown_role_is_a_form_error(admin_client, staff):
    response = admin_client.post(
        reverse("books:user_edit", args=[staff.pk]),
        {"email": staff.email, "role": "owner", "is_active": "on", "tab": "general"},
        **HX,
    )
    assert response.status_code == 422
    assert "Select a valid choice. owner is not one of the available choices." in text(response)
    staff.refresh_from_db()
    assert staff.role == "staff"


def test_adding_a_staff_user(admin_client, firm):
    response = admin_client.post(
        reverse("books:user_new"),
        {"email": "sue@smith.test", "password": "temporary-pass-1", "role": "staff"},
        **HX,
    )
    assert response["HX-Redirect"] == reverse("books:users")
    user = User.objects.get(email="sue@smith.test")
    assert (user.role, user.is_admin) == ("staff", False)
    event = AuditEvent.objects.filter(action="create", entity_type="user", entity_id=user.pk).get()
    assert event.after["role"] == "staff"
