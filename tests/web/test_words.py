"""The words a person reads (issue 14): one plural, one signed money, one difference, one
date format and times on the firm's clock, in Python (core.words) and in the templates."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template
from django.utils import timezone

from casebridge.core import timezones, words

MOMENT = dt.datetime(2026, 12, 7, 17, 5, tzinfo=dt.UTC)


def render(body: str, **context: object) -> str:
    return Template(body).render(Context(context))


@pytest.mark.parametrize(
    ("count", "noun", "expected"),
    [
        (0, "case", "0 cases"),
        (1, "case", "1 case"),
        (2, "case", "2 cases"),
        (1, "entry", "1 entry"),
        (3, "entry", "3 entries"),
        (2, "day", "2 days"),
        (2, "attorney", "2 attorneys"),
        (2, "box", "2 boxes"),
        (2, "batch", "2 batches"),
        (2, "child", "2 children"),
        (2, "person", "2 people"),
        (2, "trust change", "2 trust changes"),
        (2, "failed item", "2 failed items"),
        (2, "statement line", "2 statement lines"),
        (1200, "check", "1,200 checks"),
        (-1, "day", "-1 day"),
    ],
)
def test_plural(count, noun, expected):
    assert words.plural(count, noun) == expected


def test_plural_with_a_form_of_its_own():
    assert words.plural(2, "criterion", "criteria") == "2 criteria"
    assert words.plural(1, "criterion", "criteria") == "1 criterion"


def test_plural_filters():
    assert render('{{ n|plural:"case" }}', n=1) == "1 case"
    assert render('{{ n|plural:"case" }}', n=4) == "4 cases"
    assert render('{{ n|plural:"criterion,criteria" }}', n=2) == "2 criteria"
    assert render('{{ n|plural_noun:"difference" }}', n=1) == "difference"
    assert render('{{ n|plural_noun:"difference" }}', n=2) == "differences"
    assert render('{{ n|plural:"entry" }}', n=None) == "0 entries"


@pytest.mark.parametrize(
    ("cents", "signed", "diff"),
    [
        (7475, "+$74.75", "$74.75 over"),
        (-7475, "-$74.75", "$74.75 short"),
        (0, "$0.00", "no difference"),
        (-123456789, "-$1,234,567.89", "$1,234,567.89 short"),
    ],
)
def test_signed_money_and_difference(cents, signed, diff):
    assert words.signed_money(cents) == signed
    assert words.difference(cents) == diff
    assert render("{{ c|signed_money }}|{{ c|difference }}", c=cents) == f"{signed}|{diff}"


def test_a_deduction_has_the_one_minus_sign():
    assert render("{{ c|deduction }}", c=833_250) == "-$8,332.50"
    assert render("{{ c|deduction }}", c=0) == "$0.00"
    assert render("{{ c|deduction }}", c=-500) == "+$5.00"  # a waiver adds back


def test_stored_arrows_read_as_arrows():
    assert words.arrows("E124 Other -> GL 1300") == "E124 Other → GL 1300"
    assert render("{{ t|arrows }}", t="A -> B") == "A → B"


def test_a_difference_in_other_words_and_one_minus_sign():
    assert words.difference(-500, over="ahead", short="behind") == "$5.00 behind"
    assert render('{{ c|difference:"ahead,behind" }}', c=500) == "$5.00 ahead"
    assert render("{{ c|money }}", c=-7475) == "-$74.75"  # the same minus as signed_money


def test_one_date_format_and_times_on_the_firms_clock():
    assert words.format_day(dt.date(2026, 12, 7)) == "2026-12-07"
    assert render("{{ d|day }}", d=dt.date(2026, 3, 1)) == "2026-03-01"
    assert render("{{ d|day }}", d=None) == ""
    with timezones.firm_zone("America/New_York"):
        assert words.format_moment(MOMENT) == "2026-12-07 12:05"
        assert render("{{ m|moment }}", m=MOMENT) == "2026-12-07 12:05"
        # a moment's date is the firm's date: 01:00 UTC on the 8th is still the 7th there
        assert words.format_day(MOMENT + dt.timedelta(hours=8)) == "2026-12-07"
    with timezones.firm_zone("Asia/Tokyo"):
        assert render("{{ m|moment }}", m=MOMENT) == "2026-12-08 02:05"
    assert timezone.get_current_timezone_name() != "Asia/Tokyo"
    assert words.format_moment(None) == ""


def test_menu_path_uses_the_arrow():
    assert words.menu_path("Account Settings", "Integrations", "Books") == (
        "Account Settings → Integrations → Books"
    )


def test_the_date_filters_leave_what_is_not_a_date_blank_as_date_does():
    assert render("{{ d|day }}|{{ d|moment }}", d="2026-12-07") == "|"
    assert render("{{ d|moment }}", d=dt.date(2026, 12, 7)) == ""
