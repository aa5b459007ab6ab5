"""Invoices by stage, moved on with the stage the screen showed (stale screens refused)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from casebridge.books.models import AccountRole, Invoice, TrustLedger
from casebridge.books.services import invoices, setup
from casebridge.books.services.invoices import LineSpec
from casebridge.core import clock
from tests.conftest import account

from .conftest import HX, text
from .test_auth_screens import field_error


@pytest.fixture
def invoice(firm, admin, attorney, trust, operating, funded_file):
    return invoices.invoice_create(
        firm=firm,
        actor=admin,
        file_id=funded_file.pk,
        description="Contingency fee",
        pay_from_trust=True,
        invoice_date=dt.date(2026, 2, 10),
        lines=[
            LineSpec(
                kind="fee",
                description="Attorney fee 33.33%",
                amount_cents=33_330,
                timekeeper_id=attorney.pk,
            )
        ],
    )


def advance(client, invoice, stage):
    return client.post(
        reverse("books:invoice_advance", args=[invoice.pk]),
        {"expected_stage": stage, "next": f"/books/invoices/?stage={stage}"},
        follow=True,
    )


def test_the_draft_tab_lists_the_invoice_with_submit(admin_client, invoice):
    html = text(admin_client.get(reverse("books:invoices")))
    assert f"<strong>{invoice.number}</strong>" in html
    assert "Submit for review" in html
    assert ">Release <span" not in html  # the release stage is off
    detail = text(admin_client.get(reverse("books:invoice_detail", args=[invoice.pk])))
    assert "Attorney fee 33.33%" in detail
    assert "Sam Smith" in detail
    assert "$333.30" in detail


def test_draft_to_review_to_final_when_the_release_stage_is_off(admin_client, invoice, funded_file):
    response = advance(admin_client, invoice, "draft")
    assert f"Invoice {invoice.number} moved to Review." in text(response)
    assert Invoice.objects.get(pk=invoice.pk).stage == "review"
    response = advance(admin_client, invoice, "review")
    assert f"Invoice {invoice.number} is final and posted ($333.30)." in text(response)
    invoice.refresh_from_db()
    assert invoice.stage == "final"
    assert invoice.entry is not None
    assert TrustLedger.objects.get(file=funded_file).balance_cents == 100_000 - 33_330
    assert account(invoice.firm, AccountRole.FEE_INCOME).balance_cents == -33_330


def test_with_the_release_stage_on_approve_goes_to_release(admin_client, firm, admin, invoice):
    setup.firm_features_update(firm=firm, actor=admin, release_invoice_stage_enabled=True)
    advance(admin_client, invoice, "draft")
    html = text(admin_client.get(reverse("books:invoices"), {"stage": "review"}))
    assert "Approving moves an invoice to <strong>Release</strong>" in html
    advance(admin_client, invoice, "review")
    assert Invoice.objects.get(pk=invoice.pk).stage == "release"
    html = text(admin_client.get(reverse("books:invoices"), {"stage": "release"}))
    assert 'aria-current="page">Release <span class="count">1</span>' in html
    assert f'aria-label="Release invoice {invoice.number}"' in html
    advance(admin_client, invoice, "release")
    assert Invoice.objects.get(pk=invoice.pk).stage == "final"


def test_a_stale_screen_cannot_move_an_invoice_twice(admin_client, invoice):
    advance(admin_client, invoice, "draft")
    response = advance(admin_client, invoice, "draft")  # the old screen still said draft
    assert f"Invoice {invoice.number} is now in stage review, not draft" in text(response)
    assert Invoice.objects.get(pk=invoice.pk).stage == "review"


def test_an_advance_without_the_stage_is_refused(admin_client, invoice):
    response = admin_client.post(reverse("books:invoice_advance", args=[invoice.pk]), follow=True)
    assert "reload it" in text(response)
    assert Invoice.objects.get(pk=invoice.pk).stage == "draft"


def test_an_advance_never_redirects_off_site(admin_client, invoice):
    response = admin_client.post(
        reverse("books:invoice_advance", args=[invoice.pk]),
        {"expected_stage": "draft", "next": "//evil.example/"},
    )
    assert response["Location"] == "/books/invoices/?stage=draft"


def test_voiding_a_final_invoice_returns_the_money_to_trust(admin_client, invoice, funded_file):
    advance(admin_client, invoice, "draft")
    advance(admin_client, invoice, "review")
    response = admin_client.post(
        reverse("books:invoice_void", args=[invoice.pk]),
        {"void_date": clock.today().isoformat(), "reason": "Fee renegotiated"},
        **HX,
    )
    assert response["HX-Redirect"] == "/books/invoices/?stage=final"
    invoice.refresh_from_db()
    assert invoice.stage == "voided"
    assert invoice.void_entry is not None
    assert TrustLedger.objects.get(file=funded_file).balance_cents == 100_000
    html = text(admin_client.get(reverse("books:invoices"), {"stage": "voided"}))
    assert f"<strong>{invoice.number}</strong>" in html


def test_a_void_dated_before_the_posting_is_refused(admin_client, invoice, funded_file):
    invoices.invoice_finalise(
        firm=invoice.firm, actor=None, invoice_id=invoice.pk, on=dt.date(2026, 2, 15)
    )
    response = admin_client.post(
        reverse("books:invoice_void", args=[invoice.pk]),
        {"void_date": "2026-02-01", "reason": "Oops"},
        **HX,
    )
    assert response.status_code == 422
    assert "cannot be dated before" in field_error(text(response), "void_date")
    assert Invoice.objects.get(pk=invoice.pk).stage == "final"


def test_a_voided_invoice_cannot_be_voided_again(admin_client, invoice):
    url = reverse("books:invoice_void", args=[invoice.pk])
    admin_client.post(url, {"void_date": "2026-02-20", "reason": "x"})
    response = admin_client.post(url, {"void_date": "2026-02-20", "reason": "y"}, **HX)
    assert response.status_code == 422
    assert "is already void" in text(response)


def test_the_list_opens_on_the_first_stage_with_work(admin_client, invoice):
    """Issue 14: an empty Draft tab does not hide an invoice waiting in Review."""
    draft = text(admin_client.get(reverse("books:invoices")))
    assert '<a href="?stage=draft" aria-current="page">Draft <span class="count">1</span>' in draft
    advance(admin_client, invoice, "draft")
    html = text(admin_client.get(reverse("books:invoices")))
    assert '<a href="?stage=review" aria-current="page">Review <span class="count">1</span>' in html
    assert f"<strong>{invoice.number}</strong>" in html
    assert "Approve" in html
    asked = text(admin_client.get(reverse("books:invoices"), {"stage": "draft"}))
    assert '<a href="?stage=draft" aria-current="page">' in asked
    assert f"<strong>{invoice.number}</strong>" not in asked
    advance(admin_client, invoice, "review")  # final: nothing left to do opens on Draft
    done = text(admin_client.get(reverse("books:invoices")))
    assert '<a href="?stage=draft" aria-current="page">' in done
