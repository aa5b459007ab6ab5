"""Exact money: integer cents in storage, ``Decimal`` in arithmetic, never floats.

Rounding is done once, with ROUND_HALF_UP (the rounding a person does on paper and the one
courts use for fee percentages), by :func:`round_to_cents`. Splits use a largest-remainder
allocation (:func:`allocate`) so the parts always add back to the total to the cent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from casebridge.core.errors import ValidationFailed

CENT = Decimal("0.01")
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
#: Largest amount accepted anywhere: $99,999,999,999.99 fits a signed 64-bit cent count
#: with room to sum millions of them.
MAX_CENTS = 9_999_999_999_999


def round_to_cents(value: Decimal) -> Decimal:
    """Round a Decimal to whole cents, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_amount(value: object, *, field: str = "amount") -> int:
    """Parse a user- or API-supplied amount ("1,234.56", Decimal, int) into integer cents.

    Refuses floats, more than two decimal places, NaN/infinity and absurd sizes, naming
    ``field`` in the error. Sign is kept; callers decide whether negatives are allowed.
    """
    if isinstance(value, bool | float):
        raise ValidationFailed(f"{field} must be a decimal string such as '12.34'", field=field)
    if isinstance(value, int):
        dec = Decimal(value)
    elif isinstance(value, Decimal):
        dec = value
    elif isinstance(value, str):
        text = value.strip().replace("$", "", 1)
        if "," in text:  # only as thousands separators: "1,234.56" yes, "1,00" no
            if not _GROUPED.fullmatch(text):
                raise ValidationFailed(
                    f"{field} has a misplaced comma: {value!r} (write it like 1,234.56)",
                    field=field,
                )
            text = text.replace(",", "")
        if not text:
            raise ValidationFailed(f"{field} is required", field=field)
        # Plain digits only: Decimal would also read "1e5", "1_000", "Infinity" and "NaN".
        if not _PLAIN_NUMBER.fullmatch(text):
            raise ValidationFailed(
                f"{field} is not a number: {value!r} (write it like 1234.56)", field=field
            )
        dec = Decimal(text)
    else:
        raise ValidationFailed(f"{field} must be a decimal amount", field=field)
    if not dec.is_finite():
        raise ValidationFailed(f"{field} must be a finite number", field=field)
    if abs(dec) > Decimal(MAX_CENTS) / 100:  # before quantize, which fails past 28 digits
        raise ValidationFailed(f"{field} is too large", field=field)
    exponent = dec.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and dec != dec.quantize(CENT):
        raise ValidationFailed(f"{field} has more than two decimal places: {value}", field=field)
    cents = int(dec.quantize(CENT) * 100)
    if abs(cents) > MAX_CENTS:
        raise ValidationFailed(f"{field} is too large", field=field)
    return cents


def cents_to_decimal(cents: int) -> Decimal:
    """Integer cents to a two-place Decimal (exact)."""
    return (Decimal(cents) / 100).quantize(CENT)


def format_cents(cents: int, *, symbol: str = "$") -> str:
    """Human format: ``-$1,234.56``."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{symbol}{cents_to_decimal(abs(cents)):,}"


def percent_of(cents: int, percent: Decimal) -> int:
    """``percent`` % of ``cents``, rounded once to the cent (33.33% of 250,000.00 = 83,325.00)."""
    return int(round_to_cents(cents_to_decimal(cents) * percent / 100) * 100)


def allocate(total_cents: int, weights: Sequence[int | Decimal]) -> list[int]:
    """Split ``total_cents`` in proportion to ``weights`` so the parts add up exactly.

    Largest-remainder method: each part gets the floor of its exact share; the cents left
    over go one each to the parts with the largest remainders, earlier parts first on ties.
    Works for negative totals (by symmetry) and refuses empty or all-zero weights.
    """
    if not weights:
        raise ValidationFailed("at least one part is needed to allocate an amount")
    if any(Decimal(w) < 0 for w in weights):
        raise ValidationFailed("allocation weights cannot be negative")
    weight_sum = sum(Decimal(w) for w in weights)
    if weight_sum == 0:
        raise ValidationFailed("allocation weights cannot all be zero")
    sign = -1 if total_cents < 0 else 1
    magnitude = abs(total_cents)
    exact = [Decimal(magnitude) * Decimal(w) / weight_sum for w in weights]
    parts = [int(e) for e in exact]  # floor, since all are non-negative
    leftover = magnitude - sum(parts)
    order = sorted(range(len(parts)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:leftover]:
        parts[i] += 1
    return [sign * p for p in parts]
