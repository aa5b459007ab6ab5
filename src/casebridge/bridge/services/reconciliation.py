"""The reconciliation both sides agree on (issue 5): every figure the bridge carried to the
books, compared with what the books hold now, for the whole firm or one case.

- costs sent vs checks in the books (amount, status, number);
- deposits vs trust receipts (amount, voided on one side only; deposits never sent, such
  as those recorded before the integration was activated);
- payments pushed to disbursement vs trust checks (amount, status, number);
- fee invoices vs the books' invoices (total, stage);
- each linked case's trust (deposits less what trust paid out, less trust checks the books
  already hold but have not printed) vs the books' client ledger for its file;
- documents the books hold under a ``cases-`` reference that this side does not know.

Everything still on its way (an outbox item queued, sending or waiting) is counted as in
flight, not as a difference. Each difference names its cause and, where one exists, the
fix the screen offers (send, retry, sync, send again).

The whole firm is compared by digests (issue 12): the books answer, per file, the count,
the sum of cents and a hash of the documents sent (references with their amounts, states
and printed check numbers) and the file's trust balance, in compact arrays
(``/reports/external-digests``); this side reads the digest of what each case expects
the books to hold. Both sides' digests are maintained by triggers as the documents change
(ADR 0030), so a run reads one small row per file and per case. Only the cases whose
digests differ (and those
with something a digest cannot show: an item on its way or failed, a deposit or payment
never sent, a final fee invoice beside a void cost) are compared document by document,
their files' documents read by file (``/reports/external-documents?file_ids=``). Nothing
sends a list of every case id: the firm is the scope. One case is compared document by
document, its file's documents read.

Only the worker runs it (nightly, and a user's queued by :func:`reconciliation_request`),
and only the worker asks the books for the three-way reconciliation (ADR 0008).
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime as dt
import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteDatabaseWrapper
from django.db.models import Sum
from django.utils.text import capfirst

from casebridge.bridge.client import (
    BooksAuthLapsed,
    BooksClient,
    BooksDigests,
    BooksDocument,
    BooksError,
    ThreeWay,
)
from casebridge.bridge.digest_sources import CASE_DIGESTS, PREFIX
from casebridge.bridge.errors import Conflict, ValidationFailed
from casebridge.bridge.models import (
    HELD_NOT_PAID,
    PAID_BY_ACH,
    PENDING,
    UNFINISHED,
    BooksJob,
    CaseLink,
    CheckState,
    Connection,
    CostLink,
    DepositLink,
    DifferenceFix,
    DifferenceKind,
    FeeInvoice,
    InvoiceStage,
    JobKind,
    OutboxItem,
    OutboxKind,
    OutboxState,
    ReconciliationDifference,
    ReconciliationRun,
    RunState,
    SyncTrigger,
    TrustItemLink,
)
from casebridge.bridge.services import outbox
from casebridge.bridge.services import settlement as settlement_services
from casebridge.bridge.services.balances import balances_keep, balances_keep_firm
from casebridge.bridge.services.connection import (
    client_for,
    connection_mark_lapsed,
    require_connection,
    token_lapsed,
)
from casebridge.bridge.services.status_sync import sync_request
from casebridge.bridge.services.worker import ask, take
from casebridge.cases.models import (
    Case,
    Cost,
    CostStatus,
    Deposit,
    Firm,
    TrustItem,
    TrustItemStatus,
    User,
)
from casebridge.cases.permissions import require_settings_access
from casebridge.core import clock, words
from casebridge.core.audit import audit_record
from casebridge.core.db import id_set
from casebridge.core.digest import Drift, compact, current, drift, hash_text, rebuild
from casebridge.core.errors import DomainError
from casebridge.core.money import format_cents
from casebridge.core.words import cost_words

log = logging.getLogger(__name__)

_TRUST_ITEM_REF = re.compile(r"^cases-trust-item-(\d+)(?:-(\d+))?$")
#: What begins the books' external_ref of everything this side sends.
_PREFIX = PREFIX
#: References or ids a query names at most.
_IDS_PER_QUERY = 500


@dataclass
class _Found:
    """The differences of one run, as they are found."""

    rows: list[ReconciliationDifference] = field(default_factory=list)
    in_flight: int = 0
    documents: int = 0

    def add(
        self,
        case_id: int | None,
        kind: str,
        subject: str,
        cause: str,
        *,
        cases_cents: int | None = None,
        books_cents: int | None = None,
        fix: str = DifferenceFix.NONE,
        target: int | None = None,
    ) -> None:
        self.rows.append(
            ReconciliationDifference(
                case_id=case_id,
                kind=kind,
                subject=subject[:300],
                cause=cause[:1000],
                cases_cents=cases_cents,
                books_cents=books_cents,
                fix=fix,
                fix_target_id=target,
            )
        )


@dataclass(frozen=True)
class _Unfinished:
    """What is still on its way, by subject: (kind, subject id) -> (item id, state, error)."""

    by_subject: dict[tuple[str, int], tuple[int, str, str]]
    cases: set[int]

    def of(self, kind: str, subject_id: int) -> tuple[int, str, str] | None:
        return self.by_subject.get((kind, subject_id))


def _unfinished(firm: Firm, case_ids: set[int] | None) -> _Unfinished:
    qs = OutboxItem.objects.filter(firm=firm, state__in=UNFINISHED)
    if case_ids is not None:
        qs = qs.filter(case_id__in=id_set(case_ids))
    by_subject: dict[tuple[str, int], tuple[int, str, str]] = {}
    cases: set[int] = set()
    for pk, kind, case_id, cost_id, deposit_id, item_id, invoice_id, state, error in qs.order_by(
        "pk"
    ).values_list(
        "pk",
        "kind",
        "case_id",
        "cost_id",
        "deposit_id",
        "trust_item_id",
        "fee_invoice_id",
        "state",
        "error_message",
    ):
        subject = cost_id or deposit_id or item_id or invoice_id or 0
        family = {
            OutboxKind.COST_SEND: "cost",
            OutboxKind.COST_VOID: "cost",
            OutboxKind.DEPOSIT_RECEIPT: "deposit",
            OutboxKind.DEPOSIT_VOID: "deposit",
            OutboxKind.TRUST_CHECK: "payment",
            OutboxKind.FEE_INVOICE: "invoice",
        }[OutboxKind(kind)]
        by_subject.setdefault((family, subject), (pk, state, error))
        cases.add(case_id)
    return _Unfinished(by_subject, cases)


def _in_flight_or_failed(
    found: _Found, waiting: tuple[int, str, str] | None, case_id: int, subject: str, kind: str
) -> bool:
    """True when the subject is still on its way (counted) or failed (a difference to
    retry): either way there is nothing more to compare yet."""
    if waiting is None:
        return False
    item_id, state, error = waiting
    if state == OutboxState.FAILED:
        found.add(
            case_id,
            kind,
            subject,
            f"Sending it to the books failed: {error}",
            fix=DifferenceFix.RETRY,
            target=item_id,
        )
    else:
        found.in_flight += 1
    return True


def _amount_differs(
    found: _Found, case_id: int, kind: str, subject: str, mine: int, doc: BooksDocument
) -> bool:
    if mine == doc.amount_cents:
        return False
    found.add(
        case_id,
        kind,
        subject,
        f"The books hold {format_cents(doc.amount_cents)} under {doc.external_ref}; this side "
        f"{format_cents(mine)}.",
        cases_cents=mine,
        books_cents=doc.amount_cents,
    )
    return True


def _compare_costs(
    firm: Firm, case_ids: set[int] | None, checks: dict[str, BooksDocument], waiting: _Unfinished
) -> tuple[_Found, set[str]]:
    found, known = _Found(), set()
    links = CostLink.objects.filter(firm=firm)
    if case_ids is not None:
        links = links.filter(cost__case_id__in=id_set(case_ids))
    for ref, cost_id, case_id, status, cents, reference, payee, day, state in links.values_list(
        "external_ref",
        "cost_id",
        "cost__case_id",
        "cost__status",
        "cost__amount_cents",
        "cost__payment_reference",
        "cost__payee__name",
        "cost__cost_date",
        "check_state",
    ):
        known.add(ref)
        # as the case's Costs tab shows it (the difference names its case apart)
        subject = capfirst(cost_words(day, payee, cents))
        if _in_flight_or_failed(found, waiting.of("cost", cost_id), case_id, subject, "cost"):
            continue
        doc = checks.get(ref)
        kind = DifferenceKind.COST
        if doc is None:
            # void before its check went out, or Open again after a failed send was withdrawn
            if status not in (CostStatus.VOID, CostStatus.OPEN):
                found.add(
                    case_id,
                    kind,
                    subject,
                    f"Sent, but the books have no check {ref}; ask the accountant what became "
                    "of it.",
                    cases_cents=cents,
                )
            continue
        found.documents += 1
        if _amount_differs(found, case_id, kind, subject, cents, doc):
            continue
        if status == CostStatus.VOID and doc.status != "voided":
            found.add(
                case_id,
                kind,
                subject,
                f"Void here, but check {doc.number or doc.id} is still {doc.status} in the books.",
                cases_cents=0,
                books_cents=doc.amount_cents,
                fix=DifferenceFix.SEND,
                target=cost_id,
            )
        elif status == CostStatus.PENDING and doc.status == "voided" and state == CheckState.VOID:
            found.add(
                case_id,
                kind,
                subject,
                f"The books voided check {doc.number or doc.id} (an ACH payment the bank "
                "returned); the cost is still owed.",
                cases_cents=cents,
            )
        elif status != CostStatus.VOID and doc.status == "voided":
            found.add(
                case_id,
                kind,
                subject,
                f"The books voided check {doc.number or doc.id}; this side has not synced yet.",
                fix=DifferenceFix.SYNC,
            )
        elif status == CostStatus.PENDING and doc.status == "printed":
            found.add(
                case_id,
                kind,
                subject,
                f"Printed in the books as check {doc.number}; this side still shows Pending.",
                fix=DifferenceFix.SYNC,
            )
        elif status == CostStatus.PAID and doc.status == "queued" and state in PAID_BY_ACH:
            continue  # paid by ACH when sent: the books' check is never printed (ADR 0055)
        elif status == CostStatus.PAID and doc.status == "queued":
            found.add(
                case_id,
                kind,
                subject,
                f"Paid here (check {reference}), but the books' check is still queued.",
            )
        elif status == CostStatus.PAID and str(doc.number) != reference:
            found.add(
                case_id,
                kind,
                subject,
                f"Paid here by check {reference}; the books printed it as check {doc.number}.",
            )
    return found, known


def _compare_deposits(
    firm: Firm,
    case_ids: set[int] | None,
    receipts: dict[str, BooksDocument],
    waiting: _Unfinished,
) -> tuple[_Found, set[str]]:
    """A deposit never sent counts only while its case still holds money in trust here: a
    case fully paid out before the integration was activated is history, not a gap."""
    found, known = _Found(), set()
    deposit_links = DepositLink.objects.filter(firm=firm)
    deposits = Deposit.objects.filter(firm=firm)
    if case_ids is not None:
        deposit_links = deposit_links.filter(deposit__case_id__in=id_set(case_ids))
        deposits = deposits.filter(case_id__in=id_set(case_ids))
    refs = dict(deposit_links.values_list("deposit_id", "external_ref"))
    rows = list(deposits.values_list("pk", "case_id", "amount_cents", "check_number", "voided_on"))
    unsent_cases = {r[1] for r in rows if r[0] not in refs and r[4] is None}
    still_held = {cid for cid, cents in _held_in_trust(firm, unsent_cases).items() if cents > 0}
    for deposit_id, case_id, cents, number, voided_on in rows:
        subject = f"Deposit of check {number}, {format_cents(cents)}"
        kind = DifferenceKind.DEPOSIT
        ref = refs.get(deposit_id)
        if ref is None:
            if voided_on is None and case_id in still_held:
                found.add(
                    case_id,
                    kind,
                    subject,
                    "Never sent to the books (recorded before the integration was activated, "
                    "or while it was off): the books' trust does not hold it.",
                    cases_cents=cents,
                    fix=DifferenceFix.SEND,
                    target=deposit_id,
                )
            continue
        known.add(ref)
        if _in_flight_or_failed(found, waiting.of("deposit", deposit_id), case_id, subject, kind):
            continue
        doc = receipts.get(ref)
        if doc is None:
            if voided_on is None:
                found.add(
                    case_id,
                    kind,
                    subject,
                    f"Sent, but the books have no trust receipt {ref}.",
                    cases_cents=cents,
                )
            continue
        found.documents += 1
        if _amount_differs(found, case_id, kind, subject, cents, doc):
            continue
        if voided_on is not None and doc.status != "voided":
            found.add(
                case_id,
                kind,
                subject,
                "Voided here, but its trust receipt still stands in the books.",
                cases_cents=0,
                books_cents=doc.amount_cents,
                fix=DifferenceFix.SEND,
                target=deposit_id,
            )
        elif voided_on is None and doc.status == "voided":
            found.add(
                case_id,
                kind,
                subject,
                "The books voided its trust receipt (the money left trust there); it stands "
                "here. Void the deposit on the Settlement tab, or ask the accountant.",
                cases_cents=cents,
                books_cents=0,
            )
    return found, known


def _compare_payments(
    firm: Firm, case_ids: set[int] | None, checks: dict[str, BooksDocument], waiting: _Unfinished
) -> tuple[_Found, set[int]]:
    found, linked_items = _Found(), set()
    conn_exists = Connection.objects.filter(firm=firm).exists()
    item_links = TrustItemLink.objects.filter(firm=firm)
    if case_ids is not None:
        item_links = item_links.filter(trust_item__case_id__in=id_set(case_ids))
    links = {
        item_id: (ref, state)
        for item_id, ref, state in item_links.values_list(
            "trust_item_id", "external_ref", "check_state"
        )
    }
    items = TrustItem.objects.filter(
        firm=firm,
        kind__in=settlement_services.CHECK_KINDS,
        paid_direct=False,
        status__in=(TrustItemStatus.TO_BE_DISBURSED, TrustItemStatus.DISBURSED),
    )
    if case_ids is not None:
        items = items.filter(case_id__in=id_set(case_ids))
    for item_id, case_id, cents, status, number, payee in items.values_list(
        "pk", "case_id", "amount_cents", "status", "check_number", "payee_name"
    ):
        subject = f"Payment to {payee}, {format_cents(cents)}"
        kind = DifferenceKind.PAYMENT
        link = links.get(item_id)
        if link is None:
            if conn_exists and status == TrustItemStatus.TO_BE_DISBURSED:
                found.add(
                    case_id,
                    kind,
                    subject,
                    "Pushed to disbursement but never sent to the books as a trust check "
                    "(pushed before the integration was activated).",
                    cases_cents=cents,
                    fix=DifferenceFix.SEND,
                    target=item_id,
                )
            continue
        linked_items.add(item_id)
        ref, state = link
        if _in_flight_or_failed(found, waiting.of("payment", item_id), case_id, subject, kind):
            continue
        doc = checks.get(ref)
        if doc is None:
            found.add(
                case_id,
                kind,
                subject,
                f"Sent, but the books have no trust check {ref}.",
                cases_cents=cents,
            )
            continue
        found.documents += 1
        if _amount_differs(found, case_id, kind, subject, cents, doc):
            continue
        if doc.status == "voided":
            if state == CheckState.VOID and status == TrustItemStatus.TO_BE_DISBURSED:
                found.add(
                    case_id,
                    kind,
                    subject,
                    f"The books voided trust check {doc.number or doc.id}; the payment is "
                    "still owed. Send the check again.",
                    cases_cents=cents,
                    books_cents=0,
                    fix=DifferenceFix.SEND_AGAIN,
                    target=item_id,
                )
            else:
                found.add(
                    case_id,
                    kind,
                    subject,
                    f"The books voided trust check {doc.number or doc.id}; this side has not "
                    "synced yet.",
                    fix=DifferenceFix.SYNC,
                )
        elif status == TrustItemStatus.TO_BE_DISBURSED and doc.status == "printed":
            found.add(
                case_id,
                kind,
                subject,
                f"Printed in the books as check {doc.number}; this side has not synced yet.",
                fix=DifferenceFix.SYNC,
            )
        elif (
            status == TrustItemStatus.DISBURSED and doc.status == "queued" and state in PAID_BY_ACH
        ):
            continue  # paid by ACH when sent: the books' check is never printed (ADR 0055)
        elif status == TrustItemStatus.DISBURSED and doc.status != "printed":
            found.add(
                case_id,
                kind,
                subject,
                f"Disbursed here (check {number}); the books' trust check is {doc.status}.",
            )
        elif status == TrustItemStatus.DISBURSED and str(doc.number) != number:
            found.add(
                case_id,
                kind,
                subject,
                f"Disbursed here by check {number}; the books printed check {doc.number}.",
            )
    return found, linked_items


def _compare_invoices(
    firm: Firm, case_ids: set[int] | None, invoices: dict[str, BooksDocument], waiting: _Unfinished
) -> tuple[_Found, set[str]]:
    found, known = _Found(), set()
    qs = FeeInvoice.objects.filter(firm=firm)
    if case_ids is not None:
        qs = qs.filter(case_id__in=id_set(case_ids))
    rows = list(qs.values_list("pk", "case_id", "external_ref", "total_cents", "stage", "lines"))
    repaid = {
        int(ln["cost_id"]): int(ln["amount_cents"])
        for *_, stage, lines in rows
        if stage == InvoiceStage.FINAL
        for ln in lines
        if ln.get("cost_id")
    }
    void_costs = {
        pk: cost_words(day, payee, cents)
        for pk, day, payee, cents in Cost.objects.filter(
            pk__in=id_set(repaid), status=CostStatus.VOID
        ).values_list("pk", "cost_date", "payee__name", "amount_cents")
    }
    for invoice_id, case_id, ref, cents, stage, lines in rows:
        known.add(ref)
        if stage == InvoiceStage.FINAL:
            for cost_id in sorted({int(ln["cost_id"]) for ln in lines if ln.get("cost_id")}):
                if cost_id in void_costs:
                    found.add(
                        case_id,
                        DifferenceKind.INVOICE,
                        f"Fee invoice line repaying the {void_costs[cost_id]}",
                        f"The fee invoice repaid {format_cents(repaid[cost_id])} from the "
                        "client's trust for that cost, which has since been voided (its "
                        "check voided in the books): the firm holds client money for an advance "
                        "that no longer exists. Refund the client or correct it in the books.",
                        cases_cents=0,
                        books_cents=repaid[cost_id],
                    )
        subject = f"Fee invoice, {format_cents(cents)}"
        kind = DifferenceKind.INVOICE
        if _in_flight_or_failed(found, waiting.of("invoice", invoice_id), case_id, subject, kind):
            continue
        doc = invoices.get(ref)
        if doc is None and stage == InvoiceStage.VOIDED:
            continue  # withdrawn after the books refused it: nothing there to compare
        if doc is None:
            found.add(
                case_id,
                kind,
                subject,
                f"Sent, but the books have no invoice {ref}.",
                cases_cents=cents,
            )
            continue
        found.documents += 1
        if _amount_differs(found, case_id, kind, subject, cents, doc):
            continue
        if doc.status != stage:
            found.add(
                case_id,
                kind,
                subject,
                f"Invoice {doc.number} is {doc.status} in the books, {stage or 'unknown'} here; "
                "this side has not synced yet.",
                fix=DifferenceFix.SYNC,
            )
    return found, known


def _held_in_trust(firm: Firm, case_ids: Iterable[int] | None) -> dict[int, int]:
    """Per case (of ``case_ids``, else of the whole firm: no list of ids): deposits less
    what trust paid out, less the trust payments the books already hold but have not paid
    out (the books post a check when it is requested): queued for printing, or by ACH queued
    or in a file not yet sent."""
    deposits = Deposit.objects.filter(firm=firm, voided_on__isnull=True)
    paid = TrustItem.objects.filter(firm=firm, status=TrustItemStatus.DISBURSED, paid_direct=False)
    queued = TrustItemLink.objects.filter(
        firm=firm,
        check_state__in=HELD_NOT_PAID,
        trust_item__status=TrustItemStatus.TO_BE_DISBURSED,
    )
    if case_ids is not None:
        ids = list(case_ids)
        deposits = deposits.filter(case_id__in=id_set(ids))
        paid = paid.filter(case_id__in=id_set(ids))
        queued = queued.filter(trust_item__case_id__in=id_set(ids))
    held: dict[int, int] = defaultdict(int)
    for case_id, cents in (
        deposits.values_list("case_id").annotate(s=Sum("amount_cents")).values_list("case_id", "s")
    ):
        held[case_id] += int(cents or 0)
    for case_id, cents in (
        paid.values_list("case_id").annotate(s=Sum("amount_cents")).values_list("case_id", "s")
    ):
        held[case_id] -= int(cents or 0)
    for case_id, cents in queued.values_list("trust_item__case_id", "amount_cents"):
        held[case_id] -= cents
    return held


def _compare_balances(
    firm: Firm,
    case_links: dict[int, tuple[int, str]],
    balances: dict[int, int],
    waiting: _Unfinished,
    *,
    whole_firm: bool,
) -> _Found:
    """Each linked case's trust here vs its file's client ledger in the books
    (``whole_firm``: ``case_links`` are every linked case of the firm, read without ids)."""
    found = _Found()
    held = _held_in_trust(firm, None if whole_firm else case_links)
    differing = [
        (case_id, file_number, held.get(case_id, 0), balances.get(file_id, 0))
        for case_id, (file_id, file_number) in case_links.items()
        # something on its way: the balances cannot agree yet
        if case_id not in waiting.cases and held.get(case_id, 0) != balances.get(file_id, 0)
    ]
    numbers = dict(
        Case.objects.filter(pk__in=id_set(d[0] for d in differing)).values_list("pk", "number")
    )
    for case_id, file_number, mine, books in differing:
        side = "more" if books > mine else "less"
        found.add(
            case_id,
            DifferenceKind.TRUST_BALANCE,
            f"Trust of {numbers.get(case_id, case_id)} (file {file_number})",
            f"The books' client ledger holds {format_cents(abs(books - mine))} {side} than "
            f"this side counts in trust ({format_cents(mine)}); see the other differences "
            "of this case for the cause.",
            cases_cents=mine,
            books_cents=books,
        )
    return found


def _unknown(
    docs: Iterable[tuple[str, BooksDocument]],
    known: set[str],
    linked_items: set[int],
    file_cases: dict[int, int],
    firm: Firm | None = None,
) -> _Found:
    """Documents under a ``cases-`` reference this side does not know. An earlier check of a
    payment sent again (``cases-trust-item-<id>`` when ``-2`` is current) is known if void.
    With ``firm``, ``known`` and ``linked_items`` are those of the cases compared in detail,
    and what they leave out is looked up in the whole firm (by those references only)."""
    found = _Found()
    docs = list(docs)
    if firm is not None:
        known, linked_items = _known_in_firm(firm, docs, known, linked_items)
    for noun, doc in docs:
        if doc.external_ref in known:
            continue
        match = _TRUST_ITEM_REF.match(doc.external_ref)
        if match and int(match.group(1)) in linked_items and doc.status == "voided":
            continue
        found.add(
            file_cases.get(doc.file_id or 0),
            DifferenceKind.UNKNOWN,
            f"{noun} {doc.number or doc.id} in the books ({doc.external_ref})",
            f"The books hold a {noun.lower()} of {format_cents(doc.amount_cents)} "
            f"({doc.status}) under a reference this side does not know.",
            books_cents=doc.amount_cents,
        )
    return found


def _known_in_firm(
    firm: Firm, docs: list[tuple[str, BooksDocument]], known: set[str], linked_items: set[int]
) -> tuple[set[str], set[int]]:
    """``known`` and ``linked_items`` with what the whole firm knows of ``docs``' other
    references: the cost, deposit, payment and invoice links a whole-firm comparison
    would have read (the same filters), looked up by reference, a few hundred at a time."""
    refs = sorted({d.external_ref for _, d in docs} - known)
    item_ids = sorted(
        {int(m.group(1)) for m in map(_TRUST_ITEM_REF.match, refs) if m} - linked_items
    )
    payments = TrustItemLink.objects.filter(
        firm=firm,
        trust_item__firm=firm,
        trust_item__kind__in=settlement_services.CHECK_KINDS,
        trust_item__paid_direct=False,
        trust_item__status__in=(TrustItemStatus.TO_BE_DISBURSED, TrustItemStatus.DISBURSED),
    )
    known, linked_items = set(known), set(linked_items)
    for start in range(0, len(refs), _IDS_PER_QUERY):
        chunk = refs[start : start + _IDS_PER_QUERY]
        for qs in (
            CostLink.objects.filter(firm=firm, external_ref__in=chunk),
            DepositLink.objects.filter(firm=firm, deposit__firm=firm, external_ref__in=chunk),
            payments.filter(external_ref__in=chunk),
            FeeInvoice.objects.filter(firm=firm, external_ref__in=chunk),
        ):
            known.update(qs.values_list("external_ref", flat=True))
    for start in range(0, len(item_ids), _IDS_PER_QUERY):
        chunk_ids = item_ids[start : start + _IDS_PER_QUERY]
        linked_items.update(
            payments.filter(trust_item_id__in=chunk_ids).values_list("trust_item_id", flat=True)
        )
    return known, linked_items


# --- The digests: what the books should hold for each case, compared in SQL ----------------


def expected_digests(firm: Firm) -> dict[int, tuple[int, int, str]]:
    """Per case: the maintained digest (:mod:`casebridge.bridge.digest_sources` says what
    it holds) of the documents the books must hold under ``cases-`` for a whole-firm
    comparison to find nothing to report about them; one read of small rows (the kept
    rows and their deltas summed, ADR 0035)."""
    return {
        int(case_id): (int(n), int(cents), hash_text(int(h)))
        for _, case_id, n, cents, h in current(CASE_DIGESTS, "firm_id = %s", [firm.pk])
    }


def case_digests_drift(*, firm: Firm) -> Drift:
    """Every (firm, case) of ``firm`` whose maintained digest differs from a full
    recomputation (empty when the triggers kept them exact)."""
    return drift(CASE_DIGESTS, firm.pk)


@transaction.atomic
def case_digests_compact() -> int | None:
    """Fold every firm's case digest deltas into the kept rows (ADR 0035; the periodic
    task runs it): how many deltas were folded, None when another compaction or a rebuild
    runs (it folds them)."""
    return compact(CASE_DIGESTS)


@transaction.atomic
def case_digests_rebuild(*, firm: Firm) -> int:
    """The firm's case digests recomputed from their documents in one transaction (the
    repair of a drift the nightly check reported; ``manage.py digests_rebuild``), the
    drift found recorded in the audit log: how many cases were corrected."""
    drifted = case_digests_drift(firm=firm)
    corrected = rebuild(CASE_DIGESTS, firm.pk)
    audit_record(
        system="bridge",
        firm_id=firm.pk,
        actor_label="system",
        action="digests_rebuild",
        entity_type="case_digests",
        summary=f"Case digests rebuilt: {words.plural(corrected, 'case')} corrected",
        after={
            "corrected": [
                {"case_id": key[1], "kept": kept, "recomputed": recomputed}
                for key, kept, recomputed in drifted[:100]
            ]
        },
    )
    log.warning(
        "case digests of firm %s rebuilt: %s corrected",
        firm.code,
        corrected,
        extra={"firm_id": firm.pk},
    )
    return corrected


#: Cases a drift's reason names at most (each ~125 characters: the reason fits its 1,000).
_DRIFT_NAMED = 5


def _digest_text(value: tuple[int, int, int] | None) -> str:
    n, cents, h = value or (0, 0, 0)
    return f"{words.plural(n, 'document')}, {format_cents(cents)}, hash {hash_text(h)}"


def case_digests_check(*, firm: Firm) -> ReconciliationRun | None:
    """The nightly check of the firm's case digests against a full recomputation (the
    cases side's counterpart of the books' ledger integrity check; ADR 0032). Clean: None,
    nothing written. Drifted: a whole-firm reconciliation run recorded as failed, its error
    naming the cases (where an administrator sees the reconciliation: the page, the API,
    ``/metrics``), and the drift logged. The digests are left as they are: the run is the
    evidence, and a case whose digest drifted is compared in detail by the next run (its
    digest differs from its file's in the books)."""
    drifted = case_digests_drift(firm=firm)
    if not drifted:
        return None
    case_ids = [int(str(key[1])) for key, _, _ in drifted]
    numbers = dict(Case.objects.filter(firm=firm, pk__in=case_ids).values_list("pk", "number"))
    named = [
        f"case {numbers.get(case_id, f'id {case_id}')}: kept {_digest_text(kept)}, "
        f"its documents give {_digest_text(recomputed)}"
        for case_id, (_, kept, recomputed) in zip(case_ids, drifted, strict=True)
    ]
    more = len(named) - _DRIFT_NAMED
    agrees = "no longer matches its" if len(named) == 1 else "no longer match their"
    listed = "; ".join(named[:_DRIFT_NAMED]) + (f"; and {more} more" if more > 0 else "")
    error = (
        f"Integrity check: the reconciliation digest of {words.plural(len(named), 'case')} "
        f"{agrees} documents ({listed}). A whole-firm reconciliation may miss a difference "
        "there: report this to your Casebridge administrator."
    )
    now = clock.now()
    run = ReconciliationRun.objects.create(
        firm=firm,
        case=None,
        trigger=SyncTrigger.SCHEDULED,
        state=RunState.FAILED,
        started_at=now,
        finished_at=now,
        error=error[:1000],
    )
    log.error(
        "case digest drift in firm %s: %s",
        firm.code,
        "; ".join(named),
        extra={"firm_id": firm.pk, "reconciliation_run_id": run.pk, "drifted_cases": case_ids},
    )
    return run


def _compared_in_detail(firm: Firm, waiting: _Unfinished) -> set[int]:
    """Cases whose differences do not all show in the digests: something on its way or
    failed, a deposit or a payment never sent, a final fee invoice beside a void cost (its
    line may repay it)."""
    cases = set(waiting.cases)
    cases.update(
        Deposit.objects.filter(firm=firm, voided_on__isnull=True, books_link__isnull=True)
        .values_list("case_id", flat=True)
        .distinct()
    )
    cases.update(
        TrustItem.objects.filter(
            firm=firm,
            kind__in=settlement_services.CHECK_KINDS,
            paid_direct=False,
            status=TrustItemStatus.TO_BE_DISBURSED,
            books_link__isnull=True,
        )
        .values_list("case_id", flat=True)
        .distinct()
    )
    void_cost_cases = Cost.objects.filter(firm=firm, status=CostStatus.VOID).values("case_id")
    cases.update(
        FeeInvoice.objects.filter(firm=firm, stage=InvoiceStage.FINAL, case_id__in=void_cost_cases)
        .values_list("case_id", flat=True)
        .distinct()
    )
    return cases


@dataclass(frozen=True)
class _Differing:
    """What the digests leave to compare in detail."""

    cases: set[int]
    files: set[int]
    no_file: bool
    #: documents the books hold as expected, for the cases not compared in detail
    documents: int


def _differing(
    firm: Firm,
    expected: dict[int, tuple[int, int, str]],
    case_links: dict[int, tuple[int, str]],
    books: dict[int | None, tuple[int, int, str]],
    waiting: _Unfinished,
) -> _Differing:
    """The cases whose digest differs from their file's in the books (or that must be
    compared in detail anyway) and the files to read: theirs, every file whose documents
    no single linked case expects, and the documents without a file if there are any.

    A case left out has exactly the documents it expects in its file; each document's
    reference belongs to one subject, so any document of a case compared in detail is in a
    file read, and every document left unread is known."""
    detail = _compared_in_detail(firm, waiting) | (expected.keys() - case_links.keys())
    cases_of_file: dict[int, list[int]] = defaultdict(list)
    for case_id, (file_id, _) in case_links.items():
        cases_of_file[file_id].append(case_id)
    files: set[int] = set()
    documents = 0
    none = (0, 0, "")
    for file_id, case_ids in cases_of_file.items():
        if len(case_ids) == 1 and case_ids[0] not in detail:
            mine = expected.get(case_ids[0], none)
            if books.get(file_id, none) == mine:
                documents += mine[0]
                continue
        detail.update(case_ids)
        files.add(file_id)
    files.update(f for f in books if f is not None and f not in cases_of_file)
    return _Differing(detail, files, None in books, documents)


def _both_digests(
    firm: Firm, client: BooksClient, trust_account_id: int
) -> tuple[dict[int, tuple[int, int, str]], BooksDigests]:
    """This side's digests and the books', computed at the same time: the request waits in
    a thread (it touches no database), this side's query runs on this one. Not with an
    in-memory SQLite database: its one connection is shared with a books server in this
    process (the test suite's live server), which must not use it while this query does."""
    db = connections[DEFAULT_DB_ALIAS]
    if isinstance(db, SQLiteDatabaseWrapper) and db.is_in_memory_db():
        return expected_digests(firm), client.external_digests(trust_account_id, _PREFIX)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="books-digests") as pool:
        asked = pool.submit(
            contextvars.copy_context().run, client.external_digests, trust_account_id, _PREFIX
        )
        expected = expected_digests(firm)
        return expected, asked.result()


