"""A case's Settlement tab: negotiations (accept an offer), deposits (permission-gated),
the fee and charges (with fee change requests), liens, the figures, and the staging of the
client's trust money: Stage Payment, unstage, Push to Client Trust, Push to Disbursement."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from casebridge.cases import extensions
from casebridge.cases.auth import (
    cases_admin_required,
    cases_login_required,
    cases_permission_required,
    cases_user,
)
from casebridge.cases.errors import StagingExceedsTrust
from casebridge.cases.forms import (
    AcceptOfferForm,
    ConfirmForm,
    DepositForm,
    DepositVoidForm,
    FeeDecisionForm,
    LienAcceptForm,
    LienEditForm,
    LienForm,
    LienReopenForm,
    NegotiationForm,
    PushClientTrustForm,
    SettlementTermsForm,
    StageForm,
)
from casebridge.cases.models import (
    Case,
    Deposit,
    FeeChangeRequest,
    FeeChangeStatus,
    Lien,
    Negotiation,
    NegotiationKind,
    Permission,
    Settlement,
    TrustItem,
    TrustItemKind,
    TrustItemStatus,
)
from casebridge.cases.selectors.contacts import contact_names
from casebridge.cases.selectors.medicare import medicare_picture
from casebridge.cases.selectors.settlement import (
    DuePayment,
    SettlementFigures,
    excess_deposit_warning,
    negative_net_warning,
    payments_due,
    push_refusal,
    settlement_figures,
)
from casebridge.cases.services import settlement as settlement_services
from casebridge.core.money import format_cents
from casebridge.web.popups import finish, message_of, popup_form

from .cases import case_context, case_of

#: The kinds staged from the Stage Payment buttons (liens have one button each).
STAGEABLE = (
    TrustItemKind.FEE,
    TrustItemKind.COST_REIMBURSEMENT,
    TrustItemKind.COPP,
    TrustItemKind.PROPERTY_DAMAGE_FEE,
)


def fee_description(mode: str, rate_bp: int, fixed_cents: int, on_net: bool) -> str:
    """ "33.33% of the gross settlement" or "a fixed $5,000.00"."""
    if mode == "fixed":
        return f"a fixed {format_cents(fixed_cents)}"
    base = "the gross less costs" if on_net else "the gross settlement"
    return f"{Decimal(rate_bp) / 100:.2f}% of {base}"


def _tab_url(case_id: int) -> str:
    return reverse("cases:case_settlement", args=[case_id])


@dataclass(frozen=True)
class StageLine:
    """A payment that can be staged: what is due and whether the button is offered."""

    kind: str
    label: str
    due_cents: int
    url: str
    item: TrustItem | None
    note: str = ""
    #: Why Stage Payment is disabled although the payment is due (nothing left in trust).
    blocked: str = ""

    @property
    def can_stage(self) -> bool:
        return self.item is None and self.due_cents > 0 and not self.note


def _due(figures: SettlementFigures, kind: str) -> int:
    if kind == TrustItemKind.FEE:
        return figures.fee_cents
    if kind == TrustItemKind.COST_REIMBURSEMENT:
        return figures.cost_reimbursement_due_cents
    if kind == TrustItemKind.COPP:
        return figures.copp_cents
    return max(figures.property_damage_fee_cents, 0)


def _stage_lines(
    case: Case, figures: SettlementFigures, items: list[TrustItem], liens: list[Lien]
) -> list[StageLine]:
    by_kind = {i.kind: i for i in items if i.lien_id is None}
    by_lien = {i.lien_id: i for i in items if i.lien_id is not None}
    # what staging may still take from trust (a pushed client's check is taken back out)
    available = figures.trust_remaining_cents + figures.client_item_cents
    empty = _no_trust_reason(figures) if available <= 0 else ""
    lines = []
    for kind in STAGEABLE:
        note = ""
        if kind == TrustItemKind.FEE and figures.deposited_cents == 0:
            note = "after a settlement check is deposited"
        if kind == TrustItemKind.PROPERTY_DAMAGE_FEE and figures.property_damage_fee_cents < 0:
            note = "waived: it reduces the cost reimbursement"
        lines.append(
            StageLine(
                kind=kind,
                label=TrustItemKind(kind).label,
                due_cents=_due(figures, kind),
                url=reverse("cases:stage", args=[case.pk, kind]),
                item=by_kind.get(kind),
                note=note,
                blocked=empty,
            )
        )
    for lien in liens:
        note = "" if lien.accepted_on is not None else "accept the final amount first"
        lines.append(
            StageLine(
                kind=TrustItemKind.LIEN,
                label=f"{lien.get_kind_display()}: {lien.holder.name}",
                due_cents=lien.final_cents if lien.final_cents is not None else 0,
                url=reverse("cases:stage_lien", args=[case.pk, lien.pk]),
                item=by_lien.get(lien.pk),
                note=note,
                blocked="" if lien.paid_direct else empty,
            )
        )
    return lines


def _no_trust_reason(figures: SettlementFigures) -> str:
    """Why nothing can be staged from trust: nothing deposited, or all of it staged."""
    if figures.deposited_cents == 0:
        return "$0.00 in trust: deposit a settlement check first"
    return "$0.00 left in trust: all deposited money is staged"


def _accept_refusals(negotiations: list[Negotiation]) -> dict[int, str]:
    """Why an offer's Accept is disabled: another offer of its party is accepted (the
    service refuses the same)."""
    accepted = {n.party_id: n for n in negotiations if n.accepted_on is not None}
    return {
        n.pk: f"An offer from {n.party.name} of {format_cents(accepted[n.party_id].amount_cents)}"
        " is already accepted"
        for n in negotiations
        if n.kind == NegotiationKind.OFFER and n.accepted_on is None and n.party_id in accepted
    }


def _push_disbursement_refusal(figures: SettlementFigures, push_blocked: str) -> str:
    """Why Push to Disbursement is disabled ("" when it is not), as the service refuses."""
    reason = push_blocked
    if not reason and figures.trust_remaining_cents != 0:
        reason = (
            f"{format_cents(figures.trust_remaining_cents)} is left in trust; "
            "push to client trust again"
        )
    return reason[:1].upper() + reason[1:]


def _stage_all_refusal(figures: SettlementFigures, due: list[DuePayment], disbursing: bool) -> str:
    """Why Stage all due is disabled ("" when it is not), as the service would refuse."""
    if disbursing:
        return ""
    if not due:
        return "Nothing is due to stage"
    from_trust = sum(p.cents for p in due if not p.paid_direct)
    available = figures.trust_remaining_cents + figures.client_item_cents
    if from_trust > available:
        return (
            f"The payments due take {format_cents(from_trust)} from trust; only "
            f"{format_cents(max(available, 0))} is not yet staged"
        )
    return ""


@cases_login_required
def settlement_tab_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    case = case_of(request, pk)
    settlement = Settlement.objects.get(case=case)
    figures = settlement_figures(case=case)
    items = list(TrustItem.objects.filter(case=case).select_related("lien"))
    liens = list(Lien.objects.filter(case=case).select_related("holder").order_by("pk"))
    staged_by_lien = {i.lien_id: i for i in items if i.lien_id is not None}
    disbursing = any(i.status != TrustItemStatus.STAGED for i in items)
    client_item = next((i for i in items if i.kind == TrustItemKind.CLIENT), None)
    pending = (
        FeeChangeRequest.objects.filter(case=case, status=FeeChangeStatus.PENDING)
        .select_related("requested_by")
        .first()
    )
    negotiations = list(
        Negotiation.objects.filter(case=case).select_related("party", "accepted_by")
    )
    deposits = (
        Deposit.objects.filter(case=case)
        .select_related("offer__party")
        .order_by("deposited_on", "pk")
    )
    # what the cases side counts as still in trust: deposits less what trust has paid out
    paid_out = sum(
        i.amount_cents for i in items if i.status == TrustItemStatus.DISBURSED and not i.paid_direct
    )
    trust_rows = extensions.trust_figures(me, case, figures.deposited_cents - paid_out)
    due = payments_due(figures, case)
    push_blocked = push_refusal(figures, case)
    refusals = _accept_refusals(negotiations)
    return render(
        request,
        "cases/settlement/tab.html",
        {
            **case_context(case, "settlement"),
            "settlement": settlement,
            "figures": figures,
            "trust_rows": trust_rows,
            # each with why its Accept is disabled ("" when it is not)
            "negotiations": [(n, refusals.get(n.pk, "")) for n in negotiations],
            "has_accepted_offer": figures.gross_cents > 0,
            "deposits": deposits,
            "liens": [(lien, staged_by_lien.get(lien.pk)) for lien in liens],
            "items": [i for i in items if i.kind != TrustItemKind.CLIENT],
            "client_item": client_item,
            "stage_lines": _stage_lines(case, figures, items, liens),
            "disbursing": disbursing,
            "pending_fee_change": pending,
            "fee_description": fee_description(
                settlement.fee_mode,
                settlement.fee_rate_bp,
                settlement.fee_fixed_cents,
                settlement.fee_on_net_of_costs,
            ),
            "pending_description": fee_description(
                pending.fee_mode,
                pending.fee_rate_bp,
                pending.fee_fixed_cents,
                settlement.fee_on_net_of_costs,
            )
            if pending is not None
            else "",
            "needs_approval": me.firm.fee_changes_need_approval and not me.is_firm_admin,
            "paid_direct_note": settlement_services.PAID_DIRECT_NOTE,
            "pd_waiver_cents": max(-figures.property_damage_fee_cents, 0),
            "excess_warning": "" if disbursing else excess_deposit_warning(figures),
            "negative_net_warning": negative_net_warning(figures),
            "due": due,
            "stage_all_refusal": _stage_all_refusal(figures, due, disbursing),
            "push_client_refusal": push_blocked[:1].upper() + push_blocked[1:],
            "push_disbursement_refusal": _push_disbursement_refusal(
                figures, push_refusal(figures, case, to_disbursement=True)
            ),
            "medicare": medicare_picture(case=case),
        },
    )


# --- Negotiations -----------------------------------------------------------------------


@cases_login_required
@require_http_methods(["GET", "POST"])
def negotiation_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    case = case_of(request, pk)

    def record(form: NegotiationForm) -> str:
        data = form.cleaned_data
        neg = settlement_services.negotiation_record_for_party(
            firm=me.firm,
            actor=me,
            case_id=case.pk,
            kind=data["kind"],
            party_name=data["party"],
            amount_cents=data["amount"],
            made_on=data["made_on"],
            note=data["note"],
        )
        return (
            f"{neg.get_kind_display()} of {format_cents(neg.amount_cents)} "
            f"({neg.party.name}) recorded."
        )

    return popup_form(
        request,
        NegotiationForm,
        on_valid=record,
        template="cases/settlement/_negotiation_form.html",
        title="Add demand or offer",
        success=_tab_url(case.pk),
        context=lambda form: {"case": case, "names": contact_names(me.firm, "party")},
        field_map={"name": "party"},
    )


@cases_login_required
@require_http_methods(["GET", "POST"])
def offer_accept_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    offer = get_object_or_404(
        Negotiation.objects.select_related("party", "case"), firm=me.firm, pk=pk
    )

    def accept(form: AcceptOfferForm) -> str:
        settlement_services.offer_accept(
            firm=me.firm, actor=me, negotiation_id=offer.pk, on=form.cleaned_data["accepted_on"]
        )
        return (
            f"Offer of {format_cents(offer.amount_cents)} from {offer.party.name} "
            "accepted and locked."
        )

    return popup_form(
        request,
        AcceptOfferForm,
        on_valid=accept,
        template="cases/settlement/_accept_form.html",
        title="Accept offer",
        success=_tab_url(offer.case_id),
        context={"offer": offer, "is_offer": offer.kind == NegotiationKind.OFFER},
    )


# --- Deposits ---------------------------------------------------------------------------


@cases_permission_required(Permission.DEPOSIT_SETTLEMENT)
@require_http_methods(["GET", "POST"])
def deposit_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    case = case_of(request, pk)

    def record(form: DepositForm) -> str:
        data = form.cleaned_data
        deposit = settlement_services.deposit_record(
            firm=me.firm,
            actor=me,
            case_id=case.pk,
            offer_id=data["offer"].pk,
            amount_cents=data["amount"],
            check_number=data["check_number"],
            deposited_on=data["deposited_on"],
        )
        return (
            f"Settlement check {deposit.check_number} for "
            f"{format_cents(deposit.amount_cents)} deposited."
        )

    return popup_form(
        request,
        DepositForm,
        on_valid=record,
        template="cases/settlement/_deposit_form.html",
        title="Deposit settlement check",
        success=_tab_url(case.pk),
        form_kwargs={"case": case},
        context=lambda form: {"case": case, "figures": settlement_figures(case=case)},
    )


@cases_permission_required(Permission.DEPOSIT_SETTLEMENT)
@require_http_methods(["GET", "POST"])
def deposit_void_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Void a deposit (a bounced check, or one recorded for the wrong amount), with the
    reason; an integration reverses its receipt in the accounting system."""
    me = cases_user(request)
    deposit = get_object_or_404(
        Deposit.objects.select_related("case", "offer__party"), firm=me.firm, pk=pk
    )

    def void(form: DepositVoidForm) -> str:
        settlement_services.deposit_void(
            firm=me.firm, actor=me, deposit_id=deposit.pk, reason=form.cleaned_data["reason"]
        )
        return (
            f"Deposit of check {deposit.check_number} "
            f"({format_cents(deposit.amount_cents)}) voided."
        )

    def draw(form: DepositVoidForm) -> dict[str, Any]:
        figures = settlement_figures(case=deposit.case)
        return {
            "deposit": deposit,
            "figures": figures,
            "excess_warning": excess_deposit_warning(figures),
        }

    return popup_form(
        request,
        DepositVoidForm,
        on_valid=void,
        template="cases/settlement/_deposit_void_form.html",
        title="Void deposit",
        success=_tab_url(deposit.case_id),
        context=draw,
    )


