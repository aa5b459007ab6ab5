"""``manage.py ledger_check``: the integrity check now, exit 1 on a problem."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from casebridge.books.models import GLAccount
from casebridge.books.services import setup
from casebridge.books.services.journal import Line, journal_entry_post
from tests.books.ledger_helpers import D, books_open, deposit


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("ledger_check", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def ledger(firm, admin, trust, client_file):
    books_open(firm, admin)
    office = GLAccount.objects.get(firm=firm, number="5200")
    bank = GLAccount.objects.get(firm=firm, number="1000")
    equity = GLAccount.objects.get(firm=firm, number="3000")
    journal_entry_post(
        firm=firm,
        date=D,
        memo="Capital",
        lines=[Line(account=bank, debit_cents=500_000), Line(account=equity, credit_cents=500_000)],
    )
    journal_entry_post(
        firm=firm,
        date=D,
        memo="Rent",
        lines=[Line(account=office, debit_cents=12_550), Line(account=bank, credit_cents=12_550)],
    )
    deposit(firm, admin, trust, client_file, 250_000)
    return firm


def test_a_sound_ledger_is_ok(ledger):
    assert _run() == "smith-pi: OK\n"


def test_every_firm_is_checked_in_code_order(ledger, other_firm):
    assert _run() == "jones-law: OK\nsmith-pi: OK\n"
    assert _run("--firm", "JONES-LAW") == "jones-law: OK\n"


def test_the_trial_balance_is_printed_line_by_line(ledger, today):
    assert _run("--trial-balance") == (
        "smith-pi: OK\n"
        f"smith-pi: trial balance as of {today.isoformat()}\n"
        "  1000 Operating Bank: Dr $4,874.50 Cr $0.00\n"
        "  1010 Client Trust Bank (IOLTA): Dr $2,500.00 Cr $0.00\n"
        "  2100 Client Trust Liability: Dr $0.00 Cr $2,500.00\n"
        "  3000 Owner's Equity: Dr $0.00 Cr $5,000.00\n"
        "  5200 Office Expenses: Dr $125.50 Cr $0.00\n"
        "  total: Dr $7,500.00 Cr $7,500.00\n"
    )


def test_a_drifted_balance_is_named_and_exits_1(ledger):
    GLAccount.objects.filter(firm=ledger, number="5200").update(balance_cents=12_500)
    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("ledger_check", stdout=out)
    assert raised.value.returncode == 1
    assert str(raised.value) == "ledger problems in smith-pi"
    assert out.getvalue() == (
        "smith-pi: 1 problem\n  GL 5200 maintained balance $125.00 != postings $125.50\n"
    )


def test_an_unknown_firm_is_refused(db):
    setup.firm_create(code="smith-pi", name="Smith")
    with pytest.raises(CommandError, match=r"^no firm 'nope' in the books$"):
        _run("--firm", "nope")
