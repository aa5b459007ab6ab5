"""Every permission-gated service refuses a user without the permission, with a message
naming it; the holder of that permission and a firm administrator pass. A deactivated user
holds no permission.

The matrix below classifies every public service of the modules that move or stage money
(``cases.services.settlement``, ``costs``, ``disbursement``): gated by a permission (checked
on the service's first line), for firm administrators only, open to any signed-in user
because no money moves, or for an integration reporting what the books did (never reached
from a screen or the API). A new service of those modules fails
``test_every_money_service_is_in_the_matrix`` until it is classified here."""

from __future__ import annotations

import ast
import inspect
import itertools
import pkgutil
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest

import casebridge.cases.api
import casebridge.cases.views
from casebridge.cases.errors import PermissionDenied
from casebridge.cases.models import Permission, User
from casebridge.cases.permissions import require, require_admin, require_settings_access
from casebridge.cases.services import costs, disbursement, firms, settlement
from tests.cases.conftest import PASSWORD
from tests.cases.helpers import add_cost, deposit, lien, offer, refused, stage, terms

#: The modules whose services move or stage money.
MONEY_MODULES: tuple[ModuleType, ...] = (settlement, costs, disbursement)


@dataclass
class Desk:
    """What the gated actions work on: an accepted offer of $10,000.00, $4,000.00 of it
    deposited."""

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


def _settled(d: Desk) -> None:
    """Everything deposited and the fee staged: ready for Push to Client Trust."""
    deposit(d.firm, d.admin, d.case, d.offer, 600_000, check="2")
    stage(d.firm, d.admin, d.case, "fee")


def _pushed_to_client_trust(d: Desk) -> None:
    _settled(d)
    settlement.push_to_client_trust(firm=d.firm, actor=d.admin, case_id=d.case.pk)


def _nothing(d: Desk) -> Any:
    return None


@dataclass(frozen=True)
class Gated:
    """A service gated by ``gate``: a permission field, or ``is_firm_admin``. ``prepare``
    (run as the administrator, before the snapshot) sets up what ``act`` works on."""

    gate: str
    act: Callable[[Desk, User, Any], Any]
    prepare: Callable[[Desk], Any] = _nothing


GATED: dict[str, Gated] = {
    # Account Settings (not money, but gated: kept here so the refusals are tested alike)
    "firms.user_create": Gated(
        "perm_admin_settings",
        lambda d, u, _: firms.user_create(
            firm=d.firm, actor=u, email=f"new{d.next()}@lopez.test", password=PASSWORD
        ),
    ),
    "firms.user_update": Gated(
        "perm_admin_settings",
        lambda d, u, _: firms.user_update(user=d.attorney, actor=u, first_name="Samuel"),
    ),
    "firms.firm_defaults_update": Gated(
        "perm_admin_settings",
        lambda d, u, _: firms.firm_defaults_update(
            firm=d.firm,
            actor=u,
            default_fee_rate_bp=3500,
            default_copp_cents=0,
            default_property_damage_fee_cents=0,
            fee_changes_need_approval=True,
        ),
    ),
    "firms.cost_code_create": Gated(
        "perm_admin_settings",
        lambda d, u, _: firms.cost_code_create(
            firm=d.firm, actor=u, code=f"XRAY{d.next()}", name="X-ray films"
        ),
    ),
    # Settlement money: deposits, staging, the pushes
    "settlement.deposit_record": Gated(
        "perm_deposit_settlement",
        lambda d, u, _: settlement.deposit_record(
            firm=d.firm,
            actor=u,
            case_id=d.case.pk,
            offer_id=d.offer.pk,
            amount_cents=100,
            check_number="2",
        ),
    ),
    "settlement.deposit_void": Gated(
        "perm_deposit_settlement",
        lambda d, u, _: settlement.deposit_void(firm=d.firm, actor=u, deposit_id=d.deposit.pk),
    ),
    "settlement.trust_item_stage": Gated(
        "perm_deposit_settlement",
        lambda d, u, _: settlement.trust_item_stage(
            firm=d.firm, actor=u, case_id=d.case.pk, kind="fee"
        ),
    ),
    "settlement.trust_items_stage_due": Gated(
        "perm_deposit_settlement",
        lambda d, u, _: settlement.trust_items_stage_due(firm=d.firm, actor=u, case_id=d.case.pk),
    ),
    "settlement.trust_item_unstage": Gated(
        "perm_deposit_settlement",
        lambda d, u, item: settlement.trust_item_unstage(firm=d.firm, actor=u, item_id=item.pk),
        prepare=lambda d: stage(d.firm, d.admin, d.case, "fee"),
    ),
    "settlement.push_to_client_trust": Gated(
        "perm_deposit_settlement",
        lambda d, u, _: settlement.push_to_client_trust(firm=d.firm, actor=u, case_id=d.case.pk),
        prepare=_settled,
    ),
    "settlement.push_to_disbursement": Gated(
        "perm_deposit_settlement",
        lambda d, u, _: settlement.push_to_disbursement(firm=d.firm, actor=u, case_id=d.case.pk),
        prepare=_pushed_to_client_trust,
    ),
    "settlement.fee_change_request_decide": Gated(
        "is_firm_admin",
        lambda d, u, req: settlement.fee_change_request_decide(
            firm=d.firm, actor=u, request_id=req.pk, approve=True
        ),
        prepare=lambda d: fee_request(d, d.attorney),
    ),
    "settlement.lien_reopen": Gated(
        "is_firm_admin",
        lambda d, u, held: settlement.lien_reopen(
            firm=d.firm, actor=u, lien_id=held.pk, reason="final amount was wrong"
        ),
        prepare=lambda d: lien(d.firm, d.admin, d.case, 50_000, final=40_000),
    ),
    # Costs: paying, voiding and sending costs move operating money
    "costs.cost_pay": Gated(
        "perm_costs_management",
        lambda d, u, cost: costs.cost_pay(
            firm=d.firm, actor=u, cost_id=cost.pk, method="check", reference="1001"
        ),
        prepare=lambda d: add_cost(d.firm, d.admin, d.case, 5_000),
    ),
    "costs.cost_void": Gated(
        "perm_costs_management",
        lambda d, u, cost: costs.cost_void(firm=d.firm, actor=u, cost_id=cost.pk),
        prepare=lambda d: add_cost(d.firm, d.admin, d.case, 5_000),
    ),
    "costs.costs_void": Gated(
        "perm_costs_management",
        lambda d, u, cost: costs.costs_void(firm=d.firm, actor=u, cost_ids=[cost.pk]),
        prepare=lambda d: add_cost(d.firm, d.admin, d.case, 5_000),
    ),
    "costs.costs_mark_sent": Gated(
        "perm_costs_management",
        lambda d, u, cost: costs.costs_mark_sent(firm=d.firm, actor=u, cost_ids=[cost.pk]),
        prepare=lambda d: add_cost(d.firm, d.admin, d.case, 5_000),
    ),
}

