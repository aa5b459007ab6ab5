"""Checks and trust receipts: the bank side of costs and settlements.

A check request posts immediately (Dr the activity code's account or the client's trust
liability, Cr the bank), so a queued trust check already holds the client's money and two
requests can never spend the same dollars. Printing assigns the number; voiding posts a
reversal dated on the void date. A trust receipt posts Dr trust bank, Cr the client's
trust liability.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction

from casebridge.books.audit import books_audit
from casebridge.books.errors import Conflict, ExternalRefConflict, ValidationFailed
from casebridge.books.models import (
    AccountRole,
    ActivityCode,
    BankAccount,
    BankAccountKind,
    Check,
    CheckStatus,
    File,
    Firm,
    GLAccount,
    ReceiptStatus,
    TrustReceipt,
    User,
)
from casebridge.books.services.journal import (
    Line,
    journal_entry_post,
    journal_entry_reverse,
    ledger_rows_lock,
)
from casebridge.core import clock
from casebridge.core.money import format_cents


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


def _check_found(
    *,
    firm: Firm,
    external_ref: str,
    bank_account_id: int,
    payee: str,
    amount_cents: int,
    file_id: int | None,
    activity_code_id: int | None,
) -> Check | None:
    """The firm's check with this ``external_ref`` if it is the same request; refused
    (:class:`ExternalRefConflict`) if that check differs; None if there is none."""
    found = Check.objects.filter(firm=firm, external_ref=external_ref).first()
    if found is None:
        return None
    differing = _differences(
        {
            "bank_account_id": found.bank_account_id,
            "payee": found.payee,
            "amount": found.amount_cents,
            "file_id": found.file_id,
            "activity_code_id": found.activity_code_id,
        },
        {
            "bank_account_id": bank_account_id,
            "payee": payee[:200],
            "amount": amount_cents,
            "file_id": file_id,
            "activity_code_id": activity_code_id,
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
    trust would go below zero (:class:`TrustOverdraw`, with the amount available).

    With an ``external_ref`` the firm already has a check for, nothing is posted: the same
    request (bank account, payee, amount, file, activity code) gives ``(that check,
    False)``, whatever its status now; a different one is refused
    :class:`ExternalRefConflict` naming the check. Two requests racing with a new
    ``external_ref``: the loser is refused :class:`Conflict` (retryable) and writes nothing.
    """
    payee = payee.strip()
    if not payee:
        raise ValidationFailed("payee is required", field="payee")
    _positive(amount_cents)
    external_ref = _external_ref(external_ref)
    if external_ref is not None:
        found = _check_found(
            firm=firm,
            external_ref=external_ref,
            bank_account_id=bank_account_id,
            payee=payee,
            amount_cents=amount_cents,
            file_id=file_id,
            activity_code_id=activity_code_id,
        )
        if found is not None:
            return found, False
    bank = _bank(firm, bank_account_id)
    date = request_date or clock.today()
    activity = None
    if activity_code_id is not None:
        activity = (
            ActivityCode.objects.select_related("gl_account")
            .filter(firm=firm, pk=activity_code_id, is_active=True)
            .first()
        )
        if activity is None:
            raise ValidationFailed("activity code not found in this firm", field="activity_code")
    if bank.kind == BankAccountKind.TRUST:
        file = _file(firm, file_id, required=True)
        assert bank.trust_liability_account is not None  # guaranteed by a CHECK constraint
        debit = Line(
            account=bank.trust_liability_account, debit_cents=amount_cents, file=file, memo=payee
        )
    else:
        file = _file(firm, file_id, required=False)
        if activity is None:
            raise ValidationFailed(
                "an activity code is required for an operating check", field="activity_code"
            )
        debit = Line(account=activity.gl_account, debit_cents=amount_cents, file=file, memo=payee)
    credit = Line(account=bank.gl_account, credit_cents=amount_cents, file=file, memo=payee)
    entry = journal_entry_post(
        firm=firm,
        date=date,
        lines=[debit, credit],
        actor=actor,
        memo=f"Check to {payee}" + (f": {memo}" if memo else ""),
        posting_reference=posting_reference,
        source="check",
    )
    try:
        with transaction.atomic():
            check = Check.objects.create(
                firm=firm,
                bank_account=bank,
                file=file,
                payee=payee[:200],
                amount_cents=amount_cents,
                activity_code=activity,
                memo=memo.strip()[:255],
                posting_reference=posting_reference[:60],
                external_ref=external_ref,
                request_date=date,
                entry=entry,
                created_by=actor,
                created_at=clock.now(),
            )
    except IntegrityError:
        if external_ref is not None and (
            Check.objects.filter(firm=firm, external_ref=external_ref).exists()
        ):
            raise _raced("check", external_ref) from None
        raise
    _audit(
        firm,
        actor,
        "create",
        "check",
        check.pk,
        f"Check request to {payee} for {format_cents(amount_cents)} from {bank.name}",
        after={
            "payee": payee,
            "amount_cents": amount_cents,
            "bank_account": bank.name,
            "file": file.number if file else None,
            "memo": memo,
            **({"external_ref": external_ref} if external_ref else {}),
        },
    )
    return check, True


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


