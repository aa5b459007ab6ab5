"""The bridge as the cases side sees it: the object plugged into
:mod:`casebridge.cases.extensions` (ADR 0005), and the "Send" bulk action of Costs
Management. Everything here is thin: it calls the bridge's services and selectors."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse

from casebridge.bridge.models import ACH_NOTES, CheckState, OutboxState
from casebridge.bridge.selectors.connection import has_connection, is_connected, panel_context
from casebridge.bridge.selectors.queue import (
    cases_with_links,
    cost_sync_info,
    send_progress,
    sync_run_summary,
)
from casebridge.bridge.selectors.reconciliation import last_reconciliation, reconciliation_summary
from casebridge.bridge.selectors.settlement import (
    books_trust_row,
    books_trust_rows,
    deposit_problems,
    fee_invoice_states,
    payment_states,
)
from casebridge.bridge.services import outbox
from casebridge.bridge.services import settlement as settlement_services
from casebridge.bridge.services.connection import connection_of, connection_view
from casebridge.cases import extensions
from casebridge.cases.extensions import (
    Banner,
    CostExtras,
    DashboardCard,
    FigureRow,
    RowAction,
    TrustCaseExtras,
)
from casebridge.cases.models import (
    Case,
    Cost,
    CostStatus,
    Deposit,
    Permission,
    TrustItem,
    TrustItemStatus,
    User,
)
from casebridge.cases.services.disbursement import INVOICED_KINDS
from casebridge.core import words
from casebridge.core.errors import DomainError

KEY = "books"


class BooksIntegration:
    key = KEY

    def cost_voided(self, *, cost: Cost, actor: User | None) -> None:
        outbox.cost_void_queue(cost=cost, actor=actor)

    def cost_edit_refusal(self, *, cost: Cost, fields: Iterable[str]) -> str | None:
        return outbox.cost_edit_refusal(cost=cost, fields=list(fields))

    def deposit_recorded(self, *, deposit: Deposit, actor: User | None) -> None:
        outbox.deposit_receipt_queue(deposit=deposit, actor=actor)

    def deposit_voided(self, *, deposit: Deposit, actor: User | None) -> None:
        outbox.deposit_void_queue(deposit=deposit, actor=actor)

    def disbursement_pushed(
        self, *, case: Case, items: Sequence[TrustItem], actor: User | None
    ) -> None:
        settlement_services.disbursement_queue(case=case, items=items, actor=actor)

    def trust_case_extras(
        self, user: User, cases: Sequence[Case], held_cents: dict[int, int]
    ) -> dict[int, TrustCaseExtras]:
        if not cases or not has_connection(user.firm):
            return {}
        ids = [c.pk for c in cases]
        figures = books_trust_rows(list(cases), held_cents)
        payments = payment_states(ids)
        invoices = fee_invoice_states(ids)
        can_act = user.has_permission(Permission.DEPOSIT_SETTLEMENT) and is_connected(user.firm)
        waiting = _invoiceable(ids) if can_act else set()
        items_of: dict[int, list[TrustItem]] = {}
        for item in TrustItem.objects.filter(case_id__in=ids).order_by("pk"):
            items_of.setdefault(item.case_id, []).append(item)
        out: dict[int, TrustCaseExtras] = {}
        for case in cases:
            item_notes: dict[int, CostExtras] = {}
            for item in items_of.get(case.pk, []):
                state = payments.get(item.pk)
                if state is None:
                    if item.paid_direct:
                        item_notes[item.pk] = CostExtras(note="Paid direct: not sent as a check")
                    continue
                actions: tuple[RowAction, ...] = ()
                if state.can_send_again and can_act:
                    actions = (
                        RowAction(
                            "Send again",
                            reverse("bridge:trust_check_send_again", args=[item.pk]),
                            aria_label=f"Send the check to {item.payee_name} again",
                        ),
                    )
                item_notes[item.pk] = CostExtras(state.note, state.problem, actions)
            invoice = invoices.get(case.pk)
            live = (
                invoice is not None
                and invoice.invoice is not None
                and (invoice.invoice.stage != "voided")
            )
            case_actions: tuple[RowAction, ...] = ()
            if case.pk in waiting and not live:
                case_actions = (
                    RowAction(
                        "Create fee invoice",
                        reverse("bridge:fee_invoice_create", args=[case.pk]),
                        aria_label=f"Create the fee invoice of case {case.number}",
                    ),
                )
            if user.has_permission(Permission.ADMIN_SETTINGS):
                case_actions += (
                    RowAction(
                        "Reconcile",
                        reverse("bridge:reconciliation") + f"?case={case.pk}",
                        aria_label=f"Reconciliation of case {case.number}",
                        popup=False,
                    ),
                )
            row = figures.get(case.pk)
            out[case.pk] = TrustCaseExtras(
                figures=(row,) if row is not None else (),
                item_notes=item_notes,
                note=invoice.note if invoice else "",
                problem=bool(invoice and invoice.problem),
                actions=case_actions,
            )
        return out

    def home_notices(self, request: HttpRequest, user: User) -> list[Banner]:
        if not user.has_permission(Permission.ADMIN_SETTINGS) or not has_connection(user.firm):
            return []
        run = last_reconciliation(user.firm)
        url = reverse("bridge:reconciliation")
        if run is None:
            return [Banner("warning", "Books reconciliation: not run yet.", url, "Run it now")]
        when = words.format_moment(run.started_at)
        if run.is_clean:
            return [
                Banner(
                    "ok",
                    f"Books reconciliation clean ({when}): "
                    f"{words.plural(run.cases_compared, 'case')}, "
                    f"{words.plural(run.documents_compared, 'document')}, no difference.",
                    url,
                    "Open",
                )
            ]
        return [
            Banner(
                "error",
                f"Books reconciliation ({when}): {reconciliation_summary(run)}",
                url,
                "See the differences",
            )
        ]

    def dashboard_cards(self, user: User) -> list[DashboardCard]:
        """The last reconciliation's differences, for those who may open it."""
        if not user.has_permission(Permission.ADMIN_SETTINGS) or not has_connection(user.firm):
            return []
        run = last_reconciliation(user.firm)
        url = reverse("bridge:reconciliation")
        label = "Reconciliation differences"
        if run is None:
            return [DashboardCard(label, None, "Not run yet", url, problem=True)]
        note = f"Last run {words.format_moment(run.started_at)}"  # the firm's time
        if run.error:
            return [DashboardCard(label, None, f"{note}: it failed", url, problem=True)]
        return [DashboardCard(label, run.differences, note, url, problem=run.differences > 0)]

    def trust_page_links(self, user: User) -> list[RowAction]:
        if not is_connected(user.firm):
            return []
        links = []
        if user.has_permission(Permission.DEPOSIT_SETTLEMENT):
            links.append(RowAction("Sync from the books", reverse("bridge:settlement_sync")))
        if user.has_permission(Permission.ADMIN_SETTINGS):
            links += [
                RowAction("Reconciliation", reverse("bridge:reconciliation"), popup=False),
                RowAction("Three-way reconciliation", reverse("bridge:three_way"), popup=False),
            ]
        return links

    def nav_links(self, user: User) -> list[RowAction]:
        if not user.has_permission(Permission.COSTS_MANAGEMENT) or not has_connection(user.firm):
            return []
        return [RowAction("Sync queue", reverse("bridge:queue"), popup=False)]

    def costs_progress_html(self, request: HttpRequest, user: User) -> str:
        if not user.has_permission(Permission.COSTS_MANAGEMENT) or not has_connection(user.firm):
            return ""
        progress = send_progress(user.firm)
        if not progress.in_flight:
            return ""
        return render_to_string(
            "bridge/_send_progress.html", {"progress": progress}, request=request
        )

    def panel_html(self, request: HttpRequest, user: User) -> str:
        return render_to_string("bridge/_panel.html", panel_context(user), request=request)

    def banners(self, request: HttpRequest, user: User) -> list[Banner]:
        if not user.has_permission(Permission.ADMIN_SETTINGS):
            return []
        conn = connection_of(user.firm)
        if conn is None or conn.status == "deactivated":
            return []
        view = connection_view(conn)
        url = reverse("bridge:reauthenticate")
        if view.needs_reauth:
            return [
                Banner(
                    "error",
                    "Books integration: re-authentication required. Costs sent meanwhile wait "
                    "in the queue.",
                    url,
                    "Re-authenticate",
                )
            ]
        from django.conf import settings

        if view.days_left is not None and view.days_left <= settings.BRIDGE_REAUTH_WARNING_DAYS:
            days = view.days_left
            return [
                Banner(
                    "warning",
                    f"Books integration: the monthly re-authentication is due in {days} "
                    f"day{'s' if days != 1 else ''}.",
                    url,
                    "Re-authenticate now",
                )
            ]
        return []

    def trust_figures(self, user: User, case: Case, held_cents: int) -> list[FigureRow]:
        row = books_trust_row(case, held_cents)
        rows = [row] if row is not None else []
        for problem in deposit_problems(case):
            rows.append(FigureRow("Deposit in the books", None, problem, problem=True))
        invoice = fee_invoice_states([case.pk]).get(case.pk)
        if invoice is not None and invoice.invoice is not None:
            rows.append(
                FigureRow("Fee invoice", invoice.invoice.total_cents, invoice.note, invoice.problem)
            )
        return rows

    def cost_extras(self, user: User, costs: Sequence[Cost]) -> dict[int, CostExtras]:
        info = cost_sync_info([c.pk for c in costs])
        can_send = user.has_permission(Permission.COSTS_MANAGEMENT) and is_connected(user.firm)
        linked = cases_with_links({c.case_id for c in costs}) if can_send else set()
        out: dict[int, CostExtras] = {}
        for cost in costs:
            row = info.get(cost.pk)
            actions: list[RowAction] = []
            note, problem = "", False
            if row is not None:
                if row.item_state == OutboxState.FAILED:
                    note, problem = f"Send failed: {row.error}", True
                elif row.item_state == OutboxState.WAITING:
                    note = "Waiting for re-authentication"
                elif row.held_behind:
                    note, problem = f"Held back behind an earlier {row.held_behind}", True
                elif row.item_state == OutboxState.QUEUED:
                    note = "Queued for the books"
                elif row.item_state == OutboxState.SENDING:
                    note = "Sending to the books"
                elif row.check_state == CheckState.MISSING:
                    note, problem = row.problem, True
                elif row.check_state == CheckState.VOID and row.problem:
                    # an ACH payment the bank returned: the cost is owed again
                    note, problem = row.problem, True
                elif row.check_state in ACH_NOTES:
                    note = ACH_NOTES[CheckState(row.check_state)]
                elif row.check_id:
                    # the check's number once printed; its id in the books is no one's
                    note = (
                        f"Check {row.check_number} in the books"
                        if row.check_number
                        else "Check requested in the books, not printed yet"
                    )
                if cost.status == CostStatus.PENDING and row.check_id and can_send:
                    actions.append(
                        RowAction(
                            "Sync check status",
                            reverse("bridge:cost_sync", args=[cost.pk]),
                            aria_label=f"Sync check status of the {cost.described}",
                        )
                    )
            if can_send and cost.status == CostStatus.OPEN and cost.sent_at is None:
                actions.append(
                    RowAction(
                        "Send",
                        reverse("bridge:cost_send", args=[cost.pk]),
                        aria_label=f"Send {cost.described} to the books",
                    )
                )
                if cost.case_id in linked:
                    actions.append(
                        RowAction(
                            "Split and send",
                            reverse("bridge:cost_split_send", args=[cost.pk]),
                            aria_label=f"Split and send {cost.described} to the books",
                        )
                    )
            if note or actions:
                out[cost.pk] = CostExtras(note=note, problem=problem, actions=tuple(actions))
        return out


