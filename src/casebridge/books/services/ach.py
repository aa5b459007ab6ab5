"""ACH payments (issue 15, ADR 0046): disbursements paid by ACH credit instead of a check.

The money is a :class:`Check` document as for any check (posted when requested, so a
trust payment holds the client's money at once and never overdraws; found again by its
``external_ref``; voided with a reversal), marked paid by ACH by an :class:`AchPayment`
to the payee's :class:`PayeeBankAccount`, so it is never numbered or printed. A bank
account's queued ACH payments go into a NACHA file (:class:`AchBatch`) once: the batch
keeps its text, each payment names its batch and its trace number. A returned payment
is voided (the reversal dated on the return), a queued one can be cancelled (voided).

A file's effective entry date is a banking day (:mod:`casebridge.books.banking_days`; by
default the next one), and a payee whose bank details had a prenote gets no live entry
before the third banking day after the prenote settled (ADR 0055).

Payee bank details and ACH settings are set-up: the account number is encrypted with the
books' data key and never audited or shown whole.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from casebridge.books import banking_days
from casebridge.books.audit import books_audit, books_audit_many
from casebridge.books.crypto import decrypt, encrypt, masked
from casebridge.books.errors import (
    AdminRequired,
    Conflict,
    DomainError,
    ExternalRefConflict,
    ValidationFailed,
)
from casebridge.books.exports import nacha
from casebridge.books.models import (
    AchAccountType,
    AchBatch,
    AchHolderKind,
    AchPayment,
    AchSettings,
    AchStatus,
    BankAccount,
    Check,
    CheckStatus,
    Contact,
    Firm,
    PayeeBankAccount,
    PrenoteStatus,
    User,
)
from casebridge.books.roles import CORRECTIONS, require_role
from casebridge.books.services.bank_accounts import aba_routing_problem
from casebridge.books.services.checks import (
    CheckRequest,
    check_requests_find_or_create,
    check_void_locked,
)
from casebridge.books.services.dates import date_in_window
from casebridge.core import clock
from casebridge.core.money import format_cents
from casebridge.core.text import plain_line

#: The most payments one NACHA file takes.
MAX_PAYMENTS_PER_FILE = 1000
ACCOUNT_NUMBER_MAX = 17
#: How far ahead an effective entry date may be (banks warehouse a file some days at most).
MAX_DAYS_TO_EFFECTIVE = 30
#: The most one entry detail record takes: ten digits of cents ($99,999,999.99).
MAX_ENTRY_CENTS = 9_999_999_999
#: After a prenote, live entries to the account may be initiated "as soon as the third
#: Banking Day following the Settlement Date of the Prenotification Entry" (Nacha
#: Operating Rules, Article Two, Subsection 2.6.2; ADR 0055).
PRENOTE_WAIT_BANKING_DAYS = 3


def _admin_of(firm: Firm, actor: User | None, what: str) -> None:
    if actor is None or not actor.is_admin or actor.firm_id != firm.pk:
        raise AdminRequired(f"only a books administrator can change {what}")


def _routing(value: str, field: str) -> str:
    value = value.strip()
    problem = aba_routing_problem(value)
    if problem:
        raise ValidationFailed(problem, field=field)
    return value


def _text(value: str, field: str, *, width: int, required: bool = True) -> str:
    value = plain_line(value.strip(), field=field)
    if required and not value:
        raise ValidationFailed(f"{field} is required", field=field)
    if len(value) > width:
        raise ValidationFailed(f"{field} is at most {width} characters", field=field)
    if not all(" " <= c <= "~" for c in value):
        raise ValidationFailed(
            f"{field} must be plain letters, digits and punctuation (a NACHA file is ASCII)",
            field=field,
        )
    return value


# --- the prenote's wait ------------------------------------------------------------------


def default_effective_date(today: dt.date) -> dt.date:
    """A new file's effective entry date unless one is chosen: the next banking day."""
    return banking_days.next_banking_day(today)


def _settlement_of(effective: dt.date, sent_on: dt.date) -> dt.date:
    """When a file sent on ``sent_on`` settles: on its effective date if that is still
    ahead (on the banking day on or after it: files made before ADR 0055 could take a
    weekend or holiday), else (a same-day or stale date, which the ACH Operator moves to
    its next settlement) on the next banking day, the later of the two (ADR 0055)."""
    if effective > sent_on:
        return banking_days.banking_day_on_or_after(effective)
    return banking_days.next_banking_day(sent_on)


def prenote_settles_on(account: PayeeBankAccount) -> dt.date | None:
    """The settlement date of the account's prenote: None when none was sent or its file
    is not marked sent yet. A prenote sent before its file was kept (migration 0027 found
    none) is taken to settle on the banking day after it was sent."""
    if account.prenote_status != PrenoteStatus.SENT:
        return None
    batch = account.prenote_batch
    if batch is None:
        assert account.prenote_sent_on is not None  # a CHECK: sent is dated
        return banking_days.next_banking_day(account.prenote_sent_on)
    if batch.sent_on is None:
        return None
    return _settlement_of(batch.effective_date, batch.sent_on)


