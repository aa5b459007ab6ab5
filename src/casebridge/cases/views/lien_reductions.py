"""The Settlement tab's lien reductions: per lien a Reductions pop-up (the negotiation's
history and a step: request, counter, accept, withdraw, refused), the Reduction calculator
(scenarios side by side, inputs through htmx) and "Request these amounts" (a scenario
applied as one requested step per lien). Every rule is the services', every figure the
calculator's."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from casebridge.cases.auth import cases_login_required, cases_user
from casebridge.cases.errors import DomainError, ValidationFailed
from casebridge.cases.forms import DateInput
from casebridge.cases.models import Case, Lien, LienReduction, LienReductionStep
from casebridge.cases.selectors.lien_calculator import (
    CURRENT,
    SCENARIO_TITLES,
    Calculation,
    LienProposal,
    Scenario,
    default_selection,
    lien_scenarios,
    parse_fraction,
)
from casebridge.cases.services import lien_reductions as service
from casebridge.core import clock
from casebridge.core.money import cents_to_decimal, format_cents
from casebridge.web.popups import (
    INVALID,
    MoneyField,
    apply_domain_error,
    is_htmx,
    message_of,
    popup_form,
    render_modal,
)

from .cases import case_of

TEMPLATES = "cases/lien_reductions/"


def _tab_url(case_id: int) -> str:
    return reverse("cases:case_settlement", args=[case_id])


# --- forms ------------------------------------------------------------------------------


class ReductionStepForm(forms.Form):
    step = forms.ChoiceField(label="Step", choices=LienReductionStep.choices)
    amount = MoneyField(
        label="Amount",
        required=False,
        help_text="Requested, countered or agreed; none for a withdrawn or refused request.",
    )
    made_on = forms.DateField(label="Date", widget=DateInput)
    note = forms.CharField(label="Note", max_length=255, required=False)


class CalculatorForm(forms.Form):
    liens = forms.TypedMultipleChoiceField(
        label="Liens to reduce",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    target_net = MoneyField(
        label="Target net to client", required=False, help_text="For the target net scenario."
    )
    cap_fraction = forms.CharField(
        label="Cap liens at (fraction of gross)",
        max_length=20,
        required=False,
        help_text="From 0 to 1, e.g. 0.33 for a third.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, liens: list[Lien], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["liens"]
        assert isinstance(field, forms.TypedMultipleChoiceField)
        field.choices = [
            (
                ln.pk,
                f"{ln.holder.name} · {ln.get_kind_display()} · {format_cents(ln.claimed_cents)}",
            )
            for ln in liens
            if ln.accepted_on is None
        ]


#: Lien ids as the calculator hands them over: "12,15,31".
_LIEN_IDS = re.compile(r"[0-9]{1,18}(?:,[0-9]{1,18})*")
#: The calculator's inputs a person can correct, shown (with the refusal beside) when
#: refused; the others are refused above the form.
_TYPED_INPUTS = ("target_net", "cap_fraction")


class ScenarioInputsForm(forms.Form):
    """The calculator's inputs as "Request these amounts" receives them (hidden), parsed as
    strictly as the calculator's own form: money by ``parse_amount``, the fraction by
    ``parse_fraction``, the lien ids as plain digits."""

    scenario = forms.ChoiceField(
        choices=[(k, v) for k, v in SCENARIO_TITLES.items() if k != CURRENT],
        widget=forms.HiddenInput,
    )
    #: set by _preview: the fingerprint of the figures the preview was computed from
    figures_fingerprint: str = ""
    liens = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.HiddenInput,
        error_messages={"max_length": "Select the liens again in the calculator."},
    )
    target_net = MoneyField(label="Target net to client", required=False, widget=forms.HiddenInput)
    cap_fraction = forms.CharField(
        label="Cap liens at (fraction of gross)",
        max_length=20,
        required=False,
        widget=forms.HiddenInput,
    )

    def clean_liens(self) -> list[int] | None:
        text = self.cleaned_data["liens"].replace(" ", "")
        if not text:
            return None
        if not _LIEN_IDS.fullmatch(text):
            raise forms.ValidationError("Select the liens again in the calculator.")
        return [int(part) for part in text.split(",")]

    def clean_cap_fraction(self) -> Decimal | None:
        text = self.cleaned_data["cap_fraction"].strip()
        if not text:
            return None
        try:
            return parse_fraction(text)
        except ValidationFailed as exc:
            raise forms.ValidationError(message_of(exc)) from None

    def show_refused(self) -> None:
        """A refused input a person can type is shown with its refusal beside it; the
        refusal of one they cannot (the scenario, the liens) goes above the form."""
        for name in _TYPED_INPUTS:
            if self.has_error(name):
                self.fields[name].widget = forms.TextInput(
                    attrs={"inputmode": "decimal", "autocomplete": "off"}
                )
        for name in ("scenario", "liens", "fingerprint"):
            for message in self.errors.pop(name, []):
                self.add_error(None, message)

    def typed_inputs(self) -> list[forms.BoundField]:
        return [self[name] for name in _TYPED_INPUTS if self.has_error(name)]


class RequestScenarioForm(ScenarioInputsForm):
    #: the figures the amounts shown were computed from (review of issue 16): confirmed
    #: after they changed, the request is refused and the pop-up shows the new amounts
    fingerprint = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)
    made_on = forms.DateField(label="Requested on", widget=DateInput)
    note = forms.CharField(
        label="Note",
        max_length=255,
        required=False,
        help_text="Default: the scenario's name (reduction calculator).",
    )


# --- Reductions pop-up ------------------------------------------------------------------


def _lien_of(request: HttpRequest, pk: int) -> Lien:
    return get_object_or_404(
        Lien.objects.select_related("holder", "case"), firm=cases_user(request).firm, pk=pk
    )


@cases_login_required
@require_http_methods(["GET", "POST"])
def lien_reductions_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A lien's reduction history and the next step."""
    me = cases_user(request)
    lien = _lien_of(request, pk)
    back = _tab_url(lien.case_id)
    steps = list(LienReduction.objects.filter(lien=lien).select_related("recorded_by"))
    last = steps[-1] if steps else None
    suggested = last.amount_cents if last is not None else None

    def record(form: ReductionStepForm) -> str:
        data = form.cleaned_data
        # the amount field keeps the last amount typed; a withdrawal or refusal has none
        closing = data["step"] in service.CLOSING_STEPS
        row = service.lien_reduction_record(
            firm=me.firm,
            actor=me,
            lien_id=lien.pk,
            step=data["step"],
            amount_cents=None if closing else data["amount"],
            made_on=data["made_on"],
            note=data["note"],
        )
        amount = f" at {format_cents(row.amount_cents)}" if row.amount_cents is not None else ""
        if row.step == LienReductionStep.ACCEPTED:
            return f"Lien of {lien.holder.name} accepted{amount} and locked."
        return f"Lien of {lien.holder.name}: {row.get_step_display().lower()}{amount}."

    return popup_form(
        request,
        ReductionStepForm,
        on_valid=record,
        template=TEMPLATES + "_reductions.html",
        title=f"Reductions · {lien.holder.name}",
        success=back,
        back_url=back,
        initial={"made_on": clock.today(), "amount": suggested},
        context={"lien": lien, "steps": steps, "locked": lien.accepted_on is not None},
        wide=True,
    )