def _invoiceable(case_ids: list[int]) -> set[int]:
    """Cases with a fee, charge or cost reimbursement waiting To Be Disbursed."""
    return set(
        TrustItem.objects.filter(
            case_id__in=case_ids, kind__in=INVOICED_KINDS, status=TrustItemStatus.TO_BE_DISBURSED
        ).values_list("case_id", flat=True)
    )


class SendForm(forms.Form):
    """The bulk Send's confirmation (nothing to fill in)."""


def _bulk_send(
    request: HttpRequest, me: User, costs: list[Cost], form: forms.Form | None
) -> HttpResponse:
    from casebridge.cases.views.costs_management import back_to_costs_management
    from casebridge.core.money import format_cents
    from casebridge.web.popups import finish

    result = outbox.costs_send(firm=me.firm, actor=me, cost_ids=[c.pk for c in costs])
    noun = "cost" if result.count == 1 else "costs"
    return finish(
        request,
        back_to_costs_management(request),
        f"{result.count} {noun} ({format_cents(result.total_cents)}) queued for the books; "
        "they are Pending until their checks are printed."
        + (f" {result.problem}" if result.not_sent else ""),
    )


def _bulk_sync(
    request: HttpRequest, me: User, costs: list[Cost], form: forms.Form | None
) -> HttpResponse:
    from casebridge.bridge.services.status_sync import sync_request
    from casebridge.cases.views.costs_management import back_to_costs_management
    from casebridge.web.popups import finish

    try:  # queued for the worker (ADR 0008): its result, if it answered already, or "started"
        run = sync_request(firm=me.firm, actor=me, cost_ids=[c.pk for c in costs])
    except DomainError as exc:  # not connected: say so on the page
        messages.error(request, exc.message[:1].upper() + exc.message[1:] + ".")
        return finish(request, back_to_costs_management(request))
    run.refresh_from_db()
    if run.error:
        messages.error(request, sync_run_summary(run))
        return finish(request, back_to_costs_management(request))
    return finish(request, back_to_costs_management(request), sync_run_summary(run))


def install() -> None:
    from casebridge.cases.views.costs_management import BulkAction, register_bulk_action

    extensions.register_integration(BooksIntegration())
    from casebridge.cases.views import costs_management

    if "send" not in costs_management.BULK_ACTIONS:
        register_bulk_action(
            BulkAction(
                key="send",
                label="Send to the books",
                handler=_bulk_send,
                statuses=(CostStatus.OPEN,),
                confirm_form=SendForm,
                confirm_label="Send",
                order=0,  # first in the menu
            )
        )
    if "sync_status" not in costs_management.BULK_ACTIONS:
        register_bulk_action(
            BulkAction(
                key="sync_status",
                label="Sync check status",
                handler=_bulk_sync,
                statuses=(CostStatus.PENDING,),
                order=10,
            )
        )
