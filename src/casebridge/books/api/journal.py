"""Journal entries: post one, post a batch (all or nothing, fast), reverse, read.

Lines name GL accounts and files by id. The request schema checks each entry's shape
(two or more lines, one positive side per line, debits equal credits) so a refusal names
the entry and line (``entries[3].lines[1]``); the ledger service then checks everything
that needs the database (accounts active, client trust lines naming a file, no client's
trust going below zero) and names a refused batch entry as "entry N" (counting from 1).

The batch endpoint resolves every account and file it names with one query each, builds
the service's ``EntrySpec`` objects and posts them in one transaction; the service writes
one audit event for the whole batch. An entry whose (source, idempotency_key) is already
in the books is returned with ``created: false`` and not posted again.

Posting (create, batch, reverse) is for books administrators only: any other caller is
refused 403 ``admin_required`` before anything is read or written. Checks, receipts and
invoices post their own entries through their endpoints, open to every API user.
"""

from __future__ import annotations

import datetime as dt
from typing import Self

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status
from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from casebridge.books.api.batches import batch_answer
from casebridge.books.api.idempotency import idempotent
from casebridge.books.api.security import ApiContext, context
from casebridge.books.errors import AdminRequired, NotFound
from casebridge.books.models import File, Firm, GLAccount, JournalEntry, Posting
from casebridge.books.services import journal as journal_service
from casebridge.core.api.lookups import get_or_404, label
from casebridge.core.api.schemas import (
    ERRORS,
    Clean,
    ErrorOut,
    Id,
    In,
    Money,
    NonNegativeCents,
    Out,
    Page,
    PageIn,
    keyset_page,
    money,
)

router = Router(tags=["journal"])

MAX_BATCH = 5000
MAX_LINES = 500


class JournalLineIn(In):
    account_id: Id
    debit: NonNegativeCents = 0
    credit: NonNegativeCents = 0
    file_id: Id | None = Field(None, description="Required on a client trust account.")
    memo: str = Field("", max_length=255)

    @model_validator(mode="after")
    def _one_side(self) -> Self:
        if (self.debit > 0) == (self.credit > 0):
            raise PydanticCustomError(
                "one_side", "exactly one of debit or credit must be greater than zero"
            )
        return self


class JournalEntryIn(In):
    date: dt.date
    memo: str = Field("", max_length=500)
    posting_reference: str = Field("", max_length=60)
    source: str = Field("api", max_length=60, description="Who posted it, e.g. 'bridge'.")
    idempotency_key: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Unique per source: a repeat returns the entry already posted.",
    )
    lines: list[JournalLineIn] = Field(min_length=2, max_length=MAX_LINES)

    @model_validator(mode="after")
    def _balanced(self) -> Self:
        debits = sum(ln.debit for ln in self.lines)
        credits = sum(ln.credit for ln in self.lines)
        if debits != credits:
            raise PydanticCustomError(
                "entry_unbalanced",
                "entry does not balance: debits {debits}, credits {credits}",
                {"debits": money(debits), "credits": money(credits)},
            )
        return self


class JournalBatchIn(In):
    entries: list[JournalEntryIn] = Field(min_length=1, max_length=MAX_BATCH)

    @field_validator("entries")
    @classmethod
    def _keys_unique(cls, entries: list[JournalEntryIn]) -> list[JournalEntryIn]:
        first: dict[tuple[str, str], int] = {}
        for i, entry in enumerate(entries):
            if entry.idempotency_key is None:
                continue
            key = (entry.source, entry.idempotency_key)
            if key in first:
                raise PydanticCustomError(
                    "duplicate_idempotency_key",
                    "entries[{i}] repeats the source and idempotency_key of entries[{j}]",
                    {"i": i, "j": first[key]},
                )
            first[key] = i
        return entries


