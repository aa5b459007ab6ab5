"""The books meet the bank (issue 11, ADR 0015): statement lines matched to books items,
what is outstanding, the monthly reconciliation saved and signed, closed periods.

- ``GET /bank-accounts/{id}/statement-lines?status=`` the lines and where each stands
  (``unmatched``, ``proposed`` with its candidate items, ``matched`` with the items it
  cleared, ``reconciling`` with its note); ``POST /bank-accounts/{id}/auto-match``.
- ``POST /statement-lines/{id}/match`` (``items``: posting ids; several is a split),
  ``/unmatch``, ``/set-aside`` (a reconciling item, ``note`` required), ``/record`` (an
  entry dated on the line: operating against ``account_id``, trust against the client
  ledger of ``file_id``).
- ``GET /bank-accounts/{id}/outstanding?as_of=`` outstanding checks by age and deposits in
  transit.
- ``GET /bank-accounts/{id}/reconciliation?month=YYYY-MM`` the month computed now;
  ``POST /bank-accounts/{id}/reconciliations`` saves it (prepared);
  ``POST /reconciliations/{id}/sign`` (an attorney; closes the month);
  ``POST /bank-accounts/{id}/reopen`` (an administrator, with a reason);
  ``GET /reconciliations/{id}/pdf`` and ``/csv/{list}``.
- ``GET /periods``, ``POST /periods/close`` and ``/periods/reopen``: the firm-wide close
  (administrators).

A date in a closed period is refused 409 ``period_closed``; an ambiguous or wrong match
422 naming ``items``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from ninja import Query, Router, Status
from pydantic import Field

from casebridge.books.api.idempotency import idempotent
from casebridge.books.api.security import context
from casebridge.books.errors import ValidationFailed
from casebridge.books.exports import reconciliation as export
from casebridge.books.models import (
    BankAccount,
    ClearedItem,
    Firm,
    Reconciliation,
    StatementLine,
    StatementLineStatus,
)
from casebridge.books.selectors import bank as bank_selectors
from casebridge.books.services import matching, periods, reconciliations
from casebridge.core.api.lookups import get_or_404
from casebridge.core.api.schemas import (
    ERRORS,
    Cents,
    CountedPage,
    Id,
    In,
    Money,
    Out,
    Page,
    PageIn,
    keyset_page,
    money,
)

router = Router(tags=["bank reconciliation"])

LineStatus = Literal["unmatched", "proposed", "matched", "reconciling"]
CsvList = Literal[
    "outstanding_checks", "deposits_in_transit", "reconciling_items", "client_ledgers"
]
_MONTH = r"^\d{4}-\d{2}$"


def _banks(firm: Firm) -> QuerySet[BankAccount]:
    return BankAccount.objects.filter(firm=firm)


def _lines(firm: Firm) -> QuerySet[StatementLine]:
    return StatementLine.objects.filter(firm=firm)


class ClearedOut(Out):
    posting_id: int
    entry_id: int
    amount: Money
    cleared_on: dt.date
    how: str


class MatchLineOut(Out):
    id: int
    statement_id: int
    posted_on: dt.date
    amount: Money = Field(description="Signed: money in is positive.")
    check_number: str | None
    reference: str
    description: str
    status: StatementLineStatus
    proposals: list[list[int]] = Field(
        description="Proposed: candidate matches, each a list of posting ids."
    )
    note: str
    cleared: list[ClearedOut]

    @classmethod
    def of(cls, line: StatementLine, cleared: list[ClearedItem]) -> MatchLineOut:
        return cls(
            id=line.pk,
            statement_id=line.statement_id,
            posted_on=line.posted_on,
            amount=money(line.amount_cents),
            check_number=line.check_number,
            reference=line.reference,
            description=line.description,
            status=StatementLineStatus(line.status),
            proposals=line.proposals or [],
            note=line.note or "",
            cleared=[
                ClearedOut(
                    posting_id=c.posting_id,
                    entry_id=c.entry_id,
                    amount=money(c.amount_cents),
                    cleared_on=c.cleared_on,
                    how=c.how,
                )
                for c in cleared
            ],
        )


def _line_out(line: StatementLine) -> MatchLineOut:
    line.refresh_from_db()
    return MatchLineOut.of(line, list(ClearedItem.objects.filter(line=line).order_by("pk")))


class LineFilter(PageIn):
    status: LineStatus | None = None


@router.get(
    "/bank-accounts/{int:bank_account_id}/statement-lines",
    response={200: Page[MatchLineOut], **ERRORS},
)
def line_list(
    request: HttpRequest, bank_account_id: Id, filters: Query[LineFilter]
) -> Page[MatchLineOut]:
    """The bank account's statement lines, oldest first, with where each stands."""
    bank = get_or_404(_banks(context(request).firm), bank_account_id)
    qs = StatementLine.objects.filter(bank_account=bank).order_by("posted_on", "pk")
    if filters.status:
        qs = qs.filter(status=filters.status)
    rows, next_cursor = keyset_page(qs, filters)
    cleared: dict[int, list[ClearedItem]] = {}
    for item in ClearedItem.objects.filter(line__in=rows).order_by("pk"):
        cleared.setdefault(item.line_id or 0, []).append(item)
    return Page[MatchLineOut](
        items=[MatchLineOut.of(r, cleared.get(r.pk, [])) for r in rows], next=next_cursor
    )