# --- Fee and charges --------------------------------------------------------------------


@cases_login_required
@require_http_methods(["GET", "POST"])
def settlement_terms_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    case = case_of(request, pk)
    settlement = Settlement.objects.get(case=case)
    needs_approval = me.firm.fee_changes_need_approval and not me.is_firm_admin
    initial = {
        "fee_mode": settlement.fee_mode,
        "fee_rate": settlement.fee_rate_bp,
        "fee_fixed": settlement.fee_fixed_cents,
        "fee_base": "net" if settlement.fee_on_net_of_costs else "gross",
        "copp": settlement.copp_cents,
        "property_damage_fee": settlement.property_damage_fee_cents,
    }

    def save(form: SettlementTermsForm) -> str:
        data = form.cleaned_data
        percent = data["fee_mode"] == "percent"
        _, fee_request = settlement_services.settlement_terms_update(
            firm=me.firm,
            actor=me,
            case_id=case.pk,
            fee_mode=data["fee_mode"],
            fee_rate_bp=data["fee_rate"] if percent else settlement.fee_rate_bp,
            fee_fixed_cents=settlement.fee_fixed_cents if percent else data["fee_fixed"],
            fee_on_net_of_costs=(
                data["fee_base"] == "net" if percent else settlement.fee_on_net_of_costs
            ),
            copp_cents=data["copp"] or 0,
            property_damage_fee_cents=data["property_damage_fee"] or 0,
            reason=data["reason"],
        )
        if fee_request is not None:
            return "Fee change sent to an administrator: waiting for administrator approval."
        return "Fee and charges saved."

    def draw(form: SettlementTermsForm) -> dict[str, Any]:
        if not needs_approval:
            del form.fields["reason"]
        return {"case": case, "needs_approval": needs_approval}

    return popup_form(
        request,
        SettlementTermsForm,
        on_valid=save,
        template="cases/settlement/_terms_form.html",
        title="Fee and charges",
        success=_tab_url(case.pk),
        form_kwargs={"initial": initial},
        context=draw,
        field_map={"fee_on_net_of_costs": "fee_base"},
    )


