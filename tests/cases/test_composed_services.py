"""The pop-ups' compositions, now services (issue 14): a named contact found or added and
the write it is for, both or neither; a refusal leaves no stray contact."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.cases.errors import DomainError
from casebridge.cases.models import Case, Contact, Cost, CostStatus, Lien, Negotiation
from casebridge.cases.selectors.contacts import contact_names
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs as cost_services
from casebridge.cases.services import settlement as settlement_services

from .conftest import cost_code


def contacts(firm) -> list[str]:
    return sorted(Contact.objects.filter(firm=firm).values_list("name", flat=True))


def test_case_open_adds_the_client_and_the_case(cfirm, cadmin, cattorney):
    case = case_services.case_open(
        firm=cfirm,
        actor=cadmin,
        client_name="Ana Ruiz",
        client_phone="555-0199",
        client_date_of_birth=dt.date(1990, 1, 2),
        name="Ruiz v. Acme",
        responsible_attorney_id=cattorney.pk,
        status="open",
    )
    assert (case.name, case.client.name, case.client.phone) == (
        "Ruiz v. Acme",
        "Ana Ruiz",
        "555-0199",
    )
    assert case.client.date_of_birth == dt.date(1990, 1, 2)
    assert case.responsible_attorney == cattorney


def test_case_open_refusing_the_case_leaves_no_client(cfirm, cadmin, paralegal):
    with pytest.raises(DomainError) as info:
        case_services.case_open(
            firm=cfirm,
            actor=cadmin,
            client_name="Ana Ruiz",
            name="Ruiz v. Acme",
            responsible_attorney_id=paralegal.pk,  # not an attorney
        )
    assert info.value.field == "responsible_attorney"
    assert contacts(cfirm) == []
    assert not Case.objects.filter(firm=cfirm).exists()


def test_case_open_names_the_client_s_field_in_a_refusal_of_the_client(cfirm, cadmin):
    with pytest.raises(DomainError) as info:
        case_services.case_open(
            firm=cfirm,
            actor=cadmin,
            client_name="Ana Ruiz",
            client_date_of_birth=dt.date(2999, 1, 1),
            name="Ruiz v. Acme",
        )
    assert (info.value.field, info.value.message) == (
        "client_date_of_birth",
        "the date of birth is in the future",
    )
    assert contacts(cfirm) == []


def test_a_cost_to_a_new_payee_adds_the_payee_and_a_known_one_is_found_again(cfirm, cadmin, case):
    code = cost_code(cfirm, "E101").pk
    first = cost_services.cost_create_for_payee(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        payee_name="Records Inc",
        amount_cents=1250,
        cost_code_id=code,
    )
    again = cost_services.cost_create_for_payee(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        payee_name="records inc",
        amount_cents=300,
        cost_code_id=code,
    )
    assert first.payee_id == again.payee_id
    assert (first.amount_cents, again.amount_cents) == (1250, 300)
    assert contacts(cfirm) == ["Maria Lopez", "Records Inc"]
    assert contact_names(cfirm, "payee") == ["Records Inc"]


def test_a_refused_cost_leaves_no_stray_payee(cfirm, cadmin, case):
    with pytest.raises(DomainError):
        cost_services.cost_create_for_payee(
            firm=cfirm,
            actor=cadmin,
            case_id=case.pk,
            payee_name="New Payee",
            amount_cents=0,
            cost_code_id=cost_code(cfirm, "E101").pk,
        )
    assert contacts(cfirm) == ["Maria Lopez"]
    assert not Cost.objects.filter(firm=cfirm).exists()


def test_cost_update_for_payee_answers_what_changed(cfirm, cadmin, case):
    cost = cost_services.cost_create_for_payee(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        payee_name="Records Inc",
        amount_cents=1250,
        cost_code_id=cost_code(cfirm, "E101").pk,
    )
    same = cost_services.cost_update_for_payee(
        firm=cfirm, actor=cadmin, cost_id=cost.pk, payee_name="RECORDS INC"
    )
    assert same == {}
    changed = cost_services.cost_update_for_payee(
        firm=cfirm, actor=cadmin, cost_id=cost.pk, payee_name="Imaging LLC", memo="x-rays"
    )
    cost.refresh_from_db()
    assert changed == {"memo": "x-rays", "payee_id": cost.payee_id}
    assert (cost.payee.name, cost.memo) == ("Imaging LLC", "x-rays")


def test_costs_void_is_all_or_nothing(cfirm, cadmin, case):
    code = cost_code(cfirm, "E101").pk
    costs = [
        cost_services.cost_create_for_payee(
            firm=cfirm,
            actor=cadmin,
            case_id=case.pk,
            payee_name="Records Inc",
            amount_cents=cents,
            cost_code_id=code,
        )
        for cents in (100, 200)
    ]
    cost_services.cost_void(firm=cfirm, actor=cadmin, cost_id=costs[1].pk, reason="twice")
    with pytest.raises(DomainError):  # the second is void already
        cost_services.costs_void(
            firm=cfirm, actor=cadmin, cost_ids=[c.pk for c in costs], reason="wrong case"
        )
    costs[0].refresh_from_db()
    assert costs[0].status != CostStatus.VOID
    cost_services.costs_void(firm=cfirm, actor=cadmin, cost_ids=[costs[0].pk], reason="x")
    costs[0].refresh_from_db()
    assert costs[0].status == CostStatus.VOID


def test_a_negotiation_and_a_lien_name_their_contact(cfirm, cadmin, case):
    neg = settlement_services.negotiation_record_for_party(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        kind="offer",
        party_name="Acme Insurance",
        amount_cents=5_000_000,
    )
    lien = settlement_services.lien_create_for_holder(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        kind="medical",
        holder_name="City Hospital",
        claimed_cents=120_000,
    )
    assert (neg.party.name, neg.amount_cents) == ("Acme Insurance", 5_000_000)
    assert (lien.holder.name, lien.claimed_cents) == ("City Hospital", 120_000)
    assert contact_names(cfirm, "party") == ["Acme Insurance", "City Hospital"]


def test_a_refused_negotiation_or_lien_leaves_no_stray_contact(cfirm, cadmin, case):
    with pytest.raises(DomainError) as refused_offer:
        settlement_services.negotiation_record_for_party(
            firm=cfirm,
            actor=cadmin,
            case_id=case.pk,
            kind="offer",
            party_name="Acme",
            amount_cents=0,
        )
    assert refused_offer.value.field == "amount"
    with pytest.raises(DomainError) as refused_kind:
        settlement_services.lien_create_for_holder(
            firm=cfirm,
            actor=cadmin,
            case_id=case.pk,
            kind="no-such-kind",
            holder_name="City Hospital",
            claimed_cents=100,
        )
    assert refused_kind.value.field == "kind"
    with pytest.raises(DomainError) as info:
        settlement_services.lien_create_for_holder(
            firm=cfirm,
            actor=cadmin,
            case_id=case.pk,
            kind="medical",
            holder_name="City\u200bHospital",
            claimed_cents=100,
        )
    assert info.value.field == "holder"
    assert contacts(cfirm) == ["Maria Lopez"]
    assert not Negotiation.objects.filter(firm=cfirm).exists()
    assert not Lien.objects.filter(firm=cfirm).exists()
