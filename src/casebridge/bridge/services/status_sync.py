"""Check numbers and statuses back from the books: nightly (at the connection's hour) and on
demand, for one cost, the ticked costs or the whole Pending tab.

For every cost whose check is still queued or printed in the books' last known state:
printed -> the cost is Paid with the check number and print date; voided in the books ->
the cost is Void (also when it was already Paid: the vendor we improve on only synced voids
while Pending); gone from the books -> the link is marked "missing" with a problem shown on
the cost and counted in the run, never silently dropped.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from casebridge.bridge.client import BooksAuthLapsed, BooksCheck, BooksError
from casebridge.bridge.models import CheckState, CostLink, SyncRun, SyncTrigger
from casebridge.bridge.services.connection import (
    client_for,
    connection_mark_lapsed,
    require_connection,
    token_lapsed,
)
from casebridge.cases.models import CostStatus, Firm, User
from casebridge.cases.services import costs as cost_services
from casebridge.core import clock
from casebridge.core.db import update_rows

CHUNK = 1000


def _apply(
    firm: Firm,
    actor: User | None,
    link: CostLink,
    check: BooksCheck | None,
    run: SyncRun,
    printed: list[tuple[int, str, dt.date]],
) -> None:
    """Update ``link`` from the books' check (saved by the caller in bulk); a printed
    Pending cost is collected in ``printed`` to be paid in bulk, a void is applied now."""
    cost = link.cost
    if check is None:
        if link.check_state != CheckState.MISSING:
            link.check_state = CheckState.MISSING
            link.problem = (
                f"Check {link.books_check_id} is no longer in the books. Void this cost, or ask "
                "the accountant what happened to the check."
            )
        run.problems += 1
    elif check.status == "printed":
        link.check_state = CheckState.PRINTED
        link.check_number = check.check_number
        link.problem = ""
        if cost.status == CostStatus.PENDING and check.printed_on is not None:
            printed.append((cost.pk, str(check.check_number), check.printed_on))
    elif check.status == "voided":
        link.check_state = CheckState.VOID
        link.problem = ""
        if cost.status in (CostStatus.PENDING, CostStatus.PAID):
            cost_services.cost_void_by_check(
                firm=firm,
                actor=actor,
                cost_id=cost.pk,
                voided_on=check.voided_on or clock.today(),
                reason="Check voided in the books"
                + (f": {check.void_reason}" if check.void_reason else ""),
            )
            run.voided += 1
    else:
        link.check_state = CheckState.QUEUED
        link.problem = ""


def check_status_sync(
    *,
    firm: Firm,
    actor: User | None = None,
    trigger: str = SyncTrigger.MANUAL,
    cost_ids: list[int] | None = None,
) -> SyncRun:
    """Bring check statuses back for the firm's sent costs (or just ``cost_ids``)."""
    conn = require_connection(firm)
    run = SyncRun.objects.create(
        firm=firm, trigger=trigger, started_by=actor, started_at=clock.now()
    )
    links = (
        CostLink.objects.filter(firm=firm, books_check_id__isnull=False)
        .exclude(cost__status=CostStatus.VOID)
        .select_related("cost")
        .order_by("pk")
    )
    if cost_ids is not None:
        links = links.filter(cost_id__in=cost_ids)
    if token_lapsed(conn):
        run.error = "Re-authentication required: the books token has lapsed."
    else:
        client = client_for(conn)
        try:
            batch: list[CostLink] = []
            for link in links.iterator(chunk_size=CHUNK):
                batch.append(link)
                if len(batch) == CHUNK:
                    _sync_chunk(
                        firm,
                        actor,
                        client.checks_get([b.books_check_id or 0 for b in batch]),
                        batch,
                        run,
                    )
                    batch = []
            if batch:
                _sync_chunk(
                    firm,
                    actor,
                    client.checks_get([b.books_check_id or 0 for b in batch]),
                    batch,
                    run,
                )
        except BooksAuthLapsed:
            connection_mark_lapsed(conn=conn)
            run.error = "Re-authentication required: the books refused the token."
        except BooksError as exc:
            run.error = f"The books could not answer: {exc.message}"[:1000]
        finally:
            client.close()
    run.finished_at = clock.now()
    run.save()
    if cost_ids is None:
        type(conn).objects.filter(pk=conn.pk).update(last_check_sync_at=run.finished_at)
    return run


def _sync_chunk(
    firm: Firm, actor: User | None, checks: list[BooksCheck], links: list[CostLink], run: SyncRun
) -> None:
    by_id = {c.id: c for c in checks}
    printed: list[tuple[int, str, dt.date]] = []
    with transaction.atomic():
        for link in links:
            _apply(firm, actor, link, by_id.get(link.books_check_id or 0), run, printed)
            run.checked += 1
        CostLink.objects.filter(pk__in=[link.pk for link in links]).update(
            last_synced_at=clock.now()
        )
        update_rows(
            CostLink,
            [("check_state", "varchar"), ("check_number", "bigint"), ("problem", "varchar")],
            [(link.pk, link.check_state, link.check_number, link.problem) for link in links],
        )
        if printed:
            run.paid += cost_services.costs_record_checks_printed(
                firm=firm, actor=actor, printed=printed
            )
