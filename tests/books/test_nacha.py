"""The NACHA file, field by field (ADR 0046): every record 94 characters, the records in
order, blocks of ten padded with nines, the entry hash and the control totals."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.books.exports import nacha

ORIGIN = nacha.Origin(
    immediate_destination="021000021",
    immediate_destination_name="JPMorgan Chase",
    immediate_origin="1234567890",
    immediate_origin_name="Smith Personal Injury",
    company_name="Smith PI LLP",
    company_id="1234567890",
    originating_dfi="02100002",
)
MADE = dt.datetime(2026, 3, 2, 9, 5, tzinfo=dt.UTC)
EFFECTIVE = dt.date(2026, 3, 4)

MARIA = nacha.Entry(
    transaction_code=22,
    routing_number="026009593",
    account_number="123456789",
    amount_cents=150_000,
    identification="CB17",
    name="María López",
    key="maria",
)
CLINIC = nacha.Entry(
    transaction_code=32,
    routing_number="091000019",
    account_number="ABC-99",
    amount_cents=25_075,
    identification="CB18",
    name="Valley Physical Therapy Clinic of Fresno",
    key="clinic",
)
PRENOTE = nacha.Entry(
    transaction_code=23,
    routing_number="011000015",
    account_number="55",
    amount_cents=0,
    identification="PRENOTE",
    name="Sam Expert",
)


def _file(offset: nacha.Offset | None = None) -> nacha.NachaFile:
    return nacha.build(
        origin=ORIGIN,
        batches=[nacha.Batch("PPD", [PRENOTE, MARIA]), nacha.Batch("CCD", [CLINIC])],
        effective_date=EFFECTIVE,
        created_at=MADE,
        file_id_modifier="A",
        offset=offset,
    )


def _fields(line: str, *widths: int) -> list[str]:
    out, at = [], 0
    for width in widths:
        out.append(line[at : at + width])
        at += width
    assert at == 94
    return out


def test_every_record_is_94_characters_and_the_file_is_whole_blocks_of_ten():
    made = _file()
    lines = made.text.split("\n")
    assert lines[-1] == ""  # the file ends with a line break
    lines = lines[:-1]
    assert [len(line) for line in lines] == [94] * 10
    assert [line[0] for line in lines] == ["1", "5", "6", "6", "8", "5", "6", "8", "9", "9"]
    assert lines[-1] == "9" * 94  # the padding
    assert lines[-2] != "9" * 94  # the file control record is not padding
    assert (made.batch_count, made.block_count, made.entry_count) == (2, 1, 3)


def test_the_file_header_field_by_field():
    header = _file().text.split("\n")[0]
    assert _fields(header, 1, 2, 10, 10, 6, 4, 1, 3, 2, 1, 23, 23, 8) == [
        "1",
        "01",
        " 021000021",
        "1234567890",
        "260302",
        "0905",
        "A",
        "094",
        "10",
        "1",
        "JPMORGAN CHASE         ",
        "SMITH PERSONAL INJURY  ",
        "        ",
    ]


def test_a_batch_header_field_by_field():
    batch = _file().text.split("\n")[1]
    assert _fields(batch, 1, 3, 16, 20, 10, 3, 10, 6, 6, 3, 1, 8, 7) == [
        "5",
        "220",
        "SMITH PI LLP    ",
        " " * 20,
        "1234567890",
        "PPD",
        "PAYMENT   ",
        " " * 6,
        "260304",
        "   ",
        "1",
        "02100002",
        "0000001",
    ]
    assert _file().text.split("\n")[5][50:53] == "CCD"


def test_entry_details_field_by_field_credits_and_a_prenote():
    lines = _file().text.split("\n")
    widths = (1, 2, 8, 1, 17, 10, 15, 22, 2, 1, 15)
    assert _fields(lines[2], *widths) == [
        "6",
        "23",
        "01100001",
        "5",
        "55               ",
        "0000000000",
        "PRENOTE        ",
        "SAM EXPERT            ",
        "  ",
        "0",
        "021000020000001",
    ]
    assert _fields(lines[3], *widths) == [
        "6",
        "22",
        "02600959",
        "3",
        "123456789        ",
        "0000150000",
        "CB17           ",
        "MARIA LOPEZ           ",  # accents dropped: a NACHA file is ASCII
        "  ",
        "0",
        "021000020000002",
    ]
    assert _fields(lines[6], *widths) == [
        "6",
        "32",
        "09100001",
        "9",
        "ABC-99           ",
        "0000025075",
        "CB18           ",
        "VALLEY PHYSICAL THERAP",  # cut to 22
        "  ",
        "0",
        "021000020000003",
    ]


def test_batch_controls_count_hash_and_total():
    lines = _file().text.split("\n")
    widths = (1, 3, 6, 10, 12, 12, 10, 19, 6, 8, 7)
    assert _fields(lines[4], *widths) == [
        "8",
        "220",
        "000002",
        "0003700960",  # 01100001 + 02600959
        "000000000000",
        "000000150000",
        "1234567890",
        " " * 19,
        " " * 6,
        "02100002",
        "0000001",
    ]
    assert _fields(lines[7], *widths)[2:6] == [
        "000001",
        "0009100001",
        "000000000000",
        "000000025075",
    ]


def test_the_file_control_adds_the_batches_up():
    made = _file()
    control = made.text.split("\n")[8]
    assert _fields(control, 1, 6, 6, 8, 10, 12, 12, 39) == [
        "9",
        "000002",
        "000001",
        "00000003",
        "0012800961",  # 3700960 + 9100001
        "000000000000",
        "000000175075",
        " " * 39,
    ]
    assert (made.entry_hash, made.total_credit_cents, made.total_debit_cents) == (
        12_800_961,
        175_075,
        0,
    )
    assert made.traces == {"maria": "021000020000002", "clinic": "021000020000003"}


def test_a_balanced_file_offsets_each_batch_with_a_debit_to_the_firms_account():
    made = _file(nacha.Offset(routing_number="021000021", account_number="987654321"))
    lines = made.text.split("\n")[:-1]
    assert [line[0] for line in lines] == ["1", "5", "6", "6", "6", "8", "5", "6", "6", "8"] + [
        "9"
    ] + ["9"] * 9
    assert len(lines) == 20
    assert made.block_count == 2
    offset = lines[4]
    assert (offset[1:3], offset[3:12], offset[12:29].rstrip(), offset[29:39]) == (
        "27",
        "021000021",
        "987654321",
        "0000150000",
    )
    assert offset[54:76] == "SMITH PI LLP          "
    assert lines[1][1:4] == "200"
    assert lines[5][1:4] == "200"
    assert lines[5][4:10] == "000003"
    assert lines[5][10:20] == str(1_100_001 + 2_600_959 + 2_100_002).zfill(10)
    assert (lines[5][20:32], lines[5][32:44]) == ("000000150000", "000000150000")
    control = lines[10]
    assert control[1:7] == "000002"
    assert control[7:13] == "000002"
    assert control[13:21] == "00000005"
    assert (control[31:43], control[43:55]) == ("000000175075", "000000175075")
    assert made.total_debit_cents == made.total_credit_cents == 175_075


def test_the_entry_hash_keeps_its_last_ten_digits():
    assert nacha.entry_hash(["999999990"] * 2000) == (99_999_999 * 2000) % 10**10
    assert nacha.entry_hash(["021000021", "026009593"]) == 4_700_961


def test_an_amount_too_big_for_its_field_is_refused():
    big = nacha.Entry(22, "026009593", "1", 10**10, "X", "Y")
    with pytest.raises(nacha.NachaError, match="amount in cents 10000000000 does not fit 10"):
        nacha.build(
            origin=ORIGIN,
            batches=[nacha.Batch("PPD", [big])],
            effective_date=EFFECTIVE,
            created_at=MADE,
            file_id_modifier="A",
        )
