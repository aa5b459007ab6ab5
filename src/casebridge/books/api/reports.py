"""Reports: the trial balance, the monthly three-way trust reconciliation, and two bulk
reads for an integration's reconciliation.

All are reads (GET with query parameters). The reconciliation compares the adjusted bank
statement balance, the trust account's journal balance and the sum of the client ledgers
(domain.md section 5) and lists every difference rather than hiding it.

Each is computed as of a day (``as_of``; default today) from the postings dated on or
before it, so an entry dated later is never in a report of today; each answer carries
the ``as_of`` it was computed for.

The bulk reads (``/reports/trust-balances``, ``/reports/external-documents``) let the
bridge read thousands of files' trust balances and every document it sent in a few
requests: keyset-paged by id as every list (``cursor`` is the previous page's ``next``,
which is null on the last page), one query a page, rows read as plain values.
``/reports/external-digests`` answers per file a digest of those documents and the trust
balance in compact arrays, so the bridge reads documents only for the files that differ.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Query, Router
from pydantic import ConfigDict, Field

from casebridge.books.api.security import context
from casebridge.books.errors import ValidationFailed
from casebridge.books.models import AccountType, BankAccount, BankAccountKind
from casebridge.books.selectors import digests, reports
from casebridge.books.selectors.reports import DocumentKind
from casebridge.core import clock
from casebridge.core.api.lookups import get_or_404
from casebridge.core.api.schemas import (
    CURSOR_HELP,
    ERRORS,
    MAX_CURSOR_LENGTH,
    MAX_ID,
    NEXT_HELP,
    Cents,
    Clean,
    Id,
    Money,
    NonNegativeCents,
    Out,
    decode_cursor,
    encode_cursor,
    money,
)

router = Router(tags=["reports"])


AS_OF = "Default: today. Only entries dated on or before it count."


class TrialBalanceIn(Clean):
    as_of: dt.date | None = Field(None, description=AS_OF)


class TrialBalanceRowOut(Out):
    account_id: int
    number: str
    name: str
    type: AccountType
    debit: Money
    credit: Money


class TrialBalanceOut(Out):
    as_of: dt.date = Field(description="The day the balances are for.")
    rows: list[TrialBalanceRowOut]
    total_debit: Money
    total_credit: Money
    is_balanced: bool


@router.get("/reports/trial-balance", response={200: TrialBalanceOut, **ERRORS})
def trial_balance(request: HttpRequest, params: Query[TrialBalanceIn]) -> TrialBalanceOut:
    """Every account with a balance, in a debit or a credit column."""
    tb = reports.trial_balance(firm=context(request).firm, as_of=params.as_of)
    return TrialBalanceOut(
        as_of=tb.as_of,
        rows=[
            TrialBalanceRowOut(
                account_id=row.account_id,
                number=row.number,
                name=row.name,
                type=AccountType(row.type),
                debit=money(row.debit_cents),
                credit=money(row.credit_cents),
            )
            for row in tb.rows
        ],
        total_debit=money(tb.total_debit_cents),
        total_credit=money(tb.total_credit_cents),
        is_balanced=tb.is_balanced,
    )


class ReconciliationIn(Clean):
    bank_account_id: Id = Field(description="A client trust bank account.")
    statement_balance: Cents = Field(description="The bank statement's closing balance.")
    deposits_in_transit: NonNegativeCents = 0
    outstanding_checks: NonNegativeCents | None = Field(
        None,
        description="Default: every check of the account written by as_of and not voided by then.",
    )
    as_of: dt.date | None = Field(
        None,
        description="The statement date. Default: today. Every figure is as of this day: "
        "only entries dated on or before it count.",
    )


class OutstandingCheckOut(Out):
    check_id: int
    check_number: int | None
    payee: str
    amount: Money


class ReconciliationOut(Out):
    bank_account_id: int
    bank_account_name: str
    as_of: dt.date
    statement_balance: Money
    deposits_in_transit: Money
    outstanding_checks: Money
    outstanding_check_list: list[OutstandingCheckOut]
    adjusted_bank_balance: Money
    trust_journal_balance: Money
    client_ledgers_total: Money
    client_ledgers_recomputed: Money
    trust_liability_balance: Money = Field(
        description="The client trust liability account, as of the day."
    )
    differences: list[str]
    is_reconciled: bool


@router.get("/reports/three-way-reconciliation", response={200: ReconciliationOut, **ERRORS})
def three_way_reconciliation(
    request: HttpRequest, params: Query[ReconciliationIn]
) -> ReconciliationOut:
    """Adjusted bank balance = trust journal balance = sum of the client ledgers."""
    firm = context(request).firm
    bank = get_or_404(
        BankAccount.objects.filter(firm=firm), params.bank_account_id, field="bank_account_id"
    )
    rec = reports.three_way_reconciliation(
        firm=firm,
        bank_account_id=bank.pk,
        statement_balance_cents=params.statement_balance,
        deposits_in_transit_cents=params.deposits_in_transit,
        outstanding_checks_cents=params.outstanding_checks,
        as_of=params.as_of,
    )
    return ReconciliationOut(
        bank_account_id=rec.bank_account.pk,
        bank_account_name=rec.bank_account.name,
        as_of=rec.as_of,
        statement_balance=money(rec.statement_balance_cents),
        deposits_in_transit=money(rec.deposits_in_transit_cents),
        outstanding_checks=money(rec.outstanding_checks_cents),
        outstanding_check_list=[
            OutstandingCheckOut(
                check_id=c.check_id,
                check_number=c.check_number,
                payee=c.payee,
                amount=money(c.amount_cents),
            )
            for c in rec.outstanding_checks
        ],
        adjusted_bank_balance=money(rec.adjusted_bank_balance_cents),
        trust_journal_balance=money(rec.trust_journal_balance_cents),
        client_ledgers_total=money(rec.client_ledgers_total_cents),
        client_ledgers_recomputed=money(rec.client_ledgers_recomputed_cents),
        trust_liability_balance=money(rec.trust_liability_balance_cents),
        differences=rec.differences,
        is_reconciled=rec.is_reconciled,
    )


# --- trust account journal ------------------------------------------------------------------


class TrustJournalIn(Clean):
    model_config = ConfigDict(str_strip_whitespace=True, populate_by_name=True)

    bank_account_id: Id = Field(description="A client trust bank account of the firm.")
    start: dt.date | None = Field(
        None, alias="from", description="The first day (default: the account's first movement)."
    )
    end: dt.date | None = Field(
        None, alias="to", description="The last day, included (default: today)."
    )
    limit: int = Field(
        reports.TRUST_JOURNAL_PAGE_DEFAULT,
        ge=1,
        le=reports.TRUST_JOURNAL_PAGE_MAX,
        description="Movements a page.",
    )
    cursor: str | None = Field(None, max_length=MAX_CURSOR_LENGTH, description=CURSOR_HELP)


class TrustJournalLineOut(Out):
    posting_id: int
    entry_id: int
    date: dt.date
    memo: str
    file_number: str
    deposit: Money
    disbursement: Money
    balance: Money = Field(description="The account's balance after this movement.")


class TrustJournalOut(Out):
    bank_account_id: int
    bank_account_name: str
    start: dt.date | None = Field(serialization_alias="from")
    end: dt.date = Field(serialization_alias="to")
    opening: Money = Field(description="The balance before `from` (0.00 without it).")
    deposits: Money
    disbursements: Money
    closing: Money
    count: int = Field(description="Movements in the period, on every page.")
    items: list[TrustJournalLineOut] = Field(description="In date, entry and posting order.")
    next: str | None = Field(description=NEXT_HELP)


@router.get("/reports/trust-journal", response={200: TrustJournalOut, **ERRORS}, by_alias=True)
def trust_journal(request: HttpRequest, params: Query[TrustJournalIn]) -> TrustJournalOut:
    """Every deposit and disbursement of a client trust bank account in a period, with
    the running balance: keyset-paged (`cursor` is the previous page's `next`, which
    carries the running balance; a cursor of another account or period, or edited, is
    422 on `cursor`). `to` before `from` is 422 naming `to`."""
    firm = context(request).firm
    bank = get_or_404(
        BankAccount.objects.filter(firm=firm, kind=BankAccountKind.TRUST),
        params.bank_account_id,
        field="bank_account_id",
    )
    end = params.end or clock.today()
    if params.start is not None and params.start > end:
        raise ValidationFailed(
            f"to {end.isoformat()} is before from {params.start.isoformat()}", field="to"
        )
    page = reports.trust_account_journal(
        firm=firm,
        bank_account_id=bank.pk,
        start=params.start,
        end=end,
        cursor=params.cursor,
        limit=params.limit,
    )
    figures = page.figures
    return TrustJournalOut(
        bank_account_id=bank.pk,
        bank_account_name=bank.name,
        start=figures.start,
        end=figures.end,
        opening=money(figures.opening_cents),
        deposits=money(figures.deposits_cents),
        disbursements=money(figures.disbursements_cents),
        closing=money(figures.closing_cents),
        count=figures.count,
        items=[
            TrustJournalLineOut(
                posting_id=line.posting_id,
                entry_id=line.entry_id,
                date=line.date,
                memo=line.memo,
                file_number=line.file_number,
                deposit=money(line.debit_cents),
                disbursement=money(line.credit_cents),
                balance=money(line.balance_cents),
            )
            for line in page.lines
        ],
        next=page.next_cursor,
    )


#: Each bulk read's cursor tag: a cursor of one is refused by the others.
TRUST_BALANCES = "trust-balances"
EXTERNAL_DOCUMENTS = "external-documents"
EXTERNAL_DIGESTS = "external-digests"


def _after_id(cursor: str | None, tag: str) -> int:
    """The id a bulk read's ``cursor`` follows (0: none, the first page); a bad cursor 422."""
    if not cursor:
        return 0
    (after,) = decode_cursor(cursor, tag, [int])
    if not 0 < after <= MAX_ID:
        raise ValidationFailed(
            "cursor: not a cursor of this list; pass a page's `next` unchanged", field="cursor"
        )
    return int(after)


