"""The cases side in real Chromium: an attorney (with the Costs management and Deposit
settlement checks permissions) adds costs, splits one across a linked case, records and
accepts an offer, deposits the check, stages the fee, the cost reimbursement and a lien,
pushes to client trust and sees $0.00 remaining; a user without the deposit permission
does not see the deposit action. Each step is checked on the page and in the database."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from casebridge.cases.models import (
    Case,
    Cost,
    CostStatus,
    Deposit,
    Lien,
    Negotiation,
    Permission,
    TrustItem,
    TrustItemKind,
    TrustItemStatus,
    User,
)
from casebridge.cases.selectors.settlement import settlement_figures
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs, firms, settlement
from tests.browser.conftest import row_action, second_factor
from tests.twofactor import enrol

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
SHOTS = Path(os.environ.get("CASEBRIDGE_SCREENSHOT_DIR", tempfile.gettempdir()))
SETTLEMENT_SHOT = SHOTS / "cases-settlement.png"
COSTS_SHOT = SHOTS / "cases-costs-management.png"
SPLIT_SHOT = SHOTS / "cases-split.png"


@pytest.fixture
def lopez(db):
    firm = firms.firm_create(code="lopez-pi", name="Lopez Injury Attorneys")
    admin = firms.user_create(
        firm=firm,
        actor=None,
        email="admin@lopez.test",
        password=PASSWORD,
        first_name="Ana",
        last_name="Admin",
        is_firm_admin=True,
    )
    enrol(admin)  # two-factor sign-in, the fixed secret
    attorney = firms.user_create(
        firm=firm,
        actor=None,
        email="sam.smith@lopez.test",
        password=PASSWORD,
        first_name="Sam",
        last_name="Smith",
        is_attorney=True,
        perm_costs_management=True,
        perm_deposit_settlement=True,
    )
    enrol(attorney)
    paralegal = firms.user_create(
        firm=firm,
        actor=None,
        email="pat@lopez.test",
        password=PASSWORD,
        first_name="Pat",
        last_name="Paralegal",
    )
    contact = case_services.contact_create
    maria = contact(firm=firm, actor=admin, name="Maria Lopez", phone="555-0100")
    luis = contact(firm=firm, actor=admin, name="Luis Lopez")
    case = case_services.case_create(
        firm=firm,
        actor=admin,
        name="Lopez v. Acme Trucking",
        client_id=maria.pk,
        responsible_attorney_id=attorney.pk,
        status="open",
    )
    passenger = case_services.case_create(
        firm=firm,
        actor=admin,
        name="L. Lopez v. Acme Trucking",
        client_id=luis.pk,
        responsible_attorney_id=attorney.pk,
        status="open",
    )
    return {
        "firm": firm,
        "attorney": attorney,
        "paralegal": paralegal,
        "case": case,
        "passenger": passenger,
    }


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/cases/login/")
    page.get_by_label("Firm ID").fill("lopez-pi")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    second_factor(page, base, "cases", "lopez-pi", email)
    expect(page).to_have_url(f"{base}/cases/")


def dialog(page: Page, name: str) -> Locator:
    box = page.get_by_role("dialog", name=name)
    expect(box).to_be_visible()
    return box


def toast(page: Page, text: str) -> None:
    expect(page.locator("#messages").get_by_text(text)).to_be_visible()


@contextmanager
def swapped_and_settled(page: Page) -> Iterator[None]:
    """Wait, after the actions inside, for htmx to finish settling a swap (so that the new
    content's inputs listen before the test types into them)."""
    # a live sum's own swap (#split-sum, 20 ms settle) may still settle after the actions
    # start: it is not the swap waited for
    page.evaluate(
        "() => { window.__settled = new Promise(r => document.addEventListener("
        "'htmx:afterSettle', function h(e) { if (e.target.id === 'split-sum') return; "
        "document.removeEventListener('htmx:afterSettle', h); r(true); })); }"
    )
    yield
    page.evaluate("() => window.__settled")


def figure(page: Page, name: str) -> Locator:
    return page.locator(f"[data-figure={name}]")


def test_an_attorney_takes_a_case_from_costs_to_client_trust(live_server, page: Page, lopez):
    base = live_server.url
    case: Case = lopez["case"]
    passenger: Case = lopez["passenger"]
    sign_in(page, base, "sam.smith@lopez.test")
    expect(page.get_by_text("Lopez Injury Attorneys").first).to_be_visible()
    expect(page.get_by_role("link", name="Costs Management")).to_be_visible()

    # --- Link the passenger's case --------------------------------------------------------
    page.get_by_role("link", name="Lopez v. Acme Trucking", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("^Lopez v. Acme Trucking"))).to_be_visible()
    page.get_by_role("link", name="Link a case").click()
    box = dialog(page, f"Link a case to {case.number}")
    box.get_by_label("Case number").fill(passenger.number)
    box.get_by_role("button", name="Link case").click()
    toast(page, f"Case {case.number} linked to {passenger.number}.")
    expect(page.get_by_role("cell", name="L. Lopez v. Acme Trucking")).to_be_visible()
    assert list(case.linked_cases.values_list("pk", flat=True)) == [passenger.pk]

    # --- Costs: one to a new payee, one to the same payee chosen from the list -----------
    page.get_by_role("navigation", name="Case").get_by_role("link", name="Costs").click()
    page.get_by_role("link", name="Add cost").click()
    box = dialog(page, f"Add cost · {case.number}")
    box.get_by_label("Payee", exact=True).fill("Valley Records")  # a new payee
    box.get_by_label("Amount").fill("1,000.01")
    box.get_by_label("Cost code").select_option(label="MEDREC Medical records")
    box.get_by_label("Invoice reference").fill("VR-1001")
    box.get_by_label("Memo").fill("Medical records, Valley Hospital")
    box.get_by_role("button", name="Add cost").click()
    toast(page, "Cost of $1,000.01 to Valley Records added.")

    page.get_by_role("link", name="Add cost").click()
    box = dialog(page, f"Add cost · {case.number}")
    payee = box.get_by_label("Payee", exact=True)
    expect(payee).to_have_attribute("list", "payee-names")
    expect(box.locator("#payee-names option[value='Valley Records']")).to_have_count(1)
    payee.fill("valley records")  # the suggested payee (names match case-insensitively)
    box.get_by_label("Amount").fill("0")
    box.get_by_label("Cost code").select_option(label="E112 Court fees")
    with swapped_and_settled(page):
        box.get_by_role("button", name="Add cost").click()
    expect(box.locator("#id_amount_error")).to_contain_text("greater than $0.00")
    assert Cost.objects.count() == 0 + 1  # the refused cost wrote nothing
    box.get_by_label("Amount").fill("435.00")
    box.get_by_role("button", name="Add cost").click()
    toast(page, "Cost of $435.00 to Valley Records added.")
    expect(figure(page, "cost-total")).to_have_text("$1,435.01")
    first = Cost.objects.get(amount_cents=100_001)
    assert (first.payee.name, first.cost_code.code, first.invoice_reference) == (
        "Valley Records",
        "MEDREC",
        "VR-1001",
    )
    assert Cost.objects.get(amount_cents=43_500).payee_id == first.payee_id

    # --- Split the first cost across the linked case -------------------------------------
    what = f"cost of {first.cost_date.isoformat()} to Valley Records for $1,000.01"
    row_action(page, "link", f"Split {what}").click()
    box = dialog(page, "Split cost of $1,000.01")
    parts = box.locator("input[data-split-part]")
    expect(parts).to_have_count(2)
    shown = [Decimal(parts.nth(i).input_value().replace(",", "")) for i in range(2)]
    assert shown == [Decimal("500.01"), Decimal("500.00")]
    assert sum(shown) == Decimal("1000.01")  # the even split adds up to the cent
    expect(box.locator("#split-sum")).to_contain_text("adds up to the cost")
    parts.nth(0).fill("600.01")
    expect(box.locator("#split-sum")).to_contain_text("$100.00 over the cost's $1,000.01")
    with swapped_and_settled(page):
        box.get_by_role("button", name="Split cost").click()  # refused: they do not add up
    expect(box.get_by_role("alert")).to_contain_text("not the cost's $1,000.01 ($100.00 over)")
    assert Cost.objects.count() == 2
    box.locator("input[data-split-part]").nth(1).fill("400.00")
    expect(box.locator("#split-sum")).to_contain_text("$1,000.01 · adds up to the cost")
    page.screenshot(path=SPLIT_SHOT, animations="disabled")
    box.get_by_role("button", name="Split cost").click()
    toast(page, "Cost of $1,000.01 split across 2 cases.")
    first.refresh_from_db()
    part = Cost.objects.get(split_from=first)
    assert (first.amount_cents, part.amount_cents, part.case_id) == (60_001, 40_000, passenger.pk)
    assert "Split from $1,000.01" in first.memo
    expect(figure(page, "cost-total")).to_have_text("$1,035.01")

    # --- Settlement: an offer, accepted with a confirmation ------------------------------
    page.get_by_role("link", name="Settlement").click()
    # no offer accepted yet: the deposit button is disabled, with its reason
    expect(page.get_by_role("button", name="Deposit settlement check")).to_be_disabled()
    expect(page.locator("#deposit-reason")).to_have_text(
        "A settlement check can be deposited once an offer is accepted."
    )
    page.get_by_role("link", name="Add demand or offer").click()
    box = dialog(page, "Add demand or offer")
    box.get_by_label("Kind").select_option(label="Offer")
    box.get_by_label("Insurer or defendant").fill("Acme Insurance")
    box.get_by_label("Amount").fill("250,000.00")
    box.get_by_role("button", name="Save").click()
    toast(page, "Offer of $250,000.00 (Acme Insurance) recorded.")
    page.get_by_role("link", name="Accept the offer of $250,000.00 from Acme Insurance").click()
    box = dialog(page, "Accept offer")
    expect(box).to_contain_text("Once accepted the offer is locked")
    box.get_by_role("button", name="Accept offer").click()
    toast(page, "Offer of $250,000.00 from Acme Insurance accepted and locked.")
    offer = Negotiation.objects.get(case=case)
    assert offer.accepted_on is not None
    expect(page.locator(f"#negotiation-{offer.pk}")).to_contain_text("locked")
    expect(figure(page, "gross")).to_have_text("$250,000.00")

    # --- Deposit the settlement check -------------------------------------------------------
    page.get_by_role("link", name="Deposit settlement check").click()
    box = dialog(page, "Deposit settlement check")
    box.get_by_label("Amount").fill("250,000.00")
    box.get_by_label("Check number").fill("88123")
    box.get_by_role("button", name="Deposit check").click()
    toast(page, "Settlement check 88123 for $250,000.00 deposited.")
    assert Deposit.objects.get(case=case).amount_cents == 25_000_000
    expect(figure(page, "deposited")).to_have_text("$250,000.00")

    # --- A lien, its final amount accepted (locked) ----------------------------------------
    page.get_by_role("link", name="Add lien").click()
    box = dialog(page, "Add lien or third-party payment")
    box.get_by_label("Kind").select_option(label="Medical bill")
    box.get_by_label("Lien holder").fill("Valley Medical")
    box.get_by_label("Claimed amount").fill("30,000.00")
    box.get_by_role("button", name="Add lien").click()
    toast(page, "Medical bill of Valley Medical ($30,000.00 claimed) added.")
    page.get_by_role("link", name="Accept the lien of Valley Medical").click()
    box = dialog(page, "Accept lien · Valley Medical")
    box.get_by_label("Final amount").fill("25,000.00")
    box.get_by_role("button", name="Accept final amount").click()
    toast(page, "Lien of Valley Medical accepted at $25,000.00 and locked.")
    lien = Lien.objects.get(case=case)
    assert (lien.final_cents, lien.accepted_on is not None) == (2_500_000, True)

    # --- Stage Payment: the fee, the lien and the cost reimbursement -----------------------
    page.get_by_role("link", name="Stage payment: Attorney fee").click()
    box = dialog(page, "Stage payment · Attorney fee")
    expect(box.get_by_label("Amount")).to_have_value("83325.00")  # 33.33% of the gross
    box.get_by_role("button", name="Stage payment").click()
    toast(page, "Attorney fee of $83,325.00 staged.")
    page.get_by_role("link", name="Stage payment: Medical bill: Valley Medical").click()
    box = dialog(page, "Stage payment · Medical bill: Valley Medical")
    expect(box.get_by_label("Amount")).to_have_value("25000.00")
    box.get_by_label("Amount").fill("25,000.01")  # more than due: refused, nothing written
    with swapped_and_settled(page):
        box.get_by_role("button", name="Stage payment").click()
    expect(box.locator("#id_amount_error")).to_contain_text("more than the $25,000.00 due")
    assert TrustItem.objects.filter(case=case).count() == 1
    box.get_by_label("Amount").fill("25,000.00")
    box.get_by_role("button", name="Stage payment").click()
    toast(page, "Lien / third-party payment of $25,000.00 staged.")
    page.get_by_role("link", name="Stage payment: Cost reimbursement").click()
    box = dialog(page, "Stage payment · Cost reimbursement")
    expect(box.get_by_label("Amount")).to_have_value("1035.01")
    box.get_by_role("button", name="Stage payment").click()
    toast(page, "Cost reimbursement of $1,035.01 staged.")
    expect(figure(page, "staged")).to_have_text("$109,360.01")
    expect(figure(page, "remaining")).to_have_text("$140,639.99")

    # --- Push to Client Trust: the client's check is the remainder; $0.00 remains --------
    page.get_by_role("link", name="Push to Client Trust").click()
    box = dialog(page, "Push to Client Trust")
    expect(box.locator("[data-figure=client-check]")).to_have_text("$140,639.99")
    box.get_by_role("button", name="Push to Client Trust").click()
    toast(page, "Client's final check of $140,639.99 to Maria Lopez staged; $0.00 remaining")
    expect(figure(page, "remaining")).to_have_text("$0.00")
    expect(figure(page, "remaining-footer")).to_have_text("$0.00")
    expect(page.locator("#client-check")).to_contain_text("$140,639.99")
    client_item = TrustItem.objects.get(case=case, kind=TrustItemKind.CLIENT)
    assert (client_item.amount_cents, client_item.payee_name) == (14_063_999, "Maria Lopez")
    figures = settlement_figures(case=case)
    assert figures.trust_remaining_cents == 0
    assert figures.net_to_client_cents == 14_063_999
    expect(figure(page, "net")).to_have_text("$140,639.99")
    page.wait_for_load_state("load")
    page.screenshot(path=SETTLEMENT_SHOT, full_page=True, animations="disabled")

    # --- Push to Disbursement: the case appears under To Be Disbursed ----------------------
    page.get_by_role("link", name="Push to Disbursement").click()
    box = dialog(page, "Push to Disbursement")
    box.get_by_role("button", name="Push to Disbursement").click()
    toast(page, "4 payments pushed to disbursement")
    assert set(TrustItem.objects.filter(case=case).values_list("status", flat=True)) == {
        TrustItemStatus.TO_BE_DISBURSED
    }
    expect(page.get_by_role("link", name="Push to Client Trust")).to_have_count(0)
    page.get_by_role("link", name="Client Trust Management").click()
    page.get_by_role("link", name=re.compile("^To Be Disbursed")).click()
    expect(
        page.get_by_role("heading", name=f"{case.number} Lopez v. Acme Trucking")
    ).to_be_visible()
    expect(page.get_by_role("cell", name="$140,639.99")).to_be_visible()

    # --- Costs Management: the open costs, ticked for a bulk action ------------------------
    page.get_by_role("link", name="Costs Management").click()
    expect(page.get_by_role("heading", name="Costs Management")).to_be_visible()
    expect(page.locator("[data-count=open]")).to_have_text("3")
    bulk = page.get_by_role("button", name="Bulk actions")
    expect(bulk).to_be_disabled()
    page.get_by_label("Select all costs on this page").check()
    expect(page.get_by_text("3 selected")).to_be_visible()
    expect(bulk).to_be_enabled()
    bulk.click()
    expect(page.get_by_role("menuitem", name="Void selected")).to_be_visible()
    expect(page.get_by_role("menuitem", name="Export CSV")).to_be_visible()
    page.screenshot(path=COSTS_SHOT, full_page=True, animations="disabled")
    page.keyboard.press("Escape")
    assert Cost.objects.filter(status=CostStatus.OPEN).count() == 3


