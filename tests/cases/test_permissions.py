"""Every permission-gated service refuses a user without the permission, with a message
naming it; the holder of that permission and a firm administrator pass. A deactivated user
holds no permission."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from casebridge.cases.errors import PermissionDenied
from casebridge.cases.models import Permission, User
from casebridge.cases.permissions import require, require_admin, require_settings_access
from casebridge.cases.services import firms, settlement
from tests.cases.conftest import PASSWORD
from tests.cases.helpers import deposit, offer, refused, terms


@dataclass
class Desk:
    """What the gated actions work on."""

    firm: Any
    admin: User
    attorney: User
    case: Any
    offer: Any
    deposit: Any
    counter: int = 0

    def next(self) -> int:
        self.counter += 1
        return self.counter


@pytest.fixture
def desk(cfirm, cadmin, cattorney, case) -> Desk:
    accepted = offer(cfirm, cadmin, case, 1_000_000)
    made = deposit(cfirm, cadmin, case, accepted, 400_000, check="1")
    return Desk(cfirm, cadmin, cattorney, case, accepted, made)


def fee_request(desk: Desk, attorney: User):
    _, request = terms(desk.firm, attorney, desk.case, fee_rate_bp=4000, reason="agreed")
    return request


ACTIONS: dict[str, tuple[str | None, Callable[[Desk, User], Any]]] = {
    # name: (the permission field that also passes, or None for administrators only; action)
    "add a user": (
        "perm_admin_settings",
        lambda d, u: firms.user_create(
            firm=d.firm, actor=u, email=f"new{d.next()}@lopez.test", password=PASSWORD
        ),
    ),
    "change a user": (
        "perm_admin_settings",
        lambda d, u: firms.user_update(user=d.attorney, actor=u, first_name="Samuel"),
    ),
    "change the firm defaults": (
        "perm_admin_settings",
        lambda d, u: firms.firm_defaults_update(
            firm=d.firm,
            actor=u,
            default_fee_rate_bp=3500,
            default_copp_cents=0,
            default_property_damage_fee_cents=0,
            fee_changes_need_approval=True,
        ),
    ),
    "add a cost code": (
        "perm_admin_settings",
        lambda d, u: firms.cost_code_create(
            firm=d.firm, actor=u, code=f"XRAY{d.next()}", name="X-ray films"
        ),
    ),
    "deposit a settlement check": (
        "perm_deposit_settlement",
        lambda d, u: settlement.deposit_record(
            firm=d.firm,
            actor=u,
            case_id=d.case.pk,
            offer_id=d.offer.pk,
            amount_cents=100,
            check_number="2",
        ),
    ),
    "void a deposit": (
        "perm_deposit_settlement",
        lambda d, u: settlement.deposit_void(firm=d.firm, actor=u, deposit_id=d.deposit.pk),
    ),
}

MESSAGES = {
    "perm_admin_settings": (
        "this needs the 'Administration settings page access' permission; ask a firm administrator"
    ),
    "perm_deposit_settlement": (
        "this needs the 'Deposit settlement checks' permission; ask a firm administrator"
    ),
}


_people = itertools.count(1)


def person(firm, **perms) -> User:
    return firms.user_create(
        firm=firm, actor=None, email=f"person{next(_people)}@lopez.test", password=PASSWORD, **perms
    )


@pytest.mark.parametrize("action", ACTIONS)
def test_a_user_without_the_permission_is_refused_with_its_name(desk, paralegal, action):
    field, act = ACTIONS[action]
    with refused(PermissionDenied, code="permission_denied") as info:
        act(desk, paralegal)
    assert info.value.message == MESSAGES[field]
    assert info.value.details == {"permission": field.removeprefix("perm_")}
    assert info.value.http_status == 403


@pytest.mark.parametrize("action", ACTIONS)
def test_the_holder_of_another_permission_is_refused(desk, action):
    field, act = ACTIONS[action]
    others = {"perm_admin_settings", "perm_deposit_settlement", "perm_costs_management"} - {field}
    holder = person(desk.firm, **dict.fromkeys(others, True), is_attorney=True)
    with refused(PermissionDenied, code="permission_denied") as info:
        act(desk, holder)
    assert info.value.message == MESSAGES[field]


@pytest.mark.parametrize("action", ACTIONS)
def test_the_holder_of_the_permission_passes(desk, action):
    field, act = ACTIONS[action]
    act(desk, person(desk.firm, **{field: True}))


@pytest.mark.parametrize("action", ACTIONS)
def test_a_firm_administrator_passes(desk, action):
    _, act = ACTIONS[action]
    act(desk, desk.admin)


@pytest.mark.parametrize("action", ACTIONS)
def test_a_deactivated_holder_is_refused(desk, action):
    field, act = ACTIONS[action]
    holder = person(desk.firm, **{field: True})
    User.objects.filter(pk=holder.pk).update(is_active=False)
    holder.refresh_from_db()
    with refused(PermissionDenied, code="permission_denied") as info:
        act(desk, holder)
    assert info.value.message == MESSAGES[field]


def test_deciding_a_fee_change_is_for_administrators_only(desk, cattorney, paralegal):
    request = fee_request(desk, cattorney)
    everything = person(
        desk.firm,
        perm_admin_settings=True,
        perm_deposit_settlement=True,
        perm_costs_management=True,
    )
    for who in (paralegal, cattorney, everything):
        with refused(PermissionDenied, code="permission_denied") as info:
            settlement.fee_change_request_decide(
                firm=desk.firm, actor=who, request_id=request.pk, approve=True
            )
        assert info.value.message == "only a firm administrator can approve fee changes"
        assert info.value.details == {"permission": "firm_admin"}
    settlement.fee_change_request_decide(
        firm=desk.firm, actor=desk.admin, request_id=request.pk, approve=True
    )


def test_an_administrator_holds_every_permission(cadmin, paralegal):
    for permission in Permission:
        assert cadmin.has_permission(permission)
        assert not paralegal.has_permission(permission)
        require(cadmin, permission)
        with pytest.raises(PermissionDenied, match=f"'{permission.label}'"):
            require(paralegal, permission)
    require_admin(cadmin, "do it")
    require_settings_access(cadmin)


def test_the_costs_management_permission_is_named_when_missing(cfirm, paralegal):
    with pytest.raises(PermissionDenied) as info:
        require(paralegal, Permission.COSTS_MANAGEMENT)
    assert info.value.message == (
        "this needs the 'Costs management' permission; ask a firm administrator"
    )
    holder = person(cfirm, perm_costs_management=True)
    require(holder, Permission.COSTS_MANAGEMENT)
    assert not holder.has_permission(Permission.DEPOSIT_SETTLEMENT)
