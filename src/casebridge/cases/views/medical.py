"""A case's Treatment tab (issue 16): the providers' treatment, their bills with the
case's totals (specials, adjustments, paid by source, outstanding), the records and bills
requests with their status, and the pop-ups to add and correct each, void a bill and make
a bill's balance a lien on the settlement."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from casebridge.cases.auth import cases_login_required, cases_user
from casebridge.cases.forms import DateInput, MoneyField, contact_field
from casebridge.cases.models import (
    Bill,
    Case,
    MedicalRequest,
    Treatment,
    TreatmentStatus,
    User,
)
from casebridge.cases.selectors import medical as selectors
from casebridge.cases.services import medical as service
from casebridge.core import words
from casebridge.core.errors import ValidationFailed
from casebridge.core.money import format_cents
from casebridge.web.paging import cursor_param
from casebridge.web.popups import ConfirmForm, popup_form, safe_next

from .cases import case_context, case_of

#: Where the medical services' refusals belong on the forms.
FIELDS = {"case": "__all__", "bill": "__all__", "request": "__all__", "name": "provider"}


def _date(label: str, *, required: bool = False, help_text: str = "") -> forms.DateField:
    return forms.DateField(label=label, required=required, widget=DateInput, help_text=help_text)


def _note(label: str = "Note", max_length: int = 500) -> forms.CharField:
    return forms.CharField(label=label, max_length=max_length, required=False)


class ProviderForm(forms.Form):
    name = forms.CharField(label="Provider name", max_length=200)
    phone = forms.CharField(label="Phone", max_length=40, required=False)
    email = forms.EmailField(label="Email", required=False)


class TreatmentForm(forms.Form):
    provider = contact_field("Provider", "provider-names")
    status = forms.ChoiceField(label="Treatment status", choices=TreatmentStatus.choices)
    first_visit = _date("First visit")
    last_visit = _date("Last visit", help_text="Not before the first visit.")
    note = _note()


class BillForm(forms.Form):
    provider = contact_field("Provider", "provider-names")
    treatment = forms.TypedChoiceField(
        label="Treatment", required=False, coerce=int, empty_value=None
    )
    service_from = _date("Service from")
    service_to = _date("Service to")
    bill_date = _date("Bill date", help_text="Or the dates of service.")
    reference = forms.CharField(label="Bill or account number", max_length=60, required=False)
    billed = MoneyField(label="Billed")
    adjustments = MoneyField(label="Adjustments (write-offs)", required=False)
    paid_health_insurance = MoneyField(label="Paid by health insurance", required=False)
    paid_medpay = MoneyField(label="Paid by MedPay", required=False)
    paid_pip = MoneyField(label="Paid by PIP", required=False)
    paid_client = MoneyField(label="Paid by the client", required=False)

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["treatment"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "—")] + [
            (t.pk, _treatment_label(t)) for t in selectors.case_treatments(case=case)
        ]

    def amounts(self) -> service.BillAmounts:
        data = self.cleaned_data
        return service.BillAmounts(
            **{name: data.get(name) or 0 for name, _ in service.AMOUNT_FIELDS}
        )


class RequestForm(forms.Form):
    provider = contact_field("Provider", "provider-names")
    records_requested_on = _date("Records requested on")
    records_received_on = _date("Records received on")
    bills_requested_on = _date("Bills requested on")
    bills_received_on = _date("Bills received on")
    follow_up_on = _date("Follow up on", help_text="Past this date, what is still out is overdue.")
    note = _note()

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["provider"].disabled = True
            self.fields["provider"].required = False

    def dates(self) -> service.RequestDates:
        data = self.cleaned_data
        return service.RequestDates(
            records_requested_on=data["records_requested_on"],
            records_received_on=data["records_received_on"],
            bills_requested_on=data["bills_requested_on"],
            bills_received_on=data["bills_received_on"],
            follow_up_on=data["follow_up_on"],
        )


class BillVoidForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=255)


def _treatment_label(t: Treatment) -> str:
    since = f", from {words.format_day(t.first_visit)}" if t.first_visit else ""
    return f"{t.provider.name}{since} ({t.get_status_display().lower()})"


def _tab_url(case_id: int) -> str:
    return reverse("cases:case_treatment", args=[case_id])


def _back(request: HttpRequest, case_id: int) -> str:
    """Where a pop-up of the tab returns after a save (and its Cancel): the tab's page it
    was opened from, as its ``next`` says (the lists' cursors kept; a path on this site
    only), else the tab's first page."""
    return safe_next(
        request, request.GET.get("next") or request.POST.get("next"), _tab_url(case_id)
    )


