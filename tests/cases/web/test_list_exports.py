"""The cases side's lists exported (issue 15): Cases and Deadlines as CSV and XLSX from
their Export menus, with the screen's filters; a format they do not offer is refused."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from casebridge.cases.services import deadlines
from casebridge.core import clock
from tests.cases.web.conftest import text

pytestmark = pytest.mark.django_db


def content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_cases_list_as_csv_with_its_search(admin_client, case):
    page = text(admin_client.get("/cases/", {"q": "Lopez"}))
    assert 'href="/cases/export/cases/?q=Lopez&amp;format=xlsx"' in page
    found = admin_client.get("/cases/export/cases/", {"format": "csv", "q": "Lopez"})
    lines = content(found).decode().split("\r\n")
    assert lines[0] == ("Number,Name,Client,Case type,Attorney,Status,Incident date,State,Opened")
    row = lines[1].split(",")
    assert (row[0], row[1], row[5], row[6]) == (
        case.number,
        "Lopez v. Acme Trucking",
        "open",
        "2025-06-01",
    )
    assert row[4] == case.responsible_attorney.display_name
    assert lines[2:] == [""]
    bom = admin_client.get("/cases/export/cases/", {"format": "csv", "bom": "1", "q": "Lopez"})
    assert content(bom).startswith(b"\xef\xbb\xbfNumber,Name,")
    none = admin_client.get("/cases/export/cases/", {"format": "csv", "q": "Nobody"})
    assert content(none).decode().split("\r\n")[1:] == [""]


def test_the_deadlines_as_xlsx(admin_client, cfirm, cadmin, case):
    due = clock.today() + dt.timedelta(days=30)
    deadlines.deadline_create(
        firm=cfirm, actor=cadmin, case_id=case.pk, title="=Mediation brief", due_date=due
    )
    response = admin_client.get("/cases/export/deadlines/", {"format": "xlsx"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(content(response))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("Due", "Days left", "Case", "Case name", "Kind", "Title")
    mine = next(r for r in rows[1:] if r[5] == "=Mediation brief")
    assert mine[0].date() == due
    assert mine[2] == case.number


def test_a_pdf_of_a_list_is_refused(admin_client, case):
    response = admin_client.get("/cases/export/cases/", {"format": "pdf"})
    assert response.status_code == 422