def live_entries_from(settles_on: dt.date) -> dt.date:
    """The first day a live entry may follow a prenote that settles on ``settles_on``."""
    return banking_days.add_banking_days(settles_on, PRENOTE_WAIT_BANKING_DAYS)


@dataclass(frozen=True)
class PrenoteWait:
    """Why a live entry to an account must wait for its prenote, and from when it may go
    (``possible_on``: at the earliest, when the prenote is not sent or its file not marked
    sent yet)."""

    reason: str
    possible_on: dt.date


def prenote_wait(account: PayeeBankAccount, today: dt.date) -> PrenoteWait | None:
    """None when a live entry to ``account`` may be sent ``today``; else why not and from
    when. The account's prenote must have settled :data:`PRENOTE_WAIT_BANKING_DAYS`
    banking days before."""
    if account.prenote_status == PrenoteStatus.NONE:
        return None
    rule = _wait_rule()
    if account.prenote_status == PrenoteStatus.PENDING:
        effective = default_effective_date(today)
        return PrenoteWait(
            f"its prenote has not been sent: send it first (Make ACH file with the "
            f"prenotes); a live entry may follow from {rule} ({live_entries_from(effective)} "
            f"for a prenote in a file made today, effective {effective})",
            live_entries_from(effective),
        )
    settles = prenote_settles_on(account)
    if settles is None:
        batch = account.prenote_batch
        assert batch is not None
        earliest = live_entries_from(_settlement_of(batch.effective_date, today))
        return PrenoteWait(
            f"the ACH file that carries its prenote ({batch.file_id_modifier} of "
            f"{batch.created_on}) is not marked sent: mark it sent; a live entry may follow "
            f"from {rule} ({earliest} at the earliest)",
            earliest,
        )
    allowed = live_entries_from(settles)
    if today >= allowed:
        return None
    return PrenoteWait(
        f"its prenote settles on {settles}: a live entry may follow from {rule}, {allowed}",
        allowed,
    )


def _wait_rule() -> str:
    """The wait in words: "the third banking day after it settles"."""
    if PRENOTE_WAIT_BANKING_DAYS == 0:
        return "the day it settles"
    ordinals = ("first", "second", "third", "fourth", "fifth", "sixth")
    return f"the {ordinals[PRENOTE_WAIT_BANKING_DAYS - 1]} banking day after it settles"


# --- payee bank details ----------------------------------------------------------------


@dataclass(frozen=True)
class PayeeBankView:
    """A payee's bank details as screens and the API show them: never the whole number.
    ``live_entries_from``: after a prenote, the first day a live entry may be sent (null
    when there is no prenote, or it is not sent yet)."""

    id: int
    contact_id: int
    routing_number: str
    account_number_masked: str
    account_type: str
    holder_kind: str
    sec_code: str
    prenote_status: str
    prenote_sent_on: dt.date | None
    prenote_settles_on: dt.date | None
    live_entries_from: dt.date | None
    #: The prenote's status as a person reads it ("Prenote settles 2026-12-08: live
    #: entries from 2026-12-11").
    prenote_note: str


def _prenote_note(account: PayeeBankAccount, settles: dt.date | None, today: dt.date) -> str:
    if account.prenote_status == PrenoteStatus.NONE:
        return "No prenote"
    if account.prenote_status == PrenoteStatus.PENDING:
        return "Prenote to send: live entries wait for it"
    if settles is None:
        batch = account.prenote_batch
        assert batch is not None
        return (
            f"Prenote in ACH file {batch.file_id_modifier} of {batch.created_on}, not marked "
            "sent yet: live entries wait for it"
        )
    allowed = live_entries_from(settles)
    if today >= allowed:
        return f"Prenote settled {settles}: live entries allowed"
    return f"Prenote settles {settles}: live entries from {allowed}"


def payee_bank_view(account: PayeeBankAccount, *, today: dt.date | None = None) -> PayeeBankView:
    settles = prenote_settles_on(account)
    return PayeeBankView(
        id=account.pk,
        contact_id=account.contact_id,
        routing_number=account.routing_number,
        account_number_masked=masked(decrypt(account.account_number_ciphertext)),
        account_type=account.account_type,
        holder_kind=account.holder_kind,
        sec_code=account.sec_code,
        prenote_status=account.prenote_status,
        prenote_sent_on=account.prenote_sent_on,
        prenote_settles_on=settles,
        live_entries_from=live_entries_from(settles) if settles is not None else None,
        prenote_note=_prenote_note(account, settles, today or clock.today()),
    )


