"""Issue 10, item 13, the cases side: a contact, payee, lien holder, client, case or user
name (and the notes and references that print on a check) that would read differently on a
screen, a check, a statement or a CSV (a direction override, an invisible character, a
control character or line break) is refused by the service, naming the field and the
character, and nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from casebridge.cases.errors import ValidationFailed
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs, firms, settlement
from tests.cases.conftest import PASSWORD
from tests.cases.helpers import (
    add_cost,
    code_of,
    contact,
    deposit,
    offer,
    refused,
    stage,
)

RLO = "\u202e"


def _contact(d: dict[str, Any], value: str) -> Any:
    return case_services.contact_create(firm=d["firm"], actor=d["admin"], name=value)


def _address(d: dict[str, Any], value: str) -> Any:
    return case_services.contact_create(
        firm=d["firm"], actor=d["admin"], name="Ann Lee", address=f"1 Main St\n{value}"
    )


def _case(d: dict[str, Any], value: str) -> Any:
    return case_services.case_create(
        firm=d["firm"], actor=d["admin"], name=value, client_id=d["case"].client_id
    )


def _case_renamed(d: dict[str, Any], value: str) -> Any:
    return case_services.case_update(case=d["case"], actor=d["admin"], name=value)


def _user(d: dict[str, Any], value: str) -> Any:
    return firms.user_create(
        firm=d["firm"],
        actor=d["admin"],
        email="new@lopez.test",
        password=PASSWORD,
        first_name=value,
    )


def _user_renamed(d: dict[str, Any], value: str) -> Any:
    return firms.user_update(user=d["attorney"], actor=d["admin"], last_name=value)


def _cost_memo(d: dict[str, Any], value: str) -> Any:
    return costs.cost_create(
        firm=d["firm"],
        actor=d["admin"],
        case_id=d["case"].pk,
        payee_id=contact(d["firm"], "Records Inc").pk,
        amount_cents=100,
        cost_code_id=code_of(d["firm"], "E112").pk,
        memo=value,
    )


def _cost_reference(d: dict[str, Any], value: str) -> Any:
    return costs.cost_update(
        firm=d["firm"], actor=d["admin"], cost_id=d["cost"].pk, invoice_reference=value
    )


def _client_payee(d: dict[str, Any], value: str) -> Any:
    return settlement.push_to_client_trust(
        firm=d["firm"], actor=d["admin"], case_id=d["case"].pk, payee_name=value
    )


def _stage_note(d: dict[str, Any], value: str) -> Any:
    return stage(d["firm"], d["admin"], d["case"], "copp", note=value)


def _check_number(d: dict[str, Any], value: str) -> Any:
    return settlement.deposit_record(
        firm=d["firm"],
        actor=d["admin"],
        case_id=d["case"].pk,
        offer_id=d["offer"].pk,
        amount_cents=100,
        check_number=value,
    )


#: (service, field named in the refusal, how the message names it)
CASES: dict[str, tuple[Callable[[dict[str, Any], str], Any], str, str]] = {
    "contact (payee, holder, client) name": (_contact, "name", "name"),
    "contact address": (_address, "address", "address"),
    "case name": (_case, "name", "case name"),
    "case renamed": (_case_renamed, "name", "case name"),
    "user's first name": (_user, "first_name", "first name"),
    "user's last name changed": (_user_renamed, "last_name", "last name"),
    "cost memo": (_cost_memo, "memo", "memo"),
    "cost invoice reference": (_cost_reference, "invoice_reference", "invoice reference"),
    "client's check payee": (_client_payee, "payee_name", "payee"),
    "staged payment's note": (_stage_note, "note", "note"),
    "settlement check number": (_check_number, "check_number", "check number"),
}


@pytest.fixture
def desk(cfirm, cadmin, cattorney, case) -> dict[str, Any]:
    from casebridge.cases.models import Settlement

    Settlement.objects.filter(case=case).update(copp_cents=5_000)
    accepted = offer(cfirm, cadmin, case, 1_000_000)
    deposit(cfirm, cadmin, case, accepted, 500_000)
    return {
        "firm": cfirm,
        "admin": cadmin,
        "attorney": cattorney,
        "case": case,
        "offer": accepted,
        "cost": add_cost(cfirm, cadmin, case, 2_500),
    }


@pytest.mark.parametrize("where", CASES)
@pytest.mark.parametrize(
    ("char", "kind"),
    [
        (RLO, "an invisible or direction-changing character"),
        ("\u2067", "an invisible or direction-changing character"),
        ("\u200f", "an invisible or direction-changing character"),
        ("\u200b", "an invisible or direction-changing character"),
        ("\x07", "a control character"),
    ],
)
def test_text_that_hides_or_reorders_is_refused_and_nothing_is_written(desk, where, char, kind):
    act, field, label = CASES[where]
    with refused(ValidationFailed, code="validation_error") as info:
        act(desk, f"Acme{char}Inc")
    assert info.value.message == f"{label} contains {kind} (U+{ord(char):04X})"
    assert info.value.field == field


@pytest.mark.parametrize("where", [w for w in CASES if w != "contact address"])
@pytest.mark.parametrize("char", ["\t", "\n"])
def test_a_tab_or_line_break_in_one_line_of_text_is_refused(desk, where, char):
    act, _, label = CASES[where]
    with refused(ValidationFailed, code="validation_error") as info:
        act(desk, f"Acme{char}Inc")
    assert info.value.message == f"{label} contains a control character (U+{ord(char):04X})"


@pytest.mark.parametrize("where", CASES)
def test_names_in_any_script_still_pass(desk, where):
    act, _, _ = CASES[where]
    if where == "client's check payee":  # the name passes; the case is not settled yet
        with pytest.raises(ValidationFailed, match="has not been deposited yet"):
            act(desk, "José Ñúñez-محمد 山田")
        return
    act(desk, "José Ñúñez-محمد 山田")


def test_the_firm_name_is_checked_too(db):
    with pytest.raises(ValidationFailed, match=r"^name contains .*\(U\+202E\)$"):
        firms.firm_create(code="evil-pi", name=f"Evil{RLO}Law")
