"""The main screens of both sides, after a worked settlement (costs sent and advanced, a
cost split across linked cases, the settlement pushed to disbursement, a fee invoice, one
trust check printed and one voided before it had a number), read for what must not show
(issue 14): a database id where a person expects what they know ("(cost 12)",
"cases-trust-item-8", "Check #60"), "change(s)", "1 cases", "->"."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from casebridge.books.services import checks as books_checks
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs as cost_services
from tests.books.web.conftest import sign_in as books_sign_in

from ..conftest import add_cost
from ..test_settlement_to_books import Settled
from .conftest import HX, text
from .test_settlement_screens import _fee_invoice_url, settled_review  # noqa: F401

LEAKS = [
    (re.compile(r"\(cost \d+\)"), "a cost's id"),
    (re.compile(r"cases-(?:trust-item|cost|fee-invoice)-\d"), "a key of the books"),
    (re.compile(r'<span class="muted">#\d+</span>'), "an id after a thing's kind"),
    (re.compile(r"request \d+,"), "a books check request's id"),
    (re.compile(r"\w\(s\)"), "a plural in parentheses"),
    (
        re.compile(r"\b1 (?:cases|costs|items|checks|days|lines|payments|differences)\b"),
        "1 + plural",
    ),
    (re.compile(r"(?<![<!-])-&gt;|\s->\s"), "an ASCII arrow"),
    (re.compile(r"\bUTC\b"), "a time in UTC"),
]


def leaks(page: str) -> list[str]:
    # not read: scripts and styles; a record shown as stored (the audit trail's before
    # and after, where external_ref is one of the fields the books keep); the options of a
    # list of names (the time zone "Etc/UTC")
    body = re.sub(
        r"<script\b.*?</script>|<style\b.*?</style>|<pre>.*?</pre>|<option\b.*?</option>",
        "",
        page,
        flags=re.S,
    )
    return [f"{why}: {m.group(0)!r}" for pattern, why in LEAKS for m in pattern.finditer(body)]


@pytest.fixture
def screens(books, cases, settled_review: Settled, admin_client: Client) -> dict[str, str]:  # noqa: F811
    case = settled_review.case
    pop_up = admin_client.get(_fee_invoice_url(case), **HX)
    assert pop_up.status_code == 200
    # the fee invoice, one trust check printed, one voided before it had a number
    assert admin_client.post(_fee_invoice_url(case), {}, **HX).status_code == 200
    # a cost split across two linked cases
    partner = case_services.case_create(
        firm=cases.firm, actor=cases.admin, name="Ann Partner", client_id=case.client_id
    )
    case_services.cases_link(case=case, other_case_id=partner.pk, actor=cases.admin)
    tow = add_cost(cases, 10_001, payee="City Towing")
    cost_services.cost_split(firm=cases.firm, actor=cases.admin, cost_id=tow.pk)
    printed, voided = settled_review.trust_checks[:2]
    books_checks.check_print(
        firm=books.firm, actor=books.admin, check_id=printed.pk, check_number=5001
    )
    books_checks.check_void(
        firm=books.firm, actor=books.admin, check_id=voided.pk, reason="wrong payee"
    )
    books_client = books_sign_in(Client(), books.admin)
    cases_pages = {
        "case": reverse("cases:case_detail", args=[case.pk]),
        "costs tab": reverse("cases:case_costs", args=[case.pk]),
        "partner's costs tab": reverse("cases:case_costs", args=[partner.pk]),
        "settlement tab": reverse("cases:case_settlement", args=[case.pk]),
        "statement": reverse("cases:statement", args=[case.pk]),
        "costs management": reverse("cases:costs_management"),
        "costs management, pending": reverse("cases:costs_management") + "?status=pending",
        "to be disbursed": reverse("cases:client_trust") + "?tab=to_be_disbursed",
        "disbursed": reverse("cases:client_trust") + "?tab=disbursed",
        "sync queue": reverse("bridge:queue"),
        "settings": reverse("cases:settings"),
        "time zone": reverse("cases:settings_time_zone"),
    }
    books_pages = {
        "books audit trail": reverse("books:audit"),
        "books checks": reverse("books:checks"),
        "books invoices": reverse("books:invoices"),
        "books files": reverse("books:files"),
        "books general settings": reverse("books:settings_general"),
    }
    pages = {"fee invoice pop-up": text(pop_up)}
    for name, url in cases_pages.items():
        response = admin_client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        pages[name] = text(response)
    for name, url in books_pages.items():
        response = books_client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        pages[name] = text(response)
    return pages


def test_the_main_screens_show_no_ids_keys_or_makeshift_words(screens):
    found = {name: leaks(page) for name, page in screens.items()}
    assert {name: problems for name, problems in found.items() if problems} == {}


def test_the_screens_name_what_a_person_knows_instead(screens, settled_review):  # noqa: F811
    case = settled_review.case
    assert f"Split from $100.01 on case {case.number} across 2 cases" in screens["costs tab"]
    audit = screens["books audit trail"]
    assert "Check to Blue Shield for $15,000.00 voided" in audit
    assert "<td>Check 5001</td>" in audit
    assert "<td>Check to Blue Shield for $15,000.00</td>" in audit


def test_the_leak_patterns_find_what_they_are_for():
    page = (
        "<td>Check</td> Split from $1.00 (cost 30) across 3 cases · cases-trust-item-8 · "
        '<td>Check <span class="muted">#60</span></td> · 2 change(s) · 1 cases · '
        "Settings -&gt; Time · 10:00 UTC · "
        "Trust check request 60, queued"
    )
    assert [why for why in (w.split(":")[0] for w in leaks(page))] == [
        "a cost's id",
        "a key of the books",
        "an id after a thing's kind",
        "a books check request's id",
        "a plural in parentheses",
        "1 + plural",
        "an ASCII arrow",
        "a time in UTC",
    ]