class AutoMatchOut(Out):
    lines_considered: int
    lines_matched: int
    items_cleared: int
    lines_proposed: int
    lines_left: int
    lines_in_closed_months: int


@router.post(
    "/bank-accounts/{int:bank_account_id}/auto-match", response={200: AutoMatchOut, **ERRORS}
)
@idempotent
def auto_match(request: HttpRequest, bank_account_id: Id) -> AutoMatchOut:
    """Match every open line that has exactly one match; propose the ambiguous ones."""
    ctx = context(request)
    bank = get_or_404(_banks(ctx.firm), bank_account_id)
    result = matching.statement_auto_match(firm=ctx.firm, actor=ctx.user, bank_account_id=bank.pk)
    return AutoMatchOut(
        lines_considered=result.lines_considered,
        lines_matched=result.lines_matched,
        items_cleared=result.items_cleared,
        lines_proposed=result.lines_proposed,
        lines_left=result.lines_left,
        lines_in_closed_months=result.skipped_closed,
    )


class MatchIn(In):
    items: list[Id] = Field(
        min_length=1, max_length=500, description="Posting ids of the bank account's items."
    )


@router.post("/statement-lines/{int:line_id}/match", response={200: MatchLineOut, **ERRORS})
@idempotent
def line_match(request: HttpRequest, line_id: Id, payload: MatchIn) -> MatchLineOut:
    """Match the line to one item or several (a split); they must add up to it exactly."""
    ctx = context(request)
    line = get_or_404(_lines(ctx.firm), line_id)
    matching.line_match(firm=ctx.firm, actor=ctx.user, line_id=line.pk, posting_ids=payload.items)
    return _line_out(line)


class ReasonIn(In):
    reason: str = Field("", max_length=500)


@router.post("/statement-lines/{int:line_id}/unmatch", response={200: MatchLineOut, **ERRORS})
@idempotent
def line_unmatch(request: HttpRequest, line_id: Id, payload: ReasonIn) -> MatchLineOut:
    ctx = context(request)
    line = get_or_404(_lines(ctx.firm), line_id)
    matching.line_unmatch(firm=ctx.firm, actor=ctx.user, line_id=line.pk, reason=payload.reason)
    return _line_out(line)


class NoteIn(In):
    note: str = Field(max_length=500)


@router.post("/statement-lines/{int:line_id}/set-aside", response={200: MatchLineOut, **ERRORS})
@idempotent
def line_set_aside(request: HttpRequest, line_id: Id, payload: NoteIn) -> MatchLineOut:
    """Leave the line as a reconciling item, with a note saying why."""
    ctx = context(request)
    line = get_or_404(_lines(ctx.firm), line_id)
    matching.line_set_aside(firm=ctx.firm, actor=ctx.user, line_id=line.pk, note=payload.note)
    return _line_out(line)


class RecordIn(In):
    account_id: Id | None = Field(None, description="Operating account: where it posts.")
    file_id: Id | None = Field(None, description="Trust account: whose client ledger.")
    memo: str = Field("", max_length=500)


