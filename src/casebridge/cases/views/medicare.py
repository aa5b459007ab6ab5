"""The Medicare section of the Settlement tab (issue 16): the client's beneficiary flag,
the steps of the conditional payment case, and a firm administrator's override of the hold
on the client's check (and its revocation). Each is a pop-up of the shared kit calling one
service of :mod:`casebridge.cases.services.medicare`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from casebridge.cases.auth import cases_admin_required, cases_login_required, cases_user
from casebridge.cases.forms import DateInput
from casebridge.cases.models import MedicareStep, MedicareStepKind
from casebridge.cases.selectors.medicare import medicare_picture, override_in_effect
from casebridge.cases.services import medicare as medicare_services
from casebridge.core.money import format_cents
from casebridge.web.popups import MoneyField, popup_form

from .cases import case_of


class BeneficiaryForm(forms.Form):
    is_beneficiary = forms.BooleanField(
        label="The client is a Medicare beneficiary",
        required=False,
        help_text="Holds the client's check until Medicare's final demand is recorded.",
    )


class StepForm(forms.Form):
    kind = forms.ChoiceField(label="Step", choices=MedicareStepKind.choices)
    on = forms.DateField(label="Date", widget=DateInput)
    amount = MoneyField(
        label="Amount",
        required=False,
        help_text="The letter's, demand's, portal's, fixed-percentage or payment's amount.",
    )
    note = forms.CharField(label="Note", max_length=255, required=False)


class VoidForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why the step was recorded in error; kept in the audit trail. A voided "
        "step no longer counts.",
    )


class OverrideForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why the client's check may go out before the final demand; kept in the "
        "audit trail and shown on the Settlement tab while in effect.",
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label="Reason", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


def _tab_url(case_id: int) -> str:
    return reverse("cases:case_settlement", args=[case_id])


@cases_login_required
@require_http_methods(["GET", "POST"])
def beneficiary_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    case = case_of(request, pk)

    def save(form: BeneficiaryForm) -> str:
        flag = form.cleaned_data["is_beneficiary"]
        medicare_services.client_medicare_set(
            firm=me.firm, actor=me, case_id=case.pk, is_beneficiary=flag
        )
        return f"{case.client.name} {'is' if flag else 'is not'} a Medicare beneficiary."

    return popup_form(
        request,
        BeneficiaryForm,
        on_valid=save,
        template="cases/medicare/_beneficiary_form.html",
        title=f"Medicare beneficiary · {case.client.name}",
        success=_tab_url(case.pk),
        initial={"is_beneficiary": medicare_picture(case=case).is_beneficiary},
        context={"case": case},
    )


@cases_login_required
@require_http_methods(["GET", "POST"])
def step_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    case = case_of(request, pk)

    def record(form: StepForm) -> str:
        data = form.cleaned_data
        step = medicare_services.medicare_step_record(
            firm=me.firm,
            actor=me,
            case_id=case.pk,
            kind=data["kind"],
            on=data["on"],
            amount_cents=data["amount"],
            note=data["note"],
        )
        amount = f" of {format_cents(step.amount_cents)}" if step.amount_cents is not None else ""
        return f"Medicare: {step.get_kind_display().lower()}{amount} recorded."

    return popup_form(
        request,
        StepForm,
        on_valid=record,
        template="cases/medicare/_step_form.html",
        title="Medicare step",
        success=_tab_url(case.pk),
        initial={"kind": request.GET.get("kind", MedicareStepKind.NOTICE_SENT)},
        context={"case": case},
        field_map={"amount_cents": "amount"},
    )


@cases_login_required
@require_http_methods(["GET", "POST"])
def step_void_view(request: HttpRequest, pk: int, step_id: int) -> HttpResponse:
    me = cases_user(request)
    case = case_of(request, pk)
    step = get_object_or_404(
        MedicareStep, firm=me.firm, claim__case=case, pk=step_id, voided_at__isnull=True
    )

    def void(form: VoidForm) -> str:
        medicare_services.medicare_step_void(
            firm=me.firm,
            actor=me,
            case_id=case.pk,
            step_id=step.pk,
            reason=form.cleaned_data["reason"],
        )
        return f"Medicare: {step.get_kind_display().lower()} of {step.on.isoformat()} voided."

    return popup_form(
        request,
        VoidForm,
        on_valid=void,
        template="cases/medicare/_void_form.html",
        title=f"Void the step · {step.get_kind_display()} of {step.on.isoformat()}",
        success=_tab_url(case.pk),
        context={"case": case, "step": step},
    )


@cases_admin_required("override the Medicare hold")
@require_http_methods(["GET", "POST"])
def override_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    case = case_of(request, pk)

    def grant(form: OverrideForm) -> str:
        medicare_services.medicare_hold_override(
            firm=me.firm, actor=me, case_id=case.pk, reason=form.cleaned_data["reason"]
        )
        return "Medicare hold overridden: the client's check may be pushed to disbursement."

    return popup_form(
        request,
        OverrideForm,
        on_valid=grant,
        template="cases/medicare/_override_form.html",
        title="Override the Medicare hold",
        success=_tab_url(case.pk),
        context={"case": case},
    )


@cases_admin_required("revoke an override of the Medicare hold")
@require_http_methods(["GET", "POST"])
def revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    case = case_of(request, pk)

    def revoke(form: RevokeForm) -> str:
        medicare_services.medicare_hold_override_revoke(
            firm=me.firm, actor=me, case_id=case.pk, reason=form.cleaned_data["reason"]
        )
        return "Override revoked: the Medicare hold applies again."

    def draw(form: RevokeForm) -> dict[str, Any]:
        return {"case": case, "override": override_in_effect(case)}

    return popup_form(
        request,
        RevokeForm,
        on_valid=revoke,
        template="cases/medicare/_revoke_form.html",
        title="Revoke the Medicare hold override",
        success=_tab_url(case.pk),
        context=draw,
    )