@cases_admin_required("approve fee changes")
@require_http_methods(["GET", "POST"])
def fee_change_decide_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    req = get_object_or_404(
        FeeChangeRequest.objects.select_related("case", "requested_by"), firm=me.firm, pk=pk
    )
    settlement = Settlement.objects.get(case_id=req.case_id)

    def decide(form: FeeDecisionForm) -> str:
        approve = form.cleaned_data["decision"] == "approve"
        settlement_services.fee_change_request_decide(
            firm=me.firm, actor=me, request_id=req.pk, approve=approve
        )
        return f"Fee change {'approved' if approve else 'rejected'}."

    return popup_form(
        request,
        FeeDecisionForm,
        on_valid=decide,
        template="cases/settlement/_fee_decision_form.html",
        title="Fee change request",
        success=_tab_url(req.case_id),
        context={
            "req": req,
            "current": fee_description(
                settlement.fee_mode,
                settlement.fee_rate_bp,
                settlement.fee_fixed_cents,
                settlement.fee_on_net_of_costs,
            ),
            "requested": fee_description(
                req.fee_mode, req.fee_rate_bp, req.fee_fixed_cents, settlement.fee_on_net_of_costs
            ),
        },
    )


# --- Liens ------------------------------------------------------------------------------


def _warn_if_excess(request: HttpRequest, case: Case, response: HttpResponse) -> HttpResponse:
    """After a lien is saved: warn when liens paid direct now make the deposits exceed
    what trust should hold, naming the excess and the fix."""
    warning = excess_deposit_warning(settlement_figures(case=case))
    if warning:
        messages.warning(request, warning)
    return response


