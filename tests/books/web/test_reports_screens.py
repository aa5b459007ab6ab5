"""Reports: trial balance, client trust ledger, trust account journal, three-way
reconciliation."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from urllib.parse import unquote

import pytest
from django.urls import reverse

from casebridge.books.models import BankAccount
from casebridge.books.services import checks

from .conftest import text
from .test_auth_screens import field_error


@pytest.fixture
def trust_activity(firm, admin, trust, funded_file):
    """$1,000.00 in, then a $300.00 check printed as number 2001."""
    check = checks.check_request_create(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        payee="Medical Lien Co",
        amount_cents=30_000,
        file_id=funded_file.pk,
        request_date=dt.date(2026, 2, 15),
    )
    checks.check_print(firm=firm, actor=admin, check_id=check.pk, check_number=2001)
    return check


def test_the_trial_balance_is_balanced_with_totals(admin_client, trust_activity):
    html = text(admin_client.get(reverse("books:trial_balance")))
    assert 'data-status="balanced">Balanced<' in html
    assert "1010" in html
    assert "Client Trust Liability" in html
    assert html.count("<strong>$700.00</strong>") == 2  # debit and credit totals


def test_the_trial_balance_as_of_a_date(admin_client, trust_activity):
    html = text(admin_client.get(reverse("books:trial_balance"), {"as_of": "2026-02-10"}))
    assert "As of 2026-02-10" in html
    assert "$700.00" not in html  # the check came later
    html = text(admin_client.get(reverse("books:trial_balance"), {"as_of": "2026-01-01"}))
    assert "No balances yet." in html
    response = admin_client.get(reverse("books:trial_balance"), {"as_of": "yesterday"})
    assert response.status_code == 422
    assert "Enter a valid date." in field_error(text(response), "as_of")


def test_the_client_ledger_report_finds_a_file_by_number(admin_client, trust_activity, funded_file):
    html = text(admin_client.get(reverse("books:client_ledger")))
    assert f'<option value="{funded_file.number}">' in html
    html = text(
        admin_client.get(reverse("books:client_ledger"), {"file": funded_file.number.lower()})
    )
    assert "Lopez v. Acme Trucking" in html
    assert "Check to Medical Lien Co" in html
    assert "Balance <strong>$700.00</strong>" in html
    response = admin_client.get(reverse("books:client_ledger"), {"file": "NOPE-1"})
    assert response.status_code == 422
    assert "No file numbered NOPE-1 in this firm." in field_error(text(response), "file")


def test_the_trust_journal_by_account_and_dates(admin_client, trust, trust_activity):
    url = reverse("books:trust_journal")
    html = text(admin_client.get(url, {"bank_account": trust.pk}))
    assert "Trust deposit from Acme Insurance" in html
    assert "Check to Medical Lien Co" in html
    assert "$1,000.00" in html
    assert "$700.00" in html  # closing balance
    html = text(
        admin_client.get(
            url, {"bank_account": trust.pk, "start": "2026-02-10", "end": "2026-03-01"}
        )
    )
    assert "Trust deposit from Acme Insurance" not in html
    assert "Check to Medical Lien Co" in html
    start = html.index("Opening balance")
    assert "$1,000.00" in html[start : start + 200]
    response = admin_client.get(
        url, {"bank_account": trust.pk, "start": "2026-03-01", "end": "2026-02-01"}
    )
    assert "The end date is before the start date." in field_error(text(response), "end")


def test_the_trust_journal_pages_by_keyset_with_the_running_balance(
    admin_client, firm, admin, trust, funded_file
):
    for n in range(55):
        checks.check_request_create(
            firm=firm,
            actor=admin,
            bank_account_id=trust.pk,
            payee=f"Payee {n:02d}",
            amount_cents=100,
            file_id=funded_file.pk,
        )
    url = reverse("books:trust_journal")
    html = text(admin_client.get(url, {"bank_account": trust.pk}))
    assert "56 in all" in html
    assert "Check to Payee 48" in html
    assert "Check to Payee 49" not in html
    # the deposit and 49 checks of 1.00: the last row of the page carries $951.00
    assert html.count("data-balance=") == 50
    assert 'data-balance="95100"' in html
    assert 'data-page="first"' not in html  # the first page has no link back to it
    next_url = re.search(r'href="(\?[^"]*cursor=[^"]*)" rel="next"', html)
    assert next_url is not None
    html = text(admin_client.get(url + unescape(next_url.group(1))))
    assert "Check to Payee 49" in html
    assert "Check to Payee 54" in html
    assert "Check to Payee 48" not in html
    # the running balance goes on from the cursor: $951.00 less six checks of $1.00
    assert [int(b) for b in re.findall(r'data-balance="(-?\d+)"', html)] == [
        95_000, 94_900, 94_800, 94_700, 94_600, 94_500,
    ]  # fmt: skip
    assert 'data-figure="closing">$945.00<' in html
    assert 'data-page="first"' in html
    assert 'rel="next"' not in html


@pytest.mark.parametrize("cursor", ["forged", "a" * 2000, "x:y:z", "\x01"])
def test_a_bad_trust_journal_cursor_shows_the_first_page(
    admin_client, trust, trust_activity, cursor
):
    response = admin_client.get(
        reverse("books:trust_journal"), {"bank_account": trust.pk, "cursor": cursor}
    )
    assert response.status_code == 200
    html = text(response)
    assert "Trust deposit from Acme Insurance" in html
    assert 'data-figure="closing">$700.00<' in html


def test_a_cursor_of_another_period_shows_the_first_page_with_a_notice(
    admin_client, firm, admin, trust, funded_file
):
    for n in range(55):
        checks.check_request_create(
            firm=firm,
            actor=admin,
            bank_account_id=trust.pk,
            payee=f"Payee {n:02d}",
            amount_cents=100,
            file_id=funded_file.pk,
        )
    url = reverse("books:trust_journal")
    first = text(admin_client.get(url, {"bank_account": trust.pk}))
    cursor = unescape(re.search(r"cursor=([^\"&]*)", first).group(1))  # type: ignore[union-attr]
    response = admin_client.get(
        url, {"bank_account": trust.pk, "start": "2026-01-01", "cursor": unquote(cursor)}
    )
    assert response.status_code == 200
    html = text(response)
    assert "That page link is out of date; showing the first page." in html
    assert "Trust deposit from Acme Insurance" in html
    assert "Check to Payee 49" not in html


def test_the_trust_journal_refuses_an_operating_account(admin_client, operating):
    response = admin_client.get(reverse("books:trust_journal"), {"bank_account": operating.pk})
    assert response.status_code == 422
    assert "Select a valid choice" in field_error(text(response), "bank_account")


def reconcile(client, trust, **figures):
    return client.get(reverse("books:reconciliation"), {"bank_account": trust.pk, **figures})


def test_a_reconciled_trust_account(admin_client, trust, trust_activity):
    # The bank shows 1,000.00 because check 2001 has not cleared: it is outstanding.
    html = text(reconcile(admin_client, trust, statement_balance="1,000.00"))
    assert 'data-status="reconciled">Reconciled<' in html
    assert "Not reconciled" not in html
    assert "All three figures agree." in html
    assert "Medical Lien Co" in html  # in the outstanding checks list
    assert html.count("$700.00") >= 3  # adjusted bank, journal, client ledgers


def test_an_unreconciled_trust_account_shows_every_difference(admin_client, trust, trust_activity):
    html = text(
        reconcile(
            admin_client,
            trust,
            statement_balance="950.00",
            deposits_in_transit="10.00",
            outstanding_checks="300.00",
        )
    )
    assert 'data-status="not-reconciled">Not reconciled<' in html
    assert "Adjusted bank balance $660.00 differs from the trust journal $700.00 by -$40.00" in html
    assert "You entered the outstanding checks figure ($300.00)" in html


def test_reconciliation_figures_are_validated(admin_client, trust, trust_activity):
    response = reconcile(admin_client, trust, statement_balance="")
    assert response.status_code == 422
    assert "This field is required." in field_error(text(response), "statement_balance")
    response = reconcile(admin_client, trust, statement_balance="1000", deposits_in_transit="-5")
    assert "Enter a positive amount." in field_error(text(response), "deposits_in_transit")
    response = reconcile(admin_client, trust, statement_balance="1e5")
    assert "Enter an amount such as 1,234.56." in field_error(text(response), "statement_balance")


def test_a_negative_statement_balance_is_allowed_and_reported(admin_client, trust, trust_activity):
    html = text(reconcile(admin_client, trust, statement_balance="-10.00"))
    assert "Not reconciled" in html
    assert BankAccount.objects.filter(pk=trust.pk).exists()
