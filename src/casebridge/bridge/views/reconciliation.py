"""Reconciliation with the books: the differences, a run and its progress, fixing a
difference, and the three-way reconciliation."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from casebridge.bridge.forms import DifferenceFilterForm, ThreeWayForm
from casebridge.bridge.models import PENDING, BooksJob, JobKind, ReconciliationDifference, RunState
from casebridge.bridge.selectors.reconciliation import reconciliation_summary
from casebridge.bridge.services import reconciliation
from casebridge.bridge.views._common import SETTINGS_NAV, parse_item_id
from casebridge.cases.auth import cases_settings_required, cases_user
from casebridge.cases.models import Case, User
from casebridge.core.errors import DomainError
from casebridge.core.money import format_cents
from casebridge.web.paging import paginate_numbered as paginate
from casebridge.web.popups import INVALID, ConfirmForm, finish, message_of, popup_form, safe_next

DIFFERENCES_PER_PAGE = 50


def _case_param(request: HttpRequest, me: User) -> Case | None:
    """The case named by ``?case=`` (None: no case named, the whole firm). A value that is
    not one of this firm's cases is 404, exactly like a case that does not exist: it never
    falls back to the whole firm."""
    raw = request.GET.get("case") or request.POST.get("case") or ""
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) < 19):
        raise Http404("no such case")
    return get_object_or_404(Case, firm=me.firm, pk=int(raw))


@cases_settings_required
@require_http_methods(["GET"])
def reconciliation_view(request: HttpRequest) -> HttpResponse:
    """The last reconciliation (of the firm, or of the case in ``?case=``) and what it
    found; one the worker is running shows as such, and the page reloads when it is done."""
    me = cases_user(request)
    case = _case_param(request, me)
    run = reconciliation.last_run(me.firm, case)
    form = DifferenceFilterForm(request.GET)
    kind = form.cleaned_data.get("kind", "") if form.is_valid() else ""
    found = run.found.select_related("case", "fixed_by") if run else None
    if found is not None and kind:
        found = found.filter(kind=kind)
    rows, pager = (
        paginate(request, found, per_page=DIFFERENCES_PER_PAGE, label="Difference pages")
        if found is not None
        else ([], None)
    )
    return render(
        request,
        "bridge/reconciliation.html",
        {
            **SETTINGS_NAV,
            "case": case,
            "run": run,
            "pending": reconciliation.pending_run(me.firm, case),
            "rows": rows,
            "pager": pager,
            "form": form,
            "here": request.get_full_path(),
        },
    )


@cases_settings_required
@require_POST
def reconciliation_run_view(request: HttpRequest) -> HttpResponse:
    """Run the reconciliation now (the firm, or one case): queued for the worker."""
    me = cases_user(request)
    case = _case_param(request, me)
    back = reverse("bridge:reconciliation") + (f"?case={case.pk}" if case else "")
    try:
        run = reconciliation.reconciliation_request(
            firm=me.firm, actor=me, case_id=case.pk if case else None
        )
    except DomainError as exc:
        messages.error(request, message_of(exc))
        return finish(request, back)
    run.refresh_from_db()
    if run.state in PENDING:
        return finish(
            request,
            back,
            "The reconciliation is running: the worker is comparing both sides; this page "
            "shows the result when it is done.",
        )
    if run.error:
        messages.error(request, f"The reconciliation could not run: {run.error}")
        return finish(request, back)
    return finish(request, back, reconciliation_summary(run))


@cases_settings_required
@require_http_methods(["GET"])
def reconciliation_run_status_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A running reconciliation's notice (polled); once done, the page reloads."""
    me = cases_user(request)
    run = reconciliation.run_of(me.firm, pk)
    if run is None:
        raise Http404("No such reconciliation.")
    if run.state in PENDING:
        return render(request, "bridge/_reconciliation_pending.html", {"pending": run})
    response = HttpResponse("")
    response["HX-Refresh"] = "true"
    return response


@cases_settings_required
@require_http_methods(["GET", "POST"])
def reconciliation_fix_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Apply a difference's fix (send, retry, sync, send again) after a confirmation."""
    me = cases_user(request)
    diff = get_object_or_404(
        ReconciliationDifference.objects.select_related("run", "case"), run__firm=me.firm, pk=pk
    )
    # the subject names what differs; its case is named apart (a column of the list)
    what = f"{diff.subject} (case {diff.case.number})" if diff.case else diff.subject
    back = safe_next(request, request.POST.get("next"), reverse("bridge:reconciliation"))

    def fix(form: ConfirmForm) -> str:
        reconciliation.difference_fix(firm=me.firm, actor=me, difference_id=diff.pk)
        return (
            f"{diff.get_fix_display()}: done for {what}. Run the reconciliation "
            "again once the books have answered."
        )

    return popup_form(
        request,
        ConfirmForm,
        on_valid=fix,
        template="bridge/_fix_form.html",
        title=diff.get_fix_display() or "Fix",
        success=back,
        context={"diff": diff, "what": what, "next": back},
    )


@cases_settings_required
@require_http_methods(["GET", "POST"])
def three_way_view(request: HttpRequest) -> HttpResponse:
    """The books' three-way reconciliation of the default client trust account: the bank
    statement's figures typed here, the trust journal and the client ledgers from the
    books. Asking (POST) queues it for the worker; ``?job=`` shows it pending (polling)
    or its answer."""
    me = cases_user(request)
    result = None
    error = ""
    status = 200
    job: BooksJob | None = None
    if request.method == "POST":
        form = ThreeWayForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                job = reconciliation.three_way_request(
                    firm=me.firm,
                    actor=me,
                    statement_cents=data["statement_balance"],
                    deposits_in_transit_cents=data["deposits_in_transit"] or 0,
                    outstanding_checks_cents=data["outstanding_checks"],
                    as_of=data["as_of"],
                )
            except DomainError as exc:
                error = message_of(exc)
                status = INVALID
            else:
                return HttpResponseRedirect(reverse("bridge:three_way") + f"?job={job.pk}")
        else:
            status = INVALID
    else:
        raw = request.GET.get("job", "")
        if raw:
            job = get_object_or_404(
                BooksJob, firm=me.firm, kind=JobKind.THREE_WAY, pk=parse_item_id(raw)
            )
        form = ThreeWayForm(_three_way_initial(job))
        if job is None:
            form = ThreeWayForm()
    if job is not None and job.state == RunState.DONE:
        result = reconciliation.three_way_of(job)
    elif job is not None and job.state == RunState.FAILED:
        error = job.error_message
    context = {**SETTINGS_NAV, "form": form, "result": result, "error": error, "job": job}
    if request.GET.get("fragment"):
        return render(request, "bridge/_three_way_result.html", context)
    return render(request, "bridge/three_way.html", context, status=status)


def _three_way_initial(job: BooksJob | None) -> dict[str, str]:
    """The form as it was filled in for ``job`` (the figures it asked about)."""
    if job is None:
        return {}
    p = job.params

    def amount(key: str) -> str:
        cents = p.get(key)
        return "" if cents is None else format_cents(int(cents), symbol="")

    return {
        "statement_balance": amount("statement_cents"),
        "deposits_in_transit": amount("deposits_in_transit_cents"),
        "outstanding_checks": amount("outstanding_checks_cents"),
        "as_of": str(p.get("as_of") or ""),
    }
