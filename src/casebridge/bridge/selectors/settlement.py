"""The settlement money as the books hold it: a case's trust balance in the books beside the
cases side's, its deposits' problems, each payment's trust check and each case's fee
invoice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max

from casebridge.bridge.models import (
    ACH_NOTES,
    HELD_NOT_PAID,
    UNFINISHED,
    CaseLink,
    CheckState,
    DepositLink,
    FeeInvoice,
    InvoiceStage,
    OutboxItem,
    OutboxKind,
    OutboxState,
    TrustItemLink,
)
from casebridge.bridge.services.balances import balance_read_at, balance_stale, balances_request
from casebridge.bridge.services.connection import connection_of, connection_view
from casebridge.bridge.services.delivery import TRUST_KINDS
from casebridge.bridge.services.snapshot import age_label
from casebridge.cases.extensions import FigureRow
from casebridge.cases.models import Case, TrustItemStatus
from casebridge.core import words
from casebridge.core.money import format_cents


def _trust_in_flight(
    case_ids: list[int],
) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    """Per case: the trust checks the books already hold but the cases side does not yet
    count as paid out (queued for printing, or by ACH queued or in a file not yet sent: the
    books post a check when requested), how
    many trust changes are still on their way to the books, and how many were refused."""
    in_flight: dict[int, int] = {}
    for case_id, cents in TrustItemLink.objects.filter(
        trust_item__case_id__in=case_ids,
        check_state__in=HELD_NOT_PAID,
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
            f"File {file_number}: {words.plural(refused, 'trust change')} refused by the books "
            "(see the "
            f"payments and the sync queue); the books hold {format_cents(books_cents)}, this "
            f"case counts {format_cents(expected)}."
        )
        return FigureRow(label, books_cents, note, problem=True)
    if on_the_way:
        note = f"File {file_number}: {words.plural(on_the_way, 'trust change')} still on the way."
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
        elif link.check_state in ACH_NOTES:
            out[link.trust_item_id] = PaymentState(ACH_NOTES[CheckState(link.check_state)])
        elif link.books_check_id:
            # not its id in the books: it has no number a person knows until it is printed
            out[link.trust_item_id] = PaymentState(
                "Trust check requested, queued for printing in the books"
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
