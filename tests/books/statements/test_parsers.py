"""Each format's parser against statement files written by hand from the published
specifications: exact cents, the bank's own dates, and refusals that say where and why."""

from __future__ import annotations

import datetime as dt
import threading
import warnings
from pathlib import Path

import pytest

from casebridge.books import statements
from casebridge.books.statements import CsvLayout, StatementRefused

FIXTURES = Path(__file__).parent / "fixtures"
D = dt.date

#: The operating account's CSV export: Date, Description, Debit, Credit, Check Number, Ref.
EXPORT_LAYOUT = CsvLayout(
    date_column=1,
    amount_column=None,
    description_column=2,
    debit_column=3,
    credit_column=4,
    check_number_column=5,
    reference_column=6,
    date_format="%m/%d/%Y",
    skip_rows=1,
)


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def summary(
    parsed: statements.ParsedStatement,
) -> list[tuple[dt.date, int, str | None, str | None]]:
    return [(x.posted_on, x.amount_cents, x.bank_txn_id, x.check_number) for x in parsed.lines]


@pytest.mark.parametrize("name", ["ofx1_first_community.ofx", "first_community.qfx"])
def test_ofx_1_sgml_and_qfx_from_first_community(name):
    parsed = statements.parse(read(name), statements.detect(read(name)))

    assert parsed.format == "ofx"
    assert parsed.account == "000123454321"
    assert parsed.currency == "USD"
    assert (parsed.period_start, parsed.period_end) == (D(2026, 3, 1), D(2026, 3, 31))
    assert (parsed.opening_cents, parsed.closing_cents) == (None, 97_487_50)
    assert summary(parsed) == [
        (D(2026, 3, 2), 100_000_00, "202603020001", None),
        (D(2026, 3, 10), -2_500_00, "202603100002", "1001"),
        (D(2026, 3, 31), -12_50, "202603310003", None),
    ]
    assert parsed.lines[0].description == "DEPOSIT - Acme Insurance settlement"
    assert [x.type for x in parsed.lines] == ["DEP", "CHECK", "SRVCHG"]