def _read_books_of_files(
    client: BooksClient, files: set[int], no_file: bool
) -> tuple[dict[str, BooksDocument], dict[str, BooksDocument], dict[str, BooksDocument]]:
    if not files and not no_file:
        return {}, {}, {}

    def read(kind: str) -> dict[str, BooksDocument]:
        docs = client.external_documents_of_files(kind, _PREFIX, sorted(files), no_file=no_file)
        return {d.external_ref: d for d in docs}

    return read("check"), read("receipt"), read("invoice")


def _read_books(
    client: BooksClient, conn: Connection, file_id: int | None
) -> tuple[dict[str, BooksDocument], dict[str, BooksDocument], dict[str, BooksDocument]]:
    checks = {
        d.external_ref: d for d in client.external_documents("check", "cases-", file_id=file_id)
    }
    receipts = {
        d.external_ref: d for d in client.external_documents("receipt", "cases-", file_id=file_id)
    }
    invoices = {
        d.external_ref: d for d in client.external_documents("invoice", "cases-", file_id=file_id)
    }
    return checks, receipts, invoices


def reconciliation_request(
    *, firm: Firm, actor: User, case_id: int | None = None
) -> ReconciliationRun:
    """On demand (a screen): queue a reconciliation of the firm (or one case) for the
    worker, which runs it (:func:`reconciliation_run_execute`); the run is returned
    queued, to be polled. The books are never asked here (ADR 0008)."""
    require_settings_access(actor)
    require_connection(firm)
    case = _case_of(firm, case_id)
    with transaction.atomic():
        run = ReconciliationRun.objects.create(
            firm=firm,
            case=case,
            trigger=SyncTrigger.MANUAL,
            state=RunState.QUEUED,
            started_by=actor,
            started_at=clock.now(),
        )
        ask("reconciliation", run.pk)
    return run


