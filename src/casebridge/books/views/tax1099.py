"""Reports -> 1099 payees (issue 15, ADR 0045): the year's payees and totals per form/box
against the thresholds, the payees' 1099 settings (a pop-up per contact, and one that
adds a payee who is not yet a contact), a check's 1099 form/box (a pop-up from Checks),
the filing-service CSV and the reveal of one TIN (both administrators', audited).

Every TIN on these screens is masked to its last four digits."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_http_methods

from casebridge.books.auth import books_login_required, books_user
from casebridge.books.models import (
    Check,
    CheckStatus,
    Contact,
    PaymentTaxReport,
    Role,
    TaxBox,
    TaxPayee,
    TinType,
)
from casebridge.books.roles import has_role
from casebridge.books.selectors import tax1099 as selector
from casebridge.books.services import tax1099 as service
from casebridge.core import clock
from casebridge.core.errors import DomainError
from casebridge.web.popups import INVALID, popup_form, render_modal

NAV = {"nav": "reports"}
TIN_TYPES = [("", "None yet"), *TinType.choices]


class YearForm(forms.Form):
    year = forms.IntegerField(
        label="Tax year", min_value=selector.FIRST_YEAR, max_value=selector.LAST_YEAR
    )


class SecretInput(forms.TextInput):
    """A text input that never writes its value back into the page (a form refused for
    another field asks for the TIN again rather than echo it whole)."""

    def format_value(self, value: Any) -> str | None:
        return None


class TaxPayeeForm(forms.Form):
    name = forms.CharField(label="Name", max_length=200)
    is_1099 = forms.BooleanField(label="1099-eligible", required=False, initial=True)
    tin_type = forms.ChoiceField(label="TIN type", choices=TIN_TYPES, required=False)
    tin = forms.CharField(
        label="TIN",
        required=False,
        max_length=20,
        widget=SecretInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    remove_tin = forms.BooleanField(label="Remove the TIN", required=False)
    default_box = forms.ChoiceField(label="Usual form and box", choices=TaxBox.choices)
    address_line1 = forms.CharField(label="Address line 1", required=False, max_length=120)
    address_line2 = forms.CharField(label="Address line 2", required=False, max_length=120)
    city = forms.CharField(label="City", required=False, max_length=60)
    state = forms.CharField(label="State", required=False, max_length=2)
    zip_code = forms.CharField(label="ZIP", required=False, max_length=10)

    def __init__(self, *args: Any, payee: TaxPayee | None = None, new: bool, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if not new:
            del self.fields["name"]
        if payee is not None and payee.tin_last4:
            self.fields[
                "tin"
            ].help_text = (
                f"Kept: {selector.tin_display(payee)}. Leave blank to keep it, or type it again."
            )
        else:
            self.fields[
                "tin"
            ].help_text = "From the W-9: an SSN (3-2-4 digits) or an EIN (2-7 digits)."
            del self.fields["remove_tin"]

    def details(self) -> dict[str, Any]:
        data = self.cleaned_data
        tin: str | None = data["tin"].strip() or None
        if data.get("remove_tin"):
            tin = ""
        return {
            "is_1099": data["is_1099"],
            "tin_type": data["tin_type"],
            "tin": tin,
            "default_box": data["default_box"],
            **{
                name: data[name]
                for name in ("address_line1", "address_line2", "city", "state", "zip_code")
            },
        }


class PaymentTaxForm(forms.Form):
    contact = forms.ChoiceField(label="Paid to (1099 payee)", required=False)
    box = forms.ChoiceField(label="Form and box", required=False)

    def __init__(self, *args: Any, payees: list[TaxPayee], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        contact_field = self.fields["contact"]
        box_field = self.fields["box"]
        assert isinstance(contact_field, forms.ChoiceField)
        assert isinstance(box_field, forms.ChoiceField)
        contact_field.choices = [
            ("", "Not reported on a 1099"),
            *((str(p.contact_id), p.contact.name) for p in payees),
        ]
        box_field.choices = [("", "The payee's usual form and box"), *TaxBox.choices]


def _year(request: HttpRequest) -> tuple[YearForm, int | None]:
    form = YearForm(request.GET or None, initial={"year": clock.today().year})
    if not form.is_bound:
        return form, clock.today().year
    return form, form.cleaned_data["year"] if form.is_valid() else None


@books_login_required()
def tax1099_report_view(request: HttpRequest) -> HttpResponse:
    user = books_user(request)
    form, year = _year(request)
    report = selector.payee_report(firm=user.firm, year=year) if year is not None else None
    payees = TaxPayee.objects.filter(firm=user.firm).select_related("contact")
    return render(
        request,
        "books/reports/tax1099.html",
        {
            **NAV,
            "form": form,
            "report": report,
            "payees": [
                {"payee": p, "tin": selector.tin_display(p), "box": TaxBox(p.default_box).label}
                for p in sorted(payees, key=lambda p: p.contact.name.casefold())
            ],
            "can_edit": has_role(user, service.TAX_ROLE),
            "is_admin": user.is_admin,
            "forms": list(selector.FORMS),
        },
        status=200 if report is not None else INVALID,
    )


@books_login_required(admin=True)
def tax1099_csv_view(request: HttpRequest) -> HttpResponse:
    user = books_user(request)
    _form, year = _year(request)
    which = request.GET.get("form", "")
    if year is None or which not in selector.FORMS:
        return HttpResponse(
            "Choose a tax year and a form (1099-NEC or 1099-MISC).",
            status=INVALID,
            content_type="text/plain; charset=utf-8",
        )
    text = service.tax1099_csv(firm=user.firm, actor=user, year=year, form=which)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    name = selector.download_name(user.firm, year, which)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    patch_cache_control(response, private=True, no_store=True)
    return response


@books_login_required(role=Role.ACCOUNTANT, doing="Changing a 1099 payee")
@require_http_methods(["GET", "POST"])
def tax_payee_new_view(request: HttpRequest) -> HttpResponse:
    return _payee_form(request, None)


@books_login_required(role=Role.ACCOUNTANT, doing="Changing a 1099 payee")
@require_http_methods(["GET", "POST"])
def tax_payee_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact, firm=books_user(request).firm, pk=pk)
    return _payee_form(request, contact)


def _payee_form(request: HttpRequest, contact: Contact | None) -> HttpResponse:
    me = books_user(request)
    payee = TaxPayee.objects.filter(contact=contact).first() if contact is not None else None

    def save(form: TaxPayeeForm) -> str:
        if contact is None:
            saved = service.tax_payee_create(
                firm=me.firm, actor=me, name=form.cleaned_data["name"], **form.details()
            )
        else:
            saved = service.tax_payee_save(
                firm=me.firm, actor=me, contact_id=contact.pk, **form.details()
            )
        return f"1099 settings of {saved.contact.name} saved."

    initial: dict[str, Any] = {"is_1099": True, "default_box": TaxBox.NEC_1}
    if payee is not None:
        initial = {
            "is_1099": payee.is_1099,
            "tin_type": payee.tin_type,
            "default_box": payee.default_box,
            "address_line1": payee.address_line1,
            "address_line2": payee.address_line2,
            "city": payee.city,
            "state": payee.state,
            "zip_code": payee.zip_code,
        }
    action = (
        reverse("books:tax_payee_new")
        if contact is None
        else reverse("books:tax_payee_edit", args=[contact.pk])
    )
    return popup_form(
        request,
        TaxPayeeForm,
        on_valid=save,
        template="books/reports/_tax_payee_form.html",
        title="Add a 1099 payee" if contact is None else f"1099 settings of {contact.name}",
        success=reverse("books:tax1099"),
        initial=initial,
        form_kwargs={"payee": payee, "new": contact is None},
        context={"action": action},
    )


@books_login_required(admin=True)
@require_http_methods(["GET", "POST"])
def tax_payee_reveal_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The whole TIN, shown once after a POST (so a prefetch or a crawler never reveals
    it), audited."""
    me = books_user(request)
    payee = get_object_or_404(
        TaxPayee.objects.select_related("contact"), firm=me.firm, contact_id=pk
    )
    plain = ""
    status = 200
    error = ""
    if request.method == "POST":
        try:
            plain = service.tin_reveal(firm=me.firm, actor=me, contact_id=pk)
        except DomainError as exc:
            error, status = exc.message, INVALID
    response = render_modal(
        request,
        "books/reports/_tin_reveal.html",
        {
            "payee": payee,
            "masked": selector.tin_display(payee),
            "plain": plain,
            "error": error,
            "action": reverse("books:tax_payee_reveal", args=[pk]),
        },
        title=f"TIN of {payee.contact.name}",
        status=status,
        back_url=reverse("books:tax1099"),
    )
    patch_cache_control(response, private=True, no_store=True)
    return response