def payee_bank_account_of(firm: Firm, contact_id: int) -> PayeeBankAccount | None:
    return PayeeBankAccount.objects.filter(firm=firm, contact_id=contact_id, is_active=True).first()


@transaction.atomic
def payee_bank_account_set(
    *,
    firm: Firm,
    actor: User | None,
    contact_id: int,
    routing_number: str,
    account_number: str,
    account_type: str,
    holder_kind: str,
    prenote: bool = False,
) -> PayeeBankAccount:
    """Set a contact's bank details for ACH: the routing number (9 digits, ABA checksum),
    the account number (1 to 17 letters or digits; stored encrypted), checking or
    savings, a person (PPD) or a business (CCD); ``prenote``: a zero-dollar prenote goes
    in the next NACHA file. The details before are kept, inactive (payments keep the
    account they went to). The same details again change nothing. Accountant or above;
    audited with the last four digits only."""
    require_role(actor, CORRECTIONS, doing="Changing a payee's bank details")
    contact = Contact.objects.filter(firm=firm, pk=contact_id).first()
    if contact is None:
        raise ValidationFailed("contact not found in this firm", field="contact")
    routing = _routing(routing_number, "routing_number")
    number = account_number.strip().replace(" ", "").replace("-", "")
    if not number or not number.isascii() or not number.isalnum():
        raise ValidationFailed(
            "account_number must be letters and digits (spaces and dashes are dropped)",
            field="account_number",
        )
    if len(number) > ACCOUNT_NUMBER_MAX:
        raise ValidationFailed(
            f"account_number is at most {ACCOUNT_NUMBER_MAX} characters", field="account_number"
        )
    if account_type not in AchAccountType.values:
        raise ValidationFailed("account_type must be checking or savings", field="account_type")
    if holder_kind not in AchHolderKind.values:
        raise ValidationFailed("holder_kind must be person or business", field="holder_kind")
    current = (
        PayeeBankAccount.objects.select_for_update()
        .filter(firm=firm, contact=contact, is_active=True)
        .first()
    )
    if (
        current is not None
        and current.routing_number == routing
        and decrypt(current.account_number_ciphertext) == number
        and current.account_type == account_type
        and current.holder_kind == holder_kind
        and (not prenote or current.prenote_status != PrenoteStatus.NONE)
    ):
        return current
    if current is not None:
        current.is_active = False
        current.save(update_fields=["is_active"])
    account = PayeeBankAccount.objects.create(
        firm=firm,
        contact=contact,
        routing_number=routing,
        account_number_ciphertext=encrypt(number),
        account_type=account_type,
        holder_kind=holder_kind,
        prenote_status=PrenoteStatus.PENDING if prenote else PrenoteStatus.NONE,
        created_by=actor,
        created_at=clock.now(),
    )
    books_audit(
        firm_id=firm.pk,
        action="update" if current else "create",
        entity_type="payee_bank_account",
        entity_id=account.pk,
        actor=actor,
        summary=f"Bank details of {contact.name} for ACH: routing {routing}, account "
        f"{masked(number)}",
        before={"routing_number": current.routing_number} if current else None,
        after={
            "routing_number": routing,
            "account_number_last4": number[-4:],
            "account_type": account_type,
            "holder_kind": holder_kind,
            "prenote": prenote,
        },
    )
    return account


# --- a bank account's ACH settings -----------------------------------------------------


@transaction.atomic
def ach_settings_set(
    *,
    firm: Firm,
    actor: User | None,
    bank_account_id: int,
    immediate_destination: str,
    immediate_destination_name: str,
    immediate_origin: str,
    immediate_origin_name: str,
    company_name: str,
    company_id: str,
    balanced: bool,
) -> AchSettings:
    """A bank account's ACH settings, as its bank assigns them (administrators; audited).
    A balanced file debits the firm's own account: the bank account then needs its
    routing and account number (set for checks' MICR line)."""
    _admin_of(firm, actor, "a bank account's ACH settings")
    bank = BankAccount.objects.filter(firm=firm, pk=bank_account_id).first()
    if bank is None:
        raise ValidationFailed("bank account not found in this firm", field="bank_account")
    destination = _routing(immediate_destination, "immediate_destination")
    origin = immediate_origin.strip()
    if not 9 <= len(origin) <= 10 or not origin.isascii() or not origin.isalnum():
        raise ValidationFailed(
            "immediate_origin is the 9 or 10 characters your bank assigns (often 1 and the "
            "firm's EIN, or a routing number)",
            field="immediate_origin",
        )
    values = {
        "immediate_destination": destination,
        "immediate_destination_name": _text(
            immediate_destination_name, "immediate_destination_name", width=23
        ),
        "immediate_origin": origin,
        "immediate_origin_name": _text(immediate_origin_name, "immediate_origin_name", width=23),
        "company_name": _text(company_name, "company_name", width=16),
        "company_id": _text(company_id, "company_id", width=10),
        "balanced": bool(balanced),
    }
    if balanced and not (bank.routing_number and bank.account_number):
        raise ValidationFailed(
            f"a balanced file debits {bank.name} itself: set its routing and account number "
            "first (bank account details)",
            field="balanced",
        )
    settings = AchSettings.objects.select_for_update().filter(bank_account=bank).first()
    before = {name: getattr(settings, name) for name in values} if settings is not None else None
    if settings is None:
        settings = AchSettings(firm=firm, bank_account=bank)
    for name, value in values.items():
        setattr(settings, name, value)
    settings.updated_by = actor
    settings.updated_at = clock.now()
    settings.save()
    books_audit(
        firm_id=firm.pk,
        action="update" if before else "create",
        entity_type="ach_settings",
        entity_id=settings.pk,
        actor=actor,
        summary=f"ACH settings of {bank.name}",
        before=before,
        after=values,
    )
    return settings


