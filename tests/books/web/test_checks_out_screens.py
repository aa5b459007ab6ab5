"""Checks out on the screens: Print selected (a batch, then its PDF), Reprint (spoiled), the
positive pay file, and a bank account's check printing details and positive pay layout."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from casebridge.books.models import (
    ActivityCode,
    BankAccount,
    Check,
    PositivePayLayout,
    SpoiledCheckNumber,
)
from casebridge.books.services import checks
from casebridge.core.models import AuditEvent

from .conftest import HX, text
from .test_auth_screens import field_error

FEB3 = "2026-02-03"


@pytest.fixture
def queued(firm, admin, trust, funded_file) -> list[Check]:
    """Three trust checks queued for the funded file on February 2nd."""
    return [
        checks.check_request_create(
            firm=firm,
            actor=admin,
            bank_account_id=trust.pk,
            payee=payee,
            amount_cents=cents,
            file_id=funded_file.pk,
            request_date=dt.date(2026, 2, 2),
        )
        for payee, cents in (
            ("Medical Lien Co", 10_000),
            ("Maria Lopez", 20_000),
            ("Valley Imaging", 5_000),
        )
    ]


def batch_url(*rows: Check) -> str:
    return reverse("books:checks_print_batch") + "?" + "&".join(f"ids={c.pk}" for c in rows)


def states(*rows: Check) -> list[tuple[str, int | None]]:
    fresh = Check.objects.in_bulk([c.pk for c in rows])
    return [(fresh[c.pk].status, fresh[c.pk].check_number) for c in rows]


def test_the_queue_offers_print_selected(admin_client, queued):
    html = text(admin_client.get(reverse("books:checks")))
    assert f'action="{reverse("books:checks_print_batch")}"' in html
    assert f'name="ids" value="{queued[0].pk}"' in html
    assert "Print selected" in html
    assert "Positive pay file" in html
    printed = text(admin_client.get(reverse("books:checks"), {"status": "printed"}))
    assert 'name="ids"' not in printed


def test_print_selected_numbers_the_batch_and_offers_the_pdf(admin_client, trust, queued):
    a, b, c = queued
    html = text(admin_client.get(batch_url(c, a), **HX))
    assert "<dialog" in html
    assert "2 checks on <strong>Client Trust (IOLTA)</strong> for $150.00" in html
    preview = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td>", html)
    assert preview == [("1001", "Valley Imaging"), ("1002", "Medical Lien Co")]
    assert 'id="micr-missing"' in html  # the trust account has no routing number yet

    response = admin_client.post(
        reverse("books:checks_print_batch"),
        {"ids": [c.pk, a.pk], "printed_on": FEB3, "layout": "three_per_page"},
        **HX,
    )
    assert response.status_code == 200
    html = text(response)
    assert "2 checks on Client Trust (IOLTA) numbered 1001 to 1002." in html
    assert states(a, b, c) == [("printed", 1002), ("queued", None), ("printed", 1001)]
    pdf_links = re.findall(r'href="(/books/checks/pdf/[^"]+)"', html)
    assert pdf_links == [
        f"/books/checks/pdf/?ids={c.pk},{a.pk}&amp;layout=three_per_page",
        f"/books/checks/pdf/?ids={c.pk},{a.pk}&amp;layout=check_on_top",
    ]
    pdf = admin_client.get(pdf_links[0].replace("&amp;", "&"))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf.content)) == 1
    assert f'href="{reverse("books:checks")}?status=printed"' in html


def test_the_micr_warning_goes_once_the_bank_has_its_numbers(admin_client, trust, queued):
    BankAccount.objects.filter(pk=trust.pk).update(
        routing_number="021000021", account_number="123456789"
    )
    assert 'id="micr-missing"' not in text(admin_client.get(batch_url(queued[0]), **HX))


def test_what_cannot_be_printed_together_is_said_and_nothing_is_written(
    admin_client, firm, admin, operating, queued, client_file
):
    a, b, _ = queued
    court = ActivityCode.objects.get(firm=firm, code="E112")
    elsewhere = checks.check_request_create(
        firm=firm,
        actor=admin,
        bank_account_id=operating.pk,
        payee="Superior Court",
        amount_cents=4_350,
        file_id=client_file.pk,
        activity_code_id=court.pk,
        request_date=dt.date(2026, 2, 2),
    )
    checks.check_print(firm=firm, actor=admin, check_id=b.pk, printed_on=dt.date(2026, 2, 3))
    events = AuditEvent.objects.count()
    cases = [
        (reverse("books:checks_print_batch"), "Choose the queued checks to print"),
        (batch_url(a, elsewhere), "drawn on more than one bank account"),
        (batch_url(a, b), "The check to Maria Lopez is printed, not queued."),
        (reverse("books:checks_print_batch") + "?ids=999999", "is not one of this firm"),
        (reverse("books:checks_print_batch") + "?ids=x", "Choose the queued checks"),
    ]
    for url, message in cases:
        html = text(admin_client.get(url, **HX))
        assert 'id="print-problem"' in html, url
        assert message in html, url
        assert "Number and print" not in html
    response = admin_client.post(
        reverse("books:checks_print_batch"), {"ids": [a.pk, elsewhere.pk], "printed_on": FEB3}
    )
    assert response.status_code == 422
    # a date before a check's date is refused by the service, next to the form
    response = admin_client.post(
        reverse("books:checks_print_batch"),
        {"ids": [a.pk], "printed_on": "2026-02-01", "layout": "check_on_top"},
        **HX,
    )
    assert response.status_code == 422
    assert "Printed_on 2026-02-01 is before check" in field_error(text(response), "printed_on")
    assert states(a, elsewhere) == [("queued", None), ("queued", None)]
    assert AuditEvent.objects.count() == events


def test_the_pdf_screen_refuses_what_is_not_printed(
    admin_client, other_client, firm, admin, queued
):
    a, b, _ = queued
    checks.check_print(firm=firm, actor=admin, check_id=a.pk, printed_on=dt.date(2026, 2, 3))
    pdf = reverse("books:checks_pdf")
    assert admin_client.get(pdf, {"ids": str(a.pk)}).status_code == 200
    cases = [
        ({"ids": str(b.pk)}, 409, f"ids: check {b.pk} is queued"),
        ({"ids": "999999"}, 404, "ids: check 999999 not found"),
        ({"ids": "1;2"}, 400, "ids must be check numbers"),
        ({"ids": str(a.pk), "layout": "sideways"}, 400, "Unknown layout"),
        ({}, 422, "ids: name at least one printed check"),
    ]
    for params, status, message in cases:
        response = admin_client.get(pdf, params)
        assert response.status_code == status, params
        assert message in text(response), (params, text(response))
    assert other_client.get(pdf, {"ids": str(a.pk)}).status_code == 404


def test_reprint_spoiled_gives_the_next_number(admin_client, firm, admin, trust, queued):
    a, b, _ = queued
    checks.checks_print_batch(
        firm=firm,
        actor=admin,
        check_ids=[a.pk, b.pk],
        bank_account_id=trust.pk,
        printed_on=dt.date(2026, 2, 3),
    )
    printed = text(admin_client.get(reverse("books:checks"), {"status": "printed"}))
    assert "Reprint check 1001 to Medical Lien Co (spoiled)" in printed
    url = reverse("books:check_reprint", args=[a.pk])
    html = text(admin_client.get(url, **HX))
    assert "printed as check <strong>1003</strong>" in html
    response = admin_client.post(url, {"reason": "", "printed_on": "2026-02-04"}, **HX)
    assert response.status_code == 422
    assert "This field is required." in field_error(text(response), "reason")
    response = admin_client.post(
        url, {"reason": "Jammed", "printed_on": "2026-02-04", "layout": "check_on_top"}, **HX
    )
    assert response.status_code == 200
    html = text(response)
    assert "Check 1001 to Medical Lien Co is spoiled; the same payment is now check 1003." in html
    assert f"/books/checks/pdf/?ids={a.pk}&amp;layout=check_on_top" in html
    assert states(a) == [("printed", 1003)]
    assert list(SpoiledCheckNumber.objects.values_list("number", "reason")) == [(1001, "Jammed")]
    # a queued check is not reprinted
    response = admin_client.post(
        reverse("books:check_reprint", args=[queued[2].pk]),
        {"reason": "Jammed", "printed_on": "2026-02-04", "layout": "check_on_top"},
        **HX,
    )
    assert response.status_code == 422
    assert "only a printed check can be reprinted" in text(response)


def test_the_positive_pay_file_downloads(admin_client, firm, admin, trust, queued):
    BankAccount.objects.filter(pk=trust.pk).update(account_number="987654321")
    checks.checks_print_batch(
        firm=firm,
        actor=admin,
        check_ids=[queued[0].pk],
        bank_account_id=trust.pk,
        printed_on=dt.date(2026, 2, 3),
    )
    url = reverse("books:positive_pay")
    html = text(admin_client.get(url, **HX))
    assert "<dialog" in html
    assert 'method="get"' in html
    response = admin_client.get(
        url,
        {"bank_account": trust.pk, "start": "2026-02-01", "end": "2026-02-28", "layout": "saved"},
    )
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        'attachment; filename="positive-pay-client-trust-iolta-20260201-20260228.csv"'
    )
    assert response.content.decode() == (
        "Account Number,Check Number,Amount,Issue Date,Payee,Issue/Void\r\n"
        "987654321,1001,100.00,02/03/2026,Medical Lien Co,I\r\n"
    )
    response = admin_client.get(
        url,
        {"bank_account": trust.pk, "start": "2026-02-28", "end": "2026-02-01", "layout": "saved"},
    )
    assert response.status_code == 422
    assert "The end date cannot be before the start date." in field_error(text(response), "end")
    BankAccount.objects.filter(pk=trust.pk).update(account_number="")
    response = admin_client.get(
        url,
        {"bank_account": trust.pk, "start": "2026-02-01", "end": "2026-02-28", "layout": "saved"},
    )
    assert response.status_code == 422
    assert "has no account number" in field_error(text(response), "bank_account")


def test_an_administrator_sets_the_check_printing_details(admin_client, operating):
    url = reverse("books:bank_check_printing", args=[operating.pk])
    response = admin_client.post(
        url,
        {"bank_name": "First National", "routing_number": "021000022", "account_number": "1"},
        **HX,
    )
    assert response.status_code == 422
    assert "Routing number 021000022 fails the ABA checksum" in field_error(
        text(response), "routing_number"
    )
    response = admin_client.post(
        url,
        {
            "bank_name": "First National",
            "routing_number": "021000021",
            "account_number": "123456789",
        },
        **HX,
    )
    assert response["HX-Redirect"] == reverse("books:bank_accounts")
    bank = BankAccount.objects.get(pk=operating.pk)
    assert (bank.bank_name, bank.routing_number, bank.account_number) == (
        "First National",
        "021000021",
        "123456789",
    )
    page = text(admin_client.get(reverse("books:bank_accounts")))
    assert "Check printing details of Operating saved: its checks carry a MICR line." in page
    assert 'aria-label="Check printing of Operating"' in page


def test_an_administrator_chooses_the_positive_pay_layout(admin_client, operating):
    url = reverse("books:bank_positive_pay_layout", args=[operating.pk])
    html = text(admin_client.get(url, **HX))
    assert '<option value="account" selected>' in html  # the first preset, column 1
    response = admin_client.post(
        url,
        {
            "preset": "",
            "column_1": "check_number",
            "column_2": "",
            "column_3": "amount",
            "date_format": "YYYYMMDD",
            "amount_format": "cents",
            "issue_flag": "I",
            "void_flag": "V",
        },
        **HX,
    )
    assert response["HX-Redirect"] == reverse("books:bank_accounts")
    layout = PositivePayLayout.objects.get(bank_account=operating)
    assert (layout.columns, layout.header) == ("check_number,amount", False)
    response = admin_client.post(
        url,
        {
            "preset": "",
            "column_1": "amount",
            "column_2": "amount",
            "date_format": "YYYYMMDD",
            "amount_format": "cents",
            "issue_flag": "I",
            "void_flag": "V",
        },
        **HX,
    )
    assert response.status_code == 422
    assert "A column is chosen twice" in field_error(text(response), "column_1")
    response = admin_client.post(
        url,
        {
            "preset": "cents_ymd_noheader",
            "date_format": "YYYYMMDD",
            "amount_format": "cents",
            "issue_flag": "I",
            "void_flag": "V",
        },
        **HX,
    )
    assert response["HX-Redirect"] == reverse("books:bank_accounts")
    layout.refresh_from_db()
    assert layout.columns == "account,check_number,amount,issue_date,flag,payee"
