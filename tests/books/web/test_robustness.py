"""No input may cause a server error, and a refusal writes nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from casebridge.books.models import (
    ActivityCode,
    AreaOfPractice,
    Check,
    Contact,
    File,
    JournalEntry,
    TrustReceipt,
    User,
)
from casebridge.core.models import AuditEvent

from .conftest import HX, sign_in

JUNK = [
    "\x00",
    "a\x00b",
    "x" * 5000,
    "99999999999999999999999",
    "-1",
    "1e400",
    "NaN",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "١٢٣",  # Arabic-Indic digits
    "\u202e",
]

POST_FORMS = [
    ("books:user_new", ["email", "password", "first_name", "initials", "role"]),
    ("books:area_new", ["name", "description"]),
    ("books:activity_code_new", ["code", "name", "gl_account", "utbms_code"]),
    ("books:account_new", ["number", "name", "type"]),
    ("books:journal_entry_new", ["date", "memo", "account_1", "debit_1", "credit_1", "file_1"]),
    ("books:invoice_new", ["file", "invoice_date", "kind_1", "amount_1", "hours_1"]),
    (
        "books:file_new",
        ["client_name", "client_email", "client_phone", "name", "number", "opened_on"],
    ),
    ("books:settings_features", ["release_invoice_stage_enabled"]),
    ("books:settings_fiscal_year", ["first_month"]),
    ("books:ledes_settings", ["law_firm_id", "fee_task_code", "fee_activity_code"]),
]

GET_PAGES = [
    ("books:files", ["q", "page"]),
    ("books:checks", ["status", "page"]),
    ("books:invoices", ["stage", "page"]),
    ("books:audit", ["entity_type", "action", "page"]),
    ("books:trial_balance", ["as_of", "page"]),
    ("books:client_ledger", ["file"]),
    ("books:trust_journal", ["bank_account", "start", "end", "cursor"]),
    ("books:balance_sheet", ["as_of", "comparison", "compare_to"]),
    ("books:reconciliation", ["bank_account", "statement_balance", "outstanding_checks"]),
]


def counts():
    return [
        m.objects.count()
        for m in (
            User,
            AreaOfPractice,
            ActivityCode,
            Contact,
            File,
            Check,
            TrustReceipt,
            JournalEntry,
        )
    ]


@pytest.mark.parametrize(("name", "fields"), POST_FORMS)
def test_junk_posted_to_a_form_never_breaks_it(admin_client, firm, name, fields):
    for junk in JUNK:
        before = counts()
        response = admin_client.post(reverse(name), dict.fromkeys(fields, junk), **HX)
        assert response.status_code in (200, 302, 422), (name, junk)
        if response.status_code == 422:
            assert counts() == before, (name, junk)


@pytest.mark.parametrize(("name", "params"), GET_PAGES)
def test_junk_in_a_query_string_never_breaks_a_page(admin_client, trust, name, params):
    for junk in JUNK:
        response = admin_client.get(reverse(name), dict.fromkeys(params, junk))
        assert response.status_code in (200, 422), (name, junk)


def test_junk_posted_to_the_money_forms(admin_client, trust, funded_file):
    before = counts()
    events = AuditEvent.objects.count()
    for junk in JUNK:
        for url, fields in [
            (
                reverse("books:file_deposit", args=[funded_file.pk]),
                ["bank_account", "payer", "amount", "received_on", "reference", "memo"],
            ),
            (
                reverse("books:file_check", args=[funded_file.pk]),
                ["bank_account", "payee", "amount", "activity_code", "request_date", "memo"],
            ),
        ]:
            response = admin_client.post(url, dict.fromkeys(fields, junk), **HX)
            assert response.status_code == 422, (url, junk)
    assert counts() == before
    assert AuditEvent.objects.count() == events


def test_huge_ids_in_urls_are_not_found(admin_client):
    for path in (
        "/books/files/99999999999999999999/",
        "/books/checks/99999999999999999999/print/",
        "/books/invoices/99999999999999999999/",
        "/books/settings/users/99999999999999999999/edit/",
    ):
        assert admin_client.get(path).status_code == 404, path


def test_junk_login_and_enrollment(client, newcomer):
    for junk in JUNK:
        response = client.post(
            reverse("books:login"), {"firm": junk, "email": junk, "password": junk, "next": junk}
        )
        assert response.status_code in (422, 429), junk
    signed_in = Client()
    signed_in.post(
        reverse("books:login"),
        {"firm": "smith-pi", "email": "new@smith.test", "password": "correct horse battery"},
    )
    for junk in JUNK:
        response = signed_in.post(
            reverse("books:enroll"),
            {
                "question_choice": "__custom__",
                "custom_question": junk,
                "answer": junk,
                "answer_confirm": junk,
            },
        )
        assert response.status_code in (302, 422), junk
    assert not User.objects.get(pk=newcomer.pk).is_enrolled  # the answer is in the question


def test_posts_need_the_csrf_token(admin):
    strict = sign_in(Client(enforce_csrf_checks=True), admin)
    response = strict.post(reverse("books:area_new"), {"name": "PI"}, **HX)
    assert response.status_code == 403
    assert not AreaOfPractice.objects.exists()
    page = strict.get(reverse("books:areas"))
    assert 'hx-headers=\'{"X-CSRFToken": "' in page.content.decode()
    token = page.cookies["csrftoken"].value
    response = strict.post(reverse("books:area_new"), {"name": "PI"}, HTTP_X_CSRFTOKEN=token, **HX)
    assert response.status_code == 200
    assert AreaOfPractice.objects.filter(name="PI").exists()


def test_over_long_text_is_refused_by_the_form_not_the_database(admin_client, firm):
    long_email = "a" * 250 + "@x.test"  # a valid address longer than the column
    response = admin_client.post(
        reverse("books:file_new"),
        {"client_name": "A", "client_email": long_email, "name": "B"},
        **HX,
    )
    assert response.status_code == 422
    assert not Contact.objects.exists()