# --- requesting a payment by ACH --------------------------------------------------------


@dataclass(frozen=True)
class Disbursement:
    """A check request (:class:`CheckRequest`) and how it is paid: ``check`` (printed) or
    ``ach`` (to ``payee_contact_id``'s bank details)."""

    request: CheckRequest
    method: str = "check"
    payee_contact_id: int | None = None


def _refused_at(index: int, error: DomainError) -> DomainError:
    error.details.setdefault("index", index)
    return error


@transaction.atomic
def disbursements_find_or_create(
    *, firm: Firm, actor: User | None, requests: Sequence[Disbursement]
) -> list[tuple[Check, bool]]:
    """Find or create many disbursements, all or nothing, as
    :func:`~casebridge.books.services.checks.check_requests_find_or_create` (the same
    postings, trust rule and external_ref rule) and mark those paid by ACH. An ACH request
    whose payee has no bank details is refused (:class:`ValidationFailed` on
    ``payee_contact``) before anything is written; one found again by its external_ref
    must be paid the same way (else :class:`ExternalRefConflict`, ``differing``:
    ``method``). ``details["index"]`` names the request refused."""
    wanted = {d.payee_contact_id for d in requests if d.method == "ach"}
    accounts = (
        {
            a.contact_id: a
            for a in PayeeBankAccount.objects.filter(
                firm=firm, contact_id__in=wanted, is_active=True
            )
        }
        if wanted
        else {}
    )
    names = dict(Contact.objects.filter(firm=firm, pk__in=wanted).values_list("pk", "name"))
    for i, d in enumerate(requests):
        if d.method not in ("check", "ach"):
            raise _refused_at(i, ValidationFailed("method must be check or ach", field="method"))
        if d.method != "ach":
            continue
        if d.payee_contact_id is None:
            raise _refused_at(
                i,
                ValidationFailed(
                    "an ACH payment names the payee's contact (payee_contact_id)",
                    field="payee_contact",
                ),
            )
        if d.request.amount_cents > MAX_ENTRY_CENTS:
            raise _refused_at(
                i,
                ValidationFailed(
                    f"an ACH payment is at most {format_cents(MAX_ENTRY_CENTS)} (ten digits in "
                    "the NACHA entry): pay more by check or by wire",
                    field="amount",
                ),
            )
        if d.payee_contact_id not in names:
            raise _refused_at(
                i, ValidationFailed("payee contact not found in this firm", field="payee_contact")
            )
        if d.payee_contact_id not in accounts:
            raise _refused_at(
                i,
                ValidationFailed(
                    f"{names[d.payee_contact_id]} has no bank details for ACH: add them on "
                    "the contact, or pay by check",
                    field="payee_contact",
                    contact_id=d.payee_contact_id,
                ),
            )
    results = check_requests_find_or_create(
        firm=firm, actor=actor, requests=[d.request for d in requests]
    )
    found_ids = [check.pk for check, created in results if not created]
    paid_by_ach = dict(
        AchPayment.objects.filter(disbursement_id__in=found_ids).values_list(
            "disbursement_id", "payee_account__contact_id"
        )
    )
    new: list[AchPayment] = []
    for i, (d, (check, created)) in enumerate(zip(requests, results, strict=True)):
        if not created:
            if (check.pk in paid_by_ach) != (d.method == "ach"):
                raise _refused_at(
                    i,
                    ExternalRefConflict(
                        f"external_ref {check.external_ref!r} is already check {check.pk}, "
                        f"paid by {'ACH' if check.pk in paid_by_ach else 'check'}, which "
                        "differs in method; a new payment needs a new external_ref",
                        field="external_ref",
                        check_id=check.pk,
                        differing=["method"],
                    ),
                )
            if d.method == "ach" and paid_by_ach[check.pk] != d.payee_contact_id:
                raise _refused_at(
                    i,
                    ExternalRefConflict(
                        f"external_ref {check.external_ref!r} is already check {check.pk}, "
                        "paid by ACH to another payee contact; a new payment needs a new "
                        "external_ref",
                        field="external_ref",
                        check_id=check.pk,
                        differing=["payee_contact_id"],
                    ),
                )
            continue
        if d.method == "ach":
            assert d.payee_contact_id is not None
            new.append(
                AchPayment(
                    firm=firm, disbursement=check, payee_account=accounts[d.payee_contact_id]
                )
            )
    if new:
        AchPayment.objects.bulk_create(new)
        books_audit_many(
            firm_id=firm.pk,
            actor=actor,
            events=[
                {
                    "action": "create",
                    "entity_type": "ach_payment",
                    "entity_id": p.pk,
                    "summary": f"ACH payment to {p.disbursement.payee} for "
                    f"{format_cents(p.disbursement.amount_cents)} (check request "
                    f"{p.disbursement.pk})",
                    "after": {
                        "check": p.disbursement.pk,
                        "payee_account": p.payee_account_id,
                        "sec_code": p.payee_account.sec_code,
                    },
                }
                for p in new
            ],
        )
    return results