def reconciliation_run_execute(*, run_id: int) -> ReconciliationRun | None:
    """On the worker: take a queued reconciliation and run it (None when another took it)."""
    if not take(ReconciliationRun, run_id, started_at=clock.now()):
        return None
    run = ReconciliationRun.objects.select_related("firm", "case").get(pk=run_id)
    return _reconcile(run)


def reconciliation_run(
    *,
    firm: Firm,
    actor: User | None = None,
    trigger: str = SyncTrigger.MANUAL,
    case_id: int | None = None,
) -> ReconciliationRun:
    """On the worker: compare both sides for the firm (or one case) now and keep what was
    found (the nightly run; a user's goes through :func:`reconciliation_request`)."""
    if actor is not None:
        require_settings_access(actor)
    require_connection(firm)
    case = _case_of(firm, case_id)
    run = ReconciliationRun.objects.create(
        firm=firm,
        case=case,
        trigger=trigger,
        state=RunState.RUNNING,
        started_by=actor,
        started_at=clock.now(),
    )
    return _reconcile(run)


def _case_of(firm: Firm, case_id: int | None) -> Case | None:
    if case_id is None:
        return None
    case = Case.objects.filter(firm=firm, pk=case_id).first()
    if case is None:
        raise ValidationFailed("case not found in this firm", field="case")
    return case


