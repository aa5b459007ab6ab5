"""The Beancount export through the API, the Reports screen and the management command
(issue 15): the same text each way, streamed as an attachment; staff are refused (403
naming the role); a bad date is refused naming its field."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from beancount import loader
from django.core.management import CommandError, call_command
from django.test import Client

from casebridge.books.exports.beancount import beancount_export
from casebridge.books.models import Role, User
from casebridge.books.services import auth
from tests.books.api.conftest import BASE, issue_token
from tests.books.ledger_helpers import books_open, deposit, trust_check
from tests.books.web.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

URL = f"{BASE}/exports/beancount"
SCREEN = "/books/reports/beancount/"


@pytest.fixture
def books(firm, admin, trust, client_file):
    books_open(firm, admin)
    deposit(firm, admin, trust, client_file, 100_000, on=dt.date(2026, 1, 10))
    trust_check(firm, admin, trust, client_file, 30_000, on=dt.date(2026, 2, 3))
    return "".join(beancount_export(firm=firm, actor=admin))


@pytest.fixture
def staff(firm) -> User:
    user = auth.user_create(firm=firm, email="stan@smith.test", password=PASSWORD, role=Role.STAFF)
    return auth.security_question_enroll(user=user, question="First pet?", answer="Rex")


@pytest.fixture
def accountant(firm) -> User:
    user = auth.user_create(
        firm=firm, email="acc@smith.test", password=PASSWORD, role=Role.ACCOUNTANT
    )
    return auth.security_question_enroll(user=user, question="First pet?", answer="Rex")


def bearer(email: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token('smith-pi', email)}"}


def streamed(response) -> str:
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def test_an_accountant_downloads_the_ledger_through_the_api(client, accountant, books):
    response = client.get(URL, headers=bearer(accountant.email))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="books-smith-pi-start-end.beancount"'
    )
    text = streamed(response)
    assert text == books
    _, errors, _ = loader.load_string(text)
    assert errors == []


def test_a_range_through_the_api(client, accountant, books, firm, admin):
    response = client.get(
        URL, {"from": "2026-02-01", "to": "2026-02-28"}, headers=bearer(accountant.email)
    )
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        'attachment; filename="books-smith-pi-20260201-20260228.beancount"'
    )
    text = streamed(response)
    assert text == "".join(
        beancount_export(
            firm=firm, actor=admin, start=dt.date(2026, 2, 1), end=dt.date(2026, 2, 28)
        )
    )
    assert '2026-02-01 * "Opening balances"' in text


def test_staff_are_refused_through_the_api(client, staff, books):
    response = client.get(URL, headers=bearer(staff.email))
    assert response.status_code == 403
    assert json.loads(response.content)["error"]["code"] == "role_required"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-03-01", "to": "2026-02-01"}, "to"),
        ({"from": "0001-01-01"}, "from"),  # the day before it is no date
        ({"to": "9999-12-31"}, "to"),  # nor the month after it
    ],
)
def test_a_bad_date_is_refused_naming_its_field(client, accountant, books, params, field):
    response = client.get(URL, params, headers=bearer(accountant.email))
    assert response.status_code == 422
    error = json.loads(response.content)["error"]
    assert error["field"] == field, error


def test_the_reports_screen_links_to_the_export_and_streams_it(firm, admin, books):
    browser = sign_in(Client(), admin)
    index = browser.get("/books/reports/")
    assert f'href="{SCREEN}"' in index.content.decode()
    page = browser.get(SCREEN)
    assert page.status_code == 200
    assert 'name="from"' in page.content.decode()
    response = browser.get(SCREEN, {"from": "", "to": "", "download": "beancount"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert streamed(response) == books


def test_the_screen_refuses_an_end_before_the_start_beside_the_field(firm, admin, books):
    browser = sign_in(Client(), admin)
    response = browser.get(SCREEN, {"from": "2026-03-01", "to": "2026-02-01", "download": "1"})
    assert response.status_code == 422
    assert "is before the start" in response.content.decode()


def test_staff_cannot_open_the_export_screen(staff, books):
    response = sign_in(Client(), staff).get(SCREEN)
    assert response.status_code == 403
    assert "accountant role" in response.content.decode()


def test_the_command_writes_the_same_file(firm, admin, books, tmp_path):
    out = tmp_path / "books.beancount"
    call_command("books_export_beancount", "--firm", firm.code, "--output", str(out))
    assert out.read_text(encoding="utf-8") == books
    call_command(
        "books_export_beancount",
        "--firm",
        str(firm.pk),
        "--from",
        "2026-02-01",
        "--output",
        str(out),
    )
    assert '2026-02-01 * "Opening balances"' in out.read_text(encoding="utf-8")
    with pytest.raises(CommandError, match="no firm"):
        call_command("books_export_beancount", "--firm", "nobody")


@pytest.mark.django_db(transaction=True)
def test_outside_any_transaction_the_export_reads_one_snapshot(
    firm, admin, trust, client_file, tmp_path
):
    """No test transaction around it: the export opens its own (REPEATABLE READ READ ONLY
    on PostgreSQL, with the postings read through a server-side cursor) and Beancount
    checks what it wrote."""
    books_open(firm, admin)
    deposit(firm, admin, trust, client_file, 70_000, on=dt.date(2026, 1, 12))
    trust_check(firm, admin, trust, client_file, 20_000, on=dt.date(2026, 3, 4))
    out = tmp_path / "snap.beancount"
    call_command("books_export_beancount", "--firm", firm.code, "--output", str(out))
    text = out.read_text(encoding="utf-8")
    _, errors, _ = loader.load_string(text)
    assert errors == []
    sub = f"Liabilities:2100-Client-Trust-Liability:F-{client_file.number}"
    assert f"2026-04-01 balance {sub} -500.00 USD\n" in text