def test_a_user_without_the_deposit_permission_does_not_see_the_deposit_action(
    live_server, page: Page, lopez
):
    paralegal: User = lopez["paralegal"]
    assert not paralegal.has_permission(Permission.DEPOSIT_SETTLEMENT)
    sign_in(page, live_server.url, "pat@lopez.test")
    expect(page.get_by_role("link", name="Costs Management")).to_have_count(0)
    page.get_by_role("link", name="Lopez v. Acme Trucking", exact=True).click()
    page.get_by_role("link", name="Settlement").click()
    expect(page.get_by_role("heading", name="Settlement checks deposited")).to_be_visible()
    expect(page.get_by_role("link", name="Add demand or offer")).to_be_visible()
    expect(page.get_by_role("link", name="Deposit settlement check")).to_have_count(0)
    expect(page.get_by_text("Deposit settlement check")).to_have_count(0)
    # The address typed in is refused, naming the permission (fetched with the page's
    # cookies: a 403 navigation would be logged as a console error).
    response = page.request.get(
        f"{live_server.url}/cases/{lopez['case'].pk}/settlement/deposits/new/"
    )
    assert response.status == 403
    assert "Deposit settlement checks" in response.text()


def test_a_double_click_deposits_the_check_once(live_server, page: Page, lopez):
    """A second submit that arrives while the first is in flight is dropped, although a
    second deposit of $100.00 would itself be allowed (htmx alone would queue and send it)."""
    case: Case = lopez["case"]
    insurer = case_services.contact_create(firm=lopez["firm"], actor=None, name="Acme Insurance")
    offer = settlement.negotiation_record(
        firm=lopez["firm"],
        actor=lopez["attorney"],
        case_id=case.pk,
        kind="offer",
        party_id=insurer.pk,
        amount_cents=25_000_000,
    )
    settlement.offer_accept(firm=lopez["firm"], actor=lopez["attorney"], negotiation_id=offer.pk)
    sign_in(page, live_server.url, "sam.smith@lopez.test")
    page.goto(f"{live_server.url}/cases/{case.pk}/settlement/")
    page.get_by_role("link", name="Deposit settlement check").click()
    box = dialog(page, "Deposit settlement check")
    box.get_by_label("Amount").fill("100.00")
    box.get_by_label("Check number").fill("5001")
    # Two submits of the same form in one task: the second while the first is in flight.
    box.locator("form").evaluate("form => { form.requestSubmit(); form.requestSubmit(); }")
    toast(page, "Settlement check 5001 for $100.00 deposited.")
    page.wait_for_load_state("networkidle")
    assert list(Deposit.objects.filter(case=case).values_list("amount_cents", flat=True)) == [
        10_000
    ]


