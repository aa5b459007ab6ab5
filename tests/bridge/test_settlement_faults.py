"""Settlement money reaches the books exactly once under faults: the deposit's trust
receipt, the trust check requests of the payments pushed to disbursement, and the fee
invoice paid from trust.

As in ``test_faults.py``, the bridge reaches the books (pytest-django's live server) over
real HTTP through a :class:`~tests.bridge.faultproxy.FaultProxy` that refuses, fails, loses
answers after the books committed, answers too late, and lapses the token mid-run. Nothing
in the client is mocked; time passing (the backoff, a lease running out) is a database
update, never a sleep.

The figures are the worked settlement of ``test_settlement_to_books.py``: 250,000.00
deposited; liens of 30,000.00 and 15,000.00 and the client's 113,175.00 paid by trust
checks, leaving 91,825.00 (the fee 83,325.00 and 8,500.00 of costs reimbursed) for the fee
invoice, after which the file's trust is 0.00.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import pytest

from casebridge.books.models import (
    Check,
    IntegrationToken,
    Invoice,
    JournalEntry,
    TrustLedger,
    TrustReceipt,
)
from casebridge.books.services import checks as books_checks
from casebridge.books.services import files as books_files
from casebridge.books.services import invoices as books_invoices
from casebridge.books.services.maintenance import ledger_integrity_check
from casebridge.bridge.client import (
    CheckRequest,
    InvoiceLineRequest,
    InvoiceRequest,
    ReceiptRequest,
)
from casebridge.bridge.models import (
    CaseLink,
    Connection,
    DepositLink,
    FeeInvoice,
    InvoiceRelease,
    OutboxItem,
    OutboxKind,
    OutboxState,
    RunState,
    TrustItemLink,
)
from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.services import delivery, outbox
from casebridge.bridge.services import settlement as bridge_settlement
from casebridge.bridge.services.status_sync import check_status_sync
from casebridge.cases.models import Case, Cost, Deposit, TrustItem, TrustItemKind, TrustItemStatus
from casebridge.cases.services import settlement
from casebridge.core import clock
from tests.cases.helpers import deposit, lien, offer, stage
from tests.clockwork import time_stands_still

from .conftest import activate, add_cost, reauthenticate
from .faultproxy import Fault, FaultProxy
from .test_faults import _deliver, _time_passes, assert_ledger_balances
from .test_settlement_to_books import _books_trust, _every_entry_balances, _settle_to_disbursement

RECEIPTS = ("POST", "/trust-receipts/batch")
CHECKS = ("POST", "/checks/batch")
INVOICES = ("POST", "/invoices/batch")

DEPOSIT = 25_000_000
LIENS = (("Valley Medical", 3_000_000), ("Blue Shield", 1_500_000))
CLIENT_CHECK = 11_317_500
INVOICED = 8_332_500 + 850_000  # the fee, and the advanced costs reimbursed
#: The file's trust once the receipt and the three trust checks are in the books.
AFTER_CHECKS = DEPOSIT - 3_000_000 - 1_500_000 - CLIENT_CHECK

SETTLEMENT_KINDS = (OutboxKind.DEPOSIT_RECEIPT, OutboxKind.TRUST_CHECK, OutboxKind.FEE_INVOICE)


# --- Fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture
def proxy(live_server) -> Iterator[FaultProxy]:
    with FaultProxy(live_server.url) as p:
        yield p


@pytest.fixture
def small(settings):
    """Several requests per delivery, few attempts, a client that gives up quickly."""
    settings.BRIDGE_BATCH_SIZE = 2
    settings.BRIDGE_MAX_ATTEMPTS = 3
    settings.BRIDGE_HTTP_TIMEOUT = 5.0
    return settings


@pytest.fixture
def release() -> str:
    """How the fee invoice is released in the books (a test parametrizes it to review)."""
    return InvoiceRelease.AUTOMATIC


def _activate(books, cases, proxy: FaultProxy, small, release: str) -> Connection:
    """Activated through the proxy: every request of the bridge passes through it. At the
    default timeout: a fresh live server's first answers may be slow on a busy machine."""
    timeout, small.BRIDGE_HTTP_TIMEOUT = small.BRIDGE_HTTP_TIMEOUT, 30.0
    try:
        return activate(dataclasses.replace(books, url=proxy.books_url), cases, release=release)
    finally:
        small.BRIDGE_HTTP_TIMEOUT = timeout


@pytest.fixture
def conn(books, cases, proxy, small, release) -> Connection:
    return _activate(books, cases, proxy, small, release)


