"""Contacts and cases: a case is Personal Injury unless told otherwise, has an attorney who
is an attorney and a client of the same firm, and is numbered PI-000001, PI-000002, ..."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.cases.errors import ValidationFailed
from casebridge.cases.models import Case, CaseType, Firm, Settlement
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import firms
from tests.cases.conftest import PASSWORD
from tests.cases.helpers import audits, contact, new_case, refused


@pytest.fixture
def rival(db) -> Firm:
    return firms.firm_create(code="rival-law", name="Rival Law")


@pytest.fixture(autouse=True)
def baker(cfirm):
    """The client of the cases opened here, added before anything is refused."""
    return contact(cfirm, "Tom Baker")


def create(firm, actor, **kw):
    values = {"name": "Baker v. City Bus", "client_id": contact(firm, "Tom Baker").pk, **kw}
    return case_services.case_create(firm=firm, actor=actor, **values)


# --- contacts -------------------------------------------------------------------------------


def test_a_client_contact_keeps_name_address_birth_date_phone_and_email(cfirm, cadmin):
    client = case_services.contact_create(
        firm=cfirm,
        actor=cadmin,
        name="  Maria Lopez ",
        address="12 Elm St\nFresno, CA",
        date_of_birth=dt.date(1985, 4, 12),
        phone=" 555-0100 ",
        email=" maria@example.test ",
    )
    assert (client.name, client.phone, client.email) == (
        "Maria Lopez",
        "555-0100",
        "maria@example.test",
    )
    assert client.date_of_birth == dt.date(1985, 4, 12)
    [event] = audits("contact", client.pk)
    assert event.summary == "Contact Maria Lopez added"


def test_a_contact_needs_a_name_and_a_birth_date_in_the_past(cfirm, cadmin, today):
    with refused(ValidationFailed, code="validation_error") as info:
        case_services.contact_create(firm=cfirm, actor=cadmin, name="   ")
    assert info.value.message == "a name is required"
    tomorrow = today + dt.timedelta(days=1)
    with refused(ValidationFailed, code="validation_error") as info:
        case_services.contact_create(firm=cfirm, actor=cadmin, name="Baby", date_of_birth=tomorrow)
    assert info.value.message == "the date of birth is in the future"


# --- opening a case -------------------------------------------------------------------------


def test_a_case_is_personal_injury_unless_another_type_is_chosen(cfirm, cadmin, today):
    case = create(cfirm, cadmin)
    assert case.case_type.name == "Personal Injury"
    assert case.status == "intake"
    assert case.opened_on == today
    other = CaseType.objects.create(firm=cfirm, name="Workers' Compensation")
    assert create(cfirm, cadmin, case_type_id=other.pk).case_type == other


def test_a_case_takes_its_settlement_terms_from_the_firm_defaults(cfirm, cadmin):
    firms.firm_defaults_update(
        firm=cfirm,
        actor=cadmin,
        default_fee_rate_bp=4000,
        default_copp_cents=12_500,
        default_property_damage_fee_cents=-5_000,
        fee_changes_need_approval=True,
    )
    case = create(cfirm, cadmin)
    terms = Settlement.objects.get(case=case)
    assert (
        terms.fee_mode,
        terms.fee_rate_bp,
        terms.fee_fixed_cents,
        terms.fee_on_net_of_costs,
        terms.copp_cents,
        terms.property_damage_fee_cents,
        terms.pushed_to_client_trust_at,
    ) == ("percent", 4000, 0, False, 12_500, -5_000, None)


def test_cases_are_numbered_in_order_per_firm(cfirm, cadmin, rival):
    numbers = [create(cfirm, cadmin, name=f"Case {n}").number for n in range(3)]
    assert numbers == ["PI-000001", "PI-000002", "PI-000003"]
    assert create(rival, None, client_id=contact(rival, "Ann").pk).number == "PI-000001"
    assert Firm.objects.get(pk=cfirm.pk).next_case_number == 4


def test_a_refused_case_does_not_use_up_a_number(cfirm, cadmin):
    create(cfirm, cadmin)
    with refused(ValidationFailed, code="validation_error") as info:
        create(cfirm, cadmin, status="archived")
    assert info.value.message == "status must be one of intake, open, settled, closed"
    assert create(cfirm, cadmin).number == "PI-000002"


def test_the_responsible_attorney_must_be_an_attorney(cfirm, cadmin, paralegal, cattorney):
    with refused(ValidationFailed, code="validation_error") as info:
        create(cfirm, cadmin, responsible_attorney_id=paralegal.pk)
    assert info.value.message == "Pat Paralegal is not an attorney; choose an attorney"
    assert info.value.field == "responsible_attorney"
    assert create(cfirm, cadmin, responsible_attorney_id=cattorney.pk).responsible_attorney == (
        cattorney
    )


def test_another_firms_client_attorney_or_case_type_is_refused(cfirm, cadmin, rival):
    stranger = contact(rival, "Mallory")
    rival_lawyer = firms.user_create(
        firm=rival, actor=None, email="law@rival.test", password=PASSWORD, is_attorney=True
    )
    rival_type = CaseType.objects.get(firm=rival)
    for field, kw in [
        ("client", {"client_id": stranger.pk}),
        ("responsible_attorney", {"responsible_attorney_id": rival_lawyer.pk}),
        ("case_type", {"case_type_id": rival_type.pk}),
    ]:
        with refused(ValidationFailed, code="validation_error") as info:
            create(cfirm, cadmin, **kw)
        assert info.value.message == f"{field.replace('_', ' ')} not found in this firm"
        assert info.value.field == field
    assert not Case.objects.filter(firm=cfirm).exists()


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"name": "  "}, "a case name is required"),
        ({"status": "archived"}, "status must be one of intake, open, settled, closed"),
        ({"incident_date": dt.date(2999, 1, 1)}, "the incident date is in the future"),
    ],
)
def test_a_case_needs_a_name_a_known_status_and_a_past_incident(cfirm, cadmin, kw, message):
    with refused(ValidationFailed, code="validation_error") as info:
        create(cfirm, cadmin, **kw)
    assert info.value.message == message


def test_opening_a_case_is_audited(cfirm, cadmin):
    case = create(cfirm, cadmin, status="open")
    [event] = audits("case", case.pk)
    assert event.action == "create"
    assert event.after == {"number": "PI-000001", "client": "Tom Baker", "status": "open"}


def test_a_case_changes_status_attorney_and_name(cfirm, cadmin, cattorney, paralegal):
    case = create(cfirm, cadmin)
    case = case_services.case_update(
        case=case,
        actor=cadmin,
        name="Baker v. City Bus Lines",
        status="settled",
        responsible_attorney_id=cattorney.pk,
    )
    fresh = Case.objects.get(pk=case.pk)
    assert (fresh.name, fresh.status, fresh.responsible_attorney_id) == (
        "Baker v. City Bus Lines",
        "settled",
        cattorney.pk,
    )
    event = audits("case", case.pk, "change")[-1]
    assert (event.before["status"], event.after["status"]) == ("intake", "settled")
    with refused(ValidationFailed, code="validation_error") as info:
        case_services.case_update(case=case, actor=cadmin, responsible_attorney_id=paralegal.pk)
    assert info.value.message == "the responsible attorney must be an attorney of this firm"


# --- linked cases ---------------------------------------------------------------------------


def test_linking_is_both_ways_and_audited(cfirm, cadmin, case):
    other = new_case(cfirm, cadmin, "Tom Baker")
    case_services.cases_link(case=case, other_case_id=other.pk, actor=cadmin)
    assert list(other.linked_cases.all()) == [case]
    assert list(case.linked_cases.all()) == [other]
    [event] = audits("case", case.pk, "link")
    assert event.summary == "Case PI-000001: linked to case PI-000002"
    [back] = audits("case", other.pk, "link")
    assert back.summary == "Case PI-000002: linked to case PI-000001"
    case_services.cases_unlink(case=other, other_case_id=case.pk, actor=cadmin)
    assert not case.linked_cases.exists()


def test_a_case_is_not_linked_to_itself_or_to_another_firms_case(cfirm, cadmin, case, rival):
    with refused(ValidationFailed, code="validation_error") as info:
        case_services.cases_link(case=case, other_case_id=case.pk, actor=cadmin)
    assert info.value.message == "a case cannot be linked to itself"
    foreign = create(rival, None, client_id=contact(rival, "Ann").pk)
    with refused(ValidationFailed, code="validation_error") as info:
        case_services.cases_link(case=case, other_case_id=foreign.pk, actor=cadmin)
    assert info.value.message == "the case to link was not found in this firm"
