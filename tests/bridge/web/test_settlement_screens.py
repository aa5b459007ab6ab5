"""The settlement money on the screens: Client Trust Management (the books' trust balance
per case, each payment's trust check, Create fee invoice, Send again, the Disbursed tab),
the case's settlement tab and the settlement statement. The worked settlement of domain.md
is set up by ``_settle_to_disbursement`` of the end-to-end test."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from casebridge.books.models import Check, CheckStatus, Invoice
from casebridge.books.services import checks as books_checks
from casebridge.books.services import invoices as books_invoices
from casebridge.bridge.client import HttpBooksClient
from casebridge.bridge.models import FeeInvoice, InvoiceRelease, OutboxItem, TrustItemLink
from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.services.delivery import outbox_deliver
from casebridge.bridge.services.status_sync import check_status_sync
from casebridge.cases.models import Case, TrustItem
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import settlement
from casebridge.core.models import AuditEvent
from tests.cases.helpers import deposit, lien, offer, stage

from ..conftest import activate, add_cost, books_read_again
from ..test_settlement_to_books import Settled, _settle_to_disbursement
from .conftest import HX, sign_in, text

TO_BE_DISBURSED = reverse("cases:client_trust") + "?tab=to_be_disbursed"
DISBURSED = reverse("cases:client_trust") + "?tab=disbursed"


def _alert(response) -> str:
    """The refusal shown in a pop-up, as the user reads it."""
    found = re.search(
        r'<div class="alert alert-error" role="alert">(.*?)</div>', text(response), re.S
    )
    assert found, text(response)
    return html.unescape(re.sub(r"<[^>]+>|\s+", " ", found.group(1))).strip()


def _section(page: str, case: Case) -> str:
    """The case's card on Client Trust Management."""
    found = re.search(
        rf'<section class="card trust-case" aria-labelledby="trust-case-{case.pk}">.*?</section>',
        page,
        re.S,
    )
    assert found, f"case {case.pk} is not on the page"
    return found.group(0)


def _row(page: str, item: TrustItem) -> str:
    found = re.search(rf'<tr data-trust-item="{item.pk}">.*?</tr>', page, re.S)
    assert found, f"payment {item.pk} is not on the page"
    return re.sub(r"\s+", " ", found.group(0))


def _books_figure(section: str) -> str:
    found = re.search(
        r"<div data-integration-figure><dt>Trust in the books</dt>(.*?)</div>", section
    )
    assert found, section
    return found.group(1)


def _invoice_note(section: str) -> str:
    found = re.search(
        r'<div data-integration-note><dt>[^<]*</dt><dd class="[^"]*">(.*?)</dd>', section
    )
    assert found, section
    return found.group(1)


def _items(case: Case) -> dict[str, TrustItem]:
    return {
        i.payee_name if i.kind == "lien" else i.kind: i for i in TrustItem.objects.filter(case=case)
    }