def _provider_id(me: User, name: str) -> int:
    return service.provider_for_name(firm=me.firm, actor=me, name=name).pk


def _names(me: User) -> dict[str, Any]:
    return {"names": selectors.provider_names(me.firm)}


# --- The tab ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pager:
    """One list's page on the tab: its rows and the links to the next and the first page
    (each list keeps its own cursor in the query string, ``?treatments=`` / ``?bills=``,
    and its links keep the other's)."""

    rows: list[Any]
    next_url: str
    first_url: str


def _pager(
    request: HttpRequest, name: str, read: Callable[[str | None], tuple[list[Any], str | None]]
) -> _Pager:
    cursor = cursor_param(request, name)
    try:
        rows, next_cursor = read(cursor)
    except ValidationFailed:  # a stale or edited cursor: the first page
        cursor = None
        rows, next_cursor = read(None)
    query = request.GET.copy()
    query.pop(name, None)
    anchor = f"#{name}-title"
    first_url = f"?{query.urlencode()}{anchor}" if cursor else ""
    next_url = ""
    if next_cursor:
        query[name] = next_cursor
        next_url = f"?{query.urlencode()}{anchor}"
    return _Pager(rows, next_url, first_url)


@cases_login_required
@require_GET
def case_treatment_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The tab: the case's totals over every bill, and a page of its treatments and a page
    of its bills, each walked by keyset (Next page / First page), so that a case with
    thousands of bills reads and renders one page (bench/pi_depth.py)."""
    case = case_of(request, pk)
    requests = [
        (r, selectors.request_status(r)) for r in selectors.case_medical_requests(case=case)
    ]
    treatments = _pager(
        request, "treatments", lambda c: selectors.case_treatments_page(case=case, cursor=c)
    )
    bills = _pager(request, "bills", lambda c: selectors.case_bills_page(case=case, cursor=c))
    return render(
        request,
        "cases/medical/tab.html",
        {
            **case_context(case, "treatment"),
            "treatments": treatments.rows,
            "treatments_pager": treatments,
            "treatment_count": (
                len(treatments.rows)
                if not treatments.next_url and not treatments.first_url
                else selectors.case_treatment_count(case=case)
            ),
            "bills": bills.rows,
            "bills_pager": bills,
            "bill_count": (
                len(bills.rows)
                if not bills.next_url and not bills.first_url
                else selectors.case_bill_count(case=case)
            ),
            "requests": [(r, s, selectors.RequestStatus.LABELS[s]) for r, s in requests],
            "totals": selectors.medical_totals(case=case),
            # the pop-ups come back to this page of the tab (the lists' cursors kept)
            "next_query": f"?{urlencode({'next': request.get_full_path()})}",
        },
    )


# --- Providers --------------------------------------------------------------------------


@cases_login_required
@require_http_methods(["GET", "POST"])
def provider_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A provider: a new contact marked a medical provider, or the contact of that name
    marked one."""
    me = cases_user(request)
    case = case_of(request, pk)

    def save(form: ProviderForm) -> str:
        data = form.cleaned_data
        contact = service.provider_for_name(
            firm=me.firm,
            actor=me,
            name=data["name"],
            phone=data["phone"],
            email=data["email"],
        )
        return f"{contact.name} is a medical provider."

    return popup_form(
        request,
        ProviderForm,
        on_valid=save,
        template="cases/medical/_provider_form.html",
        title=f"Add provider · {case.number}",
        success=_back(request, case.pk),
        context={"case": case, "next": _back(request, case.pk)},
        field_map={"provider": "name"},
    )


# --- Treatment --------------------------------------------------------------------------


