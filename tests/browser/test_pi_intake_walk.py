"""A personal-injury case in real Chromium, from intake to the settlement statement (issue
16, in depth), on a phone and on a desktop. Sam Smith opens Rosa Diaz's case with the
incident date (10 May 2025), Florida and negligence: the firm's seeded rule (2 years,
§ 95.11(4)(a) as amended in 2023) puts the statute of limitations on 2027-05-10. On the
Treatment tab he adds Valley Medical's treatment and two bills:

- Valley Medical: billed $12,000.00, written off $2,000.00, paid $1,500.00 by health
  insurance, so $8,500.00 outstanding;
- City Imaging: billed $3,000.00, paid $500.00 by MedPay, so $2,500.00 outstanding;

totals: specials $15,000.00, adjustments $2,000.00, paid $2,000.00, outstanding
$11,000.00. Valley Medical's balance becomes a lien of $8,500.00 on the settlement; the
firm asks for a reduction to $5,000.00, Valley Medical counters at $7,000.00 and the firm
accepts $6,200.00. The statement shows the bill: billed $12,000.00, reduction $5,800.00
(everything between the bill and what the settlement pays), paid $6,200.00.

Each step fits the window and passes axe (tests/browser/screens.py: the checks run after
any htmx swap has settled, never before one)."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from casebridge.cases.models import Bill, Case, Deadline, Lien, LienReduction
from casebridge.cases.services import settlement
from casebridge.cases.services.deadlines import firm_today
from tests.browser import test_cases_settlement as settlement_walk
from tests.browser.conftest import row_action
from tests.browser.screens import Walk
from tests.cases.helpers import contact

pytestmark = pytest.mark.browser

lopez = settlement_walk.lopez
figure = settlement_walk.figure

INCIDENT = dt.date(2025, 5, 10)
STATUTE = dt.date(2027, 5, 10)  # two years after an incident after 24 March 2023
CITATION = "§ 95.11(4)(a), Fla. Stat., as amended by ch. 2023-15, Laws of Fla. (HB 837)"


def add_bill(page, case: Case, provider: str, amounts: dict[str, str]) -> None:
    page.get_by_role("link", name="Add bill", exact=True).click()
    box = settlement_walk.dialog(page, f"Add bill · {case.number}")
    box.get_by_label("Provider").fill(provider)
    box.get_by_label("Bill date").fill(firm_today(case.firm).isoformat())
    for label, value in amounts.items():
        box.get_by_label(label, exact=True).fill(value)
    box.get_by_role("button", name="Add bill").click()
    expect(box).to_be_hidden()


def test_a_pi_case_from_intake_to_the_statement(live_server, walk: Walk, lopez):
    firm, attorney = lopez["firm"], lopez["attorney"]
    page, base = walk.page, live_server.url
    settlement_walk.sign_in(page, base, "sam.smith@lopez.test")

    # Intake: the case with its incident date, state and claim type.
    page.goto(f"{base}/cases/")
    page.get_by_role("link", name="New case", exact=True).click()
    box = settlement_walk.dialog(page, "New case")
    box.get_by_label("Client name").fill("Rosa Diaz")
    box.get_by_label("Case name").fill("Diaz v. Coastal Freight")
    box.get_by_label("Responsible attorney").select_option(label="Sam Smith")
    box.get_by_label("Incident date").fill(INCIDENT.isoformat())
    box.get_by_label("State", exact=True).fill("FL")
    box.get_by_label("Claim type").select_option("negligence")
    box.get_by_label("Status", exact=True).select_option("open")
    walk.step("new-case")
    box.get_by_role("button", name="Open case").click()
    settlement_walk.toast(page, "Diaz v. Coastal Freight opened.")
    case = Case.objects.get(firm=firm, name="Diaz v. Coastal Freight")
    statute = Deadline.objects.get(case=case, kind="statute")
    assert (statute.due_date, statute.computed_due_date, statute.status) == (
        STATUTE,
        STATUTE,
        "open",
    )

    # The statute, computed and shown with its rule.
    page.goto(f"{base}/cases/{case.pk}/deadlines/")
    expect(page.locator("[data-rule=statute]")).to_have_text(
        f"Statute of limitations: 2 years ({CITATION}) Verify with counsel"
        "Negligence causes of action accruing after 24 March 2023, the act's effective date."
    )
    row = page.locator(f"#case-deadlines tr[data-deadline='{statute.pk}']")
    expect(row.locator("td[data-label=Due]")).to_have_text("2027-05-10")
    expect(row.locator("td[data-label=Deadline]")).to_contain_text(
        "Statute of limitations: FL negligence, 2 years"
    )
    days = (STATUTE - firm_today(firm)).days
    expect(row.locator("td[data-label=Status]")).to_have_text(f"{days} days left")
    walk.step("statute")

    # Treatment, then two bills.
    page.goto(f"{base}/cases/{case.pk}/treatment/")
    page.get_by_role("link", name="Add treatment", exact=True).click()
    box = settlement_walk.dialog(page, f"Add treatment · {case.number}")
    box.get_by_label("Provider").fill("Valley Medical")
    box.get_by_label("First visit").fill((INCIDENT + dt.timedelta(days=1)).isoformat())
    box.get_by_label("Last visit").fill((INCIDENT + dt.timedelta(days=90)).isoformat())
    box.get_by_label("Treatment status").select_option("finished")
    walk.step("treatment")
    box.get_by_role("button", name="Add treatment").click()
    expect(box).to_be_hidden()
    expect(page.locator("#treatments tbody")).to_contain_text("Valley Medical")
    expect(page.locator("#treatments tbody")).to_contain_text("2025-05-11")

    add_bill(
        page,
        case,
        "Valley Medical",
        {
            "Billed": "12,000.00",
            "Adjustments (write-offs)": "2,000.00",
            "Paid by health insurance": "1,500.00",
        },
    )
    add_bill(page, case, "City Imaging", {"Billed": "3,000.00", "Paid by MedPay": "500.00"})
    expect(figure(page, "specials")).to_have_text("$15,000.00")
    expect(figure(page, "adjustments")).to_have_text("$2,000.00")
    expect(figure(page, "paid")).to_have_text("$2,000.00")
    expect(figure(page, "outstanding")).to_have_text("$11,000.00")
    valley_bill = Bill.objects.get(case=case, provider__name="Valley Medical")
    bill_row = page.locator(f"#bill-{valley_bill.pk}")
    expect(bill_row.locator("[data-col=outstanding]")).to_have_text("$8,500.00")
    walk.step("bills")

    # Valley Medical's balance, a lien on the settlement.
    row_action(bill_row, "link", "Make the balance of the bill of Valley Medical a lien").click()
    box = settlement_walk.dialog(page, "Make the balance a lien")
    expect(box).to_contain_text("$8,500.00")
    walk.step("make-lien")
    box.get_by_role("button", name="Make lien").click()
    expect(bill_row).to_contain_text("Lien on the settlement")
    expect(page.locator("[data-figure=outstanding] + .stat-note")).to_have_text(
        "$8,500.00 of it made liens"
    )
    lien = Lien.objects.get(case=case)
    assert (lien.kind, lien.holder.name, lien.claimed_cents) == (
        "medical",
        "Valley Medical",
        850_000,
    )

    # The settlement: an accepted offer of $100,000.00 (the negotiation is not this walk's).
    made = settlement.negotiation_record(
        firm=firm,
        actor=attorney,
        case_id=case.pk,
        kind="offer",
        party_id=contact(firm, "Coastal Insurance").pk,
        amount_cents=10_000_000,
    )
    settlement.offer_accept(firm=firm, actor=attorney, negotiation_id=made.pk)

    # The reduction: requested, countered, accepted.
    page.goto(f"{base}/cases/{case.pk}/settlement/")
    steps = [
        ("requested", "5,000.00", "Lien of Valley Medical: reduction requested at $5,000.00."),
        ("countered", "7,000.00", "Lien of Valley Medical: holder countered at $7,000.00."),
        ("accepted", "6,200.00", "Lien of Valley Medical accepted at $6,200.00 and locked."),
    ]
    for step, amount, toast in steps:
        page.get_by_role("link", name="Reductions of the lien of Valley Medical").click()
        box = settlement_walk.dialog(page, "Reductions · Valley Medical")
        if step == "countered":
            expect(box.locator("#reduction-history")).to_contain_text("Reduction requested")
            walk.step("reductions")
        box.get_by_label("Step").select_option(step)
        box.get_by_label("Amount").fill(amount)
        box.get_by_role("button", name="Record step").click()
        settlement_walk.toast(page, toast)
    assert list(
        LienReduction.objects.filter(lien=lien).order_by("pk").values_list("step", "amount_cents")
    ) == [("requested", 500_000), ("countered", 700_000), ("accepted", 620_000)]
    lien.refresh_from_db()
    assert (lien.claimed_cents, lien.final_cents) == (850_000, 620_000)
    walk.step("lien-accepted")

    # The statement: billed, reduction and paid for the medical bill.
    page.goto(f"{base}/cases/{case.pk}/statement/")
    bills = page.locator("#st-medical-bills")
    expect(bills.locator("tbody tr")).to_have_count(1)
    expect(bills.locator("tbody tr td")).to_have_text(
        ["Valley Medical", "$12,000.00", "$5,800.00", "$6,200.00"]
    )
    expect(bills.locator("tfoot td")).to_have_text(["$12,000.00", "$5,800.00", "$6,200.00"])
    walk.step("statement")
    walk.done()
