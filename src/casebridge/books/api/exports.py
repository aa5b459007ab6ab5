"""Exports of the books in other engines' formats (issue 15).

``GET /exports/beancount?from=&to=``: the whole ledger, or the entries dated from ``from``
to ``to`` (both included, either left out), as Beancount text (``books.exports.beancount``),
streamed as it is read: constant memory however large the ledger. Accountant role or
above (403 ``role_required``); ``to`` before ``from`` is 422 naming ``to``, a date that is
not one 422 naming its field.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, StreamingHttpResponse
from django.utils.cache import patch_cache_control
from ninja import Query, Router
from pydantic import ConfigDict, Field

from casebridge.books.api.security import context
from casebridge.books.exports.beancount import beancount_export, chunked, download_name
from casebridge.core.api.schemas import ERRORS, Clean

router = Router(tags=["exports"])


class BeancountIn(Clean):
    model_config = ConfigDict(str_strip_whitespace=True, populate_by_name=True)

    start: dt.date | None = Field(
        None, alias="from", description="The first day (default: the first entry)."
    )
    end: dt.date | None = Field(
        None, alias="to", description="The last day, included (default: the last entry)."
    )


_BEANCOUNT_RESPONSE = {
    "responses": {
        "200": {
            "description": "The books as Beancount text (UTF-8), streamed.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    }
}


@router.get("/exports/beancount", response={**ERRORS}, openapi_extra=_BEANCOUNT_RESPONSE)
def beancount_get(request: HttpRequest, params: Query[BeancountIn]) -> StreamingHttpResponse:
    """The books as a Beancount ledger: accounts opened with their types, client trust
    sub-ledgers by file number, one transaction per journal entry with its entry id, file
    and external_ref, and balance assertions on the first day of each month."""
    ctx = context(request)
    lines = beancount_export(firm=ctx.firm, actor=ctx.user, start=params.start, end=params.end)
    response = StreamingHttpResponse(chunked(lines), content_type="text/plain; charset=utf-8")
    name = download_name(ctx.firm, params.start, params.end)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    patch_cache_control(response, private=True, no_store=True)
    return response