def _ready_to_push(
    cases, deliver: Callable[[], delivery.DeliveryReport], *, receipt_first: bool = False
) -> Case:
    """The worked settlement up to Push to Client Trust: the costs sent and delivered, the
    settlement deposited (its receipt delivered too with ``receipt_first``), the liens, the
    fee and the costs staged, and the client's check the remainder."""
    firm, admin, case = cases.firm, cases.admin, cases.case
    costs = [add_cost(cases, 500_000, code="E112"), add_cost(cases, 350_000, payee="Dr. Wu")]
    outbox.costs_send(firm=firm, actor=admin, cost_ids=[c.pk for c in costs])
    assert deliver().sent == 2
    accepted = offer(firm, admin, case, DEPOSIT)
    deposit(firm, admin, case, accepted, DEPOSIT, check="88123")
    if receipt_first:
        assert deliver().sent == 1
    for holder, cents in LIENS:
        final = lien(firm, admin, case, cents + 100_000, final=cents, holder=holder)
        stage(firm, admin, case, "lien", of=final)
    stage(firm, admin, case, "fee")
    stage(firm, admin, case, "cost_reimbursement")
    client_check = settlement.push_to_client_trust(
        firm=firm, actor=admin, case_id=case.pk, payee_name="Maria Lopez"
    )
    assert client_check is not None
    assert client_check.amount_cents == CLIENT_CHECK
    return case


def _pushed(cases, proxy: FaultProxy, *, receipt_first: bool = False) -> Case:
    """:func:`_ready_to_push`, then Push to Disbursement, with the delivery of what it
    queued left to the test (``_settle_to_disbursement`` delivers everything at once, which
    these tests fault): the trust check requests (and the receipt, unless
    ``receipt_first``) are queued."""
    case = _ready_to_push(cases, lambda: _deliver(cases, proxy), receipt_first=receipt_first)
    assert settlement.push_to_disbursement(firm=cases.firm, actor=cases.admin, case_id=case.pk) == 5
    queued = [("trust_check", "queued", 0)] * 3
    if receipt_first:
        assert _settlement_states() == [("deposit_receipt", "sent", 1), *queued]
    else:
        assert _settlement_states() == [("deposit_receipt", "queued", 0), *queued]
    return case


def _settlement_states() -> list[tuple[str, str, int]]:
    """(kind, state, attempts) of every settlement item, in id order."""
    return list(
        OutboxItem.objects.filter(kind__in=SETTLEMENT_KINDS)
        .order_by("pk")
        .values_list("kind", "state", "attempts")
    )


def _fee_invoice_create(cases) -> FeeInvoice:
    fee_invoice = bridge_settlement.fee_invoice_create(
        firm=cases.firm, actor=cases.admin, case_id=cases.case.pk
    )
    assert fee_invoice.total_cents == INVOICED
    return fee_invoice


def _day_30(books) -> None:
    """The books' token lapses (the books answer 401 reauthentication_required from now)."""
    IntegrationToken.objects.filter(user=books.integration).update(
        expires_at=clock.now() - timedelta(minutes=1)
    )


def _leases_run_out() -> None:
    """The dead worker's leases run out (what waiting would do)."""
    OutboxItem.objects.filter(state=OutboxState.SENDING).update(
        lease_until=clock.now() - timedelta(seconds=1)
    )


def _reauthenticate(cases) -> None:
    assert reauthenticate(cases).state == RunState.DONE
    view = conn_services.connection_view(Connection.objects.get(firm=cases.firm))
    assert (view.needs_reauth, view.connected) == (False, True)


def _invoice_posts(proxy: FaultProxy) -> list[int | None]:
    """What the books answered to each POST /invoices/batch (None: not forwarded)."""
    return [
        s.status
        for s in proxy.seen
        if (s.method, s.path) == ("POST", "/books/api/v1/invoices/batch")
    ]