def _reconcile(run: ReconciliationRun) -> ReconciliationRun:
    firm, case = run.firm, run.case
    conn = Connection.objects.filter(firm=firm).first()
    if conn is None:
        run.error = "The books integration is not activated."
        return _finish(run)
    scope = {case.pk} if case is not None else None
    link_rows = CaseLink.objects.filter(firm=firm)
    if scope is not None:
        link_rows = link_rows.filter(case_id__in=scope)
    case_links = {
        cid: (fid, number)
        for cid, fid, number in link_rows.values_list(
            "case_id", "books_file_id", "books_file_number"
        )
    }
    file_id = case_links[case.pk][0] if case is not None and case.pk in case_links else None
    if token_lapsed(conn):
        run.error = "Re-authentication required: the books token has lapsed."
    elif case is not None and file_id is None and not _has_anything(firm, case.pk):
        pass  # a case with nothing sent and nothing to send: clean
    else:
        try:
            client = client_for(conn)
        except Exception as exc:  # an unreadable token: as good as lapsed
            run.error = f"Re-authentication required: {exc}"[:1000]
        else:
            try:
                _compare(firm, conn, client, run, scope, case_links, file_id)
            except BooksAuthLapsed:
                connection_mark_lapsed(conn=conn)
                run.error = "Re-authentication required: the books refused the token."
            except BooksError as exc:
                run.error = f"The books could not answer: {exc.message}"[:1000]
            finally:
                client.close()
    return _finish(run)