def ach_payment_request(
    *, firm: Firm, actor: User | None, request: CheckRequest, payee_contact_id: int
) -> tuple[Check, bool]:
    """One disbursement paid by ACH: :func:`disbursements_find_or_create` of one."""
    try:
        [result] = disbursements_find_or_create(
            firm=firm,
            actor=actor,
            requests=[Disbursement(request, method="ach", payee_contact_id=payee_contact_id)],
        )
    except DomainError as exc:
        exc.details.pop("index", None)
        raise
    return result


# --- the NACHA file ---------------------------------------------------------------------


def _settings_of(bank: BankAccount) -> AchSettings:
    settings = AchSettings.objects.filter(bank_account=bank).first()
    if settings is None:
        raise ValidationFailed(
            f"{bank.name} has no ACH settings: an administrator sets them up first (the "
            "immediate origin and destination, company name and ID its bank assigns)",
            field="bank_account",
        )
    return settings


@transaction.atomic
def ach_batch_create(
    *,
    firm: Firm,
    actor: User | None,
    bank_account_id: int,
    payment_ids: Sequence[int],
    effective_date: dt.date | None = None,
    include_prenotes: bool = False,
) -> AchBatch:
    """Put queued ACH payments of one bank account into one NACHA file, once: each payment
    becomes ``batched`` with its trace number, the file's text is kept on the batch (a
    download later gives the same bytes). ``include_prenotes``: a zero-dollar prenote for
    each of the firm's payee accounts awaiting one (then marked sent on the file's day).

    All or nothing; refused (``details["index"]`` naming the payment) if a payment is not
    the firm's, is drawn on another bank account or is no longer queued (already in a
    file: the same payment never goes in two files), or whose payee must still wait for
    a prenote (:func:`prenote_wait`: the reason and the day it becomes possible). The
    effective entry date is a banking day from today to 30 days ahead (by default the
    next banking day; ADR 0055). Locks: the payments' rows in id order, then the
    bank account FOR NO KEY UPDATE, then the firm FOR NO KEY UPDATE (ADR 0012's order:
    documents, then the counters; the firm's row serialises the file ID modifiers and trace
    numbers shared by its bank accounts, ADR 0050). Accountant or above."""
    require_role(actor, CORRECTIONS, doing="Making an ACH file")
    ids = list(payment_ids)
    if not ids and not include_prenotes:
        raise ValidationFailed("choose at least one queued ACH payment", field="payment_ids")
    if len(ids) > MAX_PAYMENTS_PER_FILE:
        raise ValidationFailed(
            f"at most {MAX_PAYMENTS_PER_FILE} payments in one file, not {len(ids)}",
            field="payment_ids",
        )
    if len(set(ids)) != len(ids):
        raise ValidationFailed("a payment is named twice", field="payment_ids")
    today = clock.today()
    if effective_date is None:
        effective_date = default_effective_date(today)
    if not today <= effective_date <= today + dt.timedelta(days=MAX_DAYS_TO_EFFECTIVE):
        raise ValidationFailed(
            f"the effective entry date {effective_date.isoformat()} must be from today "
            f"({today.isoformat()}) to {MAX_DAYS_TO_EFFECTIVE} days ahead",
            field="effective_date",
        )
    not_banking = banking_days.non_banking_reason(effective_date)
    if not_banking is not None:
        raise ValidationFailed(
            f"the effective entry date {effective_date.isoformat()} is not a banking day "
            f"({not_banking}): the next banking day is "
            f"{banking_days.next_banking_day(effective_date).isoformat()}",
            field="effective_date",
            next_banking_day=banking_days.next_banking_day(effective_date).isoformat(),
        )
    bank = BankAccount.objects.filter(firm=firm, pk=bank_account_id).first()
    if bank is None:
        raise ValidationFailed("bank account not found in this firm", field="bank_account")
    settings = _settings_of(bank)

    locked = {
        p.pk: p
        for p in AchPayment.objects.select_for_update(of=("self",))
        .select_related(
            "disbursement",
            "payee_account",
            "payee_account__contact",
            "payee_account__prenote_batch",
        )
        .filter(firm=firm, pk__in=ids)
        .order_by("pk")
    }
    payments: list[AchPayment] = []
    for i, pk in enumerate(ids):
        payment = locked.get(pk)
        if payment is None:
            raise ValidationFailed(
                f"ACH payment {pk} not found in this firm", field="payment_ids", index=i
            )
        if payment.disbursement.bank_account_id != bank.pk:
            raise ValidationFailed(
                f"ACH payment {pk} is paid from another bank account: a file is one bank "
                f"account's ({bank.name})",
                field="payment_ids",
                index=i,
            )
        if payment.status != AchStatus.QUEUED or payment.disbursement.status != CheckStatus.QUEUED:
            raise Conflict(
                f"ACH payment {pk} is {payment.get_status_display().lower()}, not queued: a "
                "payment goes into one file only",
                field="payment_ids",
                index=i,
            )
        if not payment.payee_account.is_active:
            raise ValidationFailed(
                f"ACH payment {pk} to {payment.disbursement.payee} goes to bank details that "
                "were replaced since it was requested: cancel it and request it again to pay "
                "the new details",
                field="payment_ids",
                index=i,
            )
        wait = prenote_wait(payment.payee_account, today)
        if wait is not None:
            raise Conflict(
                f"ACH payment {pk} to {payment.disbursement.payee} must wait for the prenote "
                f"to these bank details: {wait.reason}",
                field="payment_ids",
                index=i,
                possible_on=wait.possible_on.isoformat(),
            )
        payments.append(payment)
    prenotes = (
        list(
            PayeeBankAccount.objects.select_for_update(of=("self",))
            .select_related("contact")
            .filter(firm=firm, is_active=True, prenote_status=PrenoteStatus.PENDING)
            .order_by("pk")
        )
        if include_prenotes
        else []
    )
    if not payments and not prenotes:
        raise ValidationFailed("no payment and no prenote to send", field="payment_ids")
    offset = None
    if settings.balanced:
        if not (bank.routing_number and bank.account_number):
            raise ValidationFailed(
                f"a balanced file debits {bank.name}: set its routing and account number",
                field="bank_account",
            )
        offset = nacha.Offset(
            routing_number=bank.routing_number,
            account_number=bank.account_number,
            name=settings.company_name,
        )

    bank = BankAccount.objects.select_for_update(no_key=True).get(pk=bank.pk)
    Firm.objects.select_for_update(no_key=True).get(pk=firm.pk)
    odfi = settings.immediate_destination[:8]
    todays = AchBatch.objects.filter(firm=firm, created_on=today)
    used = set(
        todays.filter(
            Q(
                immediate_destination=settings.immediate_destination,
                immediate_origin=settings.immediate_origin,
            )
            | Q(immediate_destination__isnull=True, bank_account=bank)
        ).values_list("file_id_modifier", flat=True)
    )
    free = [m for m in nacha.FILE_ID_MODIFIERS if m not in used]
    if not free:
        raise Conflict(
            f"{len(used)} ACH files to {settings.immediate_destination_name} from "
            f"{settings.immediate_origin} were made today, the most one day takes",
            field="bank_account",
        )
    modifier = free[0]
    last_trace = (
        todays.filter(Q(odfi=odfi) | Q(odfi__isnull=True, bank_account=bank)).aggregate(
            last=Max(Coalesce("trace_last", "entry_count"))
        )["last"]
        or 0
    )
    by_sec: dict[str, list[nacha.Entry]] = {"PPD": [], "CCD": []}
    for account in prenotes:
        by_sec[account.sec_code].append(
            nacha.Entry(
                transaction_code=nacha.PRENOTE_CODES[account.account_type],
                routing_number=account.routing_number,
                account_number=decrypt(account.account_number_ciphertext),
                amount_cents=0,
                identification="PRENOTE",
                name=account.contact.name,
            )
        )
    for payment in payments:
        account = payment.payee_account
        by_sec[account.sec_code].append(
            nacha.Entry(
                transaction_code=nacha.CREDIT_CODES[account.account_type],
                routing_number=account.routing_number,
                account_number=decrypt(account.account_number_ciphertext),
                amount_cents=payment.disbursement.amount_cents,
                identification=f"CB{payment.disbursement.pk}",
                name=payment.disbursement.payee,
                key=payment.pk,
            )
        )
    now = clock.now()
    try:
        built = nacha.build(
            origin=nacha.Origin(
                immediate_destination=settings.immediate_destination,
                immediate_destination_name=settings.immediate_destination_name,
                immediate_origin=settings.immediate_origin,
                immediate_origin_name=settings.immediate_origin_name,
                company_name=settings.company_name,
                company_id=settings.company_id,
                originating_dfi=settings.immediate_destination[:8],
            ),
            batches=[nacha.Batch(sec, entries) for sec, entries in by_sec.items() if entries],
            effective_date=effective_date,
            created_at=timezone.localtime(now),
            file_id_modifier=modifier,
            offset=offset,
            first_trace=last_trace + 1,
        )
    except nacha.NachaError as exc:
        raise ValidationFailed(
            f"these payments do not fit one NACHA file: {exc}", field="payment_ids"
        ) from None
    try:
        with transaction.atomic():
            batch = AchBatch.objects.create(
                firm=firm,
                bank_account=bank,
                effective_date=effective_date,
                file_id_modifier=modifier,
                created_on=today,
                file_ciphertext=encrypt(built.text),
                immediate_destination=settings.immediate_destination,
                immediate_origin=settings.immediate_origin,
                odfi=odfi,
                trace_last=last_trace + built.entry_count,
                entry_count=built.entry_count,
                prenote_count=len(prenotes),
                total_credit_cents=built.total_credit_cents,
                total_debit_cents=built.total_debit_cents,
                entry_hash=built.entry_hash,
                created_by=actor,
                created_at=now,
            )
    except IntegrityError:
        raise Conflict(
            "another ACH file was made for this bank account at the same time; nothing was "
            "written: try again",
            field="bank_account",
            retryable=True,
        ) from None
    for payment in payments:
        payment.status = AchStatus.BATCHED
        payment.batch = batch
        payment.trace_number = built.traces[payment.pk]
    AchPayment.objects.bulk_update(payments, ["status", "batch", "trace_number"])
    for account in prenotes:
        account.prenote_status = PrenoteStatus.SENT
        account.prenote_sent_on = today
        account.prenote_batch = batch
    PayeeBankAccount.objects.bulk_update(
        prenotes, ["prenote_status", "prenote_sent_on", "prenote_batch"]
    )
    books_audit(
        firm_id=firm.pk,
        action="create",
        entity_type="ach_batch",
        entity_id=batch.pk,
        actor=actor,
        summary=f"NACHA file {batch.file_id_modifier} of {bank.name}: {len(payments)} "
        f"payment{'s' if len(payments) != 1 else ''} for "
        f"{format_cents(sum(p.disbursement.amount_cents for p in payments))}, effective "
        f"{effective_date.isoformat()}",
        after={
            "payments": [p.pk for p in payments],
            "prenotes": len(prenotes),
            "entry_count": built.entry_count,
            "entry_hash": built.entry_hash,
            "total_credit_cents": built.total_credit_cents,
            "total_debit_cents": built.total_debit_cents,
        },
    )
    return batch


