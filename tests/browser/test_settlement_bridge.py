"""Settlement money to the books in real Chromium, both sides on pytest-django's live server.

Set up with services, as the other browser tests already click through it: the books
seeded (Records Time on for the attorney, the release stage, PI, COPP and Property Damage),
the integration activated with invoices *reviewed* in the books, two costs advanced by
operating checks (8,500.00), the settlement of 250,000.00 accepted and deposited (its trust
receipt in the books) and two liens accepted (Valley Medical 30,000.00, Blue Shield
15,000.00).

Then by clicks, as a person would: on the Settlement tab the attorney fee (83,325.00), the
two liens and the cost reimbursement are staged, Push to Client Trust makes the client's
check the remainder (113,175.00), Push to Disbursement sends the three trust check requests
to the books (the real Huey task, in-process). On Client Trust Management -> To Be
Disbursed each payment shows its state, Create fee invoice shows the lines and the total
(91,825.00) and sends the invoice, which waits in the books' review stage. A books
administrator approves and releases it; the check-status sync brings it back final, and the
fee and the cost reimbursement move to the Disbursed tab with "Invoice N". Each step is
checked on the page and in the database.
"""

from __future__ import annotations

import re

import pytest
from django.db.models import Sum
from playwright.sync_api import Locator, Page, expect

from casebridge.books.models import Check, CheckStatus, Invoice, InvoiceLine, TrustLedger
from casebridge.bridge.models import (
    CaseLink,
    FeeInvoice,
    InvoiceRelease,
    OutboxItem,
    OutboxKind,
    OutboxState,
)
from casebridge.bridge.services import outbox
from casebridge.cases.models import Cost, TrustItem, TrustItemKind, TrustItemStatus
from tests.bridge import conftest as bridge_setup
from tests.bridge.conftest import Books, Cases, activate, add_cost
from tests.browser import test_seed_bridge as seed_browser
from tests.browser.screens import Walk
from tests.browser.test_cases_settlement import figure
from tests.browser.test_seed_bridge import (
    PASSWORD,
    books_sign_in,
    books_sign_out,
    cases_sign_in,
    cases_sign_out,
    dialog,
    open_integrations,
    toast,
)
from tests.cases.helpers import deposit, lien, offer
from tests.twofactor import enrol

pytestmark = pytest.mark.browser

# The fixtures reused as they are: the seeded books on the live server, the cases firm
# whose attorney has the same email, and the real Huey engine run in-process.
books = bridge_setup.books
cases = bridge_setup.cases
huey_immediate = seed_browser.huey_immediate

BOOKS_ADMIN = "books.admin@lopez.test"
CASES_ADMIN = "admin@lopez.test"
GROSS = 25_000_000
FEE = 8_332_500  # 33.33% of the gross
COSTS = [("Records Inc", 500_000), ("Dr. Wu", 350_000)]
LIENS = [("Valley Medical", 3_000_000), ("Blue Shield", 1_500_000)]
CLIENT_CHECK = GROSS - FEE - 850_000 - 4_500_000
INVOICE_TOTAL = FEE + 850_000


def _books_trust(books: Books) -> int:
    return int(
        TrustLedger.objects.filter(file__firm=books.firm).aggregate(s=Sum("balance_cents"))["s"]
        or 0
    )


def _trust_tab(page: Page, label: str) -> None:
    tabs = page.get_by_role("navigation", name="Client trust")
    tabs.get_by_role("link", name=re.compile(rf"^{label}\b")).click()
    expect(tabs.locator("[aria-current=page]")).to_contain_text(label)


def _case_card(page: Page, heading: str) -> Locator:
    card = page.locator("section.card").filter(
        has=page.get_by_role("heading", name=heading, exact=True)
    )
    expect(card).to_have_count(1)
    return card


def _stage(walk: Walk, label: str, shown: str, toast_text: str) -> None:
    page = walk.page
    page.get_by_role("link", name=f"Stage payment: {label}", exact=True).click()
    box = dialog(page, f"Stage payment · {label}")
    expect(box.get_by_label("Amount")).to_have_value(shown)
    walk.step("cases-stage-payment")
    box.get_by_role("button", name="Stage payment").click()
    toast(page, toast_text)
    walk.step("cases-staged")


