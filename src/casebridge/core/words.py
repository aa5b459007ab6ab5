"""Words a client or accountant reads: counts, signed money, differences, dates and times.

One helper for each, used by the screens (through the template filters of
``casebridge.web.templatetags.words``) and by the Python strings that reach a person (flash
messages, refusals, audit summaries, memos), so they read alike everywhere:

- a count with its noun: "1 case", "2 cases", "3 entries", never "1 cases" or "case(s)";
- money with one minus sign, the ASCII hyphen of :func:`~casebridge.core.money.format_cents`
  ("-$74.75", as in the CSV files), a plus sign only where a change is shown, and a
  difference in words ("$74.75 over", "$74.75 short");
- one date format on the screens, ISO ("2026-12-07"), which is also the CSV's and the API's;
- a time on the firm's wall clock ("2026-12-07 09:30", in the zone activated for the
  request, ``core/timezones.py``), never UTC;
- "→" for "then" in a path through menus ("Account Settings → Integrations");
- a cost by what its row shows, never its id: "cost of 2026-11-02 to Records Inc for $125.00".

Machine formats (API JSON, CSV, the keys exchanged with the books) do not go through here.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from casebridge.core.money import format_cents

#: Nouns whose plural is not the noun plus "s" or "es" by the rules of :func:`plural_noun`.
IRREGULAR = {
    "child": "children",
    "person": "people",
    "entry": "entries",
    "company": "companies",
    "party": "parties",
    "day": "days",
    "attorney": "attorneys",
    "was": "were",
    "is": "are",
    "has": "have",
}

#: The arrow of a path through menus ("Gear → Users → Add").
ARROW = "→"
#: The date format of the screens (Django's ``date`` filter) and its strftime twin.
DATE_FORMAT = "Y-m-d"
DATE_STRFTIME = "%Y-%m-%d"
#: A moment on the firm's wall clock.
DATETIME_FORMAT = "Y-m-d H:i"
DATETIME_STRFTIME = "%Y-%m-%d %H:%M"


def plural_noun(noun: str, count: int = 2) -> str:
    """``noun`` as it goes with ``count``: itself for one, else its plural ("entry" ->
    "entries", "box" -> "boxes", "check" -> "checks"; the last word of a phrase changes:
    "trust change" -> "trust changes")."""
    if count == 1 or count == -1:
        return noun
    head, _, last = noun.rpartition(" ")
    lower = last.lower()
    if lower in IRREGULAR:
        word = IRREGULAR[lower]
        word = word.capitalize() if last[:1].isupper() else word
    elif lower.endswith("y") and len(lower) > 1 and lower[-2] not in "aeiou":
        word = last[:-1] + "ies"
    elif lower.endswith(("s", "x", "z", "ch", "sh")):
        word = last + "es"
    else:
        word = last + "s"
    return f"{head} {word}" if head else word


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """The count and its noun: ``plural(1, "case")`` is "1 case", ``plural(2, "case")``
    "2 cases", ``plural(1200, "entry")`` "1,200 entries"; ``plural_form`` for a noun the
    rules do not know."""
    word = noun if count in (1, -1) else (plural_form or plural_noun(noun, count))
    return f"{count:,} {word}"


def signed_money(cents: int) -> str:
    """A change in money, its sign always shown: "+$74.75", "-$74.75", "$0.00"."""
    return f"+{format_cents(cents)}" if cents > 0 else format_cents(cents)


def difference(cents: int, *, over: str = "over", short: str = "short") -> str:
    """How far a figure is from what it should be, in words and without a sign: positive
    ``cents`` (more than it should be) is "$74.75 over", negative "$74.75 short", none
    "no difference"."""
    if cents == 0:
        return "no difference"
    return f"{format_cents(abs(cents))} {over if cents > 0 else short}"


def format_day(value: dt.date | None) -> str:
    """A date as the screens show it: "2026-12-07" (a moment: its date on the firm's clock)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = local_moment(value).date()
    return value.strftime(DATE_STRFTIME)


def local_moment(value: dt.datetime) -> dt.datetime:
    """An aware moment on the wall clock of the zone active now (the firm's, on its
    requests and in the worker around its work); a naive one is taken as it is."""
    return timezone.localtime(value) if timezone.is_aware(value) else value


def format_moment(value: dt.datetime | None) -> str:
    """A moment as the screens show it, on the firm's clock: "2026-12-07 09:30"."""
    if value is None:
        return ""
    return local_moment(value).strftime(DATETIME_STRFTIME)


def arrows(text: str) -> str:
    """Stored text as a screen shows it: its "->" as "→" (a label kept as the API gives it,
    such as a connection's cost posting reference "E124 Other -> GL 1300 ...")."""
    return text.replace("->", ARROW)


def menu_path(*steps: str) -> str:
    """Steps through menus joined by the arrow: "Account Settings → Integrations"."""
    return f" {ARROW} ".join(steps)


def cost_words(cost_date: dt.date | None, payee: str, amount_cents: int) -> str:
    """A cost as a person finds it in a list, by its date, payee and amount (its id is no
    one's business): "cost of 2026-11-02 to Records Inc for $125.00". Names a row's actions
    for a screen reader ("Edit cost of ...") and a reconciliation's difference."""
    return f"cost of {format_day(cost_date)} to {payee} for {format_cents(amount_cents)}"