#: Most files ``GET /reports/trust-balances?file_ids=`` answers for at once.
MAX_FILE_IDS = 250
#: Largest page of the bulk reads.
MAX_BULK_LIMIT = 10_000


class TrustBalancesIn(Clean):
    bank_account_id: Id = Field(description="A client trust bank account of the firm.")
    file_ids: str | None = Field(
        None,
        max_length=MAX_FILE_IDS * 21,
        description=(
            f"Comma-separated file ids (at most {MAX_FILE_IDS}), e.g. file_ids=3,4,9: exactly "
            "those files of the firm (unknown ids and other firms' files are left out, a "
            "file without a ledger in the account shows 0.00), in one answer; "
            "cursor and limit do not apply."
        ),
    )
    cursor: str | None = Field(None, max_length=MAX_CURSOR_LENGTH, description=CURSOR_HELP)
    limit: int = Field(1000, ge=1, le=MAX_BULK_LIMIT)
    as_of: dt.date | None = Field(None, description=AS_OF)


class FileTrustBalanceOut(Out):
    file_id: int
    file_number: str
    balance: Money


class TrustBalancesOut(Out):
    bank_account_id: int
    as_of: dt.date = Field(description="The day the balances are for.")
    items: list[FileTrustBalanceOut] = Field(description="In file id order.")
    next: str | None = Field(
        description="Pass as cursor for the next page; null on the last page (and always "
        "with file_ids)."
    )