def ach_batch_filename(batch: AchBatch) -> str:
    return f"ach-{batch.bank_account_id}-{batch.created_on:%Y%m%d}-{batch.file_id_modifier}.txt"


def ach_batch_text(batch: AchBatch) -> str:
    """The NACHA file's text as it was made (decrypted; never logged or audited)."""
    return decrypt(batch.file_ciphertext)


def ach_batch_download(*, firm: Firm, actor: User | None, batch_id: int) -> tuple[str, str]:
    """The file name and text of a NACHA file, for its download: accountant or above (it
    holds the payees' account numbers); each download audited (who, which file; never the
    content)."""
    require_role(actor, CORRECTIONS, doing="Downloading an ACH file")
    batch = AchBatch.objects.filter(firm=firm, pk=batch_id).first()
    if batch is None:
        raise ValidationFailed("ACH file not found in this firm", field="batch")
    text = ach_batch_text(batch)
    name = ach_batch_filename(batch)
    books_audit(
        firm_id=firm.pk,
        action="download",
        entity_type="ach_batch",
        entity_id=batch.pk,
        actor=actor,
        summary=f"NACHA file {batch.file_id_modifier} of {batch.created_on.isoformat()} downloaded",
        after={"file_name": name},
    )
    return name, text


@transaction.atomic
def ach_batch_mark_sent(
    *, firm: Firm, actor: User | None, batch_id: int, sent_on: dt.date | None = None
) -> AchBatch:
    """The file went to the bank: its batched payments become ``sent`` (audited). Once.
    Accountant or above."""
    require_role(actor, CORRECTIONS, doing="Marking an ACH file sent")
    batch = AchBatch.objects.select_for_update().filter(firm=firm, pk=batch_id).first()
    if batch is None:
        raise ValidationFailed("ACH file not found in this firm", field="batch")
    if batch.sent_on is not None:
        raise Conflict(f"ACH file {batch.pk} was marked sent on {batch.sent_on.isoformat()}")
    day = sent_on or clock.today()
    if sent_on is not None:
        date_in_window(firm, sent_on, field="sent_on")
    if day < batch.created_on:
        raise ValidationFailed("a file is not sent before it is made", field="sent_on")
    batch.sent_on = day
    batch.save(update_fields=["sent_on"])
    moved = AchPayment.objects.filter(batch=batch, status=AchStatus.BATCHED).update(
        status=AchStatus.SENT, sent_on=day
    )
    books_audit(
        firm_id=firm.pk,
        action="send",
        entity_type="ach_batch",
        entity_id=batch.pk,
        actor=actor,
        summary=f"NACHA file {batch.file_id_modifier} of {batch.created_on.isoformat()} sent "
        f"to the bank ({moved} payments)",
        after={"sent_on": day, "payments": moved},
    )
    return batch