@cases_login_required
@require_http_methods(["GET", "POST"])
def lien_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    case = case_of(request, pk)
    back = _tab_url(case.pk)

    def create(form: LienForm) -> HttpResponse:
        data = form.cleaned_data
        lien = settlement_services.lien_create_for_holder(
            firm=me.firm,
            actor=me,
            case_id=case.pk,
            kind=data["kind"],
            holder_name=data["holder"],
            claimed_cents=data["claimed"],
            paid_direct=data["paid_direct"],
            note=data["note"],
        )
        message = (
            f"{lien.get_kind_display()} of {lien.holder.name} "
            f"({format_cents(lien.claimed_cents)} claimed) added."
        )
        return _warn_if_excess(request, case, finish(request, back, message))

    return popup_form(
        request,
        LienForm,
        on_valid=create,
        template="cases/settlement/_lien_form.html",
        title="Add lien or third-party payment",
        success=back,
        context=lambda form: {"case": case, "names": contact_names(me.firm, "holder")},
        field_map={"name": "holder"},
    )


def _lien_of(request: HttpRequest, pk: int) -> Lien:
    return get_object_or_404(
        Lien.objects.select_related("holder", "case"), firm=cases_user(request).firm, pk=pk
    )


@cases_login_required
@require_http_methods(["GET", "POST"])
def lien_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    lien = _lien_of(request, pk)
    back = _tab_url(lien.case_id)
    initial = {
        "claimed": lien.claimed_cents,
        "final": lien.final_cents,
        "paid_direct": lien.paid_direct,
        "note": lien.note,
    }

    def save(form: LienEditForm) -> HttpResponse:
        data = form.cleaned_data
        settlement_services.lien_update(
            firm=me.firm,
            actor=me,
            lien_id=lien.pk,
            claimed_cents=data["claimed"],
            final_cents=data["final"],
            paid_direct=data["paid_direct"],
            note=data["note"],
        )
        return _warn_if_excess(
            request, lien.case, finish(request, back, f"Lien of {lien.holder.name} saved.")
        )

    return popup_form(
        request,
        LienEditForm,
        on_valid=save,
        template="cases/settlement/_lien_edit_form.html",
        title=f"Edit lien · {lien.holder.name}",
        success=back,
        form_kwargs={"initial": initial},
        context={"lien": lien, "locked": lien.accepted_on is not None},
    )