@router.post("/statement-lines/{int:line_id}/record", response={200: MatchLineOut, **ERRORS})
@idempotent
def line_record(request: HttpRequest, line_id: Id, payload: RecordIn) -> MatchLineOut:
    """Record the line as a journal entry dated on it, cleared by it."""
    ctx = context(request)
    line = get_or_404(_lines(ctx.firm), line_id)
    matching.line_record(
        firm=ctx.firm,
        actor=ctx.user,
        line_id=line.pk,
        account_id=payload.account_id,
        file_id=payload.file_id,
        memo=payload.memo,
    )
    return _line_out(line)


class OpeningClearIn(In):
    items: list[Id] = Field(min_length=1, max_length=5000)
    cleared_on: dt.date


class OpeningClearOut(Out):
    cleared: int


@router.post(
    "/bank-accounts/{int:bank_account_id}/cleared-before-statements",
    response={200: OpeningClearOut, **ERRORS},
)
@idempotent
def clear_opening(
    request: HttpRequest, bank_account_id: Id, payload: OpeningClearIn
) -> OpeningClearOut:
    """Mark items as cleared before the first statement imported (history kept
    elsewhere), dated before its first line."""
    ctx = context(request)
    bank = get_or_404(_banks(ctx.firm), bank_account_id)
    made = matching.items_clear_opening(
        firm=ctx.firm,
        actor=ctx.user,
        bank_account_id=bank.pk,
        posting_ids=payload.items,
        cleared_on=payload.cleared_on,
    )
    return OpeningClearOut(cleared=len(made))


class ItemOut(Out):
    posting_id: int
    entry_id: int
    date: dt.date
    amount: Money = Field(description="Signed: money in is positive.")
    kind: str
    number: int | None
    description: str
    age_days: int
    bucket: str

    @classmethod
    def of(cls, item: bank_selectors.BankItem) -> ItemOut:
        return cls(
            posting_id=item.posting_id,
            entry_id=item.entry_id,
            date=item.date,
            amount=money(item.amount_cents),
            kind=item.kind,
            number=item.number,
            description=item.description,
            age_days=item.age_days,
            bucket=item.bucket,
        )


class AgingOut(Out):
    bank_account_id: int
    as_of: dt.date
    checks: dict[str, list[ItemOut]] = Field(
        description="Outstanding money out by age: 0-30, 31-60, 61-90, 91-180, stale."
    )
    checks_total: dict[str, Money]
    deposits_in_transit: list[ItemOut]


class AsOfIn(In):
    as_of: dt.date | None = None


@router.get("/bank-accounts/{int:bank_account_id}/outstanding", response={200: AgingOut, **ERRORS})
def outstanding(request: HttpRequest, bank_account_id: Id, q: Query[AsOfIn]) -> AgingOut:
    bank = get_or_404(_banks(context(request).firm), bank_account_id)
    aging = bank_selectors.outstanding_aging(firm=bank.firm, bank_account_id=bank.pk, as_of=q.as_of)
    return AgingOut(
        bank_account_id=bank.pk,
        as_of=aging.as_of,
        checks={k: [ItemOut.of(i) for i in v] for k, v in aging.checks.items()},
        checks_total={k: money(-sum(i.amount_cents for i in v)) for k, v in aging.checks.items()},
        deposits_in_transit=[ItemOut.of(i) for i in aging.deposits_in_transit],
    )


class LedgerOut(Out):
    file_id: int
    file_number: str
    file_name: str
    balance: Money


class BankLineOut(Out):
    line_id: int
    posted_on: dt.date
    amount: Money
    description: str
    status: str
    note: str


class LiveReconciliationOut(Out):
    bank_account_id: int
    period_start: dt.date
    period_end: dt.date
    statement_id: int | None
    statement_balance: Money | None
    deposits_in_transit: Money
    outstanding_checks: Money
    reconciling_items: Money
    cleared_ahead: Money
    adjusted_bank_balance: Money
    journal_balance: Money
    client_ledgers_total: Money | None
    trust_liability_balance: Money | None
    difference: Money
    is_reconciled: bool
    differences: list[str]
    notes: list[str]
    deposits_in_transit_items: list[ItemOut]
    outstanding_check_items: list[ItemOut]
    reconciling_item_lines: list[BankLineOut]
    unresolved_lines: list[BankLineOut]
    client_ledgers: list[LedgerOut] | None


