"""The Treatment tab (issue 16): the tab with its totals, the pop-ups to add treatment,
bills and requests, a refusal shown beside its field (422, nothing written) and a bill's
balance made a lien in one step."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from casebridge.cases.models import Bill, Contact, Lien, MedicalRequest, Treatment
from casebridge.cases.services import medical
from casebridge.cases.services.medical import BillAmounts
from tests.cases.web.conftest import HX, nothing_written, sign_in, text

D = dt.date(2026, 3, 2)


@pytest.fixture
def pclient(client, paralegal):
    """A user with no extra permission: treatment and bills need none."""
    return sign_in(client, paralegal)


@pytest.fixture
def bill(cfirm, paralegal, case) -> Bill:
    provider = medical.provider_for_name(firm=cfirm, actor=paralegal, name="Valley Medical")
    return medical.bill_create(
        firm=cfirm,
        actor=paralegal,
        case_id=case.pk,
        provider_id=provider.pk,
        bill_date=D,
        amounts=BillAmounts(billed=1_250_000, adjustments=250_000, paid_health_insurance=400_000),
    )


def test_the_treatment_tab_shows_bills_and_totals(pclient, case, bill):
    page = text(pclient.get(reverse("cases:case_treatment", args=[case.pk])))
    assert '<h2 id="bills-title">Bills</h2>' in page
    assert 'aria-current="page">Treatment</a>' in page
    assert 'data-figure="specials">$12,500.00<' in page
    assert 'data-figure="adjustments">$2,500.00<' in page
    assert 'data-figure="paid">$4,000.00<' in page
    assert 'data-figure="outstanding">$6,000.00<' in page
    assert "Make lien" in page


def test_the_case_tabs_link_the_treatment_tab(pclient, case):
    page = text(pclient.get(reverse("cases:case_costs", args=[case.pk])))
    assert f'href="{reverse("cases:case_treatment", args=[case.pk])}"' in page


def test_add_treatment_with_a_new_provider(pclient, case):
    response = pclient.post(
        reverse("cases:treatment_new", args=[case.pk]),
        {
            "provider": "Dr. Ruiz Chiropractic",
            "status": "treating",
            "first_visit": "2026-02-01",
            "last_visit": "2026-03-01",
            "note": "twice a week",
        },
        **HX,
    )
    assert response.status_code == 200, text(response)
    assert response["HX-Redirect"] == reverse("cases:case_treatment", args=[case.pk])
    treatment = Treatment.objects.get()
    assert treatment.provider.name == "Dr. Ruiz Chiropractic"
    assert treatment.provider.is_medical_provider
    assert (treatment.first_visit, treatment.last_visit) == (
        dt.date(2026, 2, 1),
        D - dt.timedelta(1),
    )


def test_a_last_visit_before_the_first_is_shown_beside_the_field(pclient, case):
    with nothing_written():
        response = pclient.post(
            reverse("cases:treatment_new", args=[case.pk]),
            {
                "provider": "Dr. Ruiz Chiropractic",
                "status": "treating",
                "first_visit": "2026-02-01",
                "last_visit": "2026-01-31",
            },
            **HX,
        )
    assert response.status_code == 422
    page = text(response)
    assert (
        '<div class="field-error" id="id_last_visit_error"><p>The last visit (2026-01-31)' in page
    )
    assert not Treatment.objects.exists()
    assert not Contact.objects.filter(name="Dr. Ruiz Chiropractic").exists()


def test_add_a_bill_and_a_negative_balance_refused_beside_the_field(pclient, case):
    url = reverse("cases:bill_new", args=[case.pk])
    assert pclient.get(url, **HX).status_code == 200
    data = {
        "provider": "St. Mary ER",
        "bill_date": "2026-02-10",
        "billed": "1,000.00",
        "adjustments": "600.00",
        "paid_health_insurance": "300.00",
        "paid_pip": "100.01",
    }
    with nothing_written():
        response = pclient.post(url, data, **HX)
    assert response.status_code == 422
    assert 'id="id_paid_pip_error"><p>The outstanding balance cannot be negative' in text(response)
    assert not Bill.objects.exists()

    response = pclient.post(url, {**data, "paid_pip": "100.00"}, **HX)
    assert response.status_code == 200, text(response)
    saved = Bill.objects.get()
    assert (saved.billed_cents, saved.outstanding_cents) == (100_000, 0)


def test_make_lien_in_one_step_and_only_once(pclient, case, bill):
    url = reverse("cases:bill_lien", args=[bill.pk])
    assert "$6,000.00" in text(pclient.get(url, **HX))
    response = pclient.post(url, {}, **HX)
    assert response.status_code == 200
    lien = Lien.objects.get()
    assert (lien.kind, lien.claimed_cents, lien.holder.name) == (
        "medical",
        600_000,
        "Valley Medical",
    )
    bill.refresh_from_db()
    assert bill.lien_id == lien.pk

    response = pclient.post(url, {}, **HX)
    assert response.status_code == 422
    assert "already a lien on the settlement" in text(response)
    assert Lien.objects.count() == 1


def test_a_records_request_shows_its_status(pclient, case):
    response = pclient.post(
        reverse("cases:medical_request_new", args=[case.pk]),
        {
            "provider": "Valley Medical",
            "records_requested_on": "2026-02-01",
            "follow_up_on": "2026-02-15",
        },
        **HX,
    )
    assert response.status_code == 200, text(response)
    request = MedicalRequest.objects.get()
    page = text(pclient.get(reverse("cases:case_treatment", args=[case.pk])))
    assert 'data-request-status="overdue">Overdue<' in page
    response = pclient.post(
        reverse("cases:medical_request_edit", args=[request.pk]),
        {"records_requested_on": "2026-02-01", "records_received_on": "2026-02-20"},
        **HX,
    )
    assert response.status_code == 200, text(response)
    page = text(pclient.get(reverse("cases:case_treatment", args=[case.pk])))
    assert 'data-request-status="received">Received<' in page


def test_another_firms_bill_is_not_found(pclient, cfirm, case):
    from casebridge.cases.services import cases as case_services
    from casebridge.cases.services import firms
    from tests.cases.conftest import PASSWORD

    other = firms.firm_create(code="jones-pi", name="Jones Injury Law")
    admin = firms.user_create(
        firm=other, actor=None, email="a@jones.test", password=PASSWORD, is_firm_admin=True
    )
    client_ = case_services.contact_create(firm=other, actor=admin, name="Jones Client")
    their_case = case_services.case_create(
        firm=other, actor=admin, name="Jones v. One", client_id=client_.pk
    )
    theirs = medical.bill_create(
        firm=other,
        actor=admin,
        case_id=their_case.pk,
        provider_id=client_.pk,
        bill_date=D,
        amounts=BillAmounts(billed=100),
    )
    assert pclient.get(reverse("cases:bill_edit", args=[theirs.pk]), **HX).status_code == 404
    assert pclient.post(reverse("cases:bill_lien", args=[theirs.pk]), {}, **HX).status_code == 404
    assert pclient.get(reverse("cases:case_treatment", args=[their_case.pk])).status_code == 404


def test_each_card_header_holds_its_title_and_buttons_not_the_table(pclient, case, bill):
    html = pclient.get(reverse("cases:case_treatment", args=[case.pk])).content.decode()
    headers = html.split('<div class="card-header">')[1:]
    assert len(headers) == 3
    for header in headers:
        assert "<table" not in header.split("</div>", 1)[0]