@cases_login_required
@require_http_methods(["GET", "POST"])
def treatment_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    case = case_of(request, pk)

    def create(form: TreatmentForm) -> str:
        data = form.cleaned_data
        with transaction.atomic():
            treatment = service.treatment_create(
                firm=me.firm,
                actor=me,
                case_id=case.pk,
                provider_id=_provider_id(me, data["provider"]),
                first_visit=data["first_visit"],
                last_visit=data["last_visit"],
                status=data["status"],
                note=data["note"],
            )
        return f"Treatment by {treatment.provider.name} added."

    return popup_form(
        request,
        TreatmentForm,
        on_valid=create,
        template="cases/medical/_treatment_form.html",
        title=f"Add treatment · {case.number}",
        success=_back(request, case.pk),
        context=lambda form: {
            "action": reverse("cases:treatment_new", args=[case.pk]),
            "next": _back(request, case.pk),
            **_names(me),
        },
        field_map=FIELDS,
    )


@cases_login_required
@require_http_methods(["GET", "POST"])
def treatment_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    treatment = get_object_or_404(
        Treatment.objects.select_related("case", "provider"), firm=me.firm, pk=pk
    )

    def save(form: TreatmentForm) -> str:
        data = form.cleaned_data
        with transaction.atomic():
            service.treatment_update(
                firm=me.firm,
                actor=me,
                treatment_id=treatment.pk,
                provider_id=_provider_id(me, data["provider"]),
                first_visit=data["first_visit"],
                last_visit=data["last_visit"],
                status=data["status"],
                note=data["note"],
            )
        return "Treatment saved."

    return popup_form(
        request,
        TreatmentForm,
        on_valid=save,
        template="cases/medical/_treatment_form.html",
        title=f"Edit treatment · {treatment.case.number}",
        success=_back(request, treatment.case_id),
        initial={
            "provider": treatment.provider.name,
            "status": treatment.status,
            "first_visit": treatment.first_visit,
            "last_visit": treatment.last_visit,
            "note": treatment.note,
        },
        context=lambda form: {
            "action": reverse("cases:treatment_edit", args=[treatment.pk]),
            "next": _back(request, treatment.case_id),
            "editing": True,
            **_names(me),
        },
        field_map=FIELDS,
    )


# --- Bills ------------------------------------------------------------------------------


def _bill_call(me: User, form: BillForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "firm": me.firm,
        "actor": me,
        "amounts": form.amounts(),
        "provider_id": _provider_id(me, data["provider"]),
        "treatment_id": data["treatment"],
        "service_from": data["service_from"],
        "service_to": data["service_to"],
        "bill_date": data["bill_date"],
        "reference": data["reference"],
    }


@cases_login_required
@require_http_methods(["GET", "POST"])
def bill_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    case = case_of(request, pk)

    def create(form: BillForm) -> str:
        with transaction.atomic():
            bill = service.bill_create(case_id=case.pk, **_bill_call(me, form))
        return (
            f"Bill of {bill.provider.name} for {format_cents(bill.billed_cents)} added "
            f"({format_cents(bill.outstanding_cents)} outstanding)."
        )

    return popup_form(
        request,
        BillForm,
        on_valid=create,
        template="cases/medical/_bill_form.html",
        title=f"Add bill · {case.number}",
        success=_back(request, case.pk),
        form_kwargs={"case": case},
        context=lambda form: {
            "action": reverse("cases:bill_new", args=[case.pk]),
            "next": _back(request, case.pk),
            **_names(me),
        },
        field_map=FIELDS,
        wide=True,
    )


def _bill_of(request: HttpRequest, pk: int) -> Bill:
    return get_object_or_404(
        Bill.objects.select_related("case", "provider", "lien"),
        firm=cases_user(request).firm,
        pk=pk,
    )