#: Services any signed-in user may call: no money moves (each says why).
OPEN_TO_ANY_USER: dict[str, str] = {
    "settlement.negotiation_record": "a demand or offer is recorded; no money",
    "settlement.negotiation_record_for_party": "negotiation_record, the party named",
    "settlement.offer_accept": "an offer is accepted; deposits are gated",
    "settlement.negotiation_delete": "an offer not accepted is deleted",
    "settlement.settlement_terms_update": "a fee change needs an administrator (approval)",
    "settlement.lien_create": "a claim is recorded; its payment is staged (gated)",
    "settlement.lien_create_for_holder": "lien_create, the holder named",
    "settlement.lien_update": "a claim not accepted is corrected",
    "settlement.lien_accept": "a final amount is agreed; its payment is staged (gated)",
    "costs.cost_create": "a cost is recorded; sending or paying it is gated",
    "costs.cost_update": "an unpaid, unsent cost is corrected (a sent one is locked)",
    "costs.cost_create_for_payee": "cost_create, the payee named",
    "costs.cost_update_for_payee": "cost_update, the payee named",
    "costs.cost_split": "an open, unsent cost is divided across linked cases",
    "costs.cost_split_proposal": "a read: the even split",
    "costs.costs_send_refusal": "a read: why a selection cannot be sent (the Send is gated)",
}

#: What an integration (the bridge) calls to report what the books did, with actor None
#: (the system) or after checking the user's permission itself.
INTEGRATION_ONLY: dict[str, str] = {
    "settlement.deposit_void_by_integration": "the books voided the receipt",
    "costs.cost_return_to_open": "a send withdrawn before it reached the books "
    "(the bridge's withdraw checks Costs management)",
    "costs.cost_void_by_check": "the books voided the cost's check",
    "costs.cost_reopen_by_return": "the bank returned the cost's ACH payment (the books "
    "voided its check): owed again",
    "costs.costs_record_checks_printed": "the books printed the checks",
    "disbursement.trust_items_record_checks_printed": "the books printed the trust checks",
    "disbursement.trust_items_record_invoiced": "the books finalised the fee invoice",
    "disbursement.trust_items_record_invoiced_many": "the books finalised fee invoices",
    "disbursement.trust_items_reopen": "the books voided a check or invoice",
}

MESSAGES = {
    "perm_admin_settings": (
        "this needs the 'Administration settings page access' permission; ask a firm administrator"
    ),
    "perm_deposit_settlement": (
        "this needs the 'Deposit settlement checks' permission; ask a firm administrator"
    ),
    "perm_costs_management": (
        "this needs the 'Costs management' permission; ask a firm administrator"
    ),
}
ADMIN_MESSAGES = {
    "settlement.fee_change_request_decide": "only a firm administrator can approve fee changes",
    "settlement.lien_reopen": "only a firm administrator can reopen an accepted lien",
}
PERMISSION_FIELDS = {"perm_admin_settings", "perm_deposit_settlement", "perm_costs_management"}


def expected(name: str) -> tuple[str, dict[str, str]]:
    gate = GATED[name].gate
    if gate == "is_firm_admin":
        return ADMIN_MESSAGES[name], {"permission": "firm_admin"}
    return MESSAGES[gate], {"permission": gate.removeprefix("perm_")}


_people = itertools.count(1)