def assert_settled_once(books, cases, *, trust_cents: int, invoice_stage: str) -> None:
    """Every receipt, trust check and invoice in the books exactly once (counted by
    external_ref in the books' own tables) and linked on the cases side; one journal entry
    per document; every entry balanced; the maintained balances equal their postings; the
    file's trust exactly ``trust_cents``; every outbox item sent."""
    case = cases.case
    deposits = list(Deposit.objects.filter(case=case))
    receipts = list(TrustReceipt.objects.filter(firm=books.firm).order_by("pk"))
    assert [(r.external_ref, r.amount_cents, r.status) for r in receipts] == [
        (f"cases-deposit-{d.pk}", d.amount_cents, "posted") for d in deposits
    ]
    assert [DepositLink.objects.get(deposit=d).books_receipt_id for d in deposits] == [
        r.pk for r in receipts
    ]

    paid_by_check = TrustItem.objects.filter(
        case=case, kind__in=(TrustItemKind.LIEN, TrustItemKind.CLIENT)
    ).order_by("pk")
    trust_checks = list(Check.objects.filter(firm=books.firm, bank_account=books.trust))
    assert sorted((c.external_ref, c.payee, c.amount_cents) for c in trust_checks) == sorted(
        (f"cases-trust-item-{i.pk}", i.payee_name, i.amount_cents) for i in paid_by_check
    )
    assert len(trust_checks) == 3
    by_ref = {c.external_ref: c.pk for c in trust_checks}
    assert {
        link.external_ref: link.books_check_id
        for link in TrustItemLink.objects.filter(trust_item__case=case)
    } == by_ref
    cost_checks = Check.objects.filter(firm=books.firm, bank_account=books.operating)
    assert sorted(cost_checks.values_list("external_ref", flat=True)) == sorted(
        f"cases-cost-{pk}" for pk in Cost.objects.filter(case=case).values_list("pk", flat=True)
    )

    [invoice] = Invoice.objects.filter(firm=books.firm)
    [fee_invoice] = FeeInvoice.objects.filter(case=case)
    assert (invoice.external_ref, invoice.stage, invoice.total_cents, invoice.pay_from_trust) == (
        fee_invoice.external_ref,
        invoice_stage,
        INVOICED,
        True,
    )
    assert (fee_invoice.books_invoice_id, fee_invoice.stage) == (invoice.pk, invoice_stage)

    # one entry per document: the costs' and trust checks, the receipt, the invoice if final
    sources = Counter(JournalEntry.objects.filter(firm=books.firm).values_list("source", flat=True))
    assert sources == Counter(
        {"check": 2 + 3, "trust_receipt": 1, **({"invoice": 1} if invoice_stage == "final" else {})}
    )
    _every_entry_balances(books)
    assert_ledger_balances(books)
    assert ledger_integrity_check(firm=books.firm).problems == []
    assert _books_trust(books) == trust_cents
    assert list(
        TrustLedger.objects.filter(file__firm=books.firm).values_list("balance_cents", flat=True)
    ) == [trust_cents]
    assert set(OutboxItem.objects.values_list("state", flat=True)) == {OutboxState.SENT}


# --- The books down, then back -------------------------------------------------------------------


def test_books_down_then_back_every_settlement_item_lands_once(books, cases, conn, proxy):
    _pushed(cases, proxy)
    proxy.down()

    # the backoff may be as short as a second: time stands still until the test says
    with time_stands_still() as now:
        report = _deliver(cases, proxy)
        assert (report.sent, report.retrying, report.failed) == (0, 1, 0)
        # the trust checks wait behind the receipt: none is tried before the money is in trust
        assert _settlement_states() == [
            ("deposit_receipt", "queued", 1),
            *[("trust_check", "queued", 0)] * 3,
        ]
        receipt_item = OutboxItem.objects.get(kind=OutboxKind.DEPOSIT_RECEIPT)
        assert receipt_item.error_code == "books_unreachable"
        assert receipt_item.error_message == (
            "Attempt 1 failed: the books did not answer as a Casebridge books API"
        )
        assert receipt_item.next_attempt_at >= now + timedelta(seconds=1)
        assert _deliver(cases, proxy).passes == 0  # nothing due while the receipt backs off
    _time_passes()
    assert _deliver(cases, proxy).retrying == 1
    assert _settlement_states()[0] == ("deposit_receipt", "queued", 2)
    assert not TrustReceipt.objects.exists()

    proxy.up()
    _time_passes()
    report = _deliver(cases, proxy)
    assert (report.sent, report.retrying, report.failed) == (4, 0, 0)
    assert _books_trust(books) == AFTER_CHECKS

    _fee_invoice_create(cases)
    proxy.down()
    report = _deliver(cases, proxy)
    assert (report.sent, report.retrying, report.failed) == (0, 1, 0)
    assert _settlement_states()[-1] == ("fee_invoice", "queued", 1)
    proxy.up()
    _time_passes()
    assert _deliver(cases, proxy).sent == 1
    assert _settlement_states() == [
        ("deposit_receipt", "sent", 3),
        *[("trust_check", "sent", 1)] * 3,
        ("fee_invoice", "sent", 2),
    ]
    assert_settled_once(books, cases, trust_cents=0, invoice_stage="final")


# --- 500s ----------------------------------------------------------------------------------------