@cases_login_required
@require_http_methods(["GET", "POST"])
def lien_accept_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    lien = _lien_of(request, pk)
    back = _tab_url(lien.case_id)

    def accept(form: LienAcceptForm) -> HttpResponse:
        accepted = settlement_services.lien_accept(
            firm=me.firm,
            actor=me,
            lien_id=lien.pk,
            final_cents=form.cleaned_data["final"],
            on=form.cleaned_data["accepted_on"],
        )
        message = (
            f"Lien of {lien.holder.name} accepted at "
            f"{format_cents(accepted.final_cents or 0)} and locked."
        )
        return _warn_if_excess(request, lien.case, finish(request, back, message))

    final = lien.final_cents if lien.final_cents is not None else lien.claimed_cents
    return popup_form(
        request,
        LienAcceptForm,
        on_valid=accept,
        template="cases/settlement/_lien_accept_form.html",
        title=f"Accept lien · {lien.holder.name}",
        success=back,
        initial={"final": final},
        context={"lien": lien},
    )


@cases_admin_required("reopen an accepted lien")
@require_http_methods(["GET", "POST"])
def lien_reopen_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A firm administrator reopens an accepted lien (before Push to Disbursement): its
    staged payment and the client's check are taken back; the reason is audited."""
    me = cases_user(request)
    lien = _lien_of(request, pk)
    item = TrustItem.objects.filter(lien=lien).first()

    def reopen(form: LienReopenForm) -> str:
        settlement_services.lien_reopen(
            firm=me.firm, actor=me, lien_id=lien.pk, reason=form.cleaned_data["reason"]
        )
        return f"Lien of {lien.holder.name} reopened: it can be edited and accepted again" + (
            f"; its payment of {format_cents(item.amount_cents)} was unstaged." if item else "."
        )

    return popup_form(
        request,
        LienReopenForm,
        on_valid=reopen,
        template="cases/settlement/_lien_reopen_form.html",
        title=f"Reopen lien · {lien.holder.name}",
        success=_tab_url(lien.case_id),
        context={"lien": lien, "item": item},
    )