def _payment_locked(firm: Firm, payment_id: int) -> AchPayment:
    payment = (
        AchPayment.objects.select_for_update(of=("self",))
        .select_related("disbursement")
        .filter(firm=firm, pk=payment_id)
        .first()
    )
    if payment is None:
        raise ValidationFailed("ACH payment not found in this firm", field="payment")
    return payment


def _check_locked(payment: AchPayment) -> Check:
    return (
        Check.objects.select_for_update(of=("self",))
        .select_related("entry")
        .get(pk=payment.disbursement_id)
    )


@transaction.atomic
def ach_payment_return(
    *,
    firm: Firm,
    actor: User | None,
    payment_id: int,
    returned_on: dt.date | None = None,
    reason: str,
) -> AchPayment:
    """The bank returned a payment it had in a file (R01 insufficient funds, R03 no
    account...): the payment is ``returned`` and its check voided, the reversal dated on
    the return (the money back in the client's trust or the operating account). A
    correction: accountant or above; audited."""
    require_role(actor, CORRECTIONS, doing="Recording an ACH return")
    reason = plain_line(reason.strip(), field="reason")
    if not reason:
        raise ValidationFailed("a reason is required: the bank's return code", field="reason")
    payment = _payment_locked(firm, payment_id)
    if payment.status not in (AchStatus.BATCHED, AchStatus.SENT):
        raise Conflict(
            f"ACH payment {payment.pk} is {payment.get_status_display().lower()}: only a "
            "payment in a file can be returned"
        )
    before = payment.status
    day = returned_on or clock.today()
    batch = AchBatch.objects.get(pk=payment.batch_id or 0)
    made = batch.sent_on or batch.created_on
    if day < made:
        raise ValidationFailed(
            f"the return date {day.isoformat()} is before the file was "
            f"{'sent' if batch.sent_on else 'made'} ({made.isoformat()})",
            field="returned_on",
        )
    check_void_locked(
        firm=firm,
        actor=actor,
        check=_check_locked(payment),
        void_date=returned_on,
        reason=f"ACH return: {reason}",
        returned=True,
    )
    payment.status = AchStatus.RETURNED
    payment.returned_on = day
    payment.return_reason = reason[:255]
    payment.save(update_fields=["status", "returned_on", "return_reason"])
    books_audit(
        firm_id=firm.pk,
        action="return",
        entity_type="ach_payment",
        entity_id=payment.pk,
        actor=actor,
        summary=f"ACH payment to {payment.disbursement.payee} for "
        f"{format_cents(payment.disbursement.amount_cents)} returned: {reason}",
        before={"status": before},
        after={"status": "returned", "returned_on": day, "reason": reason},
    )
    return payment


