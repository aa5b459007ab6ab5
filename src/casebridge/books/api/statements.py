"""Bank statements in (issue 11): upload a statement file for a bank account, read the
statements and their lines, the import log, and the bank account's CSV column mapping.

``POST /bank-accounts/{id}/statements`` takes ``multipart/form-data``: ``file`` (at most
20 MB) and ``format`` (``ofx``, ``csv``, ``bai2``, ``camt053``; detected from the file
when omitted). The same file, or a file overlapping one already imported, adds only the
lines the bank account does not have yet: 201 with ``new`` and ``known`` counts (0 new
for a file seen before). A file that cannot be read whole is refused 422
``statement_refused`` naming where (``details.where``: ``line 7``,
``element Stmt[1]/Ntry[2]/Amt``) and why; nothing is written but the refused import in the
log (``details.import_id``), and that answer is what an ``Idempotency-Key`` replays.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile
from pydantic import Field

from casebridge.books.api.idempotency import idempotent
from casebridge.books.api.security import context
from casebridge.books.errors import DomainError
from casebridge.books.models import (
    BankAccount,
    BankStatement,
    Firm,
    StatementImport,
    StatementImportStatus,
    StatementLine,
)
from casebridge.books.services import statements as service
from casebridge.books.statements import CsvLayout
from casebridge.core.api.lookups import get_or_404
from casebridge.core.api.schemas import (
    ERRORS,
    CountedPage,
    ErrorBody,
    ErrorOut,
    Id,
    In,
    Money,
    Out,
    PageIn,
    keyset_page,
    money,
)

router = Router(tags=["bank statements"])

FormatName = Literal["ofx", "csv", "bai2", "camt053"]


class FileTooLarge(DomainError):
    code = "file_too_large"
    http_status = 413


def _money(cents: int | None) -> str | None:
    return None if cents is None else money(cents)


class StatementOut(Out):
    id: int
    bank_account_id: int
    format: str
    file_name: str
    stated_account: str
    currency: str
    period_start: dt.date | None
    period_end: dt.date | None
    opening_balance: Money | None = Field(description="None where the format states none.")
    closing_balance: Money | None
    line_count: int = Field(description="Lines in the file (new or already known).")
    imported_at: dt.datetime

    @classmethod
    def of(cls, s: BankStatement) -> StatementOut:
        return cls(
            id=s.pk,
            bank_account_id=s.bank_account_id,
            format=s.source_format,
            file_name=s.file_name,
            stated_account=s.stated_account,
            currency=s.currency,
            period_start=s.period_start,
            period_end=s.period_end,
            opening_balance=_money(s.opening_balance_cents),
            closing_balance=_money(s.closing_balance_cents),
            line_count=s.line_count,
            imported_at=s.imported_at,
        )


class LineOut(Out):
    id: int
    statement_id: int
    posted_on: dt.date
    amount: Money = Field(description="Signed: money in is positive.")
    bank_txn_id: str | None
    type: str
    check_number: str | None
    reference: str
    description: str
    status: str

    @classmethod
    def of(cls, line: StatementLine) -> LineOut:
        return cls(
            id=line.pk,
            statement_id=line.statement_id,
            posted_on=line.posted_on,
            amount=money(line.amount_cents),
            bank_txn_id=line.bank_txn_id,
            type=line.type,
            check_number=line.check_number,
            reference=line.reference,
            description=line.description,
            status=line.status,
        )


class StatementDetailOut(StatementOut):
    lines: CountedPage[LineOut] = Field(description="The lines this statement brought in, paged.")


class ImportOut(Out):
    id: int
    bank_account_id: int
    statement_id: int | None
    status: StatementImportStatus
    format: str
    file_name: str
    file_size: int
    new: int
    known: int
    reason: str
    where: str
    created_at: dt.datetime

    @classmethod
    def of(cls, record: StatementImport) -> ImportOut:
        return cls(
            id=record.pk,
            bank_account_id=record.bank_account_id,
            statement_id=record.statement_id,
            status=StatementImportStatus(record.status),
            format=record.source_format,
            file_name=record.file_name,
            file_size=record.file_size,
            new=record.new_count,
            known=record.known_count,
            reason=record.reason,
            where=record.where,
            created_at=record.created_at,
        )


class CsvMappingIn(In):
    date_column: int = Field(1, ge=1, le=200)
    amount_column: int | None = Field(2, ge=1, le=200, description="Signed amounts.")
    debit_column: int | None = Field(None, ge=1, le=200)
    credit_column: int | None = Field(None, ge=1, le=200)
    description_column: int | None = Field(None, ge=1, le=200)
    reference_column: int | None = Field(None, ge=1, le=200)
    check_number_column: int | None = Field(None, ge=1, le=200)
    txn_id_column: int | None = Field(None, ge=1, le=200)
    date_format: str = Field("%m/%d/%Y", max_length=20, description="e.g. %m/%d/%Y")
    decimal_separator: str = Field(".", min_length=1, max_length=1)
    delimiter: str = Field(",", min_length=1, max_length=1)
    skip_rows: int = Field(1, ge=0, le=50, description="Header rows to skip.")


class CsvMappingOut(Out):
    bank_account_id: int
    chosen: bool = Field(description="False: none was chosen yet (the defaults are shown).")
    mapping: dict[str, object]


def _banks(firm: Firm) -> QuerySet[BankAccount]:
    return BankAccount.objects.filter(firm=firm)


@router.post(
    "/bank-accounts/{int:bank_account_id}/statements",
    response={201: ImportOut, **ERRORS, 413: ErrorOut},
)
@idempotent
def statement_upload(
    request: HttpRequest,
    bank_account_id: Id,
    file: File[UploadedFile],
    format: Form[FormatName | None] = None,
) -> Status[ImportOut] | Status[ErrorOut]:
    """Import a statement file (multipart ``file``, optional ``format``): 201 with the
    import's counts, or 422 ``statement_refused`` with nothing written but the refusal."""
    ctx = context(request)
    bank = get_or_404(_banks(ctx.firm), bank_account_id)
    if file.size is not None and file.size > service.MAX_FILE_BYTES:
        raise FileTooLarge(
            f"the file is larger than {service.MAX_FILE_BYTES // (1024 * 1024)} MB", field="file"
        )
    record = service.statement_import(
        firm=ctx.firm,
        actor=ctx.user,
        bank_account_id=bank.pk,
        data=file.read(),
        file_name=file.name or "",
        fmt=format,
    )
    if record.status == StatementImportStatus.REFUSED:
        message = f"{record.where}: {record.reason}" if record.where else record.reason
        return Status(
            422,
            ErrorOut(
                error=ErrorBody(
                    code="statement_refused",
                    message=message,
                    field="file",
                    details={
                        "import_id": record.pk,
                        "where": record.where,
                        "reason": record.reason,
                    },
                )
            ),
        )
    return Status(201, ImportOut.of(record))