class PostingOut(Out):
    id: int
    account_id: int
    account_number: str
    file_id: int | None
    debit: Money
    credit: Money
    memo: str

    @classmethod
    def of(cls, posting: Posting) -> PostingOut:
        return cls(
            id=posting.pk,
            account_id=posting.account_id,
            account_number=posting.account.number,
            file_id=posting.file_id,
            debit=money(posting.debit_cents),
            credit=money(posting.credit_cents),
            memo=posting.memo,
        )


class JournalEntryOut(Out):
    id: int
    date: dt.date
    memo: str
    posting_reference: str
    source: str
    idempotency_key: str | None
    reverses_id: int | None
    created_at: dt.datetime
    lines: list[PostingOut]

    @classmethod
    def of(cls, entry: JournalEntry) -> JournalEntryOut:
        return cls(
            id=entry.pk,
            date=entry.date,
            memo=entry.memo,
            posting_reference=entry.posting_reference,
            source=entry.source,
            idempotency_key=entry.idempotency_key,
            reverses_id=entry.reverses_id,
            created_at=entry.created_at,
            lines=[PostingOut.of(p) for p in entry.postings.all()],
        )


class BatchItemOut(Out):
    id: int
    idempotency_key: str | None
    created: bool


class JournalBatchOut(Out):
    items: list[BatchItemOut]
    count: int
    created: int


class JournalFilter(Clean):
    source: str | None = Field(None, max_length=60)
    idempotency_key: str | None = Field(None, max_length=200)
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def _entries(firm: Firm) -> QuerySet[JournalEntry]:
    postings = Posting.objects.select_related("account").order_by("pk")
    return JournalEntry.objects.filter(firm=firm).prefetch_related(
        Prefetch("postings", queryset=postings)
    )


def build_specs(
    firm: Firm, entries: list[JournalEntryIn], *, where: str = "entries"
) -> list[journal_service.EntrySpec]:
    """The service's entry specs, with every account and file fetched in one query each.
    An id that is not the firm's is 404, named by its place in the request."""
    account_ids = {ln.account_id for e in entries for ln in e.lines}
    file_ids = {ln.file_id for e in entries for ln in e.lines if ln.file_id is not None}
    accounts = GLAccount.objects.filter(firm=firm).in_bulk(account_ids)
    files = File.objects.filter(firm=firm).in_bulk(file_ids) if file_ids else {}
    specs = []
    for i, entry in enumerate(entries):
        prefix = f"{where}[{i}]." if where else ""
        lines = []
        for j, ln in enumerate(entry.lines):
            account = accounts.get(ln.account_id)
            if account is None:
                raise _missing(GLAccount, ln.account_id, f"{prefix}lines[{j}].account_id")
            file = None
            if ln.file_id is not None:
                file = files.get(ln.file_id)
                if file is None:
                    raise _missing(File, ln.file_id, f"{prefix}lines[{j}].file_id")
            lines.append(
                journal_service.Line(
                    account=account,
                    debit_cents=ln.debit,
                    credit_cents=ln.credit,
                    file=file,
                    memo=ln.memo,
                )
            )
        specs.append(
            journal_service.EntrySpec(
                date=entry.date,
                lines=lines,
                memo=entry.memo,
                posting_reference=entry.posting_reference,
                source=entry.source,
                idempotency_key=entry.idempotency_key,
            )
        )
    return specs


def _admin(request: HttpRequest) -> ApiContext:
    """The caller, who must be a books administrator to post journal entries directly."""
    ctx = context(request)
    if not ctx.user.is_admin:
        raise AdminRequired("Posting journal entries directly needs a books administrator.")
    return ctx


#: The posting endpoints' responses besides their own: ERRORS and 403 ``admin_required``.
POST_ERRORS = {**ERRORS, 403: ErrorOut}


def _missing(model: type[GLAccount] | type[File], pk: int, field: str) -> NotFound:
    return NotFound(f"{field}: {label(model)} {pk} not found", field=field, id=pk)