@transaction.atomic
def ach_payment_cancel(
    *, firm: Firm, actor: User | None, payment_id: int, reason: str = ""
) -> AchPayment:
    """A queued payment (in no file yet) is cancelled: its check voided with a reversal
    dated today. A correction: accountant or above; audited."""
    require_role(actor, CORRECTIONS, doing="Cancelling an ACH payment")
    reason = plain_line(reason.strip(), field="reason")
    payment = _payment_locked(firm, payment_id)
    if payment.status != AchStatus.QUEUED:
        raise Conflict(
            f"ACH payment {payment.pk} is {payment.get_status_display().lower()}: only a "
            "queued one is cancelled (one in a file is returned by the bank)"
        )
    check_void_locked(
        firm=firm,
        actor=actor,
        check=_check_locked(payment),
        void_date=None,
        reason=f"ACH payment cancelled{': ' + reason if reason else ''}",
    )
    payment.status = AchStatus.CANCELLED
    payment.save(update_fields=["status"])
    books_audit(
        firm_id=firm.pk,
        action="cancel",
        entity_type="ach_payment",
        entity_id=payment.pk,
        actor=actor,
        summary=f"ACH payment to {payment.disbursement.payee} cancelled",
        before={"status": "queued"},
        after={"status": "cancelled", "reason": reason},
    )
    return payment
