"""Cases: the list (search, status filter), New case, and a case's Overview tab with its
linked cases (link and unlink)."""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from casebridge.cases import extensions
from casebridge.cases.auth import cases_login_required, cases_user
from casebridge.cases.forms import (
    CaseCreateForm,
    CaseEditForm,
    CaseLinkForm,
    CaseSearchForm,
    ConfirmForm,
)
from casebridge.cases.models import Case, CaseStatus, User
from casebridge.cases.services import cases as case_services
from casebridge.web.paging import PER_PAGE_SHORT, paginate_numbered
from casebridge.web.popups import finish, is_htmx, popup_form

NAV = {"nav": "cases"}


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
    items, pager = paginate_numbered(
        request, cases.order_by("-pk"), per_page=PER_PAGE_SHORT, label="Case pages"
    )
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

    def create(form: CaseCreateForm) -> HttpResponse:
        data = form.cleaned_data
        attorney: User | None = data["responsible_attorney"]
        case = case_services.case_open(
            firm=me.firm,
            actor=me,
            client_name=data["client_name"],
            client_address=data["client_address"],
            client_date_of_birth=data["client_date_of_birth"],
            client_phone=data["client_phone"],
            client_email=data["client_email"],
            name=data["name"],
            responsible_attorney_id=attorney.pk if attorney else None,
            case_type_id=data["case_type"].pk,
            incident_date=data["incident_date"],
            status=data["status"],
            jurisdiction_state=data["jurisdiction_state"],
            claim_type=data["claim_type"],
        )
        return finish(
            request,
            reverse("cases:case_detail", args=[case.pk]),
            f"Case {case.number} {case.name} opened.",
        )

    return popup_form(
        request,
        CaseCreateForm,
        on_valid=create,
        template="cases/case/_create_form.html",
        title="New case",
        back_url=reverse("cases:case_list"),
        form_kwargs={"firm": me.firm},
        field_map={"client": "client_name"},
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

    def save(form: CaseEditForm) -> str:
        data = form.cleaned_data
        attorney: User | None = data["responsible_attorney"]
        case_services.case_update(
            case=case,
            actor=me,
            name=data["name"],
            status=data["status"],
            responsible_attorney_id=attorney.pk if attorney else None,
            incident_date=data["incident_date"],
            jurisdiction_state=data["jurisdiction_state"],
            claim_type=data["claim_type"],
            tolling_notes=data["tolling_notes"],
        )
        return f"Case {case.number} saved."

    return popup_form(
        request,
        CaseEditForm,
        on_valid=save,
        template="cases/case/_edit_form.html",
        title=f"Edit case {case.number}",
        success=reverse("cases:case_detail", args=[case.pk]),
        form_kwargs={"case": case},
        context={"case": case},
    )


@cases_login_required
@require_http_methods(["GET", "POST"])
def case_link_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    case = case_of(request, pk)

    def link(form: CaseLinkForm) -> str | None:
        number = form.cleaned_data["number"].strip()
        other = Case.objects.filter(firm=me.firm, number__iexact=number).first()
        if other is None:
            form.add_error("number", f"No case numbered {number} in this firm.")
            return None
        case_services.cases_link(case=case, other_case_id=other.pk, actor=me)
        return f"Case {case.number} linked to {other.number}."

    suggestions = (
        Case.objects.filter(firm=me.firm)
        .exclude(pk=case.pk)
        .exclude(pk__in=case.linked_cases.values("pk"))
        .order_by("-pk")
        .values_list("number", "name")[:200]
    )
    return popup_form(
        request,
        CaseLinkForm,
        on_valid=link,
        template="cases/case/_link_form.html",
        title=f"Link a case to {case.number}",
        success=reverse("cases:case_detail", args=[case.pk]),
        context={"case": case, "suggestions": suggestions},
        field_map={"case": "number"},
    )


@cases_login_required
@require_http_methods(["GET", "POST"])
def case_unlink_view(request: HttpRequest, pk: int, other_pk: int) -> HttpResponse:
    me = cases_user(request)
    case = case_of(request, pk)
    other = get_object_or_404(case.linked_cases.all(), pk=other_pk)

    def unlink(form: ConfirmForm) -> str:
        case_services.cases_unlink(case=case, other_case_id=other.pk, actor=me)
        return f"Case {case.number} unlinked from {other.number}."

    return popup_form(
        request,
        ConfirmForm,
        on_valid=unlink,
        template="cases/case/_unlink_form.html",
        title=f"Unlink {other.number}",
        success=reverse("cases:case_detail", args=[case.pk]),
        context={"case": case, "other": other},
    )
