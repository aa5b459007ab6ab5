"""The API twins of the set-up screens (issue 14): users, features, areas of practice,
activity codes and GL accounts are written through the API by an administrator, with the
screens' rules and audit trail; anyone else is 403 ``admin_required`` with nothing
written; a security question is enrolled before the first session."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.books.models import (
    AccountRole,
    ActivityCode,
    AreaOfPractice,
    Firm,
    GLAccount,
    Role,
    User,
)
from casebridge.books.services import auth
from casebridge.core.models import AuditEvent
from tests.books.api.conftest import ApiClient, issue_token
from tests.books.ledger_helpers import books_open, deposit
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def accountant(firm) -> User:
    user = auth.user_create(
        firm=firm, email="acc@smith.test", password=PASSWORD, role=Role.ACCOUNTANT
    )
    return auth.security_question_enroll(user=user, question="First pet?", answer="Rex")


@pytest.fixture
def accountant_api(client, accountant) -> ApiClient:
    return ApiClient(client, issue_token("smith-pi", accountant.email))


def _audits(entity_type: str) -> list[tuple[str, str]]:
    return list(
        AuditEvent.objects.filter(system="books", entity_type=entity_type)
        .order_by("pk")
        .values_list("action", "summary")
    )


# --- Users ------------------------------------------------------------------------------------


def test_an_administrator_adds_a_user_and_turns_records_time_on(api, firm):
    created = api.post(
        "/users",
        {
            "email": "Nina@Smith.test",
            "temporary_password": "a long temporary one",
            "first_name": "Nina",
            "last_name": "North",
            "role": "staff",
        },
        key="user-1",
    )
    assert created.status == 201, created.body
    assert created.body == {
        "id": created.body["id"],
        "email": "Nina@Smith.test",
        "initials": "NN",
        "first_name": "Nina",
        "last_name": "North",
        "is_admin": False,
        "role": "staff",
        "records_time": False,
        "is_active": True,
        "is_integration_user": False,
    }
    user_id = created.body["id"]

    changed = api.patch(f"/users/{user_id}", {"records_time": True, "initials": "NIN"})
    assert changed.status == 200, changed.body
    assert (changed.body["records_time"], changed.body["initials"]) == (True, "NIN")
    user = User.objects.get(pk=user_id)
    assert (user.records_time, user.initials, user.role) == (True, "NIN", Role.STAFF)
    assert [a for a, _ in _audits("user")][-1] == "change"
    # the temporary password is replaced at the first sign-in
    assert user.must_change_password


def test_a_user_is_deactivated_not_deleted_and_the_refusals_name_the_field(api, admin, firm):
    other = auth.user_create(firm=firm, email="bo@smith.test", password=PASSWORD)
    assert api.patch(f"/users/{other.pk}", {"is_active": False}).body["is_active"] is False
    assert User.objects.filter(pk=other.pk, is_active=False).exists()

    taken = api.patch(f"/users/{other.pk}", {"email": "ADMIN@smith.test"})
    assert taken.status == 422
    assert taken.error["field"] == "email"
    assert taken.error["message"] == (
        "a user with email ADMIN@smith.test already exists in this firm"
    )

    myself = api.patch(f"/users/{admin.pk}", {"is_active": False})
    assert myself.status == 422
    assert (myself.error["field"], myself.error["message"]) == (
        "is_active",
        "you cannot deactivate yourself",
    )
    null = api.patch(f"/users/{other.pk}", {"records_time": None})
    assert null.status == 422
    assert User.objects.get(pk=other.pk).email == "bo@smith.test"
    assert User.objects.get(pk=admin.pk).is_active is True


def test_a_user_of_another_firm_is_not_found(api, other_user):
    reply = api.patch(f"/users/{other_user.pk}", {"first_name": "Changed"})
    assert reply.status == 404
    assert User.objects.get(pk=other_user.pk).first_name != "Changed"


# --- Refused to everyone but an administrator -------------------------------------------------


def test_an_accountant_may_change_no_set_up_and_nothing_is_written(accountant_api, admin, firm):
    expense = GLAccount.objects.get(firm=firm, number="5200")
    code = ActivityCode.objects.filter(firm=firm).order_by("pk").first()
    area = AreaOfPractice.objects.create(firm=firm, name="Auto")
    counts = (
        User.objects.count(),
        GLAccount.objects.count(),
        ActivityCode.objects.count(),
        AreaOfPractice.objects.count(),
        AuditEvent.objects.count(),
    )
    replies = [
        accountant_api.post(
            "/users", {"email": "x@smith.test", "temporary_password": "a long temporary one"}
        ),
        accountant_api.patch(f"/users/{admin.pk}", {"records_time": True}),
        accountant_api.put("/features", {"release_invoice_stage_enabled": True}),
        accountant_api.put("/fiscal-year", {"first_month": 7}),
        accountant_api.post("/areas-of-practice", {"name": "Premises"}),
        accountant_api.patch(f"/areas-of-practice/{area.pk}", {"name": "Slip"}),
        accountant_api.post(
            "/activity-codes", {"code": "X1", "name": "X", "gl_account_id": expense.pk}
        ),
        accountant_api.patch(f"/activity-codes/{code.pk}", {"is_active": False}),
        accountant_api.post("/gl-accounts", {"number": "5300", "name": "Rent", "type": "expense"}),
        accountant_api.patch(f"/gl-accounts/{expense.pk}", {"name": "Office"}),
    ]
    assert [(r.status, r.error["code"]) for r in replies] == [(403, "admin_required")] * 10
    assert replies[1].error["message"] == "only a books administrator can change a user"
    assert (
        User.objects.count(),
        GLAccount.objects.count(),
        ActivityCode.objects.count(),
        AreaOfPractice.objects.count(),
        AuditEvent.objects.count(),
    ) == counts
    firm.refresh_from_db()
    assert firm.release_invoice_stage_enabled is False
    assert firm.fiscal_year_start_month == 1
    assert ActivityCode.objects.get(pk=code.pk).is_active is True
    assert GLAccount.objects.get(pk=expense.pk).name == "Office Expenses"


# --- Features and areas of practice -----------------------------------------------------------


def test_features_and_areas_of_practice(api, firm):
    assert api.put("/features", {"release_invoice_stage_enabled": True}).body == {
        "release_invoice_stage_enabled": True
    }
    assert Firm.objects.get(pk=firm.pk).release_invoice_stage_enabled is True
    assert _audits("features") == [("change", "Release invoice stage enabled")]

    area = api.post("/areas-of-practice", {"name": "Auto Accident"}, key="area-1")
    assert area.status == 201
    assert area.body == {"id": area.body["id"], "name": "Auto Accident", "description": ""}
    again = api.post("/areas-of-practice", {"name": "auto accident"})
    assert (again.status, again.error["field"]) == (422, "name")
    renamed = api.patch(f"/areas-of-practice/{area.body['id']}", {"description": "Cars"})
    assert renamed.body == {"id": area.body["id"], "name": "Auto Accident", "description": "Cars"}
    assert AreaOfPractice.objects.filter(firm=firm).count() == 1


# --- Activity codes ---------------------------------------------------------------------------


def test_an_activity_code_is_added_changed_and_deactivated(api, firm):
    expense = GLAccount.objects.get(firm=firm, number="5200")
    created = api.post(
        "/activity-codes",
        {
            "code": "MR",
            "name": "Medical records",
            "gl_account_id": expense.pk,
            "utbms_code": "e101",
        },
        key="code-1",
    )
    assert created.status == 201, created.body
    assert (created.body["code"], created.body["utbms_code"], created.body["is_active"]) == (
        "MR",
        "E101",
        True,
    )
    code_id = created.body["id"]
    changed = api.patch(f"/activity-codes/{code_id}", {"name": "Medical records (copies)"})
    assert changed.body["name"] == "Medical records (copies)"
    off = api.patch(f"/activity-codes/{code_id}", {"is_active": False})
    assert off.body["is_active"] is False
    assert ActivityCode.objects.get(pk=code_id).is_active is False
    assert _audits("activity_code")[-2:] == [
        ("change", "Activity code MR changed"),
        ("deactivate", "Activity code MR deactivated"),
    ]


def test_an_activity_code_cannot_post_to_a_bank_or_an_unknown_utbms_code(api, firm):
    code = ActivityCode.objects.filter(firm=firm).order_by("pk").first()
    bank = GLAccount.objects.get(firm=firm, role=AccountRole.TRUST_BANK)
    before = (code.gl_account_id, code.utbms_code)
    to_bank = api.patch(f"/activity-codes/{code.pk}", {"gl_account_id": bank.pk})
    assert (to_bank.status, to_bank.error["field"]) == (422, "gl_account")
    utbms = api.patch(f"/activity-codes/{code.pk}", {"utbms_code": "E999"})
    assert (utbms.status, utbms.error["message"]) == (
        422,
        "E999 is not a UTBMS expense code (E101-E124)",
    )
    code.refresh_from_db()
    assert (code.gl_account_id, code.utbms_code) == before


# --- GL accounts ------------------------------------------------------------------------------


def test_a_gl_account_is_added_renamed_and_deactivated_when_unused(api, firm):
    created = api.post(
        "/gl-accounts", {"number": "5300", "name": "Rent", "type": "expense"}, key="gl-1"
    )
    assert created.status == 201, created.body
    assert (created.body["number"], created.body["balance"], created.body["is_active"]) == (
        "5300",
        "0.00",
        True,
    )
    account_id = created.body["id"]
    assert api.patch(f"/gl-accounts/{account_id}", {"name": "Office rent"}).body["name"] == (
        "Office rent"
    )
    off = api.patch(f"/gl-accounts/{account_id}", {"is_active": False})
    assert off.body["is_active"] is False
    assert GLAccount.objects.get(pk=account_id).is_active is False
    assert api.patch(f"/gl-accounts/{account_id}", {"is_active": True}).body["is_active"] is True


def test_a_gl_account_the_books_need_is_not_deactivated(api, firm, admin, trust, client_file):
    books_open(firm, admin)
    deposit(firm, admin, trust, client_file, 12_345)
    liability = GLAccount.objects.get(firm=firm, is_client_trust=True)
    used_by_code = GLAccount.objects.create(firm=firm, number="5300", name="Rent", type="expense")
    ActivityCode.objects.create(firm=firm, code="RENT", name="Rent", gl_account=used_by_code)
    income = GLAccount.objects.create(firm=firm, number="4900", name="Misc", type="income")
    GLAccount.objects.filter(pk=income.pk).update(balance_cents=-500)

    runs_on = api.patch(f"/gl-accounts/{liability.pk}", {"is_active": False})
    assert runs_on.status == 422
    assert runs_on.error == {
        "code": "validation_error",
        "message": f"{liability.number} {liability.name} is one of the accounts the books run "
        "on and cannot be deactivated",
        "field": "is_active",
    }
    coded = api.patch(f"/gl-accounts/{used_by_code.pk}", {"is_active": False})
    assert coded.status == 422
    assert coded.error["message"] == (
        "activity code RENT posts to 5300 Rent: move or deactivate it first"
    )
    held = api.patch(f"/gl-accounts/{income.pk}", {"is_active": False})
    assert held.error["message"] == (
        "4900 Misc still holds a balance of $5.00: move it with a journal entry first"
    )
    assert (
        GLAccount.objects.filter(
            pk__in=[liability.pk, used_by_code.pk, income.pk], is_active=False
        ).count()
        == 0
    )
    assert _audits("gl_account") == []


# --- Enrolling the security question ----------------------------------------------------------


def test_a_new_user_enrolls_a_question_then_gets_a_token(anonymous, firm):
    user = auth.user_create(firm=firm, email="int@smith.test", password=PASSWORD)
    User.objects.filter(pk=user.pk).update(is_integration_user=True)
    login = {"firm": "smith-pi", "username": "int@smith.test", "password": PASSWORD}
    refused = anonymous.post("/auth/session", login)
    assert (refused.status, refused.error["code"]) == (403, "security_question_not_enrolled")

    bad = anonymous.post(
        "/auth/security-question", {**login, "question": "What city?", "answer": "what"}
    )
    assert (bad.status, bad.error["field"]) == (422, "answer")
    assert User.objects.get(pk=user.pk).is_enrolled is False

    enrolled = anonymous.post(
        "/auth/security-question", {**login, "question": "What city?", "answer": "Lisbon"}
    )
    assert enrolled.status == 200, enrolled.body
    assert enrolled.body["email"] == "int@smith.test"
    assert anonymous.post("/auth/session", login).status == 201

    again = anonymous.post(
        "/auth/security-question", {**login, "question": "Pet?", "answer": "Rex"}
    )
    assert (again.status, again.error["code"]) == (409, "security_question_already_enrolled")
    assert User.objects.get(pk=user.pk).security_question == "What city?"


def test_enrolling_with_a_wrong_password_does_not_say_which_part_was_wrong(anonymous, firm):
    auth.user_create(firm=firm, email="int@smith.test", password=PASSWORD)
    wrong = {"firm": "smith-pi", "password": "not it", "question": "What city?", "answer": "Lisbon"}
    known = anonymous.post("/auth/security-question", {**wrong, "username": "int@smith.test"})
    unknown = anonymous.post("/auth/security-question", {**wrong, "username": "no@smith.test"})
    assert (known.status, known.body) == (unknown.status, unknown.body)
    assert known.status == 401
    assert User.objects.get(email="int@smith.test").is_enrolled is False


def test_an_account_with_a_posting_dated_ahead_stays_active(api, firm, admin):
    from casebridge.books.services import journal
    from casebridge.core import clock

    books_open(firm, admin)
    rent = GLAccount.objects.create(firm=firm, number="5300", name="Rent", type="expense")
    bank_charges = GLAccount.objects.get(firm=firm, number="5000")
    today, ahead = clock.today(), clock.today() + dt.timedelta(days=5)
    for day, (debit, credit) in ((today, (rent, bank_charges)), (ahead, (bank_charges, rent))):
        journal.journal_entry_post(
            firm=firm,
            date=day,
            lines=[
                journal.Line(account=debit, debit_cents=500),
                journal.Line(account=credit, credit_cents=500),
            ],
            actor=admin,
        )
    reply = api.patch(f"/gl-accounts/{rent.pk}", {"is_active": False})
    assert (reply.status, reply.error["field"]) == (422, "is_active")
    assert reply.error["message"] == (
        f"5300 Rent has postings dated ahead, from {ahead:%Y-%m-%d}: it stays active until "
        "they are reversed or their day has passed"
    )
    assert GLAccount.objects.get(pk=rent.pk).is_active is True


def test_a_code_comes_back_only_to_an_active_account_and_an_open_invoice_keeps_it(
    api, firm, admin, client_file
):
    from casebridge.books.services import invoices

    rent = GLAccount.objects.create(firm=firm, number="5300", name="Rent", type="expense")
    code = ActivityCode.objects.create(firm=firm, code="RENT", name="Rent", gl_account=rent)
    draft = invoices.invoice_create(
        firm=firm,
        actor=admin,
        file_id=client_file.pk,
        lines=[
            invoices.LineSpec(
                kind="cost", description="Rent", amount_cents=100, activity_code_id=code.pk
            )
        ],
    )
    held = api.patch(f"/activity-codes/{code.pk}", {"is_active": False})
    assert held.error["message"] == (
        f"invoice {draft.number} is not final yet and posts to activity code RENT when it is: "
        "finalise or void it first"
    )
    held = api.patch(f"/gl-accounts/{rent.pk}", {"is_active": False})
    assert held.error["message"] == (
        "activity code RENT posts to 5300 Rent: move or deactivate it first"
    )
    invoices.invoice_void(firm=firm, actor=admin, invoice_id=draft.pk, void_date=None, reason="x")
    assert api.patch(f"/activity-codes/{code.pk}", {"is_active": False}).status == 200
    assert api.patch(f"/gl-accounts/{rent.pk}", {"is_active": False}).status == 200
    back = api.patch(f"/activity-codes/{code.pk}", {"is_active": True})
    assert (back.status, back.error["field"]) == (422, "gl_account")
    assert ActivityCode.objects.get(pk=code.pk).is_active is False


def test_an_unchanged_area_writes_no_audit_event(api, firm):
    area = AreaOfPractice.objects.create(firm=firm, name="Auto")
    assert api.patch(f"/areas-of-practice/{area.pk}", {"name": "Auto"}).status == 200
    assert _audits("area_of_practice") == []
