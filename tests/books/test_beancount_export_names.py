"""The Beancount export's names and strings (issue 15): account components from any
account or file name (accents, punctuation, digits first, nothing left), unique when two
sanitise alike, and valid for Beancount; strings escaped so Beancount reads them back as
typed; amounts exact to the cent."""

from __future__ import annotations

import pytest
from beancount import loader
from beancount.core import account as bc_account

from casebridge.books.exports.beancount import (
    amount,
    component,
    file_component,
    gl_account_names,
    quoted,
)
from casebridge.books.models import AccountType, GLAccount


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Operating Bank", "Operating-Bank"),
        ("Client Trust Bank (IOLTA)", "Client-Trust-Bank-IOLTA"),
        ("Peña & Söhne — Ltd.", "Pena-Sohne-Ltd"),
        ("  owner's   equity  ", "Owner-s-equity"),
        ("2026-00007", "2026-00007"),
        ("1000-operating", "1000-operating"),
        ("ÉCOLE", "ECOLE"),
        ("---", "X"),
        ("", "X"),
        ("日本の口座", "X"),
        ("a:b:c", "A-b-c"),
    ],
)
def test_a_component_keeps_letters_digits_and_single_hyphens(text, expected):
    assert component(text) == expected
    assert bc_account.is_valid(f"Assets:{component(text)}")


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("2026-00007", "F-2026-00007"),
        ("2026/ñ 7", "F-2026-n-7"),
        ("abc", "F-abc"),
        ("", "F"),
    ],
)
def test_a_file_is_named_by_its_number(number, expected):
    assert file_component(number) == expected


def _acct(pk: int, number: str, name: str, type: str = AccountType.ASSET) -> GLAccount:
    return GLAccount(pk=pk, number=number, name=name, type=type)


def test_every_type_has_its_root_and_names_sanitising_alike_stay_apart():
    names = gl_account_names(
        [
            _acct(1, "1000", "Operating Bank"),
            _acct(2, "10.00", "Cash"),
            _acct(3, "10-00", "Cash"),
            _acct(4, "2100", "Client Trust Liability", AccountType.LIABILITY),
            _acct(5, "3000", "Owner's Equity", AccountType.EQUITY),
            _acct(6, "4000", "Attorney Fee Income", AccountType.INCOME),
            _acct(7, "5000", "Bank Charges", AccountType.EXPENSE),
            _acct(8, "5001", "Frais bancaires (été)", AccountType.EXPENSE),
        ]
    )
    assert names[1] == "Assets:1000-Operating-Bank"
    assert names[3] == "Assets:10-00-Cash"  # "10-00" sorts first and keeps the plain name
    assert names[2].startswith("Assets:10-00-Cash-")  # then a stable tag of its own
    assert names[2] != names[3]
    assert names[4] == "Liabilities:2100-Client-Trust-Liability"
    assert names[5] == "Equity:3000-Owner-s-Equity"
    assert names[6] == "Income:4000-Attorney-Fee-Income"
    assert names[7] == "Expenses:5000-Bank-Charges"
    assert names[8] == "Expenses:5001-Frais-bancaires-ete"
    assert all(bc_account.is_valid(n) for n in names.values())
    # stable: the same chart gives the same names, whatever order it comes in
    assert gl_account_names([_acct(3, "10-00", "Cash"), _acct(2, "10.00", "Cash")]) == {
        2: names[2],
        3: names[3],
    }


@pytest.mark.parametrize(
    "text",
    ['Bank fee "February"', "back\\slash", 'both \\" mixed', "line\nbreak\ttab", "Peña"],
)
def test_a_string_reads_back_as_typed(text):
    entries, errors, _ = loader.load_string(
        'option "operating_currency" "USD"\n'
        "2026-01-01 open Assets:A USD\n"
        "2026-01-01 open Equity:B USD\n"
        f"2026-01-02 * {quoted(text)} {quoted(text)}\n"
        "  Assets:A  1.00 USD\n"
        "  Equity:B  -1.00 USD\n"
    )
    assert errors == []
    [_, _, txn] = entries
    expected = text.replace("\n", " ").replace("\t", " ")
    assert (txn.payee, txn.narration) == (expected, expected)


def test_amounts_are_exact_two_place_decimals():
    assert amount(0) == "0.00 USD"
    assert amount(5) == "0.05 USD"
    assert amount(-5) == "-0.05 USD"
    assert amount(123_456_789) == "1234567.89 USD"
    assert amount(-8_332_500) == "-83325.00 USD"
    assert amount(10**17 + 1) == "1000000000000000.01 USD"
