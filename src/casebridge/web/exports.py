"""An export as an HTTP response (issue 15, ADR 0043), for both sides' screens and APIs:
CSV streamed in chunks as the rows are read (a ``StreamingHttpResponse``), XLSX written to
a temporary file in constant memory and then streamed from it, PDF in one piece (the
reports an auditor reads are small). Always an attachment, never cached."""

from __future__ import annotations

import tempfile
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header

from casebridge.core.tabular import (
    CONTENT_TYPES,
    Format,
    Table,
    csv_chunks,
    pdf_bytes,
    xlsx_write,
)
from casebridge.core.text import file_name_part

#: An XLSX made while the request waits holds at most this many rows: the workbook is
#: written whole before its first byte goes (some 100-400 us a row), and the web worker is
#: killed at 30 s. The books send a larger one to an export job (``books.exports.jobs``);
#: the cases side's lists refuse it, naming the way out (narrow the filters, or CSV, which
#: streams as it is read).
XLSX_IN_REQUEST_MAX_ROWS = 50_000


def xlsx_refusal(fmt: Format, rows: QuerySet[Any]) -> HttpResponse | None:
    """A 422 when ``fmt`` is XLSX and ``rows`` holds more than
    :data:`XLSX_IN_REQUEST_MAX_ROWS` (counted no further than one past it), else None."""
    if fmt is not Format.XLSX:
        return None
    if rows[: XLSX_IN_REQUEST_MAX_ROWS + 1].count() <= XLSX_IN_REQUEST_MAX_ROWS:
        return None
    return HttpResponse(
        f"More than {XLSX_IN_REQUEST_MAX_ROWS:,} rows are too many for an XLSX made while you "
        "wait: narrow the filters, or export CSV, which has no such limit.\n",
        status=422,
        content_type="text/plain; charset=utf-8",
    )


def export_response(
    table: Table, fmt: Format, *, bom: bool = False
) -> HttpResponse | StreamingHttpResponse | FileResponse:
    name = f"{file_name_part(table.filename)}.{fmt.value}"
    response: HttpResponse | StreamingHttpResponse | FileResponse
    if fmt is Format.CSV:
        response = StreamingHttpResponse(
            csv_chunks(table.columns, table.rows, bom=bom), content_type=CONTENT_TYPES[fmt]
        )
    elif fmt is Format.XLSX:
        # an unnamed temporary file: gone when the response closes it
        spool = tempfile.TemporaryFile(dir=settings.VAR_DIR)  # noqa: SIM115 - closed by the response
        xlsx_write(spool, table, tmpdir=settings.VAR_DIR)
        spool.seek(0)
        response = FileResponse(spool, content_type=CONTENT_TYPES[fmt])
    else:
        response = HttpResponse(pdf_bytes(table), content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = content_disposition_header(True, name) or "attachment"
    patch_cache_control(response, private=True, no_store=True)
    return response
