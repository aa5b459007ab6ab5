"""Contacts and files (matters), found again by ``external_ref``, and a file's client
trust ledger.

``POST /contacts`` and ``POST /files`` are find-or-create on ``external_ref``: 201 with the
new record, or 200 with the one already there (unchanged), so the bridge can send a case's
client and file on every sync without duplicating them. ``POST /files/batch`` does the same
for up to 1,000 files with their clients in one request, all or nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status
from pydantic import Field

from casebridge.books.api.idempotency import idempotent
from casebridge.books.api.security import context
from casebridge.books.errors import DomainError, ValidationFailed
from casebridge.books.models import (
    AreaOfPractice,
    BankAccount,
    BankAccountKind,
    Contact,
    File,
    Firm,
    User,
)
from casebridge.books.selectors.reports import client_trust_ledger, file_trust_balances
from casebridge.books.services import files as file_service
from casebridge.core import clock
from casebridge.core.api.errors import at_index
from casebridge.core.api.lookups import get_or_404, optional, require_in_firm
from casebridge.core.api.schemas import (
    ERRORS,
    Clean,
    Id,
    In,
    Money,
    Out,
    Page,
    PageIn,
    keyset_page,
    money,
)

router = Router(tags=["contacts and files"])

MAX_BATCH = 1000

EMAIL_PATTERN = r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$"


class ContactOut(Out):
    id: int
    name: str
    email: str
    phone: str
    address: str
    external_ref: str | None

    @classmethod
    def of(cls, contact: Contact) -> ContactOut:
        return cls(
            id=contact.pk,
            name=contact.name,
            email=contact.email,
            phone=contact.phone,
            address=contact.address,
            external_ref=contact.external_ref,
        )


class ContactIn(In):
    name: str = Field(min_length=1, max_length=200)
    external_ref: str | None = Field(None, max_length=120)
    email: str = Field("", max_length=254, pattern=EMAIL_PATTERN)
    phone: str = Field("", max_length=40)
    address: str = Field("", max_length=2000)


class ContactFilter(Clean):
    external_ref: str | None = Field(None, max_length=120)


@router.get("/contacts", response={200: Page[ContactOut], **ERRORS})
def contact_list(
    request: HttpRequest, page: Query[PageIn], filters: Query[ContactFilter]
) -> Page[ContactOut]:
    qs = Contact.objects.filter(firm=context(request).firm).order_by("pk")
    if filters.external_ref:
        qs = qs.filter(external_ref=filters.external_ref)
    rows, next_cursor = keyset_page(qs, page)
    return Page[ContactOut](items=[ContactOut.of(c) for c in rows], next=next_cursor)


@router.get("/contacts/{int:contact_id}", response={200: ContactOut, **ERRORS})
def contact_get(request: HttpRequest, contact_id: Id) -> ContactOut:
    return ContactOut.of(get_or_404(Contact.objects.filter(firm=context(request).firm), contact_id))


@router.post("/contacts", response={200: ContactOut, 201: ContactOut, **ERRORS})
@idempotent
def contact_find_or_create(request: HttpRequest, payload: ContactIn) -> Status[ContactOut]:
    """Find the contact with this ``external_ref`` (200) or create it (201)."""
    ctx = context(request)
    contact, created = file_service.contact_find_or_create(
        firm=ctx.firm,
        actor=ctx.user,
        name=payload.name,
        external_ref=payload.external_ref,
        email=payload.email,
        phone=payload.phone,
        address=payload.address,
    )
    return Status(201 if created else 200, ContactOut.of(contact))


class TrustBalanceOut(Out):
    bank_account_id: int
    bank_account_name: str
    balance: Money


class ClientRef(Out):
    id: int
    name: str
    external_ref: str | None


class AttorneyRef(Out):
    id: int
    email: str
    initials: str


class AreaRef(Out):
    id: int
    name: str


class FileOut(Out):
    id: int
    number: str
    name: str
    client: ClientRef
    area_of_practice: AreaRef | None
    responsible_attorney: AttorneyRef | None
    external_ref: str | None
    opened_on: dt.date
    is_closed: bool
    trust_balances: list[TrustBalanceOut] = Field(
        description="The client's trust balance, as of today, in each of the firm's trust "
        "bank accounts."
    )

    @classmethod
    def of(
        cls, file: File, trust_banks: Iterable[BankAccount], held: Mapping[tuple[int, int], int]
    ) -> FileOut:
        """``held``: trust balances by (file id, bank account id) (``file_trust_balances``)."""
        area, attorney = file.area_of_practice, file.responsible_attorney
        return cls(
            id=file.pk,
            number=file.number,
            name=file.name,
            client=ClientRef(
                id=file.client.pk, name=file.client.name, external_ref=file.client.external_ref
            ),
            area_of_practice=AreaRef(id=area.pk, name=area.name) if area else None,
            responsible_attorney=(
                AttorneyRef(id=attorney.pk, email=attorney.email, initials=attorney.initials)
                if attorney
                else None
            ),
            external_ref=file.external_ref,
            opened_on=file.opened_on,
            is_closed=file.is_closed,
            trust_balances=[
                TrustBalanceOut(
                    bank_account_id=bank.pk,
                    bank_account_name=bank.name,
                    balance=money(held.get((file.pk, bank.pk), 0)),
                )
                for bank in trust_banks
            ],
        )


def _files(firm: Firm) -> QuerySet[File]:
    return File.objects.filter(firm=firm).select_related(
        "client", "area_of_practice", "responsible_attorney"
    )


def _trust_banks(firm: Firm) -> list[BankAccount]:
    return list(BankAccount.objects.filter(firm=firm, kind=BankAccountKind.TRUST).order_by("pk"))


def _file_items(firm: Firm, files: list[File]) -> list[FileOut]:
    """The files as answered, each with its trust balances as of today."""
    banks = _trust_banks(firm)
    held = file_trust_balances(firm=firm, file_ids=[f.pk for f in files])
    return [FileOut.of(f, banks, held) for f in files]


class FileIn(In):
    name: str = Field(min_length=1, max_length=200)
    client_id: Id
    external_ref: str | None = Field(None, max_length=120)
    number: str = Field("", max_length=40, description="Blank: the firm's next file number.")
    area_of_practice_id: Id | None = None
    responsible_attorney_id: Id | None = None
    opened_on: dt.date | None = None


class FileFilter(Clean):
    external_ref: str | None = Field(None, max_length=120)
    number: str | None = Field(None, max_length=40)
    client_id: Id | None = None


@router.get("/files", response={200: Page[FileOut], **ERRORS})
def file_list(
    request: HttpRequest, page: Query[PageIn], filters: Query[FileFilter]
) -> Page[FileOut]:
    firm = context(request).firm
    qs = _files(firm).order_by("pk")
    if filters.external_ref:
        qs = qs.filter(external_ref=filters.external_ref)
    if filters.number:
        qs = qs.filter(number=filters.number)
    if filters.client_id:
        qs = qs.filter(client_id=filters.client_id)
    rows, next_cursor = keyset_page(qs, page)
    return Page[FileOut](items=_file_items(firm, rows), next=next_cursor)


@router.get("/files/{int:file_id}", response={200: FileOut, **ERRORS})
def file_get(request: HttpRequest, file_id: Id) -> FileOut:
    firm = context(request).firm
    [item] = _file_items(firm, [get_or_404(_files(firm), file_id)])
    return item


@router.post("/files", response={200: FileOut, 201: FileOut, **ERRORS})
@idempotent
def file_find_or_create(request: HttpRequest, payload: FileIn) -> Status[FileOut]:
    """Find the file with this ``external_ref`` (200) or open it (201)."""
    ctx = context(request)
    firm = ctx.firm
    file, created = file_service.file_find_or_create(
        firm=firm,
        actor=ctx.user,
        name=payload.name,
        client=get_or_404(Contact.objects.filter(firm=firm), payload.client_id, field="client_id"),
        external_ref=payload.external_ref,
        number=payload.number,
        area_of_practice=optional(
            AreaOfPractice.objects.filter(firm=firm),
            payload.area_of_practice_id,
            field="area_of_practice_id",
        ),
        responsible_attorney=optional(
            User.objects.filter(firm=firm),
            payload.responsible_attorney_id,
            field="responsible_attorney_id",
        ),
        opened_on=payload.opened_on,
    )
    return Status(
        201 if created else 200, _file_items(firm, [get_or_404(_files(firm), file.pk)])[0]
    )


class BatchClientIn(ContactIn):
    external_ref: str = Field(min_length=1, max_length=120)


class FileBatchItemIn(In):
    external_ref: str = Field(min_length=1, max_length=120)
    name: str = Field(min_length=1, max_length=200)
    number: str = Field("", max_length=40, description="Blank: the firm's next file number.")
    area_of_practice_id: Id | None = None
    responsible_attorney_id: Id | None = None
    opened_on: dt.date | None = Field(None, description="Default: today.")
    client: BatchClientIn


class FileBatchIn(In):
    items: list[FileBatchItemIn] = Field(min_length=1, max_length=MAX_BATCH)


class FileBatchOut(Out):
    items: list[FileOut] = Field(description="One file per item, in the request's order.")
    count: int
    created: int = Field(description="How many of the files were opened by this request.")


def _refuse_repeated_file_refs(items: list[FileBatchItemIn]) -> None:
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.external_ref in first:
            raise ValidationFailed(
                f"items[{i}].external_ref: {item.external_ref!r} repeats "
                f"items[{first[item.external_ref]}].external_ref; each file in a batch "
                "needs its own",
                field=f"items[{i}].external_ref",
            )
        first[item.external_ref] = i


@router.post("/files/batch", response={200: FileBatchOut, 201: FileBatchOut, **ERRORS})
@idempotent
def file_find_or_create_batch(request: HttpRequest, payload: FileBatchIn) -> Status[FileBatchOut]:
    """Find or open up to 1,000 files with their clients, all or nothing: one refusal
    (named ``items[i].<field>``, e.g. ``items[3].client.name``) and nothing is written.

    Each item's file is found by its ``external_ref`` and then returned unchanged (its
    client is not touched); otherwise its client is found by ``client.external_ref`` or
    created, and the file is opened for it, as ``POST /contacts`` and ``POST /files`` do.
    Two items with the same ``external_ref`` are refused 422 (``items[i].external_ref``);
    many items may name the same client. Ids must be the caller's firm's (404 naming
    ``items[i].area_of_practice_id`` / ``items[i].responsible_attorney_id``).

    Answers 201 if any file was opened, 200 if every one was already in the books, with
    the files in the request's order and ``created`` counting the new ones."""
    ctx = context(request)
    firm = ctx.firm
    _refuse_repeated_file_refs(payload.items)
    require_in_firm(
        firm,
        [
            ref
            for i, item in enumerate(payload.items)
            for ref in (
                (AreaOfPractice, item.area_of_practice_id, f"items[{i}].area_of_practice_id"),
                (User, item.responsible_attorney_id, f"items[{i}].responsible_attorney_id"),
            )
        ],
    )
    areas = AreaOfPractice.objects.filter(firm=firm).in_bulk(
        {i.area_of_practice_id for i in payload.items if i.area_of_practice_id is not None}
    )
    attorneys = User.objects.filter(firm=firm).in_bulk(
        {i.responsible_attorney_id for i in payload.items if i.responsible_attorney_id}
    )
    requests = [
        file_service.FileRequest(
            name=item.name,
            client=file_service.ClientRequest(
                name=item.client.name,
                external_ref=item.client.external_ref,
                email=item.client.email,
                phone=item.client.phone,
                address=item.client.address,
            ),
            external_ref=item.external_ref,
            number=item.number,
            area_of_practice=areas[item.area_of_practice_id] if item.area_of_practice_id else None,
            responsible_attorney=(
                attorneys[item.responsible_attorney_id] if item.responsible_attorney_id else None
            ),
            opened_on=item.opened_on,
        )
        for item in payload.items
    ]
    try:
        results = file_service.files_find_or_create(firm=firm, actor=ctx.user, requests=requests)
    except DomainError as exc:
        index = exc.details.get("index")
        if not isinstance(index, int):
            raise
        raise at_index(exc, "items", index) from None
    file_ids = [file.pk for file, _ in results]
    n_created = sum(1 for _, created in results if created)
    files = _files(firm).in_bulk(file_ids)
    return Status(
        201 if n_created else 200,
        FileBatchOut(
            items=_file_items(firm, [files[pk] for pk in file_ids]),
            count=len(file_ids),
            created=n_created,
        ),
    )