def _bank_lines(lines: list[bank_selectors.BankLine]) -> list[BankLineOut]:
    return [
        BankLineOut(
            line_id=ln.line_id,
            posted_on=ln.posted_on,
            amount=money(ln.amount_cents),
            description=ln.description,
            status=ln.status,
            note=ln.note,
        )
        for ln in lines
    ]


def _opt(cents: int | None) -> str | None:
    return None if cents is None else money(cents)


class MonthIn(In):
    month: str = Field(pattern=_MONTH, description="YYYY-MM")
    statement_balance: Cents | None = Field(
        None, description="The statement's ending balance, when no statement states it."
    )


@router.get(
    "/bank-accounts/{int:bank_account_id}/reconciliation",
    response={200: LiveReconciliationOut, **ERRORS},
)
def reconciliation_live(
    request: HttpRequest, bank_account_id: Id, q: Query[MonthIn]
) -> LiveReconciliationOut:
    """The month's reconciliation computed now (nothing saved)."""
    bank = get_or_404(_banks(context(request).firm), bank_account_id)
    rec = bank_selectors.bank_reconciliation(
        firm=bank.firm,
        bank_account_id=bank.pk,
        period_end=bank_selectors.parse_month(q.month),
        statement_balance_cents=q.statement_balance,
    )
    return LiveReconciliationOut(
        bank_account_id=bank.pk,
        period_start=rec.period_start,
        period_end=rec.period_end,
        statement_id=rec.statement_id,
        statement_balance=_opt(rec.statement_balance_cents),
        deposits_in_transit=money(rec.deposits_in_transit_cents),
        outstanding_checks=money(rec.outstanding_checks_cents),
        reconciling_items=money(rec.reconciling_items_cents),
        cleared_ahead=money(rec.cleared_ahead_cents),
        adjusted_bank_balance=money(rec.adjusted_bank_balance_cents),
        journal_balance=money(rec.journal_balance_cents),
        client_ledgers_total=_opt(rec.client_ledgers_total_cents),
        trust_liability_balance=_opt(rec.trust_liability_balance_cents),
        difference=money(rec.difference_cents),
        is_reconciled=rec.is_reconciled,
        differences=rec.differences,
        notes=rec.notes,
        deposits_in_transit_items=[ItemOut.of(i) for i in rec.deposits_in_transit],
        outstanding_check_items=[ItemOut.of(i) for i in rec.outstanding_checks],
        reconciling_item_lines=_bank_lines(rec.reconciling_items),
        unresolved_lines=_bank_lines(rec.unresolved_lines),
        client_ledgers=(
            [
                LedgerOut(
                    file_id=b.file_id,
                    file_number=b.file_number,
                    file_name=b.file_name,
                    balance=money(b.balance_cents),
                )
                for b in rec.client_ledgers
            ]
            if rec.client_ledgers is not None
            else None
        ),
    )


class ReconciliationOut(Out):
    id: int
    bank_account_id: int
    period_start: dt.date
    period_end: dt.date
    statement_id: int | None
    status: str
    statement_balance: Money | None
    deposits_in_transit: Money
    outstanding_checks: Money
    reconciling_items: Money
    adjusted_bank_balance: Money
    journal_balance: Money
    client_ledgers_total: Money | None
    difference: Money
    prepared_by: str
    prepared_at: dt.datetime
    signed_by: str | None
    signed_at: dt.datetime | None
    superseded_at: dt.datetime | None
    superseded_reason: str

    @classmethod
    def of(cls, r: Reconciliation) -> ReconciliationOut:
        return cls(
            id=r.pk,
            bank_account_id=r.bank_account_id,
            period_start=r.period_start,
            period_end=r.period_end,
            statement_id=r.statement_id,
            status=r.status,
            statement_balance=_opt(r.statement_balance_cents),
            deposits_in_transit=money(r.deposits_in_transit_cents),
            outstanding_checks=money(r.outstanding_checks_cents),
            reconciling_items=money(r.reconciling_items_cents),
            adjusted_bank_balance=money(r.adjusted_bank_balance_cents),
            journal_balance=money(r.journal_balance_cents),
            client_ledgers_total=_opt(r.client_ledgers_total_cents),
            difference=money(r.difference_cents),
            prepared_by=r.prepared_by.email,
            prepared_at=r.prepared_at,
            signed_by=r.signed_by.email if r.signed_by else None,
            signed_at=r.signed_at,
            superseded_at=r.superseded_at,
            superseded_reason=r.superseded_reason,
        )


