"""The LEDES screens (ADR 0044): the invoice's LEDES button, the list's ticked and
whole-tab exports, and where the identifiers are kept (Settings -> LEDES e-billing, File
-> LEDES IDs, Rates/Codes -> Timekeepers -> LEDES)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from casebridge.books.exports import ledes
from casebridge.books.models import (
    ActivityCode,
    Invoice,
    LedesMatter,
    LedesSettings,
    LedesTimekeeper,
)
from casebridge.books.services import invoices
from casebridge.books.services import ledes as ledes_service
from casebridge.core.models import AuditEvent
from tests.books.ledger_helpers import writes_nothing
from tests.books.test_ledes import worked_invoice

from .conftest import HX, text
from .test_auth_screens import field_error
from .test_robustness import JUNK


@pytest.fixture
def ledes_ready(firm, admin, attorney):
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


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_the_invoice_screen_exports_its_invoice(
    clerk_client, ledes_ready, firm, admin, attorney, client_file
):
    invoice = worked_invoice(firm, admin, attorney, client_file)
    page = text(clerk_client.get(reverse("books:invoice_detail", args=[invoice.pk])))
    url = reverse("books:invoice_ledes", args=[invoice.pk])
    assert f'href="{url}"' in page
    response = clerk_client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="LEDES1998B-invoice-1001.txt"'
    assert len(ledes.parse(response.content.decode("ascii"))) == 3
    event = AuditEvent.objects.get(action="export")
    assert event.actor_label == "clerk@smith.test"


def test_a_refused_export_says_why_on_the_invoice_screen(
    admin_client, firm, admin, attorney, client_file
):
    invoice = worked_invoice(firm, admin, attorney, client_file)
    with writes_nothing():
        response = admin_client.get(reverse("books:invoice_ledes", args=[invoice.pk]), follow=True)
    assert response.redirect_chain == [(reverse("books:invoice_detail", args=[invoice.pk]), 302)]
    assert messages_of(response) == [
        "The firm has no LEDES law firm ID (its federal tax ID) nor fee task and activity "
        "codes yet (Settings → LEDES e-billing)"
    ]


def test_the_list_exports_the_ticked_invoices_or_the_whole_tab(
    admin_client, ledes_ready, firm, admin, attorney, client_file
):
    first = worked_invoice(firm, admin, attorney, client_file)
    second = worked_invoice(firm, admin, attorney, client_file)
    page = text(admin_client.get(reverse("books:invoices") + "?stage=draft"))
    assert 'form="ledes-export"' in page
    assert "Export all 2 as LEDES" in page
    url = reverse("books:invoices_ledes")
    ticked = admin_client.get(url, {"stage": "draft", "id": [second.pk]})
    assert [r["INVOICE_NUMBER"] for r in ledes.parse(ticked.content.decode())] == ["1002"] * 3
    whole = admin_client.get(url, {"stage": "draft", "all": "1"})
    assert [r["INVOICE_NUMBER"] for r in ledes.parse(whole.content.decode())] == (
        ["1001"] * 3 + ["1002"] * 3
    )
    assert first.pk != second.pk
    nothing = admin_client.get(url, {"stage": "draft"}, follow=True)
    assert messages_of(nothing) == ["Choose at least one invoice"]


def test_the_voided_tab_has_no_export_and_a_voided_invoice_is_refused(
    admin_client, ledes_ready, firm, admin, attorney, client_file
):
    invoice = worked_invoice(firm, admin, attorney, client_file)
    invoices.invoice_void(firm=firm, actor=admin, invoice_id=invoice.pk, reason="Wrong file")
    page = text(admin_client.get(reverse("books:invoices") + "?stage=voided"))
    assert "ledes-export" not in page
    with writes_nothing():
        response = admin_client.get(
            reverse("books:invoices_ledes"), {"id": [invoice.pk]}, follow=True
        )
    assert messages_of(response) == ["Invoice 1001 is voided: a voided invoice is not billed"]


def test_settings_ledes_saves_and_refuses_a_bad_code(admin_client, firm):
    url = reverse("books:ledes_settings")
    assert "LEDES e-billing" in text(admin_client.get(url))
    bad = admin_client.post(
        url, {"law_firm_id": "12-3456789", "fee_task_code": "A101", "fee_activity_code": "A101"}
    )
    assert bad.status_code == 422
    assert "The fee task code must be a UTBMS code such as L110" in field_error(
        text(bad), "fee_task_code"
    )
    assert not LedesSettings.objects.exists()
    good = admin_client.post(
        url,
        {"law_firm_id": "12-3456789", "fee_task_code": "l120", "fee_activity_code": "A103"},
        follow=True,
    )
    assert messages_of(good) == [
        "LEDES settings saved: law firm ID 12-3456789, fee lines billed under L120 and A103."
    ]
    assert LedesSettings.objects.get(firm=firm).fee_task_code == "L120"


def test_settings_ledes_is_for_administrators(clerk_client):
    assert clerk_client.get(reverse("books:ledes_settings")).status_code == 403


def test_a_files_ledes_ids(admin_client, client_file):
    url = reverse("books:file_ledes", args=[client_file.pk])
    assert "LEDES IDs" in text(
        admin_client.get(reverse("books:file_detail", args=[client_file.pk]))
    )
    assert admin_client.get(url, **HX).status_code == 200
    bad = admin_client.post(url, {"client_id": "ACME|INS", "client_matter_id": ""}, **HX)
    assert bad.status_code == 422
    assert "may hold only printable ASCII without |, [ or ]" in field_error(text(bad), "client_id")
    assert not LedesMatter.objects.exists()
    good = admin_client.post(url, {"client_id": "ACME-INS", "client_matter_id": "CLM-7788"}, **HX)
    assert good.status_code == 200
    assert good["HX-Redirect"] == reverse("books:file_detail", args=[client_file.pk])
    saved = LedesMatter.objects.get(file=client_file)
    assert (saved.client_id, saved.client_matter_id) == ("ACME-INS", "CLM-7788")


def test_a_timekeepers_ledes_classification(admin_client, attorney):
    page = text(admin_client.get(reverse("books:timekeepers")))
    url = reverse("books:timekeeper_ledes", args=[attorney.pk])
    assert url in page
    bad = admin_client.post(url, {"timekeeper_id": "", "classification": "XX"}, **HX)
    assert bad.status_code == 422
    assert not LedesTimekeeper.objects.exists()
    good = admin_client.post(url, {"timekeeper_id": "SS", "classification": "PT"}, **HX)
    assert good.status_code == 200
    assert LedesTimekeeper.objects.get(user=attorney).classification == "PT"
    assert "Partner" in text(admin_client.get(reverse("books:timekeepers")))


def test_junk_in_the_list_export_never_breaks_it(admin_client, ledes_ready):
    url = reverse("books:invoices_ledes")
    for junk in JUNK:
        with writes_nothing():
            response = admin_client.get(url, {"stage": junk, "id": junk, "all": junk, "next": junk})
        assert response.status_code == 302, junk
        assert response["Location"].startswith(reverse("books:invoices")), junk


def test_another_firms_invoice_file_and_timekeeper_are_not_found(
    other_client, firm, admin, attorney, client_file
):
    invoice = worked_invoice(firm, admin, attorney, client_file)
    for url in (
        reverse("books:invoice_ledes", args=[invoice.pk]),
        reverse("books:file_ledes", args=[client_file.pk]),
        reverse("books:timekeeper_ledes", args=[attorney.pk]),
    ):
        assert other_client.get(url).status_code == 404, url
    theirs = other_client.get(reverse("books:invoices_ledes"), {"id": [invoice.pk]}, follow=True)
    assert messages_of(theirs) == [f"No invoice {invoice.pk} in this firm"]


# --- a line's own UTBMS codes (ADR 0054) ---------------------------------------------------


def new_invoice_form(file, e101, attorney, **second_row):
    return {
        "file": file.number,
        "invoice_date": "2026-03-02",
        "kind_1": "fee",
        "description_1": "Deposition of the truck driver",
        "amount_1": "1200.00",
        "timekeeper_1": str(attorney.pk),
        "hours_1": "3",
        "utbms_task_code_1": "L330",
        "utbms_activity_code_1": "A109",
        "kind_2": "cost",
        "description_2": "Deposition transcript",
        "amount_2": "612.40",
        "activity_code_2": str(e101.pk),
        **second_row,
    }


def test_new_invoice_takes_each_lines_codes(admin_client, firm, attorney, client_file):
    e101 = ActivityCode.objects.get(firm=firm, code="E101")
    form = text(admin_client.get(reverse("books:invoice_new"), **HX))
    assert '<option value="L330">L330 Depositions</option>' in form
    assert "Line 1 UTBMS expense code" in form
    response = admin_client.post(
        reverse("books:invoice_new"),
        new_invoice_form(client_file, e101, attorney, utbms_expense_code_2="E115"),
        **HX,
    )
    invoice = Invoice.objects.get(firm=firm)
    assert response["HX-Redirect"] == reverse("books:invoice_detail", args=[invoice.pk])
    assert list(
        invoice.lines.order_by("pk").values_list(
            "utbms_task_code", "utbms_activity_code", "utbms_expense_code"
        )
    ) == [("L330", "A109", ""), ("", "", "E115")]


def test_new_invoice_refuses_a_code_of_the_other_kind_beside_its_field(
    admin_client, firm, attorney, client_file
):
    e101 = ActivityCode.objects.get(firm=firm, code="E101")
    with writes_nothing():
        wrong_kind = admin_client.post(
            reverse("books:invoice_new"),
            new_invoice_form(client_file, e101, attorney, utbms_task_code_2="L110"),
            **HX,
        )
        unknown = admin_client.post(
            reverse("books:invoice_new"),
            new_invoice_form(client_file, e101, attorney, utbms_expense_code_2="E125"),
            **HX,
        )
    assert wrong_kind.status_code == unknown.status_code == 422
    assert field_error(text(wrong_kind), "utbms_task_code_2") == (
        'id="id_utbms_task_code_2_error"><p>Line 2: a cost line takes a UTBMS expense code, '
        "not a task or activity code</p>"
    )
    assert "Select a valid choice" in field_error(text(unknown), "utbms_expense_code_2")


def test_new_invoice_refuses_a_row_with_only_its_codes_chosen(
    admin_client, firm, attorney, client_file
):
    # review: such a row counted as a line and was refused as "amount must be greater
    # than zero" beside its kind
    e101 = ActivityCode.objects.get(firm=firm, code="E101")
    with writes_nothing():
        response = admin_client.post(
            reverse("books:invoice_new"),
            new_invoice_form(client_file, e101, attorney, utbms_task_code_4="L110"),
            **HX,
        )
    assert response.status_code == 422
    assert field_error(text(response), "kind_4") == (
        'id="id_kind_4_error"><p>Line 4 has UTBMS codes but nothing else: fill in its kind, '
        "description and amount, or set its codes back to Default.</p>"
    )


def test_a_lines_codes_pop_up_on_the_invoice_screen(
    admin_client, ledes_ready, firm, admin, attorney, client_file
):
    invoice = worked_invoice(firm, admin, attorney, client_file)
    fee = invoice.lines.get(kind="fee")
    url = reverse("books:invoice_line_codes", args=[invoice.pk, fee.pk])
    page = text(admin_client.get(reverse("books:invoice_detail", args=[invoice.pk])))
    assert f'hx-get="{url}"' in page
    assert 'aria-label="UTBMS codes of line 2, Demand package | medical summary"' in page
    popup = text(admin_client.get(url, **HX))
    assert "Default: L120 / A103, the firm&#x27;s LEDES fee codes." in popup
    assert "UTBMS expense code" not in popup  # a fee has no expense code
    response = admin_client.post(
        url, {"utbms_task_code": "L160", "utbms_activity_code": ""}, **HX, follow=False
    )
    assert response["HX-Redirect"] == reverse("books:invoice_detail", args=[invoice.pk])
    fee.refresh_from_db()
    assert (fee.utbms_task_code, fee.utbms_activity_code) == ("L160", "")
    shown = text(admin_client.get(reverse("books:invoice_detail", args=[invoice.pk])))
    assert "Invoice 1001: “Demand package | medical summary” is billed under L160." in shown
    assert "L160 / Default" in shown


def test_a_lines_codes_pop_up_refuses_and_writes_nothing(
    admin_client, ledes_ready, firm, admin, attorney, client_file
):
    invoice = worked_invoice(firm, admin, attorney, client_file)
    copies = invoice.lines.get(description="Medical records copies")
    url = reverse("books:invoice_line_codes", args=[invoice.pk, copies.pk])
    assert "Default: E101, the UTBMS code of activity code E101." in text(
        admin_client.get(url, **HX)
    )
    with writes_nothing():
        bad = admin_client.post(url, {"utbms_expense_code": "L110"}, **HX)
        for junk in JUNK:
            assert admin_client.post(url, {"utbms_expense_code": junk}, **HX).status_code == 422
    assert bad.status_code == 422
    assert "Select a valid choice" in field_error(text(bad), "utbms_expense_code")
    invoices.invoice_void(firm=firm, actor=admin, invoice_id=invoice.pk, reason="Wrong file")
    assert url not in text(admin_client.get(reverse("books:invoice_detail", args=[invoice.pk])))
    # its address opened anyway: the refusal on the invoice's page, no form (review)
    opened = admin_client.get(url, **HX)
    assert opened["HX-Redirect"] == reverse("books:invoice_detail", args=[invoice.pk])
    assert messages_of(admin_client.get(opened["HX-Redirect"])) == [
        "Invoice 1001 is void; its lines' codes no longer change."
    ]
    with writes_nothing():
        void = admin_client.post(url, {"utbms_expense_code": "E102"}, **HX)
    assert void.status_code == 422
    assert "the invoice is void; its lines&#x27; codes no longer change" in text(void)
    copies.refresh_from_db()
    assert copies.utbms_expense_code == ""


def test_another_firms_invoice_line_codes_are_not_found(
    other_client, firm, admin, attorney, client_file
):
    invoice = worked_invoice(firm, admin, attorney, client_file)
    line = invoice.lines.first()
    url = reverse("books:invoice_line_codes", args=[invoice.pk, line.pk])
    assert other_client.get(url).status_code == 404
    assert other_client.post(url, {"utbms_expense_code": "E102"}).status_code == 404
