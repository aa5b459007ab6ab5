"""Checks and trust receipts: the bank side of costs and settlements.

A check request posts immediately (Dr the activity code's account or the client's trust
liability, Cr the bank), so a queued trust check already holds the client's money and two
requests can never spend the same dollars. Printing assigns the number (one check, or a
batch of one bank account's checks numbered in one transaction); a spoiled check is
printed again under the next number, its first number kept as spoiled, the payment and
its entry unchanged; voiding posts a reversal dated on the void date. A trust receipt
posts Dr trust bank, Cr the client's trust liability.

Check requests and trust receipts are found or created many at once
(``check_requests_find_or_create``, ``trust_receipts_find_or_record``, the API's batches):
the same rules and refusals as one by one, a handful of queries per batch, every entry
posted by one call into the journal's batch path, the documents and their audit rows
inserted together. A single request is a batch of one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import IntegrityError, transaction

from casebridge.books.audit import books_audit, books_audit_many
from casebridge.books.errors import (
    Conflict,
    DomainError,
    ExternalRefConflict,
    PeriodClosed,
    ValidationFailed,
)
from casebridge.books.models import (
    AccountRole,
    AchPayment,
    ActivityCode,
    BankAccount,
    BankAccountKind,
    Check,
    CheckStatus,
    ClearedItem,
    File,
    Firm,
    GLAccount,
    Invoice,
    ReceiptStatus,
    SpoiledCheckNumber,
    TrustReceipt,
    User,
)
from casebridge.books.roles import CORRECTIONS, require_role
from casebridge.books.selectors.checks import (
    MAX_CHECK_NUMBER,
    MAX_CHECKS_PER_PDF,
    check_number_taken,
    next_free_check_numbers,
)
from casebridge.books.services.dates import date_in_window, window_for
from casebridge.books.services.journal import (
    EntrySpec,
    Line,
    TrustByDate,
    journal_entries_post_batch,
    journal_entry_reverse,
    journal_entry_validate,
    ledger_rows_lock,
    trust_moves,
)
from casebridge.books.services.periods import check_open
from casebridge.core import clock
from casebridge.core.db import insert_rows, inserted_instances, update_rows
from casebridge.core.money import format_cents
from casebridge.core.text import plain_line


def _audit(
    firm: Firm,
    actor: User | None,
    action: str,
    entity: str,
    obj_id: int,
    summary: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    books_audit(
        firm_id=firm.pk,
        action=action,
        entity_type=entity,
        entity_id=obj_id,
        actor=actor,
        summary=summary,
        before=before,
        after=after,
    )


def _bank(firm: Firm, bank_account_id: int) -> BankAccount:
    bank = (
        BankAccount.objects.select_related("gl_account", "trust_liability_account")
        .filter(firm=firm, pk=bank_account_id, is_active=True)
        .first()
    )
    if bank is None:
        raise ValidationFailed("bank account not found in this firm", field="bank_account")
    return bank


def _file(firm: Firm, file_id: int | None, *, required: bool) -> File | None:
    if file_id is None:
        if required:
            raise ValidationFailed("a file is required", field="file")
        return None
    file = File.objects.filter(firm=firm, pk=file_id).first()
    if file is None:
        raise ValidationFailed("file not found in this firm", field="file")
    return file


def _positive(amount_cents: int, field: str = "amount") -> None:
    if amount_cents <= 0:
        raise ValidationFailed(f"{field} must be greater than zero", field=field)


def _external_ref(external_ref: str | None) -> str | None:
    return (external_ref or "").strip()[:120] or None


def _differences(found: dict[str, object], wanted: dict[str, object]) -> list[str]:
    return [name for name, value in wanted.items() if found[name] != value]


def _same_check(found: Check, external_ref: str, request: CheckRequest, payee: str) -> Check:
    """``found`` (the firm's check with this ``external_ref``) if ``request`` is the same
    request; refused (:class:`ExternalRefConflict`) if it differs."""
    differing = _differences(
        {
            "bank_account_id": found.bank_account_id,
            "payee": found.payee,
            "amount": found.amount_cents,
            "file_id": found.file_id,
            "activity_code_id": found.activity_code_id,
        },
        {
            "bank_account_id": request.bank_account_id,
            "payee": payee[:200],
            "amount": request.amount_cents,
            "file_id": request.file_id,
            "activity_code_id": request.activity_code_id,
        },
    )
    if differing:
        raise ExternalRefConflict(
            f"external_ref {external_ref!r} is already check {found.pk} (to {found.payee} "
            f"for {format_cents(found.amount_cents)}), which differs in "
            f"{', '.join(differing)}; a new check needs a new external_ref",
            field="external_ref",
            check_id=found.pk,
            differing=differing,
        )
    return found


def _raced(noun: str, external_ref: str) -> Conflict:
    """A concurrent request created the record with this external_ref first (caught by
    the unique constraint): retrying finds it."""
    return Conflict(
        f"another request created the {noun} with external_ref {external_ref!r} at the same "
        "time; nothing was written: retry, and the one already created is returned",
        field="external_ref",
        retryable=True,
    )


class ItemRefused(Exception):
    """The refusal of one request of a batch, and its place in the batch."""

    def __init__(self, index: int, error: DomainError) -> None:
        super().__init__(error.message)
        self.index = index
        self.error = error


M = TypeVar("M", Check, TrustReceipt, Invoice)


def insert_documents(
    model: type[M],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    firm: Firm,
    actor: User | None,
    refs: Sequence[tuple[int, str | None]],
) -> list[M]:
    """Insert a batch's new documents (checks, receipts, invoices) set-based
    (:func:`casebridge.core.db.insert_rows`) and return them as instances. ``refs`` are
    each row's request (its place in the batch) and external_ref: if a concurrent request
    committed one of them first (the unique constraint), that request is refused
    :func:`_raced` and nothing is written; any other integrity error is raised as it is."""
    try:
        with transaction.atomic():
            ids = insert_rows(model, fields, rows)
    except IntegrityError:
        wanted = {ref for _, ref in refs if ref is not None}
        raced = set(
            model._default_manager.filter(firm=firm, external_ref__in=wanted).values_list(
                "external_ref", flat=True
            )
        )
        for i, ref in refs:
            if ref is not None and ref in raced:
                raise ItemRefused(i, _raced(str(model._meta.verbose_name), ref)) from None
        raise
    return inserted_instances(model, fields, rows, ids, related={"firm": firm, "created_by": actor})


@dataclass(frozen=True)
class CheckRequest:
    """One check request, as :func:`check_request_find_or_create` takes it."""

    bank_account_id: int
    payee: str
    amount_cents: int
    file_id: int | None = None
    activity_code_id: int | None = None
    memo: str = ""
    posting_reference: str = ""
    request_date: dt.date | None = None
    external_ref: str | None = None


def _checks_by_ref(firm: Firm, refs: Iterable[str]) -> dict[str, Check]:
    """The firm's checks with these external_refs, by external_ref (one query)."""
    wanted = set(refs)
    if not wanted:
        return {}
    return {
        c.external_ref: c
        for c in Check.objects.filter(firm=firm, external_ref__in=wanted)
        if c.external_ref is not None
    }


def _file_of(files: dict[int, File], file_id: int | None, *, required: bool) -> File | None:
    if file_id is None:
        if required:
            raise ValidationFailed("a file is required", field="file")
        return None
    file = files.get(file_id)
    if file is None:
        raise ValidationFailed("file not found in this firm", field="file")
    return file


#: the columns a trust receipt writes; the others take their defaults (status Posted)
_RECEIPT_FIELDS = (
    "firm",
    "bank_account",
    "file",
    "payer",
    "amount_cents",
    "received_on",
    "reference",
    "memo",
    "external_ref",
    "entry",
    "created_by",
    "created_at",
)

#: the columns a check request writes; the others take their defaults (status Requested)
_CHECK_FIELDS = (
    "firm",
    "bank_account",
    "file",
    "payee",
    "amount_cents",
    "activity_code",
    "memo",
    "posting_reference",
    "external_ref",
    "request_date",
    "entry",
    "created_by",
    "created_at",
)


def _checks_find_or_create(
    firm: Firm, actor: User | None, requests: Sequence[CheckRequest]
) -> list[tuple[Check, bool]]:
    """Find or create every request's check, all or nothing; a refusal is
    :class:`ItemRefused` naming the request. One query each for the checks known by
    external_ref, the bank accounts, the activity codes and the files; the rows posted to
    are locked up front in the global order; every entry is posted by one call into the
    journal's batch path and the checks are inserted together."""
    refs = [_external_ref(r.external_ref) for r in requests]
    first: dict[str, int] = {}
    for i, ref in enumerate(refs):
        if ref is None:
            continue
        if ref in first:
            raise ItemRefused(
                i,
                ValidationFailed(
                    f"external_ref {ref!r} repeats that of request {first[ref]}; each check "
                    "in a batch needs its own",
                    field="external_ref",
                ),
            )
        first[ref] = i
    known = _checks_by_ref(firm, first.keys())
    to_create = [r for r, ref in zip(requests, refs, strict=True) if ref not in known]
    # Every date given is in the firm's window (ADR 0007), checked before anything is
    # locked or written; a request found again by its external_ref is returned as it is.
    if any(r.request_date is not None for r in to_create):
        window = window_for(firm)
        for i, (request, ref) in enumerate(zip(requests, refs, strict=True)):
            if request.request_date is None or ref in known:
                continue
            try:
                window.check(request.request_date, field="request_date")
            except DomainError as exc:
                raise ItemRefused(i, exc) from None
    banks = (
        BankAccount.objects.select_related("gl_account", "trust_liability_account")
        .filter(firm=firm, is_active=True)
        .in_bulk({r.bank_account_id for r in to_create})
    )
    codes = (
        ActivityCode.objects.select_related("gl_account")
        .filter(firm=firm, is_active=True)
        .in_bulk({r.activity_code_id for r in to_create if r.activity_code_id is not None})
    )
    files = File.objects.filter(firm=firm).in_bulk(
        {r.file_id for r in to_create if r.file_id is not None}
    )

    # Lock every row the batch will post to, in the global order (trust ledgers by id,
    # then GL accounts by id), and read the clients' trust balances under the lock, from
    # the earliest date a trust check of the batch is dated on.
    today = clock.today()
    accounts: set[int] = set()
    draws: dict[tuple[int, int], dt.date] = {}
    for r in to_create:
        bank = banks.get(r.bank_account_id)
        if bank is None:
            continue  # refused with its own message in its turn
        accounts.add(bank.gl_account_id)
        if bank.trust_liability_account_id is not None:
            accounts.add(bank.trust_liability_account_id)
            if r.file_id is not None and r.file_id in files:
                key, on = (r.file_id, bank.pk), r.request_date or today
                draws[key] = min(on, draws.get(key, on))
        elif r.activity_code_id in codes:
            accounts.add(codes[r.activity_code_id].gl_account_id)
    ledgers = ledger_rows_lock(firm=firm, account_ids=accounts, trust_pairs=set(draws))
    by_date = TrustByDate(ledgers, draws)
    bank_by_liability = {
        b.trust_liability_account_id: b.pk
        for b in banks.values()
        if b.trust_liability_account_id is not None
    }

    # Each request in order, refused as it would be alone, its trust check seeing the
    # requests before it.
    found: dict[int, Check] = {}
    new: list[tuple[int, CheckRequest, str, BankAccount, File | None, ActivityCode | None]] = []
    specs: list[EntrySpec] = []
    for i, (request, ref) in enumerate(zip(requests, refs, strict=True)):
        try:
            payee = plain_line(request.payee.strip(), field="payee")
            if not payee:
                raise ValidationFailed("payee is required", field="payee")
            plain_line(request.memo, field="memo")
            _positive(request.amount_cents)
            if ref is not None and ref in known:
                found[i] = _same_check(known[ref], ref, request, payee)
                continue
            bank = banks.get(request.bank_account_id)
            if bank is None:
                raise ValidationFailed("bank account not found in this firm", field="bank_account")
            activity = None
            if request.activity_code_id is not None:
                activity = codes.get(request.activity_code_id)
                if activity is None:
                    raise ValidationFailed(
                        "activity code not found in this firm", field="activity_code"
                    )
            amount = request.amount_cents
            if bank.kind == BankAccountKind.TRUST:
                file = _file_of(files, request.file_id, required=True)
                assert bank.trust_liability_account is not None  # guaranteed by a CHECK
                debit = Line(
                    account=bank.trust_liability_account, debit_cents=amount, file=file, memo=payee
                )
            else:
                file = _file_of(files, request.file_id, required=False)
                if activity is None:
                    raise ValidationFailed(
                        "an activity code is required for an operating check",
                        field="activity_code",
                    )
                debit = Line(account=activity.gl_account, debit_cents=amount, file=file, memo=payee)
            credit = Line(account=bank.gl_account, credit_cents=amount, file=file, memo=payee)
            spec = EntrySpec(
                date=request.request_date or today,
                lines=[debit, credit],
                memo=f"Check to {payee}" + (f": {request.memo}" if request.memo else ""),
                posting_reference=request.posting_reference,
                source="check",
            )
            journal_entry_validate(firm, spec)
            by_date.apply(spec.date, trust_moves(spec, bank_by_liability))
        except DomainError as exc:
            raise ItemRefused(i, exc) from None
        new.append((i, request, payee, bank, file, activity))
        specs.append(spec)

    created: list[Check] = []
    if specs:
        posted = journal_entries_post_batch(firm=firm, entries=specs, actor=actor, ledgers=ledgers)
        now = clock.now()
        actor_id = actor.pk if actor else None
        rows = [
            (
                firm.pk,
                bank.pk,
                file.pk if file else None,
                payee[:200],
                request.amount_cents,
                activity.pk if activity else None,
                request.memo.strip()[:255],
                request.posting_reference[:60],
                refs[i],
                spec.date,
                entry.pk,
                actor_id,
                now,
            )
            for (i, request, payee, bank, file, activity), spec, (entry, _) in zip(
                new, specs, posted, strict=True
            )
        ]
        created = insert_documents(
            Check, _CHECK_FIELDS, rows, firm, actor, [(i, refs[i]) for i, *_ in new]
        )
        books_audit_many(
            firm_id=firm.pk,
            actor=actor,
            events=[
                {
                    "action": "create",
                    "entity_type": "check",
                    "entity_id": check.pk,
                    "summary": f"Check request to {payee} for "
                    f"{format_cents(request.amount_cents)} from {bank.name}",
                    "after": {
                        "payee": payee,
                        "amount_cents": request.amount_cents,
                        "bank_account": bank.name,
                        "file": file.number if file else None,
                        "memo": request.memo,
                        **({"external_ref": refs[i]} if refs[i] else {}),
                    },
                }
                for check, (i, request, payee, bank, file, _) in zip(created, new, strict=True)
            ],
        )
    made = iter(created)
    return [(found[i], False) if i in found else (next(made), True) for i in range(len(requests))]


@transaction.atomic
def check_requests_find_or_create(
    *, firm: Firm, actor: User | None, requests: Sequence[CheckRequest]
) -> list[tuple[Check, bool]]:
    """Find or create many checks, all or nothing: ``(check, created)`` per request, in
    order, each exactly as :func:`check_request_find_or_create` would give it (the same
    refusals, the same entries and audit), and a trust check's overdraw counts the
    requests before it in the batch.

    A refusal is the one the request would get alone, with ``details["index"]`` naming
    the request (0-based); nothing is written. Two requests with the same
    ``external_ref`` are refused (:class:`ValidationFailed`, the later one)."""
    try:
        return _checks_find_or_create(firm, actor, requests)
    except ItemRefused as refused:
        refused.error.details.setdefault("index", refused.index)
        raise refused.error from None


@transaction.atomic
def check_request_find_or_create(
    *,
    firm: Firm,
    actor: User | None,
    bank_account_id: int,
    payee: str,
    amount_cents: int,
    file_id: int | None,
    activity_code_id: int | None = None,
    memo: str = "",
    posting_reference: str = "",
    request_date: dt.date | None = None,
    external_ref: str | None = None,
) -> tuple[Check, bool]:
    """Queue a check for printing and post it: ``(check, True)``.

    Operating: Dr the activity code's GL account (e.g. Advanced Client Costs), Cr operating.
    Trust: Dr client trust liability for the file, Cr trust bank; refused when the file's
    trust would go below zero on the check's date or any later one (:class:`TrustOverdraw`,
    with the amount available: the lowest running balance from that date on; ADR 0011).

    With an ``external_ref`` the firm already has a check for, nothing is posted: the same
    request (bank account, payee, amount, file, activity code) gives ``(that check,
    False)``, whatever its status now; a different one is refused
    :class:`ExternalRefConflict` naming the check. Two requests racing with a new
    ``external_ref``: the loser is refused :class:`Conflict` (retryable) and writes nothing.
    """
    request = CheckRequest(
        bank_account_id=bank_account_id,
        payee=payee,
        amount_cents=amount_cents,
        file_id=file_id,
        activity_code_id=activity_code_id,
        memo=memo,
        posting_reference=posting_reference,
        request_date=request_date,
        external_ref=external_ref,
    )
    try:
        [result] = _checks_find_or_create(firm, actor, [request])
    except ItemRefused as refused:
        raise refused.error from None
    return result


def check_request_create(
    *,
    firm: Firm,
    actor: User | None,
    bank_account_id: int,
    payee: str,
    amount_cents: int,
    file_id: int | None,
    activity_code_id: int | None = None,
    memo: str = "",
    posting_reference: str = "",
    request_date: dt.date | None = None,
    external_ref: str | None = None,
) -> Check:
    """:func:`check_request_find_or_create` for a caller that does not need to know
    whether the check was created now or found by its ``external_ref``."""
    check, _ = check_request_find_or_create(
        firm=firm,
        actor=actor,
        bank_account_id=bank_account_id,
        payee=payee,
        amount_cents=amount_cents,
        file_id=file_id,
        activity_code_id=activity_code_id,
        memo=memo,
        posting_reference=posting_reference,
        request_date=request_date,
        external_ref=external_ref,
    )
    return check


def _paid_by_ach(check_ids: Iterable[int]) -> set[int]:
    """Which of these checks are paid by ACH (never printed: ADR 0046)."""
    return set(
        AchPayment.objects.filter(disbursement_id__in=list(check_ids)).values_list(
            "disbursement_id", flat=True
        )
    )


def _print_refusal(check: Check, day: dt.date, *, ach: bool = False) -> DomainError | None:
    """Why ``check`` cannot be printed on ``day``, or None (``ach``: paid by ACH)."""
    if ach:
        return Conflict(f"check {check.pk} is paid by ACH: it is never printed")
    if check.status != CheckStatus.QUEUED:
        return Conflict(f"check {check.pk} is {check.status}, not queued for printing")
    if day < check.request_date:
        return ValidationFailed(
            f"printed_on {day} is before check {check.pk}'s date {check.request_date}: a "
            "check is not printed before the day it is dated",
            field="printed_on",
        )
    return None


def _mark_printed(
    firm: Firm,
    actor: User | None,
    bank: BankAccount,
    numbered: Sequence[tuple[Check, int]],
    day: dt.date,
) -> None:
    """Give each check its number, printed on ``day``; move the bank account's next
    number past the highest; audit each print. The caller holds the checks' rows and the
    bank account's counter (in that order, ADR 0012) and has checked every number free."""
    _refuse_past_last_number(max(number for _, number in numbered))
    for check, number in numbered:
        check.status = CheckStatus.PRINTED
        check.check_number = number
        check.printed_on = day
    update_rows(  # not bulk_update: its CASE per field per row grows as the square
        Check,
        [("status", "varchar"), ("check_number", "bigint"), ("printed_on", "date")],
        [(check.pk, CheckStatus.PRINTED.value, number, day) for check, number in numbered],
    )
    highest = max(number for _, number in numbered)
    if highest >= bank.next_check_number:
        bank.next_check_number = highest + 1
        bank.save(update_fields=["next_check_number"])
    books_audit_many(
        firm_id=firm.pk,
        actor=actor,
        events=[
            {
                "action": "print",
                "entity_type": "check",
                "entity_id": check.pk,
                "summary": f"Check {number} printed to {check.payee}",
                "before": {"status": "queued"},
                "after": {"status": "printed", "check_number": number},
            }
            for check, number in numbered
        ],
    )


@transaction.atomic
def checks_print_batch(
    *,
    firm: Firm,
    actor: User | None,
    check_ids: Sequence[int],
    bank_account_id: int,
    printed_on: dt.date | None = None,
) -> list[Check]:
    """Print a batch of queued checks of one bank account: in one transaction each gets
    its number, from the bank account's next number on, in the order of ``check_ids``
    (consecutive, skipping only a number already used: on a check, or spoiled), printed on
    ``printed_on`` (default today), audited each as :func:`check_print` does. Returns the
    checks in that order.

    All or nothing: refused, writing nothing, if a check is not the firm's
    (:class:`ValidationFailed`), is drawn on another bank account (:class:`ValidationFailed`),
    is not queued (:class:`Conflict`), or is dated after ``printed_on``
    (:class:`ValidationFailed` on ``printed_on``); ``details["index"]`` names the check's
    place in ``check_ids``. ``printed_on`` must be in the firm's date window (ADR 0007).

    Locks (ADR 0012): the checks' rows in id order, then the bank account's counter FOR
    NO KEY UPDATE, as a single print does."""
    ids = list(check_ids)
    if not ids:
        raise ValidationFailed("choose at least one check to print", field="check_ids")
    if len(ids) > MAX_CHECKS_PER_PDF:
        raise ValidationFailed(
            f"at most {MAX_CHECKS_PER_PDF} checks in one batch, not {len(ids)}", field="check_ids"
        )
    first: dict[int, int] = {}
    for i, pk in enumerate(ids):
        if pk in first:
            raise ValidationFailed(
                f"check {pk} is named twice (at {first[pk]} and {i})", field="check_ids", index=i
            )
        first[pk] = i
    if printed_on is not None:
        date_in_window(firm, printed_on, field="printed_on")
    day = printed_on or clock.today()
    bank = BankAccount.objects.filter(firm=firm, pk=bank_account_id).first()
    if bank is None:
        raise ValidationFailed("bank account not found in this firm", field="bank_account")

    locked = {
        c.pk: c
        for c in Check.objects.select_for_update().filter(firm=firm, pk__in=ids).order_by("pk")
    }
    ach = _paid_by_ach(locked)
    batch: list[Check] = []
    for i, pk in enumerate(ids):
        check = locked.get(pk)
        if check is None:
            raise ValidationFailed(f"check {pk} not found in this firm", field="check_ids", index=i)
        if check.bank_account_id != bank.pk:
            other = BankAccount.objects.get(pk=check.bank_account_id).name
            raise ValidationFailed(
                f"check {pk} is drawn on {other}, not {bank.name}: a batch is printed from "
                "one bank account",
                field="check_ids",
                index=i,
            )
        refusal = _print_refusal(check, day, ach=pk in ach)
        if refusal is not None:
            if refusal.field is None:
                refusal.field = "check_ids"
            refusal.details["index"] = i
            raise refusal
        batch.append(check)

    # The bank account's counter (ADR 0012): FOR NO KEY UPDATE, so trust ledgers, checks
    # and invoices naming the account still pass their foreign-key checks meanwhile.
    bank = BankAccount.objects.select_for_update(no_key=True).get(pk=bank.pk)
    numbers = next_free_check_numbers(bank, len(batch))
    _mark_printed(firm, actor, bank, list(zip(batch, numbers, strict=True)), day)
    return batch


@transaction.atomic
def check_print(
    *,
    firm: Firm,
    actor: User | None,
    check_id: int,
    check_number: int | None = None,
    printed_on: dt.date | None = None,
) -> Check:
    """Mark a queued check printed with its number (the bank account's next number when
    none is given: a batch of one, :func:`checks_print_batch`). Numbers are unique per
    bank account, spoiled ones included; a check is not printed before its date."""
    if printed_on is not None:
        date_in_window(firm, printed_on, field="printed_on")
    check = Check.objects.select_for_update().filter(firm=firm, pk=check_id).first()
    if check is None:
        raise ValidationFailed("check not found in this firm", field="check")
    refusal = _print_refusal(check, printed_on or clock.today(), ach=bool(_paid_by_ach([check.pk])))
    if refusal is not None:
        raise refusal
    if check_number is None:
        [printed] = checks_print_batch(
            firm=firm,
            actor=actor,
            check_ids=[check.pk],
            bank_account_id=check.bank_account_id,
            printed_on=printed_on,
        )
        return printed
    if check_number <= 0:
        raise ValidationFailed("check number must be positive", field="check_number")
    # The bank account's counter (ADR 0012), as in checks_print_batch.
    bank = BankAccount.objects.select_for_update(no_key=True).get(pk=check.bank_account_id)
    if check_number_taken(bank, check_number):
        raise ValidationFailed(
            f"check number {check_number} is already used on {bank.name}", field="check_number"
        )
    _mark_printed(firm, actor, bank, [(check, check_number)], printed_on or clock.today())
    return check


@transaction.atomic
def check_reprint(
    *,
    firm: Firm,
    actor: User | None,
    check_id: int,
    reason: str,
    printed_on: dt.date | None = None,
) -> Check:
    """Print a printed check again because its paper was spoiled (jammed, misprinted,
    torn): the number it carried is voided as spoiled (a :class:`SpoiledCheckNumber` with
    the reason, never used again on that bank account) and the same check gets the bank
    account's next number, printed on ``printed_on`` (default today; not before it was
    first printed). Audited (``reprint``: the spoiled number, the reason, the new number).

    The payment is the same: the check keeps its journal entry, so nothing is posted or
    reversed and no balance moves. Only a printed check is reprinted (:class:`Conflict`);
    a reason is required. Locks as a print does: the check, then the bank account's
    counter (ADR 0012)."""
    reason = plain_line(reason.strip(), field="reason")
    if not reason:
        raise ValidationFailed("a reason is required: what happened to the paper", field="reason")
    if printed_on is not None:
        date_in_window(firm, printed_on, field="printed_on")
    day = printed_on or clock.today()
    check = Check.objects.select_for_update().filter(firm=firm, pk=check_id).first()
    if check is None:
        raise ValidationFailed("check not found in this firm", field="check")
    if check.status != CheckStatus.PRINTED:
        raise Conflict(f"check {check.pk} is {check.status}: only a printed check can be reprinted")
    _refuse_if_cleared(check, "reprinted")
    spoiled, first_printed = check.check_number, check.printed_on
    assert spoiled is not None  # printed (a CHECK)
    assert first_printed is not None
    if day < first_printed:
        raise ValidationFailed(
            f"printed_on {day} is before check {spoiled} was first printed ({first_printed})",
            field="printed_on",
        )
    bank = BankAccount.objects.select_for_update(no_key=True).get(pk=check.bank_account_id)
    SpoiledCheckNumber.objects.create(
        firm=firm,
        bank_account=bank,
        number=spoiled,
        reprinted_check=check,
        reason=reason[:255],
        printed_on=first_printed,
        spoiled_on=day,
        spoiled_by=actor,
        spoiled_at=clock.now(),
    )
    [number] = next_free_check_numbers(bank, 1)
    check.check_number = number
    check.printed_on = day
    check.save(update_fields=["check_number", "printed_on"])
    _refuse_past_last_number(number)
    if number >= bank.next_check_number:
        bank.next_check_number = number + 1
        bank.save(update_fields=["next_check_number"])
    _audit(
        firm,
        actor,
        "reprint",
        "check",
        check.pk,
        f"Check {spoiled} to {check.payee} spoiled ({reason}); printed again as check {number}",
        {"check_number": spoiled, "printed_on": first_printed},
        {"check_number": number, "printed_on": day, "spoiled_number": spoiled, "reason": reason},
    )
    return check


def _refuse_past_last_number(number: int) -> None:
    if number > MAX_CHECK_NUMBER:
        raise ValidationFailed(
            f"check number {number} is past the last the books can hold "
            f"({MAX_CHECK_NUMBER:,}); start the bank account's numbers lower",
            field="check_number",
        )


def _refuse_if_cleared(check: Check, what: str) -> None:
    """A check the bank has paid (a statement line cleared it) is not voided or reprinted:
    the money has left. Unmatch the line first if the match was wrong."""
    cleared_on = (
        ClearedItem.objects.filter(entry_id=check.entry_id, bank_account_id=check.bank_account_id)
        .values_list("cleared_on", flat=True)
        .first()
    )
    if cleared_on is not None:
        raise Conflict(
            f"check {check.check_number or check.pk} cleared the bank on "
            f"{cleared_on.isoformat()}: the money has left, so it cannot be {what}; if the "
            "statement line was matched to it by mistake, unmatch it first",
            cleared_on=cleared_on.isoformat(),
        )


@transaction.atomic
def check_void(
    *,
    firm: Firm,
    actor: User | None,
    check_id: int,
    void_date: dt.date | None = None,
    reason: str = "",
) -> Check:
    """Void a queued or printed check: a reversal dated on the void date puts the money back.
    A correction: the accountant role or above (403 ``role_required``)."""
    require_role(actor, CORRECTIONS, doing="Voiding a check")
    # of=self: the check's row only. The entry never changes (append-only), and locking
    # it would need UPDATE on books_journalentry, which the application's database role
    # does not have (scripts/db/roles.sql).
    check = (
        Check.objects.select_for_update(of=("self",))
        .select_related("entry")
        .filter(firm=firm, pk=check_id)
        .first()
    )
    if check is None:
        raise ValidationFailed("check not found in this firm", field="check")
    if AchPayment.objects.filter(disbursement_id=check.pk).exists():
        raise Conflict(
            f"check {check.pk} is paid by ACH: cancel it (queued) or record its return on "
            "ACH payments",
            field="check",
        )
    return check_void_locked(
        firm=firm, actor=actor, check=check, void_date=void_date, reason=reason
    )


def check_void_locked(
    *,
    firm: Firm,
    actor: User | None,
    check: Check,
    void_date: dt.date | None,
    reason: str,
    returned: bool = False,
) -> Check:
    """Void ``check``, whose row the caller holds (FOR UPDATE, with its entry selected):
    the reversal, the status and the audit of :func:`check_void`, without its role check
    and lookup. Also the ACH payments' cancel and return (services/ach.py). ``returned``:
    the bank returned the money (an ACH return), so a payment that cleared is reversed
    anyway, the reversal a new open item for the bank's return credit (ADR 0050)."""
    if check.status == CheckStatus.VOIDED:
        raise Conflict(f"check {check.pk} is already void")
    if not returned:
        _refuse_if_cleared(check, "voided")
    date = void_date or clock.today()
    if date < check.request_date:
        raise ValidationFailed("the void date cannot be before the check's date", field="void_date")
    if void_date is not None:
        date_in_window(firm, void_date, field="void_date")
    reversal = journal_entry_reverse(
        document_void=True,
        firm=firm,
        entry=check.entry,
        date=date,
        actor=actor,
        memo=f"Void of check {check.check_number or '(unprinted)'} to {check.payee}"
        + (f": {reason}" if reason else ""),
    )
    before = check.status
    check.status = CheckStatus.VOIDED
    check.voided_on = date
    check.void_reason = reason.strip()[:255]
    check.void_entry = reversal
    check.save(update_fields=["status", "voided_on", "void_reason", "void_entry"])
    _audit(
        firm,
        actor,
        "void",
        "check",
        check.pk,
        f"Check {check.check_number} voided"
        if check.check_number
        else f"Check to {check.payee} for {format_cents(check.amount_cents)} voided",
        {"status": before},
        {"status": "voided", "void_date": date, "reason": reason},
    )
    return check


@dataclass(frozen=True)
class ReceiptRequest:
    """One deposit, as :func:`trust_receipts_find_or_record` takes it."""

    bank_account_id: int
    file_id: int
    payer: str
    amount_cents: int
    received_on: dt.date | None = None
    reference: str = ""
    memo: str = ""
    external_ref: str | None = None


def _same_receipt(
    found: TrustReceipt, external_ref: str, request: ReceiptRequest, payer: str
) -> TrustReceipt:
    """``found`` (the firm's receipt with this ``external_ref``) if ``request`` is the same
    deposit (bank account, file, payer, amount); refused (:class:`ExternalRefConflict`)
    if it differs."""
    differing = _differences(
        {
            "bank_account_id": found.bank_account_id,
            "file_id": found.file_id,
            "payer": found.payer,
            "amount": found.amount_cents,
        },
        {
            "bank_account_id": request.bank_account_id,
            "file_id": request.file_id,
            "payer": payer[:200],
            "amount": request.amount_cents,
        },
    )
    if differing:
        raise ExternalRefConflict(
            f"external_ref {external_ref!r} is already trust receipt {found.pk} (from "
            f"{found.payer} for {format_cents(found.amount_cents)}), which differs in "
            f"{', '.join(differing)}; a new deposit needs a new external_ref",
            field="external_ref",
            receipt_id=found.pk,
            differing=differing,
        )
    return found


def _refuse_repeats(refs: Sequence[str | None], noun: str) -> None:
    first: dict[str, int] = {}
    for i, ref in enumerate(refs):
        if ref is None:
            continue
        if ref in first:
            raise ItemRefused(
                i,
                ValidationFailed(
                    f"external_ref {ref!r} repeats that of request {first[ref]}; each {noun} "
                    "in a batch needs its own",
                    field="external_ref",
                ),
            )
        first[ref] = i


def _period_refusal(firm: Firm, specs: Sequence[EntrySpec], at: Sequence[int]) -> None:
    """The journal refused the batch as dated in a closed period: refuse the first such
    entry as :func:`check_open` would alone, named by its request (``at[n]`` is the
    request of ``specs[n]``)."""
    for n, spec in enumerate(specs):
        try:
            check_open(firm, [spec], [{ln.account.pk for ln in spec.lines}], [""])
        except PeriodClosed as exc:
            raise ItemRefused(at[n], exc) from None


def _receipts_find_or_record(
    firm: Firm, actor: User | None, requests: Sequence[ReceiptRequest]
) -> list[tuple[TrustReceipt, bool]]:
    """Find or record every deposit, all or nothing; a refusal is :class:`ItemRefused`
    naming the request. One query each for the receipts known by external_ref, the bank
    accounts and the files; every entry is posted by one call into the journal's batch
    path, the receipts and their audit rows are inserted together."""
    refs = [_external_ref(r.external_ref) for r in requests]
    _refuse_repeats(refs, "deposit")
    wanted = {ref for ref in refs if ref is not None}
    known = (
        {
            r.external_ref: r
            for r in TrustReceipt.objects.filter(firm=firm, external_ref__in=wanted)
            if r.external_ref is not None
        }
        if wanted
        else {}
    )
    to_record = [r for r, ref in zip(requests, refs, strict=True) if ref not in known]
    banks = (
        BankAccount.objects.select_related("gl_account", "trust_liability_account")
        .filter(firm=firm, is_active=True)
        .in_bulk({r.bank_account_id for r in to_record})
    )
    files = File.objects.filter(firm=firm).in_bulk({r.file_id for r in to_record})
    window = window_for(firm) if any(r.received_on for r in to_record) else None
    today = clock.today()

    # Each request in order, refused as it would be alone.
    found: dict[int, TrustReceipt] = {}
    new: list[tuple[int, ReceiptRequest, str, BankAccount, File]] = []
    specs: list[EntrySpec] = []
    for i, (request, ref) in enumerate(zip(requests, refs, strict=True)):
        try:
            payer = plain_line(request.payer.strip(), field="payer")
            if not payer:
                raise ValidationFailed("payer is required", field="payer")
            plain_line(request.reference, field="reference")
            plain_line(request.memo, field="memo")
            _positive(request.amount_cents)
            if ref is not None and ref in known:
                found[i] = _same_receipt(known[ref], ref, request, payer)
                continue
            if window is not None and request.received_on is not None:
                window.check(request.received_on, field="received_on")
            bank = banks.get(request.bank_account_id)
            if bank is None:
                raise ValidationFailed("bank account not found in this firm", field="bank_account")
            if bank.kind != BankAccountKind.TRUST or bank.trust_liability_account is None:
                raise ValidationFailed(
                    f"{bank.name} is not a client trust account", field="bank_account"
                )
            file = _file_of(files, request.file_id, required=True)
            assert file is not None  # required=True
            amount = request.amount_cents
            spec = EntrySpec(
                date=request.received_on or today,
                lines=[
                    Line(account=bank.gl_account, debit_cents=amount, file=file, memo=payer),
                    Line(
                        account=bank.trust_liability_account,
                        credit_cents=amount,
                        file=file,
                        memo=payer,
                    ),
                ],
                memo=f"Trust deposit from {payer}"
                + (f" (check {request.reference})" if request.reference else ""),
                source="trust_receipt",
            )
            journal_entry_validate(firm, spec)
        except DomainError as exc:
            raise ItemRefused(i, exc) from None
        new.append((i, request, payer, bank, file))
        specs.append(spec)

    created: list[TrustReceipt] = []
    if specs:
        try:
            posted = journal_entries_post_batch(firm=firm, entries=specs, actor=actor)
        except PeriodClosed:
            _period_refusal(firm, specs, [i for i, *_ in new])
            raise
        except DomainError as exc:
            index = exc.details.pop("index", None)
            if isinstance(index, int):
                raise ItemRefused(new[index][0], exc) from None
            raise
        now = clock.now()
        actor_id = actor.pk if actor else None
        rows = [
            (
                firm.pk,
                bank.pk,
                file.pk,
                payer[:200],
                request.amount_cents,
                spec.date,
                request.reference.strip()[:60],
                request.memo.strip()[:255],
                refs[i],
                entry.pk,
                actor_id,
                now,
            )
            for (i, request, payer, bank, file), spec, (entry, _) in zip(
                new, specs, posted, strict=True
            )
        ]
        created = insert_documents(
            TrustReceipt, _RECEIPT_FIELDS, rows, firm, actor, [(i, refs[i]) for i, *_ in new]
        )
        books_audit_many(
            firm_id=firm.pk,
            actor=actor,
            events=[
                {
                    "action": "create",
                    "entity_type": "trust_receipt",
                    "entity_id": receipt.pk,
                    "summary": f"Trust deposit {format_cents(request.amount_cents)} from "
                    f"{payer} for file {file.number}",
                    "after": {
                        "payer": payer,
                        "amount_cents": request.amount_cents,
                        "file": file.number,
                        "reference": request.reference,
                        **({"external_ref": refs[i]} if refs[i] else {}),
                    },
                }
                for receipt, (i, request, payer, _, file) in zip(created, new, strict=True)
            ],
        )
    made = iter(created)
    return [(found[i], False) if i in found else (next(made), True) for i in range(len(requests))]


@transaction.atomic
def trust_receipts_find_or_record(
    *, firm: Firm, actor: User | None, requests: Sequence[ReceiptRequest]
) -> list[tuple[TrustReceipt, bool]]:
    """Find or record many deposits, all or nothing: ``(receipt, created)`` per request,
    in order, each exactly as :func:`trust_receipt_find_or_record` would give it (the same
    refusals, entries and audit). A refusal is the one the request would get alone, with
    ``details["index"]`` naming the request (0-based); nothing is written. Two requests
    with the same ``external_ref`` are refused (:class:`ValidationFailed`, the later one)."""
    try:
        return _receipts_find_or_record(firm, actor, requests)
    except ItemRefused as refused:
        refused.error.details.setdefault("index", refused.index)
        raise refused.error from None


@transaction.atomic
def trust_receipt_find_or_record(
    *,
    firm: Firm,
    actor: User | None,
    bank_account_id: int,
    file_id: int,
    payer: str,
    amount_cents: int,
    received_on: dt.date | None = None,
    reference: str = "",
    memo: str = "",
    external_ref: str | None = None,
) -> tuple[TrustReceipt, bool]:
    """Deposit into a client trust account for a file: Dr trust bank, Cr client trust;
    ``(receipt, True)``. With an ``external_ref`` the firm already has a receipt for, the
    same deposit (bank account, file, payer, amount) gives ``(that receipt, False)`` and
    posts nothing; a different one is refused :class:`ExternalRefConflict`. A batch of
    one (:func:`trust_receipts_find_or_record`)."""
    request = ReceiptRequest(
        bank_account_id=bank_account_id,
        file_id=file_id,
        payer=payer,
        amount_cents=amount_cents,
        received_on=received_on,
        reference=reference,
        memo=memo,
        external_ref=external_ref,
    )
    try:
        [result] = _receipts_find_or_record(firm, actor, [request])
    except ItemRefused as refused:
        raise refused.error from None
    return result


def trust_receipt_record(
    *,
    firm: Firm,
    actor: User | None,
    bank_account_id: int,
    file_id: int,
    payer: str,
    amount_cents: int,
    received_on: dt.date | None = None,
    reference: str = "",
    memo: str = "",
    external_ref: str | None = None,
) -> TrustReceipt:
    """:func:`trust_receipt_find_or_record` without telling found from recorded."""
    receipt, _ = trust_receipt_find_or_record(
        firm=firm,
        actor=actor,
        bank_account_id=bank_account_id,
        file_id=file_id,
        payer=payer,
        amount_cents=amount_cents,
        received_on=received_on,
        reference=reference,
        memo=memo,
        external_ref=external_ref,
    )
    return receipt


@transaction.atomic
def trust_receipt_void(
    *,
    firm: Firm,
    actor: User | None,
    receipt_id: int,
    void_date: dt.date | None = None,
    reason: str = "",
) -> TrustReceipt:
    """Reverse a deposit (e.g. a bounced check) with an entry dated on the void date.
    Refused (:class:`TrustOverdraw`) if the money was already paid out: if the client's
    running balance on the void date or any later date would go below zero (ADR 0011;
    the days between the deposit and the void keep what the books held then). A
    correction: the accountant role or above (403 ``role_required``)."""
    require_role(actor, CORRECTIONS, doing="Voiding a trust receipt")
    receipt = (
        TrustReceipt.objects.select_for_update(of=("self",))  # not the entry: see check_void
        .select_related("entry")
        .filter(firm=firm, pk=receipt_id)
        .first()
    )
    if receipt is None:
        raise ValidationFailed("trust receipt not found in this firm", field="receipt")
    if receipt.status == ReceiptStatus.VOIDED:
        raise Conflict(f"trust receipt {receipt.pk} is already void")
    date = void_date or clock.today()
    if date < receipt.received_on:
        raise ValidationFailed("the void date cannot be before the deposit date", field="void_date")
    if void_date is not None:
        date_in_window(firm, void_date, field="void_date")
    reversal = journal_entry_reverse(
        document_void=True,
        firm=firm,
        entry=receipt.entry,
        date=date,
        actor=actor,
        memo=f"Void of trust deposit from {receipt.payer}" + (f": {reason}" if reason else ""),
    )
    receipt.status = ReceiptStatus.VOIDED
    receipt.voided_on = date
    receipt.void_entry = reversal
    receipt.save(update_fields=["status", "voided_on", "void_entry"])
    _audit(
        firm,
        actor,
        "void",
        "trust_receipt",
        receipt.pk,
        f"Trust deposit {format_cents(receipt.amount_cents)} from {receipt.payer} voided",
        {"status": "posted"},
        {"status": "voided", "void_date": date, "reason": reason},
    )
    return receipt


def role_account(firm: Firm, role: AccountRole) -> GLAccount:
    acct = GLAccount.objects.filter(firm=firm, role=role).first()
    if acct is None:
        raise ValidationFailed(f"the firm has no {role.label} account in its chart of accounts")
    return acct
