"""Two users pushing disbursements for the same case at the same moment cannot overdraw the
file's trust; two delivery runs, two clicks on Create fee invoice and two check requests
racing in the books each leave one of everything.

On PostgreSQL, where the row locks are real: each thread has its own connection and
commits for real, released together by a barrier (``at_the_same_moment`` of the cases
side's concurrency tests). The books are pytest-django's live server (threaded), reached
over real HTTP, as in production.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Sum

from casebridge.books.models import Check, Invoice, Posting, TrustLedger, TrustReceipt
from casebridge.bridge.client import BooksRejected, CheckRequest
from casebridge.bridge.errors import Conflict
from casebridge.bridge.models import (
    CaseLink,
    Connection,
    FeeInvoice,
    InvoiceRelease,
    OutboxItem,
    OutboxKind,
    OutboxState,
    TrustItemLink,
)
from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.services import delivery
from casebridge.bridge.services import settlement as bridge_settlement
from casebridge.cases.errors import Locked
from casebridge.cases.models import TrustItem, TrustItemKind
from casebridge.cases.services import firms, settlement
from casebridge.core import clock
from casebridge.core.models import AuditEvent
from tests.cases.helpers import deposit, offer
from tests.cases.test_concurrency import at_the_same_moment, one_ok_one_error
from tests.clockwork import PATIENCE

from .conftest import PASSWORD, activate
from .faultproxy import Fault, FaultProxy
from .test_settlement_faults import AFTER_CHECKS, INVOICED, _ready_to_push
from .test_settlement_to_books import _books_trust, _every_entry_balances, _settle_to_disbursement

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises every writer, so there is no race to test",
    ),
    pytest.mark.django_db(transaction=True),
]


# --- Fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture
def proxy(live_server) -> Iterator[FaultProxy]:
    with FaultProxy(live_server.url) as p:
        yield p


@pytest.fixture
def conn(books, cases, proxy) -> Connection:
    """Activated through the proxy (which only forwards unless a test programs it)."""
    return activate(
        dataclasses.replace(books, url=proxy.books_url), cases, release=InvoiceRelease.AUTOMATIC
    )


@pytest.fixture
def dana(cases):
    """A second person who handles settlements."""
    return firms.user_create(
        firm=cases.firm,
        actor=None,
        email="dana@lopez.test",
        password=PASSWORD,
        first_name="Dana",
        last_name="Deposit",
        perm_deposit_settlement=True,
        perm_costs_management=True,
    )


def _deliver(cases) -> delivery.DeliveryReport:
    return delivery.outbox_deliver(firm_id=cases.firm.pk)


def _lowest_trust(books) -> int:
    """The file's trust after each journal entry, in the order they were posted (the trust
    ledger's lock makes id order the commit order): its lowest point."""
    running = lowest = 0
    for credit, debit in (
        Posting.objects.filter(entry__firm=books.firm, trust_ledger__isnull=False)
        .order_by("entry_id", "pk")
        .values_list("credit_cents", "debit_cents")
    ):
        running += credit - debit
        lowest = min(lowest, running)
    return lowest


def _trust_checks_once(books, cases) -> None:
    """One trust check in the books per payment made by check, linked to it."""
    paid = TrustItem.objects.filter(
        case=cases.case, kind__in=(TrustItemKind.LIEN, TrustItemKind.CLIENT)
    ).order_by("pk")
    checks = Check.objects.filter(firm=books.firm, bank_account=books.trust)
    assert sorted(checks.values_list("external_ref", "payee", "amount_cents")) == sorted(
        (f"cases-trust-item-{i.pk}", i.payee_name, i.amount_cents) for i in paid
    )
    assert dict(
        TrustItemLink.objects.filter(trust_item__case=cases.case).values_list(
            "external_ref", "books_check_id"
        )
    ) == dict(checks.values_list("external_ref", "pk"))


# --- (a) Two users pushing to disbursement -------------------------------------------------------