def _finish(run: ReconciliationRun) -> ReconciliationRun:
    run.finished_at = clock.now()
    run.state = RunState.FAILED if run.error else RunState.DONE
    run.save()
    return run


def run_of(firm: Firm, run_id: int) -> ReconciliationRun | None:
    return ReconciliationRun.objects.filter(firm=firm, pk=run_id).select_related("case").first()


def pending_run(firm: Firm, case: Case | None = None) -> ReconciliationRun | None:
    """A reconciliation of the firm (or of ``case``) the worker has not finished yet."""
    return (
        ReconciliationRun.objects.filter(firm=firm, case=case, state__in=PENDING)
        .order_by("-started_at", "-pk")
        .first()
    )


def _has_anything(firm: Firm, case_id: int) -> bool:
    return (
        Deposit.objects.filter(firm=firm, case_id=case_id).exists()
        or TrustItem.objects.filter(firm=firm, case_id=case_id)
        .exclude(status=TrustItemStatus.STAGED)
        .exists()
    )


def _compare(
    firm: Firm,
    conn: Connection,
    client: BooksClient,
    run: ReconciliationRun,
    scope: set[int] | None,
    case_links: dict[int, tuple[int, str]],
    file_id: int | None,
) -> None:
    """The whole firm: the books' per-file digests against this side's (one request a
    50,000 files, one query), then the documents of the files that differ (a few hundred
    files a request) compared in detail with those cases. One case: its file's documents
    compared in detail."""
    assert conn.trust_account_id is not None
    waiting = _unfinished(firm, scope)
    matched_documents = 0
    whole_firm = scope is None
    asked_at = clock.now()
    if scope is None:
        expected, digests = _both_digests(firm, client, conn.trust_account_id)
        balances = digests.balances
        differing = _differing(firm, expected, case_links, digests.documents, waiting)
        detail: set[int] = differing.cases
        matched_documents = differing.documents
        checks, receipts, invoices = _read_books_of_files(
            client, differing.files, differing.no_file
        )
    else:
        detail = scope
        if file_id is None:
            checks, receipts, invoices = {}, {}, {}
        else:
            checks, receipts, invoices = _read_books(client, conn, file_id)
        balances = client.trust_balances(conn.trust_account_id, [f for f, _ in case_links.values()])
    # what the screens show beside each case (they never ask the books: ADR 0008)
    if whole_firm:
        balances_keep_firm(firm.pk, balances, asked_at=asked_at)
    else:
        balances_keep(
            firm.pk, balances, file_ids=[f for f, _ in case_links.values()], missing_is_zero=False
        )
    costs, cost_refs = _compare_costs(firm, detail, checks, waiting)
    deposits, deposit_refs = _compare_deposits(firm, detail, receipts, waiting)
    payments, linked_items = _compare_payments(firm, detail, checks, waiting)
    fee_invoices, invoice_refs = _compare_invoices(firm, detail, invoices, waiting)
    trust = _compare_balances(firm, case_links, balances, waiting, whole_firm=whole_firm)
    payment_refs = set(
        TrustItemLink.objects.filter(firm=firm, trust_item_id__in=id_set(linked_items)).values_list(
            "external_ref", flat=True
        )
    )
    file_cases = {fid: cid for cid, (fid, _) in case_links.items()}
    unknown = _unknown(
        [("Check", d) for d in checks.values()]
        + [("Receipt", d) for d in receipts.values()]
        + [("Invoice", d) for d in invoices.values()],
        cost_refs | deposit_refs | payment_refs | invoice_refs,
        linked_items,
        file_cases,
        firm if whole_firm else None,
    )
    parts = [costs, deposits, payments, fee_invoices, trust, unknown]
    rows = [row for part in parts for row in part.rows]
    for row in rows:
        row.run = run
    ReconciliationDifference.objects.bulk_create(rows, batch_size=1000)
    run.differences = len(rows)
    run.in_flight = sum(p.in_flight for p in parts)
    run.documents_compared = sum(p.documents for p in parts) + matched_documents
    run.cases_compared = len(case_links) if scope is None else 1