def test_books_answering_500_twice_then_ok(books, cases, conn, proxy):
    """Each settlement endpoint fails twice (the books saw nothing); with three attempts
    allowed every item lands on its last one at the latest, once."""
    _pushed(cases, proxy)
    proxy.add(*RECEIPTS, Fault.ERROR_500, times=2)
    proxy.add(*CHECKS, Fault.ERROR_500, times=2)

    reports = []
    for _ in range(5):
        report = _deliver(cases, proxy)
        reports.append((report.sent, report.retrying, report.failed))
        _time_passes()
    # the receipt twice refused; then it goes and the first trust check's batch is refused
    # twice; then everything goes
    assert reports == [(0, 1, 0), (0, 1, 0), (1, 1, 0), (0, 2, 0), (3, 0, 0)]
    assert _settlement_states() == [
        ("deposit_receipt", "sent", 3),
        ("trust_check", "sent", 3),
        ("trust_check", "sent", 2),
        ("trust_check", "sent", 1),
    ]
    assert (proxy.count(*RECEIPTS), proxy.count(*CHECKS)) == (
        3,
        1 + 2 + 2,
    )  # the costs' batch, 2 refused, 2 sent
    assert _books_trust(books) == AFTER_CHECKS

    _fee_invoice_create(cases)
    proxy.add(*INVOICES, Fault.ERROR_500, times=2)
    assert _deliver(cases, proxy).retrying == 1
    _time_passes()
    assert _deliver(cases, proxy).retrying == 1
    _time_passes()
    assert _deliver(cases, proxy).sent == 1
    assert _invoice_posts(proxy) == [None, None, 201]
    assert_settled_once(books, cases, trust_cents=0, invoice_stage="final")


def test_500_on_every_attempt_fails_the_fee_invoice_then_retry_sends_it_once(
    books, cases, conn, proxy
):
    _settle_to_disbursement(books, cases)
    _fee_invoice_create(cases)
    proxy.add(*INVOICES, Fault.ERROR_500, message="Ledger maintenance in progress.")

    for _ in range(3):  # BRIDGE_MAX_ATTEMPTS
        _deliver(cases, proxy)
        _time_passes()
    item = OutboxItem.objects.get(kind=OutboxKind.FEE_INVOICE)
    # a 5xx is never a refusal to act on: its text is not repeated (issue 13)
    assert (item.state, item.attempts, item.error_code) == ("failed", 3, "books_unreachable")
    assert item.error_message == (
        "Gave up after 3 attempts: the books did not answer as a Casebridge books API"
    )
    assert _deliver(cases, proxy).passes == 0
    assert not Invoice.objects.exists()
    assert FeeInvoice.objects.get().books_invoice_id is None
    assert _books_trust(books) == AFTER_CHECKS

    proxy.clear()
    assert outbox.items_retry(firm=cases.firm, actor=cases.admin) == 1
    assert _deliver(cases, proxy).sent == 1
    assert _invoice_posts(proxy) == [None, None, None, 201]
    assert_settled_once(books, cases, trust_cents=0, invoice_stage="final")


# --- An answer lost after the books committed ----------------------------------------------------


@pytest.mark.parametrize("fault", [Fault.LOSE_RESPONSE, Fault.BAD_GATEWAY_AFTER])
@pytest.mark.parametrize("regrouped", [False, True], ids=["same-batch", "regrouped"])
def test_a_trust_check_batch_whose_answer_was_lost_links_the_same_checks(
    books, cases, conn, proxy, settings, fault, regrouped
):
    _pushed(cases, proxy, receipt_first=True)
    proxy.add(*CHECKS, fault, nth=1)

    report = _deliver(cases, proxy)
    assert (report.sent, report.retrying) == (0, 2)
    landed = list(
        Check.objects.filter(bank_account=books.trust)
        .order_by("pk")
        .values_list("pk", "external_ref", "amount_cents")
    )
    assert [(ref, cents) for _, ref, cents in landed] == [
        (f"cases-trust-item-{pk}", cents)
        for pk, cents in TrustItem.objects.filter(kind=TrustItemKind.LIEN)
        .order_by("pk")
        .values_list("pk", "amount_cents")
    ]
    assert not TrustItemLink.objects.filter(books_check_id__isnull=False).exists()
    assert _books_trust(books) == DEPOSIT - 4_500_000  # the books hold both liens' checks

    if regrouped:  # another batching: another idempotency key, found again by external_ref
        settings.BRIDGE_BATCH_SIZE = 4
    _time_passes()
    report = _deliver(cases, proxy)
    assert (report.sent, report.retrying, report.failed) == (3, 0, 0)
    for pk, ref, _ in landed:
        assert TrustItemLink.objects.get(external_ref=ref).books_check_id == pk
    assert _books_trust(books) == AFTER_CHECKS

    _fee_invoice_create(cases)
    assert _deliver(cases, proxy).sent == 1
    assert_settled_once(books, cases, trust_cents=0, invoice_stage="final")