def test_two_users_pushing_to_disbursement_at_once_queue_the_checks_once(books, cases, conn, dana):
    case = _ready_to_push(cases, lambda: _deliver(cases), receipt_first=True)
    assert _books_trust(books) == 25_000_000

    outcomes = at_the_same_moment(
        lambda: settlement.push_to_disbursement(
            firm=cases.firm, actor=cases.admin, case_id=case.pk
        ),
        lambda: settlement.push_to_disbursement(firm=cases.firm, actor=dana, case_id=case.pk),
    )

    error = one_ok_one_error(outcomes)
    assert type(error) is Locked
    assert error.message == (
        f"case {case.number} has been pushed to disbursement; its settlement is locked"
    )
    assert [value for kind, value in outcomes if kind == "ok"] == [5]
    winner = cases.admin if outcomes[0][0] == "ok" else dana
    # one set of trust check requests, queued by the user whose push went through
    items = list(OutboxItem.objects.filter(kind=OutboxKind.TRUST_CHECK).order_by("pk"))
    assert [(i.payload["payee"], i.payload["amount_cents"]) for i in items] == [
        ("Valley Medical", 3_000_000),
        ("Blue Shield", 1_500_000),
        ("Maria Lopez", 11_317_500),
    ]
    assert {i.created_by_id for i in items} == {winner.pk}
    assert TrustItemLink.objects.count() == 3
    assert AuditEvent.objects.filter(system="cases", action="push_to_disbursement").count() == 1

    report = _deliver(cases)
    assert (report.sent, report.failed) == (3, 0)
    _trust_checks_once(books, cases)
    assert _books_trust(books) == AFTER_CHECKS
    assert list(
        TrustLedger.objects.filter(file__firm=books.firm).values_list("balance_cents", flat=True)
    ) == [AFTER_CHECKS]
    assert _lowest_trust(books) == 0  # before the receipt; never below
    _every_entry_balances(books)
    assert set(OutboxItem.objects.values_list("state", flat=True)) == {OutboxState.SENT}


# --- (b) Two delivery runs -----------------------------------------------------------------------


def test_two_delivery_runs_started_at_once_send_every_check_once(books, cases, conn, proxy):
    case = _ready_to_push(cases, lambda: _deliver(cases), receipt_first=True)
    assert settlement.push_to_disbursement(firm=cases.firm, actor=cases.admin, case_id=case.pk) == 5

    # the run that takes the firm's lease is held in its first request to the books until
    # the other run has returned: the two truly overlap
    returned = threading.Event()
    overlapped: list[bool] = []
    proxy.add(
        "POST",
        "/checks/batch",
        Fault.CALL_BEFORE,
        nth=1,
        callback=lambda: overlapped.append(returned.wait(timeout=PATIENCE)),
    )

    def run() -> delivery.DeliveryReport:
        try:
            return _deliver(cases)
        finally:
            returned.set()

    outcomes = at_the_same_moment(run, run)
    proxy.settle()

    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    assert overlapped == [True]
    reports = sorted((r.sent, r.failed, r.passes) for _, r in outcomes)
    assert reports == [(0, 0, 0), (3, 0, 1)]  # the second run found the firm's run taken
    assert proxy.count("POST", "/checks/batch") == 2  # the costs' batch, then this one
    _trust_checks_once(books, cases)
    assert _books_trust(books) == AFTER_CHECKS
    assert _lowest_trust(books) == 0
    _every_entry_balances(books)
    assert set(OutboxItem.objects.values_list("state", flat=True)) == {OutboxState.SENT}


