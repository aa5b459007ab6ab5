"""Firms, users and Account Settings: what a new firm starts with, one email per person,
who may make whom an administrator, and the firm-wide settlement defaults."""

from __future__ import annotations

import pytest

from casebridge.cases.errors import PermissionDenied, SignInRefused, ValidationFailed
from casebridge.cases.models import CaseType, CostCode, Firm, User
from casebridge.cases.services import firms
from casebridge.cases.services.firms import FIRM_COST_CODES, UTBMS_EXPENSE_CODES
from casebridge.core.models import AuditEvent
from tests.cases.conftest import PASSWORD
from tests.cases.helpers import audits, refused

SETTINGS_DENIED = (
    "this needs the 'Administration settings page access' permission; ask a firm administrator"
)


@pytest.fixture
def office_manager(cfirm) -> User:
    """Not an administrator, but holds the Account Settings permission."""
    return firms.user_create(
        firm=cfirm,
        actor=None,
        email="olive@lopez.test",
        password=PASSWORD,
        first_name="Olive",
        last_name="Office",
        perm_admin_settings=True,
    )


# --- a new firm ---------------------------------------------------------------------------


def test_a_new_firm_has_personal_injury_as_its_only_default_case_type(cfirm):
    assert list(CaseType.objects.filter(firm=cfirm).values_list("name", "is_default")) == [
        ("Personal Injury", True)
    ]


def test_a_new_firm_is_offered_the_24_utbms_expense_codes_and_its_own(cfirm):
    utbms = list(
        CostCode.objects.filter(firm=cfirm, is_utbms=True)
        .order_by("code")
        .values_list("code", "name")
    )
    assert len(utbms) == 24
    assert utbms[0] == ("E101", "Copying")
    assert utbms[11] == ("E112", "Court fees")
    assert utbms[-1] == ("E124", "Other")
    assert [c for c, _ in utbms] == [f"E{n}" for n in range(101, 125)]
    own = sorted(CostCode.objects.filter(firm=cfirm, is_utbms=False).values_list("code", "name"))
    assert own == [
        ("FILING", "Filing fee"),
        ("MEDREC", "Medical records"),
        ("POLICE", "Police report"),
    ]
    assert CostCode.objects.filter(firm=cfirm).count() == len(UTBMS_EXPENSE_CODES) + len(
        FIRM_COST_CODES
    )
    assert not CostCode.objects.filter(firm=cfirm, is_active=False).exists()


def test_a_new_firm_starts_with_the_settlement_defaults_and_numbering(cfirm):
    firm = Firm.objects.get(pk=cfirm.pk)
    assert firm.code == "lopez-pi"
    assert firm.default_fee_rate_bp == 3333
    assert (firm.default_copp_cents, firm.default_property_damage_fee_cents) == (0, 0)
    assert firm.fee_changes_need_approval is True
    assert firm.next_case_number == 1
    [event] = audits("firm", cfirm.pk)
    assert event.action == "create"
    assert event.summary == "Firm Lopez Injury Attorneys created"


def test_a_firm_id_is_lowercased_and_used_once(cfirm):
    with refused(ValidationFailed, code="validation_error") as info:
        firms.firm_create(code=" Lopez-PI ", name="Another Lopez")
    assert info.value.message == "firm ID lopez-pi is taken"
    assert info.value.field == "code"


@pytest.mark.parametrize("bad", ["", "   ", "lopez pi", "lopez/pi", "lópez_pi"])
def test_a_firm_id_is_letters_digits_and_dashes(db, bad):
    with refused(ValidationFailed, code="validation_error") as info:
        firms.firm_create(code=bad, name="Lopez")
    assert info.value.message == "firm ID must be letters, digits and dashes"


# --- users --------------------------------------------------------------------------------


def test_an_email_is_used_once_per_firm_whatever_its_case(cfirm, cadmin):
    with refused(ValidationFailed, code="validation_error") as info:
        firms.user_create(firm=cfirm, actor=cadmin, email="ADMIN@Lopez.TEST", password=PASSWORD)
    assert info.value.message == (
        "a user with email ADMIN@Lopez.TEST already exists; use another email or edit that user"
    )
    assert info.value.field == "email"