def test_a_receipt_whose_answer_was_lost_is_found_again(books, cases, conn, proxy):
    _pushed(cases, proxy)
    proxy.add(*RECEIPTS, Fault.LOSE_RESPONSE, nth=1)
    report = _deliver(cases, proxy)
    assert (report.sent, report.retrying) == (0, 1)
    assert TrustReceipt.objects.count() == 1  # it landed; the answer did not
    assert DepositLink.objects.get().books_receipt_id is None
    assert not Check.objects.filter(bank_account=books.trust).exists()

    _time_passes()
    assert _deliver(cases, proxy).sent == 4
    _fee_invoice_create(cases)
    assert _deliver(cases, proxy).sent == 1
    assert_settled_once(books, cases, trust_cents=0, invoice_stage="final")


@pytest.mark.parametrize("fault", [Fault.LOSE_RESPONSE, Fault.BAD_GATEWAY_AFTER])
def test_a_fee_invoice_whose_answer_was_lost_is_linked_once(books, cases, conn, proxy, fault):
    settled = _settle_to_disbursement(books, cases)
    fee_invoice = _fee_invoice_create(cases)
    proxy.add(*INVOICES, fault, nth=1)

    report = _deliver(cases, proxy)
    assert (report.sent, report.retrying) == (0, 1)
    invoice = Invoice.objects.get()  # the books created and finalised it
    assert (invoice.stage, invoice.external_ref) == ("final", fee_invoice.external_ref)
    assert _books_trust(books) == 0
    fee_invoice.refresh_from_db()
    assert (fee_invoice.books_invoice_id, fee_invoice.stage) == (None, "")
    assert set(
        TrustItem.objects.filter(
            case=settled.case, kind__in=("fee", "cost_reimbursement")
        ).values_list("status", flat=True)
    ) == {TrustItemStatus.TO_BE_DISBURSED}

    _time_passes()
    assert _deliver(cases, proxy).sent == 1
    assert _invoice_posts(proxy) == [201, 201]  # the resend replayed the first answer
    assert set(
        TrustItem.objects.filter(
            case=settled.case, kind__in=("fee", "cost_reimbursement")
        ).values_list("status", "invoice_reference")
    ) == {(TrustItemStatus.DISBURSED, f"Invoice {invoice.number}")}
    assert_settled_once(books, cases, trust_cents=0, invoice_stage="final")


@pytest.mark.parametrize("release", [InvoiceRelease.REVIEW])
def test_a_fee_invoice_for_review_whose_answer_was_lost_is_released_once(
    books, cases, conn, proxy, release
):
    settled = _settle_to_disbursement(books, cases)
    fee_invoice = _fee_invoice_create(cases)
    proxy.add(*INVOICES, Fault.LOSE_RESPONSE, nth=1)

    assert _deliver(cases, proxy).retrying == 1
    invoice = Invoice.objects.get()
    assert invoice.stage == "review"
    _time_passes()
    assert _deliver(cases, proxy).sent == 1
    fee_invoice.refresh_from_db()
    assert (fee_invoice.books_invoice_id, fee_invoice.stage) == (invoice.pk, "review")
    assert_settled_once(books, cases, trust_cents=INVOICED, invoice_stage="review")

    # the accountant reviews and releases it in the books; the sync brings the stage back
    for stage_now in ("review", "release"):
        books_invoices.invoice_advance(
            firm=books.firm, actor=books.admin, invoice_id=invoice.pk, expected_stage=stage_now
        )
    run = check_status_sync(firm=cases.firm, actor=cases.admin)
    assert (run.error, run.invoices_final) == ("", 1)
    assert set(
        TrustItem.objects.filter(
            case=settled.case, kind__in=("fee", "cost_reimbursement")
        ).values_list("status", flat=True)
    ) == {TrustItemStatus.DISBURSED}
    assert _invoice_posts(proxy) == [201, 201]
    assert_settled_once(books, cases, trust_cents=0, invoice_stage="final")


# --- An answer slower than the client's timeout --------------------------------------------------


def test_a_trust_check_answer_slower_than_the_timeout_is_resent_and_linked(
    books, cases, conn, proxy
):
    _pushed(cases, proxy, receipt_first=True)
    # the answer is held until the proxy stops: beyond the client's timeout at any pace
    proxy.add(*CHECKS, Fault.SLOW_RESPONSE, nth=1, delay=600.0)
    report = _deliver(cases, proxy)  # the client gives up after its 5 s
    assert (report.sent, report.retrying) == (0, 2)
    assert [i.error_code for i in OutboxItem.objects.filter(kind="trust_check").order_by("pk")] == [
        "books_unreachable",  # a silent books reads as a closed one (issue 13)
        "books_unreachable",
        "",
    ]
    assert Check.objects.filter(bank_account=books.trust).count() == 2  # it landed, too late

    _time_passes()
    assert _deliver(cases, proxy).sent == 3
    _fee_invoice_create(cases)
    assert _deliver(cases, proxy).sent == 1
    assert_settled_once(books, cases, trust_cents=0, invoice_stage="final")