def test_a_run_whose_lease_ran_out_mid_request_and_the_run_that_took_over(
    books, cases, conn, proxy, monkeypatch
):
    """Run A's request is held on its way to the books; meanwhile its leases run out and run
    B takes the firm and the items over and sends them. A's request then reaches the books
    too: nothing is written twice, and A settles nothing that is no longer its own."""
    case = _ready_to_push(cases, lambda: _deliver(cases), receipt_first=True)
    assert settlement.push_to_disbursement(firm=cases.firm, actor=cases.admin, case_id=case.pk) == 5
    held, go = threading.Event(), threading.Event()
    # A keeps two batches in flight: while its first is held, it claims again (nothing: the
    # case is in flight) and waits. Its leases run out only once it waits (a live run that
    # claims renews them).
    a_waits = threading.Event()
    claim = delivery.claim

    def claim_and_tell(firm_id: int, limit: int) -> list[OutboxItem]:
        items = claim(firm_id, limit)
        if not items and threading.current_thread() is thread:
            a_waits.set()
        return items

    monkeypatch.setattr(delivery, "claim", claim_and_tell)

    def hold_a() -> None:
        held.set()
        assert go.wait(timeout=PATIENCE)

    proxy.add("POST", "/checks/batch", Fault.CALL_BEFORE, nth=1, callback=hold_a)
    run_a: list[delivery.DeliveryReport] = []

    def a() -> None:
        try:
            run_a.append(_deliver(cases))
        finally:
            connection.close()

    thread = threading.Thread(target=a)
    thread.start()
    try:
        assert held.wait(timeout=PATIENCE)
        assert a_waits.wait(timeout=PATIENCE)
        Connection.objects.filter(firm=cases.firm).update(
            delivery_lease_until=clock.now() - timedelta(seconds=1)
        )
        OutboxItem.objects.filter(state=OutboxState.SENDING).update(
            lease_until=clock.now() - timedelta(seconds=1)
        )
        run_b = _deliver(cases)
    finally:
        go.set()
        thread.join(timeout=PATIENCE)
    proxy.settle()

    assert not thread.is_alive()
    assert (run_b.sent, run_b.failed, run_b.passes) == (3, 0, 1)
    [report_a] = run_a
    assert (report_a.sent, report_a.failed, report_a.retrying) == (0, 0, 0)
    # A's request went after B's, with the same items, hence the same key: replayed
    assert [s.status for s in proxy.seen if s.path.endswith("/checks/batch")] == [201, 201, 201]
    assert (
        list(OutboxItem.objects.filter(kind="trust_check").values_list("state", "attempts"))
        == [(OutboxState.SENT, 2)] * 3
    )
    _trust_checks_once(books, cases)
    assert _books_trust(books) == AFTER_CHECKS
    assert _lowest_trust(books) == 0
    _every_entry_balances(books)


def test_two_workers_claiming_at_once_never_share_an_item(books, cases, conn):
    """Below the run's lease, the guarded claim itself: two workers claiming the same due
    items at the same moment (a lease taken over) split them, never both take one."""
    case = _ready_to_push(cases, lambda: _deliver(cases), receipt_first=True)
    assert settlement.push_to_disbursement(firm=cases.firm, actor=cases.admin, case_id=case.pk) == 5

    outcomes = at_the_same_moment(
        lambda: delivery.claim(cases.firm.pk, 10), lambda: delivery.claim(cases.firm.pk, 10)
    )

    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    claimed = [[i.pk for i in items] for _, items in outcomes]
    ids = sorted(OutboxItem.objects.filter(kind="trust_check").values_list("pk", flat=True))
    assert sorted(claimed, key=len) == [[], ids]
    [winner] = [items for _, items in outcomes if items]
    assert set(OutboxItem.objects.filter(pk__in=ids).values_list("state", "claim", "attempts")) == {
        (OutboxState.SENDING, winner[0].claim, 1)
    }


# --- (c) Two users clicking Create fee invoice ---------------------------------------------------


def _race_past_the_checks(monkeypatch) -> None:
    """Both clicks pass every check (and their questions to the books) before either
    writes: the race is where the invoice is queued."""
    both_checked = threading.Barrier(2)
    original = bridge_settlement._queue_invoices

    def checked_then_queue(*args, **kwargs):
        both_checked.wait(timeout=PATIENCE)
        return original(*args, **kwargs)

    monkeypatch.setattr(bridge_settlement, "_queue_invoices", checked_then_queue)


def _two_clicks(cases, dana):
    return at_the_same_moment(
        lambda: bridge_settlement.fee_invoice_create(
            firm=cases.firm, actor=cases.admin, case_id=cases.case.pk
        ),
        lambda: bridge_settlement.fee_invoice_create(
            firm=cases.firm, actor=dana, case_id=cases.case.pk
        ),
    )


def test_two_users_creating_the_fee_invoice_at_once_make_one(books, cases, conn, dana, monkeypatch):
    settled = _settle_to_disbursement(books, cases)
    _race_past_the_checks(monkeypatch)

    outcomes = _two_clicks(cases, dana)

    error = one_ok_one_error(outcomes)
    assert type(error) is Conflict
    [made] = [value for kind, value in outcomes if kind == "ok"]
    fee_invoice = FeeInvoice.objects.get()
    assert (fee_invoice.pk, fee_invoice.total_cents) == (made.pk, INVOICED)
    [item] = OutboxItem.objects.filter(kind=OutboxKind.FEE_INVOICE)
    assert (item.fee_invoice_id, item.state) == (fee_invoice.pk, OutboxState.QUEUED)
    assert AuditEvent.objects.filter(system="bridge", action="fee_invoice").count() == 1

    assert _deliver(cases).sent == 1
    invoice = Invoice.objects.get(firm=books.firm)
    assert (invoice.external_ref, invoice.stage, invoice.total_cents) == (
        fee_invoice.external_ref,
        "final",
        INVOICED,
    )
    assert _books_trust(books) == 0
    assert _lowest_trust(books) == 0
    _every_entry_balances(books)
    assert CaseLink.objects.get(case=settled.case).books_file_id == invoice.file_id


