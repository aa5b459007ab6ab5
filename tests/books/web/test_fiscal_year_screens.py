"""Settings -> Fiscal year and the balance sheet compared with another day (issue 15, ADR
0053): an administrator sets the month (audited; anything else refused under the field with
nothing changed), the balance sheet's screen and its exports show the second column and
the difference."""

from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest
from django.urls import reverse

from casebridge.books.models import Firm
from casebridge.core import clock
from casebridge.core.models import AuditEvent
from tests.books.financial_workload import Workload, build_across_july
from tests.core.test_tabular import needs_pdftotext, pdf_text

from .conftest import text
from .test_auth_screens import field_error


@pytest.fixture
def books(firm, admin, attorney, operating, trust, client_file, today) -> Workload:
    return build_across_july(firm, admin, attorney, operating, trust, client_file)


def url() -> str:
    return reverse("books:settings_fiscal_year")


def squeeze(html: str) -> str:
    return re.sub(r"\s+", " ", html)


def body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def _fiscal_audits() -> list[tuple[int | None, object, object]]:
    return [
        (e.actor_id, e.before, e.after)
        for e in AuditEvent.objects.filter(
            system="books", entity_type="firm", summary__startswith="Fiscal year"
        ).order_by("pk")
    ]


# --- Settings -> Fiscal year -----------------------------------------------------------------


def test_the_tab_shows_the_month_and_this_fiscal_year(admin_client, monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: dt.date(2026, 12, 7))
    html = text(admin_client.get(url()))
    assert 'aria-current="page">Fiscal year</a>' in html
    assert '<option value="1" selected>January</option>' in html
    assert "This fiscal year runs from 2026-01-01 to 2026-12-31." in html


def test_an_administrator_sets_july_and_it_is_audited(admin_client, firm, admin, monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: dt.date(2026, 12, 7))
    response = admin_client.post(url(), {"first_month": "7"})
    assert response.status_code == 302
    assert response["Location"] == url()
    assert Firm.objects.get(pk=firm.pk).fiscal_year_start_month == 7
    html = text(admin_client.get(url()))
    assert "Fiscal year saved: it starts on 1 July; this one runs 2026-07-01 to 2027-06-30." in html
    assert '<option value="7" selected>July</option>' in html
    assert _fiscal_audits() == [
        (admin.pk, {"fiscal_year_start_month": 1}, {"fiscal_year_start_month": 7})
    ]


@pytest.mark.parametrize("month", ["13", "0", "July", ""])
def test_a_month_that_is_not_one_is_refused_under_the_field(admin_client, firm, month):
    response = admin_client.post(url(), {"first_month": month})
    assert response.status_code == 422
    assert field_error(text(response), "first_month")
    assert Firm.objects.get(pk=firm.pk).fiscal_year_start_month == 1
    assert _fiscal_audits() == []


def test_a_clerk_cannot_change_the_fiscal_year(clerk_client, firm):
    response = clerk_client.post(url(), {"first_month": "7"})
    assert response.status_code == 403
    assert Firm.objects.get(pk=firm.pk).fiscal_year_start_month == 1
    assert _fiscal_audits() == []


# --- the balance sheet compared ----------------------------------------------------------------


def test_the_balance_sheet_against_the_end_of_the_fiscal_year_from_july(admin_client, admin, books):
    admin_client.post(url(), {"first_month": "7"})
    query = {"as_of": "2026-07-15", "comparison": "fiscal_year_end"}
    html = squeeze(text(admin_client.get(reverse("books:balance_sheet"), query)))
    assert "As of 2026-07-15 compared with 2026-06-30" in html
    assert "Fiscal year from 2026-07-01; the compared day's from 2025-07-01." in html
    assert 'data-status="balanced"' in html
    assert (
        '1000 Operating Bank</td><td class="num">$77,935.00</td><td class="num">$78,475.00</td>'
        '<td class="num" data-difference="-54000">-$540.00</td>'
    ) in html
    assert (
        'Retained earnings</td><td class="num">$30,075.00</td><td class="num">$0.00</td>'
        '<td class="num" data-difference="3007500">$30,075.00</td>'
    ) in html
    assert (
        '<strong>$168,335.00</strong></td><td class="num"><strong>$168,875.00</strong></td>'
        '<td class="num">-$540.00</td>'
    ) in html


def test_a_chosen_date_needs_the_date(admin_client, books):
    response = admin_client.get(
        reverse("books:balance_sheet"), {"as_of": "2026-03-31", "comparison": "date"}
    )
    assert response.status_code == 422
    assert "Choose the date to compare with." in field_error(text(response), "compare_to")


def test_the_compared_date_is_ignored_unless_a_date_is_chosen(admin_client, books):
    html = squeeze(
        text(
            admin_client.get(
                reverse("books:balance_sheet"),
                {"as_of": "2026-03-31", "comparison": "none", "compare_to": "2025-12-31"},
            )
        )
    )
    assert "compared with" not in html
    assert '<th scope="col" class="num">Difference</th>' not in html


def test_the_compared_balance_sheet_as_csv_and_xlsx(client, admin, books):
    from tests.books.web.conftest import sign_in

    sign_in(client, admin)
    query = {"as_of": "2026-03-31", "comparison": "date", "compare_to": "2025-12-31"}
    page = text(client.get(reverse("books:balance_sheet"), query))
    assert (
        'href="/books/exports/balance-sheet/?as_of=2026-03-31&amp;comparison=date'
        '&amp;compare_to=2025-12-31&amp;format=csv&amp;bom=0"'
    ) in page
    response = client.get("/books/exports/balance-sheet/", {"format": "csv", **query})
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        'attachment; filename="balance-sheet-2026-03-31-vs-2025-12-31.csv"'
    )
    lines = body(response).decode().split("\r\n")
    assert lines[0] == "Section,Account,Name,2026-03-31,2025-12-31,Difference"
    assert "Assets,1000,Operating Bank,78475.00,48775.00,29700.00" in lines
    assert "Assets,1010,Client Trust Bank (IOLTA),8800.00,0.00,8800.00" in lines
    assert "Equity,,Retained earnings,-25.00,0.00,-25.00" in lines
    assert "Equity,,Current-year earnings,29600.00,-25.00,29625.00" in lines
    assert ",,Total liabilities and equity,88375.00,49975.00,38400.00" in lines
    xlsx = client.get("/books/exports/balance-sheet/", {"format": "xlsx", **query})
    rows = list(openpyxl.load_workbook(io.BytesIO(body(xlsx))).active.iter_rows(values_only=True))
    total = next(r for r in rows if r and r[2] == "Total liabilities and equity")
    assert total[3:6] == (88375, 49975, 38400)


@needs_pdftotext
def test_the_compared_balance_sheet_as_pdf_names_both_days(client, admin, books, tmp_path):
    from tests.books.web.conftest import sign_in

    response = sign_in(client, admin).get(
        "/books/exports/balance-sheet/",
        {"format": "pdf", "as_of": "2026-03-31", "comparison": "fiscal_year_end"},
    )
    assert response.status_code == 200
    pdf = pdf_text(body(response), tmp_path)
    assert "As of 2026-03-31, compared with 2025-12-31" in pdf
    header = next(line for line in pdf.splitlines() if line.startswith("Section"))
    assert header.split() == ["Section", "Account", "Name", "2026-03-31", "2025-12-31",
                              "Difference"]  # fmt: skip
    equity = next(line for line in pdf.splitlines() if "Current-year earnings" in line)
    assert equity.split()[-3:] == ["$29,600.00", "-$25.00", "$29,625.00"]