def test_the_same_email_may_be_used_by_another_firm(cfirm, cadmin):
    other = firms.firm_create(code="rival-law", name="Rival Law")
    user = firms.user_create(firm=other, actor=None, email="Admin@Lopez.test", password=PASSWORD)
    assert user.firm == other
    assert User.objects.filter(email__iexact="admin@lopez.test").count() == 2


def test_changing_an_email_to_another_users_in_any_case_is_refused(cfirm, cadmin, cattorney):
    with refused(ValidationFailed, code="validation_error") as info:
        firms.user_update(user=cattorney, actor=cadmin, email="Admin@LOPEZ.test")
    assert info.value.message.startswith("a user with email Admin@LOPEZ.test already exists")


def test_a_user_keeps_their_own_email_in_another_case(cadmin, cattorney):
    user = firms.user_update(user=cattorney, actor=cadmin, email="Sam.Smith@Lopez.test")
    assert User.objects.get(pk=user.pk).email == "Sam.Smith@Lopez.test"


@pytest.mark.parametrize("bad", ["sam", "sam@lopez", "sam smith@lopez.test", "@lopez.test"])
def test_a_user_needs_a_valid_email(cfirm, cadmin, bad):
    with refused(ValidationFailed, code="validation_error") as info:
        firms.user_create(firm=cfirm, actor=cadmin, email=bad, password=PASSWORD)
    assert info.value.message == f"{bad!r} is not a valid email address"


def test_a_password_has_at_least_ten_characters(cfirm, cadmin):
    with refused(ValidationFailed, code="validation_error") as info:
        firms.user_create(firm=cfirm, actor=cadmin, email="new@lopez.test", password="123456789")
    assert info.value.message == "password must be at least 10 characters"
    firms.user_create(firm=cfirm, actor=cadmin, email="new@lopez.test", password="1234567890")


def test_adding_a_user_is_audited_with_their_permissions(cfirm, cadmin):
    user = firms.user_create(
        firm=cfirm,
        actor=cadmin,
        email="dee@lopez.test",
        password=PASSWORD,
        perm_deposit_settlement=True,
    )
    [event] = audits("user", user.pk)
    assert (event.action, event.actor_id, event.actor_label) == ("create", cadmin.pk, cadmin.email)
    assert event.after == {"email": "dee@lopez.test", "perm_deposit_settlement": True}
    assert "correct horse" not in str(event.after)


def test_adding_a_user_needs_the_settings_permission(cfirm, paralegal):
    with refused(PermissionDenied, code="permission_denied") as info:
        firms.user_create(firm=cfirm, actor=paralegal, email="x@lopez.test", password=PASSWORD)
    assert info.value.message == SETTINGS_DENIED
    assert info.value.details == {"permission": "admin_settings"}


def test_a_settings_holder_adds_users_but_not_administrators(cfirm, office_manager):
    user = firms.user_create(
        firm=cfirm, actor=office_manager, email="new@lopez.test", password=PASSWORD
    )
    assert not user.is_firm_admin
    with refused(ValidationFailed, code="validation_error") as info:
        firms.user_create(
            firm=cfirm,
            actor=office_manager,
            email="boss@lopez.test",
            password=PASSWORD,
            is_firm_admin=True,
        )
    assert info.value.message == "only a firm administrator can make another administrator"
    assert info.value.field == "is_firm_admin"


def test_an_administrator_makes_an_administrator(cadmin, cattorney):
    user = firms.user_update(user=cattorney, actor=cadmin, is_firm_admin=True)
    assert User.objects.get(pk=user.pk).is_firm_admin
    event = audits("user", cattorney.pk, "change")[-1]
    assert (event.before, event.after) == ({"is_firm_admin": False}, {"is_firm_admin": True})


def test_only_an_administrator_changes_who_is_an_administrator(office_manager, cattorney, cadmin):
    with refused(ValidationFailed, code="validation_error") as info:
        firms.user_update(user=cattorney, actor=office_manager, is_firm_admin=True)
    assert info.value.message == "only a firm administrator can change who is an administrator"
    with refused(PermissionDenied, code="permission_denied") as info:
        firms.user_update(user=cadmin, actor=office_manager, is_firm_admin=False)
    assert info.value.message == "only a firm administrator can change an administrator's account"


