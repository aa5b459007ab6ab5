"""Firm set-up: the PI chart of accounts, bank accounts, UTBMS codes, areas of practice,
activity codes and features."""

from __future__ import annotations

import pytest

from casebridge.books.errors import ValidationFailed
from casebridge.books.models import (
    ActivityCode,
    AreaOfPractice,
    BankAccount,
    Firm,
    GLAccount,
)
from casebridge.books.services import files, setup
from casebridge.core.models import AuditEvent
from tests.books.ledger_helpers import refused

PI_CHART = [
    ("1000", "Operating Bank", "asset", "operating_bank", False),
    ("1010", "Client Trust Bank (IOLTA)", "asset", "trust_bank", False),
    ("1200", "Accounts Receivable", "asset", "accounts_receivable", False),
    ("1300", "Advanced Client Costs", "asset", "advanced_costs", False),
    ("2000", "Accounts Payable", "liability", "", False),
    ("2100", "Client Trust Liability", "liability", "client_trust_liability", True),
    ("3000", "Owner's Equity", "equity", "", False),
    ("4000", "Attorney Fee Income", "income", "fee_income", False),
    ("4100", "COPP Charges Income", "income", "", False),
    ("4200", "Property Damage Fee Income", "income", "", False),
    ("5000", "Bank Charges", "expense", "", False),
    ("5100", "Unrecovered Costs Written Off", "expense", "write_off", False),
    ("5200", "Office Expenses", "expense", "", False),
]

UTBMS = [
    ("E101", "Copying"),
    ("E102", "Outside printing"),
    ("E103", "Word processing"),
    ("E104", "Facsimile"),
    ("E105", "Telephone"),
    ("E106", "Online research"),
    ("E107", "Delivery services/messengers"),
    ("E108", "Postage"),
    ("E109", "Local travel"),
    ("E110", "Out-of-town travel"),
    ("E111", "Meals"),
    ("E112", "Court fees"),
    ("E113", "Subpoena fees"),
    ("E114", "Witness fees"),
    ("E115", "Deposition transcripts"),
    ("E116", "Trial transcripts"),
    ("E117", "Trial exhibits"),
    ("E118", "Litigation support vendors"),
    ("E119", "Experts"),
    ("E120", "Private investigators"),
    ("E121", "Arbitrators/mediators"),
    ("E122", "Local counsel"),
    ("E123", "Other professionals"),
    ("E124", "Other"),
]


def test_a_new_firm_gets_the_pi_chart_of_accounts(firm):
    chart = list(
        GLAccount.objects.filter(firm=firm)
        .order_by("number")
        .values_list("number", "name", "type", "role", "is_client_trust")
    )
    assert chart == PI_CHART
    assert set(GLAccount.objects.filter(firm=firm).values_list("balance_cents", flat=True)) == {0}


def test_a_new_firm_gets_an_operating_and_a_trust_bank_account(firm):
    banks = list(
        BankAccount.objects.filter(firm=firm)
        .order_by("kind")
        .values_list(
            "name", "kind", "gl_account__number", "trust_liability_account__number", "is_active"
        )
    )
    assert banks == [
        ("Operating", "operating", "1000", None, True),
        ("Client Trust (IOLTA)", "trust", "1010", "2100", True),
    ]


def test_a_new_firm_gets_the_24_utbms_expense_codes_posting_to_advanced_costs(firm):
    codes = list(
        ActivityCode.objects.filter(firm=firm)
        .order_by("code")
        .values_list("code", "name", "utbms_code", "gl_account__number")
    )
    assert codes == [(code, name, code, "1300") for code, name in UTBMS]
    assert ActivityCode.objects.get(firm=firm, code="E119").description == "UTBMS E119 Experts"


def test_adding_the_utbms_codes_again_adds_none(firm, other_firm):
    assert setup.activity_codes_add_utbms(firm=firm, actor=None) == 0
    assert ActivityCode.objects.filter(firm=firm).count() == 24
    assert not ActivityCode.objects.filter(firm=other_firm).exists()
    audit_before = AuditEvent.objects.filter(firm_id=other_firm.pk).count()
    assert setup.activity_codes_add_utbms(firm=other_firm, actor=None) == 24
    assert setup.activity_codes_add_utbms(firm=other_firm, actor=None) == 0
    assert AuditEvent.objects.filter(firm_id=other_firm.pk).count() == audit_before + 1


