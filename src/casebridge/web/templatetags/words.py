"""Template filters for the words a person reads (``casebridge.core.words``), built in:

- ``{{ count|plural:"case" }}`` "1 case" / "2 cases"; ``{{ count|plural:"child,children" }}``
  for a plural the rules do not know; ``{{ count|plural_noun:"difference" }}`` the noun alone;
- ``{{ cents|signed_money }}`` "+$74.75" / "-$74.75"; ``{{ cents|deduction }}`` "-$74.75" for an
  amount taken off a total; ``{{ cents|difference }}`` "$74.75 over"
  / "$74.75 short" (``{{ cents|difference:"over,short" }}`` for other words);
- ``{{ label|arrows }}`` a stored label's "->" as "→";
- ``{{ value|day }}`` "2026-12-07"; ``{{ moment|moment }}`` "2026-12-07 09:30" on the firm's
  clock.
"""

from __future__ import annotations

import datetime as dt

from django import template

from casebridge.core import words

register = template.Library()


def _forms(arg: str) -> tuple[str, str | None]:
    singular, _, plural_form = arg.partition(",")
    return singular.strip(), plural_form.strip() or None


@register.filter
def plural(count: int | None, arg: str) -> str:
    singular, plural_form = _forms(arg)
    return words.plural(int(count or 0), singular, plural_form)


@register.filter
def plural_noun(count: int | None, arg: str) -> str:
    singular, plural_form = _forms(arg)
    n = int(count or 0)
    return singular if n in (1, -1) else (plural_form or words.plural_noun(singular, n))


@register.filter
def signed_money(cents: int | None) -> str:
    return "" if cents is None else words.signed_money(int(cents))


@register.filter
def deduction(cents: int | None) -> str:
    """An amount taken off a total: "-$74.75" (nothing taken off: "$0.00")."""
    return "" if cents is None else words.signed_money(-int(cents))


@register.filter
def difference(cents: int | None, arg: str = "over,short") -> str:
    over, _, short = arg.partition(",")
    return "" if cents is None else words.difference(int(cents), over=over, short=short)


@register.filter
def arrows(text: str | None) -> str:
    return words.arrows(str(text or ""))


@register.filter
def day(value: object) -> str:
    """A date (a moment: its date on the firm's clock); anything else: "" (as ``date``)."""
    return words.format_day(value) if isinstance(value, dt.date) else ""


@register.filter
def moment(value: object) -> str:
    return words.format_moment(value) if isinstance(value, dt.datetime) else ""
