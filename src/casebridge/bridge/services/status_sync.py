"""Check numbers and statuses back from the books: nightly (at the connection's hour) and on
demand, for one cost, the ticked costs or the whole Pending tab. A firm-wide run also
brings back the trust checks of payments pushed to disbursement, the stages of fee
invoices (see the end of this module) and the files' trust balances. Only the worker
runs it: a user's sync is queued (:func:`sync_request`) and polled (ADR 0008).

For every cost whose check is still queued or printed in the books' last known state:
printed -> the cost is Paid with the check number and print date; paid by ACH, each state
of the payment is kept (queued, in a file, sent, cleared; ADR 0055) and sent -> the cost
is Paid by ACH with the payment's trace number and the day it was sent; returned by the bank
-> the cost is owed again (Pending, its payment cleared, a problem naming the bank's
reason), as a returned trust payment is; voided in the books -> the cost is Void (also when
it was already Paid: the vendor we improve on only synced voids while Pending); gone from
the books -> the link is marked "missing" with a problem shown on the cost and counted in
the run, never silently dropped.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from casebridge.bridge.client import (
    BooksAuthLapsed,
    BooksCheck,
    BooksClient,
    BooksError,
)
from casebridge.bridge.models import (
    ACH_STATES,
    PAID_BY_ACH,
    CheckState,
    Connection,
    ConnectionStatus,
    CostLink,
    DepositLink,
    FeeInvoice,
    InvoiceStage,
    RunState,
    SyncRun,
    SyncTrigger,
    TrustItemLink,
)
from casebridge.bridge.services.balances import balances_read
from casebridge.bridge.services.connection import (
    client_for,
    connection_mark_lapsed,
    require_connection,
    token_lapsed,
)
from casebridge.bridge.services.delivery import ach_reference, check_state_of, invoice_settle
from casebridge.bridge.services.worker import ask, take
from casebridge.cases.models import Cost, CostStatus, Firm, User
from casebridge.cases.services import costs as cost_services
from casebridge.cases.services import disbursement as disbursement_services
from casebridge.cases.services import settlement as settlement_services
from casebridge.core import clock, timezones
from casebridge.core.api.lookups import require_in_firm
from casebridge.core.db import id_set, update_rows
from casebridge.core.errors import DomainError

CHUNK = 1000


def _void_reason(check: BooksCheck) -> str:
    what = "ACH payment" if check.method == "ach" else "Check"
    return f"{what} voided in the books" + (f": {check.void_reason}" if check.void_reason else "")


def _paid_by_ach(check: BooksCheck) -> bool:
    """Sent to the bank by ACH: the payment is made (as a check is when printed)."""
    return check_state_of(check) in PAID_BY_ACH and check.ach_sent_on is not None


def _returned_after_sent(check: BooksCheck, cost: Cost) -> bool:
    """The bank returned the cost's ACH payment after it was sent (the cost Paid, or the
    sync saw it only returned): the cost is owed again, where a voided check voids it."""
    owed = cost.status in (CostStatus.PAID, CostStatus.PENDING)
    return owed and check.method == "ach" and check.ach_status == "returned"


def _apply(
    firm: Firm,
    actor: User | None,
    link: CostLink,
    check: BooksCheck | None,
    run: SyncRun,
    printed: list[tuple[int, str, dt.date]],
    sent_by_ach: list[tuple[int, str, dt.date]],
) -> None:
    """Update ``link`` from the books' check (saved by the caller in bulk); a printed
    Pending cost is collected in ``printed`` to be paid in bulk, one whose ACH payment was
    sent in ``sent_by_ach``; a void is applied now."""
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
    elif check.status == "voided" and _returned_after_sent(check, cost):
        # the vendor is still unpaid: the cost is owed again, not void (the books voided
        # the payment's check, which takes it out of their advanced costs)
        if link.check_state != CheckState.VOID or cost.status == CostStatus.PAID:
            run.voided += 1
        link.check_state = CheckState.VOID
        link.problem = (
            "ACH payment returned by the bank"
            + (f" ({check.void_reason})" if check.void_reason else "")
            + "; the vendor is still owed. Ask the accountant how it will be paid, or void "
            "this cost."
        )[:500]
        if cost.status == CostStatus.PAID:
            cost_services.cost_reopen_by_return(
                firm=firm, actor=actor, cost_id=cost.pk, reason=link.problem
            )
    elif check.status == "voided":
        link.check_state = CheckState.VOID
        link.problem = ""
        if cost.status in (CostStatus.PENDING, CostStatus.PAID):
            cost_services.cost_void_by_check(
                firm=firm,
                actor=actor,
                cost_id=cost.pk,
                voided_on=check.voided_on or clock.today(),
                reason=_void_reason(check),
            )
            run.voided += 1
    else:
        # queued for printing; or paid by ACH: queued, in a file, sent, cleared (ADR 0055)
        link.check_state = check_state_of(check)
        link.problem = ""
        if cost.status == CostStatus.PENDING and _paid_by_ach(check):
            assert check.ach_sent_on is not None
            sent_by_ach.append((cost.pk, check.ach_trace_number, check.ach_sent_on))


def scheduled_syncs_due(*, now: dt.datetime) -> list[int]:
    """The connected firms whose nightly check-status sync is due at ``now``: the firm's
    wall clock (its own time zone) shows the connection's hour, and no scheduled sync ran
    since the firm's midnight. On a daylight-saving day that skips the hour, the first hour
    after the gap stands for it; on one that repeats it, the sync runs once."""
    due: list[int] = []
    connected = Connection.objects.filter(status=ConnectionStatus.CONNECTED).select_related("firm")
    for conn in connected:
        zone = timezones.zone(conn.firm.time_zone)
        local = now.astimezone(zone)
        wanted = dt.datetime.combine(local.date(), dt.time(conn.check_sync_hour), tzinfo=zone)
        # a wall time in a spring-forward gap does not exist: the round trip through UTC
        # moves it to the first hour after the gap
        if local.hour != wanted.astimezone(dt.UTC).astimezone(zone).hour:
            continue
        midnight = dt.datetime.combine(local.date(), dt.time(0), tzinfo=zone)
        next_midnight = dt.datetime.combine(
            local.date() + dt.timedelta(days=1), dt.time(0), tzinfo=zone
        )
        if not SyncRun.objects.filter(
            firm_id=conn.firm_id,
            trigger=SyncTrigger.SCHEDULED,
            started_at__gte=midnight,
            started_at__lt=next_midnight,
        ).exists():
            due.append(conn.firm_id)
    return due


def sync_request(*, firm: Firm, actor: User | None, cost_ids: list[int] | None = None) -> SyncRun:
    """On demand (a screen, the API): queue a check-status sync of the firm's sent costs
    (or just ``cost_ids``) for the worker, which runs it (:func:`sync_run_execute`); the
    run is returned queued, to be polled. The books are never asked here (ADR 0008). A
    cost id of another firm is 404, like one that does not exist, before anything is
    written: never a reason to widen the sync."""
    require_connection(firm)
    if cost_ids is not None:
        require_in_firm(firm, [(Cost, pk, f"cost_ids[{i}]") for i, pk in enumerate(cost_ids)])
    now = clock.now()
    with transaction.atomic():
        run = SyncRun.objects.create(
            firm=firm,
            trigger=SyncTrigger.MANUAL,
            state=RunState.QUEUED,
            cost_ids=list(dict.fromkeys(cost_ids)) if cost_ids is not None else None,
            started_by=actor,
            started_at=now,
        )
        ask("sync", run.pk)
    return run


def sync_run_execute(*, run_id: int) -> SyncRun | None:
    """On the worker: take a queued sync run and do it (None when another took it)."""
    if not take(SyncRun, run_id, started_at=clock.now()):
        return None
    run = SyncRun.objects.select_related("firm", "started_by").get(pk=run_id)
    return _sync(run, run.started_by, run.cost_ids)


def check_status_sync(
    *,
    firm: Firm,
    actor: User | None = None,
    trigger: str = SyncTrigger.MANUAL,
    cost_ids: list[int] | None = None,
) -> SyncRun:
    """On the worker: bring check statuses back for the firm's sent costs (or just
    ``cost_ids``, each of which must be a cost of this firm: another firm's is 404, like
    one that does not exist, never a reason to widen the sync) now (the scheduled sync; a
    user's goes through :func:`sync_request`)."""
    require_connection(firm)
    if cost_ids is not None:
        require_in_firm(firm, [(Cost, pk, f"cost_ids[{i}]") for i, pk in enumerate(cost_ids)])
    run = SyncRun.objects.create(
        firm=firm,
        trigger=trigger,
        state=RunState.RUNNING,
        cost_ids=cost_ids,
        started_by=actor,
        started_at=clock.now(),
    )
    return _sync(run, actor, cost_ids)


def _sync(run: SyncRun, actor: User | None, cost_ids: list[int] | None) -> SyncRun:
    firm = run.firm
    try:
        conn = require_connection(firm)
    except DomainError as exc:  # deactivated since it was asked for
        run.error = exc.message[:1000]
        return _finish(run)
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
            if cost_ids is None:
                _sync_receipts(firm, client, run)
                _sync_trust_checks(firm, actor, client, run)
                _sync_fee_invoices(firm, actor, client, run)
                balances_read(conn, client)
        except BooksAuthLapsed:
            connection_mark_lapsed(conn=conn)
            run.error = "Re-authentication required: the books refused the token."
        except BooksError as exc:
            run.error = f"The books could not answer: {exc.message}"[:1000]
        finally:
            client.close()
    _finish(run)
    if cost_ids is None:
        type(conn).objects.filter(pk=conn.pk).update(last_check_sync_at=run.finished_at)
    return run


def _finish(run: SyncRun) -> SyncRun:
    run.finished_at = clock.now()
    run.state = RunState.FAILED if run.error else RunState.DONE
    run.save()
    return run


def _sync_chunk(
    firm: Firm, actor: User | None, checks: list[BooksCheck], links: list[CostLink], run: SyncRun
) -> None:
    by_id = {c.id: c for c in checks}
    printed: list[tuple[int, str, dt.date]] = []
    sent_by_ach: list[tuple[int, str, dt.date]] = []
    with transaction.atomic():
        for link in links:
            _apply(
                firm, actor, link, by_id.get(link.books_check_id or 0), run, printed, sent_by_ach
            )
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
        if sent_by_ach:
            run.paid += cost_services.costs_record_checks_printed(
                firm=firm, actor=actor, printed=sent_by_ach, method="ach"
            )


# --- Settlement: receipts, trust checks and fee invoices ---------------------------------------


def _sync_receipts(firm: Firm, client: BooksClient, run: SyncRun) -> None:
    """A trust receipt voided in the books (a bounced check recorded there) voids its
    deposit here, on the same date. When this side cannot (payments are staged against the
    money, or the case is disbursing), the link says why and the run counts a problem."""
    links = {
        link.external_ref: link
        for link in DepositLink.objects.filter(
            firm=firm, receipt_state="posted", deposit__voided_on__isnull=True
        )
    }
    if not links:
        return
    for doc in client.external_documents("receipt", "cases-deposit-"):
        link = links.get(doc.external_ref)
        if link is None or doc.status != "voided":
            continue
        run.checked += 1
        try:
            settlement_services.deposit_void_by_integration(
                firm=firm,
                deposit_id=link.deposit_id,
                on=doc.void_date or clock.today(),
                reason="Trust receipt voided in the books",
            )
        except DomainError as exc:
            DepositLink.objects.filter(pk=link.pk).update(
                problem=f"The books voided this deposit's trust receipt, but it cannot be voided "
                f"here: {exc.message}"[:500]
            )
            run.problems += 1
            continue
        DepositLink.objects.filter(pk=link.pk).update(receipt_state="voided", problem="")
        run.voided += 1


def _sync_trust_checks(firm: Firm, actor: User | None, client: BooksClient, run: SyncRun) -> None:
    """Printed -> the payment is Disbursed with the check number; voided in the books -> the
    payment is owed again (back to To Be Disbursed if it was Disbursed) and can be sent
    again; gone from the books -> a problem on the payment, counted in the run.

    The books are asked outside any transaction; the answers are written only to links that
    have not changed since they were read (another sync, or a Send again, may have moved on
    meanwhile: a stale answer must not turn a new check back into a void one)."""
    links = list(
        TrustItemLink.objects.filter(
            firm=firm,
            books_check_id__isnull=False,
            check_state__in=(
                CheckState.QUEUED,
                CheckState.PRINTED,
                CheckState.MISSING,
                *ACH_STATES,
            ),
        ).order_by("pk")
    )
    if not links:
        return
    seen = {link.pk: (link.external_ref, link.books_check_id, link.check_state) for link in links}
    by_id = {c.id: c for c in client.checks_get([link.books_check_id or 0 for link in links])}
    printed: dict[int, tuple[int, str, dt.date]] = {}
    sent_by_ach: dict[int, tuple[int, str, dt.date]] = {}
    reopen: dict[int, int] = {}
    now = clock.now()
    for link in links:
        check = by_id.get(link.books_check_id or 0)
        run.checked += 1
        if check is None:
            link.check_state = CheckState.MISSING
            link.problem = (
                f"Check {link.books_check_id} is no longer in the books; ask the accountant "
                "what happened to it."
            )
            run.problems += 1
        elif check.status == "printed":
            link.check_state, link.check_number, link.problem = (
                CheckState.PRINTED,
                check.check_number,
                "",
            )
            if check.printed_on is not None:
                printed[link.pk] = (link.trust_item_id, str(check.check_number), check.printed_on)
        elif check.status == "voided":
            link.check_state = CheckState.VOID
            link.problem = (
                ("ACH payment" if check.method == "ach" else "Check")
                + " voided in the books"
                + (f" ({check.void_reason})" if check.void_reason else "")
                + "; the money is back in trust. Send it again from Client Trust Management."
            )
            reopen[link.pk] = link.trust_item_id
            run.voided += 1
        else:
            # queued for printing; or paid by ACH: queued, in a file, sent, cleared
            link.check_state, link.problem = check_state_of(check), ""
            if _paid_by_ach(check):
                assert check.ach_sent_on is not None
                sent_by_ach[link.pk] = (
                    link.trust_item_id,
                    ach_reference(check),
                    check.ach_sent_on,
                )
        link.last_synced_at = now
    with transaction.atomic():
        unchanged = {
            pk
            for pk, ref, check_id, state in TrustItemLink.objects.select_for_update()
            .filter(pk__in=list(seen))
            .values_list("pk", "external_ref", "books_check_id", "check_state")
            if seen[pk] == (ref, check_id, state)
        }
        kept = [link for link in links if link.pk in unchanged]
        TrustItemLink.objects.filter(pk__in=id_set(link.pk for link in kept)).update(
            last_synced_at=now
        )
        update_rows(  # not bulk_update: its CASE per field per row grew as the square
            TrustItemLink,
            [("check_state", "varchar"), ("check_number", "bigint"), ("problem", "varchar")],
            [(link.pk, link.check_state, link.check_number, link.problem) for link in kept],
        )
        if any(pk in unchanged for pk in printed):
            run.disbursed += disbursement_services.trust_items_record_checks_printed(
                firm=firm,
                actor=actor,
                printed=[row for pk, row in printed.items() if pk in unchanged],
            )
        if any(pk in unchanged for pk in sent_by_ach):
            run.disbursed += disbursement_services.trust_items_record_checks_printed(
                firm=firm,
                actor=actor,
                printed=[row for pk, row in sent_by_ach.items() if pk in unchanged],
                method="ach",
            )
        if any(pk in unchanged for pk in reopen):
            disbursement_services.trust_items_reopen(
                firm=firm,
                actor=actor,
                item_ids=[item for pk, item in reopen.items() if pk in unchanged],
                reason="its check was voided in the books",
            )


def _sync_fee_invoices(firm: Firm, actor: User | None, client: BooksClient, run: SyncRun) -> None:
    """Each fee invoice's stage (review, release, final, voided) from the books; final ->
    its payments are Disbursed; voided after final -> owed again. One bulk read finds the
    invoices whose stage moved; only those are read in full (for the date they became
    final) and written, each only if this side has not moved on meanwhile."""
    invoices = {
        invoice.books_invoice_id: invoice
        for invoice in FeeInvoice.objects.filter(firm=firm, books_invoice_id__isnull=False)
        .exclude(stage=InvoiceStage.VOIDED)
        .order_by("pk")
    }
    if not invoices:
        return
    docs = {d.id: d for d in client.external_documents("invoice", "cases-fee-invoice-")}
    for books_id, invoice in invoices.items():
        run.checked += 1
        doc = docs.get(books_id or 0)
        if doc is None:
            FeeInvoice.objects.filter(pk=invoice.pk).update(
                problem=f"Invoice {invoice.books_invoice_number} is no longer in the books.",
                last_synced_at=clock.now(),
            )
            run.problems += 1
            continue
        if doc.status == invoice.stage:
            continue
        books = client.invoice_get(doc.id)
        with transaction.atomic():
            current = (
                FeeInvoice.objects.select_for_update()
                .select_related("firm")
                .filter(pk=invoice.pk, stage=invoice.stage, books_invoice_id=books_id)
                .first()
            )
            if current is not None and invoice_settle(current, books):
                run.invoices_final += 1