def test_only_the_missing_utbms_codes_are_added(other_firm):
    advanced = GLAccount.objects.get(firm=other_firm, number="1300")
    setup.activity_code_create(
        firm=other_firm, actor=None, code="e101", name="Copies", gl_account_id=advanced.pk
    )
    assert setup.activity_codes_add_utbms(firm=other_firm, actor=None) == 23
    assert ActivityCode.objects.filter(firm=other_firm, code__iexact="e101").count() == 1


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("smith-pi", "firm ID smith-pi is taken"),
        ("  SMITH-PI ", "firm ID smith-pi is taken"),
        ("", "firm ID must be letters, digits and dashes"),
        ("smith pi", "firm ID must be letters, digits and dashes"),
        ("smith_pi", "firm ID must be letters, digits and dashes"),
    ],
)
def test_a_firm_id_is_unique_and_simple(firm, code, message):
    with refused(ValidationFailed, code="validation_error") as info:
        setup.firm_create(code=code, name="Another")
    assert info.value.message == message
    assert Firm.objects.count() == 1


def test_area_names_are_unique_per_firm_ignoring_case(firm, other_firm, admin):
    area = setup.area_of_practice_create(firm=firm, actor=admin, name="Auto Accidents")
    with refused(ValidationFailed, code="validation_error") as info:
        setup.area_of_practice_create(firm=firm, actor=admin, name="  auto ACCIDENTS ")
    assert info.value.message == "an area of practice named auto ACCIDENTS already exists"
    assert setup.area_of_practice_create(firm=other_firm, actor=None, name="auto accidents")

    slip = setup.area_of_practice_create(firm=firm, actor=admin, name="Slip and Fall")
    with refused(ValidationFailed, code="validation_error", match="already exists"):
        setup.area_of_practice_update(area=slip, actor=admin, name="AUTO ACCIDENTS", description="")
    # renaming an area to itself in another case is fine
    renamed = setup.area_of_practice_update(
        area=area, actor=admin, name="AUTO ACCIDENTS", description="Cars and trucks"
    )
    assert AreaOfPractice.objects.get(pk=renamed.pk).name == "AUTO ACCIDENTS"
    event = AuditEvent.objects.get(entity_type="area_of_practice", action="change")
    assert event.before == {"name": "Auto Accidents", "description": ""}
    assert event.after == {"name": "AUTO ACCIDENTS", "description": "Cars and trucks"}


def test_an_area_needs_a_name(firm, admin):
    with refused(ValidationFailed, code="validation_error", match="Name is required"):
        setup.area_of_practice_create(firm=firm, actor=admin, name="   ")
    with refused(ValidationFailed, code="validation_error", match="longer than 100"):
        setup.area_of_practice_create(firm=firm, actor=admin, name="x" * 101)


def code_args(firm, **changes):
    return {
        "firm": firm,
        "actor": None,
        "code": "EXPERT-MED",
        "name": "Medical expert",
        "gl_account_id": GLAccount.objects.get(firm=firm, number="1300").pk,
    } | changes


def test_an_activity_code_posts_to_a_chosen_account(firm):
    code = setup.activity_code_create(**code_args(firm, utbms_code=" e119 "))
    assert (code.gl_account.number, code.utbms_code) == ("1300", "E119")
    event = AuditEvent.objects.get(entity_type="activity_code", entity_id=str(code.pk))
    assert event.after == {
        "code": "EXPERT-MED",
        "name": "Medical expert",
        "gl_account": "1300",
        "utbms_code": "E119",
    }


def test_an_activity_code_requires_a_gl_account(firm):
    with refused(ValidationFailed, code="validation_error") as info:
        setup.activity_code_create(**code_args(firm, gl_account_id=None))
    assert info.value.message == "choose the General Ledger account this code posts to"
    assert info.value.field == "gl_account"


