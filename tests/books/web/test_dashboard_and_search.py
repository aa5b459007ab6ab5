"""The books dashboard's work figures (statement lines not reconciled, months to
reconcile: accountants and up), its trust chart, and the global search's page, live
fragment and scoping."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from casebridge.books.models import Role, StatementLine, StatementLineStatus
from casebridge.books.services import auth
from tests.books.bank.statement_files import Row, import_statement
from tests.books.ledger_helpers import books_open, deposit, trust_check
from tests.books.web.conftest import HX, sign_in, text
from tests.conftest import PASSWORD

DASHBOARD = reverse("books:dashboard")
SEARCH = reverse("books:search")


@pytest.fixture
def staff_client(firm):
    user = auth.user_create(firm=firm, email="stan@smith.test", password=PASSWORD, role=Role.STAFF)
    auth.security_question_enroll(user=user, question="Favourite colour?", answer="teal")
    return sign_in(Client(), user)


@pytest.fixture
def lines(firm, admin, trust, operating, today):
    """Three trust statement lines (one later matched) and one operating line."""
    books_open(firm, admin)
    start = today.replace(day=1)
    _, trust_lines = import_statement(
        firm,
        admin,
        trust,
        [Row(on=start, cents=100), Row(on=start, cents=200), Row(on=start, cents=300)],
        start=start,
        end=today,
    )
    import_statement(firm, admin, operating, [Row(on=start, cents=-400)], start=start, end=today)
    StatementLine.objects.filter(pk=trust_lines[0].pk).update(status=StatementLineStatus.PROPOSED)
    StatementLine.objects.filter(pk=trust_lines[1].pk).update(status=StatementLineStatus.MATCHED)
    return trust_lines


def test_an_accountant_sees_the_lines_not_reconciled(lines, admin_client, trust, operating):
    response = admin_client.get(DASHBOARD)
    assert response.status_code == 200
    assert response.context["unreconciled_count"] == 3  # unmatched 2 + proposed 1
    assert response.context["months_due"] == 2  # neither bank signed its last month
    rows = {r.bank.pk: n for r, n in response.context["reconciliations"]}
    assert rows == {trust.pk: 2, operating.pk: 1}
    html = text(response)
    assert f'href="/books/bank-accounts/{trust.pk}/reconcile/?status=unmatched">2</a>' in html


def test_staff_see_no_reconciliation_figures(lines, staff_client):
    response = staff_client.get(DASHBOARD)
    assert response.status_code == 200
    assert "Statement lines not reconciled" not in text(response)
    assert all(n is None for _, n in response.context["reconciliations"])


def test_the_trust_chart_is_the_client_ledgers_at_each_month_end(
    firm, admin, admin_client, trust, client_file, today
):
    books_open(firm, admin, on=today.replace(day=1) - dt.timedelta(days=40))
    last_month = today.replace(day=1) - dt.timedelta(days=3)
    deposit(firm, admin, trust, client_file, 500_000, on=last_month)
    trust_check(firm, admin, trust, client_file, 120_000, on=today)
    chart = admin_client.get(DASHBOARD).context["trust_chart"]
    assert [b.cents for b in chart.bars] == [0] * 10 + [500_000, 380_000]
    html = text(admin_client.get(DASHBOARD))
    assert '<svg role="img" aria-labelledby="chart-trust-title chart-trust-desc"' in html
    assert f'<th scope="row">{today:%b %y}</th><td>$3,800.00</td>' in html


def test_the_search_page_and_its_live_fragment(firm, admin, admin_client, client_file):
    page = admin_client.get(SEARCH, {"q": "lop"})
    html = text(page)
    assert page.status_code == 200
    assert f'href="/books/files/{client_file.pk}/"' in html
    assert '<h2 id="search-files" class="search-kind">Files' in html
    live = text(admin_client.get(SEARCH, {"q": "lop"}, HTTP_HX_TARGET="search-live", **HX))
    assert "<html" not in live
    assert f'href="/books/files/{client_file.pk}/"' in live
    assert 'action="/books/search/" class="topsearch"' in text(admin_client.get(DASHBOARD))


def test_another_firm_finds_none_of_ours(client_file, other_client):
    html = text(other_client.get(SEARCH, {"q": "lopez"}))
    assert "Lopez v. Acme" not in html
    assert "Nothing found for “lopez”." in html


def test_signed_out_search_goes_to_sign_in(db):
    response = Client().get(SEARCH, {"q": "lop"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("books:login"))
