"""ACH payments in real Chromium (issue 15, ADR 0046): a queued ACH payment ticked on the
ACH payments screen becomes a NACHA file, downloaded from the pop-up; its records are 94
characters in blocks of ten and its file control carries the payment's totals. The screen
fits a phone's width."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from casebridge.books.models import AchBatch, AchStatus, Contact
from casebridge.books.services import ach, checks
from casebridge.books.services.checks import CheckRequest
from tests.browser.screens import Walk
from tests.browser.test_seed_books_setup import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def queued_payment(firm, admin, trust, client_file):
    checks.trust_receipt_record(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        file_id=client_file.pk,
        payer="Acme Insurance",
        amount_cents=500_000,
        received_on=dt.date(2026, 3, 2),
    )
    maria = Contact.objects.get(firm=firm, name="Maria Lopez")
    ach.payee_bank_account_set(
        firm=firm,
        actor=admin,
        contact_id=maria.pk,
        routing_number="026009593",
        account_number="123456789",
        account_type="checking",
        holder_kind="person",
    )
    ach.ach_settings_set(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        immediate_destination="021000021",
        immediate_destination_name="JPMorgan Chase",
        immediate_origin="1234567890",
        immediate_origin_name="Smith Personal Injury",
        company_name="Smith PI LLP",
        company_id="1234567890",
        balanced=False,
    )
    check, _ = ach.ach_payment_request(
        firm=firm,
        actor=admin,
        request=CheckRequest(
            bank_account_id=trust.pk,
            payee="Maria Lopez",
            amount_cents=123_456,
            file_id=client_file.pk,
            request_date=dt.date(2026, 3, 3),
        ),
        payee_contact_id=maria.pk,
    )
    return check.ach_payment


def test_download_a_nacha_file_and_check_its_control_totals(
    live_server, page: Page, queued_payment
):
    sign_in(page, live_server.url, "admin@smith.test", PASSWORD)
    page.goto(f"{live_server.url}/books/ach/")
    expect(page.get_by_role("heading", level=1)).to_have_text("ACH payments")
    page.get_by_label("Select the ACH payment to Maria Lopez for $1,234.56").check()
    page.get_by_role("button", name="Make ACH file").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("1 payment from Client Trust (IOLTA) for $1,234.56")
    dialog.get_by_role("button", name="Make ACH file").click()
    expect(dialog).to_contain_text("ACH file A made: 1 entry, credits $1,234.56")

    with page.expect_download() as info:
        dialog.get_by_role("link", name="Download the NACHA file").click()
    text = Path(info.value.path()).read_text(encoding="ascii")
    lines = text.splitlines()
    assert [len(line) for line in lines] == [94] * 10
    assert [line[0] for line in lines] == ["1", "5", "6", "8", "9", "9", "9", "9", "9", "9"]
    control = lines[4]
    assert control[1:7] == "000001"  # batches
    assert control[7:13] == "000001"  # blocks
    assert control[13:21] == "00000001"  # entries
    assert control[21:31] == "0002600959"  # entry hash: the payee bank's first 8 digits
    assert control[31:43] == "000000000000"  # debits
    assert control[43:55] == "000000123456"  # credits
    assert lines[2][29:39] == "0000123456"

    batch = AchBatch.objects.get()
    assert ach.ach_batch_text(batch) == text  # the bytes the books kept
    queued_payment.refresh_from_db()
    assert queued_payment.status == AchStatus.BATCHED

    # On a phone: the screens fit and pass axe (screenshots in walk-phone/).
    page.set_viewport_size({"width": 390, "height": 844})
    walk = Walk(page, "phone", "ach")
    page.goto(f"{live_server.url}/books/ach/?status=batched")
    expect(page.locator(f"#ach-{queued_payment.pk}")).to_contain_text("021000020000001")
    walk.step("batched")
    page.get_by_role("link", name="Change the bank details of Maria Lopez").click()
    expect(page.get_by_role("dialog")).to_contain_text("account •••••6789 (PPD)")
    walk.step("bank-details")
    page.goto(f"{live_server.url}/books/files/{queued_payment.disbursement.file_id}/")
    walk.step("file")
    page.get_by_role("link", name="Pay by ACH").click()
    expect(page.get_by_role("dialog")).to_contain_text("Paid by ACH credit")
    walk.step("pay-by-ach")
    walk.done()
