"""The settlement statement (closing statement): the worked example of domain.md shown to
the cent on the statement, the printable HTML page and the PDF download, and who may see
them.

The views are reached through a test-only urlconf (this module's ``urlpatterns``) with
the route names the screens use, so the tests do not depend on cases/views/urls.py.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.test import Client
from django.urls import include, path, reverse

from casebridge.cases.auth import SESSIONS
from casebridge.cases.errors import NotFound
from casebridge.cases.models import Case, Firm, User
from casebridge.cases.selectors.statement import settlement_statement
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs, firms, settlement, two_factor
from casebridge.cases.views.statement import statement_html, statement_pdf
from casebridge.core.pdf import unicode_text
from casebridge.core.text import pdf_text
from tests.cases.conftest import PASSWORD, cost_code
from tests.twofactor import enrol

D = dt.date(2026, 3, 2)


def _login_page(request):
    return HttpResponse("login")


urlpatterns = [
    path(
        "cases/",
        include(
            (
                [
                    path("login/", _login_page, name="login"),
                    path("<int:pk>/settlement/", _login_page, name="case_settlement"),
                    path("<int:case_id>/statement/", statement_html, name="statement"),
                    path("<int:case_id>/statement.pdf", statement_pdf, name="statement_pdf"),
                ],
                "cases",
            )
        ),
    )
]

pytestmark = pytest.mark.urls(__name__)


def build_worked_example(firm: Firm, actor: User, case: Case, *, push: bool = True) -> None:
    """domain.md's worked settlement: gross 250,000.00 from one insurer; fee 33.33%;
    costs 5,000.00 + 3,500.00 (and a void one that must not count); liens claimed
    31,000.00 + 16,000.00, accepted 30,000.00 + 15,000.00; everything staged."""
    contact = case_services.contact_create
    insurer = contact(firm=firm, actor=actor, name="Acme Insurance")
    expert = contact(firm=firm, actor=actor, name="Dr. Reyes Forensics")
    records = contact(firm=firm, actor=actor, name="Records Inc")
    for payee, cents, code, memo in [
        (expert, 500_000, "E119", "Accident reconstruction report"),
        (records, 350_000, "MEDREC", "Valley Medical chart"),
        (records, 99_900, "E101", "Duplicate copies"),
    ]:
        cost = costs.cost_create(
            firm=firm,
            actor=actor,
            case_id=case.pk,
            payee_id=payee.pk,
            amount_cents=cents,
            cost_code_id=cost_code(firm, code).pk,
            cost_date=D - dt.timedelta(days=30),
            memo=memo,
        )
        if memo == "Duplicate copies":
            costs.cost_void(firm=firm, actor=actor, cost_id=cost.pk, reason="entered twice")
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
    for name, kind, cents in [
        ("Valley Medical Center", "medical", 3_000_000),
        ("Blue Shield", "health_insurance", 1_500_000),
    ]:
        holder = contact(firm=firm, actor=actor, name=name)
        lien = settlement.lien_create(
            firm=firm,
            actor=actor,
            case_id=case.pk,
            kind=kind,
            holder_id=holder.pk,
            claimed_cents=cents + 100_000,
        )
        settlement.lien_accept(firm=firm, actor=actor, lien_id=lien.pk, final_cents=cents, on=D)
        settlement.trust_item_stage(
            firm=firm, actor=actor, case_id=case.pk, kind="lien", lien_id=lien.pk
        )
    settlement.trust_item_stage(firm=firm, actor=actor, case_id=case.pk, kind="fee")
    settlement.trust_item_stage(firm=firm, actor=actor, case_id=case.pk, kind="cost_reimbursement")
    if push:
        settlement.push_to_client_trust(firm=firm, actor=actor, case_id=case.pk)


@pytest.fixture
def worked(cfirm, cadmin, case):
    build_worked_example(cfirm, cadmin, case)
    return case


def signed_in(user: User) -> Client:
    if two_factor.totp_required(user):  # past both factors
        enrol(user)
    client = Client()
    session = client.session
    session.update(SESSIONS.values(user))
    session.save()
    return client


# --- the statement's figures --------------------------------------------------------------


def test_the_worked_example_statement_shows_every_figure_to_the_cent(cfirm, worked):
    st = settlement_statement(firm=cfirm, case_id=worked.pk, on=dt.date(2026, 3, 10))

    assert (st.firm_name, st.case_number, st.caption) == (
        "Lopez Injury Attorneys",
        worked.number,
        "Lopez v. Acme Trucking",
    )
    assert (st.client_name, st.attorney_name) == ("Maria Lopez", "Sam Smith")
    assert st.statement_date == dt.date(2026, 3, 10)

    assert [(s.payer, s.amount_cents, s.deposited_cents) for s in st.sources] == [
        ("Acme Insurance", 25_000_000, 25_000_000)
    ]
    assert [(d.check_number, d.amount_cents) for d in st.deposits] == [("88123", 25_000_000)]
    assert st.gross_cents == 25_000_000

    assert st.fee_is_percentage
    assert st.fee_rate_label == "33.33%"
    assert st.fee_base_cents == 25_000_000
    assert st.fee_cents == 8_332_500

    assert [(c.payee, c.code, c.memo, c.amount_cents) for c in st.costs] == [
        ("Dr. Reyes Forensics", "E119", "Accident reconstruction report", 500_000),
        ("Records Inc", "MEDREC", "Valley Medical chart", 350_000),
    ]  # the void cost is not on the statement
    assert st.costs_cents == 850_000 == sum(c.amount_cents for c in st.costs)

    assert [
        (ln.holder, ln.claimed_cents, ln.final_cents, ln.accepted, ln.paid_label) for ln in st.liens
    ] == [
        ("Valley Medical Center", 3_100_000, 3_000_000, True, "Staged from trust"),
        ("Blue Shield", 1_600_000, 1_500_000, True, "Staged from trust"),
    ]
    assert st.liens_claimed_cents == 4_700_000
    assert st.liens_accepted_cents == st.liens_cents == 4_500_000

    assert st.net_to_client_cents == 11_317_500
    assert st.client_check is not None
    assert (st.client_check.payee, st.client_check.amount_cents) == ("Maria Lopez", 11_317_500)
    assert not st.net_differs_from_client_check
    assert sorted(p.amount_cents for p in st.trust_payments) == [
        850_000,
        1_500_000,
        3_000_000,
        8_332_500,
    ]
    assert st.paid_from_trust_cents == st.deposited_cents == 25_000_000
    assert st.trust_remaining_cents == 0
    assert st.is_final
    assert st.open_points == []


def test_a_statement_before_push_to_client_trust_is_a_draft_with_the_reason(cfirm, cadmin, case):
    build_worked_example(cfirm, cadmin, case, push=False)
    st = settlement_statement(firm=cfirm, case_id=case.pk)
    assert st.net_to_client_cents == 11_317_500
    assert st.client_check is None
    assert not st.is_final
    assert st.open_points == ["the client's check has not been made (Push to Client Trust)"]


def test_an_unaccepted_lien_counts_its_claim_and_keeps_the_statement_a_draft(cfirm, cadmin, case):
    holder = case_services.contact_create(firm=cfirm, actor=cadmin, name="Medicare")
    settlement.lien_create(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        kind="medicare",
        holder_id=holder.pk,
        claimed_cents=120_000,
    )
    st = settlement_statement(firm=cfirm, case_id=case.pk)
    assert st.liens_cents == 120_000
    assert st.liens_accepted_cents == 0
    assert st.liens[0].paid_label == "Not yet accepted"
    assert st.open_points[0] == "no offer has been accepted yet"
    assert "Medicare" in st.open_points[1]


def test_another_firms_case_is_not_found(worked, db):
    other = firms.firm_create(code="other-pi", name="Other PI")
    with pytest.raises(NotFound):
        settlement_statement(firm=other, case_id=worked.pk)


# --- the printable page ----------------------------------------------------------------


def test_the_printable_page_shows_the_worked_example(cattorney, worked):
    response = signed_in(cattorney).get(f"/cases/{worked.pk}/statement/")
    assert response.status_code == 200
    assert {"private", "no-store"} <= set(response["Cache-Control"].replace(" ", "").split(","))
    html = response.content.decode()
    for text in [
        "Settlement Statement",
        "Lopez Injury Attorneys",
        "Lopez v. Acme Trucking",
        worked.number,
        "Maria Lopez",
        "Acme Insurance",
        "$250,000.00",  # gross, by source
        "33.33%",
        "$83,325.00",  # fee
        "Dr. Reyes Forensics",
        "Accident reconstruction report",
        "$5,000.00",
        "$3,500.00",
        "$8,500.00",  # costs
        "Valley Medical Center",
        "$31,000.00",  # claimed
        "$30,000.00",  # accepted
        "$47,000.00",  # total claimed
        "$45,000.00",  # total accepted
        "$113,175.00",  # net to client
        "88123",
        "Client signature",
        "Attorney signature",
        "Sam Smith",
        "/static/cases/statement.css",  # with its @media print rules (no inline style: CSP)
        f'href="/cases/{worked.pk}/statement.pdf"',
        f'href="/cases/{worked.pk}/settlement/"',
    ]:
        assert text in html, text
    assert "$999.00" not in html  # the void cost
    assert "Draft" not in html
    stylesheet = finders.find("cases/statement.css")
    assert stylesheet is not None
    assert "@media print" in Path(stylesheet).read_text()
    summary = re.search(r'<table class="st-table st-summary">(.*?)</table>', html, re.S)
    assert summary is not None
    amounts = re.findall(r"\$[\d,]+\.\d\d", summary.group(1))
    assert amounts == ["$250,000.00", "$83,325.00", "$8,500.00", "$45,000.00", "$113,175.00"]


def test_a_waived_property_damage_fee_and_a_paid_direct_lien_are_shown(cfirm, cadmin, case):
    insurer = case_services.contact_create(firm=cfirm, actor=cadmin, name="Acme Insurance")
    medicare = case_services.contact_create(firm=cfirm, actor=cadmin, name="Medicare")
    offer = settlement.negotiation_record(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        kind="offer",
        party_id=insurer.pk,
        amount_cents=1_000_000,
        made_on=D,
    )
    settlement.offer_accept(firm=cfirm, actor=cadmin, negotiation_id=offer.pk, on=D)
    settlement.settlement_terms_update(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        fee_mode="percent",
        fee_rate_bp=4000,
        fee_fixed_cents=0,
        fee_on_net_of_costs=False,
        copp_cents=2_500,
        property_damage_fee_cents=-10_000,
    )
    lien = settlement.lien_create(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        kind="medicare",
        holder_id=medicare.pk,
        claimed_cents=200_000,
        paid_direct=True,
    )
    settlement.lien_accept(firm=cfirm, actor=cadmin, lien_id=lien.pk, final_cents=150_000)
    settlement.trust_item_stage(
        firm=cfirm, actor=cadmin, case_id=case.pk, kind="lien", lien_id=lien.pk
    )
    costs.cost_create(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        payee_id=insurer.pk,
        amount_cents=30_000,
        cost_code_id=cost_code(cfirm, "E112").pk,
    )
    html = signed_in(cadmin).get(f"/cases/{case.pk}/statement/").content.decode()
    # 10,000.00 - 40% 4,000.00 - costs 300.00 - liens 1,500.00 - COPP 25.00
    # + waiver 100.00 = 4,275.00
    for text in [
        "40%",
        "$4,000.00",
        "Less COPP charges",
        "$25.00",
        "Plus Property Damage Fee waived",
        "$100.00",
        "Paid direct",
        "DO NOT DISTRIBUTE - PAID DIRECT",
        "$4,275.00",
        "Draft",
        "has not been deposited yet",
    ]:
        assert text in html, text


def test_the_statement_needs_a_signed_in_cases_user(worked):
    response = Client().get(f"/cases/{worked.pk}/statement/")
    assert response.status_code == 302
    assert response["Location"].startswith("/cases/login/?next=")
    response = Client().get(f"/cases/{worked.pk}/statement.pdf")
    assert response.status_code == 302


def test_an_inactive_user_is_sent_to_sign_in(cfirm, cadmin, paralegal, worked):
    firms.user_update(user=paralegal, actor=cadmin, is_active=False)
    response = signed_in(paralegal).get(f"/cases/{worked.pk}/statement/")
    assert response.status_code == 302


def test_another_firms_user_gets_404_for_the_page_and_the_pdf(worked, db):
    other = firms.firm_create(code="other-pi", name="Other PI")
    outsider = firms.user_create(
        firm=other, actor=None, email="x@other.test", password=PASSWORD, is_firm_admin=True
    )
    client = signed_in(outsider)
    assert client.get(f"/cases/{worked.pk}/statement/").status_code == 404
    assert client.get(f"/cases/{worked.pk}/statement.pdf").status_code == 404
    assert client.get("/cases/999999/statement/").status_code == 404


# --- the PDF ---------------------------------------------------------------------------


def test_the_pdf_is_a_download_named_after_the_case(cattorney, worked):
    response = signed_in(cattorney).get(f"/cases/{worked.pk}/statement.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="settlement-statement-{worked.number}.pdf"'
    )
    body = response.content
    assert body.startswith(b"%PDF-")
    assert body.rstrip().endswith(b"%%EOF")
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", body))
    assert 1 <= pages <= 3
    assert re.search(rb"/Count\s+" + str(pages).encode(), body)
    assert b"/Title (Settlement statement " + worked.number.encode() + b")" in body


needs_pdftotext = pytest.mark.skipif(
    shutil.which("pdftotext") is None,
    reason="pdftotext (Debian package poppler-utils) is not installed: the PDF's text "
    "cannot be read back",
)


def pdf_text_of(client: Client, case: Case, tmp_path: Path) -> str:
    """The statement PDF's text as pdftotext reads it (layout kept)."""
    pdf = tmp_path / "statement.pdf"
    pdf.write_bytes(client.get(f"/cases/{case.pk}/statement.pdf").content)
    return subprocess.run(  # noqa: S603 - a fixed command on a file the test wrote
        ["pdftotext", "-layout", str(pdf), "-"],  # noqa: S607 - the test is skipped without it
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@needs_pdftotext
def test_the_pdf_shows_the_same_figures_as_the_page(cattorney, worked, tmp_path):
    text = pdf_text_of(signed_in(cattorney), worked, tmp_path)
    for figure in [
        "$250,000.00",
        "33.33%",
        "$83,325.00",
        "$5,000.00",
        "$3,500.00",
        "$8,500.00",
        "$31,000.00",
        "$30,000.00",
        "$47,000.00",
        "$45,000.00",
        "$113,175.00",
        "Accident reconstruction report",
        "Valley Medical Center",
        "Client signature",
        "Attorney signature",
        "SETTLEMENT STATEMENT",
    ]:
        assert figure in text, figure
    assert "$999.00" not in text
    net_line = next(line for line in text.splitlines() if "NET TO CLIENT" in line)
    assert net_line.rstrip().endswith("$113,175.00")  # amounts are right-aligned


def test_a_draft_statement_with_non_latin_names_renders_a_pdf(cfirm, cadmin, cattorney):
    client = case_services.contact_create(
        firm=cfirm, actor=cadmin, name="Zoë Łukasiewicz \u2013 李", address="12 Rue “Haute”\nParis"
    )
    case = case_services.case_create(
        firm=cfirm,
        actor=cadmin,
        name="Łukasiewicz v. Ünited Carriers",
        client_id=client.pk,
        responsible_attorney_id=cattorney.pk,
    )
    response = signed_in(cadmin).get(f"/cases/{case.pk}/statement.pdf")
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-")
    html = signed_in(cadmin).get(f"/cases/{case.pk}/statement/").content.decode()
    assert "Zoë Łukasiewicz \u2013 李" in html
    assert "no offer has been accepted yet" in html


@needs_pdftotext
def test_names_print_in_the_pdf_as_written_not_transliterated(cfirm, cadmin, cattorney, tmp_path):
    client = case_services.contact_create(
        firm=cfirm, actor=cadmin, name="Łukasz Żółć-Дмитриев", address="Ul. Długa 5\nGdańsk"
    )
    case = case_services.case_create(
        firm=cfirm,
        actor=cadmin,
        name="Żółć v. Ünited Carriers",
        client_id=client.pk,
        responsible_attorney_id=cattorney.pk,
    )
    text = pdf_text_of(signed_in(cadmin), case, tmp_path)
    assert "Łukasz Żółć-Дмитриев" in text
    assert "Żółć v. Ünited Carriers" in text
    assert "Ul. Długa 5 Gdańsk" in text


def test_unicode_text_keeps_what_the_font_draws():
    assert unicode_text("李 Wei\u200b\x07") == "? Wei"
    written = "José Żółć \u2013 \u201c\u0414\u043c\u0438\u0442\u0440\u0438\u0439\u201d \u2026"
    assert unicode_text(written) == written


def test_pdf_text_keeps_latin_1_and_transliterates_the_rest():
    assert pdf_text("José Núñez") == "José Núñez"
    assert pdf_text("Łódź \u2013 “quoted” … 李") == 'Lódz - "quoted" ... ?'


@pytest.mark.urls("config.urls")
def test_the_project_routes_serve_the_page_and_the_pdf(cattorney, worked):
    client = signed_in(cattorney)
    page = client.get(reverse("cases:statement", kwargs={"case_id": worked.pk}))
    assert page.status_code == 200
    assert "$113,175.00" in page.content.decode()
    pdf = client.get(reverse("cases:statement_pdf", kwargs={"case_id": worked.pk}))
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF-")


def test_a_fixed_fee_on_a_case_without_costs_or_liens(cfirm, cadmin, case):
    insurer = case_services.contact_create(firm=cfirm, actor=cadmin, name="Acme Insurance")
    offer = settlement.negotiation_record(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        kind="offer",
        party_id=insurer.pk,
        amount_cents=2_000_000,
        made_on=D,
    )
    settlement.offer_accept(firm=cfirm, actor=cadmin, negotiation_id=offer.pk, on=D)
    settlement.settlement_terms_update(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        fee_mode="fixed",
        fee_rate_bp=0,
        fee_fixed_cents=500_000,
        fee_on_net_of_costs=False,
        copp_cents=0,
        property_damage_fee_cents=0,
    )
    st = settlement_statement(firm=cfirm, case_id=case.pk)
    assert (st.fee_is_percentage, st.fee_basis, st.fee_cents) == (False, "Fixed fee", 500_000)
    assert st.net_to_client_cents == 1_500_000
    client = signed_in(cadmin)
    html = client.get(f"/cases/{case.pk}/statement/").content.decode()
    for text in ["Fixed fee as agreed", "$5,000.00", "$15,000.00", "No costs.", "No liens."]:
        assert text in html, text
    assert client.get(f"/cases/{case.pk}/statement.pdf").content.startswith(b"%PDF-")
