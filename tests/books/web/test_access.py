"""Who may open which screen: anonymous -> sign in, not enrolled -> enrollment, gear
screens -> administrators only, and every object only within the user's own firm."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.urls import reverse

from casebridge.books.models import AccountRole, AreaOfPractice, Check, Invoice, TrustReceipt
from casebridge.books.services import checks, invoices, setup
from casebridge.books.services.invoices import LineSpec
from tests.conftest import account

from .conftest import HX

EVERYONE = [
    "books:dashboard",
    "books:files",
    "books:file_new",
    "books:checks",
    "books:checks_print_batch",
    "books:positive_pay",
    "books:invoices",
    "books:invoice_new",
    "books:reports",
    "books:trial_balance",
    "books:client_ledger",
    "books:trust_journal",
    "books:reconciliation",
    "books:journal",
    "books:profit_and_loss",
    "books:balance_sheet",
    "books:general_ledger",
    "books:cost_advances",
]
ADMIN_ONLY = [
    "books:journal_entry_new",
    "books:users",
    "books:user_new",
    "books:settings_general",
    "books:settings_features",
    "books:settings_opening_date",
    "books:settings_time_zone",
    "books:settings_fiscal_year",
    "books:settings_closed_periods",
    "books:ledes_settings",
    "books:areas",
    "books:area_new",
    "books:activity_codes",
    "books:activity_code_new",
    "books:timekeepers",
    "books:accounts",
    "books:account_new",
    "books:bank_accounts",
    "books:audit",
]


@pytest.fixture
def objects(firm, admin, attorney, operating, funded_file):
    """One of each object a screen shows, keyed by its URL name."""
    code = setup.activity_code_create(
        firm=firm,
        actor=admin,
        code="FILING",
        name="Filing fee",
        gl_account_id=account(firm, AccountRole.ADVANCED_COSTS).pk,
    )
    check = checks.check_request_create(
        firm=firm,
        actor=admin,
        bank_account_id=operating.pk,
        payee="Clerk of Court",
        amount_cents=43_500,
        file_id=funded_file.pk,
        activity_code_id=code.pk,
    )
    invoice = invoices.invoice_create(
        firm=firm,
        actor=admin,
        file_id=funded_file.pk,
        lines=[
            LineSpec(kind="fee", description="Fee", amount_cents=10_000, timekeeper_id=attorney.pk)
        ],
    )
    area = setup.area_of_practice_create(firm=firm, actor=admin, name="PI")
    receipt = TrustReceipt.objects.get(file=funded_file)
    return {
        "books:file_detail": funded_file.pk,
        "books:file_deposit": funded_file.pk,
        "books:file_check": funded_file.pk,
        "books:receipt_void": receipt.pk,
        "books:check_print": check.pk,
        "books:check_void": check.pk,
        "books:check_reprint": check.pk,
        "books:bank_check_printing": operating.pk,
        "books:bank_positive_pay_layout": operating.pk,
        "books:invoice_detail": invoice.pk,
        "books:invoice_void": invoice.pk,
        "books:user_edit": attorney.pk,
        "books:area_edit": area.pk,
        "books:activity_code_edit": code.pk,
        "books:account_edit": account(firm, AccountRole.ADVANCED_COSTS).pk,
    }


OBJECT_ADMIN_ONLY = {
    "books:user_edit",
    "books:area_edit",
    "books:activity_code_edit",
    "books:account_edit",
    "books:bank_check_printing",
    "books:bank_positive_pay_layout",
}


@pytest.mark.parametrize("name", EVERYONE + ADMIN_ONLY)
def test_anonymous_visitors_are_sent_to_sign_in(client, firm, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('books:login')}?{urlencode({'next': url})}"


@pytest.mark.parametrize("name", EVERYONE + ADMIN_ONLY)
def test_a_user_who_has_not_enrolled_is_sent_to_enrollment(newcomer_client, name):
    response = newcomer_client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"] == reverse("books:enroll")


@pytest.mark.parametrize("name", EVERYONE + ADMIN_ONLY)
def test_an_administrator_opens_every_screen(admin_client, client_file, name):
    response = admin_client.get(reverse(name))
    assert response.status_code == 200
    assert b"Smith Personal Injury LLP" in response.content  # the top bar's firm name


@pytest.mark.parametrize("name", EVERYONE)
def test_a_user_who_is_not_an_administrator_opens_the_everyday_screens(clerk_client, name):
    assert clerk_client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", ADMIN_ONLY)
def test_the_gear_screens_are_for_administrators_only(clerk_client, name):
    response = clerk_client.get(reverse(name))
    assert response.status_code == 403
    assert "This page is for firm administrators" in response.content.decode()


@pytest.mark.parametrize("name", ADMIN_ONLY)
def test_a_non_administrator_cannot_post_to_a_gear_screen(clerk_client, name):
    assert clerk_client.post(reverse(name), {"name": "X"}).status_code == 403


def test_the_gear_menu_is_shown_to_administrators_only(admin_client, clerk_client):
    assert b'aria-label="Settings"' in admin_client.get(reverse("books:dashboard")).content
    assert b'aria-label="Settings"' not in clerk_client.get(reverse("books:dashboard")).content


def test_object_screens_open_for_their_firm(admin_client, objects):
    for name, pk in objects.items():
        assert admin_client.get(reverse(name, args=[pk])).status_code == 200, name
        assert admin_client.get(reverse(name, args=[pk]), **HX).status_code == 200, name


def test_object_screens_of_another_firm_are_not_found(other_client, objects):
    for name, pk in objects.items():
        assert other_client.get(reverse(name, args=[pk])).status_code == 404, name
        assert other_client.post(reverse(name, args=[pk]), {}).status_code == 404, name
    assert Check.objects.get().status == "queued"
    assert Invoice.objects.get().stage == "draft"
    assert AreaOfPractice.objects.filter(name="PI").count() == 1


def test_another_firms_invoice_cannot_be_advanced(other_client, objects):
    url = reverse("books:invoice_advance", args=[objects["books:invoice_detail"]])
    assert other_client.post(url, {"expected_stage": "draft"}).status_code == 404
    assert Invoice.objects.get().stage == "draft"


def test_non_administrators_cannot_open_the_object_gear_screens(clerk_client, objects):
    for name in OBJECT_ADMIN_ONLY:
        assert clerk_client.get(reverse(name, args=[objects[name]])).status_code == 403


def test_missing_objects_are_not_found(admin_client, objects):
    for name in objects:
        assert admin_client.get(reverse(name, args=[999_999])).status_code == 404, name


def test_writes_are_post_only(admin_client, objects):
    for name in ("books:logout", "books:invoice_advance", "books:activity_codes_utbms"):
        args = [objects["books:invoice_detail"]] if name == "books:invoice_advance" else []
        assert admin_client.get(reverse(name, args=args)).status_code == 405, name


def test_the_return_address_after_sign_in_keeps_every_query_parameter(client, firm):
    response = client.get(reverse("books:checks") + "?status=printed&page=2")
    assert response.status_code == 302
    assert (
        response["Location"]
        == "/books/login/?next=%2Fbooks%2Fchecks%2F%3Fstatus%3Dprinted%26page%3D2"
    )