# --- the calculator ---------------------------------------------------------------------


def _liens(case: Case) -> list[Lien]:
    return list(Lien.objects.filter(case=case).select_related("holder").order_by("pk"))


def _calculate(
    case: Case, liens: list[Lien], data: Mapping[str, Any]
) -> tuple[Calculation | None, DomainError | None]:
    try:
        return (
            lien_scenarios(
                case=case,
                lien_ids=data.get("liens"),
                target_net_cents=data.get("target_net"),
                cap_fraction=data.get("cap_fraction") or None,
            ),
            None,
        )
    except DomainError as exc:
        return None, exc


@cases_login_required
@require_GET
def lien_calculator_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The scenarios side by side. The inputs come as a GET (htmx swaps only the results
    and inputs: ``HX-Target: lien-calculator``); a refusal is shown beside its field, 422."""
    case = case_of(request, pk)
    liens = _liens(case)
    asked = "run" in request.GET
    form = (
        CalculatorForm(request.GET, liens=liens)
        if asked
        else CalculatorForm(liens=liens, initial={"liens": default_selection(liens)})
    )
    calculation: Calculation | None = None
    status = 200
    if asked and not form.is_valid():
        status = INVALID
    else:
        data = form.cleaned_data if asked else {"liens": None}
        calculation, error = _calculate(case, liens, data)
        if error is not None:
            apply_domain_error(form, error, {"target_net": "target_net"})
            status = INVALID
    context = {
        "case": case,
        "form": form,
        "calculation": calculation,
        "lien_rows": _lien_rows(calculation) if calculation is not None else [],
        "request_query": _request_query(form) if calculation is not None else "",
        "url": reverse("cases:lien_calculator", args=[case.pk]),
    }
    if is_htmx(request) and request.headers.get("HX-Target") == "lien-calculator":
        context["in_modal"] = True
        return render(request, TEMPLATES + "_calculator.html", context, status=status)
    return render_modal(
        request,
        TEMPLATES + "_calculator.html",
        context,
        title="Reduction calculator",
        status=status,
        back_url=_tab_url(case.pk),
        wide=True,
    )


def _lien_rows(calculation: Calculation) -> list[tuple[LienProposal, list[LienProposal]]]:
    """Per lien: the lien as it is now, and what each scenario proposes for it."""
    first = calculation.scenarios[0]
    return [
        (lien, [s.liens[index] for s in calculation.scenarios])
        for index, lien in enumerate(first.liens)
    ]


def _request_query(form: CalculatorForm) -> str:
    """The calculator's inputs as they go to "Request these amounts"."""
    data = form.cleaned_data if form.is_bound else {}
    liens = data.get("liens") if form.is_bound else form.initial.get("liens")
    target = data.get("target_net")
    return urlencode(
        {
            "liens": ",".join(str(i) for i in liens or []),
            "target_net": "" if target is None else str(cents_to_decimal(target)),
            "cap_fraction": data.get("cap_fraction") or "",
        }
    )


