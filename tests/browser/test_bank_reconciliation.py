"""The bank month in real Chromium (issue 11): import a camt.053 statement, auto-match,
set the bank fee aside (a difference on a trust account), record it to the client's
ledger instead, reconcile March, sign it as an attorney, download the PDF, then
see a deposit back-dated into the signed month refused on screen; the pages fit a phone."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest
from playwright.sync_api import Page, expect

from casebridge.books.models import Reconciliation, TrustReceipt
from casebridge.books.services import auth, checks
from tests.books.bank.statement_files import Row, camt053
from tests.books.ledger_helpers import books_open, deposit, trust_check
from tests.browser.conftest import row_action
from tests.browser.test_seed_books_setup import sign_in
from tests.conftest import PASSWORD
from tests.twofactor import enrol

pytestmark = pytest.mark.browser

MAR = dt.date(2026, 3, 1)
END = dt.date(2026, 3, 31)


def d(day: int) -> dt.date:
    return dt.date(2026, 3, day)


@pytest.fixture
def march(firm, admin, trust, client_file):
    """The books' March of the trust account: a $100,000 settlement, check 1001 to the
    doctor ($2,500, cleared in March), check 1002 to the client ($1,000, outstanding) and
    a $400 receipt of March 31 (in transit)."""
    books_open(firm, admin)
    deposit(firm, admin, trust, client_file, 10_000_000, on=d(2))
    for cents, on, payee in ((250_000, d(5), "Fresno Medical Group"), (100_000, d(20), "Maria")):
        check = trust_check(firm, admin, trust, client_file, cents, on=on, payee=payee)
        checks.check_print(firm=firm, actor=admin, check_id=check.pk, printed_on=on)
    deposit(firm, admin, trust, client_file, 40_000, on=d(31), payer="Maria Lopez")


@pytest.fixture
def attorney_signer(firm, admin):
    user = auth.user_create(
        firm=firm,
        email="partner@smith.test",
        password=PASSWORD,
        first_name="Pat",
        last_name="Partner",
        is_attorney=True,
        actor=admin,
    )
    enrol(user)  # two-factor sign-in, the fixed secret
    return auth.security_question_enroll(user=user, question="Court?", answer="Fresno")


def fits_a_phone(page: Page, urls: list[str]) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    for url in urls:
        page.goto(url)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (url, width)
    page.set_viewport_size({"width": 1280, "height": 820})


def test_statement_to_signed_month_to_a_refused_back_dated_deposit(
    live_server, page: Page, tmp_path, firm, admin, trust, client_file, march, attorney_signer
):
    statement = tmp_path / "march.camt053.xml"
    statement.write_bytes(
        camt053(
            [
                Row(d(3), 10_000_000, text="Acme Insurance settlement"),
                Row(d(10), -250_000, check="1001"),
                Row(d(31), -1_250, text="MONTHLY SERVICE FEE"),
            ],
            start=MAR,
            end=END,
            opening=0,
            closing=10_000_000 - 250_000 - 1_250,
        )
    )
    base = live_server.url

    # import the statement from the dashboard's link
    sign_in(page, base, "admin@smith.test", PASSWORD)
    bank_row = page.locator("#banks-title").locator("xpath=../..").get_by_role("row")
    bank_row.filter(has_text=trust.name).get_by_role("link", name="Statements").click()
    page.get_by_label("Statement file").set_input_files(str(statement))
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-result")).to_contain_text("imported: 3 new lines")

    # auto-match: the deposit and check 1001 clear, the fee is left
    page.get_by_role("link", name="Reconcile", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Client Trust (IOLTA): reconcile")
    page.get_by_role("button", name="Auto-match").click()
    expect(page.locator("#messages")).to_contain_text(
        "Auto-match: 2 lines matched (2 items cleared), 0 proposed, 1 left unmatched."
    )
    fee_row = page.locator("#lines tbody tr").filter(has_text="MONTHLY SERVICE FEE")
    expect(fee_row).to_contain_text("Unmatched")
    expect(page.locator("#lines tbody tr").filter(has_text="Check 1001")).to_contain_text(
        "Fresno Medical Group"
    )

    # resolve the fee: set aside, first without a note (refused in the pop-up)
    row_action(fee_row, "link", "Set aside the line of 2026-03-31 for -$12.50").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Set aside").click()
    expect(dialog.locator("#id_note_error")).to_contain_text(
        "Say why the line is left as a reconciling item"
    )
    dialog.get_by_label("Note").fill("Fee charged in error; refund asked")
    dialog.get_by_role("button", name="Set aside").click()
    expect(page.locator("#messages")).to_contain_text(
        "The line of 2026-03-31 for -$12.50 is set aside as a reconciling item."
    )
    expect(page.locator("#lines tbody tr").filter(has_text="MONTHLY SERVICE FEE")).to_contain_text(
        "Fee charged in error; refund asked"
    )
    reconcile_page = page.url

    # on a trust account a line set aside stops the month...
    page.get_by_role("link", name="Monthly reconciliation").click()
    page.get_by_label("Month", exact=True).fill("2026-03")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#differences")).to_contain_text("set aside on a client trust account")

    # ... so it is unmatched and recorded to the client's ledger instead
    page.goto(reconcile_page)
    fee_row = page.locator("#lines tbody tr").filter(has_text="MONTHLY SERVICE FEE")
    fee_row.get_by_role("link", name="Unmatch the line of 2026-03-31 for -$12.50").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Unmatch").click()
    expect(page.locator("#messages")).to_contain_text("is unmatched")
    fee_row = page.locator("#lines tbody tr").filter(has_text="MONTHLY SERVICE FEE")
    row_action(fee_row, "link", "Record the line of 2026-03-31 for -$12.50").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("#iolta-rule")).to_contain_text("bar foundation")
    dialog.get_by_label("File number").fill(client_file.number)
    dialog.get_by_role("button", name="Record").click()
    expect(page.locator("#messages")).to_contain_text("is recorded in the books and matched")

    # the month: every figure agrees; prepare it (the administrator is no attorney)
    page.get_by_role("link", name="Monthly reconciliation").click()
    page.get_by_label("Month", exact=True).fill("2026-03")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("reconciliation of March 2026")
    expect(page.locator("#differences")).to_contain_text("The month reconciles")
    expect(page.locator("#fig-statement")).to_have_text("$97,487.50")
    expect(page.locator("#fig-outstanding")).to_have_text("$1,000.00")
    expect(page.locator("#fig-transit")).to_have_text("$400.00")
    expect(page.locator("#fig-adjusted")).to_have_text("$96,887.50")
    expect(page.locator("#fig-journal")).to_have_text("$96,887.50")
    expect(page.locator("#fig-ledgers")).to_have_text("$96,887.50")
    page.get_by_role("button", name="Prepare").click()
    expect(page.locator("#messages")).to_contain_text("prepared: it reconciles")
    expect(page.locator("#saved").get_by_role("button", name="Sign")).to_be_disabled()
    expect(page.locator("#sign-reason")).to_contain_text("Only an attorney may sign")
    reconcile_url = page.url
    fits_a_phone(page, [f"{base}/books/bank-accounts/{trust.pk}/reconcile/", reconcile_url])
    page.get_by_role("button", name="Sign out").click()

    # the attorney signs
    sign_in(page, base, "partner@smith.test", PASSWORD)
    page.goto(reconcile_url)
    page.locator("#saved").get_by_role("button", name="Sign").click()
    expect(page.locator("#messages")).to_contain_text("is closed through 2026-03-31.")
    history = page.locator("#history-table")
    expect(history).to_contain_text("Signed")
    expect(history).to_contain_text("Pat Partner")
    saved = Reconciliation.objects.get()
    assert (saved.status, saved.signed_by_id) == ("signed", attorney_signer.pk)

    # the PDF an auditor asks for
    with page.expect_download() as info:
        history.get_by_role("link", name="PDF of the March 2026 reconciliation (signed)").click()
    pdf = tmp_path / "march.pdf"
    info.value.save_as(pdf)
    assert info.value.suggested_filename == "reconciliation-client-trust-iolta-2026-03.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    pdftotext = shutil.which("pdftotext")  # Debian's poppler-utils, as the browser tests
    assert pdftotext is not None, "pdftotext (poppler-utils) reads the PDF back"
    words = subprocess.run(  # noqa: S603 - a fixed command on a file the test wrote
        [pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for shown in (
        "reconciliation for March 2026",
        "$97,487.50",
        "$96,887.50",
        "$1,000.00",
        "$400.00",
        "Maria Lopez",
        "Pat Partner",
    ):
        assert shown in words, shown

    # a deposit back-dated into the signed month is refused on screen; nothing is written
    receipts = TrustReceipt.objects.count()
    page.goto(f"{base}/books/files/{client_file.pk}/")
    page.get_by_role("link", name="Record trust deposit").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Received from").fill("Acme Insurance")
    dialog.get_by_label("Amount").fill("50.00")
    dialog.get_by_label("Date received").fill("2026-03-15")
    dialog.get_by_role("button", name="Record deposit").click()
    expect(dialog).to_contain_text("is closed through 2026-03-31 by a signed reconciliation")
    assert TrustReceipt.objects.count() == receipts
