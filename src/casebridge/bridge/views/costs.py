"""A cost's row: Send, Split and send, Sync check status; and the check-status sync of the
Integrations card."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from casebridge.bridge.forms import SendForm, SplitSendForm
from casebridge.bridge.models import Connection, SyncRun
from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.services import outbox, readiness
from casebridge.bridge.services.status_sync import sync_request
from casebridge.bridge.views._common import (
    counted,
    finish_sync,
    integrations_url,
    refusal_status,
)
from casebridge.cases.auth import cases_permission_required, cases_user
from casebridge.cases.models import Case, Cost, Permission, User
from casebridge.cases.services import costs as cost_services
from casebridge.cases.views.costs import split_sum
from casebridge.core.errors import DomainError
from casebridge.core.money import format_cents
from casebridge.web.popups import (
    INVALID,
    ConfirmForm,
    apply_domain_error,
    finish,
    message_of,
    popup_form,
    render_modal,
    safe_next,
)


def _cost_of(request: HttpRequest, pk: int) -> Cost:
    return get_object_or_404(
        Cost.objects.select_related("case", "payee", "cost_code"),
        firm=cases_user(request).firm,
        pk=pk,
    )


def _costs_url(cost: Cost) -> str:
    return reverse("cases:case_costs", args=[cost.case_id])


def _operating_choices(me: User) -> tuple[Connection, list[conn_services.AccountChoice]]:
    """The connection and the books' operating accounts (refusals: not connected, the books
    cannot be reached)."""
    conn = conn_services.require_connection(me.firm)
    return conn, conn_services.default_choices(conn).operating


@cases_permission_required(Permission.COSTS_MANAGEMENT)
@require_http_methods(["GET", "POST"])
def cost_send_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Send one cost to the books as a check request; it is Pending at once."""
    me = cases_user(request)
    cost = _cost_of(request, pk)
    back = _costs_url(cost)
    context: dict[str, Any] = {"cost": cost}
    title = f"Send cost to the books · {cost.case.number}"
    try:
        conn, operating = _operating_choices(me)
    except DomainError as exc:
        context.update(refusal=message_of(exc), form=None)
        return render_modal(
            request,
            "bridge/_send_form.html",
            context,
            title=title,
            status=refusal_status(request),
            back_url=back,
        )
    status = 200
    if request.method == "POST":
        form = SendForm(request.POST, operating=operating)
        if form.is_valid():
            try:
                outbox.costs_send(
                    firm=me.firm,
                    actor=me,
                    cost_ids=[cost.pk],
                    bank_account_id=form.cleaned_data["bank_account"],
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                return finish(
                    request,
                    back,
                    f"Cost of {format_cents(cost.amount_cents)} to {cost.payee.name} queued for "
                    "the books; it is Pending until its check is printed.",
                )
        status = INVALID
    else:
        form = SendForm(operating=operating, initial={"bank_account": conn.operating_account_id})
    context["form"] = form
    return render_modal(
        request, "bridge/_send_form.html", context, title=title, status=status, back_url=back
    )


def _split_cases(me: User, cost: Cost) -> tuple[list[Case], dict[int, int]]:
    proposal = cost_services.cost_split_proposal(firm=me.firm, cost_id=cost.pk)
    by_id = {
        c.pk: c for c in Case.objects.filter(firm=me.firm, pk__in=[p.case_id for p in proposal])
    }
    return [by_id[p.case_id] for p in proposal], {p.case_id: p.amount_cents for p in proposal}


@cases_permission_required(Permission.COSTS_MANAGEMENT)
@require_http_methods(["GET", "POST"])
def cost_split_send_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The cases side's Split, then Send of every part, in one transaction: a refusal of
    either writes nothing."""
    me = cases_user(request)
    cost = _cost_of(request, pk)
    back = _costs_url(cost)
    context: dict[str, Any] = {"cost": cost}
    try:
        cases, proposal = _split_cases(me, cost)
        conn, operating = _operating_choices(me)
    except DomainError as exc:
        context["refusal"] = message_of(exc)
        return render_modal(
            request,
            "bridge/_split_send_form.html",
            context,
            title="Split and send cost",
            status=refusal_status(request),
            back_url=back,
        )
    status = 200
    if request.method == "POST":
        form = SplitSendForm(request.POST, cases=cases, proposal=proposal, operating=operating)
        if form.is_valid():
            parts = [cost_services.SplitPart(cid, cents) for cid, cents in form.parts()]
            try:
                # the books are asked before the transaction, never while it holds locks
                ready = readiness.require_ready(conn=conn, purpose=readiness.COSTS)
                with transaction.atomic():
                    result = cost_services.cost_split(
                        firm=me.firm, actor=me, cost_id=cost.pk, parts=parts
                    )
                    sent = outbox.costs_send(
                        firm=me.firm,
                        actor=me,
                        cost_ids=[c.pk for c in result],
                        bank_account_id=form.cleaned_data["bank_account"],
                        checked=ready,
                    )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                return finish(
                    request,
                    back,
                    f"Cost of {format_cents(cost.amount_cents)} split across "
                    f"{counted(len(result), 'case')}; {counted(sent.count, 'part')} queued for "
                    "the books, Pending until their checks are printed.",
                )
        status = INVALID
        values = [str(request.POST.get(f"part_{c.pk}", "")) for c in cases]
    else:
        form = SplitSendForm(
            cases=cases,
            proposal=proposal,
            operating=operating,
            initial={
                **{f"part_{cid}": cents for cid, cents in proposal.items()},
                "bank_account": conn.operating_account_id,
            },
        )
        values = [format_cents(proposal[c.pk], symbol="") for c in cases]
    context.update(form=form, **split_sum(cost, values))
    return render_modal(
        request,
        "bridge/_split_send_form.html",
        context,
        title=f"Split and send cost of {format_cents(cost.amount_cents)}",
        status=status,
        back_url=back,
        wide=True,
    )


@cases_permission_required(Permission.COSTS_MANAGEMENT)
@require_http_methods(["GET"])
def sync_run_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A sync run's line on the Integrations card (polled while the worker runs it)."""
    me = cases_user(request)
    run = get_object_or_404(SyncRun, firm=me.firm, pk=pk)
    return render(request, "bridge/_last_sync.html", {"last_sync": run})


@cases_permission_required(Permission.COSTS_MANAGEMENT)
@require_http_methods(["GET", "POST"])
def cost_sync_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Bring one cost's check number and status back from the books now."""
    me = cases_user(request)
    cost = _cost_of(request, pk)
    back = _costs_url(cost)

    def sync(form: ConfirmForm) -> HttpResponse:
        return finish_sync(request, back, sync_request(firm=me.firm, actor=me, cost_ids=[cost.pk]))

    return popup_form(
        request,
        ConfirmForm,
        on_valid=sync,
        template="bridge/_cost_sync_form.html",
        title="Sync check status",
        success=back,
        context={"cost": cost},
    )


@cases_permission_required(Permission.COSTS_MANAGEMENT)
@require_POST
def sync_view(request: HttpRequest) -> HttpResponse:
    """Check status sync for the whole firm, now: every sent cost's check, and the trust
    checks and fee invoices of payments pushed to disbursement."""
    me = cases_user(request)
    back = safe_next(request, request.POST.get("next"), integrations_url())
    try:
        run = sync_request(firm=me.firm, actor=me)
    except DomainError as exc:
        messages.error(request, message_of(exc))
        return finish(request, back)
    return finish_sync(request, back, run)