def test_a_fee_invoice_answer_slower_than_the_timeout_is_resent_and_linked(
    books, cases, conn, proxy
):
    _settle_to_disbursement(books, cases)
    _fee_invoice_create(cases)
    # the answer is held until the proxy stops: beyond the client's timeout at any pace
    proxy.add(*INVOICES, Fault.SLOW_RESPONSE, nth=1, delay=600.0)
    report = _deliver(cases, proxy)  # the client gives up after its 5 s
    assert (report.sent, report.retrying) == (0, 1)
    assert OutboxItem.objects.get(kind=OutboxKind.FEE_INVOICE).error_code == "books_unreachable"
    assert Invoice.objects.get().stage == "final"  # it landed, too late

    _time_passes()
    assert _deliver(cases, proxy).sent == 1
    assert_settled_once(books, cases, trust_cents=0, invoice_stage="final")


# --- A worker killed between send and acknowledgement --------------------------------------------


def test_a_worker_killed_after_sending_the_receipt_and_a_trust_check(
    books, cases, conn, proxy, stopped_clock
):
    case = _pushed(cases, proxy)
    stopped_clock()  # the leases hold until the test lets them run out, at any pace

    # the worker claims the receipt and the first trust check, sends both... and dies
    items = delivery.claim(cases.firm.pk, 2)
    assert [i.kind for i in items] == ["deposit_receipt", "trust_check"]
    receipt_item, check_item = items
    file_id = CaseLink.objects.get(case=case).books_file_id
    client = conn_services.client_for(conn)
    try:
        p = receipt_item.payload
        receipt = client.trust_receipt_record(
            ReceiptRequest(
                external_ref=p["external_ref"],
                bank_account_id=p["bank_account_id"],
                file_id=file_id,
                payer=p["payer"],
                amount_cents=p["amount_cents"],
                received_on=date.fromisoformat(p["received_on"]),
                reference=p["reference"],
                memo=p["memo"],
            ),
            idempotency_key="dead-worker-receipt",
        )
        p = check_item.payload
        (check,) = client.checks_request(
            [
                CheckRequest(
                    external_ref=p["external_ref"],
                    bank_account_id=p["bank_account_id"],
                    payee=p["payee"],
                    amount_cents=p["amount_cents"],
                    file_id=file_id,
                    activity_code_id=None,
                    memo=p["memo"],
                    posting_reference=p["posting_reference"],
                )
            ],
            idempotency_key="dead-worker-checks",
        )
    finally:
        client.close()
    assert (
        TrustReceipt.objects.count(),
        Check.objects.filter(bank_account=books.trust).count(),
    ) == (
        1,
        1,
    )

    # while the lease holds, nobody touches them, nor the case's later items
    assert _deliver(cases, proxy).passes == 0
    assert _settlement_states() == [
        ("deposit_receipt", "sending", 1),
        ("trust_check", "sending", 1),
        ("trust_check", "queued", 0),
        ("trust_check", "queued", 0),
    ]

    _leases_run_out()
    report = _deliver(cases, proxy)
    assert (report.sent, report.failed) == (4, 0)
    assert _settlement_states() == [
        ("deposit_receipt", "sent", 2),
        ("trust_check", "sent", 2),
        ("trust_check", "sent", 1),
        ("trust_check", "sent", 1),
    ]
    assert DepositLink.objects.get().books_receipt_id == receipt.id
    assert TrustItemLink.objects.get(trust_item_id=check_item.trust_item_id).books_check_id == (
        check.id
    )
    _fee_invoice_create(cases)
    assert _deliver(cases, proxy).sent == 1
    assert_settled_once(books, cases, trust_cents=0, invoice_stage="final")


