"""Exports of the books in other engines' formats (issue 15).

``GET /exports/beancount?from=&to=``: the whole ledger, or the entries dated from ``from``
to ``to`` (both included, either left out), as Beancount text (``books.exports.beancount``),
streamed as it is read: constant memory however large the ledger. Accountant role or
above (403 ``role_required``); ``to`` before ``from`` is 422 naming ``to``, a date that is
not one 422 naming its field.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.cache import patch_cache_control
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from casebridge.books.api.security import context
from casebridge.books.exports import jobs
from casebridge.books.exports.beancount import beancount_export, chunked, download_name
from casebridge.books.exports.tables import check_size, export_format, report_for
from casebridge.books.models import ExportJob
from casebridge.core.api.schemas import ERRORS, Clean, ErrorOut
from casebridge.core.errors import NotFound
from casebridge.core.tabular import CONTENT_TYPES, Format
from casebridge.web.exports import export_response

router = Router(tags=["exports"])


class BeancountIn(Clean):
    model_config = ConfigDict(str_strip_whitespace=True, populate_by_name=True)

    start: dt.date | None = Field(
        None, alias="from", description="The first day (default: the first entry)."
    )
    end: dt.date | None = Field(
        None, alias="to", description="The last day, included (default: the last entry)."
    )
    background: bool = Field(False, description="Write it in the background (202 and a job).")


# --- every report and list (issue 15, ADR 0043) ---

#: Rows above which ``GET /exports/{report}`` answers 202 with a job rather than the file.
INLINE_MAX_ROWS = 50_000


class ExportIn(Clean):
    format: Literal["csv", "xlsx", "pdf"] = Field(
        "csv", description="csv, xlsx, or pdf for the reports an auditor reads."
    )
    background: bool = Field(False, description="Write it in the background (202 and a job).")
    bom: bool = Field(False, description="CSV: start with a UTF-8 byte-order mark.")


class ExportJobOut(Schema):
    id: int
    report: str
    format: str
    title: str
    status: str
    failure: str
    rows_done: int
    rows_total: int | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    expires_at: dt.datetime | None
    download: str | None


def _job_out(job: ExportJob) -> ExportJobOut:
    return ExportJobOut(
        id=job.pk,
        report=job.report,
        format=job.format,
        title=job.title,
        status=job.status,
        failure=job.failure,
        rows_done=job.rows_done,
        rows_total=job.rows_total,
        created_at=job.created_at,
        finished_at=job.finished_at,
        expires_at=job.expires_at,
        download=f"/books/api/v1/exports/jobs/{job.pk}/file" if job.status == "done" else None,
    )


_BEANCOUNT_RESPONSE = {
    "responses": {
        "200": {
            "description": "The books as Beancount text (UTF-8), streamed.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    }
}


@router.get(
    "/exports/beancount",
    response={202: ExportJobOut, **ERRORS},
    openapi_extra=_BEANCOUNT_RESPONSE,
)
def beancount_get(
    request: HttpRequest, params: Query[BeancountIn]
) -> StreamingHttpResponse | Status[ExportJobOut]:
    """The books as a Beancount ledger: accounts opened with their types, client trust
    sub-ledgers by file number, one transaction per journal entry with its entry id, file
    and external_ref, and balance assertions on the first day of each month. A range of
    more than 100,000 postings (or ``background=true``) answers 202 with an export job
    (``GET /exports/jobs/{id}``), since it would outlast the server's request timeout."""
    ctx = context(request)
    if params.background or jobs.beancount_is_large(ctx.firm, params.start, params.end):
        job = jobs.export_job_create(
            firm=ctx.firm,
            actor=ctx.user,
            report=jobs.BEANCOUNT,
            fmt="",
            params=jobs.beancount_params(params.start, params.end),
        )
        return Status(202, _job_out(job))
    lines = beancount_export(firm=ctx.firm, actor=ctx.user, start=params.start, end=params.end)
    response = StreamingHttpResponse(chunked(lines), content_type="text/plain; charset=utf-8")
    name = download_name(ctx.firm, params.start, params.end)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    patch_cache_control(response, private=True, no_store=True)
    return response


_FILE_RESPONSE = {
    "responses": {
        "200": {
            "description": "The export as a file (CSV streamed, XLSX, PDF).",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                CONTENT_TYPES[Format.XLSX]: {"schema": {"type": "string", "format": "binary"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    }
}


def _params(request: HttpRequest) -> dict[str, str]:
    return {k: str(v) for k, v in request.GET.items() if k not in ("background",)}


@router.get("/exports/jobs/{job_id}", response={200: ExportJobOut, **ERRORS})
def export_job_get(request: HttpRequest, job_id: int) -> ExportJobOut:
    """One of your export jobs: its status and progress, and where to download it."""
    ctx = context(request)
    job = ExportJob.objects.filter(firm=ctx.firm, requested_by=ctx.user, pk=job_id).first()
    if job is None:
        raise NotFound("no such export of yours", field="job_id")
    return _job_out(job)


@router.get(
    "/exports/jobs/{job_id}/file", response={403: ErrorOut, **ERRORS}, openapi_extra=_FILE_RESPONSE
)
def export_job_file(request: HttpRequest, job_id: int) -> FileResponse:
    """The file a finished export job wrote (404 before it is done, or once expired).
    Who may: as the report's screen, checked again now (403); the download of an
    administrators-only export (audit-trail, chart-of-accounts) is audited."""
    ctx = context(request)
    found = jobs.export_job_download(firm=ctx.firm, actor=ctx.user, job_id=job_id)
    if found is None:
        raise NotFound("no finished export of yours with that id", field="job_id")
    job, path = found
    content_type = CONTENT_TYPES.get(Format(job.format)) if job.format in set(Format) else None
    response = FileResponse(
        path.open("rb"),
        content_type=content_type or "text/plain; charset=utf-8",
        as_attachment=True,
        filename=job.download_name,
    )
    patch_cache_control(response, private=True, no_store=True)
    return response


@router.get(
    "/exports/{report}",
    response={202: ExportJobOut, **ERRORS},
    openapi_extra=_FILE_RESPONSE,
)
def report_export(
    request: HttpRequest, report: str, params: Query[ExportIn]
) -> HttpResponse | StreamingHttpResponse | FileResponse | Status[ExportJobOut]:
    """A report or list as a file, with the same filters as its screen (trial-balance:
    as_of; client-ledger: file, as_of; trust-journal: bank_account, start, end;
    reconciliation: bank_account, statement_balance, deposits_in_transit,
    outstanding_checks, as_of; balance-sheet: as_of, comparison, compare_to;
    profit-and-loss: start, end, by_month, comparison; cost-advances: as_of;
    general-ledger: start, end, account; checks: status; invoices: stage; files: q;
    audit-trail: entity_type, action; gl-postings: from, to; journal-entries,
    chart-of-accounts). Who may: as the screen. A large one (or ``background=true``)
    answers 202 with a job."""
    ctx = context(request)
    entry = report_for(report)
    entry.check_access(ctx.user)
    fmt = export_format(entry, params.format)
    query = _params(request)
    table = entry.build(ctx.firm, query)
    check_size(table, fmt)
    if params.background or (
        entry.large and table.count is not None and table.count() > INLINE_MAX_ROWS
    ):
        job = jobs.export_job_create(
            firm=ctx.firm, actor=ctx.user, report=entry.key, fmt=fmt.value, params=query
        )
        return Status(202, _job_out(job))
    return export_response(table, fmt, bom=params.bom)