def person(firm, **perms) -> User:
    return firms.user_create(
        firm=firm, actor=None, email=f"person{next(_people)}@lopez.test", password=PASSWORD, **perms
    )


def holder_of(desk: Desk, gate: str, **more: bool) -> User:
    return person(desk.firm, **{gate: True}, **more)


@pytest.mark.parametrize("action", GATED)
def test_a_user_without_the_permission_is_refused_with_its_name(desk, paralegal, action):
    gated = GATED[action]
    target = gated.prepare(desk)
    message, details = expected(action)
    with refused(PermissionDenied, code="permission_denied") as info:
        gated.act(desk, paralegal, target)
    assert info.value.message == message
    assert info.value.details == details
    assert info.value.http_status == 403


@pytest.mark.parametrize("action", GATED)
def test_the_holder_of_another_permission_is_refused(desk, action):
    gated = GATED[action]
    target = gated.prepare(desk)
    others = PERMISSION_FIELDS - {gated.gate}
    holder = person(desk.firm, **dict.fromkeys(others, True), is_attorney=True)
    with refused(PermissionDenied, code="permission_denied") as info:
        gated.act(desk, holder, target)
    assert info.value.message == expected(action)[0]


@pytest.mark.parametrize("action", GATED)
def test_the_holder_of_the_permission_passes(desk, action):
    gated = GATED[action]
    target = gated.prepare(desk)
    gated.act(desk, holder_of(desk, gated.gate), target)


@pytest.mark.parametrize("action", GATED)
def test_a_firm_administrator_passes(desk, action):
    gated = GATED[action]
    gated.act(desk, desk.admin, gated.prepare(desk))


@pytest.mark.parametrize("action", GATED)
def test_a_deactivated_holder_is_refused(desk, action):
    gated = GATED[action]
    target = gated.prepare(desk)
    holder = holder_of(desk, gated.gate)
    User.objects.filter(pk=holder.pk).update(is_active=False)
    holder.refresh_from_db()
    with refused(PermissionDenied, code="permission_denied") as info:
        gated.act(desk, holder, target)
    assert info.value.message == expected(action)[0]


# --- the matrix covers every money service, and each checks on its first line -----------


def _public_services(module: ModuleType) -> dict[str, Callable[..., Any]]:
    short = module.__name__.rsplit(".", 1)[1]
    return {
        f"{short}.{name}": fn
        for name, fn in vars(module).items()
        if inspect.isfunction(fn) and fn.__module__ == module.__name__ and not name.startswith("_")
    }


def _money_services() -> dict[str, Callable[..., Any]]:
    found: dict[str, Callable[..., Any]] = {}
    for module in MONEY_MODULES:
        found.update(_public_services(module))
    return found


def test_every_money_service_is_in_the_matrix():
    """A new public service of settlement.py, costs.py or disbursement.py must be
    classified: gated (and then tested above), open to any user, or integration only."""
    classified = [*GATED, *OPEN_TO_ANY_USER, *INTEGRATION_ONLY]
    assert len(classified) == len(set(classified)), "a service is classified twice"
    services = set(_money_services())
    missing = services - set(classified)
    assert not missing, f"not in the permission matrix: {sorted(missing)}"
    stale = {n for n in classified if not n.startswith("firms.")} - services
    assert not stale, f"the matrix names services that do not exist: {sorted(stale)}"


def _first_statement(fn: Callable[..., Any]) -> ast.stmt:
    source = textwrap.dedent(inspect.getsource(inspect.unwrap(fn)))
    body = ast.parse(source).body[0]
    assert isinstance(body, ast.FunctionDef)
    statements = body.body
    if (
        isinstance(statements[0], ast.Expr)
        and isinstance(statements[0].value, ast.Constant)
        and isinstance(statements[0].value.value, str)
    ):
        statements = statements[1:]  # the docstring
    return statements[0]


@pytest.mark.parametrize(
    "name", [n for n in GATED if n.split(".")[0] in {"settlement", "costs", "disbursement"}]
)
def test_a_gated_money_service_checks_its_permission_on_its_first_line(name):
    first = _first_statement(_money_services()[name])
    assert isinstance(first, ast.Expr), ast.unparse(first)
    assert isinstance(first.value, ast.Call), ast.unparse(first)
    call = ast.unparse(first.value)
    gate = GATED[name].gate
    if gate == "is_firm_admin":
        assert call.startswith("require_admin(actor, "), call
    else:
        permission = Permission(gate.removeprefix("perm_")).name
        assert call == f"require(actor, Permission.{permission})", call


def _modules_of(package: ModuleType) -> list[ModuleType]:
    import importlib

    return [
        importlib.import_module(f"{package.__name__}.{info.name}")
        for info in pkgutil.iter_modules(package.__path__)
    ]


@pytest.mark.parametrize("name", INTEGRATION_ONLY)
def test_an_integration_service_is_not_reached_from_a_screen_or_the_api(name):
    function = name.split(".")[1]
    for module in _modules_of(casebridge.cases.views) + _modules_of(casebridge.cases.api):
        assert function not in inspect.getsource(module), f"{module.__name__} calls {name}"


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