def test_the_paid_direct_dead_end_is_left_by_voiding_the_deposit(live_server, page: Page, lopez):
    """Issue 10, item 11: the whole settlement deposited, then Medicare's lien marked paid
    direct. The excess is named as the lien is saved and on the tab, Push to Client Trust
    says why it refuses, the deposit is voided from the tab with a reason, the right amount
    is deposited, and Push to Client Trust succeeds with $0.00 left in trust."""
    case: Case = lopez["case"]
    insurer = case_services.contact_create(firm=lopez["firm"], actor=None, name="Acme Insurance")
    accepted = settlement.negotiation_record(
        firm=lopez["firm"],
        actor=lopez["attorney"],
        case_id=case.pk,
        kind="offer",
        party_id=insurer.pk,
        amount_cents=10_000_000,
    )
    settlement.offer_accept(firm=lopez["firm"], actor=lopez["attorney"], negotiation_id=accepted.pk)
    sign_in(page, live_server.url, "sam.smith@lopez.test")
    page.goto(f"{live_server.url}/cases/{case.pk}/settlement/")

    # --- the whole settlement deposited -------------------------------------------------
    page.get_by_role("link", name="Deposit settlement check").click()
    box = dialog(page, "Deposit settlement check")
    box.get_by_label("Amount").fill("100,000.00")
    box.get_by_label("Check number").fill("88123")
    box.get_by_role("button", name="Deposit check").click()
    toast(page, "Settlement check 88123 for $100,000.00 deposited.")
    expect(page.locator("#excess-deposit")).to_have_count(0)

    # --- Medicare's lien, paid direct: warned at once -------------------------------------
    page.get_by_role("link", name="Add lien").click()
    box = dialog(page, "Add lien or third-party payment")
    box.get_by_label("Kind").select_option(label="Medicare")
    box.get_by_label("Lien holder").fill("CMS Medicare")
    box.get_by_label("Claimed amount").fill("12,000.00")
    box.get_by_label("Paid directly by a third party").check()
    box.get_by_role("button", name="Add lien").click()
    toast(page, "Medicare of CMS Medicare ($12,000.00 claimed) added.")
    toast(page, "$12,000.00 too much is in trust")
    warning = page.locator("#excess-deposit")
    expect(warning).to_contain_text(
        "$100,000.00 is deposited but trust should hold only $88,000.00"
    )
    expect(warning).to_contain_text("Void the deposit and record it again for the right amount")
    page.get_by_role("link", name="Accept the lien of CMS Medicare").click()
    box = dialog(page, "Accept lien · CMS Medicare")
    box.get_by_label("Final amount").fill("12,000.00")
    box.get_by_role("button", name="Accept final amount").click()
    toast(page, "Lien of CMS Medicare accepted at $12,000.00 and locked.")
    expect(page.locator("#excess-deposit")).to_contain_text("$12,000.00 too much is in trust")

    # --- Push to Client Trust is disabled, saying what to do -----------------------------
    expect(page.get_by_role("button", name="Push to Client Trust")).to_be_disabled()
    expect(page.locator("#push-client-reason")).to_contain_text(
        "void the excess deposit or correct the liens"
    )
    assert not TrustItem.objects.filter(case=case).exists()

    # --- Void the deposit, with a reason ------------------------------------------------------
    page.get_by_role("link", name="Void the deposit of check 88123").click()
    box = dialog(page, "Void deposit")
    expect(box).to_contain_text("$12,000.00 too much is in trust")
    with swapped_and_settled(page):
        box.get_by_role("button", name="Void deposit").click()  # no reason: refused
    expect(box.locator("#id_reason_error")).to_contain_text("This field is required.")
    assert Deposit.objects.get(case=case).voided_on is None
    box.get_by_label("Reason").fill("Recorded the whole settlement; Medicare was paid direct")
    box.get_by_role("button", name="Void deposit").click()
    toast(page, "Deposit of check 88123 ($100,000.00) voided.")
    voided = Deposit.objects.get(case=case)
    assert voided.voided_on is not None
    assert voided.void_reason == "Recorded the whole settlement; Medicare was paid direct"
    expect(page.locator("#excess-deposit")).to_have_count(0)
    expect(figure(page, "deposited")).to_have_text("$0.00")

    # --- The right deposit, the payments staged, and the push succeeds -------------------
    page.get_by_role("link", name="Deposit settlement check").click()
    box = dialog(page, "Deposit settlement check")
    box.get_by_label("Amount").fill("88,000.00")
    box.get_by_label("Check number").fill("88124")
    box.get_by_role("button", name="Deposit check").click()
    toast(page, "Settlement check 88124 for $88,000.00 deposited.")
    page.get_by_role("link", name="Stage payment: Medicare: CMS Medicare").click()
    box = dialog(page, "Stage payment · Medicare: CMS Medicare")
    box.get_by_role("button", name="Stage payment").click()
    toast(page, "Lien / third-party payment of $12,000.00 staged (paid direct).")
    page.get_by_role("link", name="Stage payment: Attorney fee").click()
    box = dialog(page, "Stage payment · Attorney fee")
    expect(box.get_by_label("Amount")).to_have_value("33330.00")
    box.get_by_role("button", name="Stage payment").click()
    toast(page, "Attorney fee of $33,330.00 staged.")
    page.get_by_role("link", name="Push to Client Trust").click()
    box = dialog(page, "Push to Client Trust")
    box.get_by_role("button", name="Push to Client Trust").click()
    toast(page, "Client's final check of $54,670.00 to Maria Lopez staged; $0.00 remaining")
    expect(figure(page, "remaining")).to_have_text("$0.00")
    client_item = TrustItem.objects.get(case=case, kind=TrustItemKind.CLIENT)
    assert client_item.amount_cents == 5_467_000
    figures = settlement_figures(case=case)
    assert (figures.deposited_cents, figures.trust_remaining_cents) == (8_800_000, 0)


