"""Reads for the bridge's screens and API: the connection card, each cost's sync state,
the sync queue with its counts per state. Never a question to the books (ADR 0008): what
is shown from them is what the worker last read, with its age."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, QuerySet

from casebridge.bridge.models import (
    PENDING,
    UNFINISHED,
    CaseLink,
    CheckState,
    Connection,
    ConnectionStatus,
    CostLink,
    DepositLink,
    FeeInvoice,
    InvoiceStage,
    OutboxItem,
    OutboxKind,
    OutboxState,
    ReconciliationRun,
    SyncRun,
    TrustItemLink,
)
from casebridge.bridge.services.balances import balance_read_at, balance_stale, balances_request
from casebridge.bridge.services.connection import (
    books_addresses_of,
    connection_of,
    connection_view,
    sign_in_of,
)
from casebridge.bridge.services.delivery import TRUST_KINDS
from casebridge.bridge.services.readiness import readiness_last
from casebridge.bridge.services.snapshot import age_label
from casebridge.cases.extensions import FigureRow
from casebridge.cases.models import Case, Firm, Permission, TrustItemStatus, User
from casebridge.core.money import format_cents


def has_connection(firm: Firm) -> bool:
    return Connection.objects.filter(firm=firm).exists()


def is_connected(firm: Firm) -> bool:
    return Connection.objects.filter(firm=firm, status=ConnectionStatus.CONNECTED).exists()


def panel_context(user: User) -> dict[str, Any]:
    conn = connection_of(user.firm)
    return {
        "conn": conn,
        "view": connection_view(conn),
        "can_manage": user.has_permission(Permission.ADMIN_SETTINGS),
        "counts": queue_counts(user.firm) if conn else {},
        "readiness": readiness_last(conn) if conn else None,
        "last_sync": SyncRun.objects.filter(firm=user.firm).order_by("-started_at").first()
        if conn
        else None,
        "last_reconciliation": last_reconciliation(user.firm) if conn else None,
        "sign_in": sign_in_of(user.firm),
        "addresses": list(books_addresses_of(user.firm)),
        "is_firm_admin": user.is_firm_admin,
        "allow_loopback": settings.DEBUG or settings.BRIDGE_ALLOW_LOOPBACK_BOOKS,
    }


@dataclass(frozen=True)
class CostSyncInfo:
    item_state: str
    error: str
    check_id: int | None
    check_state: str
    check_number: int | None
    problem: str
    #: An earlier failed or waiting item of the same case this one waits behind.
    held_behind: str = ""


def cost_sync_info(cost_ids: list[int]) -> dict[int, CostSyncInfo]:
    """Each sent cost's latest send item and its check, for a page of cost rows."""
    links = {
        link.cost_id: link
        for link in CostLink.objects.filter(cost_id__in=cost_ids).only(
            "cost_id", "books_check_id", "check_state", "check_number", "problem"
        )
    }
    if not links:
        return {}
    latest: dict[int, OutboxItem] = {}
    for item in (
        OutboxItem.objects.filter(cost_id__in=list(links), kind=OutboxKind.COST_SEND)
        .only("cost_id", "case_id", "state", "error_message")
        .order_by("pk")
    ):
        assert item.cost_id is not None
        latest[item.cost_id] = item
    blockers: dict[int, OutboxItem] = {}
    queued_cases = {i.case_id for i in latest.values() if i.state == OutboxState.QUEUED}
    if queued_cases:
        for blocker in (
            OutboxItem.objects.filter(
                case_id__in=queued_cases, state__in=(OutboxState.FAILED, OutboxState.WAITING)
            )
            .only("pk", "case_id", "state", "error_message")
            .order_by("-pk")
        ):
            blockers[blocker.case_id] = blocker  # the earliest wins (ordered newest first)
    out = {}
    for cost_id, link in links.items():
        last = latest.get(cost_id)
        ahead = blockers.get(last.case_id) if last and last.state == OutboxState.QUEUED else None
        held = ""
        if ahead is not None and last is not None and ahead.pk < last.pk:
            held = f"item #{ahead.pk} ({ahead.get_state_display()}: {ahead.error_message})"
        out[cost_id] = CostSyncInfo(
            item_state=last.state if last else "",
            error=last.error_message if last else "",
            check_id=link.books_check_id,
            check_state=link.check_state,
            check_number=link.check_number,
            problem=link.problem,
            held_behind=held,
        )
    return out


def cases_with_links(case_ids: set[int]) -> set[int]:
    """Which of these cases have linked cases (a cost there can be split)."""
    through = Case.linked_cases.through
    return set(
        through.objects.filter(from_case_id__in=case_ids).values_list("from_case_id", flat=True)
    )


