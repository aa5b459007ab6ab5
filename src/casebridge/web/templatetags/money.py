"""Template filters for money: ``{{ cents|money }}`` renders integer cents as $1,234.56."""

from __future__ import annotations

from django import template

from casebridge.core.money import cents_to_decimal, format_cents

register = template.Library()


@register.filter
def money(cents: int | None) -> str:
    return "" if cents is None else format_cents(int(cents))


@register.filter
def amount(cents: int | None) -> str:
    """Plain decimal for form fields: 1234.56."""
    return "" if cents is None else str(cents_to_decimal(int(cents)))