# --- Fixing a difference -------------------------------------------------------------------


def difference_fix(*, firm: Firm, actor: User, difference_id: int) -> ReconciliationDifference:
    """Do what the difference's fix offers: send (a deposit or payment never sent, a void
    not carried across), retry a failed item, sync statuses, or send a voided check again.
    Refused when the difference was already fixed or the thing has changed since."""
    require_settings_access(actor)
    diff = (
        ReconciliationDifference.objects.filter(run__firm=firm, pk=difference_id)
        .select_related("run")
        .first()
    )
    if diff is None:
        raise ValidationFailed("no such difference in this firm's reconciliation", field="item")
    if diff.fixed_at is not None:
        raise Conflict("this difference was already put right; run the reconciliation again")
    if not diff.fix:
        raise Conflict("this difference has no fix the bridge can apply; see its cause")
    target = diff.fix_target_id or 0
    with transaction.atomic():
        if diff.fix == DifferenceFix.SYNC:  # queued for the worker (ADR 0008)
            sync_request(firm=firm, actor=actor)
        elif diff.fix == DifferenceFix.RETRY:
            outbox.items_retry(firm=firm, actor=actor, item_ids=[target])
        elif diff.fix == DifferenceFix.SEND_AGAIN:
            settlement_services.trust_check_send_again(firm=firm, actor=actor, trust_item_id=target)
        elif diff.kind == DifferenceKind.DEPOSIT:
            _send_deposit(firm, actor, target)
        elif diff.kind == DifferenceKind.PAYMENT:
            _send_payment(firm, actor, target)
        elif diff.kind == DifferenceKind.COST:
            _send_cost_void(firm, actor, target)
        else:
            raise Conflict("this difference has no fix the bridge can apply; see its cause")
        diff.fixed_at, diff.fixed_by = clock.now(), actor
        diff.save(update_fields=["fixed_at", "fixed_by"])
        audit_record(
            system="bridge",
            firm_id=firm.pk,
            actor_id=actor.pk,
            actor_label=actor.email,
            action="reconciliation_fix",
            entity_type="reconciliation_difference",
            entity_id=diff.pk,
            summary=f"{DifferenceFix(diff.fix).label}: {diff.subject}",
        )
    return diff