def queue_counts(firm: Firm) -> dict[str, int]:
    counts = dict(
        OutboxItem.objects.filter(firm=firm)
        .values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    return {state: counts.get(state, 0) for state in OutboxState.values}


def queue_items(
    firm: Firm, *, state: str = "", kind: str = "", case_number: str = ""
) -> QuerySet[OutboxItem]:
    qs = OutboxItem.objects.filter(firm=firm).select_related(
        "case", "cost", "cost__payee", "deposit", "trust_item", "fee_invoice"
    )
    if state:
        qs = qs.filter(state=state)
    if kind:
        qs = qs.filter(kind=kind)
    if case_number:
        qs = qs.filter(case__number__iexact=case_number.strip())
    return qs.order_by("-pk")


def sync_run_summary(run: SyncRun) -> str:
    """What a check-status sync did, as a sentence (its error if it could not run)."""
    if run.state in PENDING:
        return (
            "Check status sync started: the worker is asking the books; the result shows "
            "on the Integrations card when they have answered."
        )
    if run.error:
        return f"Check status sync failed: {run.error}"
    problems = f"{run.problems} problem{'s' if run.problems != 1 else ''}"
    settlement = ""
    if run.disbursed or run.invoices_final:
        settlement = (
            f" {run.disbursed} trust payment{'s' if run.disbursed != 1 else ''} disbursed, "
            f"{run.invoices_final} fee invoice{'s' if run.invoices_final != 1 else ''} final."
        )
    return f"Check status synced: {run.paid} paid, {run.voided} voided, {problems}.{settlement}"


def _trust_in_flight(
    case_ids: list[int],
) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    """Per case: the trust checks the books already hold but the cases side does not yet
    count as paid out (queued for printing: the books post a check when requested), how
    many trust changes are still on their way to the books, and how many were refused."""
    in_flight: dict[int, int] = {}
    for case_id, cents in TrustItemLink.objects.filter(
        trust_item__case_id__in=case_ids,
        check_state=CheckState.QUEUED,
        trust_item__status=TrustItemStatus.TO_BE_DISBURSED,
    ).values_list("trust_item__case_id", "amount_cents"):
        in_flight[case_id] = in_flight.get(case_id, 0) + cents
    on_the_way: dict[int, int] = {}
    refused: dict[int, int] = {}
    for case_id, state, n in (
        OutboxItem.objects.filter(
            case_id__in=case_ids,
            kind__in=(
                OutboxKind.DEPOSIT_RECEIPT,
                OutboxKind.DEPOSIT_VOID,
                OutboxKind.TRUST_CHECK,
                OutboxKind.FEE_INVOICE,
            ),
            state__in=UNFINISHED,
        )
        .values_list("case_id", "state")
        .annotate(n=Count("pk"))
        .values_list("case_id", "state", "n")
    ):
        bucket = refused if state == OutboxState.FAILED else on_the_way
        bucket[case_id] = bucket.get(case_id, 0) + n
    return in_flight, on_the_way, refused


def trust_comparison(
    file_number: str,
    books_cents: int,
    held_cents: int,
    in_flight_cents: int,
    on_the_way: int,
    refused: int = 0,
) -> FigureRow:
    """The books' balance for a file beside what the cases side counts, less the checks the
    books hold that are not printed yet; a difference is flagged unless changes are still on
    their way."""
    label = "Trust in the books"
    expected = held_cents - in_flight_cents
    pending = (
        f" ({format_cents(in_flight_cents)} in trust checks requested, not yet printed)"
        if in_flight_cents
        else ""
    )
    if books_cents == expected:
        return FigureRow(label, books_cents, f"File {file_number}: matches{pending}.")
    if refused:
        note = (
            f"File {file_number}: {refused} trust change(s) refused by the books (see the "
            f"payments and the sync queue); the books hold {format_cents(books_cents)}, this "
            f"case counts {format_cents(expected)}."
        )
        return FigureRow(label, books_cents, note, problem=True)
    if on_the_way:
        note = f"File {file_number}: {on_the_way} trust change(s) still on their way."
        return FigureRow(label, books_cents, note)
    difference = format_cents(abs(books_cents - expected))
    side = "more" if books_cents > expected else "less"
    note = (
        f"File {file_number}: the books hold {difference} {side} than this case counts in "
        f"trust ({format_cents(expected)}{pending})."
    )
    return FigureRow(label, books_cents, note, problem=True)


def deposit_problems(case: Case) -> list[str]:
    """Why a deposit whose receipt the books voided still stands here, per deposit."""
    return [
        f"Check {number}: {problem}"
        for number, problem in DepositLink.objects.filter(deposit__case=case)
        .exclude(problem="")
        .values_list("deposit__check_number", "problem")
    ]


def books_trust_row(case: Case, held_cents: int) -> FigureRow | None:
    """The books' trust balance for the case's file, beside the cases side's own figure,
    with any difference flagged. As the worker last read it, with its age: a page never
    asks the books (ADR 0008); one too old is read again in the background."""
    rows = books_trust_rows([case], {case.pk: held_cents})
    return rows.get(case.pk)


def _last_trust_change(case_ids: list[int]) -> dict[int, Any]:
    """When a change of each case's trust last reached the books."""
    return dict(
        OutboxItem.objects.filter(
            case_id__in=case_ids, kind__in=TRUST_KINDS, state=OutboxState.SENT
        )
        .values_list("case_id")
        .annotate(last=Max("sent_at"))
        .values_list("case_id", "last")
    )


def books_trust_rows(cases: list[Case], held_cents: dict[int, int]) -> dict[int, FigureRow]:
    """:func:`books_trust_row` for a page of cases, from what the worker last read."""
    if not cases:
        return {}
    conn = connection_of(cases[0].firm)
    if conn is None or conn.trust_account_id is None:
        return {}
    label = "Trust in the books"
    ids = [c.pk for c in cases]
    links = {link.case_id: link for link in CaseLink.objects.filter(case_id__in=ids)}
    out: dict[int, FigureRow] = {}
    for case in cases:
        if case.pk not in links:
            note = "The case has no file in the books yet (nothing sent for it)."
            out[case.pk] = FigureRow(label, None, note, problem=held_cents.get(case.pk, 0) != 0)
    linked = [c for c in cases if c.pk in links]
    if not linked:
        return out
    can_read = connection_view(conn).connected
    again = " It is being read again." if can_read else ""
    if connection_view(conn).needs_reauth:
        again = " The integration needs re-authentication to read it again."
    in_flight, on_the_way, refused = _trust_in_flight([c.pk for c in linked])
    changed = _last_trust_change([c.pk for c in linked])
    ask = False
    for case in linked:
        link = links[case.pk]
        read_at = balance_read_at(link, conn)
        ask = ask or balance_stale(read_at)
        if read_at is None:
            note = f"File {link.books_file_number}: not read from the books yet.{again}"
            out[case.pk] = FigureRow(label, None, note)
            continue
        when = f" Read from the books {age_label(read_at)}."
        if link.books_trust_cents is None:
            note = f"File {link.books_file_number} is not in the books any more.{when}"
            out[case.pk] = FigureRow(label, None, note, problem=True)
            continue
        last_change = changed.get(case.pk)
        if last_change is not None and read_at < last_change:
            ask = True
            note = (
                f"File {link.books_file_number}: read from the books {age_label(read_at)}, "
                f"before the last change reached them.{again}"
            )
            out[case.pk] = FigureRow(label, link.books_trust_cents, note)
            continue
        row = trust_comparison(
            link.books_file_number,
            link.books_trust_cents,
            held_cents.get(case.pk, 0),
            in_flight.get(case.pk, 0),
            on_the_way.get(case.pk, 0),
            refused.get(case.pk, 0),
        )
        out[case.pk] = FigureRow(row.label, row.cents, row.note + when, row.problem)
    if ask and can_read:
        balances_request(conn)
    return out


@dataclass(frozen=True)
class PaymentState:
    """A To Be Disbursed payment's state in the books, for its line on the screens."""

    note: str
    problem: bool = False
    can_send_again: bool = False


def _held_behind(case_ids: list[int]) -> dict[int, OutboxItem]:
    """Each case's earliest failed or waiting item (what its later items wait behind)."""
    blockers: dict[int, OutboxItem] = {}
    for blocker in (
        OutboxItem.objects.filter(
            case_id__in=case_ids, state__in=(OutboxState.FAILED, OutboxState.WAITING)
        )
        .only("pk", "case_id", "kind", "state", "error_message")
        .order_by("-pk")
    ):
        blockers[blocker.case_id] = blocker
    return blockers


def payment_states(case_ids: list[int]) -> dict[int, PaymentState]:
    """Each sent payment's trust check (by trust item id), with the books' refusal if any."""
    out: dict[int, PaymentState] = {}
    latest: dict[int, OutboxItem] = {}
    for sent in (
        OutboxItem.objects.filter(case_id__in=case_ids, kind=OutboxKind.TRUST_CHECK)
        .only("pk", "trust_item_id", "case_id", "state", "error_message")
        .order_by("pk")
    ):
        latest[sent.trust_item_id or 0] = sent
    blockers = _held_behind(case_ids)
    for link in TrustItemLink.objects.filter(trust_item__case_id__in=case_ids):
        item = latest.get(link.trust_item_id)
        ahead = blockers.get(item.case_id) if item is not None else None
        if item is not None and item.state == OutboxState.FAILED:
            out[link.trust_item_id] = PaymentState(
                f"Refused by the books: {item.error_message}", problem=True
            )
        elif item is not None and item.state == OutboxState.WAITING:
            out[link.trust_item_id] = PaymentState("Waiting for re-authentication")
        elif (
            item is not None
            and item.state == OutboxState.QUEUED
            and ahead is not None
            and ahead.pk < item.pk
        ):
            out[link.trust_item_id] = PaymentState(
                f"Held back behind an earlier {ahead.get_kind_display().lower()} "
                f"({ahead.error_message})",
                problem=True,
            )
        elif item is not None and item.state in (OutboxState.QUEUED, OutboxState.SENDING):
            out[link.trust_item_id] = PaymentState("Sending to the books")
        elif link.check_state == CheckState.PRINTED:
            out[link.trust_item_id] = PaymentState(f"Trust check #{link.check_number}")
        elif link.check_state == CheckState.VOID:
            out[link.trust_item_id] = PaymentState(link.problem, True, can_send_again=True)
        elif link.check_state == CheckState.MISSING:
            out[link.trust_item_id] = PaymentState(link.problem, problem=True)
        elif link.books_check_id:
            out[link.trust_item_id] = PaymentState(
                f"Trust check request {link.books_check_id}, queued for printing in the books"
            )
    return out


@dataclass(frozen=True)
class FeeInvoiceState:
    invoice: FeeInvoice | None
    note: str
    problem: bool = False


def fee_invoice_states(case_ids: list[int]) -> dict[int, FeeInvoiceState]:
    """Each case's latest fee invoice and how it stands (on its way, refused, its stage)."""
    invoices: dict[int, FeeInvoice] = {}
    for invoice in FeeInvoice.objects.filter(case_id__in=case_ids).order_by("pk"):
        invoices[invoice.case_id] = invoice
    items = {
        i.fee_invoice_id: i
        for i in OutboxItem.objects.filter(
            fee_invoice_id__in=[i.pk for i in invoices.values()]
        ).only("pk", "fee_invoice_id", "state", "error_message")
    }
    out = {}
    for case_id, invoice in invoices.items():
        item = items.get(invoice.pk)
        if item is not None and item.state == OutboxState.FAILED:
            out[case_id] = FeeInvoiceState(
                invoice, f"Fee invoice refused by the books: {item.error_message}", True
            )
        elif item is not None and item.state == OutboxState.WAITING:
            out[case_id] = FeeInvoiceState(invoice, "Fee invoice waiting for re-authentication")
        elif not invoice.stage:
            out[case_id] = FeeInvoiceState(invoice, "Fee invoice on its way to the books")
        else:
            label = InvoiceStage(invoice.stage).label.lower()
            waiting = (
                " (waiting for the accountant to release it in the books)"
                if invoice.stage in (InvoiceStage.REVIEW, InvoiceStage.RELEASE)
                else ""
            )
            out[case_id] = FeeInvoiceState(
                invoice,
                f"Fee invoice {invoice.books_invoice_number}: {label}{waiting}"
                + (f". {invoice.problem}" if invoice.problem else ""),
                problem=bool(invoice.problem),
            )
    return out


def last_reconciliation(firm: Firm) -> ReconciliationRun | None:
    """The firm-wide reconciliation last finished."""
    return (
        ReconciliationRun.objects.filter(firm=firm, case__isnull=True, finished_at__isnull=False)
        .select_related("case")
        .order_by("-started_at", "-pk")
        .first()
    )


def reconciliation_summary(run: ReconciliationRun) -> str:
    """What a reconciliation found, as a sentence."""
    if run.error:
        return f"Reconciliation failed: {run.error}"
    scope = f"case {run.case.number}" if run.case else f"{run.cases_compared} cases"
    flight = f"; {run.in_flight} item(s) still on their way" if run.in_flight else ""
    if run.differences == 0:
        return (
            f"Reconciliation clean: {scope}, {run.documents_compared} documents compared, "
            f"no difference{flight}."
        )
    return (
        f"Reconciliation found {run.differences} difference{'s' if run.differences != 1 else ''}"
        f" ({scope}, {run.documents_compared} documents compared{flight})."
    )
