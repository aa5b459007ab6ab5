"""Books roles (issue 13): corrections need an accountant or an administrator, in the
services themselves; staff are refused with the role named and nothing written. Users get
their role from ``user_create`` / ``user_update``, which keep ``is_admin`` with it."""

from __future__ import annotations

import datetime as dt
from importlib import import_module

import pytest
from django.db import IntegrityError, transaction

from casebridge.books.errors import RoleRequired, ValidationFailed
from casebridge.books.models import (
    CheckStatus,
    InvoiceStage,
    JournalEntry,
    ReceiptStatus,
    Role,
    StatementLineStatus,
    User,
)
from casebridge.books.roles import CORRECTIONS, has_role
from casebridge.books.services import auth, checks, invoices, journal, matching
from casebridge.core.models import AuditEvent
from tests.books.bank.statement_files import Row, import_statement
from tests.books.ledger_helpers import books_open, deposit, refused, trust_check
from tests.books.test_invoices import cost
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

D = dt.date(2026, 3, 2)


@pytest.fixture
def staff(firm) -> User:
    user = auth.user_create(
        firm=firm,
        email="stan@smith.test",
        password=PASSWORD,
        first_name="Stan",
        last_name="Staff",
        role=Role.STAFF,
    )
    return auth.security_question_enroll(user=user, question="First pet?", answer="Rex")


@pytest.fixture
def accountant(firm) -> User:
    user = auth.user_create(firm=firm, email="acc@smith.test", password=PASSWORD)
    return auth.security_question_enroll(user=user, question="First pet?", answer="Rex")


def message(doing: str) -> str:
    return f"{doing} needs the accountant role (or administrator); your role is staff"


def test_roles_rank_administrator_over_accountant_over_staff(admin, accountant, staff):
    assert (admin.role, accountant.role, staff.role) == ("administrator", "accountant", "staff")
    assert [has_role(u, CORRECTIONS) for u in (admin, accountant, staff)] == [True, True, False]
    assert [has_role(u, Role.ADMINISTRATOR) for u in (admin, accountant, staff)] == [
        True,
        False,
        False,
    ]


def test_staff_cannot_void_a_check(firm, admin, staff, trust, client_file):
    books_open(firm, admin)
    deposit(firm, admin, trust, client_file, 50_000, on=D)
    check = trust_check(firm, admin, trust, client_file, 10_000, on=D)
    with refused(RoleRequired, code="role_required") as info:
        checks.check_void(firm=firm, actor=staff, check_id=check.pk, reason="typo")
    assert info.value.message == message("Voiding a check")
    assert info.value.http_status == 403
    assert info.value.details == {"required_role": "accountant", "role": "staff"}
    check.refresh_from_db()
    assert (check.status, check.void_entry_id) == (CheckStatus.QUEUED, None)


def test_an_accountant_voids_a_check(firm, admin, accountant, trust, client_file):
    books_open(firm, admin)
    deposit(firm, admin, trust, client_file, 50_000, on=D)
    check = trust_check(firm, admin, trust, client_file, 10_000, on=D)
    voided = checks.check_void(firm=firm, actor=accountant, check_id=check.pk, reason="typo")
    assert voided.status == CheckStatus.VOIDED
    assert voided.void_entry is not None


def test_staff_cannot_void_a_trust_receipt(firm, admin, staff, trust, client_file):
    books_open(firm, admin)
    receipt = deposit(firm, admin, trust, client_file, 50_000, on=D)
    with refused(RoleRequired, code="role_required") as info:
        checks.trust_receipt_void(firm=firm, actor=staff, receipt_id=receipt.pk)
    assert info.value.message == message("Voiding a trust receipt")
    receipt.refresh_from_db()
    assert (receipt.status, receipt.void_entry_id) == (ReceiptStatus.POSTED, None)


def test_staff_cannot_void_an_invoice(firm, admin, staff, client_file):
    books_open(firm, admin)
    code = firm.activity_codes.get(code="E101")
    invoice = invoices.invoice_create(
        firm=firm, actor=admin, file_id=client_file.pk, lines=[cost(code.pk)], invoice_date=D
    )
    with refused(RoleRequired, code="role_required") as info:
        invoices.invoice_void(firm=firm, actor=staff, invoice_id=invoice.pk, reason="wrong")
    assert info.value.message == message("Voiding an invoice")
    invoice.refresh_from_db()
    assert invoice.stage == InvoiceStage.DRAFT


def test_staff_cannot_reverse_a_journal_entry(firm, admin, staff, operating):
    books_open(firm, admin)
    income = firm.gl_accounts.get(number="4000")
    entry = journal.journal_entry_post(
        firm=firm,
        date=D,
        lines=[
            journal.Line(account=operating.gl_account, debit_cents=5_000),
            journal.Line(account=income, credit_cents=5_000),
        ],
        actor=admin,
    )
    with refused(RoleRequired, code="role_required") as info:
        journal.journal_entry_reverse(firm=firm, entry=entry, date=D, actor=staff)
    assert info.value.message == message("Reversing a journal entry")
    assert not JournalEntry.objects.filter(reverses=entry).exists()