class ReconciliationDetailOut(ReconciliationOut):
    items: dict[str, object] = Field(description="Every list as saved, amounts in cents.")


class PrepareIn(In):
    month: str = Field(pattern=_MONTH, description="YYYY-MM")
    statement_balance: Cents | None = None


def _recs(firm: Firm) -> QuerySet[Reconciliation]:
    return Reconciliation.objects.filter(firm=firm).select_related("prepared_by", "signed_by")


@router.post(
    "/bank-accounts/{int:bank_account_id}/reconciliations",
    response={201: ReconciliationDetailOut, **ERRORS},
)
@idempotent
def reconciliation_prepare(
    request: HttpRequest, bank_account_id: Id, payload: PrepareIn
) -> Status[ReconciliationDetailOut]:
    """Save the month's reconciliation (prepared), replacing an unsigned one."""
    ctx = context(request)
    bank = get_or_404(_banks(ctx.firm), bank_account_id)
    saved = reconciliations.reconciliation_prepare(
        firm=ctx.firm,
        actor=ctx.user,
        bank_account_id=bank.pk,
        month=bank_selectors.parse_month(payload.month),
        statement_balance_cents=payload.statement_balance,
    )
    return Status(201, _detail(saved))


def _detail(saved: Reconciliation) -> ReconciliationDetailOut:
    return ReconciliationDetailOut(
        **ReconciliationOut.of(saved).model_dump(), items=dict(saved.items or {})
    )


@router.get(
    "/bank-accounts/{int:bank_account_id}/reconciliations",
    response={200: CountedPage[ReconciliationOut], **ERRORS},
)
def reconciliation_history(
    request: HttpRequest, bank_account_id: Id, page: Query[PageIn]
) -> CountedPage[ReconciliationOut]:
    """Every saved reconciliation of the account, latest month first."""
    ctx = context(request)
    bank = get_or_404(_banks(ctx.firm), bank_account_id)
    qs = _recs(ctx.firm).filter(bank_account=bank).order_by("-period_end", "-pk")
    rows, next_cursor = keyset_page(qs, page)
    return CountedPage[ReconciliationOut](
        items=[ReconciliationOut.of(r) for r in rows], next=next_cursor, count=qs.count()
    )


@router.get(
    "/reconciliations/{int:reconciliation_id}", response={200: ReconciliationDetailOut, **ERRORS}
)
def reconciliation_get(request: HttpRequest, reconciliation_id: Id) -> ReconciliationDetailOut:
    return _detail(get_or_404(_recs(context(request).firm), reconciliation_id))


@router.post(
    "/reconciliations/{int:reconciliation_id}/sign",
    response={200: ReconciliationDetailOut, **ERRORS},
)
@idempotent
def reconciliation_sign(request: HttpRequest, reconciliation_id: Id) -> ReconciliationDetailOut:
    """An attorney signs the prepared month; it closes for the bank account."""
    ctx = context(request)
    saved = get_or_404(_recs(ctx.firm), reconciliation_id)
    reconciliations.reconciliation_sign(firm=ctx.firm, actor=ctx.user, reconciliation_id=saved.pk)
    return _detail(_recs(ctx.firm).get(pk=saved.pk))


class ReopenIn(In):
    month: str = Field(pattern=_MONTH, description="YYYY-MM: reopened from this month on.")
    reason: str = Field(max_length=500)


class ReopenOut(Out):
    bank_account_id: int
    closed_through: dt.date | None
    superseded: list[int]


