"""The whole seed in real Chromium, both sides on pytest-django's live server.

In the books: the designated integration user signs in for the first time and enrolls a
security question; an administrator turns on Records Time for the attorney, enables the
release invoice stage, adds the PI area of practice and the COPP and Property Damage
activity codes. In case management: a firm administrator activates the books
integration (both pop-ups) and sends three open costs from Costs Management; the real
Huey task delivers them (in-process) to the books over HTTP. The books print the three
checks; the check status sync makes the costs Paid with their check numbers. A user
without the administration settings access cannot activate. Each step is checked on the
page and in the database.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.urls import reverse
from huey.contrib.djhuey import HUEY
from playwright.sync_api import Locator, Page, expect

from casebridge.books.models import (
    ActivityCode,
    AreaOfPractice,
    BankAccount,
    BankAccountKind,
    Check,
    CheckStatus,
)
from casebridge.books.models import Firm as BooksFirm
from casebridge.books.models import User as BooksUser
from casebridge.books.services import auth as books_auth
from casebridge.books.services import setup as books_setup
from casebridge.bridge.models import Connection, InvoiceRelease, OutboxItem
from casebridge.cases.models import Case, Cost, CostCode, CostStatus, Permission
from casebridge.cases.models import Firm as CasesFirm
from casebridge.cases.models import User as CasesUser
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs as cost_services
from casebridge.cases.services import firms
from tests.browser.conftest import row_action, second_factor
from tests.browser.screens import Walk
from tests.twofactor import enrol

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
INTEGRATION_EMAIL = "integration@lopez.test"
INTEGRATION_PASSWORD = "integration pass 1"
ATTORNEY_EMAIL = "sam.smith@lopez.test"
FIRM_CODE = "lopez-pi"
COST_DATE = dt.date(2026, 11, 2)
#: The three open costs: payee, amount (cents), as shown.
COSTS = [
    ("Valley Records", 12_500, "$125.00"),
    ("County Court Clerk", 43_550, "$435.50"),
    ("Acme Process Servers", 8_999, "$89.99"),
]


@dataclass
class Seed:
    books_firm: BooksFirm
    books_admin: BooksUser
    integration: BooksUser
    books_attorney: BooksUser
    operating: BankAccount
    trust: BankAccount
    firm: CasesFirm
    admin: CasesUser
    attorney: CasesUser
    paralegal: CasesUser
    case: Case
    costs: list[Cost]


@pytest.fixture
def seed(transactional_db) -> Seed:
    """Both sides before the seed: the books as onboarding left them (the integration user
    has a password but never signed in; the attorney's Records Time is off), and a cases
    firm with the same attorney email, a case and three open costs."""
    books_firm = books_setup.firm_create(code=FIRM_CODE, name="Lopez Injury Attorneys")
    books_admin = books_auth.security_question_enroll(
        user=books_auth.user_create(
            firm=books_firm,
            email="books.admin@lopez.test",
            password=PASSWORD,
            is_admin=True,
            first_name="Bea",
            last_name="Books",
        ),
        question="First pet?",
        answer="Rex",
    )
    enrol(books_admin)  # two-factor sign-in, the fixed secret
    integration = books_auth.user_create(
        firm=books_firm,
        email=INTEGRATION_EMAIL,
        password=INTEGRATION_PASSWORD,
        first_name="Case",
        last_name="Bridge",
        is_integration_user=True,  # signs in with its security question, never a TOTP code
    )
    books_attorney = books_auth.user_create(
        firm=books_firm,
        email=ATTORNEY_EMAIL,
        password=PASSWORD,
        first_name="Sam",
        last_name="Smith",
        records_time=False,
    )
    enrol(books_attorney)

    firm = firms.firm_create(code=FIRM_CODE, name="Lopez Injury Attorneys")
    admin = firms.user_create(
        firm=firm,
        actor=None,
        email="admin@lopez.test",
        password=PASSWORD,
        first_name="Ana",
        last_name="Admin",
        is_firm_admin=True,
    )
    enrol(admin)
    attorney = firms.user_create(
        firm=firm,
        actor=None,
        email=ATTORNEY_EMAIL,
        password=PASSWORD,
        first_name="Sam",
        last_name="Smith",
        is_attorney=True,
    )
    paralegal = firms.user_create(
        firm=firm,
        actor=None,
        email="pat@lopez.test",
        password=PASSWORD,
        first_name="Pat",
        last_name="Paralegal",
        perm_costs_management=True,
    )
    client = case_services.contact_create(firm=firm, actor=admin, name="Maria Lopez")
    case = case_services.case_create(
        firm=firm,
        actor=admin,
        name="Lopez v. Acme Trucking",
        client_id=client.pk,
        responsible_attorney_id=attorney.pk,
        status="open",
    )
    court_fees = CostCode.objects.get(firm=firm, code="E112")
    costs = []
    for payee, cents, _shown in COSTS:
        contact = case_services.contact_create(firm=firm, actor=admin, name=payee)
        costs.append(
            cost_services.cost_create(
                firm=firm,
                actor=admin,
                case_id=case.pk,
                payee_id=contact.pk,
                amount_cents=cents,
                cost_code_id=court_fees.pk,
                cost_date=COST_DATE,
                memo=f"Costs advanced to {payee}",
            )
        )
    return Seed(
        books_firm=books_firm,
        books_admin=books_admin,
        integration=integration,
        books_attorney=books_attorney,
        operating=BankAccount.objects.get(firm=books_firm, kind=BankAccountKind.OPERATING),
        trust=BankAccount.objects.get(firm=books_firm, kind=BankAccountKind.TRUST),
        firm=firm,
        admin=admin,
        attorney=attorney,
        paralegal=paralegal,
        case=case,
        costs=costs,
    )


@pytest.fixture
def huey_immediate() -> Iterator[None]:
    """The real task engine, run in-process: a send is delivered when it commits (in the
    live server's request thread, which calls the books on the same live server)."""
    HUEY.immediate = True
    try:
        yield
    finally:
        HUEY.immediate = False


# --- Helpers -------------------------------------------------------------------------------


def books_sign_in(
    page: Page, base: str, email: str, password: str, walk: Walk | None = None
) -> None:
    page.goto(f"{base}/books/login/")
    page.get_by_label("Firm ID").fill(FIRM_CODE)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    if walk is not None:
        walk.step("books-sign-in")
    page.get_by_role("button", name="Sign in").click()
    second_factor(page, base, "books", FIRM_CODE, email, walk)


def books_sign_out(page: Page, base: str) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{base}/books/login/")


def gear(page: Page, item: str, walk: Walk | None = None) -> None:
    """The books' Gear icon (upper right) -> a menu item."""
    button = page.get_by_role("button", name="Settings")
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    if walk is not None:
        walk.step("books-gear")
    page.get_by_role("menuitem", name=item, exact=True).click()


def cases_sign_in(page: Page, base: str, email: str, walk: Walk | None = None) -> None:
    page.goto(f"{base}/cases/login/")
    page.get_by_label("Firm ID").fill(FIRM_CODE)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    if walk is not None:
        walk.step("cases-sign-in")
    page.get_by_role("button", name="Sign in").click()
    second_factor(page, base, "cases", FIRM_CODE, email, walk)
    expect(page).to_have_url(f"{base}/cases/")
    if walk is not None:
        walk.step("cases-list")


def user_menu(page: Page) -> Locator:
    """Open the cases side's user menu (the icon in the top right corner)."""
    button = page.get_by_role("button", name="User menu")
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    menu = page.get_by_role("menu", name="User menu")
    expect(menu).to_be_visible()
    return menu


def cases_sign_out(page: Page, base: str) -> None:
    user_menu(page).get_by_role("menuitem", name="Sign out").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/cases/login/"))


def dialog(page: Page, name: str) -> Locator:
    box = page.get_by_role("dialog", name=name)
    expect(box).to_be_visible()
    return box


def toast(page: Page, text: str) -> None:
    expect(page.locator("#messages").get_by_text(text)).to_be_visible()


def open_integrations(page: Page, walk: Walk | None = None) -> Locator:
    """User menu -> Account Settings -> Integrations; the books' card."""
    menu = user_menu(page)
    if walk is not None:
        walk.step("cases-user-menu")
    menu.get_by_role("menuitem", name="Account Settings").click()
    page.get_by_role("navigation", name="Account Settings").get_by_role(
        "link", name="Integrations"
    ).click()
    expect(page.get_by_role("heading", name="Integrations", exact=True)).to_be_visible()
    card = page.locator("#books-integration-card")
    expect(card).to_be_visible()
    return card


def costs_tab(page: Page, label: str) -> None:
    page.get_by_role("navigation", name="Cost status").get_by_role(
        "link", name=re.compile(rf"^{label}\b")
    ).click()
    expect(
        page.get_by_role("navigation", name="Cost status").locator("[aria-current=page]")
    ).to_contain_text(label)


# --- The seed ------------------------------------------------------------------------------


def test_the_seed_end_to_end_books_set_up_activation_send_print_and_sync(
    live_server, walk: Walk, seed: Seed, huey_immediate
):
    """Walked on a phone (390 x 844) and on a desktop (1366 x 900): a screenshot of each
    step under ``$CASEBRIDGE_VAR_DIR/screenshots/walk-<size>/``, each page fits its window
    and passes axe (tests/browser/screens.py)."""
    base = live_server.url
    page = walk.page

    # --- 1. The integration user signs in to the books and enrolls a security question --
    books_sign_in(page, base, INTEGRATION_EMAIL, INTEGRATION_PASSWORD, walk)
    expect(page).to_have_url(f"{base}/books/enroll/")
    expect(page.get_by_role("heading", name="Set your security question")).to_be_visible()
    walk.step("books-enroll")
    page.get_by_label("Security question").select_option(
        label="What was the name of your first pet?"
    )
    page.get_by_label("Answer", exact=True).fill("Biscuit")
    page.get_by_label("Confirm answer").fill("Biscuit")
    page.get_by_role("button", name="Save and continue").click()
    expect(page).to_have_url(f"{base}/books/")
    expect(page.get_by_text("Your account is now authenticated for integrations.")).to_be_visible()
    walk.step("books-enrolled")
    seed.integration.refresh_from_db()
    assert seed.integration.is_enrolled
    books_sign_out(page, base)

    # --- 2. A books administrator sets the books up ------------------------------------
    books_sign_in(page, base, "books.admin@lopez.test", PASSWORD, walk)
    expect(page).to_have_url(f"{base}/books/")
    walk.step("books-dashboard")

    # Gear -> Users -> pencil -> Accounting -> Records Time -> Save
    gear(page, "Users", walk)
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    walk.step("books-users")
    row_action(page, "link", f"Edit {ATTORNEY_EMAIL}").click()
    box = dialog(page, "Edit Sam Smith")
    walk.step("books-user-edit")
    box.get_by_role("tab", name="Accounting").click()
    expect(box.get_by_role("tab", name="Accounting")).to_have_attribute("aria-selected", "true")
    records_time = box.get_by_label("Records Time")
    expect(records_time).not_to_be_checked()
    records_time.check()
    walk.step("books-user-accounting")
    box.get_by_role("button", name="Save").click()
    expect(box).to_have_count(0)
    expect(page.get_by_text(f"Saved {ATTORNEY_EMAIL}.")).to_be_visible()
    walk.step("books-user-saved")
    expect(
        page.locator(f"#user-row-{seed.books_attorney.pk}").locator("[data-col=records-time]")
    ).to_have_text("On")
    seed.books_attorney.refresh_from_db()
    assert seed.books_attorney.records_time is True

    # Gear -> Settings -> Features -> Enable release invoice stage in billing -> Save
    gear(page, "Settings", walk)
    page.get_by_role("link", name="Features", exact=True).click()
    toggle = page.get_by_label("Enable release invoice stage in billing")
    expect(toggle).not_to_be_checked()
    walk.step("books-features")
    toggle.check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Features saved.")).to_be_visible()
    walk.step("books-features-saved")
    expect(page.get_by_label("Enable release invoice stage in billing")).to_be_checked()
    seed.books_firm.refresh_from_db()
    assert seed.books_firm.release_invoice_stage_enabled is True

    # Gear -> Areas of Practice -> Add -> PI / Personal Injury -> Save
    gear(page, "Areas of Practice", walk)
    walk.step("books-areas")
    page.get_by_role("link", name="Add", exact=True).click()
    box = dialog(page, "Add area of practice")
    box.get_by_label("Name", exact=True).fill("PI")
    box.get_by_label("Description").fill("Personal Injury")
    walk.step("books-area-add")
    box.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Area of practice PI added.")).to_be_visible()
    expect(page.get_by_role("cell", name="Personal Injury")).to_be_visible()
    walk.step("books-area-added")
    area = AreaOfPractice.objects.get(firm=seed.books_firm)
    assert (area.name, area.description) == ("PI", "Personal Injury")

    # Gear -> Rates/Codes -> Activity Code -> Add COPP and Property Damage -> Save
    gear(page, "Rates/Codes", walk)
    page.get_by_role("link", name="Activity Code", exact=True).click()
    walk.step("books-activity-codes")
    for code, description, account in (
        ("COPP", "Costs of preparing the case", "4100 COPP Charges Income"),
        ("Property Damage", "Property damage fee", "4200 Property Damage Fee Income"),
    ):
        page.get_by_role("link", name="Add", exact=True).click()
        box = dialog(page, "Add activity code")
        box.get_by_label("Code", exact=True).fill(code)
        box.get_by_label("Name", exact=True).fill(code)
        box.get_by_label("Description").fill(description)
        box.get_by_label("General Ledger Account").select_option(label=account)
        walk.step("books-activity-code-add")
        box.get_by_role("button", name="Save").click()
        expect(
            page.get_by_text(f"Activity code {code} added (posts to {account}).")
        ).to_be_visible()
        walk.step("books-activity-code-added")
    codes = {
        c.code: c.gl_account.number
        for c in ActivityCode.objects.filter(firm=seed.books_firm, utbms_code="")
    }
    assert codes == {"COPP": "4100", "Property Damage": "4200"}
    books_sign_out(page, base)

    # --- 3. A firm administrator activates the integration (both pop-ups) -----------------
    cases_sign_in(page, base, "admin@lopez.test", walk)
    card = open_integrations(page, walk)
    status = card.locator("[data-integration-status=books]")
    expect(status).to_have_text("Not connected")
    walk.step("cases-integrations")
    card.get_by_role("link", name="Activate the books integration", exact=True).click()
    box = dialog(page, "Activate the books integration")
    box.get_by_label("Books address").fill(f"{base}/books/api/v1")
    box.get_by_label("Books firm ID").fill(FIRM_CODE)
    box.get_by_label("Username").fill(INTEGRATION_EMAIL)
    box.get_by_label("Password", exact=True).fill(INTEGRATION_PASSWORD)
    walk.step("cases-activate")
    box.get_by_role("button", name="Save").click()
    box = dialog(page, "Books integration defaults")  # pop-up 2 opens in place of pop-up 1
    expect(
        page.get_by_role("dialog", name="Activate the books integration", exact=True)
    ).to_have_count(0)
    expect(box.get_by_role("status")).to_contain_text(
        f"Signed in to the books as {INTEGRATION_EMAIL}"
    )
    # the cost posting reference: what advances post to; only Advanced client costs codes
    posting = box.get_by_label("Default cost posting reference")
    expect(posting.locator("option:checked")).to_have_text(
        "E124 Other → GL 1300 Advanced Client Costs"
    )
    expect(posting.locator("option", has_text="COPP")).to_have_count(0)
    box.get_by_label("Default operating account").select_option(label=seed.operating.name)
    box.get_by_label("Default client trust account").select_option(label=seed.trust.name)
    box.get_by_label("Reviewed in the books").check()
    walk.step("cases-activate-defaults")
    box.get_by_role("button", name="Save").click()
    toast(page, "The books are connected.")
    expect(page.get_by_role("dialog")).to_have_count(0)
    walk.step("cases-connected")
    card = page.locator("#books-integration-card")
    expect(card.locator("[data-integration-status=books]")).to_have_text("Connected")
    expect(card.locator("[data-field=username]")).to_have_text(INTEGRATION_EMAIL)
    expect(card.locator("[data-field=operating-account]")).to_have_text(seed.operating.name)
    expect(card.locator("[data-field=trust-account]")).to_have_text(seed.trust.name)
    expect(card.locator("[data-field=invoice-release]")).to_have_text("Reviewed in the books")
    expect(
        card.get_by_role("link", name="Activate the books integration", exact=True)
    ).to_have_count(0)
    conn = Connection.objects.get(firm=seed.firm)
    assert conn.status == "connected"
    assert conn.books_url == f"{base}/books/api/v1"
    assert (conn.cost_posting_code_label, conn.invoice_release) == (
        "E124 Other -> GL 1300 Advanced Client Costs",
        InvoiceRelease.REVIEW,
    )
    assert (conn.operating_account_id, conn.trust_account_id) == (
        seed.operating.pk,
        seed.trust.pk,
    )

    # --- 4. Send the three costs from Costs Management's Open tab ------------------------
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Costs Management").click()
    expect(page.get_by_role("heading", name="Costs Management")).to_be_visible()
    expect(page.locator("[data-count=open]")).to_have_text("3")
    walk.step("cases-costs-management")
    for payee, _cents, shown in COSTS:
        page.get_by_label(
            f"Select the cost of {shown} to {payee} on {seed.case.number}", exact=True
        ).check()
    expect(page.get_by_text("3 selected")).to_be_visible()
    bulk = page.get_by_role("button", name="Bulk actions")
    expect(bulk).to_be_enabled()
    bulk.click()
    walk.step("cases-bulk-actions")
    page.get_by_role("menuitem", name="Send to the books").click()
    box = dialog(page, "Send to the books · 3 costs")
    expect(box).to_contain_text("Send to the books: 3 costs totalling $650.49.")
    walk.step("cases-send")
    box.get_by_role("button", name="Send", exact=True).click()
    toast(
        page,
        "3 costs ($650.49) queued for the books; they are Pending until their checks are printed.",
    )
    expect(page.locator("[data-count=open]")).to_have_text("0")
    expect(page.locator("[data-count=pending]")).to_have_text("3")
    walk.step("cases-sent")
    costs_tab(page, "Pending")
    table = page.locator("#costs-management")
    for payee, _cents, shown in COSTS:
        row = table.get_by_role("row").filter(has_text=payee)
        expect(row).to_contain_text(shown)
    walk.step("cases-costs-pending")
    for cost in seed.costs:
        cost.refresh_from_db()
        assert cost.status == CostStatus.PENDING
    # Delivered by the task when the send committed: three queued checks in the books.
    checks = Check.objects.filter(firm=seed.books_firm).order_by("pk")
    assert sorted((c.payee, c.amount_cents) for c in checks) == sorted(
        (payee, cents) for payee, cents, _shown in COSTS
    )
    assert {c.status for c in checks} == {CheckStatus.QUEUED}
    assert {c.bank_account_id for c in checks} == {seed.operating.pk}
    # each advance is Dr 1300 Advanced Client Costs / Cr 1000 Operating (E112 by its UTBMS code)
    assert {c.activity_code.code for c in checks} == {"E112"}
    assert (
        sorted(
            (p.account.number, p.debit_cents > 0) for c in checks for p in c.entry.postings.all()
        )
        == [("1000", False)] * 3 + [("1300", True)] * 3
    )
    assert OutboxItem.objects.filter(firm=seed.firm).count() == 3
    cases_sign_out(page, base)

    # --- 5. In the books, the three checks are printed ------------------------------------
    books_sign_in(page, base, "books.admin@lopez.test", PASSWORD, walk)
    expect(page).to_have_url(f"{base}/books/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Checks").click()
    expect(page.get_by_role("heading", name="Checks")).to_be_visible()
    walk.step("books-checks")
    numbers: dict[str, str] = {}
    for payee, _cents, shown in COSTS:
        page.get_by_role("link", name=f"Print check to {payee} for {shown}").click()
        box = dialog(page, f"Print check to {payee}")
        number = box.get_by_label("Check number")
        expect(number).not_to_have_value("")
        numbers[payee] = number.input_value()
        expect(box.get_by_label("Printed on")).not_to_have_value("")
        walk.step("books-check-print")
        box.get_by_role("button", name="Mark printed").click()
        toast(page, f"Check {numbers[payee]} to {payee} printed.")
        walk.step("books-check-printed")
    assert len(set(numbers.values())) == 3
    expect(page.get_by_text("No queued checks.")).to_be_visible()
    printed = {c.payee: str(c.check_number) for c in Check.objects.filter(firm=seed.books_firm)}
    assert printed == numbers
    assert set(Check.objects.filter(firm=seed.books_firm).values_list("status", flat=True)) == {
        CheckStatus.PRINTED
    }
    books_sign_out(page, base)

    # --- 6. Sync check status; the Paid tab shows the costs with their check numbers ------
    cases_sign_in(page, base, "admin@lopez.test", walk)
    card = open_integrations(page, walk)
    card.get_by_role("button", name="Sync check status").click()
    toast(page, "Check status synced: 3 paid, 0 voided, 0 problems.")
    expect(page.locator("#books-integration-card [data-field=last-sync]")).to_contain_text(
        "3 paid, 0 voided, 0 problems"
    )
    walk.step("cases-synced")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Costs Management").click()
    expect(page.locator("[data-count=pending]")).to_have_text("0")
    expect(page.locator("[data-count=paid]")).to_have_text("3")
    costs_tab(page, "Paid")
    table = page.locator("#costs-management")
    for payee, _cents, shown in COSTS:
        row = table.get_by_role("row").filter(has_text=payee)
        expect(row).to_contain_text(shown)
        expect(row).to_contain_text(re.compile(rf"Check {re.escape(numbers[payee])}\b"))
    walk.step("cases-costs-paid")
    for cost in seed.costs:
        cost.refresh_from_db()
        assert cost.status == CostStatus.PAID
        assert cost.payment_reference == numbers[cost.payee.name]
        assert cost.paid_date is not None
    cases_sign_out(page, base)

    # --- 7. Without settings access: no Account Settings, and the page is refused --------
    assert seed.paralegal.has_permission(Permission.COSTS_MANAGEMENT)
    cases_sign_in(page, base, "pat@lopez.test", walk)
    expect(page.get_by_role("link", name="Costs Management")).to_be_visible()
    menu = user_menu(page)
    expect(menu.get_by_role("menuitem", name="Sign out")).to_be_visible()
    expect(menu.get_by_role("menuitem", name="Account Settings")).to_have_count(0)
    walk.step("cases-user-menu")
    page.keyboard.press("Escape")
    # The address typed in: the 403 page, without the Activate button (fetched with the
    # page's cookies, as a 403 navigation would be logged as a console error).
    response = page.request.get(f"{base}{reverse('cases:settings_integrations')}")
    assert response.status == 403
    body = response.text()
    assert "Permission needed" in body
    assert "Activate the books integration" not in body
    assert ">Activate<" not in body
    # Nor can the pop-up be opened directly.
    response = page.request.get(f"{base}{reverse('bridge:activate')}")
    assert response.status == 403
    assert Connection.objects.get(firm=seed.firm).status == "connected"
    walk.done()
