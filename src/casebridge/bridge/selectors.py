"""Reads for the bridge's screens and API: the connection card, each cost's sync state,
the sync queue with its counts per state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet

from casebridge.bridge.client import BooksError
from casebridge.bridge.models import (
    UNFINISHED,
    CaseLink,
    Connection,
    ConnectionStatus,
    CostLink,
    OutboxItem,
    OutboxKind,
    OutboxState,
    SyncRun,
)
from casebridge.bridge.services.connection import client_for, connection_of, connection_view
from casebridge.bridge.services.readiness import readiness_last
from casebridge.cases.extensions import FigureRow
from casebridge.cases.models import Case, Firm, Permission, User
from casebridge.core.errors import DomainError
from casebridge.core.money import format_cents

#: Seconds a page waits for the books' trust balance before saying it could not be read.
TRUST_READ_TIMEOUT = 3.0


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
        "case", "cost", "cost__payee", "deposit"
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
    if run.error:
        return f"Check status sync failed: {run.error}"
    problems = f"{run.problems} problem{'s' if run.problems != 1 else ''}"
    return f"Check status synced: {run.paid} paid, {run.voided} voided, {problems}."


def books_trust_row(case: Case, held_cents: int) -> FigureRow | None:
    """The books' trust balance for the case's file, beside the cases side's own figure,
    with any difference flagged. Read live with a short timeout: a page never waits long on
    the books, and a failure is shown, not raised."""
    conn = connection_of(case.firm)
    if conn is None or conn.trust_account_id is None:
        return None
    label = "Trust in the books"
    link = CaseLink.objects.filter(case=case).first()
    if link is None:
        note = "The case has no file in the books yet (nothing sent for it)."
        return FigureRow(label, None, note, problem=held_cents != 0)
    if connection_view(conn).needs_reauth:
        return FigureRow(label, None, "Not read: the books integration needs re-authentication.")
    try:
        client = client_for(conn, timeout=TRUST_READ_TIMEOUT)
    except DomainError as exc:
        return FigureRow(label, None, f"Not read: {exc.message}", problem=True)
    try:
        books_cents = client.file_trust_balance(link.books_file_id, conn.trust_account_id)
    except BooksError as exc:
        return FigureRow(label, None, f"Could not be read: {exc.message}", problem=True)
    finally:
        client.close()
    on_the_way = OutboxItem.objects.filter(
        case=case,
        kind__in=(OutboxKind.DEPOSIT_RECEIPT, OutboxKind.DEPOSIT_VOID),
        state__in=UNFINISHED,
    ).count()
    if books_cents == held_cents:
        return FigureRow(label, books_cents, f"File {link.books_file_number}: matches.")
    if on_the_way:
        note = f"File {link.books_file_number}: {on_the_way} deposit change(s) still on their way."
        return FigureRow(label, books_cents, note)
    difference = format_cents(abs(books_cents - held_cents))
    side = "more" if books_cents > held_cents else "less"
    note = (
        f"File {link.books_file_number}: the books hold {difference} {side} than this case "
        f"counts in trust ({format_cents(held_cents)})."
    )
    return FigureRow(label, books_cents, note, problem=True)