@pytest.mark.parametrize(
    "change", [{"is_active": False}, {"email": "mine@lopez.test"}, {"perm_admin_settings": False}]
)
def test_a_settings_holder_cannot_change_an_administrators_account(office_manager, cadmin, change):
    """Otherwise the office manager could lock every administrator out of the firm."""
    with refused(PermissionDenied, code="permission_denied") as info:
        firms.user_update(user=cadmin, actor=office_manager, **change)
    assert info.value.message == ("only a firm administrator can change an administrator's account")
    assert User.objects.get(pk=cadmin.pk).is_active


def test_an_administrator_deactivates_another_administrator(cadmin, cattorney):
    firms.user_update(user=cattorney, actor=cadmin, is_firm_admin=True)
    firms.user_update(user=cattorney, actor=cadmin, is_active=False)
    assert not User.objects.get(pk=cattorney.pk).is_active


def test_a_settings_holder_grants_the_other_permissions(office_manager, paralegal):
    user = firms.user_update(
        user=paralegal, actor=office_manager, perm_deposit_settlement=True, is_attorney=True
    )
    fresh = User.objects.get(pk=user.pk)
    assert (fresh.perm_deposit_settlement, fresh.is_attorney, fresh.is_firm_admin) == (
        True,
        True,
        False,
    )


def test_changing_users_needs_the_settings_permission(paralegal, cattorney):
    with refused(PermissionDenied, code="permission_denied") as info:
        firms.user_update(user=cattorney, actor=paralegal, first_name="Samuel")
    assert info.value.message == SETTINGS_DENIED


def test_an_administrator_cannot_remove_their_own_administrator_role(cadmin):
    with refused(ValidationFailed, code="validation_error") as info:
        firms.user_update(user=cadmin, actor=cadmin, is_firm_admin=False)
    assert info.value.message == (
        "you cannot remove your own administrator role; ask another administrator"
    )
    assert User.objects.get(pk=cadmin.pk).is_firm_admin


def test_an_administrator_removes_another_administrators_role(cfirm, cadmin, cattorney):
    firms.user_update(user=cattorney, actor=cadmin, is_firm_admin=True)
    firms.user_update(user=cattorney, actor=cadmin, is_firm_admin=False)
    assert not User.objects.get(pk=cattorney.pk).is_firm_admin


def test_nobody_deactivates_themselves(cadmin):
    with refused(ValidationFailed, code="validation_error") as info:
        firms.user_update(user=cadmin, actor=cadmin, is_active=False)
    assert info.value.message.startswith("you cannot deactivate yourself")


def test_a_user_of_another_firm_is_not_found(cadmin):
    other = firms.firm_create(code="rival-law", name="Rival Law")
    stranger = firms.user_create(firm=other, actor=None, email="x@rival.test", password=PASSWORD)
    with refused(ValidationFailed, code="validation_error") as info:
        firms.user_update(user=stranger, actor=cadmin, first_name="Mallory")
    assert info.value.message == "user not found in this firm"


def test_unknown_user_settings_are_refused(cfirm, cadmin, cattorney):
    with refused(ValidationFailed, code="validation_error") as info:
        firms.user_update(user=cattorney, actor=cadmin, password="x" * 20)
    assert info.value.message == "cannot change password"
    with refused(ValidationFailed, code="validation_error") as info:
        firms.user_create(
            firm=cfirm, actor=cadmin, email="z@lopez.test", password=PASSWORD, is_superuser=True
        )
    assert info.value.message == "unknown user settings: is_superuser"


def test_a_deactivated_administrator_can_no_longer_change_settings(cfirm, cadmin, cattorney):
    User.objects.filter(pk=cadmin.pk).update(is_active=False)
    cadmin.refresh_from_db()
    with refused(PermissionDenied, code="permission_denied") as info:
        firms.user_update(user=cattorney, actor=cadmin, first_name="Samuel")
    assert info.value.message == SETTINGS_DENIED


