"""Review of the case audit trail (issue 16): any valid date is read (never a 500); one bad
filter shows its error and no rows (the CSV answers 400) rather than the whole firm; every
kind of record has its label; a case's trail has its disbursements, links and providers;
a medical bill's treatment reads as the provider and first visit, never its id."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from casebridge.cases.models import TrustItem, TrustItemKind
from casebridge.cases.selectors.audit_trail import (
    ENTITY_LABELS,
    AuditFilters,
    audit_events,
    audit_rows,
)
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import disbursement, medicare, settlement
from casebridge.cases.services import medical as med
from casebridge.cases.services.medical import BillAmounts
from casebridge.core.models import AuditEvent
from tests.cases.api.conftest import ApiClient, issue
from tests.cases.helpers import add_cost, new_case
from tests.cases.medicare_world import DEMAND_ON, worked_settlement
from tests.cases.web.conftest import sign_in, text


def summaries(firm, case, **filters):
    return [e.summary for e in audit_events(firm=firm, filters=AuditFilters(**filters), case=case)]


@pytest.mark.parametrize("until", ["9999-12-31", "9999-12-30"])
def test_the_last_valid_day_is_read_not_a_500(cfirm, cadmin, case, until):
    add_cost(cfirm, cadmin, case, 12_500, payee="Records Inc")
    client = sign_in(Client(), cadmin)
    for url in (f"/cases/audit/?until={until}", f"/cases/{case.pk}/audit/"):
        page = client.get(f"{url}{'&' if '?' in url else '?'}until={until}&since=0001-01-01")
        assert page.status_code == 200
        assert f"Cost $125.00 added to case {case.number}" in text(page)
    reply = ApiClient(Client(), issue(cfirm, cadmin)).get(
        f"/audit-events?until={until}&since=0001-01-01"
    )
    assert reply.status == 200
    assert f"Cost $125.00 added to case {case.number}" in [
        i["summary"] for i in reply.body["items"]
    ]


def test_one_bad_filter_shows_its_error_and_no_rows(cfirm, cadmin, case):
    other = new_case(cfirm, cadmin, "Tom Baker")
    add_cost(cfirm, cadmin, other, 99_900, payee="Elsewhere Towing")
    client = sign_in(Client(), cadmin)
    page = text(client.get(f"/cases/audit/?case={case.number}&since=2026-13-45"))
    assert "Enter a valid date." in page
    assert "Correct the filters to see the events." in page
    assert "data-audit-row" not in page
    assert "$999.00" not in page
    page = text(client.get(f"/cases/{case.pk}/audit/?entity=no_such_thing"))
    assert "data-audit-row" not in page


def test_the_csv_export_refuses_a_bad_filter_with_the_reason(cfirm, cadmin, case):
    other = new_case(cfirm, cadmin, "Tom Baker")
    add_cost(cfirm, cadmin, other, 99_900, payee="Elsewhere Towing")
    client = sign_in(Client(), cadmin)
    reply = client.get(f"/cases/{case.pk}/audit/export.csv?entity=no_such_thing")
    assert reply.status_code == 400
    assert reply.content.decode() == (
        "The filters are not valid, so nothing was exported. Record: Select a valid choice. "
        "no_such_thing is not one of the available choices.\n"
    )
    reply = client.get("/cases/audit/export.csv?since=2026-13-45")
    assert reply.status_code == 400
    assert reply.content.decode().endswith("From: Enter a valid date.\n")


def test_every_kind_of_record_has_a_label():
    for entity in (
        "treatment",
        "medical_bill",
        "medical_request",
        "lien_reduction",
        "deadline",
        "limitation_rule",
    ):
        assert entity in ENTITY_LABELS
    assert ENTITY_LABELS["medical_bill"] == "Medical bill"


def test_a_cases_trail_has_its_disbursements_links_and_providers(cfirm, cadmin, case):
    worked_settlement(cfirm, cadmin, case)
    medicare.medicare_step_record(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        kind="final_demand",
        on=DEMAND_ON,
        amount_cents=1_500_000,
    )
    settlement.push_to_disbursement(firm=cfirm, actor=cadmin, case_id=case.pk)
    check = TrustItem.objects.get(case=case, kind=TrustItemKind.CLIENT)
    disbursement.trust_items_record_checks_printed(
        firm=cfirm, actor=None, printed=[(check.pk, "1042", dt.date(2026, 3, 20))]
    )
    assert summaries(cfirm, case, entity="trust_item", action="disburse") == [
        f"Case {case.number}: Client's final check of $113,175.00 to Maria Lopez: paid by "
        "trust check 1042 (printed in the books)"
    ]

    other = new_case(cfirm, cadmin, "Tom Baker")
    case_services.cases_link(case=case, other_case_id=other.pk, actor=cadmin)
    case_services.cases_unlink(case=other, other_case_id=case.pk, actor=cadmin)
    assert summaries(cfirm, other, action="link") == [
        f"Case {other.number}: linked to case {case.number}"
    ]
    assert summaries(cfirm, case, action="unlink") == [
        f"Case {case.number}: unlinked from case {other.number}"
    ]

    plain = case_services.contact_create(firm=cfirm, actor=cadmin, name="Valley Medical")
    med.treatment_create(
        firm=cfirm, actor=cadmin, case_id=case.pk, provider_id=plain.pk, first_visit=DEMAND_ON
    )
    assert summaries(cfirm, case, entity="contact") == [
        f"Case {case.number}: Valley Medical is a medical provider"
    ]


def test_a_bills_treatment_reads_as_its_provider_and_first_visit(cfirm, cadmin, case):
    provider = case_services.contact_create(
        firm=cfirm, actor=cadmin, name="Valley Medical", is_medical_provider=True
    )
    treatment = med.treatment_create(
        firm=cfirm, actor=cadmin, case_id=case.pk, provider_id=provider.pk, first_visit=DEMAND_ON
    )
    med.bill_create(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        treatment_id=treatment.pk,
        bill_date=DEMAND_ON,
        amounts=BillAmounts(billed=120_000),
    )
    event = AuditEvent.objects.get(entity_type="medical_bill")
    [row] = audit_rows(firm=cfirm, events=[event])
    [shown] = [c for c in row.changes if c.label == "Treatment"]
    assert shown.after == "Valley Medical, first visit 2026-03-10"
    assert row.entity_label == "Medical bill"
