"""Each cost's sync state, the sync queue with its counts per state, and a check-status sync
as a sentence."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.db.models import Count, Min, QuerySet

from casebridge.bridge.models import PENDING, CostLink, OutboxItem, OutboxKind, OutboxState, SyncRun
from casebridge.cases.models import Case, Firm
from casebridge.core import clock


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


#: How often the live count of costs on their way asks again (seconds), and the longest it
#: waits for a retry the delivery backs off to (the books unreachable for long).
POLL_SECONDS = 3
RETRY_POLL_MOST_SECONDS = 300
#: How long after a retry's time the count asks again (the worker's pass takes a moment).
RETRY_POLL_LATER_SECONDS = 2


@dataclass(frozen=True)
class SendProgress:
    """The firm's costs on their way to the books: queued, being sent now, waiting for
    re-authentication, failed. ``in_flight`` (queued or sending) is what the live count
    shows; at 0 it stops polling. ``retry_at``: when none is being sent and every queued one
    waits for a retry (its next attempt still to come), the first retry; the count then asks
    again only then, ``poll_seconds`` from now, instead of every 3 s."""

    queued: int
    sending: int
    waiting: int
    failed: int
    retry_at: dt.datetime | None = None
    poll_seconds: int = POLL_SECONDS

    @property
    def in_flight(self) -> int:
        return self.queued + self.sending


def send_progress(firm: Firm) -> SendProgress:
    """One indexed count per state (firm, state) of the firm's cost sends not yet delivered,
    with the earliest next attempt of the queued ones."""
    rows = list(
        OutboxItem.objects.filter(
            firm=firm,
            kind=OutboxKind.COST_SEND,
            state__in=(
                OutboxState.QUEUED,
                OutboxState.SENDING,
                OutboxState.WAITING,
                OutboxState.FAILED,
            ),
        )
        .values_list("state")
        .annotate(n=Count("pk"), first=Min("next_attempt_at"))
        .order_by()
        .values_list("state", "n", "first")
    )
    counts = {state: n for state, n, _ in rows}
    first_queued = next((first for state, _, first in rows if state == OutboxState.QUEUED), None)
    retry_at, poll = None, POLL_SECONDS
    now = clock.now()
    if not counts.get(OutboxState.SENDING) and first_queued is not None and first_queued > now:
        retry_at = first_queued
        wait = math.ceil((first_queued - now).total_seconds()) + RETRY_POLL_LATER_SECONDS
        poll = min(RETRY_POLL_MOST_SECONDS, max(POLL_SECONDS, wait))
    return SendProgress(
        queued=counts.get(OutboxState.QUEUED, 0),
        sending=counts.get(OutboxState.SENDING, 0),
        waiting=counts.get(OutboxState.WAITING, 0),
        failed=counts.get(OutboxState.FAILED, 0),
        retry_at=retry_at,
        poll_seconds=poll,
    )


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