def test_a_worker_killed_after_sending_the_fee_invoice(books, cases, conn, proxy, stopped_clock):
    settled = _settle_to_disbursement(books, cases)
    fee_invoice = _fee_invoice_create(cases)
    stopped_clock()  # the leases hold until the test lets them run out, at any pace

    [item] = delivery.claim(cases.firm.pk, 2)
    assert item.kind == OutboxKind.FEE_INVOICE
    p = item.payload
    client = conn_services.client_for(conn)
    try:
        sent = client.invoice_create(
            InvoiceRequest(
                external_ref=fee_invoice.external_ref,
                file_id=CaseLink.objects.get(case=settled.case).books_file_id,
                lines=tuple(
                    InvoiceLineRequest(
                        kind=ln["kind"],
                        description=ln["description"],
                        amount_cents=ln["amount_cents"],
                        timekeeper_id=books.attorney.pk if ln["kind"] == "fee" else None,
                        activity_code_id=ln["activity_code_id"],
                        external_ref=ln["source"],
                    )
                    for ln in fee_invoice.lines
                ),
                trust_bank_account_id=p["trust_bank_account_id"],
                operating_bank_account_id=p["operating_bank_account_id"],
                release=p["release"],
                description=p["description"],
            ),
            idempotency_key="dead-worker-invoice",
        )
    finally:
        client.close()
    assert sent.stage == "final"
    assert _books_trust(books) == 0

    assert _deliver(cases, proxy).passes == 0
    assert _settlement_states()[-1] == ("fee_invoice", "sending", 1)
    _leases_run_out()
    assert _deliver(cases, proxy).sent == 1
    # the takeover's own key was new to the books, which found the invoice again by its
    # external_ref (the same invoice: 200, nothing written)
    assert _invoice_posts(proxy) == [200]
    assert FeeInvoice.objects.get().books_invoice_id == sent.id
    assert _settlement_states()[-1] == ("fee_invoice", "sent", 2)
    assert_settled_once(books, cases, trust_cents=0, invoice_stage="final")


# --- The token lapsing at day 30 -----------------------------------------------------------------


def test_the_books_refusing_the_lapsed_token_mid_run_waits_then_everything_goes_once(
    books, cases, conn, proxy
):
    _pushed(cases, proxy)
    proxy.add(*CHECKS, Fault.CALL_BEFORE, nth=1, callback=lambda: _day_30(books))

    report = _deliver(cases, proxy)
    # the receipt went; the refused batch and everything still queued wait at once
    assert (report.sent, report.waiting, report.failed) == (1, 3, 0)
    assert [s.status for s in proxy.seen if s.path.endswith("/checks/batch")] == [201, 401]
    assert _settlement_states() == [
        ("deposit_receipt", "sent", 1),
        *[("trust_check", "waiting", 0)] * 3,
    ]
    waiting = OutboxItem.objects.filter(state=OutboxState.WAITING).first()
    assert waiting is not None
    assert waiting.error_code == "reauthentication_required"
    view = conn_services.connection_view(Connection.objects.get(firm=cases.firm))
    assert (view.needs_reauth, view.connected) == (True, False)
    assert _deliver(cases, proxy).waiting == 0  # nothing left to park
    assert _books_trust(books) == DEPOSIT

    _reauthenticate(cases)
    report = _deliver(cases, proxy)
    assert (report.sent, report.waiting, report.failed) == (3, 0, 0)
    assert _books_trust(books) == AFTER_CHECKS

    # thirty days on, the fee invoice meets the next lapse
    _fee_invoice_create(cases)
    proxy.add(*INVOICES, Fault.CALL_BEFORE, nth=1, callback=lambda: _day_30(books))
    report = _deliver(cases, proxy)
    assert (report.sent, report.waiting) == (0, 1)
    assert _invoice_posts(proxy) == [401]
    assert not Invoice.objects.exists()
    _reauthenticate(cases)
    assert _deliver(cases, proxy).sent == 1
    assert _invoice_posts(proxy) == [401, 201]
    assert _settlement_states() == [
        ("deposit_receipt", "sent", 1),
        *[("trust_check", "sent", 1)] * 3,
        ("fee_invoice", "sent", 1),
    ]
    assert_settled_once(books, cases, trust_cents=0, invoice_stage="final")


def test_the_connections_token_expiry_passing_mid_run_stops_it_until_reauthentication(
    books, cases, conn, proxy
):
    _pushed(cases, proxy)

    def day_30_on_the_bridges_clock() -> None:
        Connection.objects.filter(firm=cases.firm).update(
            token_expires_at=clock.now() - timedelta(minutes=1)
        )

    proxy.add(*RECEIPTS, Fault.CALL_BEFORE, nth=1, callback=day_30_on_the_bridges_clock)
    report = _deliver(cases, proxy)
    # the pass under way finishes (the books still took the token); no new pass starts
    assert (report.sent, report.waiting, report.passes) == (2, 0, 1)
    assert _settlement_states() == [
        ("deposit_receipt", "sent", 1),
        ("trust_check", "sent", 1),
        ("trust_check", "queued", 0),
        ("trust_check", "queued", 0),
    ]
    # the next run sends nothing and parks what is queued
    assert _deliver(cases, proxy).waiting == 2
    assert proxy.count(*CHECKS) == 2  # the costs' batch and the first trust check's
    view = conn_services.connection_view(Connection.objects.get(firm=cases.firm))
    assert view.needs_reauth is True

    _reauthenticate(cases)
    assert _deliver(cases, proxy).sent == 2
    _fee_invoice_create(cases)
    assert _deliver(cases, proxy).sent == 1
    assert_settled_once(books, cases, trust_cents=0, invoice_stage="final")


