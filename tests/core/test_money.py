"""Exact money: parsing user input into cents, fee percentages, and splits to the cent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casebridge.core.errors import ValidationFailed
from casebridge.core.money import (
    MAX_CENTS,
    allocate,
    cents_to_decimal,
    format_cents,
    parse_amount,
    percent_of,
    round_to_cents,
)

# --- parse_amount ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cents"),
    [
        ("1,234.56", 123_456),
        ("$1,234.56", 123_456),
        ("  $250,000.00 ", 25_000_000),
        ("12", 1_200),
        ("12.3", 1_230),
        ("12.340", 1_234),  # a trailing zero is not a third decimal place
        ("-45.10", -4_510),
        ("0.01", 1),
        ("0", 0),
        (12, 1_200),
        (-3, -300),
        (Decimal("83325.00"), 8_332_500),
        (Decimal("0.5"), 50),
        ("99,999,999,999.99", MAX_CENTS),
    ],
)
def test_parse_amount_accepts_what_people_type(value, cents):
    assert parse_amount(value) == cents


@pytest.mark.parametrize("value", [1.5, 0.1, 12.0])
def test_parse_amount_refuses_floats(value):
    with pytest.raises(ValidationFailed) as info:
        parse_amount(value, field="fee")
    assert info.value.message == "fee must be a decimal string such as '12.34'"
    assert info.value.field == "fee"


@pytest.mark.parametrize("value", [True, False])
def test_parse_amount_refuses_booleans_although_they_are_ints(value):
    with pytest.raises(ValidationFailed, match="must be a decimal string"):
        parse_amount(value)


@pytest.mark.parametrize("value", ["NaN", "nan", "sNaN", "Infinity", "-inf"])
def test_parse_amount_refuses_nan_and_infinity_typed_as_text(value):
    with pytest.raises(ValidationFailed) as info:
        parse_amount(value, field="amount")
    assert info.value.message == f"amount is not a number: {value!r} (write it like 1234.56)"


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("-Infinity")])
def test_parse_amount_refuses_nan_and_infinity_decimals(value):
    with pytest.raises(ValidationFailed) as info:
        parse_amount(value, field="amount")
    assert info.value.message == "amount must be a finite number"


@pytest.mark.parametrize("value", ["1.005", "0.001", Decimal("12.345"), "1,000.999"])
def test_parse_amount_refuses_more_than_two_decimals_naming_the_field(value):
    with pytest.raises(ValidationFailed) as info:
        parse_amount(value, field="lien_amount")
    assert info.value.message == f"lien_amount has more than two decimal places: {value}"
    assert info.value.field == "lien_amount"
    assert info.value.as_dict()["code"] == "validation_error"


@pytest.mark.parametrize("value", ["1,00", "2,50", "12,3456", ",", "1,2,3", "1234,567.00"])
def test_parse_amount_refuses_a_comma_that_is_not_a_thousands_separator(value):
    with pytest.raises(ValidationFailed) as info:
        parse_amount(value, field="gross")
    assert info.value.message == f"gross has a misplaced comma: {value!r} (write it like 1,234.56)"


@pytest.mark.parametrize(
    ("value", "cents"), [("1,234.56", 123_456), ("$12,345,678", 1_234_567_800)]
)
def test_parse_amount_accepts_thousands_separators(value, cents):
    assert parse_amount(value) == cents


@pytest.mark.parametrize("value", ["", "   ", "$"])
def test_parse_amount_refuses_empty(value):
    with pytest.raises(ValidationFailed) as info:
        parse_amount(value, field="gross")
    assert info.value.message == "gross is required"
    assert info.value.field == "gross"


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "12.34.56",
        "1O0",
        "(5.00)",
        "1e5",
        "1E+2",
        "1_000",
        "1 000",
        "0x10",
        "1e30",
        "١٢٣",
        "\uff11\uff12",  # fullwidth digits
    ],
)
def test_parse_amount_refuses_words(value):
    with pytest.raises(ValidationFailed, match="amount is not a number"):
        parse_amount(value)


@pytest.mark.parametrize("value", [None, [1], {"amount": 1}])
def test_parse_amount_refuses_other_types(value):
    with pytest.raises(ValidationFailed, match="amount must be a decimal amount"):
        parse_amount(value)


@pytest.mark.parametrize(
    "value",
    [
        "100,000,000,000.00",
        "-100000000000",
        10**12,
        # Beyond Decimal's 28 digits of precision: must still be a refusal, not a crash.
        10**40,
        Decimal("1E+100"),
        "-" + "9" * 40,
        "12345678901234567890123456.789",
    ],
)
def test_parse_amount_refuses_huge_amounts(value):
    with pytest.raises(ValidationFailed) as info:
        parse_amount(value, field="gross")
    assert info.value.message == "gross is too large"


@given(st.integers(min_value=-MAX_CENTS, max_value=MAX_CENTS))
def test_parse_amount_round_trips_formatted_cents(cents):
    assert parse_amount(format_cents(cents).replace("-$", "-")) == cents
    assert parse_amount(cents_to_decimal(cents)) == cents


def test_formatting():
    assert format_cents(-123_456) == "-$1,234.56"
    assert format_cents(5) == "$0.05"
    assert format_cents(0) == "$0.00"
    assert cents_to_decimal(8_332_500) == Decimal("83325.00")
    assert round_to_cents(Decimal("0.125")) == Decimal("0.13")
    assert round_to_cents(Decimal("-0.125")) == Decimal("-0.13")


# --- percent_of ---------------------------------------------------------------------------


def test_the_contingency_fee_of_the_worked_settlement():
    assert percent_of(25_000_000, Decimal("33.33")) == 8_332_500


@pytest.mark.parametrize(
    ("cents", "percent", "expected"),
    [
        (5, Decimal("50"), 3),  # 0.025 -> 0.03 (half up; banker's rounding would give 0.02)
        (1, Decimal("50"), 1),  # 0.005 -> 0.01
        (3, Decimal("50"), 2),  # 0.015 -> 0.02
        (4, Decimal("12.5"), 1),  # 0.005 -> 0.01
        (100, Decimal("33.335"), 33),  # 0.33335 -> 0.33
        (100, Decimal("33.5"), 34),  # 0.335 -> 0.34
        (-5, Decimal("50"), -3),  # half away from zero for negatives
        (12_345, Decimal("0"), 0),
        (12_345, Decimal("100"), 12_345),
        (10_000_000, Decimal("40"), 4_000_000),
    ],
)
def test_percent_of_rounds_once_half_up(cents, percent, expected):
    assert percent_of(cents, percent) == expected


# --- allocate -----------------------------------------------------------------------------


def test_allocate_largest_remainder_gives_the_extra_cent_to_the_first():
    assert allocate(10_000, [1, 1, 1]) == [3_334, 3_333, 3_333]


def test_allocate_ties_go_to_earlier_parts():
    assert allocate(2, [1, 1, 1]) == [1, 1, 0]


def test_allocate_gives_leftover_cents_to_the_largest_remainders():
    # exact shares 33.33.. and 66.66..: the second has the larger remainder
    assert allocate(100, [1, 2]) == [33, 67]
    # shares 14.2857, 28.5714, 57.1428: remainders .29, .57, .14 -> one cent to the second
    assert allocate(100, [1, 2, 4]) == [14, 29, 57]


def test_allocate_negative_totals_mirror_positive_ones():
    assert allocate(-10_000, [1, 1, 1]) == [-3_334, -3_333, -3_333]
    assert allocate(-100, [1, 2]) == [-33, -67]


def test_allocate_proportional_weights():
    assert allocate(100_000, [50, 30, 20]) == [50_000, 30_000, 20_000]
    # a 60/40 fee share of the worked settlement's fee
    assert allocate(8_332_500, [Decimal("0.6"), Decimal("0.4")]) == [4_999_500, 3_333_000]
    assert allocate(101, [1, 0, 1]) == [51, 0, 50]
    assert allocate(0, [3, 4]) == [0, 0]


def test_allocate_refuses_empty_weights():
    with pytest.raises(ValidationFailed) as info:
        allocate(100, [])
    assert info.value.message == "at least one part is needed to allocate an amount"


def test_allocate_refuses_all_zero_weights():
    with pytest.raises(ValidationFailed) as info:
        allocate(100, [0, 0, Decimal("0")])
    assert info.value.message == "allocation weights cannot all be zero"


def test_allocate_refuses_negative_weights():
    with pytest.raises(ValidationFailed) as info:
        allocate(100, [2, -1])
    assert info.value.message == "allocation weights cannot be negative"


weights = st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=12).filter(any)
decimal_weights = st.lists(
    st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=8,
).filter(any)


@given(st.integers(min_value=-MAX_CENTS, max_value=MAX_CENTS), st.one_of(weights, decimal_weights))
def test_allocate_parts_always_add_back_to_the_total(total, ws):
    parts = allocate(total, ws)
    assert sum(parts) == total
    assert len(parts) == len(ws)
    weight_sum = sum(Decimal(w) for w in ws)
    for part, w in zip(parts, ws, strict=True):
        exact = Decimal(total) * Decimal(w) / weight_sum
        assert abs(part - exact) < 1  # each part is its exact share, within a cent
        assert part * total >= 0  # same sign as the total (or zero)
        if w == 0:
            assert part == 0