def test_staff_cannot_record_or_unmatch_a_statement_line(firm, admin, staff, trust, client_file):
    books_open(firm, admin)
    deposit(firm, admin, trust, client_file, 10_000, on=D)
    _, (fee,) = import_statement(
        firm, admin, trust, [Row(D, -1_250)], start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31)
    )
    with refused(RoleRequired, code="role_required") as info:
        matching.line_record(firm=firm, actor=staff, line_id=fee.pk, file_id=client_file.pk)
    assert info.value.message == message("Recording a statement line")
    fee.refresh_from_db()
    assert fee.status == StatementLineStatus.UNMATCHED

    matching.line_record(firm=firm, actor=admin, line_id=fee.pk, file_id=client_file.pk)
    with refused(RoleRequired, code="role_required") as info:
        matching.line_unmatch(firm=firm, actor=staff, line_id=fee.pk, reason="wrong file")
    assert info.value.message == message("Unmatching a statement line")
    fee.refresh_from_db()
    assert fee.status == StatementLineStatus.MATCHED


def test_staff_may_still_match_and_set_aside(firm, admin, staff, trust, client_file):
    """Only corrections are kept from staff: setting a line aside is not one."""
    books_open(firm, admin)
    _, (fee,) = import_statement(
        firm, admin, trust, [Row(D, -1_250)], start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31)
    )
    line = matching.line_set_aside(firm=firm, actor=staff, line_id=fee.pk, note="bank error")
    assert line.status == StatementLineStatus.RECONCILING


def test_the_system_itself_is_not_refused(firm, admin, trust, client_file):
    """No actor (a task, a command): no role to check."""
    books_open(firm, admin)
    receipt = deposit(firm, admin, trust, client_file, 50_000, on=D)
    voided = checks.trust_receipt_void(firm=firm, actor=None, receipt_id=receipt.pk)
    assert voided.status == ReceiptStatus.VOIDED


# --- users and their roles ---------------------------------------------------------------


def test_a_new_user_is_an_accountant_unless_made_otherwise(firm, admin):
    made = [
        auth.user_create(firm=firm, email=f"u{k}@smith.test", password=PASSWORD, **kw)
        for k, kw in enumerate(
            [{}, {"is_admin": True}, {"role": "staff"}, {"role": Role.ADMINISTRATOR}]
        )
    ]
    assert [(u.role, u.is_admin) for u in made] == [
        ("accountant", False),
        ("administrator", True),
        ("staff", False),
        ("administrator", True),
    ]


def test_an_unknown_role_is_refused(firm):
    with refused(ValidationFailed, code="validation_error") as info:
        auth.user_create(firm=firm, email="x@smith.test", password=PASSWORD, role="owner")
    assert info.value.message == (
        "unknown role 'owner'; choose one of administrator, accountant, staff"
    )
    assert info.value.field == "role"


def test_changing_a_role_keeps_the_admin_flag_with_it_and_is_audited(firm, admin, accountant):
    user = auth.user_update(user=accountant, actor=admin, role="administrator")
    assert (user.role, user.is_admin) == ("administrator", True)
    user = auth.user_update(user=user, actor=admin, role="staff")
    assert (user.role, user.is_admin) == ("staff", False)
    user = auth.user_update(user=user, actor=admin, is_admin=True)
    assert (user.role, user.is_admin) == ("administrator", True)
    user = auth.user_update(user=user, actor=admin, is_admin=False)
    assert (user.role, user.is_admin) == ("accountant", False)
    changes = AuditEvent.objects.filter(action="change", entity_type="user").order_by("pk")
    assert [(e.before, e.after) for e in changes] == [
        (
            {"role": "accountant", "is_admin": False},
            {"role": "administrator", "is_admin": True},
        ),
        (
            {"role": "administrator", "is_admin": True},
            {"role": "staff", "is_admin": False},
        ),
        (
            {"is_admin": False, "role": "staff"},
            {"is_admin": True, "role": "administrator"},
        ),
        (
            {"is_admin": True, "role": "administrator"},
            {"is_admin": False, "role": "accountant"},
        ),
    ]


def test_an_administrator_cannot_demote_themselves(firm, admin):
    with refused(ValidationFailed, code="validation_error") as info:
        auth.user_update(user=admin, actor=admin, role="accountant")
    assert (info.value.message, info.value.field) == (
        "you cannot remove your own administrator role",
        "role",
    )
    admin.refresh_from_db()
    assert (admin.role, admin.is_admin) == ("administrator", True)


def test_the_database_holds_the_admin_flag_to_the_administrator_role(firm, accountant):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=accountant.pk).update(is_admin=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=accountant.pk).update(role="owner")


def test_the_migration_keeps_administrators_and_makes_everyone_else_an_accountant(
    firm, admin, staff, accountant
):
    """Migration 0012's data step, run over users as they stand (staff included, as a
    user who was not an administrator before roles)."""
    from django.apps import apps

    step = import_module("casebridge.books.migrations.0012_user_role").roles_from_admin_flag
    step(apps, None)
    assert sorted(User.objects.values_list("email", "role", "is_admin")) == [
        ("acc@smith.test", "accountant", False),
        ("admin@smith.test", "administrator", True),
        ("stan@smith.test", "accountant", False),
    ]