@transaction.atomic
def check_batch_lock(*, firm: Firm, requests: list[tuple[int, int | None, int | None]]) -> None:
    """Before a batch of check requests (bank account, file, activity code) posts one by
    one, lock every ledger row it will touch in the global order (see ledger_rows_lock)."""
    banks = {
        b.pk: b for b in BankAccount.objects.filter(firm=firm, pk__in={r[0] for r in requests})
    }
    codes = dict(
        ActivityCode.objects.filter(
            firm=firm, pk__in={r[2] for r in requests if r[2] is not None}
        ).values_list("pk", "gl_account_id")
    )
    accounts: set[int] = set()
    pairs: set[tuple[int, int]] = set()
    for bank_id, file_id, code_id in requests:
        bank = banks.get(bank_id)
        if bank is None:
            continue  # refused with its own message when its turn comes
        accounts.add(bank.gl_account_id)
        if bank.trust_liability_account_id is not None:
            accounts.add(bank.trust_liability_account_id)
            if file_id is not None:
                pairs.add((file_id, bank.pk))
        if code_id in codes:
            accounts.add(codes[code_id])
    ledger_rows_lock(firm=firm, account_ids=accounts, trust_pairs=pairs)


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
    none is given). Numbers are unique per bank account."""
    check = Check.objects.select_for_update().filter(firm=firm, pk=check_id).first()
    if check is None:
        raise ValidationFailed("check not found in this firm", field="check")
    if check.status != CheckStatus.QUEUED:
        raise Conflict(f"check {check.pk} is {check.status}, not queued for printing")
    bank = BankAccount.objects.select_for_update().get(pk=check.bank_account_id)
    if check_number is None:
        check_number = bank.next_check_number
        while Check.objects.filter(bank_account=bank, check_number=check_number).exists():
            check_number += 1
    if check_number <= 0:
        raise ValidationFailed("check number must be positive", field="check_number")
    if Check.objects.filter(bank_account=bank, check_number=check_number).exists():
        raise ValidationFailed(
            f"check number {check_number} is already used on {bank.name}", field="check_number"
        )
    check.status = CheckStatus.PRINTED
    check.check_number = check_number
    check.printed_on = printed_on or clock.today()
    try:
        with transaction.atomic():
            check.save(update_fields=["status", "check_number", "printed_on"])
    except IntegrityError:
        raise ValidationFailed(
            f"check number {check_number} is already used on {bank.name}", field="check_number"
        ) from None
    if check_number >= bank.next_check_number:
        bank.next_check_number = check_number + 1
        bank.save(update_fields=["next_check_number"])
    _audit(
        firm,
        actor,
        "print",
        "check",
        check.pk,
        f"Check {check_number} printed to {check.payee}",
        {"status": "queued"},
        {"status": "printed", "check_number": check_number},
    )
    return check


@transaction.atomic
def check_void(
    *,
    firm: Firm,
    actor: User | None,
    check_id: int,
    void_date: dt.date | None = None,
    reason: str = "",
) -> Check:
    """Void a queued or printed check: a reversal dated on the void date puts the money back."""
    check = (
        Check.objects.select_for_update()
        .select_related("entry")
        .filter(firm=firm, pk=check_id)
        .first()
    )
    if check is None:
        raise ValidationFailed("check not found in this firm", field="check")
    if check.status == CheckStatus.VOIDED:
        raise Conflict(f"check {check.pk} is already void")
    date = void_date or clock.today()
    if date < check.request_date:
        raise ValidationFailed("the void date cannot be before the check's date", field="void_date")
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
        f"Check {check.check_number or check.pk} voided",
        {"status": before},
        {"status": "voided", "void_date": date, "reason": reason},
    )
    return check


def _receipt_found(
    *,
    firm: Firm,
    external_ref: str,
    bank_account_id: int,
    file_id: int,
    payer: str,
    amount_cents: int,
) -> TrustReceipt | None:
    """Like :func:`_check_found`, for a trust receipt (bank account, file, payer, amount)."""
    found = TrustReceipt.objects.filter(firm=firm, external_ref=external_ref).first()
    if found is None:
        return None
    differing = _differences(
        {
            "bank_account_id": found.bank_account_id,
            "file_id": found.file_id,
            "payer": found.payer,
            "amount": found.amount_cents,
        },
        {
            "bank_account_id": bank_account_id,
            "file_id": file_id,
            "payer": payer[:200],
            "amount": amount_cents,
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
    posts nothing; a different one is refused :class:`ExternalRefConflict`."""
    payer = payer.strip()
    if not payer:
        raise ValidationFailed("payer is required", field="payer")
    _positive(amount_cents)
    external_ref = _external_ref(external_ref)
    if external_ref is not None:
        found = _receipt_found(
            firm=firm,
            external_ref=external_ref,
            bank_account_id=bank_account_id,
            file_id=file_id,
            payer=payer,
            amount_cents=amount_cents,
        )
        if found is not None:
            return found, False
    bank = _bank(firm, bank_account_id)
    if bank.kind != BankAccountKind.TRUST or bank.trust_liability_account is None:
        raise ValidationFailed(f"{bank.name} is not a client trust account", field="bank_account")
    file = _file(firm, file_id, required=True)
    assert file is not None  # required=True
    date = received_on or clock.today()
    entry = journal_entry_post(
        firm=firm,
        date=date,
        actor=actor,
        source="trust_receipt",
        memo=f"Trust deposit from {payer}" + (f" (check {reference})" if reference else ""),
        lines=[
            Line(account=bank.gl_account, debit_cents=amount_cents, file=file, memo=payer),
            Line(
                account=bank.trust_liability_account,
                credit_cents=amount_cents,
                file=file,
                memo=payer,
            ),
        ],
    )
    try:
        with transaction.atomic():
            receipt = TrustReceipt.objects.create(
                firm=firm,
                bank_account=bank,
                file=file,
                payer=payer[:200],
                amount_cents=amount_cents,
                received_on=date,
                reference=reference.strip()[:60],
                memo=memo.strip()[:255],
                external_ref=external_ref,
                entry=entry,
                created_by=actor,
                created_at=clock.now(),
            )
    except IntegrityError:
        if external_ref is not None and (
            TrustReceipt.objects.filter(firm=firm, external_ref=external_ref).exists()
        ):
            raise _raced("trust receipt", external_ref) from None
        raise
    _audit(
        firm,
        actor,
        "create",
        "trust_receipt",
        receipt.pk,
        f"Trust deposit {format_cents(amount_cents)} from {payer} for file {file.number}",
        after={
            "payer": payer,
            "amount_cents": amount_cents,
            "file": file.number,
            "reference": reference,
            **({"external_ref": external_ref} if external_ref else {}),
        },
    )
    return receipt, True


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
    """Reverse a deposit (e.g. a bounced check). Refused if the money was already paid out."""
    receipt = (
        TrustReceipt.objects.select_for_update()
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
        f"Trust deposit {receipt.pk} voided",
        {"status": "posted"},
        {"status": "voided", "void_date": date, "reason": reason},
    )
    return receipt


def role_account(firm: Firm, role: AccountRole) -> GLAccount:
    acct = GLAccount.objects.filter(firm=firm, role=role).first()
    if acct is None:
        raise ValidationFailed(f"the firm has no {role.label} account in its chart of accounts")
    return acct