def _parse_file_ids(text: str) -> list[int]:
    """``"3, 4,9"`` -> ``[3, 4, 9]``: plain decimal ids only (no signs, no ``1_000``)."""
    parts = [part.strip() for part in text.split(",")]
    ids = [part for part in parts if part]
    if len(ids) > MAX_FILE_IDS:
        raise ValidationFailed(
            f"file_ids: at most {MAX_FILE_IDS} ids at once, got {len(ids)}", field="file_ids"
        )
    if not all(part.isascii() and part.isdigit() and 1 <= int(part) <= MAX_ID for part in ids):
        raise ValidationFailed(
            "file_ids must be comma-separated positive ids, e.g. 3,4,9", field="file_ids"
        )
    return [int(part) for part in ids]


@router.get("/reports/trust-balances", response={200: TrustBalancesOut, **ERRORS})
def trust_balances(request: HttpRequest, params: Query[TrustBalancesIn]) -> TrustBalancesOut:
    """Many files' client trust balances in one trust bank account (credit-normal), as of
    ``as_of`` (default today).

    With ``file_ids``: those files of the firm, in file id order. Without: every file with
    a ledger in the account, keyset-paged by file id (``cursor``, ``limit``, default 1,000,
    at most 10,000); ``next`` is the cursor after the page's last file when the page is
    full, else null. An unknown bank account is 404, one that is not a client
    trust account 422, both naming ``bank_account_id``."""
    firm = context(request).firm
    bank = get_or_404(
        BankAccount.objects.filter(firm=firm), params.bank_account_id, field="bank_account_id"
    )
    if bank.kind != BankAccountKind.TRUST:
        raise ValidationFailed(
            f"bank_account_id: {bank.name} is not a client trust bank account",
            field="bank_account_id",
        )
    next_cursor: str | None = None
    as_of = params.as_of or clock.today()
    if params.file_ids is not None:
        rows = reports.trust_balances_of_files(
            firm=firm,
            bank_account_id=bank.pk,
            file_ids=_parse_file_ids(params.file_ids),
            as_of=as_of,
        )
    else:
        rows = reports.trust_balances_page(
            firm=firm,
            bank_account_id=bank.pk,
            after_file_id=_after_id(params.cursor, TRUST_BALANCES),
            limit=params.limit,
            as_of=as_of,
        )
        if len(rows) == params.limit:
            next_cursor = encode_cursor(TRUST_BALANCES, [rows[-1][0]])
    return TrustBalancesOut(
        bank_account_id=bank.pk,
        as_of=as_of,
        items=[
            FileTrustBalanceOut(file_id=file_id, file_number=number, balance=money(cents))
            for file_id, number, cents in rows
        ],
        next=next_cursor,
    )


