"""Review of issue 16, the deadlines API: a value outside a list of choices is refused
naming the field as the client sends it, with the values it may take; nothing written."""

from __future__ import annotations

import pytest
from django.test import Client

from casebridge.cases.models import Case, LimitationRule
from tests.cases.api.conftest import ApiClient, issue

CLAIM_TYPES = "'negligence', 'medical_malpractice', 'wrongful_death', 'property_damage' or ''"


@pytest.fixture
def api(cfirm, cadmin) -> ApiClient:
    return ApiClient(Client(), issue(cfirm, cadmin))


def test_a_new_case_with_an_unknown_claim_type_names_claim_type(api, client_contact):
    cases = Case.objects.count()
    reply = api.post(
        "/cases",
        {"name": "Tex v. Mex", "client_id": client_contact.pk, "claim_type": "slip_and_fall"},
    )
    assert reply.status == 422
    assert reply.error["field"] == "claim_type"
    assert reply.error["message"] == f"claim_type: Input should be {CLAIM_TYPES}"
    assert reply.error["details"]["errors"] == [
        {"field": "claim_type", "message": f"Input should be {CLAIM_TYPES}", "type": "enum"}
    ]
    assert Case.objects.count() == cases


def test_an_unknown_key_is_named_as_sent_even_when_it_is_no_identifier(api, client_contact):
    """Only pydantic's union branches (``str-enum[...]``) leave a field's name; a key the
    client sent, such as ``claim-type`` for ``claim_type``, is named."""
    cases = Case.objects.count()
    reply = api.post(
        "/cases", {"name": "Tex v. Mex", "client_id": client_contact.pk, "claim-type": "x"}
    )
    assert reply.status == 422
    assert reply.error["field"] == "claim-type"
    assert Case.objects.count() == cases


def test_a_case_changed_to_an_unknown_claim_type_names_claim_type(
    api, cfirm, cadmin, client_contact
):
    from casebridge.cases.services import cases as case_services

    case = case_services.case_create(
        firm=cfirm, actor=cadmin, name="Lopez v. Acme", client_id=client_contact.pk, status="open"
    )
    reply = api.patch(f"/cases/{case.pk}", {"claim_type": 7})
    assert reply.status == 422
    assert reply.error["field"] == "claim_type"
    assert reply.error["message"] == f"claim_type: Input should be {CLAIM_TYPES}"
    case.refresh_from_db()
    assert case.claim_type == ""


@pytest.mark.parametrize(
    ("field", "allowed"),
    [
        (
            "claim_type",
            "'negligence', 'medical_malpractice', 'wrongful_death' or 'property_damage'",
        ),
        ("rule_type", "'statute', 'government_notice' or 'minor_tolling'"),
        ("period_unit", "'years', 'months' or 'days'"),
    ],
)
def test_a_rule_with_an_unknown_choice_names_the_field_and_its_values(api, cfirm, field, allowed):
    body = {
        "state": "TX",
        "claim_type": "negligence",
        "rule_type": "statute",
        "period_count": 2,
        "period_unit": "years",
        "citation": "Tex. Civ. Prac. & Rem. Code § 16.003",
        field: "bogus",
    }
    reply = api.post("/limitation-rules", body)
    assert (reply.status, reply.error["field"]) == (422, field)
    assert reply.error["message"] == f"{field}: Input should be {allowed}"
    changed = api.patch(f"/limitation-rules/{LimitationRule.objects.first().pk}", {field: "x"})
    assert (changed.status, changed.error["field"]) == (422, field)
    assert LimitationRule.objects.filter(firm=cfirm).count() == 3


def test_the_deadlines_list_with_an_unknown_kind_names_kind(api):
    reply = api.get("/deadlines?kind=court")
    assert (reply.status, reply.error["field"]) == (422, "kind")
    assert reply.error["message"] == "kind: Input should be 'statute', 'notice' or 'manual'"
