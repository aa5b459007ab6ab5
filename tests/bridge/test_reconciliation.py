"""Issue 5: the reconciliation report both sides agree on, for the firm and for one case:
every difference listed with its cause and a fix, clean once both sides agree."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from casebridge.books.models import Check
from casebridge.books.services import checks as books_checks
from casebridge.bridge.errors import Conflict
from casebridge.bridge.models import (
    CaseLink,
    DifferenceFix,
    InvoiceRelease,
    ReconciliationDifference,
    ReconciliationRun,
    SyncRun,
)
from casebridge.bridge.services import reconciliation
from casebridge.bridge.services import settlement as bridge_settlement
from casebridge.bridge.services.delivery import outbox_deliver
from casebridge.core.errors import PermissionDenied
from tests.cases.helpers import deposit, offer

from .conftest import activate, add_cost, work
from .test_settlement_to_books import _print_and_sync, _settle_to_disbursement
from .web.conftest import sign_in


def _run(cases, **kw) -> ReconciliationRun:
    return reconciliation.reconciliation_run(firm=cases.firm, actor=cases.admin, **kw)


def _found(run: ReconciliationRun) -> list[tuple[str, str, str]]:
    return [(d.kind, d.subject, d.fix) for d in run.found.order_by("pk")]


def test_the_worked_settlement_reconciles_clean_at_every_step(books, cases):
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    settled = _settle_to_disbursement(books, cases)
    run = _run(cases)
    assert (run.error, run.differences, run.in_flight, run.cases_compared) == ("", 0, 0, 1)
    # 2 cost checks, 1 receipt, 3 trust checks
    assert run.documents_compared == 6
    assert run.is_clean
    bridge_settlement.fee_invoice_create(
        firm=cases.firm, actor=cases.admin, case_id=settled.case.pk
    )
    queued = _run(cases)
    assert (queued.differences, queued.in_flight) == (0, 1)  # the invoice on its way
    outbox_deliver(firm_id=cases.firm.pk)
    _print_and_sync(books, cases, settled)
    final = _run(cases)
    assert (final.error, final.differences, final.documents_compared) == ("", 0, 7)
    case_run = _run(cases, case_id=settled.case.pk)
    assert (case_run.case_id, case_run.differences, case_run.documents_compared) == (
        settled.case.pk,
        0,
        7,
    )


def test_each_difference_is_listed_with_its_cause_and_fixed(books, cases):
    firm, admin, case = cases.firm, cases.admin, cases.case
    accepted = offer(firm, admin, case, 1_000_000)
    early = deposit(firm, admin, case, accepted, 600_000, check="501")  # before activation
    activate(books, cases)
    deposit(firm, admin, case, accepted, 400_000, check="502")
    cost = add_cost(cases, 12_500)
    from casebridge.bridge.services import outbox

    outbox.costs_send(firm=firm, actor=admin, cost_ids=[cost.pk])
    outbox_deliver(firm_id=firm.pk)
    check = Check.objects.get(firm=books.firm)
    books_checks.check_print(firm=books.firm, actor=books.admin, check_id=check.pk, check_number=77)
    # the books hold a document under a cases reference this side never sent
    books_checks.check_request_create(
        firm=books.firm,
        actor=books.admin,
        bank_account_id=books.operating.pk,
        payee="Stranger",
        amount_cents=999,
        file_id=check.file_id,
        activity_code_id=check.activity_code_id,
        external_ref="cases-cost-999999",
    )

    run = _run(cases)
    assert run.error == ""
    rows = {d.kind: d for d in run.found.all()}
    file_number = CaseLink.objects.get(case=case).books_file_number
    assert _found(run) == [
        ("cost", "Cost of 2026-11-02 to Records Inc for $125.00", DifferenceFix.SYNC),
        ("deposit", "Deposit of check 501, $6,000.00", DifferenceFix.SEND),
        ("trust_balance", f"Trust of {case.number} (file {file_number})", ""),
        ("unknown", rows["unknown"].subject, ""),
    ]
    assert "Printed in the books as check 77" in rows["cost"].cause
    assert "Never sent to the books" in rows["deposit"].cause
    assert (rows["deposit"].cases_cents, rows["deposit"].fix_target_id) == (600_000, early.pk)
    assert (rows["trust_balance"].cases_cents, rows["trust_balance"].books_cents) == (
        1_000_000,
        400_000,
    )
    assert "holds $6,000.00 less" in rows["trust_balance"].cause
    stranger = Check.objects.get(external_ref="cases-cost-999999")
    assert rows["unknown"].subject == f"Check {stranger.pk} in the books (cases-cost-999999)"
    assert rows["unknown"].books_cents == 999

    # send the early deposit, sync the printed check: only the stranger is left
    reconciliation.difference_fix(firm=firm, actor=admin, difference_id=rows["deposit"].pk)
    reconciliation.difference_fix(firm=firm, actor=admin, difference_id=rows["cost"].pk)
    with pytest.raises(Conflict, match="already put right"):
        reconciliation.difference_fix(firm=firm, actor=admin, difference_id=rows["deposit"].pk)
    with pytest.raises(Conflict, match="no fix"):
        reconciliation.difference_fix(firm=firm, actor=admin, difference_id=rows["unknown"].pk)
    # the sync the fix asked for is the worker's
    assert SyncRun.objects.filter(state="queued").count() == 1
    work(firm.pk)
    outbox_deliver(firm_id=firm.pk)
    again = _run(cases)
    assert [d.kind for d in again.found.all()] == ["unknown"]
    cost.refresh_from_db()
    assert (cost.status, cost.payment_reference) == ("paid", "77")


def test_an_amount_changed_in_the_books_is_a_difference(books, cases, connected):
    cost = add_cost(cases, 12_500)
    from casebridge.bridge.services import outbox

    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[cost.pk])
    outbox_deliver(firm_id=cases.firm.pk)
    Check.objects.filter(firm=books.firm).update(amount_cents=12_000)
    run = _run(cases)
    diff = run.found.get()
    assert (diff.kind, diff.cases_cents, diff.books_cents, diff.fix) == ("cost", 12_500, 12_000, "")
    assert "$120.00" in diff.cause


def test_a_failed_item_is_a_difference_to_retry(books, cases, connected):
    accepted = offer(cases.firm, cases.admin, cases.case, 1_000_000)
    deposit(cases.firm, cases.admin, cases.case, accepted, 1_000_000)
    from casebridge.bridge.models import OutboxItem

    OutboxItem.objects.update(state="failed", error_message="The books said no")
    run = _run(cases)
    kinds = [(d.kind, d.fix) for d in run.found.all()]
    assert kinds == [("deposit", "retry")]
    assert "The books said no" in run.found.get().cause


def test_the_books_down_is_an_error_not_a_clean_run(books, cases, connected):
    from casebridge.bridge.models import Connection

    Connection.objects.update(books_url="http://127.0.0.1:9/books/api/v1")
    run = _run(cases)
    assert not run.is_clean
    assert run.error.startswith("The books could not answer")
    assert run.differences == 0


def test_only_administrators_reconcile(books, cases, connected):
    with pytest.raises(PermissionDenied):
        reconciliation.reconciliation_run(firm=cases.firm, actor=cases.paralegal)
    assert not ReconciliationRun.objects.exists()


def test_the_screens_show_the_run_and_the_home_page_says_whether_it_was_clean(
    books, cases, connected
):
    client = sign_in(Client(), cases.admin)
    home = client.get(reverse("cases:case_list")).content.decode()
    assert "Books reconciliation: not run yet." in home
    response = client.post(reverse("bridge:reconciliation_run"))
    assert response.status_code == 302
    # queued for the worker: the page says it is running, and polls
    page = client.get(reverse("bridge:reconciliation")).content.decode()
    assert 'data-reconciliation="running"' in page
    [run] = ReconciliationRun.objects.all()
    assert run.state == "queued"
    poll = client.get(reverse("bridge:reconciliation_run_status", args=[run.pk]))
    assert 'data-reconciliation="running"' in poll.content.decode()
    assert work(cases.firm.pk) == 1
    done = client.get(reverse("bridge:reconciliation_run_status", args=[run.pk]))
    assert done["HX-Refresh"] == "true"
    page = client.get(reverse("bridge:reconciliation")).content.decode()
    assert 'data-reconciliation="clean"' in page
    assert 'data-reconciliation="running"' not in page
    home = client.get(reverse("cases:case_list")).content.decode()
    assert "Books reconciliation clean" in home
    trust = client.get(reverse("cases:client_trust")).content.decode()
    assert reverse("bridge:three_way") in trust
    assert ReconciliationDifference.objects.count() == 0
    # a paralegal sees neither the notice nor the screen
    other = sign_in(Client(), cases.paralegal)
    assert "Books reconciliation" not in other.get(reverse("cases:case_list")).content.decode()
    assert other.get(reverse("bridge:reconciliation")).status_code == 403


def test_the_three_way_reconciliation_is_read_from_the_books(books, cases, connected):
    accepted = offer(cases.firm, cases.admin, cases.case, 1_000_000)
    deposit(cases.firm, cases.admin, cases.case, accepted, 1_000_000)
    outbox_deliver(firm_id=cases.firm.pk)
    client = sign_in(Client(), cases.admin)

    def reconcile(statement: str) -> str:
        """Ask (queued for the worker), see it asking, let the worker answer, see it."""
        asked = client.post(reverse("bridge:three_way"), {"statement_balance": statement})
        assert asked.status_code == 302
        waiting = client.get(asked["Location"]).content.decode()
        assert 'data-three-way="asking"' in waiting
        work(cases.firm.pk)
        page = client.get(asked["Location"])
        assert page.status_code == 200
        text = page.content.decode()
        assert 'data-three-way="asking"' not in text
        assert f'value="{statement}"' in text  # the figures asked about
        return text

    text = reconcile("10,000.00")
    assert 'data-three-way="reconciled"' in text
    assert text.count("$10,000.00") >= 3
    bad = client.post(reverse("bridge:three_way"), {"statement_balance": "ten"})
    assert bad.status_code == 422
    assert 'data-three-way="differences"' in reconcile("9,000.00")


def test_client_trust_management_syncs_from_the_books(books, cases):
    activate(books, cases, release=InvoiceRelease.REVIEW)
    settled = _settle_to_disbursement(books, cases)
    bridge_settlement.fee_invoice_create(
        firm=cases.firm, actor=cases.admin, case_id=settled.case.pk
    )
    outbox_deliver(firm_id=cases.firm.pk)
    from casebridge.books.models import Invoice
    from casebridge.books.services import invoices as books_invoices
    from casebridge.bridge.models import FeeInvoice

    invoice = Invoice.objects.get(firm=books.firm)
    books_invoices.invoice_finalise(firm=books.firm, actor=books.admin, invoice_id=invoice.pk)
    client = sign_in(Client(), cases.admin)
    trust = client.get(reverse("cases:client_trust"), {"tab": "to_be_disbursed"}).content.decode()
    assert reverse("bridge:settlement_sync") in trust
    response = client.post(reverse("bridge:settlement_sync"))
    assert response.status_code == 302
    assert FeeInvoice.objects.get().stage == "review"  # the worker syncs it
    work(cases.firm.pk)
    assert FeeInvoice.objects.get().stage == "final"
    # without the deposit permission: no link, and the sync is refused
    other = sign_in(Client(), cases.paralegal)
    page = other.get(reverse("cases:client_trust"), {"tab": "to_be_disbursed"}).content.decode()
    assert reverse("bridge:settlement_sync") not in page
    assert other.post(reverse("bridge:settlement_sync")).status_code == 403


def test_the_bulk_reads_follow_every_page(books, cases, monkeypatch):
    """Pages of two rows: the reconciliation still sees every document and balance."""
    from casebridge.bridge import client as client_module

    monkeypatch.setattr(client_module, "BULK_PAGE_SIZE", 2)
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    settled = _settle_to_disbursement(books, cases)
    run = _run(cases)
    assert (run.error, run.differences, run.documents_compared) == ("", 0, 6)
    from casebridge.bridge.services.connection import client_for

    conn = settled.case.firm.books_connection
    client = client_for(conn)
    try:
        checks = client.external_documents("check", "cases-")
        balances = client.all_trust_balances(books.trust.pk)
    finally:
        client.close()
    assert len(checks) == 5
    assert len({c.id for c in checks}) == 5
    assert list(balances.values()) == [25_000_000 - 4_500_000 - 11_317_500]


def test_a_withdrawn_send_is_not_a_difference(books, cases, connected):
    from casebridge.bridge.models import OutboxItem
    from casebridge.bridge.services import outbox

    cost = add_cost(cases, 12_500)
    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[cost.pk])
    OutboxItem.objects.filter(cost=cost).update(state="failed", error_message="no")
    outbox.item_withdraw(
        firm=cases.firm, actor=cases.admin, item_id=OutboxItem.objects.get(cost=cost).pk
    )
    work(cases.firm.pk)  # the worker asks the books, then withdraws
    run = _run(cases)
    assert (run.error, run.differences) == ("", 0)


def test_a_deposit_sent_by_the_fix_is_not_held_behind_refused_payments(books, cases):
    """A deposit recorded before activation, payments pushed after: the books refuse the
    first payment (the file holds nothing) and the next waits behind it. The
    reconciliation's Send fix queues the deposit and puts the payments after it, so all
    go, in order, each once."""
    from casebridge.bridge.models import DifferenceKind, OutboxItem
    from casebridge.cases.services import settlement
    from tests.cases.helpers import lien, stage

    firm, admin, case = cases.firm, cases.admin, cases.case
    accepted = offer(firm, admin, case, 1_000_000)
    deposit(firm, admin, case, accepted, 1_000_000, check="501")
    activate(books, cases)
    stage(firm, admin, case, "lien", of=lien(firm, admin, case, 200_000, final=200_000))
    stage(firm, admin, case, "fee")
    settlement.push_to_client_trust(firm=firm, actor=admin, case_id=case.pk)
    settlement.push_to_disbursement(firm=firm, actor=admin, case_id=case.pk)
    outbox_deliver(firm_id=firm.pk)
    assert OutboxItem.objects.filter(kind="trust_check", state="failed").count() == 1
    run = _run(cases)
    fix = run.found.get(kind=DifferenceKind.DEPOSIT)
    reconciliation.difference_fix(firm=firm, actor=admin, difference_id=fix.pk)
    outbox_deliver(firm_id=firm.pk)
    assert list(
        OutboxItem.objects.exclude(state="cancelled").order_by("pk").values_list("kind", "state")
    ) == [("deposit_receipt", "sent"), ("trust_check", "sent"), ("trust_check", "sent")]
    assert OutboxItem.objects.filter(state="cancelled").count() == 2
    assert Check.objects.filter(firm=books.firm, bank_account=books.trust).count() == 2


def test_a_repaid_cost_whose_check_the_books_void_later_is_a_difference(books, cases):
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    settled = _settle_to_disbursement(books, cases)
    bridge_settlement.fee_invoice_create(
        firm=cases.firm, actor=cases.admin, case_id=settled.case.pk
    )
    outbox_deliver(firm_id=cases.firm.pk)
    from casebridge.cases.models import Cost

    cost = Cost.objects.filter(case=settled.case).order_by("pk").first()
    assert cost is not None
    check = Check.objects.get(firm=books.firm, external_ref=f"cases-cost-{cost.pk}")
    books_checks.check_void(firm=books.firm, actor=books.admin, check_id=check.pk)
    from casebridge.bridge.services.status_sync import check_status_sync

    check_status_sync(firm=cases.firm, actor=cases.admin)
    cost.refresh_from_db()
    assert cost.status == "void"
    run = _run(cases)
    diff = run.found.get()
    assert (diff.kind, diff.subject, diff.cases_cents, diff.books_cents) == (
        "invoice",
        "Fee invoice line repaying the cost of 2026-11-02 to Records Inc for $5,000.00",
        0,
        cost.amount_cents,
    )
    assert diff.cause.startswith(
        "The fee invoice repaid $5,000.00 from the client's trust for that cost, which has "
        "since been voided"
    )
    assert not re.search(r"cost \d", diff.subject + diff.cause)  # no internal id
