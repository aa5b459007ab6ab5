"""``manage.py firm_create``: a firm on both sides with its first administrator; the
password from the environment or the terminal, never an argument; a refusal writes nothing."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import call_command
from django.core.management.base import CommandError

from casebridge.books.models import BankAccount, GLAccount
from casebridge.books.models import Firm as BooksFirm
from casebridge.books.models import User as BooksUser
from casebridge.books.services import setup as books_setup
from casebridge.cases.models import CostCode
from casebridge.cases.models import Firm as CasesFirm
from casebridge.cases.models import User as CasesUser
from casebridge.core.errors import ValidationFailed
from casebridge.web.management.commands import firm_create

PASSWORD = "correct horse battery"
ARGS = ("firm_create", "--code", "Smith-PI", "--name", "Smith Personal Injury", "--email")


def _create(monkeypatch, *extra: str, password: str | None = PASSWORD) -> str:
    if password is None:
        monkeypatch.delenv("CASEBRIDGE_ADMIN_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("CASEBRIDGE_ADMIN_PASSWORD", password)
    out = io.StringIO()
    call_command(*ARGS, "admin@smith.test", *extra, stdout=out)
    return out.getvalue()


def _nothing_written() -> None:
    assert (BooksFirm.objects.count(), CasesFirm.objects.count()) == (0, 0)
    assert (BooksUser.objects.count(), CasesUser.objects.count()) == (0, 0)


def test_a_firm_on_both_sides_with_its_administrator(db, monkeypatch):
    out = _create(monkeypatch, "--first-name", "Ada", "--last-name", "Admin")
    assert out == (
        "Firm smith-pi (Smith Personal Injury) created in the books and on the cases side; "
        "administrator admin@smith.test on both.\n"
        "Sign in at /books/ and at /cases/ with firm ID smith-pi.\n"
    )
    books_firm = BooksFirm.objects.get()
    assert (books_firm.code, books_firm.name) == ("smith-pi", "Smith Personal Injury")
    assert BankAccount.objects.filter(firm=books_firm).count() == 2
    assert GLAccount.objects.filter(firm=books_firm).exists()
    books_admin = BooksUser.objects.get()
    assert (books_admin.email, books_admin.is_admin, books_admin.first_name) == (
        "admin@smith.test",
        True,
        "Ada",
    )
    assert check_password(PASSWORD, books_admin.password)
    cases_firm = CasesFirm.objects.get()
    assert (cases_firm.code, cases_firm.name) == ("smith-pi", "Smith Personal Injury")
    assert CostCode.objects.filter(firm=cases_firm).exists()
    cases_admin = CasesUser.objects.get()
    assert (
        cases_admin.email,
        cases_admin.is_firm_admin,
        cases_admin.perm_admin_settings,
        cases_admin.perm_costs_management,
        cases_admin.perm_deposit_settlement,
        cases_admin.last_name,
    ) == ("admin@smith.test", True, True, True, True, "Admin")
    assert check_password(PASSWORD, cases_admin.password)


def test_the_password_is_asked_twice_at_a_terminal(db, monkeypatch):
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr(firm_create.sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(firm_create.getpass, "getpass", lambda prompt: next(answers))
    _create(monkeypatch, password=None)
    assert check_password(PASSWORD, CasesUser.objects.get().password)


def test_two_different_passwords_create_nothing(db, monkeypatch):
    answers = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr(firm_create.sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(firm_create.getpass, "getpass", lambda prompt: next(answers))
    with pytest.raises(CommandError, match=r"^the two passwords differ; nothing was created$"):
        _create(monkeypatch, password=None)
    _nothing_written()


def test_without_a_terminal_or_the_variable_nothing_is_created(db, monkeypatch):
    monkeypatch.setattr(firm_create.sys.stdin, "isatty", lambda: False, raising=False)
    with pytest.raises(CommandError) as raised:
        _create(monkeypatch, password=None)
    assert str(raised.value) == (
        "no password: set CASEBRIDGE_ADMIN_PASSWORD or run the command at a terminal"
    )
    _nothing_written()


def test_the_password_is_not_an_argument(db, monkeypatch):
    monkeypatch.setenv("CASEBRIDGE_ADMIN_PASSWORD", PASSWORD)
    with pytest.raises(TypeError, match="Unknown option"):
        call_command(*ARGS, "admin@smith.test", password=PASSWORD)
    _nothing_written()


def test_a_short_password_creates_nothing_on_either_side(db, monkeypatch):
    with pytest.raises(CommandError) as raised:
        _create(monkeypatch, password="short")
    assert str(raised.value).endswith("(password); nothing was created")
    _nothing_written()


def test_a_firm_id_taken_in_the_books_creates_nothing_on_the_cases_side(db, monkeypatch):
    books_setup.firm_create(code="smith-pi", name="Someone else")
    with pytest.raises(CommandError) as raised:
        _create(monkeypatch)
    assert str(raised.value) == "firm ID smith-pi is taken (code); nothing was created"
    assert (BooksFirm.objects.count(), CasesFirm.objects.count(), CasesUser.objects.count()) == (
        1,
        0,
        0,
    )


def test_a_bad_email_creates_nothing(db, monkeypatch):
    monkeypatch.setenv("CASEBRIDGE_ADMIN_PASSWORD", PASSWORD)
    with pytest.raises(CommandError) as raised:
        call_command(*ARGS, "not-an-email", stdout=io.StringIO())
    assert str(raised.value) == (
        "'not-an-email' is not a valid email address (email); nothing was created"
    )
    _nothing_written()


def test_a_refusal_on_the_cases_side_rolls_back_the_books_firm(db, monkeypatch):
    def refuse(**kwargs):
        raise ValidationFailed("a refusal of the cases side", field="email")

    monkeypatch.setattr(firm_create.cases_firms, "user_create", refuse)
    with pytest.raises(CommandError, match=r"^a refusal of the cases side \(email\); nothing"):
        _create(monkeypatch)
    _nothing_written()
