"""Exports (issue 15, ADR 0043): every report's and list's Export menu
(:func:`report_export_view`, ``/books/exports/<report>/?format=csv|xlsx|pdf&<the screen's
filters>``), the Exports screen of the user's background export jobs with their progress
(htmx polling), download and retry, and the Beancount export below.

A report larger than :data:`INLINE_MAX_ROWS` rows (or any, with ``background=1``) is
handed to a background job and the browser is sent to the Exports screen.

Reports -> Beancount export: the books as a Beancount file (issue 15), the same
generator as ``GET /books/api/v1/exports/beancount``, streamed to the browser.

The page shows a From/To form (both optional: the whole ledger); submitted, it answers
the file as an attachment, or the form again with 422 and the refusal beside its field.
Accountant role or above (403 naming the role for staff)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_POST

from casebridge.books.auth import books_login_required, books_user
from casebridge.books.exports import jobs
from casebridge.books.exports.beancount import beancount_export, chunked, download_name
from casebridge.books.exports.tables import check_size, export_format, report_for
from casebridge.books.forms import DateInput
from casebridge.books.models import ExportJob, ExportJobStatus, Role
from casebridge.core.errors import Conflict, DomainError, PermissionDenied, ValidationFailed
from casebridge.core.tabular import CONTENT_TYPES, Format
from casebridge.web.exports import export_response
from casebridge.web.popups import INVALID, apply_domain_error

#: Rows above which an export goes to a background job rather than the response.
INLINE_MAX_ROWS = 50_000


class BeancountForm(forms.Form):
    """``from`` and ``to``, as the API names them (``from`` is a Python keyword, so the
    fields are added by name)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["from"] = forms.DateField(
            label="From", required=False, widget=DateInput, help_text="Blank: the first entry."
        )
        self.fields["to"] = forms.DateField(
            label="To", required=False, widget=DateInput, help_text="Blank: the last entry."
        )


@books_login_required(role=Role.ACCOUNTANT, doing="Exporting the books")
def beancount_export_view(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    user = books_user(request)
    form = BeancountForm(request.GET or None)
    status = 200
    if form.is_bound:
        if form.is_valid():
            start, end = form.cleaned_data["from"], form.cleaned_data["to"]
            try:
                if request.GET.get("background") == "1" or jobs.beancount_is_large(
                    user.firm, start, end
                ):
                    jobs.export_job_create(
                        firm=user.firm,
                        actor=user,
                        report=jobs.BEANCOUNT,
                        fmt="",
                        params=jobs.beancount_params(start, end),
                    )
                    return HttpResponseRedirect(reverse("books:export_jobs"))
                lines = beancount_export(firm=user.firm, actor=user, start=start, end=end)
            except DomainError as exc:
                apply_domain_error(form, exc)
                status = INVALID
            else:
                response = StreamingHttpResponse(
                    chunked(lines), content_type="text/plain; charset=utf-8"
                )
                name = download_name(user.firm, start, end)
                response["Content-Disposition"] = f'attachment; filename="{name}"'
                patch_cache_control(response, private=True, no_store=True)
                return response
        else:
            status = INVALID
    return render(
        request, "books/reports/beancount.html", {"nav": "reports", "form": form}, status=status
    )


def _forbidden(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return render(
        request,
        "books/forbidden.html",
        {"reason": exc.message, "heading": "Not allowed"},
        status=403,
    )


@books_login_required()
def report_export_view(
    request: HttpRequest, report: str
) -> HttpResponse | StreamingHttpResponse | FileResponse:
    """The report ``report`` as a file, with the screen's filters; 403 as its screen."""
    user = books_user(request)
    params: dict[str, str] = {k: str(v) for k, v in request.GET.items()}
    try:
        entry = report_for(report)
    except ValidationFailed:
        raise Http404("no such report") from None
    try:
        entry.check_access(user)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    try:
        fmt = export_format(entry, params.get("format"))
        table = entry.build(user.firm, params)
        check_size(table, fmt)
        background = params.get("background") == "1" or (
            entry.large and table.count is not None and table.count() > INLINE_MAX_ROWS
        )
        if background:
            jobs.export_job_create(
                firm=user.firm, actor=user, report=entry.key, fmt=fmt.value, params=params
            )
            return HttpResponseRedirect(reverse("books:export_jobs"))
    except DomainError as exc:
        return render(
            request,
            "books/exports/refused.html",
            {"nav": "reports", "title": entry.title, "message": exc.message, "field": exc.field},
            status=exc.http_status,
        )
    return export_response(table, fmt, bom=params.get("bom") == "1")


def _my_jobs(request: HttpRequest) -> Any:
    user = books_user(request)
    return ExportJob.objects.filter(firm=user.firm, requested_by=user).order_by(
        "-created_at", "-pk"
    )


@books_login_required()
def export_jobs_view(request: HttpRequest) -> HttpResponse:
    """The user's exports, newest first, with progress; polled while one is unfinished."""
    mine = list(_my_jobs(request)[:50])
    pending = any(j.status in (ExportJobStatus.QUEUED, ExportJobStatus.RUNNING) for j in mine)
    template = (
        "books/exports/_jobs.html"
        if request.GET.get("fragment") == "1"
        else "books/exports/jobs.html"
    )
    return render(request, template, {"nav": "reports", "jobs": mine, "pending": pending})


@books_login_required()
def export_job_download_view(request: HttpRequest, pk: int) -> HttpResponse | FileResponse:
    """The finished file, refused (403) as the report's screen would refuse the user now;
    an administrators-only export's download is audited."""
    user = books_user(request)
    try:
        found = jobs.export_job_download(firm=user.firm, actor=user, job_id=pk)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    if found is None:
        raise Http404("no such export, or its file has expired")
    job, path = found
    try:
        content_type = CONTENT_TYPES[Format(job.format)]
    except ValueError:
        content_type = "text/plain; charset=utf-8"
    response = FileResponse(
        path.open("rb"), content_type=content_type, as_attachment=True, filename=job.download_name
    )
    patch_cache_control(response, private=True, no_store=True)
    return response


@books_login_required()
@require_POST
def export_job_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Back to the Exports screen; with the user's limit of pending exports reached, the
    screen again with the refusal (409)."""
    user = books_user(request)
    try:
        jobs.export_job_retry(firm=user.firm, actor=user, job_id=pk)
    except Conflict as exc:
        mine = list(_my_jobs(request)[:50])
        pending = any(j.status in jobs.PENDING for j in mine)
        context = {"nav": "reports", "jobs": mine, "pending": pending, "refusal": exc.message}
        return render(request, "books/exports/jobs.html", context, status=exc.http_status)
    except DomainError:
        raise Http404("no failed export of yours with that number") from None
    return HttpResponseRedirect(reverse("books:export_jobs"))