@router.post("/bank-accounts/{int:bank_account_id}/reopen", response={200: ReopenOut, **ERRORS})
@idempotent
def reconciliation_reopen(
    request: HttpRequest, bank_account_id: Id, payload: ReopenIn
) -> ReopenOut:
    """Reopen the account from a month on (administrators, with a reason)."""
    ctx = context(request)
    bank = get_or_404(_banks(ctx.firm), bank_account_id)
    superseded = reconciliations.reconciliation_reopen(
        firm=ctx.firm,
        actor=ctx.user,
        bank_account_id=bank.pk,
        month=bank_selectors.parse_month(payload.month),
        reason=payload.reason,
    )
    bank.refresh_from_db()
    return ReopenOut(
        bank_account_id=bank.pk,
        closed_through=bank.closed_through,
        superseded=[r.pk for r in superseded],
    )


def _download(body: bytes | str, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    patch_cache_control(response, private=True, no_store=True)
    return response


def _file_stem(saved: Reconciliation) -> str:
    bank = re.sub(r"[^A-Za-z0-9]+", "-", saved.bank_account.name).strip("-").lower()
    return f"reconciliation-{bank or saved.bank_account_id}-{saved.period_end:%Y-%m}"


@router.get(
    "/reconciliations/{int:reconciliation_id}/pdf",
    response={200: None, **ERRORS},
    openapi_extra={"responses": {200: {"content": {"application/pdf": {}}}}},
)
def reconciliation_pdf(request: HttpRequest, reconciliation_id: Id) -> HttpResponse:
    """The saved reconciliation as a PDF: summary, outstanding items, client ledgers."""
    saved = get_or_404(
        _recs(context(request).firm).select_related("bank_account__firm"), reconciliation_id
    )
    return _download(export.render_pdf(saved), "application/pdf", f"{_file_stem(saved)}.pdf")


@router.get(
    "/reconciliations/{int:reconciliation_id}/csv/{which}",
    response={200: None, **ERRORS},
    openapi_extra={"responses": {200: {"content": {"text/csv": {}}}}},
)
def reconciliation_csv(request: HttpRequest, reconciliation_id: Id, which: CsvList) -> HttpResponse:
    """One list of the saved reconciliation as CSV."""
    saved = get_or_404(
        _recs(context(request).firm).select_related("bank_account"), reconciliation_id
    )
    if which == "client_ledgers" and (saved.items or {}).get("client_ledgers") is None:
        raise ValidationFailed("an operating account has no client ledgers", field="which")
    return _download(
        export.render_csv(saved, which),
        "text/csv; charset=utf-8",
        f"{_file_stem(saved)}-{which}.csv",
    )


class PeriodsOut(Out):
    closed_through: dt.date | None
    bank_accounts: dict[str, dt.date | None] = Field(
        description="Each bank account's close (by id), from its signed reconciliations."
    )


def _periods(firm: Firm) -> PeriodsOut:
    firm.refresh_from_db(fields=["closed_through"])
    return PeriodsOut(
        closed_through=firm.closed_through,
        bank_accounts={
            str(pk): through
            for pk, through in _banks(firm).order_by("pk").values_list("pk", "closed_through")
        },
    )


@router.get("/periods", response={200: PeriodsOut, **ERRORS})
def periods_get(request: HttpRequest) -> PeriodsOut:
    return _periods(context(request).firm)


class CloseIn(In):
    through: dt.date


class PeriodReopenIn(In):
    through: dt.date | None = Field(None, description="Closed through this day after; None: open.")
    reason: str = Field(max_length=500)


@router.post("/periods/close", response={200: PeriodsOut, **ERRORS})
@idempotent
def periods_close(request: HttpRequest, payload: CloseIn) -> PeriodsOut:
    """Close the books firm-wide through a day (administrators)."""
    ctx = context(request)
    periods.firm_period_close(firm=ctx.firm, actor=ctx.user, through=payload.through)
    return _periods(ctx.firm)


@router.post("/periods/reopen", response={200: PeriodsOut, **ERRORS})
@idempotent
def periods_reopen(request: HttpRequest, payload: PeriodReopenIn) -> PeriodsOut:
    """Move the firm-wide close back (administrators, with a reason)."""
    ctx = context(request)
    periods.firm_period_reopen(
        firm=ctx.firm, actor=ctx.user, through=payload.through, reason=payload.reason
    )
    return _periods(ctx.firm)