@pytest.mark.parametrize("number", ["1000", "1010", "2100"])
def test_an_activity_code_cannot_post_to_a_bank_or_trust_account(firm, number):
    gl = GLAccount.objects.get(firm=firm, number=number)
    with refused(ValidationFailed, code="validation_error") as info:
        setup.activity_code_create(**code_args(firm, gl_account_id=gl.pk))
    assert info.value.message == (
        f"{gl} is a bank or client trust account; choose an income, expense or cost account"
    )


def test_an_activity_code_cannot_post_to_a_second_bank_accounts_gl(firm):
    """Any account tied to a bank account is a bank account, whatever its role."""
    payroll = GLAccount.objects.create(firm=firm, number="1020", name="Payroll Bank", type="asset")
    BankAccount.objects.create(firm=firm, name="Payroll", kind="operating", gl_account=payroll)
    with refused(ValidationFailed, code="validation_error", match="is a bank or client trust"):
        setup.activity_code_create(**code_args(firm, gl_account_id=payroll.pk))


def test_an_activity_code_cannot_post_to_another_firms_account(firm, other_firm):
    theirs = GLAccount.objects.get(firm=other_firm, number="1300")
    with refused(ValidationFailed, code="validation_error") as info:
        setup.activity_code_create(**code_args(firm, gl_account_id=theirs.pk))
    assert info.value.message == "that General Ledger account is not an active account of this firm"


def test_an_activity_code_refuses_unknown_utbms_codes(firm):
    with refused(ValidationFailed, code="validation_error") as info:
        setup.activity_code_create(**code_args(firm, utbms_code="E125"))
    assert info.value.message == "E125 is not a UTBMS expense code (E101-E124)"
    assert info.value.field == "utbms_code"


def test_activity_codes_are_unique_ignoring_case(firm):
    with refused(ValidationFailed, code="validation_error") as info:
        setup.activity_code_create(**code_args(firm, code="e112"))
    assert info.value.message == "activity code e112 already exists"


def test_switching_the_release_stage_is_audited_with_before_and_after(firm, admin):
    updated = setup.firm_features_update(firm=firm, actor=admin, release_invoice_stage_enabled=True)
    assert updated.release_invoice_stage_enabled
    assert Firm.objects.get(pk=firm.pk).release_invoice_stage_enabled
    event = AuditEvent.objects.get(entity_type="features")
    assert (event.action, event.actor_id, event.summary) == (
        "change",
        admin.pk,
        "Release invoice stage enabled",
    )
    assert event.before == {"release_invoice_stage_enabled": False}
    assert event.after == {"release_invoice_stage_enabled": True}
    # setting it to what it already is records nothing
    setup.firm_features_update(firm=firm, actor=admin, release_invoice_stage_enabled=True)
    assert AuditEvent.objects.filter(entity_type="features").count() == 1


def test_a_gl_account_number_is_unique_per_firm(firm, admin):
    acct = setup.gl_account_create(
        firm=firm, actor=admin, number="5300", name="Marketing", type="expense"
    )
    assert (acct.type, acct.balance_cents, acct.role) == ("expense", 0, "")
    with refused(ValidationFailed, code="validation_error", match="account number 5300 is taken"):
        setup.gl_account_create(firm=firm, actor=admin, number="5300", name="X", type="expense")
    with refused(ValidationFailed, code="validation_error", match="type must be one of"):
        setup.gl_account_create(firm=firm, actor=admin, number="5400", name="X", type="cost")


def test_an_automatic_file_number_skips_a_number_typed_by_hand(firm, admin, today):
    client, _ = files.contact_find_or_create(firm=firm, actor=admin, name="A Client")
    year = f"{today:%Y}"
    files.file_find_or_create(
        firm=firm, actor=admin, name="Typed", client=client, number=f"{year}-00001"
    )
    auto, created = files.file_find_or_create(
        firm=firm, actor=admin, name="Auto", client=client, external_ref="case-9"
    )
    assert created
    assert auto.number == f"{year}-00002"
    again, created = files.file_find_or_create(
        firm=firm, actor=admin, name="Auto", client=client, external_ref="case-9"
    )
    assert (again.pk, created) == (auto.pk, False)