# --- Staging ----------------------------------------------------------------------------


@cases_permission_required(Permission.DEPOSIT_SETTLEMENT)
@require_http_methods(["GET", "POST"])
def stage_view(
    request: HttpRequest, pk: int, kind: str, lien_pk: int | None = None
) -> HttpResponse:
    """Stage Payment: the amount defaults to what is due and may be lowered."""
    me = cases_user(request)
    case = case_of(request, pk)
    lien = None
    if lien_pk is not None:
        lien = get_object_or_404(Lien.objects.select_related("holder"), case=case, pk=lien_pk)
        kind = TrustItemKind.LIEN
    elif kind not in STAGEABLE:
        return HttpResponse("Unknown payment kind.", status=404, content_type="text/plain")
    figures = settlement_figures(case=case)
    if lien is not None:
        due = lien.final_cents if lien.final_cents is not None else 0
        label = f"{lien.get_kind_display()}: {lien.holder.name}"
        payee = lien.holder.name
    else:
        due = _due(figures, kind)
        label = TrustItemKind(kind).label
        payee = case.firm.name

    def stage(form: StageForm) -> str | None:
        try:
            item = settlement_services.trust_item_stage(
                firm=me.firm,
                actor=me,
                case_id=case.pk,
                kind=kind,
                amount_cents=form.cleaned_data["amount"],
                lien_id=lien.pk if lien is not None else None,
                note=form.cleaned_data["note"],
            )
        except StagingExceedsTrust as exc:  # names no field: it is about the amount
            form.add_error("amount", message_of(exc))
            return None
        return f"{item.get_kind_display()} of {format_cents(item.amount_cents)} staged" + (
            " (paid direct)." if item.paid_direct else "."
        )

    return popup_form(
        request,
        StageForm,
        on_valid=stage,
        template="cases/settlement/_stage_form.html",
        title=f"Stage payment · {label}",
        success=_tab_url(case.pk),
        initial={"amount": due},
        context={
            "case": case,
            "label": label,
            "payee": payee,
            "due_cents": due,
            "lien": lien,
            "figures": figures,
            "paid_direct_note": settlement_services.PAID_DIRECT_NOTE,
            "action": reverse("cases:stage_lien", args=[case.pk, lien.pk])
            if lien is not None
            else reverse("cases:stage", args=[case.pk, kind]),
        },
        field_map={"kind": "__all__", "lien": "__all__"},
    )