class LedgerLineOut(Out):
    posting_id: int
    entry_id: int
    date: dt.date
    memo: str
    reference: str
    deposit: Money
    disbursement: Money
    balance: Money
    reverses_entry_id: int | None


class LedgerOut(Out):
    bank_account_id: int
    bank_account_name: str
    balance: Money
    lines: list[LedgerLineOut]


class TrustLedgerOut(Out):
    file_id: int
    file_number: str
    client_name: str
    as_of: dt.date = Field(description="The day the ledgers run to.")
    ledgers: list[LedgerOut] = Field(
        description="One per trust bank account where the file had trust money by as_of."
    )


class TrustLedgerFilter(Clean):
    bank_account_id: Id | None = None
    as_of: dt.date | None = Field(
        None, description="Default: today. Only entries dated on or before it are shown."
    )


@router.get("/files/{int:file_id}/trust-ledger", response={200: TrustLedgerOut, **ERRORS})
def file_trust_ledger(
    request: HttpRequest, file_id: Id, filters: Query[TrustLedgerFilter]
) -> TrustLedgerOut:
    """The file's client trust ledger in each trust bank account, with running balance,
    as of ``as_of`` (default today)."""
    firm = context(request).firm
    file = get_or_404(File.objects.filter(firm=firm).select_related("client"), file_id)
    as_of = filters.as_of or clock.today()
    ledgers = client_trust_ledger(
        firm=firm, file_id=file.pk, bank_account_id=filters.bank_account_id, as_of=as_of
    )
    return TrustLedgerOut(
        file_id=file.pk,
        file_number=file.number,
        client_name=file.client.name,
        as_of=as_of,
        ledgers=[
            LedgerOut(
                bank_account_id=ledger.bank_account.pk,
                bank_account_name=ledger.bank_account.name,
                balance=money(ledger.balance_cents),
                lines=[
                    LedgerLineOut(
                        posting_id=line.posting_id,
                        entry_id=line.entry_id,
                        date=line.date,
                        memo=line.memo,
                        reference=line.reference,
                        deposit=money(line.deposit_cents),
                        disbursement=money(line.disbursement_cents),
                        balance=money(line.balance_cents),
                        reverses_entry_id=line.reverses_id,
                    )
                    for line in ledger.lines
                ],
            )
            for ledger in ledgers
        ],
    )
