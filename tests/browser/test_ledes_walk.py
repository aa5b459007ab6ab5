"""LEDES e-billing in real Chromium at a phone's and a desktop's size (ADR 0044): an
administrator sets the firm's LEDES settings, a timekeeper's classification and a file's
claim number, then downloads an invoice as LEDES 1998B from its screen and the ticked
invoices from the list; each step fits the window and passes axe."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from casebridge.books.exports import ledes
from casebridge.books.models import ActivityCode
from casebridge.books.services import invoices
from casebridge.books.services import ledes as ledes_service
from casebridge.books.services.invoices import LineSpec
from tests.browser.screens import Walk
from tests.browser.test_seed_books_setup import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def invoice(firm, admin, attorney, client_file):
    copying = ActivityCode.objects.get(firm=firm, code="E101")
    return invoices.invoice_create(
        firm=firm,
        actor=admin,
        file_id=client_file.pk,
        invoice_date=dt.date(2026, 3, 2),
        description="Pre-litigation work",
        lines=[
            LineSpec(
                kind="fee",
                description="Demand package",
                amount_cents=300_000,
                timekeeper_id=attorney.pk,
                hours=Decimal("7.50"),
                line_date=dt.date(2026, 2, 20),
            ),
            LineSpec(
                kind="cost",
                description="Medical records copies",
                amount_cents=12_550,
                activity_code_id=copying.pk,
                line_date=dt.date(2026, 2, 3),
            ),
        ],
    )


def test_set_up_ledes_and_export_invoices(live_server, walk: Walk, admin, client_file, invoice):
    page, base = walk.page, live_server.url
    sign_in(page, base, admin.email, PASSWORD)
    expect(page).to_have_url(f"{base}/books/")

    page.goto(f"{base}/books/settings/ledes/")
    walk.step("settings")
    page.get_by_label("Law firm ID (federal tax ID)").fill("12-3456789")
    page.get_by_label("UTBMS task code of fee lines").fill("L120")
    page.get_by_label("UTBMS activity code of fee lines").fill("A103")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("LEDES settings saved: law firm ID 12-3456789")).to_be_visible()
    walk.step("settings-saved")

    page.goto(f"{base}/books/settings/rates-codes/timekeepers/")
    walk.step("timekeepers")
    page.get_by_role("link", name="LEDES details of Sam Smith").click()
    dialog = page.get_by_role("dialog", name="LEDES: Sam Smith")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Classification").select_option(label="Partner")
    dialog.get_by_label("Timekeeper ID").fill("SS")
    walk.step("timekeeper-popup")
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Sam Smith is billed in LEDES files as Partner.")).to_be_visible()

    page.goto(f"{base}/books/files/{client_file.pk}/")
    page.get_by_role("link", name="LEDES IDs").click()
    dialog = page.get_by_role("dialog", name=f"LEDES IDs of file {client_file.number}")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Client ID").fill("ACME-INS")
    dialog.get_by_label("Client matter ID (e.g. claim number)").fill("CLM-778812")
    walk.step("file-popup")
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_text(f"LEDES IDs of file {client_file.number} saved.")).to_be_visible()

    page.goto(f"{base}/books/invoices/{invoice.pk}/")
    walk.step("invoice")
    with page.expect_download() as info:
        page.get_by_role("link", name="Export invoice 1001 as LEDES 1998B").click()
    download = info.value
    assert download.suggested_filename == "LEDES1998B-invoice-1001.txt"
    with open(download.path(), encoding="ascii", newline="") as kept:
        rows = ledes.parse(kept.read())
    assert [
        (r["EXP/FEE/INV_ADJ_TYPE"], r["LINE_ITEM_TOTAL"], r["CLIENT_MATTER_ID"]) for r in rows
    ] == [
        ("E", "125.50", "CLM-778812"),
        ("F", "3000.00", "CLM-778812"),
    ]
    assert rows[1]["TIMEKEEPER_CLASSIFICATION"] == "PT"

    page.goto(f"{base}/books/invoices/?stage=draft")
    page.get_by_label("Tick invoice 1001 for LEDES export").check()
    walk.step("list-ticked")
    with page.expect_download() as info:
        page.get_by_role("button", name="Export ticked as LEDES").click()
    assert info.value.suggested_filename == "LEDES1998B-invoice-1001.txt"
    walk.done()


def test_a_lines_utbms_codes_from_the_invoice_screen(
    live_server, walk: Walk, firm, admin, attorney, client_file, invoice
):
    """ADR 0054: a fee line's own task and activity codes, set in its pop-up, replace the
    firm's defaults in the LEDES file; the New invoice rows carry the three code columns."""
    ledes_service.ledes_settings_save(
        firm=firm,
        actor=admin,
        law_firm_id="12-3456789",
        fee_task_code="L120",
        fee_activity_code="A103",
    )
    ledes_service.timekeeper_ledes_save(
        firm=firm, actor=admin, user_id=attorney.pk, timekeeper_id="SS", classification="PT"
    )
    page, base = walk.page, live_server.url
    sign_in(page, base, admin.email, PASSWORD)
    expect(page).to_have_url(f"{base}/books/")

    page.goto(f"{base}/books/invoices/{invoice.pk}/")
    walk.step("invoice-lines")
    page.get_by_role("link", name="UTBMS codes of line 2, Demand package").click()
    dialog = page.get_by_role("dialog", name="UTBMS codes: invoice 1001")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_text("Default: L120 / A103, the firm's LEDES fee codes.")).to_be_visible()
    dialog.get_by_label("UTBMS task code").select_option("L160")
    dialog.get_by_label("UTBMS activity code").select_option("A106")
    walk.step("line-codes-popup")
    dialog.get_by_role("button", name="Save").click()
    expect(
        page.get_by_text("Invoice 1001: “Demand package” is billed under L160 / A106.")
    ).to_be_visible()
    expect(page.get_by_role("cell", name="L160 / A106")).to_be_visible()
    walk.step("line-codes-saved")
    with page.expect_download() as info:
        page.get_by_role("link", name="Export invoice 1001 as LEDES 1998B").click()
    with open(info.value.path(), encoding="ascii", newline="") as kept:
        rows = ledes.parse(kept.read())
    assert [
        (r["LINE_ITEM_TASK_CODE"], r["LINE_ITEM_ACTIVITY_CODE"], r["LINE_ITEM_EXPENSE_CODE"])
        for r in rows
    ] == [("", "", "E101"), ("L160", "A106", "")]

    page.goto(f"{base}/books/invoices/new/")
    expect(page.get_by_label("Line 1 UTBMS task code")).to_be_visible()
    walk.step("new-invoice-rows")
    walk.done()