@router.get(
    "/bank-accounts/{int:bank_account_id}/statements",
    response={200: CountedPage[StatementOut], **ERRORS},
)
def statement_list(
    request: HttpRequest, bank_account_id: Id, page: Query[PageIn]
) -> CountedPage[StatementOut]:
    bank = get_or_404(_banks(context(request).firm), bank_account_id)
    qs = BankStatement.objects.filter(bank_account=bank).order_by("-period_end", "-pk")
    rows, next_cursor = keyset_page(qs, page)
    return CountedPage[StatementOut](
        items=[StatementOut.of(s) for s in rows], next=next_cursor, count=qs.count()
    )


@router.get("/statements/{int:statement_id}", response={200: StatementDetailOut, **ERRORS})
def statement_get(
    request: HttpRequest, statement_id: Id, page: Query[PageIn]
) -> StatementDetailOut:
    """A statement and its lines (``limit`` and ``cursor`` page the lines; the page's
    ``lines.next`` is the cursor of the next)."""
    statement = get_or_404(BankStatement.objects.filter(firm=context(request).firm), statement_id)
    qs = statement.lines.order_by("position", "pk")
    rows, next_cursor = keyset_page(qs, page)
    return StatementDetailOut(
        **StatementOut.of(statement).model_dump(),
        lines=CountedPage[LineOut](
            items=[LineOut.of(x) for x in rows], next=next_cursor, count=qs.count()
        ),
    )


@router.get(
    "/bank-accounts/{int:bank_account_id}/statement-imports",
    response={200: CountedPage[ImportOut], **ERRORS},
)
def import_list(
    request: HttpRequest, bank_account_id: Id, page: Query[PageIn]
) -> CountedPage[ImportOut]:
    """Every upload, newest first: imported (new and known counts) or refused (why)."""
    bank = get_or_404(_banks(context(request).firm), bank_account_id)
    qs = StatementImport.objects.filter(bank_account=bank).order_by("-pk")
    rows, next_cursor = keyset_page(qs, page)
    return CountedPage[ImportOut](
        items=[ImportOut.of(r) for r in rows], next=next_cursor, count=qs.count()
    )


def _mapping_out(bank: BankAccount) -> CsvMappingOut:
    layout = service.csv_layout_of(bank)
    return CsvMappingOut(
        bank_account_id=bank.pk,
        chosen=layout is not None,
        mapping=asdict(layout or CsvLayout()),
    )


@router.get(
    "/bank-accounts/{int:bank_account_id}/csv-mapping", response={200: CsvMappingOut, **ERRORS}
)
def csv_mapping_get(request: HttpRequest, bank_account_id: Id) -> CsvMappingOut:
    return _mapping_out(get_or_404(_banks(context(request).firm), bank_account_id))


@router.put(
    "/bank-accounts/{int:bank_account_id}/csv-mapping", response={200: CsvMappingOut, **ERRORS}
)
def csv_mapping_put(
    request: HttpRequest, bank_account_id: Id, payload: CsvMappingIn
) -> CsvMappingOut:
    """Choose the bank account's CSV columns (numbered from 1), remembered for every later
    CSV import; refused 422 naming the field when incomplete."""
    ctx = context(request)
    bank = get_or_404(_banks(ctx.firm), bank_account_id)
    service.csv_mapping_save(
        firm=ctx.firm,
        actor=ctx.user,
        bank_account_id=bank.pk,
        layout=CsvLayout(**payload.model_dump()),
    )
    return _mapping_out(bank)