@cases_login_required
@require_http_methods(["GET", "POST"])
def bill_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct a bill (audited before/after); a void bill or one that became a lien is
    shown locked."""
    me = cases_user(request)
    bill = _bill_of(request, pk)

    def save(form: BillForm) -> str:
        with transaction.atomic():
            service.bill_update(bill_id=bill.pk, **_bill_call(me, form))
        return "Bill saved."

    return popup_form(
        request,
        BillForm,
        on_valid=save,
        template="cases/medical/_bill_form.html",
        title=f"Edit bill · {bill.case.number}",
        success=_back(request, bill.case_id),
        form_kwargs={"case": bill.case},
        initial={
            "provider": bill.provider.name,
            "treatment": bill.treatment_id,
            "service_from": bill.service_from,
            "service_to": bill.service_to,
            "bill_date": bill.bill_date,
            "reference": bill.reference,
            "billed": bill.billed_cents,
            "adjustments": bill.adjustments_cents,
            "paid_health_insurance": bill.paid_health_insurance_cents,
            "paid_medpay": bill.paid_medpay_cents,
            "paid_pip": bill.paid_pip_cents,
            "paid_client": bill.paid_client_cents,
        },
        context=lambda form: {
            "action": reverse("cases:bill_edit", args=[bill.pk]),
            "next": _back(request, bill.case_id),
            "bill": bill,
            "locked": bill.is_void or bill.lien_id is not None,
            **_names(me),
        },
        field_map=FIELDS,
        wide=True,
    )


@cases_login_required
@require_http_methods(["GET", "POST"])
def bill_void_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    bill = _bill_of(request, pk)

    def void(form: BillVoidForm) -> str:
        service.bill_void(
            firm=me.firm, actor=me, bill_id=bill.pk, reason=form.cleaned_data["reason"]
        )
        return f"Bill of {bill.provider.name} for {format_cents(bill.billed_cents)} voided."

    return popup_form(
        request,
        BillVoidForm,
        on_valid=void,
        template="cases/medical/_bill_void_form.html",
        title="Void bill",
        success=_back(request, bill.case_id),
        context={"bill": bill, "next": _back(request, bill.case_id)},
    )


@cases_login_required
@require_http_methods(["GET", "POST"])
def bill_lien_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Make the bill's outstanding balance a medical lien on the settlement, in one step."""
    me = cases_user(request)
    bill = _bill_of(request, pk)

    def convert(form: ConfirmForm) -> str:
        lien = service.bill_to_lien(firm=me.firm, actor=me, bill_id=bill.pk)
        return (
            f"Lien of {bill.provider.name} for {format_cents(lien.claimed_cents)} added to "
            "the settlement."
        )

    return popup_form(
        request,
        ConfirmForm,
        on_valid=convert,
        template="cases/medical/_bill_lien_form.html",
        title="Make the balance a lien",
        success=_back(request, bill.case_id),
        context={"bill": bill, "next": _back(request, bill.case_id)},
    )


# --- Records and bills requests ---------------------------------------------------------


def _request_initial(r: MedicalRequest) -> dict[str, Any]:
    return {
        "provider": r.provider.name,
        "records_requested_on": r.records_requested_on,
        "records_received_on": r.records_received_on,
        "bills_requested_on": r.bills_requested_on,
        "bills_received_on": r.bills_received_on,
        "follow_up_on": r.follow_up_on,
        "note": r.note,
    }


@cases_login_required
@require_http_methods(["GET", "POST"])
def medical_request_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    case = case_of(request, pk)

    def create(form: RequestForm) -> str:
        with transaction.atomic():
            made = service.medical_request_create(
                firm=me.firm,
                actor=me,
                case_id=case.pk,
                provider_id=_provider_id(me, form.cleaned_data["provider"]),
                dates=form.dates(),
                note=form.cleaned_data["note"],
            )
        return f"Records and bills request to {made.provider.name} added."

    return popup_form(
        request,
        RequestForm,
        on_valid=create,
        template="cases/medical/_request_form.html",
        title=f"Records and bills request · {case.number}",
        success=_back(request, case.pk),
        context=lambda form: {
            "action": reverse("cases:medical_request_new", args=[case.pk]),
            "next": _back(request, case.pk),
            **_names(me),
        },
        field_map=FIELDS,
    )


@cases_login_required
@require_http_methods(["GET", "POST"])
def medical_request_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    found = get_object_or_404(
        MedicalRequest.objects.select_related("case", "provider"), firm=me.firm, pk=pk
    )

    def save(form: RequestForm) -> str:
        service.medical_request_update(
            firm=me.firm,
            actor=me,
            request_id=found.pk,
            dates=form.dates(),
            note=form.cleaned_data["note"],
        )
        return f"Records and bills request to {found.provider.name} saved."

    return popup_form(
        request,
        RequestForm,
        on_valid=save,
        template="cases/medical/_request_form.html",
        title=f"Records and bills request · {found.case.number}",
        success=_back(request, found.case_id),
        form_kwargs={"editing": True, "initial": _request_initial(found)},
        context=lambda form: {
            "action": reverse("cases:medical_request_edit", args=[found.pk]),
            "next": _back(request, found.case_id),
            "names": [],
        },
        field_map=FIELDS,
    )
