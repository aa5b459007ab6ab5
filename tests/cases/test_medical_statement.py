"""The worked settlement (gross $250,000.00; fee 33.33% = $83,325.00; costs $8,500.00;
liens $45,000.00; net $113,175.00) with Valley Medical Center's lien made from its bill:
billed $52,000.00, written off $12,000.00, paid $5,000.00 by health insurance, $2,500.00
by MedPay, $1,000.00 by PIP and $500.00 by the client, so $31,000.00 outstanding became
the lien, accepted at $30,000.00. The statement shows the bill: billed $52,000.00,
reduction $22,000.00 (billed less what the settlement pays), paid $30,000.00."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest

from casebridge.cases.models import Case, Firm, User
from casebridge.cases.selectors.medical import medical_totals
from casebridge.cases.selectors.statement import settlement_statement
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs, medical, settlement
from casebridge.cases.services.medical import BillAmounts
from tests.cases.conftest import cost_code
from tests.cases.web.conftest import sign_in

D = dt.date(2026, 3, 2)


def build_with_a_bill(firm: Firm, actor: User, case: Case) -> None:
    contact = case_services.contact_create
    insurer = contact(firm=firm, actor=actor, name="Acme Insurance")
    records = contact(firm=firm, actor=actor, name="Records Inc")
    for cents, code in [(500_000, "E119"), (350_000, "MEDREC")]:
        costs.cost_create(
            firm=firm,
            actor=actor,
            case_id=case.pk,
            payee_id=records.pk,
            amount_cents=cents,
            cost_code_id=cost_code(firm, code).pk,
            cost_date=D - dt.timedelta(days=30),
        )
    provider = medical.provider_for_name(firm=firm, actor=actor, name="Valley Medical Center")
    treatment = medical.treatment_create(
        firm=firm,
        actor=actor,
        case_id=case.pk,
        provider_id=provider.pk,
        first_visit=D - dt.timedelta(days=30),
        last_visit=D - dt.timedelta(days=5),
        status="finished",
    )
    bill = medical.bill_create(
        firm=firm,
        actor=actor,
        case_id=case.pk,
        treatment_id=treatment.pk,
        service_from=D - dt.timedelta(days=30),
        service_to=D - dt.timedelta(days=5),
        amounts=BillAmounts(
            billed=5_200_000,
            adjustments=1_200_000,
            paid_health_insurance=500_000,
            paid_medpay=250_000,
            paid_pip=100_000,
            paid_client=50_000,
        ),
    )
    offer = settlement.negotiation_record(
        firm=firm,
        actor=actor,
        case_id=case.pk,
        kind="offer",
        party_id=insurer.pk,
        amount_cents=25_000_000,
        made_on=D,
    )
    settlement.offer_accept(firm=firm, actor=actor, negotiation_id=offer.pk, on=D)
    settlement.deposit_record(
        firm=firm,
        actor=actor,
        case_id=case.pk,
        offer_id=offer.pk,
        amount_cents=25_000_000,
        check_number="88123",
        deposited_on=D,
    )
    from_bill = medical.bill_to_lien(firm=firm, actor=actor, bill_id=bill.pk)
    assert from_bill.claimed_cents == 3_100_000
    blue_shield = settlement.lien_create(
        firm=firm,
        actor=actor,
        case_id=case.pk,
        kind="health_insurance",
        holder_id=contact(firm=firm, actor=actor, name="Blue Shield").pk,
        claimed_cents=1_600_000,
    )
    for lien, final in [(from_bill, 3_000_000), (blue_shield, 1_500_000)]:
        settlement.lien_accept(firm=firm, actor=actor, lien_id=lien.pk, final_cents=final, on=D)
        settlement.trust_item_stage(
            firm=firm, actor=actor, case_id=case.pk, kind="lien", lien_id=lien.pk
        )
    settlement.trust_item_stage(firm=firm, actor=actor, case_id=case.pk, kind="fee")
    settlement.trust_item_stage(firm=firm, actor=actor, case_id=case.pk, kind="cost_reimbursement")
    settlement.push_to_client_trust(firm=firm, actor=actor, case_id=case.pk)


@pytest.fixture
def worked(cfirm, cadmin, case):
    build_with_a_bill(cfirm, cadmin, case)
    return case


def test_the_statement_shows_the_bill_billed_reduction_and_paid(cfirm, worked):
    st = settlement_statement(firm=cfirm, case_id=worked.pk, on=dt.date(2026, 3, 10))
    assert st.gross_cents == 25_000_000
    assert st.fee_cents == 8_332_500
    assert st.costs_cents == 850_000
    assert st.liens_cents == 4_500_000
    assert st.net_to_client_cents == 11_317_500
    assert st.client_check is not None
    assert st.client_check.amount_cents == 11_317_500
    assert st.is_final

    assert [(ln.holder, ln.claimed_cents, ln.final_cents) for ln in st.liens] == [
        ("Valley Medical Center", 3_100_000, 3_000_000),
        ("Blue Shield", 1_600_000, 1_500_000),
    ]
    assert [
        (b.provider, b.billed_cents, b.reduction_cents, b.paid_cents, b.accepted)
        for b in st.medical_bills
    ] == [("Valley Medical Center", 5_200_000, 2_200_000, 3_000_000, True)]
    assert (st.medical_billed_cents, st.medical_reduction_cents, st.medical_paid_cents) == (
        5_200_000,
        2_200_000,
        3_000_000,
    )

    totals = medical_totals(case=worked)
    assert (totals.billed_cents, totals.outstanding_cents, totals.lien_cents) == (
        5_200_000,
        3_100_000,
        3_100_000,
    )


def test_the_printable_page_shows_the_medical_bill(cattorney, client, worked):
    page = sign_in(client, cattorney).get(f"/cases/{worked.pk}/statement/").content.decode()
    assert '<h2 id="st-medical">Medical bills</h2>' in page
    assert (
        '<tr><td>Valley Medical Center</td><td class="num">$52,000.00</td>'
        '<td class="num">$22,000.00</td><td class="num">$30,000.00</td></tr>'
    ) in page
    assert "$113,175.00" in page


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext is not installed")
def test_the_pdf_shows_the_medical_bill(cattorney, client, worked, tmp_path):
    pdf = tmp_path / "statement.pdf"
    pdf.write_bytes(sign_in(client, cattorney).get(f"/cases/{worked.pk}/statement.pdf").content)
    text = subprocess.run(  # noqa: S603 - a fixed command on a file the test wrote
        ["pdftotext", "-layout", str(pdf), "-"],  # noqa: S607 - skipped without it
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(
        ln
        for ln in text.splitlines()
        if ln.strip().startswith("Valley Medical Center") and "$52,000.00" in ln
    )
    assert line.split()[-3:] == ["$52,000.00", "$22,000.00", "$30,000.00"]
    assert "Total medical bills" in text
    net_line = next(ln for ln in text.splitlines() if "NET TO CLIENT" in ln)
    assert net_line.rstrip().endswith("$113,175.00")


def test_a_statement_without_bills_has_no_medical_section(cfirm, cadmin, case, cattorney, client):
    page = sign_in(client, cattorney).get(f"/cases/{case.pk}/statement/").content.decode()
    assert "st-medical" not in page