def _send_deposit(firm: Firm, actor: User, deposit_id: int) -> None:
    deposit = Deposit.objects.filter(firm=firm, pk=deposit_id).first()
    if deposit is None:
        raise ValidationFailed("the deposit is gone", field="item")
    link = DepositLink.objects.filter(deposit=deposit).first()
    if link is None and deposit.voided_on is None:
        outbox.deposit_receipt_queue(deposit=deposit, actor=actor)
    elif link is not None and deposit.voided_on is not None:
        outbox.deposit_void_queue(deposit=deposit, actor=actor)
    else:
        raise Conflict("the deposit changed since the reconciliation; run it again")


def _send_payment(firm: Firm, actor: User, item_id: int) -> None:
    item = (
        TrustItem.objects.select_for_update()
        .filter(firm=firm, pk=item_id, status=TrustItemStatus.TO_BE_DISBURSED)
        .select_related("case")
        .first()
    )
    if item is None or TrustItemLink.objects.filter(trust_item_id=item_id).exists():
        raise Conflict("the payment changed since the reconciliation; run it again")
    settlement_services.disbursement_queue(case=item.case, items=[item], actor=actor)


def _send_cost_void(firm: Firm, actor: User, cost_id: int) -> None:
    link = CostLink.objects.filter(firm=firm, cost_id=cost_id).select_related("cost").first()
    if link is None or link.cost.status != CostStatus.VOID:
        raise Conflict("the cost changed since the reconciliation; run it again")
    outbox.cost_void_queue(cost=link.cost, actor=actor)


