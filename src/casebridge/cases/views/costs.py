"""A case's Costs tab: the costs (a void one shows as $0.00 VOID), the total without voids,
and the pop-ups to add, edit (by the edit rules), void, pay and split a cost."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from casebridge.cases import extensions
from casebridge.cases.auth import cases_login_required, cases_permission_required, cases_user
from casebridge.cases.forms import (
    CostForm,
    CostPayForm,
    CostVoidForm,
    SplitForm,
)
from casebridge.cases.models import Case, Cost, CostStatus, Firm, Permission
from casebridge.cases.selectors.contacts import contact_names
from casebridge.cases.selectors.costs import case_costs
from casebridge.cases.selectors.settlement import case_costs_total_cents
from casebridge.cases.services import costs as cost_services
from casebridge.core import clock
from casebridge.core.errors import DomainError
from casebridge.core.money import format_cents
from casebridge.web.paging import paginate_numbered
from casebridge.web.popups import INVALID, message_of, parse_money, popup_form, render_modal

from .cases import case_context, case_of

#: Where the cost services' refusals belong on the cost form.
COST_FIELDS = {"name": "payee", "case": "__all__"}


def _cost_of(request: HttpRequest, pk: int) -> Cost:
    return get_object_or_404(
        Cost.objects.select_related("case", "payee", "cost_code"),
        firm=cases_user(request).firm,
        pk=pk,
    )


def _costs_url(cost: Cost) -> str:
    return reverse("cases:case_costs", args=[cost.case_id])


@cases_login_required
def case_costs_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_of(request, pk)
    items, pager = paginate_numbered(request, case_costs(case=case), label="Cost pages")
    extras = extensions.cost_extras(cases_user(request), items)
    return render(
        request,
        "cases/costs/tab.html",
        {
            **case_context(case, "costs"),
            "costs": [(cost, extras.get(cost.pk)) for cost in items],
            "progress": extensions.costs_progress_html(request, cases_user(request)),
            "pager": pager,
            "total_cents": case_costs_total_cents(case.pk),
            "has_linked": case.linked_cases.exists(),
        },
    )


@cases_login_required
@require_http_methods(["GET", "POST"])
def cost_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    case = case_of(request, pk)

    def create(form: CostForm) -> str:
        data = form.cleaned_data
        cost = cost_services.cost_create_for_payee(
            firm=me.firm,
            actor=me,
            case_id=case.pk,
            payee_name=data["payee"],
            amount_cents=data["amount"],
            cost_code_id=data["cost_code"],
            cost_date=data["cost_date"],
            invoice_reference=data["invoice_reference"],
            priority=data["priority"],
            memo=data["memo"],
        )
        return f"Cost of {format_cents(cost.amount_cents)} to {cost.payee.name} added."

    return popup_form(
        request,
        CostForm,
        on_valid=create,
        template="cases/costs/_form.html",
        title=f"Add cost · {case.number}",
        success=reverse("cases:case_costs", args=[case.pk]),
        initial={"cost_date": clock.today()},
        form_kwargs={"firm": me.firm},
        context=lambda form: {
            "case": case,
            "action": reverse("cases:cost_new", args=[case.pk]),
            "names": contact_names(me.firm, "payee"),
        },
        field_map=COST_FIELDS,
    )


def _cost_initial(cost: Cost) -> dict[str, Any]:
    return {
        "payee": cost.payee.name,
        "amount": cost.amount_cents,
        "invoice_reference": cost.invoice_reference,
        "priority": cost.priority,
        "cost_code": cost.cost_code_id,
        "memo": cost.memo,
        "cost_date": cost.cost_date,
        "paid_date": cost.paid_date,
    }


#: Form field -> the service's keyword.
EDIT_KEYWORDS = {"amount": "amount_cents", "cost_code": "cost_code_id"}


@cases_login_required
@require_http_methods(["GET", "POST"])
def cost_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit by the rules: an unpaid cost in full; a paid one in its paid date and memo only
    (the other fields are shown disabled); a void one not at all."""
    me = cases_user(request)
    cost = _cost_of(request, pk)
    paid = cost.status == CostStatus.PAID

    def save(form: CostForm) -> str:
        data = form.cleaned_data
        changes = {EDIT_KEYWORDS.get(n, n): data[n] for n in form.changed_data if n != "payee"}
        made = cost_services.cost_update_for_payee(
            firm=me.firm,
            actor=me,
            cost_id=cost.pk,
            payee_name=data["payee"] if "payee" in form.changed_data else None,
            **changes,
        )
        return "Cost saved." if made else "No changes to save."

    return popup_form(
        request,
        CostForm,
        on_valid=save,
        template="cases/costs/_form.html",
        title=f"Edit cost · {cost.case.number}",
        success=_costs_url(cost),
        form_kwargs={
            "firm": me.firm,
            "paid": paid,
            "code_id": cost.cost_code_id,
            "initial": _cost_initial(cost),
        },
        context=lambda form: {
            "case": cost.case,
            "cost": cost,
            "action": reverse("cases:cost_edit", args=[cost.pk]),
            "locked": cost.status == CostStatus.VOID,
            "names": [] if paid else contact_names(me.firm, "payee"),
        },
        field_map=COST_FIELDS,
    )


