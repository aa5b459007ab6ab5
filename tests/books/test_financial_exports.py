"""The financial statements (ADR 0042) through the exports (ADR 0043): each screen's Export
menu gives the statement as of the screen's day, CSV/XLSX/PDF, with the statement's own
figures; the whole general ledger detail goes to a background job when it is long."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from casebridge.books.exports import tables
from casebridge.books.models import ExportJob
from casebridge.books.selectors import financial
from casebridge.core.errors import ValidationFailed
from tests.books.financial_workload import Workload, build
from tests.books.web.conftest import sign_in
from tests.core.test_tabular import needs_pdftotext, pdf_text

pytestmark = pytest.mark.django_db

MAR_31 = dt.date(2026, 3, 31)


@pytest.fixture
def books(firm, admin, attorney, operating, trust, client_file, today) -> Workload:
    return build(firm, admin, attorney, operating, trust, client_file)


def body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def test_the_balance_sheet_on_march_31_as_csv_holds_the_statements_figures(client, admin, books):
    page = sign_in(client, admin).get("/books/reports/balance-sheet/", {"as_of": "2026-03-31"})
    assert b'href="/books/exports/balance-sheet/?as_of=2026-03-31&amp;format=pdf"' in page.content
    response = client.get("/books/exports/balance-sheet/", {"format": "csv", "as_of": "2026-03-31"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="balance-sheet-2026-03-31.csv"'
    lines = body(response).decode().split("\r\n")
    assert lines[0] == "Section,Account,Name,Balance 2026-03-31"
    assert "Assets,1000,Operating Bank,78475.00" in lines
    assert "Assets,,Total assets,88375.00" in lines
    assert "Equity,,Current-year earnings,29600.00" in lines
    assert ",,Total liabilities and equity,88375.00" in lines


def test_the_profit_and_loss_as_xlsx_has_money_as_numbers(client, firm, admin, books):
    params = {"format": "xlsx", "start": "2026-01-01", "end": "2026-03-31"}
    response = sign_in(client, admin).get("/books/exports/profit-and-loss/", params)
    assert response.status_code == 200
    rows = list(
        openpyxl.load_workbook(io.BytesIO(body(response))).active.iter_rows(values_only=True)
    )
    pl = financial.profit_and_loss(firm=firm, start=dt.date(2026, 1, 1), end=MAR_31)
    net = next(r for r in rows if r and r[0] == "Net income")
    assert net[3] == pl.net_income_cents / 100
    assert isinstance(net[3], float | int)


@needs_pdftotext
def test_cost_advances_as_pdf_names_the_day(client, admin, books, tmp_path):
    response = sign_in(client, admin).get(
        "/books/exports/cost-advances/", {"format": "pdf", "as_of": "2026-03-31"}
    )
    assert response.status_code == 200
    text = pdf_text(body(response), tmp_path)
    assert "Cost advances by file" in text
    assert "Unrecovered as of 2026-03-31" in text


def test_the_general_ledger_export_is_every_page_of_the_ledger(firm, books):
    table = tables.REPORTS["general-ledger"].build(
        firm, {"start": "2026-01-01", "end": "2026-03-31"}
    )
    rows = list(table.rows)
    headers, one_walk = financial.general_ledger_table(
        firm=firm, start=dt.date(2026, 1, 1), end=MAR_31
    )
    assert [c.title for c in table.columns] == headers
    assert rows == list(one_walk)
    assert table.count is not None
    assert table.count() > 0


def test_a_long_general_ledger_goes_to_a_background_job(client, admin, books, monkeypatch):
    from casebridge.books.views import exports as export_views

    monkeypatch.setattr(export_views, "INLINE_MAX_ROWS", 2)
    response = sign_in(client, admin).get(
        "/books/exports/general-ledger/", {"format": "csv", "start": "2026-01-01"}
    )
    assert response.status_code == 302
    job = ExportJob.objects.get()
    assert job.report == "general-ledger"


def test_a_backwards_period_is_refused_naming_it(firm, books):
    with pytest.raises(ValidationFailed) as refused:
        tables.REPORTS["profit-and-loss"].build(firm, {"start": "2026-03-01", "end": "2026-01-01"})
    assert refused.value.field == "end"