@books_login_required(role=Role.ACCOUNTANT, doing="Reporting a check on a 1099")
@require_http_methods(["GET", "POST"])
def check_tax1099_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = books_user(request)
    check = get_object_or_404(Check, firm=me.firm, pk=pk)
    current = PaymentTaxReport.objects.filter(payment=check).first()
    payees = list(
        TaxPayee.objects.filter(firm=me.firm, is_1099=True)
        .select_related("contact")
        .order_by("contact__name")
    )

    def save(form: PaymentTaxForm) -> str:
        contact = form.cleaned_data["contact"]
        report = service.payment_tax_report_set(
            firm=me.firm,
            actor=me,
            check_id=check.pk,
            contact_id=int(contact) if contact else None,
            box=form.cleaned_data["box"] or None,
        )
        if report is None:
            return f"The check to {check.payee} is not reported on a 1099."
        return f"The check to {check.payee} is reported on {TaxBox(report.box).label}."

    status = {"printed": "printed", "queued": "queued"}.get(check.status, "")
    return popup_form(
        request,
        PaymentTaxForm,
        on_valid=save,
        template="books/checks/_tax1099_form.html",
        title=f"1099 of the check to {check.payee}",
        success=f"{reverse('books:checks')}?status={status or CheckStatus.VOIDED}",
        initial=({"contact": str(current.contact_id), "box": current.box} if current else {}),
        form_kwargs={"payees": payees},
        field_map={"contact_id": "contact", "check_id": "contact"},
        context={"action": reverse("books:check_tax1099", args=[check.pk]), "check": check},
    )