@cases_permission_required(Permission.DEPOSIT_SETTLEMENT)
@require_http_methods(["GET", "POST"])
def stage_all_due_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Stage all due: every payment due, at what is due, in one service call (all or none)."""
    me = cases_user(request)
    case = case_of(request, pk)

    def stage_all(form: ConfirmForm) -> str:
        items = settlement_services.trust_items_stage_due(firm=me.firm, actor=me, case_id=case.pk)
        total = format_cents(sum(i.amount_cents for i in items))
        return f"{len(items)} payment{'s' if len(items) != 1 else ''} ({total}) staged."

    def draw(form: ConfirmForm) -> dict[str, Any]:
        figures = settlement_figures(case=case)
        due = payments_due(figures, case)
        return {
            "case": case,
            "due": due,
            "from_trust_cents": sum(p.cents for p in due if not p.paid_direct),
            # what the service counts as available: the client's check is taken back out
            "available_cents": max(figures.trust_remaining_cents + figures.client_item_cents, 0),
            "figures": figures,
        }

    return popup_form(
        request,
        ConfirmForm,
        on_valid=stage_all,
        template="cases/settlement/_stage_all_form.html",
        title="Stage all due",
        success=_tab_url(case.pk),
        context=draw,
    )


@cases_permission_required(Permission.DEPOSIT_SETTLEMENT)
@require_http_methods(["GET", "POST"])
def unstage_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    item = get_object_or_404(TrustItem.objects.select_related("case"), firm=me.firm, pk=pk)

    def unstage(form: ConfirmForm) -> str:
        settlement_services.trust_item_unstage(firm=me.firm, actor=me, item_id=item.pk)
        return f"{item.get_kind_display()} of {format_cents(item.amount_cents)} unstaged."

    return popup_form(
        request,
        ConfirmForm,
        on_valid=unstage,
        template="cases/settlement/_unstage_form.html",
        title="Unstage payment",
        success=_tab_url(item.case_id),
        context={"item": item},
    )


@cases_permission_required(Permission.DEPOSIT_SETTLEMENT)
@require_http_methods(["GET", "POST"])
def push_client_trust_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Push to Client Trust: the client's final check is the remainder, so what is left in
    trust comes to $0.00. Another payee (a guardian, a conservator) may be named."""
    me = cases_user(request)
    case = case_of(request, pk)

    def push(form: PushClientTrustForm) -> str:
        item = settlement_services.push_to_client_trust(
            firm=me.firm,
            actor=me,
            case_id=case.pk,
            payee_name=form.cleaned_data["payee_name"],
            note=form.cleaned_data["note"],
        )
        if item is None:
            return "Pushed to client trust: nothing is left for the client; $0.00 remaining."
        return (
            f"Client's final check of {format_cents(item.amount_cents)} to "
            f"{item.payee_name} staged; $0.00 remaining in trust."
        )

    def draw(form: PushClientTrustForm) -> dict[str, Any]:
        figures = settlement_figures(case=case)
        current = TrustItem.objects.filter(case=case, kind=TrustItemKind.CLIENT).first()
        remainder = figures.trust_remaining_cents + (current.amount_cents if current else 0)
        return {"case": case, "figures": figures, "remainder_cents": remainder}

    return popup_form(
        request,
        PushClientTrustForm,
        on_valid=push,
        template="cases/settlement/_push_client_form.html",
        title="Push to Client Trust",
        success=_tab_url(case.pk),
        context=draw,
    )


@cases_permission_required(Permission.DEPOSIT_SETTLEMENT)
@require_http_methods(["GET", "POST"])
def push_disbursement_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    case = case_of(request, pk)

    def push(form: ConfirmForm) -> str:
        moved = settlement_services.push_to_disbursement(firm=me.firm, actor=me, case_id=case.pk)
        return (
            f"{moved} payment{'s' if moved != 1 else ''} pushed to disbursement "
            "(Client Trust Management → To Be Disbursed)."
        )

    return popup_form(
        request,
        ConfirmForm,
        on_valid=push,
        template="cases/settlement/_push_disbursement_form.html",
        title="Push to Disbursement",
        success=_tab_url(case.pk),
        context=lambda form: {
            "case": case,
            "items": TrustItem.objects.filter(case=case, status=TrustItemStatus.STAGED),
        },
    )