def test_qfx_private_tags_warn_nothing_when_two_threads_parse_at_once():
    """Intuit's private tags are taken out before ofxtools converts the tree, so nothing
    warns; a filter swapped in and out around each parse (warnings.catch_warnings) let
    the warning escape from one thread while the other restored the filters."""
    data = read("first_community.qfx")
    start = threading.Barrier(2)
    parsed: list[int] = []

    def parse_many() -> None:
        start.wait()
        for _ in range(25):
            parsed.append(len(statements.parse(data, "ofx").lines))

    with warnings.catch_warnings(record=True) as caught:
        warnings.filterwarnings("always", append=True)  # below the process's own filters
        threads = [threading.Thread(target=parse_many) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert parsed == [3] * 50
    assert [str(w.message) for w in caught] == []


def test_ofx_2_xml_from_harbor_national_keeps_the_banks_dates():
    parsed = statements.parse(read("ofx2_harbor_national.ofx"), "ofx")

    assert parsed.account == "9876500042"
    assert parsed.closing_cents == 16_667_74
    assert summary(parsed) == [
        (D(2026, 3, 5), 25_000_00, "HN-7731-0001", None),
        (D(2026, 3, 12), -8_333_33, "HN-7731-0002", "2044"),
        (D(2026, 3, 31), 1_07, "HN-7731-0003", None),
    ]


def test_a_truncated_ofx_file_is_refused_naming_its_last_line():
    with pytest.raises(StatementRefused) as refused:
        statements.parse(read("malformed_truncated.ofx"), "ofx")

    assert refused.value.where == "line 59"
    assert "truncated" in refused.value.reason


def test_csv_with_a_debit_and_credit_pair():
    parsed = statements.parse(read("operating_export.csv"), "csv", layout=EXPORT_LAYOUT)

    assert parsed.account is None
    assert (parsed.opening_cents, parsed.closing_cents) == (None, None)
    assert (parsed.period_start, parsed.period_end) == (D(2026, 3, 2), D(2026, 3, 31))
    assert [(x.posted_on, x.amount_cents, x.check_number, x.reference) for x in parsed.lines] == [
        (D(2026, 3, 2), 1_000_00, None, "DEP0302"),
        (D(2026, 3, 4), -250_00, "1001", ""),
        (D(2026, 3, 9), -45_00, None, "ACH778812"),
        (D(2026, 3, 15), -12_50, None, ""),
        (D(2026, 3, 15), -12_50, None, ""),
        (D(2026, 3, 20), 15_250_75, None, "FW2026032000017"),
        (D(2026, 3, 31), 42, None, ""),
    ]


def test_csv_with_a_bad_amount_names_line_7():
    with pytest.raises(StatementRefused) as refused:
        statements.parse(read("malformed_bad_amount_line7.csv"), "csv", layout=EXPORT_LAYOUT)

    assert refused.value.where == "line 7"
    assert refused.value.message == "line 7: amount '15.250.7X' is not a number"


def test_csv_with_a_signed_amount_column_and_comma_decimals():
    data = "Buchungstag;Betrag;Text\n02.03.2026;1.234,56;Eingang\n03.03.2026;-0,07;Gebühr\n"
    layout = CsvLayout(
        date_column=1,
        amount_column=2,
        description_column=3,
        date_format="%d.%m.%Y",
        decimal_separator=",",
        delimiter=";",
    )

    parsed = statements.parse(data.encode(), "csv", layout=layout)

    assert [(x.posted_on, x.amount_cents, x.description) for x in parsed.lines] == [
        (D(2026, 3, 2), 1_234_56, "Eingang"),
        (D(2026, 3, 3), -7, "Gebühr"),
    ]


def test_csv_refuses_a_third_decimal_place():
    data = b"Date,Amount,Text\n03/02/2026,10.005,x\n"
    with pytest.raises(StatementRefused) as refused:
        statements.parse(data, "csv", layout=CsvLayout())
    assert refused.value.where == "line 2"


def test_bai2_prior_day_report_in_implied_cents():
    parsed = statements.parse(
        read("trust_prior_day.bai"), statements.detect(read("trust_prior_day.bai"))
    )

    assert parsed.format == "bai2"
    assert parsed.account == "000123454321"
    assert (parsed.period_start, parsed.period_end) == (D(2026, 3, 31), D(2026, 3, 31))
    assert (parsed.opening_cents, parsed.closing_cents) == (97_487_50, 109_975_00)
    assert summary(parsed) == [
        (D(2026, 3, 31), 15_000_00, "FW0331001", None),
        (D(2026, 3, 31), -2_500_00, "CK0331002", "1001"),
        (D(2026, 3, 31), -12_50, None, None),
    ]
    assert parsed.lines[2].description == "SERVICE CHARGE MARCH 2026"


def test_bai2_with_a_wrong_account_control_total_names_the_49_record():
    with pytest.raises(StatementRefused) as refused:
        statements.parse(read("malformed_control_total.bai"), "bai2")

    assert refused.value.where == "line 8"
    assert refused.value.reason == (
        "account control total 22497400 does not equal the sum of the account's amounts, 22497500"
    )


def test_bai2_amounts_follow_the_currencys_minor_unit():
    text = (
        "01,B,C,260401,0600,1,,,2/\n02,C,B,1,260331,2400,JPY,2/\n03,111,JPY,015,5000,,/\n"
        "16,195,5000,0,R1,,IN\n49,10000,3/\n98,10000,1,5/\n99,10000,1,7/\n"
    )
    parsed = statements.parse(text.encode(), "bai2")
    assert parsed.currency == "JPY"
    assert [x.amount_cents for x in parsed.lines] == [5000_00]


def test_bai2_without_its_file_trailer_is_truncated():
    text = read("trust_prior_day.bai").decode().rsplit("99,", 1)[0]
    with pytest.raises(StatementRefused) as refused:
        statements.parse(text.encode(), "bai2")
    assert refused.value.where == "line 9"
    assert "truncated" in refused.value.reason


def test_camt_053_statement():
    name = "trust_march.camt053.xml"
    parsed = statements.parse(read(name), statements.detect(read(name)))

    assert parsed.format == "camt053"
    assert parsed.account == "000123454321"
    assert (parsed.opening_cents, parsed.closing_cents) == (0, 97_487_50)
    assert summary(parsed) == [
        (D(2026, 3, 2), 100_000_00, "BOFA20260302000117", None),
        (D(2026, 3, 10), -2_500_00, "BOFA20260310000562", "1001"),
        (D(2026, 3, 31), -12_50, "BOFA20260331000009", None),
    ]
    assert parsed.lines[0].reference == "DEP0302"
    assert parsed.lines[0].description == "Acme Insurance Co - Settlement Lopez v Acme Trucking"


@pytest.mark.parametrize("version", ["02", "04", "08"])
def test_camt_053_versions_2_to_8_are_read(version):
    data = read("trust_march.camt053.xml").replace(
        b"camt.053.001.02", f"camt.053.001.{version}".encode()
    )
    assert len(statements.parse(data, "camt053").lines) == 3


def test_camt_with_a_missing_amount_names_the_element():
    with pytest.raises(StatementRefused) as refused:
        statements.parse(read("malformed_missing_amt.camt053.xml"), "camt053")

    assert refused.value.where == "element Stmt[1]/Ntry[2]/Amt"
    assert refused.value.reason == "the Amt element is missing"


def test_camt_refuses_entity_expansion():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&b;</Document>'
    )
    with pytest.raises(StatementRefused) as refused:
        statements.parse(bomb, "camt053")
    assert refused.value.where == "XML"


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (b"OFXHEADER:100\nDATA:OFXSGML", "ofx"),
        (b'<?xml version="1.0"?>\n<?OFX OFXHEADER="200"?><OFX>', "ofx"),
        (b"01,SENDER,RECEIVER,260401,0600,1,,,2/", "bai2"),
        (
            b'<?xml version="1.0"?>'
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">',
            "camt053",
        ),
        (b"Date,Amount\n", "csv"),
    ],
)
def test_the_format_is_detected_from_the_first_bytes(data, fmt):
    assert statements.detect(data) == fmt