class ExternalDocumentsIn(Clean):
    kind: DocumentKind
    prefix: str = Field(
        min_length=1,
        max_length=60,
        description="The external_ref's beginning, e.g. cases- (case-sensitive).",
    )
    cursor: str | None = Field(None, max_length=MAX_CURSOR_LENGTH, description=CURSOR_HELP)
    limit: int = Field(2000, ge=1, le=MAX_BULK_LIMIT)
    file_id: Id | None = Field(None, description="Only this file's documents.")
    file_ids: str | None = Field(
        None,
        max_length=MAX_FILE_IDS * 21,
        description=(
            f"Comma-separated file ids (at most {MAX_FILE_IDS}), e.g. file_ids=3,4,9: only "
            "the documents of those files (with no_file, also those without a file)."
        ),
    )
    no_file: bool = Field(
        False, description="Only the documents without a file (with file_ids: also those)."
    )


class ExternalDocumentOut(Out):
    id: int
    external_ref: str
    file_id: int | None
    bank_account_id: int | None = Field(description="An invoice's trust bank account.")
    amount: Money = Field(description="An invoice's total.")
    status: str = Field(
        description="A check's status (queued, printed, voided), a receipt's (posted, "
        "voided) or an invoice's stage (draft, review, release, final, voided)."
    )
    number: int | None = Field(
        description="A check's number (null while queued) or an invoice's; null for a receipt."
    )
    date: dt.date = Field(
        description="A check's request date, a receipt's received date or the invoice date."
    )
    void_date: dt.date | None = Field(
        description="A check's or receipt's void date; the date an invoice's void was posted "
        "(null for an invoice voided before it was final)."
    )


class ExternalDocumentsOut(Out):
    kind: DocumentKind
    items: list[ExternalDocumentOut] = Field(description="In id order.")
    next: str | None = Field(description=NEXT_HELP)


@router.get("/reports/external-documents", response={200: ExternalDocumentsOut, **ERRORS})
def external_documents(
    request: HttpRequest, params: Query[ExternalDocumentsIn]
) -> ExternalDocumentsOut:
    """The firm's checks, trust receipts or invoices whose ``external_ref`` starts with
    ``prefix``, keyset-paged by id (``cursor``, ``limit``, default 2,000, at most 10,000);
    ``next`` is the cursor after the page's last document when the page is full, else null.
    ``file_id``, or ``file_ids`` and ``no_file``, keep only those files' documents (an
    integration reads the files whose ``/reports/external-digests`` differ)."""
    if params.file_id is not None and (params.file_ids is not None or params.no_file):
        raise ValidationFailed(
            "file_id: give either file_id, or file_ids and/or no_file", field="file_id"
        )
    rows = reports.external_documents_page(
        firm=context(request).firm,
        kind=params.kind,
        prefix=params.prefix,
        after_id=_after_id(params.cursor, EXTERNAL_DOCUMENTS),
        limit=params.limit,
        file_id=params.file_id,
        file_ids=_parse_file_ids(params.file_ids) if params.file_ids is not None else None,
        no_file=params.no_file,
    )
    return ExternalDocumentsOut(
        kind=params.kind,
        items=[
            ExternalDocumentOut(
                id=pk,
                external_ref=ref,
                file_id=file_id,
                bank_account_id=bank_id,
                amount=money(cents),
                status=status,
                number=number,
                date=date,
                void_date=void_date,
            )
            for pk, ref, file_id, bank_id, cents, status, number, date, void_date in rows
        ],
        next=(
            encode_cursor(EXTERNAL_DOCUMENTS, [rows[-1][0]]) if len(rows) == params.limit else None
        ),
    )