@cases_permission_required(Permission.COSTS_MANAGEMENT)
@require_http_methods(["GET", "POST"])
def cost_void_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    cost = _cost_of(request, pk)

    def void(form: CostVoidForm) -> str:
        cost_services.cost_void(
            firm=me.firm, actor=me, cost_id=cost.pk, reason=form.cleaned_data["reason"]
        )
        return f"Cost of {format_cents(cost.amount_cents)} to {cost.payee.name} voided."

    return popup_form(
        request,
        CostVoidForm,
        on_valid=void,
        template="cases/costs/_void_form.html",
        title="Void cost",
        success=_costs_url(cost),
        context={"cost": cost},
    )


@cases_permission_required(Permission.COSTS_MANAGEMENT)
@require_http_methods(["GET", "POST"])
def cost_pay_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    cost = _cost_of(request, pk)

    def pay(form: CostPayForm) -> str:
        data = form.cleaned_data
        cost_services.cost_pay(
            firm=me.firm,
            actor=me,
            cost_id=cost.pk,
            method=data["method"],
            reference=data["reference"],
            paid_date=data["paid_date"],
        )
        return (
            f"Cost of {format_cents(cost.amount_cents)} to {cost.payee.name} paid by "
            f"{data['method']} {data['reference']}."
        )

    return popup_form(
        request,
        CostPayForm,
        on_valid=pay,
        template="cases/costs/_pay_form.html",
        title="Pay cost",
        success=_costs_url(cost),
        context={"cost": cost},
    )


# --- Split cost --------------------------------------------------------------------------


def _split_setup(firm: Firm, cost: Cost) -> tuple[list[Case], dict[int, int]]:
    """The cases of the split (the cost's own first) and the even split proposed."""
    proposal = cost_services.cost_split_proposal(firm=firm, cost_id=cost.pk)
    by_id = {c.pk: c for c in Case.objects.filter(firm=firm, pk__in=[p.case_id for p in proposal])}
    return [by_id[p.case_id] for p in proposal], {p.case_id: p.amount_cents for p in proposal}


def split_sum(cost: Cost, values: list[str]) -> dict[str, Any]:
    """Whether typed parts add up to the cost, to the cent (Decimal parsing, no floats)."""
    total = 0
    for value in values:
        try:
            total += parse_money(value.strip()) if value.strip() else 0
        except forms.ValidationError:
            return {"sum_ok": False, "sum_invalid": True, "cost": cost}
    return {
        "sum_ok": total == cost.amount_cents,
        "sum_invalid": False,
        "sum_cents": total,
        "short_cents": max(cost.amount_cents - total, 0),
        "over_cents": max(total - cost.amount_cents, 0),
        "cost": cost,
    }


@cases_login_required
@require_http_methods(["GET", "POST"])
def cost_split_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    cost = _cost_of(request, pk)
    back = _costs_url(cost)
    try:
        cases, proposal = _split_setup(me.firm, cost)
    except DomainError as exc:
        return render_modal(
            request,
            "cases/costs/_split_form.html",
            {"cost": cost, "refusal": message_of(exc)},
            title="Split cost",
            status=INVALID if request.method == "POST" else 200,
            back_url=back,
        )

    def split(form: SplitForm) -> str:
        parts = [cost_services.SplitPart(cid, cents) for cid, cents in form.parts()]
        result = cost_services.cost_split(firm=me.firm, actor=me, cost_id=cost.pk, parts=parts)
        return f"Cost of {format_cents(cost.amount_cents)} split across {len(result)} cases."

    def draw(form: SplitForm) -> dict[str, Any]:
        if form.is_bound:
            values = [str(request.POST.get(f"part_{c.pk}", "")) for c in cases]
        else:
            values = [format_cents(proposal[c.pk], symbol="") for c in cases]
        return {"cost": cost, **split_sum(cost, values)}

    return popup_form(
        request,
        SplitForm,
        on_valid=split,
        template="cases/costs/_split_form.html",
        title=f"Split cost of {format_cents(cost.amount_cents)}",
        success=back,
        form_kwargs={"cases": cases, "proposal": proposal},
        context=draw,
        wide=True,
    )


@cases_login_required
@require_GET
def cost_split_sum_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The live "do the parts add up?" line of the split pop-up (htmx, as the user types)."""
    cost = _cost_of(request, pk)
    values = [str(v)[:40] for k, v in request.GET.items() if k.startswith("part_")][:100]
    return render(request, "cases/costs/_split_sum.html", split_sum(cost, values))