def _written() -> dict[str, int]:
    return {
        "fee_invoices": FeeInvoice.objects.count(),
        "outbox": OutboxItem.objects.count(),
        "links": TrustItemLink.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def _fee_invoice_url(case: Case) -> str:
    return reverse("bridge:fee_invoice_create", args=[case.pk])


def _print_all(books, cases, settled: Settled) -> None:
    for number, check in enumerate(settled.trust_checks, start=5001):
        books_checks.check_print(
            firm=books.firm, actor=books.admin, check_id=check.pk, check_number=number
        )
    assert check_status_sync(firm=cases.firm, actor=cases.admin).error == ""


@pytest.fixture
def settled_review(books, cases) -> Settled:
    activate(books, cases, release=InvoiceRelease.REVIEW)
    return _settle_to_disbursement(books, cases)


@pytest.fixture
def settled_automatic(books, cases) -> Settled:
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    return _settle_to_disbursement(books, cases)


# --- To Be Disbursed ----------------------------------------------------------------------


def test_to_be_disbursed_shows_the_books_balance_each_trust_check_and_the_button(
    cases, settled_review, admin_client
):
    case = settled_review.case
    checks = {c.payee: c for c in settled_review.trust_checks}
    items = _items(case)

    section = _section(text(admin_client.get(TO_BE_DISBURSED)), case)

    assert '<dd class="amount" data-figure="held">$250,000.00</dd>' in section
    file_number = case.books_link.books_file_number
    assert _books_figure(section).startswith(  # then how long ago the worker read it
        '<dd class="amount">$91,825.00 <span class="small muted">'
        f"File {file_number}: matches ($158,175.00 in trust checks requested, not yet "
        "printed). Read from the books "
    )
    for payee in ("Valley Medical", "Blue Shield", "Maria Lopez"):
        item = items[payee] if payee != "Maria Lopez" else items["client"]
        assert (
            '<span class="small muted" data-integration-note>Trust check requested, '
            "queued for printing in the books</span>"
        ) in _row(section, item)
        assert f"request {checks[payee].pk}" not in _row(section, item)  # the books' id
    # the fee and the reimbursement go on the fee invoice: no state line of their own
    assert "data-integration-note" not in _row(section, items["fee"])
    assert "data-integration-note" not in _row(section, items["cost_reimbursement"])
    url = _fee_invoice_url(case)
    assert (
        f'<a class="btn btn-sm" href="{url}" hx-get="{url}" hx-target="#modal-root" '
        f'aria-label="Create the fee invoice of case {case.number}">Create fee invoice</a>'
    ) in section


def test_create_fee_invoice_is_offered_only_with_the_deposit_settlement_permission(
    cases, settled_review, paralegal_client
):
    section = _section(text(paralegal_client.get(TO_BE_DISBURSED)), settled_review.case)
    assert "Trust in the books" in section  # the figures are for everyone
    assert "Create fee invoice" not in section
    # and the pop-up itself is refused
    response = paralegal_client.get(_fee_invoice_url(settled_review.case), **HX)
    assert response.status_code == 403
    assert not FeeInvoice.objects.exists()


# --- the fee invoice pop-up ---------------------------------------------------------------


def test_the_pop_up_lists_the_lines_and_the_total_then_creates_the_invoice(
    cases, settled_review, admin_client
):
    case = settled_review.case

    response = admin_client.get(_fee_invoice_url(case), **HX)

    assert response.status_code == 200
    pop_up = text(response)
    lines = [
        re.sub(r"\|+", "|", re.sub(r"<[^>]+>", "|", ln)).strip("|")
        for ln in re.findall(r"<tr data-invoice-line>(.*?)</tr>", pop_up)
    ]
    # each line by what a person knows it by, never its key in the books (cases-cost-N)
    assert lines == [
        f"Attorney fee, {case.number} {case.name} |(time entry of Sam Smith)|$83,325.00",
        "Reimbursed cost: Records Inc, E112 2026-11-02|$5,000.00",
        "Reimbursed cost: Dr. Wu, E112 2026-11-02|$3,500.00",
    ]
    assert "cases-trust-item-" not in pop_up
    assert "cases-cost-" not in pop_up
    assert '<td class="num" data-figure="invoice-total"><strong>$91,825.00</strong></td>' in (
        pop_up
    )
    assert "It waits in the books' review stage for the accountant to release it" in pop_up
    assert not FeeInvoice.objects.exists()

    response = admin_client.post(_fee_invoice_url(case), {}, **HX)

    assert response.status_code == 200
    assert response["HX-Redirect"] == TO_BE_DISBURSED
    fee_invoice = FeeInvoice.objects.get()
    assert (fee_invoice.case_id, fee_invoice.total_cents, fee_invoice.stage) == (
        case.pk,
        9_182_500,
        "",
    )
    assert OutboxItem.objects.filter(kind="fee_invoice", fee_invoice=fee_invoice).count() == 1
    page = text(admin_client.get(TO_BE_DISBURSED))
    assert (
        f"Fee invoice of $91,825.00 for case {case.number} sent to the books; it waits in the "
        "books for the accountant to review and release it."
    ) in page
    section = _section(page, case)
    assert _invoice_note(section) == "Fee invoice on its way to the books"
    assert "Create fee invoice" not in section  # one fee invoice per case


def test_a_plain_post_redirects_back_with_the_message(cases, settled_automatic, admin_client):
    case = settled_automatic.case
    response = admin_client.post(_fee_invoice_url(case), {}, follow=True)
    assert response.redirect_chain == [(TO_BE_DISBURSED, 302)]
    assert (
        f"Fee invoice of $91,825.00 for case {case.number} sent to the books; it is released "
        "to final at once."
    ) in text(response)
    assert FeeInvoice.objects.count() == 1


def test_costs_never_sent_are_refused_in_the_pop_up_and_nothing_is_written(
    cases, settled_review, admin_client
):
    case = settled_review.case
    add_cost(cases, 12_500, payee="Court Clerk")  # after the push: never sent
    refusal = (
        "1 of this case's costs ($125.00) were never sent to the books, so the books hold no "
        "advance to reimburse; send or void them first (Costs tab)"
    )
    opened = admin_client.get(_fee_invoice_url(case), **HX)
    assert opened.status_code == 200
    assert _alert(opened) == refusal
    assert "data-invoice-line" not in text(opened)
    assert '<button type="submit"' not in text(opened)  # nothing to confirm
    before = _written()

    response = admin_client.post(_fee_invoice_url(case), {}, **HX)

    assert response.status_code == 422
    assert _alert(response) == refusal
    assert _written() == before


def test_a_deactivated_connection_is_refused_in_the_pop_up(cases, settled_review, admin_client):
    case = settled_review.case
    conn_services.connection_deactivate(firm=cases.firm, actor=cases.admin)
    section = _section(text(admin_client.get(TO_BE_DISBURSED)), case)
    assert "Create fee invoice" not in section
    before = _written()
    response = admin_client.post(_fee_invoice_url(case), {}, **HX)
    assert response.status_code == 422
    assert _alert(response) == (
        "The books integration is not connected; a firm administrator activates it in "
        "Account Settings → Integrations"
    )
    assert _written() == before


def test_a_refusal_found_on_confirming_shows_in_the_pop_up(
    books, cases, settled_review, admin_client
):
    """Records Time is checked only on Create (as the worker last read the books' users):
    the pop-up opens with the lines, the confirmation is refused in it, naming the
    prerequisite."""
    books.attorney.records_time = False
    books.attorney.save(update_fields=["records_time"])
    books_read_again(cases)
    case = settled_review.case
    assert admin_client.get(_fee_invoice_url(case), **HX).status_code == 200
    before = _written()
    response = admin_client.post(_fee_invoice_url(case), {}, **HX)
    assert response.status_code == 422
    assert "Records Time is off for sam.smith@lopez.test in the books" in _alert(response)
    assert _written() == before


def test_a_reviewed_invoice_is_waiting_for_the_accountant(
    books, cases, settled_review, admin_client
):
    case = settled_review.case
    admin_client.post(_fee_invoice_url(case), {}, **HX)
    outbox_deliver(firm_id=cases.firm.pk)
    invoice = Invoice.objects.get(firm=books.firm)

    section = _section(text(admin_client.get(TO_BE_DISBURSED)), case)

    assert _invoice_note(section) == (
        f"Fee invoice {invoice.number}: review (waiting for the accountant to release it in "
        "the books)"
    )
    # the fee is still in trust, in the books and on this side
    assert "$91,825.00" in _books_figure(section)
    assert "matches" in _books_figure(section)

    # released by the accountant: the stage comes back with the sync
    for stage_now in ("review", "release"):
        books_invoices.invoice_advance(
            firm=books.firm, actor=books.admin, invoice_id=invoice.pk, expected_stage=stage_now
        )
    check_status_sync(firm=cases.firm, actor=cases.admin)
    page = text(admin_client.get(TO_BE_DISBURSED))
    assert _invoice_note(_section(page, case)) == f"Fee invoice {invoice.number}: final"
    fee = _items(case)["fee"]
    assert f'data-trust-item="{fee.pk}"' not in page  # disbursed by the invoice


# --- Disbursed, the settlement tab, the statement -----------------------------------------


def _fully_disbursed(books, cases, settled: Settled, client: Client) -> Invoice:
    client.post(_fee_invoice_url(settled.case), {}, **HX)
    outbox_deliver(firm_id=cases.firm.pk)
    _print_all(books, cases, settled)
    return Invoice.objects.get(firm=books.firm)


def test_the_disbursed_tab_shows_check_numbers_and_the_invoice(
    books, cases, settled_automatic, admin_client
):
    case = settled_automatic.case
    invoice = _fully_disbursed(books, cases, settled_automatic, admin_client)
    items = _items(case)

    page = text(admin_client.get(DISBURSED))

    assert 'To Be Disbursed <span class="count">0</span>' in page
    assert 'Disbursed <span class="count">1</span>' in page
    section = _section(page, case)
    expected = {
        "Valley Medical": "Check 5001",
        "Blue Shield": "Check 5002",
        "client": "Check 5003",
        "fee": f"Invoice {invoice.number}",
        "cost_reimbursement": f"Invoice {invoice.number}",
    }
    for key, reference in expected.items():
        assert f'<br><span class="muted small">{reference}</span>' in _row(section, items[key])
    for payee in ("Valley Medical", "Blue Shield"):
        assert "Trust check #500" in _row(section, items[payee])
    # every cent left trust, in the books as on this side
    assert '<dd class="amount" data-figure="held">$0.00</dd>' in section
    assert _books_figure(section).startswith('<dd class="amount">$0.00 ')
    assert "matches." in _books_figure(section)
    assert _invoice_note(section) == f"Fee invoice {invoice.number}: final"


def test_the_settlement_tab_shows_the_fee_invoice_figure(
    books, cases, settled_automatic, admin_client
):
    case = settled_automatic.case
    admin_client.post(_fee_invoice_url(case), {}, **HX)
    tab = reverse("cases:case_settlement", args=[case.pk])
    on_its_way = text(admin_client.get(tab))
    assert (
        '<tr data-integration-figure><th scope="row">Fee invoice<br><span class="small muted">'
        'Fee invoice on its way to the books</span></th><td class="num">$91,825.00</td></tr>'
    ) in on_its_way
    outbox_deliver(firm_id=cases.firm.pk)
    number = Invoice.objects.get(firm=books.firm).number
    final = text(admin_client.get(tab))
    assert (
        '<tr data-integration-figure><th scope="row">Fee invoice<br><span class="small muted">'
        f'Fee invoice {number}: final</span></th><td class="num">$91,825.00</td></tr>'
    ) in final
    assert '<tr data-integration-figure><th scope="row">Trust in the books' in final


def test_the_statement_shows_the_check_numbers_and_the_invoice(
    books, cases, settled_automatic, admin_client
):
    case = settled_automatic.case
    invoice = _fully_disbursed(books, cases, settled_automatic, admin_client)
    page = re.sub(r"\s+", " ", text(admin_client.get(reverse("cases:statement", args=[case.pk]))))
    firm = "Lopez Injury Attorneys"
    for row in [
        f"<tr><td>{firm}</td><td>Attorney fee</td><td>Invoice {invoice.number}</td>"
        '<td class="num">$83,325.00</td></tr>',
        f"<tr><td>{firm}</td><td>Cost reimbursement</td><td>Invoice {invoice.number}</td>"
        '<td class="num">$8,500.00</td></tr>',
        "<tr><td>Valley Medical</td><td>Lien / third-party payment</td><td>Check 5001</td>"
        '<td class="num">$30,000.00</td></tr>',
        "<tr><td>Blue Shield</td><td>Lien / third-party payment</td><td>Check 5002</td>"
        '<td class="num">$15,000.00</td></tr>',
        "<tr><td>Maria Lopez</td><td>Client&#x27;s final check</td><td>Check 5003</td>"
        '<td class="num">$113,175.00</td></tr>',
    ]:
        assert row in page, row


# --- Send again ---------------------------------------------------------------------------


def test_send_again_appears_on_a_voided_check_and_queues_a_new_one(
    books, cases, settled_review, admin_client, paralegal_client
):
    case = settled_review.case
    item = _items(case)["Valley Medical"]
    url = reverse("bridge:trust_check_send_again", args=[item.pk])
    assert "Send again" not in _row(text(admin_client.get(TO_BE_DISBURSED)), item)

    first = next(c for c in settled_review.trust_checks if c.payee == "Valley Medical")
    books_checks.check_void(
        firm=books.firm, actor=books.admin, check_id=first.pk, reason="Lost in the mail"
    )
    check_status_sync(firm=cases.firm, actor=cases.admin)

    row = _row(text(admin_client.get(TO_BE_DISBURSED)), item)
    assert (
        '<span class="small text-danger" data-integration-note>Check voided in the books '
        "(Lost in the mail); the money is back in trust. Send it again from Client Trust "
        "Management.</span>"
    ) in row
    assert (
        f'<a class="btn btn-sm btn-ghost" href="{url}" hx-get="{url}" hx-target="#modal-root" '
        'aria-label="Send the check to Valley Medical again">Send again</a>'
    ) in row
    # no button without the permission
    assert "Send again" not in _row(text(paralegal_client.get(TO_BE_DISBURSED)), item)

    opened = admin_client.get(url, **HX)
    assert opened.status_code == 200
    assert "The books voided the trust check of <strong>$30,000.00</strong> to Valley Medical" in (
        text(opened)
    )

    response = admin_client.post(url, {}, **HX)

    assert (response.status_code, response["HX-Redirect"]) == (200, TO_BE_DISBURSED)
    new_ref = f"cases-trust-item-{item.pk}-2"
    assert OutboxItem.objects.filter(
        kind="trust_check", trust_item=item, payload__external_ref=new_ref
    ).exists()
    page = text(admin_client.get(TO_BE_DISBURSED))
    assert "A new trust check for Valley Medical ($30,000.00) was requested from the books." in (
        page
    )
    assert "Sending to the books" in _row(page, item)
    assert "Send again" not in _row(page, item)

    # sent again once: a second confirmation is refused in the pop-up, nothing written
    before = _written()
    again = admin_client.post(url, {}, **HX)
    assert again.status_code == 422
    assert _alert(again) == ("Only a payment whose check was voided in the books can be sent again")
    assert _written() == before

    outbox_deliver(firm_id=cases.firm.pk)
    second = Check.objects.get(firm=books.firm, external_ref=new_ref)
    assert (second.payee, second.amount_cents, second.status) == (
        "Valley Medical",
        3_000_000,
        CheckStatus.QUEUED,
    )
    assert "Trust check requested, queued for printing in the books" in _row(
        text(admin_client.get(TO_BE_DISBURSED)), item
    )


# --- the books are read once per page -----------------------------------------------------


def _case_to_disburse(cases, n: int) -> Case:
    """A small settlement pushed to disbursement: a deposit, a lien, the fee, the client."""
    firm, admin = cases.firm, cases.admin
    client = case_services.contact_create(firm=firm, actor=admin, name=f"Client {n}")
    case = case_services.case_create(
        firm=firm,
        actor=admin,
        name=f"Client {n} v. Road Co",
        client_id=client.pk,
        responsible_attorney_id=cases.attorney.pk,
        status="open",
    )
    accepted = offer(firm, admin, case, 1_000_000)
    deposit(firm, admin, case, accepted, 1_000_000, check=f"7{n:04d}")
    stage(firm, admin, case, "lien", of=lien(firm, admin, case, 100_000, final=100_000))
    stage(firm, admin, case, "fee")
    settlement.push_to_client_trust(firm=firm, actor=admin, case_id=case.pk)
    settlement.push_to_disbursement(firm=firm, actor=admin, case_id=case.pk)
    return case


def _measure(client: Client, calls: list[str]) -> tuple[int, list[str], str]:
    calls.clear()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(TO_BE_DISBURSED)
    assert response.status_code == 200
    return len(queries), list(calls), text(response)


def test_to_be_disbursed_never_asks_the_books_whatever_the_number_of_cases(
    books, cases, monkeypatch
):
    """The page shows the balances the worker read after delivering (ADR 0008): no request
    to the books from the page, for two cases or ten."""
    activate(books, cases, release=InvoiceRelease.REVIEW)
    calls: list[str] = []
    original = HttpBooksClient._request

    def spy(self: HttpBooksClient, method: str, path: str, **kwargs: Any) -> Any:
        calls.append(f"{method} {path}")
        return original(self, method, path, **kwargs)

    monkeypatch.setattr(HttpBooksClient, "_request", spy)
    made = [_case_to_disburse(cases, n) for n in range(2)]
    outbox_deliver(firm_id=cases.firm.pk)
    client = sign_in(Client(), cases.admin)
    client.get(TO_BE_DISBURSED)  # warm up (session, content types)

    two, two_calls, page = _measure(client, calls)
    assert page.count('class="card trust-case"') == 2
    assert page.count("Create fee invoice</a>") == 2
    assert page.count("queued for printing in the books") == 4  # lien + client per case

    made += [_case_to_disburse(cases, n) for n in range(2, 10)]
    outbox_deliver(firm_id=cases.firm.pk)
    ten, ten_calls, page = _measure(client, calls)

    assert page.count('class="card trust-case"') == 10
    assert page.count("Create fee invoice</a>") == 10
    assert page.count("queued for printing in the books") == 20
    assert page.count(": matches ($6,667.00 in trust checks requested, not yet printed).") == 10
    assert ten <= two, (two, ten)
    assert ten_calls == two_calls == []


def test_send_again_on_a_check_that_is_not_void_is_refused_in_the_pop_up(books, cases):
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    settled = _settle_to_disbursement(books, cases)
    item = TrustItem.objects.get(case=settled.case, payee_name="Valley Medical")
    client = sign_in(Client(), cases.admin)
    page = client.get(reverse("bridge:trust_check_send_again", args=[item.pk]), headers=HX)
    assert page.status_code == 200
    assert _alert(page) == "Only a payment whose check was voided in the books can be sent again"
    assert "The books voided the trust check" not in text(page)
    assert TrustItemLink.objects.get(trust_item=item).generation == 1


def test_create_fee_invoice_for_an_unknown_case_is_not_found(books, cases, connected):
    client = sign_in(Client(), cases.admin)
    assert client.get(reverse("bridge:fee_invoice_create", args=[999_999])).status_code == 404