@pytest.fixture
def settled(books: Books, cases: Cases, huey_immediate) -> Cases:
    """Activated with invoices reviewed in the books; the costs advanced by checks; the
    settlement accepted and deposited (its receipt in the books); both liens accepted.
    Delivered by the real task as each change commits."""
    activate(books, cases, release=InvoiceRelease.REVIEW)
    firm, admin, case = cases.firm, cases.admin, cases.case
    costs = [add_cost(cases, cents, payee=payee) for payee, cents in COSTS]
    outbox.costs_send(firm=firm, actor=admin, cost_ids=[c.pk for c in costs])
    accepted = offer(firm, admin, case, GROSS)
    deposit(firm, admin, case, accepted, GROSS, check="88123")
    for holder, cents in LIENS:
        lien(firm, admin, case, cents + 100_000, final=cents, holder=holder)
    assert sorted(OutboxItem.objects.values_list("kind", "state")) == [
        (OutboxKind.COST_SEND, OutboxState.SENT),
        (OutboxKind.COST_SEND, OutboxState.SENT),
        (OutboxKind.DEPOSIT_RECEIPT, OutboxState.SENT),
    ]
    assert _books_trust(books) == GROSS
    assert Check.objects.filter(firm=books.firm, bank_account=books.operating).count() == 2
    return cases


