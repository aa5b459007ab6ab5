"""Helpers shared by the cases side's service tests: short ways to add costs, record offers,
deposit checks, accept liens and stage payments, and a snapshot of every row the cases side
writes, so a refusal can be shown to have written nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db.models import Max

from casebridge.cases.models import (
    Case,
    CaseType,
    Contact,
    Cost,
    CostCode,
    Deposit,
    FeeChangeRequest,
    Firm,
    Lien,
    Negotiation,
    Settlement,
    TrustItem,
    User,
)
from casebridge.cases.selectors.settlement import SettlementFigures, settlement_figures
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs, settlement
from casebridge.core.models import AuditEvent

D = dt.date(2026, 3, 2)

#: Every table the cases side writes; the snapshot holds every field of every row.
WRITTEN = (
    Firm,
    User,
    Contact,
    CaseType,
    Case,
    Case.linked_cases.through,
    CostCode,
    Cost,
    Settlement,
    Negotiation,
    Deposit,
    Lien,
    TrustItem,
    FeeChangeRequest,
)


def snapshot() -> dict[str, Any]:
    """The count and every field of every row of the cases side's tables, and the audit
    log's count and newest id."""
    state: dict[str, Any] = {
        model._meta.label: list(model._default_manager.order_by("pk").values_list())
        for model in WRITTEN
    }
    state["counts"] = {
        "costs": Cost.objects.count(),
        "trust_items": TrustItem.objects.count(),
        "deposits": Deposit.objects.count(),
        "negotiations": Negotiation.objects.count(),
        "liens": Lien.objects.count(),
        "fee_change_requests": FeeChangeRequest.objects.count(),
        "audit": AuditEvent.objects.count(),
    }
    state["audit_last"] = AuditEvent.objects.aggregate(m=Max("pk"))["m"]
    return state


def assert_unchanged(before: dict[str, Any]) -> None:
    after = snapshot()
    changed = [key for key in before if before[key] != after[key]]
    assert not changed, f"a refused operation wrote to {', '.join(changed)}"


@contextmanager
def refused(
    error: type[Exception], *, code: str, match: str | None = None
) -> Iterator[pytest.ExceptionInfo[Any]]:
    """Expect a refusal of class ``error`` with ``code`` (and a message matching ``match``)
    that wrote nothing at all."""
    before = snapshot()
    with pytest.raises(error, match=match) as info:
        yield info
    assert type(info.value) is error, f"{type(info.value).__name__} is not {error.__name__}"
    assert info.value.code == code  # type: ignore[attr-defined]
    assert_unchanged(before)


@contextmanager
def writes_nothing() -> Iterator[None]:
    """The block succeeds and leaves every row as it was."""
    before = snapshot()
    yield
    assert_unchanged(before)


# --- short ways to do what a case manager does ------------------------------------------


def contact(firm: Firm, name: str) -> Contact:
    """The firm's contact of that name, added on first use."""
    found = Contact.objects.filter(firm=firm, name=name).first()
    return found or case_services.contact_create(firm=firm, actor=None, name=name)


def code_of(firm: Firm, code: str) -> CostCode:
    return CostCode.objects.get(firm=firm, code=code)


def new_case(
    firm: Firm, actor: User | None, client: str = "Tom Baker", *, name: str = "", **kw: Any
) -> Case:
    return case_services.case_create(
        firm=firm,
        actor=actor,
        name=name or f"{client} v. City Bus",
        client_id=contact(firm, client).pk,
        status=kw.pop("status", "open"),
        **kw,
    )


def add_cost(
    firm: Firm,
    actor: User | None,
    case: Case,
    cents: int,
    *,
    cost_code: str = "E112",
    payee: str = "Records Inc",
    **kw: Any,
) -> Cost:
    return costs.cost_create(
        firm=firm,
        actor=actor,
        case_id=case.pk,
        payee_id=contact(firm, payee).pk,
        amount_cents=cents,
        cost_code_id=code_of(firm, cost_code).pk,
        cost_date=kw.pop("cost_date", D),
        **kw,
    )


def offer(
    firm: Firm,
    actor: User,
    case: Case,
    cents: int,
    *,
    payer: str = "Acme Insurance",
    accept: bool = True,
) -> Negotiation:
    """An offer received from ``payer``, accepted unless told otherwise."""
    neg = settlement.negotiation_record(
        firm=firm,
        actor=actor,
        case_id=case.pk,
        kind="offer",
        party_id=contact(firm, payer).pk,
        amount_cents=cents,
        made_on=D,
    )
    if accept:
        neg = settlement.offer_accept(firm=firm, actor=actor, negotiation_id=neg.pk, on=D)
    return neg


def deposit(
    firm: Firm, actor: User, case: Case, accepted: Negotiation, cents: int, check: str = "88123"
) -> Deposit:
    return settlement.deposit_record(
        firm=firm,
        actor=actor,
        case_id=case.pk,
        offer_id=accepted.pk,
        amount_cents=cents,
        check_number=check,
        deposited_on=D,
    )


def lien(
    firm: Firm,
    actor: User,
    case: Case,
    claimed: int,
    *,
    final: int | None = None,
    holder: str = "Valley Medical",
    kind: str = "medical",
    paid_direct: bool = False,
) -> Lien:
    """A lien claimed for ``claimed``; accepted at ``final`` when one is given."""
    created = settlement.lien_create(
        firm=firm,
        actor=actor,
        case_id=case.pk,
        kind=kind,
        holder_id=contact(firm, holder).pk,
        claimed_cents=claimed,
        paid_direct=paid_direct,
    )
    if final is not None:
        created = settlement.lien_accept(
            firm=firm, actor=actor, lien_id=created.pk, final_cents=final, on=D
        )
    return created


def stage(
    firm: Firm,
    actor: User,
    case: Case,
    kind: str,
    amount: int | None = None,
    *,
    of: Lien | None = None,
    note: str = "",
) -> TrustItem:
    return settlement.trust_item_stage(
        firm=firm,
        actor=actor,
        case_id=case.pk,
        kind=kind,
        amount_cents=amount,
        lien_id=of.pk if of is not None else None,
        note=note,
    )


def terms(firm: Firm, actor: User, case: Case, **changes: Any):
    """Settlement terms as they are, with ``changes`` applied (Settlement tab -> Edit)."""
    current = Settlement.objects.get(case=case)
    values = {
        "fee_mode": current.fee_mode,
        "fee_rate_bp": current.fee_rate_bp,
        "fee_fixed_cents": current.fee_fixed_cents,
        "fee_on_net_of_costs": current.fee_on_net_of_costs,
        "copp_cents": current.copp_cents,
        "property_damage_fee_cents": current.property_damage_fee_cents,
        **changes,
    }
    return settlement.settlement_terms_update(firm=firm, actor=actor, case_id=case.pk, **values)


def figures(case: Case) -> SettlementFigures:
    return settlement_figures(case=case)


def staged(case: Case) -> list[tuple[str, int, str]]:
    """The case's trust items as (kind, amount, status), in staging order."""
    return list(
        TrustItem.objects.filter(case=case)
        .order_by("pk")
        .values_list("kind", "amount_cents", "status")
    )


def audits(entity_type: str, entity_id: object = None, action: str | None = None):
    qs = AuditEvent.objects.filter(system="cases", entity_type=entity_type).order_by("pk")
    if entity_id is not None:
        qs = qs.filter(entity_id=str(entity_id))
    if action is not None:
        qs = qs.filter(action=action)
    return list(qs)


def last_audit() -> AuditEvent:
    event = AuditEvent.objects.filter(system="cases").order_by("-pk").first()
    assert event is not None
    return event