def last_run(firm: Firm, case: Case | None = None) -> ReconciliationRun | None:
    return (
        ReconciliationRun.objects.filter(firm=firm, case=case, finished_at__isnull=False)
        .order_by("-started_at", "-pk")
        .first()
    )


def three_way_request(
    *,
    firm: Firm,
    actor: User,
    statement_cents: int,
    deposits_in_transit_cents: int = 0,
    outstanding_checks_cents: int | None = None,
    as_of: dt.date | None = None,
) -> BooksJob:
    """The books' three-way reconciliation of the default client trust account (bank
    statement, trust journal, sum of the client ledgers), for administrators: queued for
    the worker (:func:`three_way_job_run`), which asks the books; poll the job."""
    require_settings_access(actor)
    conn = require_connection(firm)
    if conn.trust_account_id is None:
        raise Conflict("no default client trust account is chosen yet (Defaults)")
    with transaction.atomic():
        job = BooksJob.objects.create(
            firm=firm,
            kind=JobKind.THREE_WAY,
            params={
                "statement_cents": statement_cents,
                "deposits_in_transit_cents": deposits_in_transit_cents,
                "outstanding_checks_cents": outstanding_checks_cents,
                "as_of": as_of.isoformat() if as_of else None,
            },
            requested_by=actor,
            requested_at=clock.now(),
        )
        ask("job", job.pk)
    return job


def three_way_job_run(*, job: BooksJob) -> None:
    """On the worker: ask the books for the three-way reconciliation; the figures (or why
    they could not be had) are kept on the job."""
    if not take(BooksJob, job.pk, started_at=clock.now()):
        return
    p = job.params
    try:
        result = _three_way_read(
            job.firm,
            statement_cents=int(p["statement_cents"]),
            deposits_in_transit_cents=int(p.get("deposits_in_transit_cents") or 0),
            outstanding_checks_cents=int(p["outstanding_checks_cents"])
            if p.get("outstanding_checks_cents") is not None
            else None,
            as_of=dt.date.fromisoformat(p["as_of"]) if p.get("as_of") else None,
        )
    except DomainError as exc:
        BooksJob.objects.filter(pk=job.pk).update(
            state=RunState.FAILED,
            error_code=exc.code[:80],
            error_message=exc.message[:1000],
            error_field=(exc.field or "")[:80],
            finished_at=clock.now(),
        )
        return
    BooksJob.objects.filter(pk=job.pk).update(
        state=RunState.DONE,
        result={**dataclasses.asdict(result), "as_of": result.as_of.isoformat()},
        finished_at=clock.now(),
    )


def three_way_of(job: BooksJob) -> ThreeWay | None:
    """A three-way job's figures, as the books gave them (None until it is done)."""
    if job.state != RunState.DONE or not job.result:
        return None
    data = dict(job.result)
    data["as_of"] = dt.date.fromisoformat(data["as_of"])
    names = {f.name for f in dataclasses.fields(ThreeWay)}
    return ThreeWay(**{k: v for k, v in data.items() if k in names})


def _three_way_read(
    firm: Firm,
    *,
    statement_cents: int,
    deposits_in_transit_cents: int,
    outstanding_checks_cents: int | None,
    as_of: dt.date | None,
) -> ThreeWay:
    conn = require_connection(firm)
    if conn.trust_account_id is None:
        raise Conflict("no default client trust account is chosen yet (Defaults)")
    client = client_for(conn)
    try:
        return client.three_way(
            conn.trust_account_id,
            statement_cents=statement_cents,
            deposits_in_transit_cents=deposits_in_transit_cents,
            outstanding_checks_cents=outstanding_checks_cents,
            as_of=as_of,
        )
    except BooksAuthLapsed:
        connection_mark_lapsed(conn=conn)
        raise Conflict("the books token has lapsed; re-authenticate first") from None
    except BooksError as exc:
        raise Conflict(f"the books could not answer: {exc.message}", field=exc.field) from None
    finally:
        client.close()