def test_a_settlement_goes_to_the_books_and_its_fee_invoice_is_reviewed_and_released(
    live_server, walk: Walk, books: Books, settled: Cases
):
    """Walked on a phone (390 x 844) and on a desktop (1366 x 900): a screenshot of each
    step under ``$CASEBRIDGE_VAR_DIR/screenshots/walk-<size>/``, each page fits its window
    and passes axe (tests/browser/screens.py)."""
    base = live_server.url
    page = walk.page
    case = settled.case
    file_number = CaseLink.objects.get(case=case).books_file_number
    heading = f"{case.number} Lopez v. Acme Trucking"

    # --- 1. The Settlement tab: stage, Push to Client Trust, Push to Disbursement ----------
    cases_sign_in(page, base, CASES_ADMIN, walk)
    page.get_by_role("link", name="Lopez v. Acme Trucking", exact=True).click()
    walk.step("cases-case")
    page.get_by_role("navigation", name="Case").get_by_role("link", name="Settlement").click()
    expect(figure(page, "gross")).to_have_text("$250,000.00")
    expect(figure(page, "deposited")).to_have_text("$250,000.00")
    walk.step("cases-settlement")
    _stage(walk, "Attorney fee", "83325.00", "Attorney fee of $83,325.00 staged.")
    _stage(
        walk,
        "Medical bill: Valley Medical",
        "30000.00",
        "Lien / third-party payment of $30,000.00 staged.",
    )
    _stage(
        walk,
        "Medical bill: Blue Shield",
        "15000.00",
        "Lien / third-party payment of $15,000.00 staged.",
    )
    _stage(walk, "Cost reimbursement", "8500.00", "Cost reimbursement of $8,500.00 staged.")
    expect(figure(page, "staged")).to_have_text("$136,825.00")
    expect(figure(page, "remaining")).to_have_text("$113,175.00")

    page.get_by_role("link", name="Push to Client Trust").click()
    box = dialog(page, "Push to Client Trust")
    expect(box.locator("[data-figure=client-check]")).to_have_text("$113,175.00")
    walk.step("cases-push-to-client-trust")
    box.get_by_role("button", name="Push to Client Trust").click()
    toast(page, "Client's final check of $113,175.00 to Maria Lopez staged; $0.00 remaining")
    expect(figure(page, "remaining")).to_have_text("$0.00")
    walk.step("cases-pushed-to-client-trust")

    page.get_by_role("link", name="Push to Disbursement").click()
    box = dialog(page, "Push to Disbursement")
    expect(box.get_by_role("listitem")).to_have_count(5)
    walk.step("cases-push-to-disbursement")
    box.get_by_role("button", name="Push to Disbursement").click()
    toast(page, "5 payments pushed to disbursement")
    expect(page.get_by_role("link", name="Push to Disbursement")).to_have_count(0)
    walk.step("cases-pushed-to-disbursement")

    items = {(i.kind, i.payee_name): i for i in TrustItem.objects.filter(case=case).order_by("pk")}
    assert len(items) == TrustItem.objects.filter(case=case).count() == 5
    assert {(kind, i.amount_cents, i.status) for (kind, _), i in items.items()} == {
        (TrustItemKind.FEE, FEE, TrustItemStatus.TO_BE_DISBURSED),
        (TrustItemKind.LIEN, 3_000_000, TrustItemStatus.TO_BE_DISBURSED),
        (TrustItemKind.LIEN, 1_500_000, TrustItemStatus.TO_BE_DISBURSED),
        (TrustItemKind.COST_REIMBURSEMENT, 850_000, TrustItemStatus.TO_BE_DISBURSED),
        (TrustItemKind.CLIENT, CLIENT_CHECK, TrustItemStatus.TO_BE_DISBURSED),
    }
    fee_item = next(i for (kind, _), i in items.items() if kind == TrustItemKind.FEE)
    costs_item = next(
        i for (kind, _), i in items.items() if kind == TrustItemKind.COST_REIMBURSEMENT
    )
    by_check = {
        "Valley Medical": items[(TrustItemKind.LIEN, "Valley Medical")],
        "Blue Shield": items[(TrustItemKind.LIEN, "Blue Shield")],
        "Maria Lopez": items[(TrustItemKind.CLIENT, "Maria Lopez")],
    }
    # The push's trust check requests went to the books when it committed (the real task).
    assert sorted(
        OutboxItem.objects.filter(kind=OutboxKind.TRUST_CHECK).values_list(
            "payload__payee", "payload__amount_cents", "state"
        )
    ) == [
        ("Blue Shield", 1_500_000, OutboxState.SENT),
        ("Maria Lopez", CLIENT_CHECK, OutboxState.SENT),
        ("Valley Medical", 3_000_000, OutboxState.SENT),
    ]
    trust_checks = {
        c.payee: c for c in Check.objects.filter(firm=books.firm, bank_account=books.trust)
    }
    assert {p: (c.amount_cents, c.status) for p, c in trust_checks.items()} == {
        "Valley Medical": (3_000_000, CheckStatus.QUEUED),
        "Blue Shield": (1_500_000, CheckStatus.QUEUED),
        "Maria Lopez": (CLIENT_CHECK, CheckStatus.QUEUED),
    }
    assert _books_trust(books) == INVOICE_TOTAL  # a queued trust check already holds the money

    # --- 2. Client Trust Management -> To Be Disbursed: Create fee invoice -----------------
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Client Trust Management"
    ).click()
    walk.step("cases-client-trust")
    _trust_tab(page, "To Be Disbursed")
    card = _case_card(page, heading)
    expect(card.locator("[data-trust-item]")).to_have_count(5)
    expect(card.locator("[data-figure=held]")).to_have_text("$250,000.00")
    books_figure = card.locator("[data-integration-figure]")
    expect(books_figure.locator("dt")).to_have_text("Trust in the books")
    expect(books_figure.locator("dd")).to_contain_text(  # as the worker read it, and when
        f"$91,825.00 File {file_number}: matches "
        "($158,175.00 in trust checks requested, not yet printed). Read from the books "
    )
    for payee, item in by_check.items():
        row = card.locator(f"[data-trust-item='{item.pk}']")
        expect(row).to_contain_text(payee)
        expect(row.locator("[data-integration-note]")).to_have_text(
            "Trust check requested, queued for printing in the books"
        )
    for item in (fee_item, costs_item):
        expect(
            card.locator(f"[data-trust-item='{item.pk}'] [data-integration-note]")
        ).to_have_count(0)
    expect(card.locator("div[data-integration-note]")).to_have_count(0)  # no invoice yet
    walk.step("cases-to-be-disbursed")

    card.get_by_role("link", name=f"Create the fee invoice of case {case.number}").click()
    box = dialog(page, f"Create fee invoice · {case.number}")
    expect(box).to_contain_text("It waits in the books' review stage for the accountant")
    lines = box.get_by_role("table", name="Invoice lines").locator("[data-invoice-line]")
    records, wu = (Cost.objects.get(case=case, payee__name=payee) for payee, _ in COSTS)
    expected_lines = [  # what a person knows each line by; the books' keys are not shown
        (
            f"Attorney fee, {case.number} Lopez v. Acme Trucking (time entry of Sam Smith)",
            "$83,325.00",
        ),
        ("Reimbursed cost: Records Inc, E112 2026-11-02", "$5,000.00"),
        ("Reimbursed cost: Dr. Wu, E112 2026-11-02", "$3,500.00"),
    ]
    expect(lines).to_have_count(len(expected_lines))
    for n, cells in enumerate(expected_lines):
        expect(lines.nth(n).get_by_role("cell")).to_have_text(list(cells))
    expect(box.locator("[data-figure=invoice-total]")).to_have_text("$91,825.00")
    walk.step("cases-create-fee-invoice")
    box.get_by_role("button", name="Create fee invoice").click()
    toast(
        page,
        f"Fee invoice of $91,825.00 for case {case.number} sent to the books; it waits in the "
        "books for the accountant to review and release it.",
    )
    card = _case_card(page, heading)
    invoice = Invoice.objects.get(firm=books.firm)
    expect(card.locator("div[data-integration-note] dd")).to_have_text(
        f"Fee invoice {invoice.number}: review "
        "(waiting for the accountant to release it in the books)"
    )
    expect(card.get_by_role("link", name=re.compile("^Create the fee invoice"))).to_have_count(0)
    walk.step("cases-fee-invoice-created")

    fee_invoice = FeeInvoice.objects.get(case=case)
    assert (fee_invoice.stage, fee_invoice.total_cents, fee_invoice.release) == (
        "review",
        INVOICE_TOTAL,
        InvoiceRelease.REVIEW,
    )
    assert (fee_invoice.books_invoice_id, fee_invoice.books_invoice_number) == (
        invoice.pk,
        invoice.number,
    )
    assert (invoice.stage, invoice.total_cents, invoice.pay_from_trust) == (
        "review",
        INVOICE_TOTAL,
        True,
    )
    assert [
        (ln.kind, ln.amount_cents, ln.timekeeper_id, ln.external_ref)
        for ln in InvoiceLine.objects.filter(invoice=invoice).order_by("pk")
    ] == [
        ("fee", FEE, books.attorney.pk, f"cases-trust-item-{fee_item.pk}"),
        ("cost", 500_000, None, f"cases-cost-{records.pk}"),
        ("cost", 350_000, None, f"cases-cost-{wu.pk}"),
    ]
    assert _books_trust(books) == INVOICE_TOTAL  # nothing moves until it is released
    assert set(
        TrustItem.objects.filter(pk__in=[fee_item.pk, costs_item.pk]).values_list(
            "status", flat=True
        )
    ) == {TrustItemStatus.TO_BE_DISBURSED}
    cases_sign_out(page, base)

    # --- 3. The books: Invoices -> Review -> the invoice -> Approve -> Release -------------
    enrol(books.admin)  # two-factor sign-in, the fixed secret
    books_sign_in(page, base, BOOKS_ADMIN, PASSWORD, walk)
    expect(page).to_have_url(f"{base}/books/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Invoices").click()
    walk.step("books-invoices")
    stages = page.get_by_role("navigation", name="Invoice stage")
    stages.get_by_role("link", name=re.compile(r"^Review\b")).click()
    expect(stages.locator("[aria-current=page]")).to_contain_text("Review")
    row = page.locator(f"#invoice-{invoice.pk}")
    expect(row).to_contain_text(f"Settlement of {case.number} Lopez v. Acme Trucking")
    expect(row).to_contain_text("$91,825.00")
    walk.step("books-invoices-review")
    row.get_by_role("link", name=str(invoice.number), exact=True).click()
    title = page.get_by_role("heading", name=re.compile(rf"^Invoice {invoice.number}\b"))
    expect(title).to_have_text(f"Invoice {invoice.number} Review")
    walk.step("books-invoice")
    page.get_by_role("button", name=f"Approve invoice {invoice.number}").click()
    toast(page, f"Invoice {invoice.number} moved to Release.")
    expect(title).to_have_text(f"Invoice {invoice.number} Release")
    walk.step("books-invoice-approved")
    invoice.refresh_from_db()
    assert invoice.stage == "release"
    page.get_by_role("button", name=f"Release invoice {invoice.number}").click()
    toast(page, f"Invoice {invoice.number} is final and posted ($91,825.00).")
    expect(title).to_have_text(f"Invoice {invoice.number} Final")
    walk.step("books-invoice-released")
    expect(
        page.get_by_role("button", name=re.compile(r"^(Submit for review|Approve|Release) "))
    ).to_have_count(0)
    invoice.refresh_from_db()
    assert (invoice.stage, invoice.finalised_on is not None) == ("final", True)
    assert _books_trust(books) == 0  # the fee and the costs left trust; the checks hold the rest
    fee_invoice.refresh_from_db()
    assert fee_invoice.stage == "review"  # the cases side learns it with the next sync
    books_sign_out(page, base)

    # --- 4. Cases: sync check status; the fee invoice is final, its payments disbursed ----
    cases_sign_in(page, base, CASES_ADMIN, walk)
    card = open_integrations(page, walk)
    walk.step("cases-integrations")
    card.get_by_role("button", name="Sync check status").click()
    toast(
        page,
        "Check status synced: 0 paid, 0 voided, 0 problems. 0 trust payments disbursed, "
        "1 fee invoice final.",
    )
    walk.step("cases-synced")
    fee_invoice.refresh_from_db()
    assert (fee_invoice.stage, fee_invoice.books_invoice_number) == ("final", invoice.number)
    assert fee_invoice.finalised_on == invoice.finalised_on
    reference = f"Invoice {invoice.number}"
    assert {
        i.pk: (i.status, i.invoice_reference, i.check_number)
        for i in TrustItem.objects.filter(case=case)
    } == {
        fee_item.pk: (TrustItemStatus.DISBURSED, reference, ""),
        costs_item.pk: (TrustItemStatus.DISBURSED, reference, ""),
        **{i.pk: (TrustItemStatus.TO_BE_DISBURSED, "", "") for i in by_check.values()},
    }

    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Client Trust Management"
    ).click()
    _trust_tab(page, "To Be Disbursed")
    card = _case_card(page, heading)
    expect(card.locator("[data-trust-item]")).to_have_count(3)
    expect(card.locator("div[data-integration-note] dt")).to_have_text("In the books")
    expect(card.locator("div[data-integration-note] dd")).to_have_text(
        f"Fee invoice {invoice.number}: final"
    )
    expect(card.get_by_role("link", name=re.compile("^Create the fee invoice"))).to_have_count(0)
    for item in by_check.values():
        expect(card.locator(f"[data-trust-item='{item.pk}']")).to_be_visible()
    walk.step("cases-to-be-disbursed-final")

    _trust_tab(page, "Disbursed")
    card = _case_card(page, heading)
    expect(card.locator("[data-trust-item]")).to_have_count(2)
    for item, kind, amount in (
        (fee_item, "Attorney fee", "$83,325.00"),
        (costs_item, "Cost reimbursement", "$8,500.00"),
    ):
        row = card.locator(f"[data-trust-item='{item.pk}']")
        expect(row.get_by_role("cell").first).to_contain_text(kind)
        expect(row.get_by_role("cell").first.locator("span")).to_have_text(reference)
        expect(row.get_by_role("cell").last).to_have_text(amount)
    expect(card.locator("[data-figure=held]")).to_have_text("$158,175.00")
    expect(card.locator("[data-integration-figure] dd")).to_contain_text(
        f"$0.00 File {file_number}: matches "
        "($158,175.00 in trust checks requested, not yet printed). Read from the books "
    )
    walk.step("cases-disbursed")
    walk.done()