# --- A refusal in the middle of a batch ----------------------------------------------------------


def test_a_refused_trust_check_does_not_hold_back_the_earlier_one_of_its_batch(
    books, cases, proxy, small
):
    """The books hold less for the file than the cases side (a first deposit was recorded
    before activation and never sent): the client's check overdraws and is refused
    (items[1]); the lien's check before it in the same batch is fundable and must still go,
    since the case's order is kept (it is the earlier item)."""
    firm, admin, case = cases.firm, cases.admin, cases.case
    accepted = offer(firm, admin, case, 1_000_000)
    deposit(firm, admin, case, accepted, 600_000, check="A-1")  # before activation: never sent
    _activate(books, cases, proxy, small, InvoiceRelease.AUTOMATIC)
    deposit(firm, admin, case, accepted, 400_000, check="A-2")
    assert _deliver(cases, proxy).sent == 1
    stage(firm, admin, case, "lien", of=lien(firm, admin, case, 300_000, final=300_000))
    stage(firm, admin, case, "fee")  # 333,300 (on the invoice, not by check)
    client_check = settlement.push_to_client_trust(
        firm=firm, actor=admin, case_id=case.pk, payee_name="Maria Lopez"
    )
    assert client_check is not None
    assert client_check.amount_cents == 366_700
    assert settlement.push_to_disbursement(firm=firm, actor=admin, case_id=case.pk) == 3
    # the books hold 400,000.00: the lien's 300,000.00 fits, the two together do not

    first = _deliver(cases, proxy)
    refused = OutboxItem.objects.get(kind="trust_check", payload__payee="Maria Lopez")
    assert (refused.state, refused.error_code) == ("failed", "insufficient_trust_funds")
    second = _deliver(cases, proxy)  # the minute sweep
    assert (first.sent + second.sent, first.failed + second.failed) == (1, 1)
    assert OutboxItem.objects.get(kind="trust_check", payload__payee="Valley Medical").state == (
        OutboxState.SENT
    )
    assert list(
        Check.objects.filter(bank_account=books.trust).values_list("payee", "amount_cents")
    ) == [("Valley Medical", 300_000)]
    assert _books_trust(books) == 100_000


def test_a_refused_receipt_fails_alone_and_the_other_of_its_batch_goes_once(
    books, cases, proxy, small
):
    """A case's two deposits go in one ``POST /trust-receipts/batch``. The books already
    hold the second's external_ref for another deposit: the batch is refused naming
    items[1] (nothing written), that item fails with the books' reason, and the first goes
    again at once and is recorded exactly once."""
    firm, admin, case = cases.firm, cases.admin, cases.case
    _activate(books, cases, proxy, small, InvoiceRelease.AUTOMATIC)
    accepted = offer(firm, admin, case, 1_000_000)
    deposit(firm, admin, case, accepted, 600_000, check="A-1")
    second = deposit(firm, admin, case, accepted, 400_000, check="A-2")
    contact, _ = books_files.contact_find_or_create(
        firm=books.firm, actor=books.admin, name="Someone Else", external_ref="other-client"
    )
    other, _ = books_files.file_find_or_create(
        firm=books.firm,
        actor=books.admin,
        name="Another matter",
        client=contact,
        external_ref="other-file",
        opened_on=date(2026, 1, 2),
    )
    books_checks.trust_receipt_record(
        firm=books.firm,
        actor=books.admin,
        bank_account_id=books.trust.pk,
        file_id=other.pk,
        payer="Someone Else",
        amount_cents=1_000,
        external_ref=outbox.deposit_external_ref(second.pk),
    )

    first = _deliver(cases, proxy)
    again = _deliver(cases, proxy)
    assert (first.sent + again.sent, first.failed + again.failed) == (1, 1)
    assert [s.status for s in proxy.seen if s.path.endswith("/trust-receipts/batch")] == [
        409,
        201,
    ]
    refused = OutboxItem.objects.get(deposit_id=second.pk)
    assert (refused.state, refused.error_code) == ("failed", "external_ref_conflict")
    assert refused.error_message.startswith("items[1]: external_ref ")
    assert list(
        TrustReceipt.objects.filter(file__external_ref=f"cases-case-{case.pk}").values_list(
            "amount_cents", "reference"
        )
    ) == [(600_000, "A-1")]
    assert TrustReceipt.objects.filter(reference="A-1").count() == 1
    assert DepositLink.objects.get(deposit__check_number="A-1").books_receipt_id == (
        TrustReceipt.objects.get(reference="A-1").pk
    )
    assert DepositLink.objects.get(deposit=second).books_receipt_id is None
