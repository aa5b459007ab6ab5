"""A check's amount in words, as the legal line of the check reads it."""

from __future__ import annotations

import pytest

from casebridge.books.printing.words import MAX_CENTS, amount_in_words


@pytest.mark.parametrize(
    ("cents", "words"),
    [
        (1, "Zero and 01/100 dollars"),
        (100, "One and 00/100 dollars"),
        (1_100, "Eleven and 00/100 dollars"),
        (1_900, "Nineteen and 00/100 dollars"),
        (2_000, "Twenty and 00/100 dollars"),
        (2_150, "Twenty-one and 50/100 dollars"),
        (10_000, "One hundred and 00/100 dollars"),
        (10_500, "One hundred five and 00/100 dollars"),
        (99_999, "Nine hundred ninety-nine and 99/100 dollars"),
        (100_000, "One thousand and 00/100 dollars"),
        (123_456, "One thousand two hundred thirty-four and 56/100 dollars"),
        (1_000_000_00, "One million and 00/100 dollars"),
        (1_000_001_00, "One million one and 00/100 dollars"),
        (11_315_000_00, "Eleven million three hundred fifteen thousand and 00/100 dollars"),
        (
            999_999_999_99,
            "Nine hundred ninety-nine million nine hundred ninety-nine thousand "
            "nine hundred ninety-nine and 99/100 dollars",
        ),
    ],
)
def test_amounts_in_words(cents, words):
    assert amount_in_words(cents) == words


def test_the_largest_amount_is_just_under_a_billion():
    assert MAX_CENTS == 999_999_999_99
    with pytest.raises(ValueError, match=r"at most \$999,999,999\.99"):
        amount_in_words(MAX_CENTS + 1)


@pytest.mark.parametrize("cents", [0, -1])
def test_a_check_is_for_more_than_nothing(cents):
    with pytest.raises(ValueError, match="greater than zero"):
        amount_in_words(cents)