#: Most files a page of ``GET /reports/external-digests`` holds.
MAX_DIGEST_LIMIT = 50_000
DIGEST_COLUMNS = ["file_id", "documents", "cents", "digest", "trust_cents"]


class ExternalDigestsIn(Clean):
    prefix: str = Field(
        min_length=1,
        max_length=60,
        pattern=r"^[^-]+-$",
        description=(
            "The external_ref's namespace: its text up to and including its first '-', "
            "e.g. cases- (case-sensitive)."
        ),
    )
    bank_account_id: Id = Field(description="The client trust bank account of trust_cents.")
    cursor: str | None = Field(None, max_length=MAX_CURSOR_LENGTH, description=CURSOR_HELP)
    limit: int = Field(MAX_DIGEST_LIMIT, ge=1, le=MAX_DIGEST_LIMIT)


class ExternalDigestsOut(Out):
    bank_account_id: int
    as_of: dt.date = Field(description="The day the trust balances are for (today).")
    columns: list[str] = Field(
        description="The names of each row's values: " + ", ".join(DIGEST_COLUMNS) + "."
    )
    items: list[tuple[int | None, int, int, str, int]] = Field(
        description=(
            "One array a file, in file id order: its id (null, first, for the documents "
            "without a file), how many documents it holds under the prefix, the sum of their "
            "cents, the sum modulo 2**60 (15 hex digits, empty without documents) of the "
            "first 15 hex digits of the MD5 of each of their rows "
            "'<C|R|I>:<len(ref)>:<ref>:<cents>:<status>:<len(number)>:<number>' (C a check, "
            "R a trust receipt, I an invoice with its stage as status; number a printed "
            "check's number, else empty), UTF-8, whatever their order, and "
            "the file's trust balance in the bank account in cents. Files with neither a "
            "document nor a trust ledger there are left out."
        )
    )
    next: str | None = Field(description=NEXT_HELP)


@router.get("/reports/external-digests", response={200: ExternalDigestsOut, **ERRORS})
def external_digests(request: HttpRequest, params: Query[ExternalDigestsIn]) -> ExternalDigestsOut:
    """Per file, the maintained digest of the checks, trust receipts and invoices whose
    ``external_ref`` is in the namespace ``prefix`` (count, cents, hash) and the file's trust
    balance: compact arrays, keyset-paged by file id (``cursor``, ``limit``, default and at
    most 50,000 files). An integration compares them with what it sent and reads
    ``/reports/external-documents`` only for the files that differ. An unknown bank
    account is 404, one that is not a client trust account 422."""
    firm = context(request).firm
    bank = get_or_404(
        BankAccount.objects.filter(firm=firm), params.bank_account_id, field="bank_account_id"
    )
    if bank.kind != BankAccountKind.TRUST:
        raise ValidationFailed(
            f"bank_account_id: {bank.name} is not a client trust bank account",
            field="bank_account_id",
        )
    rows, next_after = digests.external_digests_page(
        firm=firm,
        prefix=params.prefix,
        bank_account_id=bank.pk,
        after_file_id=_after_id(params.cursor, EXTERNAL_DIGESTS),
        limit=params.limit,
    )
    return ExternalDigestsOut(
        bank_account_id=bank.pk,
        as_of=clock.today(),
        columns=DIGEST_COLUMNS,
        items=rows,
        next=None if next_after is None else encode_cursor(EXTERNAL_DIGESTS, [next_after]),
    )