def test_a_single_and_a_bulk_create_fee_invoice_at_once_make_one(
    books, cases, conn, dana, monkeypatch
):
    """One user clicks Create fee invoice on the case, the other ticks it among many and
    uses the bulk action: one invoice, and the bulk action names the case it refused."""
    _settle_to_disbursement(books, cases)
    _race_past_the_checks(monkeypatch)
    case_id = cases.case.pk

    single, bulk = at_the_same_moment(
        lambda: bridge_settlement.fee_invoice_create(
            firm=cases.firm, actor=cases.admin, case_id=case_id
        ),
        lambda: bridge_settlement.fee_invoices_create(
            firm=cases.firm, actor=dana, case_ids=[case_id]
        ),
    )

    fee_invoice = FeeInvoice.objects.get()
    assert bulk[0] == "ok", bulk
    batch = bulk[1]
    if single[0] == "ok":
        assert single[1].pk == fee_invoice.pk
        assert (batch.created, batch.refused) == (
            [],
            {case_id: "another user created this case's fee invoice at the same moment; reload"},
        )
    else:
        assert type(single[1]) is Conflict
        assert ([i.pk for i in batch.created], batch.refused) == ([fee_invoice.pk], {})
    assert OutboxItem.objects.filter(kind=OutboxKind.FEE_INVOICE).count() == 1
    assert _deliver(cases).sent == 1
    assert list(Invoice.objects.filter(firm=books.firm).values_list("external_ref", "stage")) == [
        (fee_invoice.external_ref, "final")
    ]
    assert _books_trust(books) == 0


def test_the_second_click_is_told_another_user_created_the_fee_invoice(
    books, cases, conn, dana, monkeypatch
):
    _settle_to_disbursement(books, cases)
    _race_past_the_checks(monkeypatch)

    error = one_ok_one_error(_two_clicks(cases, dana))

    assert type(error) is Conflict
    assert (error.message, error.field) == (
        "another user created this case's fee invoice at the same moment; reload",
        "case",
    )


# --- (d) Two check requests racing in the books --------------------------------------------------


def test_two_trust_check_batches_beyond_the_balance_sent_at_once_one_is_refused(books, cases, conn):
    accepted = offer(cases.firm, cases.admin, cases.case, 1_000_000)
    deposit(cases.firm, cases.admin, cases.case, accepted, 1_000_000)
    assert _deliver(cases).sent == 1
    file_id = CaseLink.objects.get(case=cases.case).books_file_id
    assert TrustReceipt.objects.get().amount_cents == 1_000_000

    def request(n: int):
        client = conn_services.client_for(conn)
        try:
            return client.checks_request(
                [
                    CheckRequest(
                        external_ref=f"race-{n}",
                        bank_account_id=books.trust.pk,
                        payee=f"Lienholder {n}",
                        amount_cents=600_000,
                        file_id=file_id,
                        activity_code_id=None,
                    )
                ],
                idempotency_key=f"race-batch-{n}",
            )
        finally:
            client.close()

    outcomes = at_the_same_moment(lambda: request(1), lambda: request(2))

    error = one_ok_one_error(outcomes)
    assert isinstance(error, BooksRejected)
    number = TrustLedger.objects.get().file.number
    assert (error.status, error.code, error.field) == (409, "insufficient_trust_funds", "items[0]")
    assert error.message == (
        f"items[0]: file {number} has $4,000.00 available in trust; $6,000.00 was requested"
    )
    [(_, [check])] = [(k, v) for k, v in outcomes if k == "ok"]
    assert list(
        Check.objects.filter(firm=books.firm).values_list("pk", "amount_cents", "external_ref")
    ) == [(check.id, 600_000, check.external_ref)]
    assert TrustLedger.objects.get().balance_cents == 400_000
    assert (
        Posting.objects.filter(entry__firm=books.firm, trust_ledger__isnull=False).aggregate(
            s=Sum("credit_cents") - Sum("debit_cents")
        )["s"]
        == 400_000
    )
    assert _lowest_trust(books) == 0
    _every_entry_balances(books)
