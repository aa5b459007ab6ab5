"""Amounts a bank never sends, and a file that names two lines alike: each is refused
with where and why (a 422 naming the line, never a 500), or kept as two lines."""

from __future__ import annotations

import pytest

from casebridge.books.models import StatementImport, StatementLine
from casebridge.books.services import statements as service
from tests.books.statements.test_api import rows, upload
from tests.books.statements.test_import import upload as import_file
from tests.books.statements.test_parsers import EXPORT_LAYOUT, read


def camt_with_amount(amount: str, ccy: str = "USD") -> bytes:
    """The March camt.053 with its second entry's amount (2500.00) replaced."""
    data = read("trust_march.camt053.xml")
    old = b'<Amt Ccy="USD">2500.00</Amt>'
    assert data.count(old) == 1
    return data.replace(old, f'<Amt Ccy="{ccy}">{amount}</Amt>'.encode())


def ofx_with_amount(amount: str) -> bytes:
    data = read("ofx1_first_community.ofx")
    assert data.count(b"<TRNAMT>-2500.00") == 1
    return data.replace(b"<TRNAMT>-2500.00", b"<TRNAMT>" + amount.encode())


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("NaN", "amount NaN is not a number"),
        ("Infinity", "amount Infinity is not a number"),
        ("1E+30", "amount 1E+30 is larger than the books can hold"),
    ],
)
def test_a_camt_amount_that_is_no_sum_of_money_is_refused_naming_the_entry(
    api, trust, amount, reason
):
    reply = upload(api, trust, "trust_march.camt053.xml", data=camt_with_amount(amount))

    assert reply.status == 422
    assert reply.error["code"] == "statement_refused"
    assert reply.error["message"] == f"element Stmt[1]/Ntry[2]/Amt: {reason}"
    assert rows() == (0, 0, 1)


def test_a_camt_entry_in_another_currency_is_refused(api, trust):
    reply = upload(api, trust, "trust_march.camt053.xml", data=camt_with_amount("2500.00", "EUR"))

    assert reply.status == 422
    assert reply.error["message"] == (
        "element Stmt[1]/Ntry[2]/Amt: an amount in EUR in a statement in USD; "
        "one currency per statement"
    )
    assert rows() == (0, 0, 1)


@pytest.mark.parametrize("amount", ["abc", "NaN", "1E+30"])
def test_an_ofx_amount_that_is_no_sum_of_money_is_refused(api, trust, amount):
    reply = upload(api, trust, "ofx1_first_community.ofx", data=ofx_with_amount(amount))

    assert reply.status == 422
    assert reply.error["code"] == "statement_refused"
    assert rows() == (0, 0, 1)


def test_a_csv_amount_beyond_what_the_books_hold_is_refused(firm, admin, operating):
    service.csv_mapping_save(
        firm=firm, actor=admin, bank_account_id=operating.pk, layout=EXPORT_LAYOUT
    )
    data = read("operating_export.csv").replace(b'"1,000.00"', b"1" + b"0" * 24)
    result = import_file(firm, admin, operating, "operating_export.csv", data=data, fmt="csv")

    assert (result.status, result.where) == ("refused", "line 2")
    assert result.reason == ("amount 1000000000000000000000000 is larger than the books can hold")
    assert StatementLine.objects.count() == 0
    assert StatementImport.objects.count() == 1


def test_two_lines_of_one_file_with_the_same_bank_id_are_both_kept(firm, admin, trust):
    data = read("ofx1_first_community.ofx").replace(b"<FITID>202603100002", b"<FITID>202603020001")
    first = import_file(firm, admin, trust, "same_ids.ofx", data=data)
    again = import_file(firm, admin, trust, "same_ids.ofx", data=data)

    assert (first.status, first.new_count, first.known_count) == ("imported", 3, 0)
    assert (again.status, again.new_count, again.known_count) == ("imported", 0, 3)
    assert sorted(StatementLine.objects.values_list("amount_cents", flat=True)) == [
        -2_500_00,
        -12_50,
        100_000_00,
    ]


def test_a_bai2_amount_beyond_what_the_books_hold_is_refused_naming_the_transaction(
    firm, admin, trust
):
    huge = 10**26  # in cents, with control totals that add up
    total = 22_497_500 - 1_250 + huge
    data = (
        read("trust_prior_day.bai")
        .decode()
        .replace("16,699,1250,", f"16,699,{huge},")
        .replace("22497500,", f"{total},")
        .encode()
    )
    result = import_file(firm, admin, trust, "huge.bai", data=data)

    assert (result.status, result.where) == ("refused", "transaction 3 of the statement")
    assert result.reason == (
        "amount -$1,000,000,000,000,000,000,000,000.00 is larger than the books can hold"
    )
    assert StatementLine.objects.count() == 0
