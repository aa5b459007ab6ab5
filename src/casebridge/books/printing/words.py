"""A check's amount in words: "One thousand two hundred thirty-four and 56/100 dollars".

The legal amount of a US check is the written one, so it is spelt exactly: whole dollars
in words (no "and" inside the number, hyphens between tens and units, a capital first
letter), then the cents as a fraction of a hundred, always two digits. Up to
$999,999,999.99; a check is for more than nothing.
"""

from __future__ import annotations

from casebridge.core.money import format_cents

#: The largest amount a check prints: $999,999,999.99.
MAX_CENTS = 999_999_999_99

_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ((1_000_000, "million"), (1_000, "thousand"))


def _below_a_thousand(n: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [_UNITS[hundreds], "hundred"]
    if rest >= 20:
        tens, units = divmod(rest, 10)
        words.append(_TENS[tens] + (f"-{_UNITS[units]}" if units else ""))
    elif rest:
        words.append(_UNITS[rest])
    return words


def dollars_in_words(dollars: int) -> str:
    """Whole dollars (0 to 999,999,999) in lower-case words: 1234 -> "one thousand two
    hundred thirty-four"."""
    if not 0 <= dollars <= MAX_CENTS // 100:
        raise ValueError(f"{dollars} is out of range for a check")
    if dollars == 0:
        return "zero"
    words: list[str] = []
    for scale, name in _SCALES:
        count, dollars = divmod(dollars, scale)
        if count:
            words += [*_below_a_thousand(count), name]
    words += _below_a_thousand(dollars)
    return " ".join(words)


def amount_in_words(cents: int) -> str:
    """The written amount of a check for ``cents``: 123456 -> "One thousand two hundred
    thirty-four and 56/100 dollars". Refused (ValueError) for nothing or less, and above
    $999,999,999.99."""
    if cents <= 0:
        raise ValueError("a check's amount must be greater than zero")
    if cents > MAX_CENTS:
        raise ValueError(
            f"a check's amount is at most {format_cents(MAX_CENTS)}, not {format_cents(cents)}"
        )
    dollars, rest = divmod(cents, 100)
    words = dollars_in_words(dollars)
    return f"{words[0].upper()}{words[1:]} and {rest:02d}/100 dollars"
