"""Invoices: fee lines (a time entry by a user who records time) and cost lines (with an
activity code), moving draft -> review -> [release] -> final. The release stage is used
only when the firm's "Enable release invoice stage in billing" feature is on.

Finalising posts the entry. With ``pay_from_trust`` the same entry settles the invoice from
the client's trust (domain.md section 4): Dr client trust liability (file), Cr trust bank,
Dr operating bank, Cr fee income / each cost line's account. Otherwise: Dr accounts
receivable, Cr the same income and cost accounts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction

from casebridge.books import utbms
from casebridge.books.audit import books_audit, books_audit_many
from casebridge.books.errors import (
    Conflict,
    DomainError,
    ExternalRefConflict,
    PeriodClosed,
    RecordsTimeOff,
    ValidationFailed,
)
from casebridge.books.models import (
    AccountRole,
    ActivityCode,
    BankAccount,
    BankAccountKind,
    File,
    Firm,
    GLAccount,
    Invoice,
    InvoiceLine,
    InvoiceStage,
    LineKind,
    User,
)
from casebridge.books.roles import CORRECTIONS, require_role
from casebridge.books.services.checks import ItemRefused, insert_documents, role_account
from casebridge.books.services.dates import date_in_window, window_for
from casebridge.books.services.journal import (
    EntrySpec,
    Line,
    TrustByDate,
    journal_entries_post_batch,
    journal_entry_post,
    journal_entry_reverse,
    journal_entry_validate,
    ledger_rows_lock,
    trust_moves,
)
from casebridge.books.services.periods import check_open
from casebridge.core import clock
from casebridge.core.db import insert_rows, inserted_instances, prefetched
from casebridge.core.money import format_cents


@dataclass(frozen=True)
class LineSpec:
    kind: str  # "fee" or "cost"
    description: str
    amount_cents: int
    timekeeper_id: int | None = None
    hours: Decimal | None = None
    activity_code_id: int | None = None
    line_date: dt.date | None = None
    external_ref: str = ""
    #: the line's own UTBMS codes (ADR 0054); empty: the default when exported as LEDES
    utbms_task_code: str = ""
    utbms_activity_code: str = ""
    utbms_expense_code: str = ""


#: how a refusal names each UTBMS code, its set, and what it says of a code not in it
_CODE_SETS = {
    "utbms_task_code": (
        "task code",
        utbms.TASK,
        "is not in the UTBMS litigation code set (L110 to L530)",
    ),
    "utbms_activity_code": (
        "activity code",
        utbms.ACTIVITY,
        "is not a UTBMS activity code (A101 to A111)",
    ),
    "utbms_expense_code": (
        "expense code",
        utbms.EXPENSE,
        "is not a UTBMS expense code (E101 to E124)",
    ),
}


def line_codes(
    kind: str, *, task: str, activity: str, expense: str, where: str, prefix: str = ""
) -> tuple[str, str, str]:
    """A line's UTBMS task, activity and expense codes, upper-cased, each empty or in its
    code set (``books.utbms``): a fee takes a task and an activity code, a cost an expense
    code. A refusal names the line (``where``) and the field (``prefix`` + its name)."""
    values = {
        "utbms_task_code": task.strip().upper(),
        "utbms_activity_code": activity.strip().upper(),
        "utbms_expense_code": expense.strip().upper(),
    }
    for name, value in values.items():
        label, known, refusal = _CODE_SETS[name]
        if value and value not in known:
            raise ValidationFailed(
                f"{where}: {label} {value[:12]!r} {refusal}", field=prefix + name
            )
    if kind == LineKind.FEE and values["utbms_expense_code"]:
        raise ValidationFailed(
            f"{where}: a fee line takes a UTBMS task and activity code, not an expense code",
            field=prefix + "utbms_expense_code",
        )
    if kind == LineKind.COST:
        for name in ("utbms_task_code", "utbms_activity_code"):
            if values[name]:
                raise ValidationFailed(
                    f"{where}: a cost line takes a UTBMS expense code, not a task or activity code",
                    field=prefix + name,
                )
    return values["utbms_task_code"], values["utbms_activity_code"], values["utbms_expense_code"]


def _audit(
    invoice: Invoice,
    actor: User | None,
    action: str,
    summary: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    books_audit(
        firm_id=invoice.firm_id,
        action=action,
        entity_type="invoice",
        entity_id=invoice.pk,
        actor=actor,
        summary=summary,
        before=before,
        after=after,
    )


@dataclass(frozen=True)
class InvoiceRequest:
    """One invoice, as :func:`invoices_create` takes it. ``release``: ``draft`` leaves it
    a draft, ``review`` submits it for review, ``auto`` finalises it at once (posted on
    the invoice date, paid from trust when ``pay_from_trust``)."""

    file_id: int
    lines: Sequence[LineSpec]
    invoice_date: dt.date | None = None
    description: str = ""
    pay_from_trust: bool = False
    trust_bank_account_id: int | None = None
    operating_bank_account_id: int | None = None
    external_ref: str | None = None
    release: str = "draft"


def _bank_of_kind(
    banks: Sequence[BankAccount], bank_id: int | None, kind: str, field: str
) -> BankAccount:
    """The firm's active bank account ``bank_id`` of ``kind`` (``banks``: the firm's
    active ones, by id), else its first of that kind."""
    bank = next((b for b in banks if b.kind == kind and (bank_id is None or b.pk == bank_id)), None)
    if bank is None:
        label = "client trust" if kind == BankAccountKind.TRUST else "operating"
        raise ValidationFailed(f"no {label} bank account found in this firm", field=field)
    return bank


def _same_invoice(found: Invoice, external_ref: str, request: InvoiceRequest) -> Invoice:
    """``found`` (the firm's invoice with this ``external_ref``) if ``request`` is the same
    invoice (file, paid from trust or not, and its lines' kinds, amounts and references);
    refused (:class:`ExternalRefConflict`) if it differs."""
    lines = [(ln.kind, ln.amount_cents, ln.external_ref) for ln in found.lines.all()]
    differing = [
        name
        for name, was, now in (
            ("file_id", found.file_id, request.file_id),
            ("pay_from_trust", found.pay_from_trust, request.pay_from_trust),
            (
                "lines",
                sorted(lines),
                sorted((ln.kind, ln.amount_cents, ln.external_ref[:120]) for ln in request.lines),
            ),
        )
        if was != now
    ]
    if differing:
        raise ExternalRefConflict(
            f"external_ref {external_ref!r} is already invoice {found.number} "
            f"(id {found.pk}) in this firm, which differs in {', '.join(differing)}; a new "
            "invoice needs a new external_ref",
            field="external_ref",
            invoice_id=found.pk,
            differing=differing,
        )
    return found


def _posting_lines(
    firm: Firm,
    file: File,
    credits: dict[GLAccount, int],
    *,
    pay_from_trust: bool,
    trust: BankAccount | None,
    operating: BankAccount | None,
    receivable: Callable[[], GLAccount],
) -> list[Line]:
    """A final invoice's entry: each income or cost account credited, paid from the
    client's trust (Dr client trust, Cr trust bank, Dr operating) or owed (Dr receivable)."""
    total = sum(credits.values())
    lines = [
        Line(account=acct, credit_cents=c, file=file)
        for acct, c in sorted(credits.items(), key=lambda kv: kv[0].pk)
    ]
    if pay_from_trust:
        assert trust is not None
        assert trust.trust_liability_account is not None
        assert operating is not None
        return [
            Line(account=trust.trust_liability_account, debit_cents=total, file=file),
            Line(account=trust.gl_account, credit_cents=total, file=file),
            Line(account=operating.gl_account, debit_cents=total, file=file),
            *lines,
        ]
    return [Line(account=receivable(), debit_cents=total, file=file), *lines]


def _stages(release: str, release_stage: bool) -> list[str]:
    """The stages an invoice goes through after draft when created with ``release``."""
    if release == "draft":
        return []
    if release == "review":
        return [InvoiceStage.REVIEW]
    return [
        InvoiceStage.REVIEW,
        *([InvoiceStage.RELEASE] if release_stage else []),
        InvoiceStage.FINAL,
    ]


def _invoices_create(
    firm: Firm, actor: User | None, requests: Sequence[InvoiceRequest]
) -> list[tuple[Invoice, bool]]:
    """Find or create every request's invoice, all or nothing; a refusal is
    :class:`ItemRefused` naming the request. One query each for the invoices known by
    external_ref, the files, bank accounts, timekeepers and activity codes; the firm's
    counter and then every row posted to are locked up front (ADR 0012); every entry is
    posted by one call into the journal's batch path; invoices, lines and audit rows are
    inserted together."""
    refs = [(r.external_ref or "").strip()[:120] or None for r in requests]
    first: dict[str, int] = {}
    for i, ref in enumerate(refs):
        if ref is None:
            continue
        if ref in first:
            raise ItemRefused(
                i,
                ValidationFailed(
                    f"external_ref {ref!r} repeats that of request {first[ref]}; each invoice "
                    "in a batch needs its own",
                    field="external_ref",
                ),
            )
        first[ref] = i
    known = (
        {
            inv.external_ref: inv
            for inv in Invoice.objects.filter(firm=firm, external_ref__in=first.keys())
            .select_related("file")
            .prefetch_related("lines")
            if inv.external_ref is not None
        }
        if first
        else {}
    )
    files = File.objects.filter(firm=firm).in_bulk({r.file_id for r in requests})
    to_create = [r for r, ref in zip(requests, refs, strict=True) if ref not in known]
    banks = (
        list(
            BankAccount.objects.select_related("gl_account", "trust_liability_account")
            .filter(firm=firm, is_active=True)
            .order_by("pk")
        )
        if any(r.pay_from_trust for r in to_create)
        else []
    )
    keepers = User.objects.filter(firm=firm).in_bulk(
        {ln.timekeeper_id for r in to_create for ln in r.lines if ln.timekeeper_id}
    )
    codes = (
        ActivityCode.objects.select_related("gl_account")
        .filter(firm=firm, is_active=True)
        .in_bulk({ln.activity_code_id for r in to_create for ln in r.lines if ln.activity_code_id})
    )
    today = clock.today()
    window = (
        window_for(firm)
        if any(
            r.invoice_date is not None or any(ln.line_date is not None for ln in r.lines)
            for r in to_create
        )
        else None
    )
    roles: dict[AccountRole, GLAccount] = {}

    def role(which: AccountRole) -> GLAccount:
        if which not in roles:
            roles[which] = role_account(firm, which)
        return roles[which]

    # The locks, before any check that reads under them: the firm's counter first, then
    # the trust ledgers and GL accounts the final invoices post to (ADR 0012).
    release_stage = False
    next_number = 0
    ledgers: dict[tuple[int, int], Any] = {}
    draws: dict[tuple[int, int], dt.date] = {}
    if to_create:
        locked = Firm.objects.select_for_update(no_key=True).get(pk=firm.pk)
        release_stage = locked.release_invoice_stage_enabled
        next_number = locked.next_invoice_number
        accounts: set[int] = set()
        lock_roles: set[str] = set()  # Fee Income, Accounts Receivable: found by role below
        for r in to_create:
            if r.release != "auto" or r.file_id not in files:
                continue
            accounts |= {
                c.gl_account_id for ln in r.lines if (c := codes.get(ln.activity_code_id or 0))
            }
            if any(ln.kind == "fee" for ln in r.lines):
                lock_roles.add(AccountRole.FEE_INCOME)
            if not r.pay_from_trust:
                lock_roles.add(AccountRole.ACCOUNTS_RECEIVABLE)
                continue
            operating = next(
                (
                    b
                    for b in banks
                    if b.kind == BankAccountKind.OPERATING
                    and (r.operating_bank_account_id in (None, b.pk))
                ),
                None,
            )
            if operating is not None:  # the fee and costs move to it from trust
                accounts.add(operating.gl_account_id)
            trust_bank = next(
                (
                    b
                    for b in banks
                    if b.kind == BankAccountKind.TRUST
                    and (r.trust_bank_account_id is None or b.pk == r.trust_bank_account_id)
                ),
                None,
            )
            if trust_bank is None or trust_bank.trust_liability_account_id is None:
                continue  # refused with its own message in its turn
            accounts |= {trust_bank.gl_account_id, trust_bank.trust_liability_account_id}
            key, on = (r.file_id, trust_bank.pk), r.invoice_date or today
            draws[key] = min(on, draws.get(key, on))
        if lock_roles:  # every account the entries post to is locked here, in the one order
            accounts |= set(
                GLAccount.objects.filter(firm=firm, role__in=lock_roles).values_list(
                    "pk", flat=True
                )
            )
        ledgers = ledger_rows_lock(firm=firm, account_ids=accounts, trust_pairs=set(draws))
    by_date = TrustByDate(ledgers, draws)
    bank_by_liability = {
        b.trust_liability_account_id: b.pk for b in banks if b.trust_liability_account_id
    }

    # Each request in order, refused as it would be alone, its trust check seeing the
    # invoices before it.
    found: dict[int, Invoice] = {}
    new: list[tuple[int, InvoiceRequest, File, list[_LineRow], dict[str, Any]]] = []
    specs: list[EntrySpec] = []
    posted_by: list[int] = []  # the place in ``new`` of each spec's invoice
    for i, (request, ref) in enumerate(zip(requests, refs, strict=True)):
        try:
            file = files.get(request.file_id)
            if file is None:
                raise ValidationFailed("file not found in this firm", field="file")
            if ref is not None and ref in known:
                found[i] = _same_invoice(known[ref], ref, request)
                continue
            if not request.lines:
                raise ValidationFailed("an invoice needs at least one line", field="lines")
            date = request.invoice_date or today
            if window is not None and request.invoice_date is not None:
                window.check(request.invoice_date, field="invoice_date")
            trust = operating = None
            if request.pay_from_trust:
                trust = _bank_of_kind(
                    banks,
                    request.trust_bank_account_id,
                    BankAccountKind.TRUST,
                    "trust_bank_account",
                )
                operating = _bank_of_kind(
                    banks,
                    request.operating_bank_account_id,
                    BankAccountKind.OPERATING,
                    "operating_bank_account",
                )
            built: list[_LineRow] = []
            credits: dict[GLAccount, int] = defaultdict(int)
            for n, spec in enumerate(request.lines, start=1):
                where = f"line {n}"
                if spec.amount_cents <= 0:
                    raise ValidationFailed(
                        f"{where}: amount must be greater than zero", field="lines"
                    )
                description = spec.description.strip()
                if not description:
                    raise ValidationFailed(f"{where}: a description is required", field="lines")
                if window is not None and spec.line_date is not None:
                    window.check(spec.line_date, field="lines", label="line_date", where=where)
                keeper_id = code_id = hours = None
                if spec.kind == LineKind.FEE:
                    keeper = keepers.get(spec.timekeeper_id) if spec.timekeeper_id else None
                    if keeper is None:
                        raise ValidationFailed(
                            f"{where}: a fee line needs a timekeeper in this firm", field="lines"
                        )
                    if not keeper.records_time:
                        raise RecordsTimeOff(
                            f"{where}: {keeper.email} does not have Records Time turned on "
                            "(Users → pencil → Accounting → Records Time)",
                            field="lines",
                        )
                    if spec.hours is not None and spec.hours < 0:
                        raise ValidationFailed(f"{where}: hours cannot be negative", field="lines")
                    keeper_id = keeper.pk
                    if spec.hours is not None:  # as the column holds it
                        hours = spec.hours.quantize(_HUNDREDTHS, rounding=ROUND_HALF_UP)
                elif spec.kind == LineKind.COST:
                    code = codes.get(spec.activity_code_id) if spec.activity_code_id else None
                    if code is None:
                        raise ValidationFailed(
                            f"{where}: a cost line needs an activity code in this firm",
                            field="lines",
                        )
                    code_id = code.pk
                else:
                    raise ValidationFailed(f"{where}: kind must be 'fee' or 'cost'", field="lines")
                codes_of_line = line_codes(
                    spec.kind,
                    task=spec.utbms_task_code,
                    activity=spec.utbms_activity_code,
                    expense=spec.utbms_expense_code,
                    where=where,
                    prefix=f"lines[{n - 1}].",
                )
                built.append(
                    (
                        spec.kind,
                        description[:255],
                        spec.amount_cents,
                        keeper_id,
                        hours,
                        code_id,
                        spec.line_date or date,
                        spec.external_ref[:120],
                        *codes_of_line,
                    )
                )
            number = next_number + len(new)
            stages = _stages(request.release, release_stage)
            if stages and stages[-1] == InvoiceStage.FINAL:
                for kind, _, amount, _, _, code_id, *_ in built:
                    if kind == LineKind.FEE:
                        acct = role(AccountRole.FEE_INCOME)
                    else:
                        assert code_id is not None  # a cost line (above)
                        acct = codes[code_id].gl_account
                    credits[acct] += amount
                entry = EntrySpec(
                    date=date,
                    lines=_posting_lines(
                        firm,
                        file,
                        credits,
                        pay_from_trust=request.pay_from_trust,
                        trust=trust,
                        operating=operating,
                        receivable=lambda: role(AccountRole.ACCOUNTS_RECEIVABLE),
                    ),
                    memo=f"Invoice {number} for file {file.number}"
                    + (" paid from trust" if request.pay_from_trust else ""),
                    source="invoice",
                )
                journal_entry_validate(firm, entry)
                by_date.apply(date, trust_moves(entry, bank_by_liability))
                specs.append(entry)
                posted_by.append(len(new))
        except DomainError as exc:
            raise ItemRefused(i, exc) from None
        new.append(
            (
                i,
                request,
                file,
                built,
                {"date": date, "trust": trust, "operating": operating, "stages": stages},
            )
        )

    if not new:
        return [(found[i], False) for i in range(len(requests))]
    if specs:
        try:
            posted = journal_entries_post_batch(
                firm=firm, entries=specs, actor=actor, ledgers=ledgers
            )
        except PeriodClosed:
            _period_refusal(firm, specs, [new[n][0] for n in posted_by])
            raise
        except DomainError as exc:
            index = exc.details.pop("index", None)
            if isinstance(index, int):
                raise ItemRefused(new[posted_by[index]][0], exc) from None
            raise
    entry_of = {n: entry for n, (entry, _) in zip(posted_by, posted if specs else [], strict=True)}
    Firm.objects.filter(pk=firm.pk).update(next_invoice_number=next_number + len(new))
    now = clock.now()
    actor_id = actor.pk if actor else None
    rows = [
        (
            firm.pk,
            next_number + n,
            file.pk,
            extra["stages"][-1] if extra["stages"] else InvoiceStage.DRAFT,
            extra["date"],
            request.description.strip()[:255],
            request.pay_from_trust,
            extra["trust"].pk if extra["trust"] else None,
            extra["operating"].pk if extra["operating"] else None,
            sum(line[2] for line in built),
            refs[i],
            entry_of[n].pk if n in entry_of else None,
            extra["date"] if n in entry_of else None,
            actor_id,
            now,
        )
        for n, (i, request, file, built, extra) in enumerate(new)
    ]
    created = insert_documents(
        Invoice, _INVOICE_FIELDS, rows, firm, actor, [(i, refs[i]) for i, *_ in new]
    )
    line_rows = [
        (invoice.pk, *line)
        for invoice, (_, _, _, built, _) in zip(created, new, strict=True)
        for line in built
    ]
    line_ids = insert_rows(InvoiceLine, _LINE_FIELDS, line_rows)
    made_lines = iter(inserted_instances(InvoiceLine, _LINE_FIELDS, line_rows, line_ids))
    events: list[dict[str, Any]] = []
    for invoice, (_, request, file, built, extra) in zip(created, new, strict=True):
        # the invoice's lines, as `invoice.lines.all()` gives them, without a query
        prefetched(invoice, "lines", [next(made_lines) for _ in built])
        events.append(
            {
                "action": "create",
                "entity_type": "invoice",
                "entity_id": invoice.pk,
                "summary": f"Invoice {invoice.number} for file {file.number}, "
                f"{format_cents(invoice.total_cents)}",
                "after": {
                    "number": invoice.number,
                    "file": file.number,
                    "total_cents": invoice.total_cents,
                    "lines": len(built),
                    "pay_from_trust": request.pay_from_trust,
                },
            }
        )
        before = InvoiceStage.DRAFT
        for stage in extra["stages"]:
            events.append(
                {
                    "action": "change",
                    "entity_type": "invoice",
                    "entity_id": invoice.pk,
                    "summary": f"Invoice {invoice.number} moved from {before} to {stage}",
                    "before": {"stage": before},
                    "after": {"stage": stage},
                }
            )
            before = stage
    books_audit_many(firm_id=firm.pk, actor=actor, events=events)
    made = iter(created)
    return [(found[i], False) if i in found else (next(made), True) for i in range(len(requests))]


#: the columns an invoice writes; the others take their defaults
_INVOICE_FIELDS = (
    "firm",
    "number",
    "file",
    "stage",
    "invoice_date",
    "description",
    "pay_from_trust",
    "trust_bank_account",
    "operating_bank_account",
    "total_cents",
    "external_ref",
    "entry",
    "finalised_on",
    "created_by",
    "created_at",
)

#: an invoice line's columns; a line is built as the row after its invoice's id
_LINE_FIELDS = (
    "invoice",
    "kind",
    "description",
    "amount_cents",
    "timekeeper",
    "hours",
    "activity_code",
    "line_date",
    "external_ref",
    "utbms_task_code",
    "utbms_activity_code",
    "utbms_expense_code",
)
#: kind, description, amount, timekeeper, hours, activity code, line date, external_ref,
#: UTBMS task, activity and expense codes
_LineRow = tuple[str, str, int, int | None, Decimal | None, int | None, dt.date, str, str, str, str]
_HUNDREDTHS = Decimal("0.01")


def _period_refusal(firm: Firm, specs: Sequence[EntrySpec], at: Sequence[int]) -> None:
    """The journal refused the batch as dated in a closed period: refuse the first such
    entry as :func:`check_open` would alone, named by its request (``at[n]`` is the
    request of ``specs[n]``)."""
    for n, spec in enumerate(specs):
        try:
            check_open(firm, [spec], [{ln.account.pk for ln in spec.lines}], [""])
        except PeriodClosed as exc:
            raise ItemRefused(at[n], exc) from None


@transaction.atomic
def invoices_create(
    *, firm: Firm, actor: User | None, requests: Sequence[InvoiceRequest]
) -> list[tuple[Invoice, bool]]:
    """Find or create many invoices, all or nothing: ``(invoice, created)`` per request,
    in order; each is numbered from the firm's sequence, taken to the stage its
    ``release`` asks (finalised ones posted, and paid from trust when asked: a client's
    trust never below zero on any date, counting the invoices before it in the batch).

    An ``external_ref`` the firm already has: the same invoice (file, paid from trust or
    not, lines) is returned as it is now and nothing is written; a different one is
    refused :class:`ExternalRefConflict` naming the invoice. A refusal is the one the
    request would get alone, with ``details["index"]`` naming the request (0-based);
    nothing is written."""
    try:
        return _invoices_create(firm, actor, requests)
    except ItemRefused as refused:
        refused.error.details.setdefault("index", refused.index)
        raise refused.error from None


@transaction.atomic
def invoice_create(
    *,
    firm: Firm,
    actor: User | None,
    file_id: int,
    lines: list[LineSpec],
    invoice_date: dt.date | None = None,
    description: str = "",
    pay_from_trust: bool = False,
    trust_bank_account_id: int | None = None,
    operating_bank_account_id: int | None = None,
    external_ref: str | None = None,
) -> Invoice:
    """A draft invoice with its lines, numbered from the firm's sequence: a batch of one
    (:func:`invoices_create`). An ``external_ref`` the firm already has gives that
    invoice if it is the same one, else is refused :class:`ExternalRefConflict`
    (``details.invoice_id``)."""
    request = InvoiceRequest(
        file_id=file_id,
        lines=lines,
        invoice_date=invoice_date,
        description=description,
        pay_from_trust=pay_from_trust,
        trust_bank_account_id=trust_bank_account_id,
        operating_bank_account_id=operating_bank_account_id,
        external_ref=external_ref,
    )
    try:
        [(invoice, _)] = _invoices_create(firm, actor, [request])
    except ItemRefused as refused:
        raise refused.error from None
    return invoice


def _locked(firm: Firm, invoice_id: int) -> Invoice:
    invoice = Invoice.objects.select_for_update().filter(firm=firm, pk=invoice_id).first()
    if invoice is None:
        raise ValidationFailed("invoice not found in this firm", field="invoice")
    return invoice


def _next_stage(firm: Firm, stage: str) -> str:
    if stage == InvoiceStage.DRAFT:
        return InvoiceStage.REVIEW
    if stage == InvoiceStage.REVIEW:
        release = Firm.objects.values_list("release_invoice_stage_enabled", flat=True).get(
            pk=firm.pk
        )
        return InvoiceStage.RELEASE if release else InvoiceStage.FINAL
    if stage == InvoiceStage.RELEASE:
        return InvoiceStage.FINAL
    raise Conflict(f"an invoice in stage {stage} cannot move on")


def _post(invoice: Invoice, actor: User | None, on: dt.date) -> None:
    firm = invoice.firm
    credits: dict[GLAccount, int] = defaultdict(int)
    for ln in invoice.lines.select_related("activity_code__gl_account"):
        if ln.kind == LineKind.FEE:
            acct = role_account(firm, AccountRole.FEE_INCOME)
        else:
            assert ln.activity_code is not None
            acct = ln.activity_code.gl_account
        credits[acct] += ln.amount_cents
    file = invoice.file
    invoice.entry = journal_entry_post(
        firm=firm,
        date=on,
        lines=_posting_lines(
            firm,
            file,
            credits,
            pay_from_trust=invoice.pay_from_trust,
            trust=invoice.trust_bank_account,
            operating=invoice.operating_bank_account,
            receivable=lambda: role_account(firm, AccountRole.ACCOUNTS_RECEIVABLE),
        ),
        actor=actor,
        source="invoice",
        memo=f"Invoice {invoice.number} for file {file.number}"
        + (" paid from trust" if invoice.pay_from_trust else ""),
    )
    invoice.finalised_on = on


@transaction.atomic
def invoice_advance(
    *,
    firm: Firm,
    actor: User | None,
    invoice_id: int,
    expected_stage: str | None = None,
    on: dt.date | None = None,
) -> Invoice:
    """Move an invoice one stage on (submit for review, approve, release). Reaching final
    posts it. ``expected_stage`` guards against two people acting on a stale screen."""
    invoice = _locked(firm, invoice_id)
    if expected_stage is not None and invoice.stage != expected_stage:
        raise Conflict(
            f"invoice {invoice.number} is now in stage {invoice.stage}, not {expected_stage}"
        )
    before = invoice.stage
    invoice.stage = _next_stage(firm, before)
    fields = ["stage"]
    if invoice.stage == InvoiceStage.FINAL:
        if on is not None:
            date_in_window(firm, on, field="on")
        _post(invoice, actor, on or clock.today())
        fields += ["entry", "finalised_on"]
    invoice.save(update_fields=fields)
    _audit(
        invoice,
        actor,
        "change",
        f"Invoice {invoice.number} moved from {before} to {invoice.stage}",
        {"stage": before},
        {"stage": invoice.stage},
    )
    return invoice


@transaction.atomic
def invoice_finalise(
    *, firm: Firm, actor: User | None, invoice_id: int, on: dt.date | None = None
) -> Invoice:
    """Take an invoice through every remaining stage to final ("released automatically")."""
    if on is not None:
        date_in_window(firm, on, field="on")
    invoice = _locked(firm, invoice_id)
    while invoice.stage != InvoiceStage.FINAL:
        invoice = invoice_advance(firm=firm, actor=actor, invoice_id=invoice.pk, on=on)
    return invoice


@transaction.atomic
def invoice_void(
    *,
    firm: Firm,
    actor: User | None,
    invoice_id: int,
    void_date: dt.date | None = None,
    reason: str = "",
) -> Invoice:
    """Void an invoice; a final one is reversed on the void date (money goes back to trust).
    A correction: the accountant role or above (403 ``role_required``)."""
    require_role(actor, CORRECTIONS, doing="Voiding an invoice")
    invoice = _locked(firm, invoice_id)
    if invoice.stage == InvoiceStage.VOIDED:
        raise Conflict(f"invoice {invoice.number} is already void")
    if void_date is not None:
        date_in_window(firm, void_date, field="void_date")
    before = invoice.stage
    fields = ["stage"]
    if invoice.entry_id is not None:
        assert invoice.entry is not None
        date = void_date or clock.today()
        invoice.void_entry = journal_entry_reverse(
            document_void=True,
            firm=firm,
            entry=invoice.entry,
            date=date,
            actor=actor,
            memo=f"Void of invoice {invoice.number}" + (f": {reason}" if reason else ""),
        )
        fields.append("void_entry")
    invoice.stage = InvoiceStage.VOIDED
    invoice.save(update_fields=fields)
    _audit(
        invoice,
        actor,
        "void",
        f"Invoice {invoice.number} voided",
        {"stage": before},
        {"stage": "voided", "reason": reason},
    )
    return invoice


@transaction.atomic
def invoice_line_codes_set(
    *,
    firm: Firm,
    actor: User | None,
    invoice_id: int,
    line_id: int,
    utbms_task_code: str = "",
    utbms_activity_code: str = "",
    utbms_expense_code: str = "",
) -> InvoiceLine:
    """Invoice -> a line's UTBMS codes (ADR 0054): the fee line's task and activity code or
    the cost line's expense code, each empty for the default (a fee: the firm's LEDES fee
    codes; a cost: its activity code's UTBMS code). A whole replacement, on an invoice in
    any stage but voided: the codes are what its LEDES file says of the work, never what
    it posted (an e-billing system that rejects a code is answered by the invoice with the
    code corrected). Refused naming the line and the field; nothing written."""
    invoice = _locked(firm, invoice_id)
    lines = list(invoice.lines.order_by("line_date", "pk"))
    found = next(((n, ln) for n, ln in enumerate(lines, 1) if ln.pk == line_id), None)
    if found is None:
        raise ValidationFailed(f"invoice {invoice.number} has no line {line_id}", field="line")
    n, line = found
    where = f"Invoice {invoice.number}, line {n} ({line.description[:40]})"
    if invoice.stage == InvoiceStage.VOIDED:
        raise Conflict(f"{where}: the invoice is void; its lines' codes no longer change")
    task, activity, expense = line_codes(
        line.kind,
        task=utbms_task_code,
        activity=utbms_activity_code,
        expense=utbms_expense_code,
        where=where,
    )
    before = {
        "utbms_task_code": line.utbms_task_code,
        "utbms_activity_code": line.utbms_activity_code,
        "utbms_expense_code": line.utbms_expense_code,
    }
    after = {
        "utbms_task_code": task,
        "utbms_activity_code": activity,
        "utbms_expense_code": expense,
    }
    if after == before:
        return line
    for name, value in after.items():
        setattr(line, name, value)
    line.save(update_fields=list(after))
    shown = " / ".join(v for v in after.values() if v) or "the defaults"
    _audit(
        invoice,
        actor,
        "change",
        f"{where}: billed under {shown}",
        {"line": line.pk, **before},
        {"line": line.pk, **after},
    )
    return line
