"""Positive pay: the issued and voided checks of one bank account in a date range, in the
two generic presets and a layout of the firm's own; and the bank account's details."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.books.errors import AdminRequired, ValidationFailed
from casebridge.books.models import (
    ActivityCode,
    BankAccount,
    PositivePayAmount,
    PositivePayColumn,
    PositivePayDateFormat,
    PositivePayLayout,
)
from casebridge.books.selectors.positive_pay import (
    PRESETS,
    PositivePayFormat,
    positive_pay_csv,
    positive_pay_format_of,
)
from casebridge.books.services import bank_accounts, checks
from casebridge.core.models import AuditEvent
from tests.books.ledger_helpers import books_open, operating_check

MAR = dt.date(2026, 3, 1)


def day(n: int, month: int = 3) -> dt.date:
    return dt.date(2026, month, n)


@pytest.fixture
def bank(firm, admin, operating) -> BankAccount:
    return bank_accounts.bank_account_check_printing_set(
        firm=firm,
        actor=admin,
        bank_account_id=operating.pk,
        bank_name="First National Bank",
        routing_number="021000021",
        account_number="123456789",
    )


@pytest.fixture
def issued(firm, admin, bank, client_file):
    """March on the operating account: 1001 issued; 1002 issued and voided on the 10th;
    1003 spoiled on the 7th and reprinted as 1004; a check voided before it was printed;
    1005 issued in April."""
    books_open(firm, admin)
    court = ActivityCode.objects.get(firm=firm, code="E112")

    def request(payee: str, cents: int):
        return operating_check(firm, admin, bank, client_file, cents, court, payee=payee)

    def batch(on: dt.date, *rows):
        checks.checks_print_batch(
            firm=firm,
            actor=admin,
            check_ids=[r.pk for r in rows],
            bank_account_id=bank.pk,
            printed_on=on,
        )

    lopez, formula, records = (
        request("Maria Lopez", 123_456),
        request("=HYPERLINK(evil)", 5_000),
        request("Records, Inc.", 1_234),
    )
    batch(day(5), lopez, formula)
    batch(day(6), records)
    checks.check_reprint(
        firm=firm, actor=admin, check_id=records.pk, reason="Jammed", printed_on=day(7)
    )
    never_printed = request("Nobody", 100)
    checks.check_void(firm=firm, actor=admin, check_id=never_printed.pk, void_date=day(8))
    checks.check_void(firm=firm, actor=admin, check_id=formula.pk, void_date=day(10))
    batch(day(1, month=4), request("April Payee", 700))


def csv_of(bank, start, end, preset="csv_mdy_iv") -> str:
    return positive_pay_csv(bank=bank, start=start, end=end, fmt=PRESETS[preset][1])


def test_fixed_order_csv_with_mdy_dates_and_an_i_v_flag(bank, issued):
    assert csv_of(bank, MAR, day(31)) == (
        "Account Number,Check Number,Amount,Issue Date,Payee,Issue/Void\r\n"
        "123456789,1001,1234.56,03/05/2026,Maria Lopez,I\r\n"
        "123456789,1002,50.00,03/05/2026,'=HYPERLINK(evil),I\r\n"
        "123456789,1002,50.00,03/05/2026,'=HYPERLINK(evil),V\r\n"
        '123456789,1003,12.34,03/06/2026,"Records, Inc.",I\r\n'
        '123456789,1003,12.34,03/06/2026,"Records, Inc.",V\r\n'
        '123456789,1004,12.34,03/07/2026,"Records, Inc.",I\r\n'
    )


def test_cents_with_yyyymmdd_dates_and_no_header(bank, issued):
    assert csv_of(bank, MAR, day(31), "cents_ymd_noheader") == (
        "123456789,1001,123456,20260305,I,Maria Lopez\r\n"
        "123456789,1002,5000,20260305,I,'=HYPERLINK(evil)\r\n"
        "123456789,1002,5000,20260305,V,'=HYPERLINK(evil)\r\n"
        '123456789,1003,1234,20260306,I,"Records, Inc."\r\n'
        '123456789,1003,1234,20260306,V,"Records, Inc."\r\n'
        '123456789,1004,1234,20260307,I,"Records, Inc."\r\n'
    )


def test_the_date_range_picks_issues_by_print_date_and_voids_by_void_date(bank, issued):
    assert csv_of(bank, day(6), day(7), "cents_ymd_noheader") == (
        '123456789,1003,1234,20260306,I,"Records, Inc."\r\n'
        '123456789,1003,1234,20260306,V,"Records, Inc."\r\n'
        '123456789,1004,1234,20260307,I,"Records, Inc."\r\n'
    )
    # the void on the 10th of a check issued on the 5th carries its issue date
    assert csv_of(bank, day(10), day(10), "cents_ymd_noheader") == (
        "123456789,1002,5000,20260305,V,'=HYPERLINK(evil)\r\n"
    )
    assert csv_of(bank, day(1, 4), day(30, 4), "cents_ymd_noheader") == (
        "123456789,1005,700,20260401,I,April Payee\r\n"
    )
    assert csv_of(bank, day(8), day(9)) == (
        "Account Number,Check Number,Amount,Issue Date,Payee,Issue/Void\r\n"
    )  # a check voided before it was printed was never issued


def test_a_layout_of_the_firms_own(firm, admin, bank, issued):
    fmt = PositivePayFormat(
        columns=(
            PositivePayColumn.FLAG,
            PositivePayColumn.CHECK_NUMBER,
            PositivePayColumn.ISSUE_DATE,
            PositivePayColumn.AMOUNT,
        ),
        date_format=PositivePayDateFormat.MMDDYY,
        amount_format=PositivePayAmount.CENTS,
        issue_flag="O",
        void_flag="VOID",
        header=True,
    )
    bank_accounts.positive_pay_layout_save(firm=firm, actor=admin, bank_account_id=bank.pk, fmt=fmt)
    saved, is_saved = positive_pay_format_of(bank)
    assert (saved, is_saved) == (fmt, True)
    assert PositivePayLayout.objects.get(bank_account=bank).columns == (
        "flag,check_number,issue_date,amount"
    )
    assert positive_pay_csv(bank=bank, start=day(10), end=day(10), fmt=saved) == (
        "Issue/Void,Check Number,Issue Date,Amount\r\nVOID,1002,030526,5000\r\n"
    )
    event = AuditEvent.objects.get(action="positive_pay_layout_saved")
    assert event.before is None
    assert event.after == {
        "columns": ["flag", "check_number", "issue_date", "amount"],
        "date_format": "MMDDYY",
        "amount_format": "cents",
        "issue_flag": "O",
        "void_flag": "VOID",
        "header": True,
    }


def test_without_a_saved_layout_the_first_preset_is_used(operating):
    assert positive_pay_format_of(operating) == (PRESETS["csv_mdy_iv"][1], False)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"columns": ()}, "columns", "choose at least one column"),
        (
            {"columns": (PositivePayColumn.AMOUNT, PositivePayColumn.AMOUNT)},
            "columns",
            "a column is chosen twice",
        ),
        ({"issue_flag": ""}, "issue_flag", "issue flag must be 1 to 10 printable characters"),
        ({"void_flag": "I"}, "void_flag", "the void flag must differ from the issue flag"),
        ({"void_flag": "X" * 11}, "void_flag", "void flag must be 1 to 10 printable characters"),
        (
            {"void_flag": "=V"},
            "void_flag",
            "void flag cannot start with = + - or @ (a spreadsheet formula)",
        ),
    ],
)
def test_a_layout_that_cannot_be_used_is_refused(firm, admin, operating, change, field, message):
    fmt = PositivePayFormat(
        **{
            "columns": (PositivePayColumn.CHECK_NUMBER,),
            "date_format": PositivePayDateFormat.YYYYMMDD,
            "amount_format": PositivePayAmount.CENTS,
        }
        | change
    )
    with pytest.raises(ValidationFailed) as info:
        bank_accounts.positive_pay_layout_save(
            firm=firm, actor=admin, bank_account_id=operating.pk, fmt=fmt
        )
    assert (info.value.field, info.value.message) == (field, message)
    assert not PositivePayLayout.objects.exists()


def test_the_file_needs_the_account_number_it_names(operating):
    with pytest.raises(ValidationFailed) as info:
        csv_of(operating, MAR, day(31))
    assert info.value.field == "account_number"
    assert info.value.message.startswith("Operating has no account number")
    # a layout without the account column does not need it
    numbers_only = PositivePayFormat(
        columns=(PositivePayColumn.CHECK_NUMBER,),
        date_format=PositivePayDateFormat.YYYYMMDD,
        amount_format=PositivePayAmount.CENTS,
        header=False,
    )
    assert positive_pay_csv(bank=operating, start=MAR, end=day(31), fmt=numbers_only) == ""


def test_a_range_that_ends_before_it_starts_is_refused(bank):
    with pytest.raises(ValidationFailed) as info:
        csv_of(bank, day(31), MAR)
    assert (info.value.field, info.value.message) == (
        "start",
        "start 2026-03-31 is after end 2026-03-01",
    )


# --- the bank account's routing and account number --------------------------------------------


def test_the_check_printing_details_are_saved_and_audited_masked(firm, admin, operating):
    bank = bank_accounts.bank_account_check_printing_set(
        firm=firm,
        actor=admin,
        bank_account_id=operating.pk,
        bank_name=" First National Bank ",
        routing_number="026009593",
        account_number="0012 3456-789",
    )
    bank.refresh_from_db()
    assert (
        bank.bank_name,
        bank.routing_number,
        bank.account_number,
        bank.account_number_last4,
    ) == ("First National Bank", "026009593", "00123456789", "6789")
    event = AuditEvent.objects.get(action="check_printing_saved")
    assert event.after == {
        "bank_name": "First National Bank",
        "routing_number": "026009593",
        "account_number": "····6789",
    }
    assert "00123456789" not in str(event.before) + str(event.after) + event.summary


@pytest.mark.parametrize(
    ("routing", "account", "field", "message"),
    [
        ("02100002", "1", "routing_number", "routing number must be 9 digits"),
        ("02100002A", "1", "routing_number", "routing number must be 9 digits"),
        (
            "021000022",
            "1",
            "routing_number",
            "routing number 021000022 fails the ABA checksum (a digit is wrong or two are swapped)",
        ),
        (
            "120000021",
            "1",
            "routing_number",
            "routing number 120000021 fails the ABA checksum (a digit is wrong or two are swapped)",
        ),
        ("021000021", "12345678901234567X", "account_number", "account number must be digits"),
        ("021000021", "1" * 18, "account_number", "account number must be digits only, at most 17"),
    ],
)
def test_bad_numbers_are_refused(firm, admin, operating, routing, account, field, message):
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationFailed) as info:
        bank_accounts.bank_account_check_printing_set(
            firm=firm,
            actor=admin,
            bank_account_id=operating.pk,
            bank_name="",
            routing_number=routing,
            account_number=account,
        )
    assert info.value.field == field
    assert info.value.message.startswith(message)
    operating.refresh_from_db()
    assert (operating.routing_number, operating.account_number) == ("", "")
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("routing", ["021000021", "011000015", "026009593", "122105278"])
def test_real_routing_numbers_pass_the_checksum(routing):
    assert bank_accounts.aba_routing_problem(routing) is None


def test_only_an_administrator_changes_bank_details(firm, attorney, operating):
    for actor in (attorney, None):
        with pytest.raises(AdminRequired):
            bank_accounts.bank_account_check_printing_set(
                firm=firm,
                actor=actor,
                bank_account_id=operating.pk,
                bank_name="X",
                routing_number="",
                account_number="",
            )
        with pytest.raises(AdminRequired):
            bank_accounts.positive_pay_layout_save(
                firm=firm, actor=actor, bank_account_id=operating.pk, fmt=PRESETS["csv_mdy_iv"][1]
            )


def test_another_firms_bank_account_is_out_of_reach(firm, admin, other_firm):
    theirs = BankAccount.objects.get(firm=other_firm, kind="operating")
    with pytest.raises(ValidationFailed, match="bank account not found in this firm"):
        bank_accounts.bank_account_check_printing_set(
            firm=firm,
            actor=admin,
            bank_account_id=theirs.pk,
            bank_name="",
            routing_number="",
            account_number="",
        )
