"""Cases: the list (search, status filter), New case, and a case's Overview tab with its
linked cases (link and unlink)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from casebridge.cases import extensions
from casebridge.cases.auth import cases_login_required
from casebridge.cases.forms import (
    CaseCreateForm,
    CaseEditForm,
    CaseLinkForm,
    CaseSearchForm,
)
from casebridge.cases.models import Case, CaseStatus, User
from casebridge.cases.services import cases as case_services
from casebridge.core.errors import DomainError

from ._common import (
    INVALID,
    apply_domain_error,
    cases_user,
    confirm_form,
    finish,
    is_htmx,
    paginate,
    render_modal,
)

NAV = {"nav": "cases"}
#: Where the case services' refusals belong on the New case form.
CREATE_FIELDS = {
    "client": "client_name",
    "date_of_birth": "client_date_of_birth",
    "phone": "client_phone",
    "email": "client_email",
}


def case_of(request: HttpRequest, pk: int) -> Case:
    """A case of the signed-in user's firm, or 404."""
    return get_object_or_404(
        Case.objects.select_related("client", "case_type", "responsible_attorney", "firm"),
        firm=cases_user(request).firm,
        pk=pk,
    )


def case_context(case: Case, tab: str) -> dict[str, object]:
    return {**NAV, "case": case, "tab": tab}


@cases_login_required
def case_list_view(request: HttpRequest) -> HttpResponse:
    firm = cases_user(request).firm
    form = CaseSearchForm(request.GET)
    cases = Case.objects.filter(firm=firm).select_related(
        "client", "case_type", "responsible_attorney"
    )
    q = status = ""
    if form.is_valid():
        q = form.cleaned_data["q"].strip()
        status = form.cleaned_data["status"]
        if q:
            cases = cases.filter(
                Q(number__icontains=q) | Q(name__icontains=q) | Q(client__name__icontains=q)
            )
        if status:
            cases = cases.filter(status=status)
    else:
        cases = cases.none()
    items, pager = paginate(request, cases.order_by("-pk"), label="Case pages")
    context = {
        **NAV,
        "form": form,
        "q": q,
        "status": status,
        "statuses": CaseStatus.choices,
        "cases": items,
        "pager": pager,
    }
    if is_htmx(request) and request.headers.get("HX-Target") == "case-results":
        return render(request, "cases/case/_results.html", context)
    context["notices"] = extensions.home_notices(request, cases_user(request))
    return render(request, "cases/case/list.html", context)


@cases_login_required
@require_http_methods(["GET", "POST"])
def case_create_view(request: HttpRequest) -> HttpResponse:
    me = cases_user(request)
    status = 200
    if request.method == "POST":
        form = CaseCreateForm(request.POST, firm=me.firm)
        if form.is_valid():
            data = form.cleaned_data
            attorney: User | None = data["responsible_attorney"]
            fields = {**CREATE_FIELDS, "name": "client_name", "address": "client_address"}
            try:
                with transaction.atomic():  # a refused case leaves no stray client contact
                    client = case_services.contact_create(
                        firm=me.firm,
                        actor=me,
                        name=data["client_name"],
                        address=data["client_address"],
                        date_of_birth=data["client_date_of_birth"],
                        phone=data["client_phone"],
                        email=data["client_email"],
                    )
                    fields = CREATE_FIELDS  # the client is fine: "name" is the case's now
                    case = case_services.case_create(
                        firm=me.firm,
                        actor=me,
                        name=data["name"],
                        client_id=client.pk,
                        responsible_attorney_id=attorney.pk if attorney else None,
                        case_type_id=data["case_type"].pk,
                        incident_date=data["incident_date"],
                        status=data["status"],
                    )
            except DomainError as exc:
                apply_domain_error(form, exc, fields)
            else:
                return finish(
                    request,
                    reverse("cases:case_detail", args=[case.pk]),
                    f"Case {case.number} {case.name} opened.",
                )
        status = INVALID
    else:
        form = CaseCreateForm(firm=me.firm)
    return render_modal(
        request,
        "cases/case/_create_form.html",
        {"form": form},
        title="New case",
        status=status,
        back_url=reverse("cases:case_list"),
        wide=True,
    )


@cases_login_required
def case_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_of(request, pk)
    linked = case.linked_cases.select_related("client", "responsible_attorney").order_by("number")
    return render(
        request, "cases/case/overview.html", {**case_context(case, "overview"), "linked": linked}
    )


@cases_login_required
@require_http_methods(["GET", "POST"])
def case_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    case = case_of(request, pk)
    back = reverse("cases:case_detail", args=[case.pk])
    status = 200
    if request.method == "POST":
        form = CaseEditForm(request.POST, case=case)
        if form.is_valid():
            data = form.cleaned_data
            attorney: User | None = data["responsible_attorney"]
            try:
                case_services.case_update(
                    case=case,
                    actor=me,
                    name=data["name"],
                    status=data["status"],
                    responsible_attorney_id=attorney.pk if attorney else None,
                    incident_date=data["incident_date"],
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                return finish(request, back, f"Case {case.number} saved.")
        status = INVALID
    else:
        form = CaseEditForm(case=case)
    return render_modal(
        request,
        "cases/case/_edit_form.html",
        {"form": form, "case": case},
        title=f"Edit case {case.number}",
        status=status,
        back_url=back,
    )


@cases_login_required
@require_http_methods(["GET", "POST"])
def case_link_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    case = case_of(request, pk)
    back = reverse("cases:case_detail", args=[case.pk])
    status = 200
    if request.method == "POST":
        form = CaseLinkForm(request.POST)
        if form.is_valid():
            number = form.cleaned_data["number"].strip()
            other = Case.objects.filter(firm=me.firm, number__iexact=number).first()
            if other is None:
                form.add_error("number", f"No case numbered {number} in this firm.")
            else:
                try:
                    case_services.cases_link(case=case, other_case_id=other.pk, actor=me)
                except DomainError as exc:
                    apply_domain_error(form, exc, {"case": "number"})
                else:
                    return finish(request, back, f"Case {case.number} linked to {other.number}.")
        status = INVALID
    else:
        form = CaseLinkForm()
    suggestions = (
        Case.objects.filter(firm=me.firm)
        .exclude(pk=case.pk)
        .exclude(pk__in=case.linked_cases.values("pk"))
        .order_by("-pk")
        .values_list("number", "name")[:200]
    )
    return render_modal(
        request,
        "cases/case/_link_form.html",
        {"form": form, "case": case, "suggestions": suggestions},
        title=f"Link a case to {case.number}",
        status=status,
        back_url=back,
    )


@cases_login_required
@require_http_methods(["GET", "POST"])
def case_unlink_view(request: HttpRequest, pk: int, other_pk: int) -> HttpResponse:
    me = cases_user(request)
    case = case_of(request, pk)
    other = get_object_or_404(case.linked_cases.all(), pk=other_pk)
    back = reverse("cases:case_detail", args=[case.pk])
    status = 200
    form = confirm_form(request)
    if request.method == "POST":
        try:
            case_services.cases_unlink(case=case, other_case_id=other.pk, actor=me)
        except DomainError as exc:
            apply_domain_error(form, exc)
            status = INVALID
        else:
            return finish(request, back, f"Case {case.number} unlinked from {other.number}.")
    return render_modal(
        request,
        "cases/case/_unlink_form.html",
        {"form": form, "case": case, "other": other},
        title=f"Unlink {other.number}",
        status=status,
        back_url=back,
    )