def test_select_all_matching_voids_every_page(live_server, page: Page, lopez):
    """Issue 14: the header box ticks the 50 rows of the page; "Select all 55 matching"
    takes every cost the filters match, and the pop-up confirms the 55 before voiding."""
    from tests.cases.conftest import cost_code

    case: Case = lopez["case"]
    attorney: User = lopez["attorney"]
    payee = case_services.contact_create(firm=case.firm, actor=attorney, name="Records Inc")
    code = cost_code(case.firm, "E101").pk
    for _ in range(55):
        costs.cost_create(
            firm=case.firm,
            actor=attorney,
            case_id=case.pk,
            payee_id=payee.pk,
            amount_cents=100,
            cost_code_id=code,
        )
    sign_in(page, live_server.url, "sam.smith@lopez.test")
    page.get_by_role("link", name="Costs Management").click()
    page.get_by_label("Select all costs on this page").check()
    expect(page.get_by_text("50 selected")).to_be_visible()
    page.get_by_label("Select all 55 matching").check()
    expect(page.get_by_text("55 selected")).to_be_visible()
    expect(page.get_by_label("Select all costs on this page")).to_be_checked()
    page.get_by_role("button", name="Bulk actions").click()
    page.get_by_role("menuitem", name="Void selected").click()
    box = dialog(page, "Void selected · 55 costs")
    expect(box).to_contain_text(
        "Void selected: all 55 costs matching the filters, on every page, totalling $55.00."
    )
    box.get_by_role("button", name="Void costs").click()
    toast(page, "55 costs ($55.00) voided.")
    assert Cost.objects.filter(case=case, status=CostStatus.VOID).count() == 55