def _preview(case: Case, inputs: ScenarioInputsForm) -> Scenario | None:
    """The scenario the inputs ask for, or None with the refusal on ``inputs``; the
    fingerprint of its figures is set on ``inputs.figures_fingerprint``."""
    if not inputs.is_valid():
        return None
    data = inputs.cleaned_data
    try:
        calculation = lien_scenarios(
            case=case,
            lien_ids=data["liens"],
            target_net_cents=data["target_net"],
            cap_fraction=data["cap_fraction"],
        )
        inputs.figures_fingerprint = calculation.fingerprint
        scenario = calculation.scenario(data["scenario"])
    except DomainError as exc:
        apply_domain_error(inputs, exc)
        return None
    if not scenario.reduced:
        inputs.add_error(
            None,
            f"The {scenario.title.lower()} scenario reduces no selected lien: nothing to request.",
        )
        return None
    return scenario


@cases_login_required
@require_http_methods(["GET", "POST"])
def lien_calculator_request_view(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Request these amounts": a scenario, confirmed, applied as one requested step per
    lien it reduces (nothing accepted). Inputs refused (malformed, or a scenario the
    calculator refuses or that reduces nothing) answer 422 with the refusal beside the
    input it names, writing nothing."""
    me = cases_user(request)
    case = case_of(request, pk)
    back = _tab_url(case.pk)
    inputs = ScenarioInputsForm(request.POST if request.method == "POST" else request.GET)
    preview = _preview(case, inputs)
    if preview is None:
        inputs.show_refused()
        return render_modal(
            request,
            TEMPLATES + "_request_form.html",
            {"case": case, "form": inputs, "preview": None},
            title="Request these amounts",
            status=INVALID,
            back_url=back,
        )
    data = inputs.cleaned_data

    def apply(form: RequestScenarioForm) -> str:
        given = form.cleaned_data
        rows = service.lien_reductions_request(
            firm=me.firm,
            actor=me,
            case_id=case.pk,
            scenario=given["scenario"],
            lien_ids=given["liens"],
            target_net_cents=given["target_net"],
            cap_fraction=given["cap_fraction"],
            made_on=given["made_on"],
            note=given["note"],
            fingerprint=given["fingerprint"],
        )
        total = sum(r.amount_cents or 0 for r in rows)
        return (
            f"Reductions requested from {len(rows)} lien holder"
            f"{'' if len(rows) == 1 else 's'}: {format_cents(total)} in all."
        )

    def drawn(form: RequestScenarioForm) -> dict[str, Any]:
        form.show_refused()
        if form.is_bound:
            # drawn again (refused): the amounts shown are today's, and so is what a
            # second confirmation carries
            data = request.POST.copy()
            data["fingerprint"] = inputs.figures_fingerprint
            form.data = data
        return {"case": case, "preview": preview}

    return popup_form(
        request,
        RequestScenarioForm,
        on_valid=apply,
        template=TEMPLATES + "_request_form.html",
        title="Request these amounts",
        success=back,
        back_url=back,
        initial={
            "scenario": data["scenario"],
            "liens": ",".join(str(i) for i in data["liens"] or []),
            "target_net": data["target_net"],
            "cap_fraction": "" if data["cap_fraction"] is None else str(data["cap_fraction"]),
            "made_on": clock.today(),
            "fingerprint": inputs.figures_fingerprint,
        },
        context=drawn,
    )