@router.get("/journal-entries", response={200: Page[JournalEntryOut], **ERRORS})
def journal_entry_list(
    request: HttpRequest, page: Query[PageIn], filters: Query[JournalFilter]
) -> Page[JournalEntryOut]:
    qs = _entries(context(request).firm).order_by("pk")
    if filters.source is not None:
        qs = qs.filter(source=filters.source)
    if filters.idempotency_key is not None:
        qs = qs.filter(idempotency_key=filters.idempotency_key)
    if filters.date_from:
        qs = qs.filter(date__gte=filters.date_from)
    if filters.date_to:
        qs = qs.filter(date__lte=filters.date_to)
    rows, next_cursor = keyset_page(qs, page)
    return Page[JournalEntryOut](items=[JournalEntryOut.of(e) for e in rows], next=next_cursor)


@router.get("/journal-entries/{int:entry_id}", response={200: JournalEntryOut, **ERRORS})
def journal_entry_get(request: HttpRequest, entry_id: Id) -> JournalEntryOut:
    return JournalEntryOut.of(get_or_404(_entries(context(request).firm), entry_id))


@router.post(
    "/journal-entries", response={200: JournalEntryOut, 201: JournalEntryOut, **POST_ERRORS}
)
@idempotent
def journal_entry_post(request: HttpRequest, payload: JournalEntryIn) -> Status[JournalEntryOut]:
    """Post one balanced entry (201), or return the one already posted under this
    (source, idempotency_key) (200). Administrators only (403 ``admin_required``)."""
    ctx = _admin(request)
    [spec] = build_specs(ctx.firm, [payload], where="")
    existed = payload.idempotency_key is not None and (
        JournalEntry.objects.filter(
            firm=ctx.firm, source=spec.source, idempotency_key=spec.idempotency_key
        ).exists()
    )
    entry = journal_service.journal_entry_post(
        firm=ctx.firm,
        date=spec.date,
        lines=spec.lines,
        memo=spec.memo,
        posting_reference=spec.posting_reference,
        source=spec.source,
        idempotency_key=spec.idempotency_key,
        actor=ctx.user,
    )
    return Status(200 if existed else 201, JournalEntryOut.of(_entries(ctx.firm).get(pk=entry.pk)))


@router.post(
    "/journal-entries/batch",
    response={200: JournalBatchOut, 201: JournalBatchOut, **POST_ERRORS},
)
@idempotent
def journal_entry_post_batch(
    request: HttpRequest, payload: JournalBatchIn
) -> Status[JournalBatchOut]:
    """Post up to 5,000 entries all or nothing: 201 if any was posted, 200 if every one
    was already in the books. Administrators only (403 ``admin_required``)."""
    ctx = _admin(request)
    results = journal_service.journal_entries_post_batch(
        firm=ctx.firm, entries=build_specs(ctx.firm, payload.entries), actor=ctx.user
    )
    return batch_answer(
        JournalBatchOut,
        [
            BatchItemOut(id=entry.pk, idempotency_key=entry.idempotency_key, created=created)
            for entry, created in results
        ],
    )


class ReverseIn(In):
    date: dt.date = Field(description="The reversal's date; not before the entry's.")
    memo: str = Field("", max_length=500)


@router.post(
    "/journal-entries/{int:entry_id}/reverse", response={201: JournalEntryOut, **POST_ERRORS}
)
@idempotent
def journal_entry_reverse(
    request: HttpRequest, entry_id: Id, payload: ReverseIn
) -> Status[JournalEntryOut]:
    """Post the mirror image of the entry (entries are never edited or deleted).
    Administrators only (403 ``admin_required``)."""
    ctx = _admin(request)
    entry = get_or_404(JournalEntry.objects.filter(firm=ctx.firm), entry_id)
    reversal = journal_service.journal_entry_reverse(
        firm=ctx.firm, entry=entry, date=payload.date, memo=payload.memo, actor=ctx.user
    )
    return Status(201, JournalEntryOut.of(_entries(ctx.firm).get(pk=reversal.pk)))