def test_logging_in_checks_firm_email_and_password_without_saying_which(cfirm, cadmin, cattorney):
    user = firms.user_authenticate(
        firm_code=" LOPEZ-PI ", email="SAM.SMITH@lopez.test", password=PASSWORD
    )
    assert user.pk == cattorney.pk
    assert User.objects.get(pk=user.pk).last_login_at is not None
    leaving = firms.user_create(
        firm=cfirm, actor=None, email="leaving@lopez.test", password=PASSWORD
    )
    firms.user_update(user=leaving, actor=cadmin, is_active=False)
    for firm_code, email, password in [
        ("lopez-pi", "sam.smith@lopez.test", "wrong password"),
        ("lopez-pi", "nobody@lopez.test", PASSWORD),
        ("rival-law", "sam.smith@lopez.test", PASSWORD),
        ("lopez-pi", "leaving@lopez.test", PASSWORD),
    ]:
        with pytest.raises(SignInRefused) as info:
            firms.user_authenticate(firm_code=firm_code, email=email, password=password)
        assert (info.value.code, info.value.http_status, info.value.field) == (
            "invalid_credentials",
            401,
            "password",
        )
        assert info.value.message == "firm ID, email or password is not right"


# --- firm defaults and cost codes (Account Settings) --------------------------------------


def test_an_administrator_changes_the_firm_defaults(cfirm, cadmin):
    firm = firms.firm_defaults_update(
        firm=cfirm,
        actor=cadmin,
        default_fee_rate_bp=4000,
        default_copp_cents=7_500,
        default_property_damage_fee_cents=-25_000,
        fee_changes_need_approval=False,
    )
    fresh = Firm.objects.get(pk=firm.pk)
    assert (
        fresh.default_fee_rate_bp,
        fresh.default_copp_cents,
        fresh.default_property_damage_fee_cents,
        fresh.fee_changes_need_approval,
    ) == (4000, 7_500, -25_000, False)
    [event] = audits("firm_defaults", cfirm.pk)
    assert event.before == {
        "default_fee_rate_bp": 3333,
        "default_copp_cents": 0,
        "default_property_damage_fee_cents": 0,
        "fee_changes_need_approval": True,
    }
    assert event.after["default_copp_cents"] == 7_500


def test_the_firm_defaults_need_the_settings_permission(cfirm, paralegal):
    with refused(PermissionDenied, code="permission_denied") as info:
        firms.firm_defaults_update(
            firm=cfirm,
            actor=paralegal,
            default_fee_rate_bp=4000,
            default_copp_cents=0,
            default_property_damage_fee_cents=0,
            fee_changes_need_approval=True,
        )
    assert info.value.message == SETTINGS_DENIED


def test_a_settings_holder_changes_the_firm_defaults(cfirm, office_manager):
    firms.firm_defaults_update(
        firm=cfirm,
        actor=office_manager,
        default_fee_rate_bp=3500,
        default_copp_cents=0,
        default_property_damage_fee_cents=0,
        fee_changes_need_approval=True,
    )
    assert Firm.objects.get(pk=cfirm.pk).default_fee_rate_bp == 3500


@pytest.mark.parametrize(
    ("rate", "copp", "message"),
    [
        (10001, 0, "the fee percentage must be between 0 and 100"),
        (-1, 0, "the fee percentage must be between 0 and 100"),
        (3333, -1, "COPP charges cannot be negative"),
    ],
)
def test_impossible_firm_defaults_are_refused(cfirm, cadmin, rate, copp, message):
    with refused(ValidationFailed, code="validation_error") as info:
        firms.firm_defaults_update(
            firm=cfirm,
            actor=cadmin,
            default_fee_rate_bp=rate,
            default_copp_cents=copp,
            default_property_damage_fee_cents=0,
            fee_changes_need_approval=True,
        )
    assert info.value.message == message


def test_a_firm_adds_its_own_cost_code_once(cfirm, cadmin, paralegal):
    added = firms.cost_code_create(firm=cfirm, actor=cadmin, code=" xray ", name="X-ray films")
    assert (added.code, added.name, added.is_utbms) == ("XRAY", "X-ray films", False)
    with refused(ValidationFailed, code="validation_error") as info:
        firms.cost_code_create(firm=cfirm, actor=cadmin, code="Xray", name="Again")
    assert info.value.message == "cost code XRAY already exists"
    with refused(ValidationFailed, code="validation_error") as info:
        firms.cost_code_create(firm=cfirm, actor=cadmin, code="e112", name="Court fees again")
    assert info.value.message == "cost code E112 already exists"
    with refused(PermissionDenied, code="permission_denied") as info:
        firms.cost_code_create(firm=cfirm, actor=paralegal, code="MRI", name="MRI films")
    assert info.value.message == SETTINGS_DENIED
    assert AuditEvent.objects.filter(entity_type="cost_code").count() == 1
