"""Firm set-up: the chart of accounts, bank accounts, features, areas of practice and
activity codes (the settings screens behind the gear menu)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from casebridge.books import utbms
from casebridge.books.audit import books_audit
from casebridge.books.errors import AdminRequired, ValidationFailed
from casebridge.books.models import (
    AccountRole,
    AccountType,
    ActivityCode,
    AreaOfPractice,
    BankAccount,
    BankAccountKind,
    Firm,
    GLAccount,
    InvoiceLine,
    InvoiceStage,
    Posting,
    User,
)
from casebridge.books.services.dates import first_entry_date
from casebridge.core import clock, timezones
from casebridge.core.dates import opening_date_refusal
from casebridge.core.money import format_cents
from casebridge.core.text import plain_line

#: UTBMS expense codes (ABA litigation code set), offered as optional activity codes.
UTBMS_EXPENSE_CODES: tuple[tuple[str, str], ...] = utbms.EXPENSE_CODES


@dataclass(frozen=True)
class AccountSeed:
    number: str
    name: str
    type: AccountType
    role: str = ""
    is_client_trust: bool = False


#: A personal-injury firm's chart of accounts (domain.md section 4).
PI_CHART: tuple[AccountSeed, ...] = (
    AccountSeed("1000", "Operating Bank", AccountType.ASSET, AccountRole.OPERATING_BANK),
    AccountSeed("1010", "Client Trust Bank (IOLTA)", AccountType.ASSET, AccountRole.TRUST_BANK),
    AccountSeed("1200", "Accounts Receivable", AccountType.ASSET, AccountRole.ACCOUNTS_RECEIVABLE),
    AccountSeed("1300", "Advanced Client Costs", AccountType.ASSET, AccountRole.ADVANCED_COSTS),
    AccountSeed("2000", "Accounts Payable", AccountType.LIABILITY),
    AccountSeed(
        "2100",
        "Client Trust Liability",
        AccountType.LIABILITY,
        AccountRole.CLIENT_TRUST_LIABILITY,
        is_client_trust=True,
    ),
    AccountSeed("3000", "Owner's Equity", AccountType.EQUITY),
    AccountSeed("4000", "Attorney Fee Income", AccountType.INCOME, AccountRole.FEE_INCOME),
    AccountSeed("4100", "COPP Charges Income", AccountType.INCOME),
    AccountSeed("4200", "Property Damage Fee Income", AccountType.INCOME),
    AccountSeed("5000", "Bank Charges", AccountType.EXPENSE),
    AccountSeed(
        "5100", "Unrecovered Costs Written Off", AccountType.EXPENSE, AccountRole.WRITE_OFF
    ),
    AccountSeed("5200", "Office Expenses", AccountType.EXPENSE),
)


def _audit(
    firm: Firm,
    actor: User | None,
    action: str,
    entity: str,
    entity_id: object,
    summary: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    books_audit(
        firm_id=firm.pk,
        action=action,
        entity_type=entity,
        entity_id=entity_id,
        actor=actor,
        summary=summary,
        before=before,
        after=after,
    )


def _admin_only(firm: Firm, actor: User | None, doing: str) -> None:
    """The firm's set-up is the administrators' (the screens are ``admin=True``; the API
    asks here). ``actor`` None is the system (the seed, a management command)."""
    if actor is not None and (
        not actor.is_admin or not actor.is_active or actor.firm_id != firm.pk
    ):
        raise AdminRequired(f"only a books administrator can {doing}")


@transaction.atomic
def firm_create(*, code: str, name: str, with_utbms_codes: bool = True) -> Firm:
    """A new firm with the PI chart of accounts, an operating and a client trust bank
    account, and (optionally) the UTBMS expense codes as activity codes."""
    code = code.strip().lower()
    if not code or not code.replace("-", "").isalnum():
        raise ValidationFailed("firm ID must be letters, digits and dashes", field="code")
    if Firm.objects.filter(code=code).exists():
        raise ValidationFailed(f"firm ID {code} is taken", field="code")
    firm = Firm.objects.create(code=code, name=plain_line(name.strip(), field="name") or code)
    accounts = {
        seed.number: GLAccount.objects.create(
            firm=firm,
            number=seed.number,
            name=seed.name,
            type=seed.type,
            role=seed.role,
            is_client_trust=seed.is_client_trust,
        )
        for seed in PI_CHART
    }
    BankAccount.objects.create(
        firm=firm, name="Operating", kind=BankAccountKind.OPERATING, gl_account=accounts["1000"]
    )
    BankAccount.objects.create(
        firm=firm,
        name="Client Trust (IOLTA)",
        kind=BankAccountKind.TRUST,
        gl_account=accounts["1010"],
        trust_liability_account=accounts["2100"],
    )
    if with_utbms_codes:
        activity_codes_add_utbms(firm=firm, actor=None)
    _audit(firm, None, "create", "firm", firm.pk, f"Firm {name} created")
    return firm


@transaction.atomic
def activity_codes_add_utbms(*, firm: Firm, actor: User | None) -> int:
    """Add whichever UTBMS expense codes the firm lacks, posting to Advanced Client Costs."""
    gl = GLAccount.objects.filter(firm=firm, role=AccountRole.ADVANCED_COSTS).first()
    if gl is None:
        raise ValidationFailed(
            "the firm has no Advanced Client Costs account to post UTBMS codes to"
        )
    have = {
        c.lower() for c in ActivityCode.objects.filter(firm=firm).values_list("code", flat=True)
    }
    new = [
        ActivityCode(
            firm=firm,
            code=code,
            name=name,
            description=f"UTBMS {code} {name}",
            gl_account=gl,
            utbms_code=code,
        )
        for code, name in UTBMS_EXPENSE_CODES
        if code.lower() not in have
    ]
    ActivityCode.objects.bulk_create(new)
    if new:
        _audit(firm, actor, "create", "activity_code", "", f"Added {len(new)} UTBMS expense codes")
    return len(new)


@transaction.atomic
def firm_features_update(*, firm: Firm, actor: User, release_invoice_stage_enabled: bool) -> Firm:
    """Settings -> Features."""
    _admin_only(firm, actor, "change the firm's features")
    firm = Firm.objects.select_for_update(no_key=True).get(pk=firm.pk)  # ADR 0012
    before = firm.release_invoice_stage_enabled
    firm.release_invoice_stage_enabled = release_invoice_stage_enabled
    firm.save(update_fields=["release_invoice_stage_enabled"])
    if before != release_invoice_stage_enabled:
        _audit(
            firm,
            actor,
            "change",
            "features",
            firm.pk,
            "Release invoice stage " + ("enabled" if release_invoice_stage_enabled else "disabled"),
            {"release_invoice_stage_enabled": before},
            {"release_invoice_stage_enabled": release_invoice_stage_enabled},
        )
    return firm


@transaction.atomic
def firm_opening_date_set(*, firm: Firm, actor: User, opening_date: dt.date) -> Firm:
    """Settings -> Opening date (ADR 0007): nothing in the books is dated before it.
    Administrators only; refused after today, and after the firm's first entry (the
    books would hold entries from before their own opening)."""
    if not actor.is_admin or actor.firm_id != firm.pk:
        raise AdminRequired("only a books administrator can set the firm's opening date")
    locked = Firm.objects.select_for_update(no_key=True).get(pk=firm.pk)
    refusal = opening_date_refusal(
        opening_date, first_recorded=first_entry_date(locked), holds="the books hold entries"
    )
    if refusal is not None:
        raise refusal
    before = locked.opening_date
    locked.opening_date = opening_date
    locked.save(update_fields=["opening_date"])
    if before != opening_date:
        _audit(
            locked,
            actor,
            "change",
            "firm",
            locked.pk,
            f"Opening date set to {opening_date}",
            {"opening_date": before},
            {"opening_date": opening_date},
        )
    return locked


@transaction.atomic
def firm_time_zone_set(*, firm: Firm, actor: User, time_zone: str) -> Firm:
    """Settings -> Time zone: what "today" is for the firm's people and API clients
    (core/timezones.py). Administrators only; an IANA name, audited."""
    if not actor.is_admin or actor.firm_id != firm.pk:
        raise AdminRequired("only a books administrator can set the firm's time zone")
    zone = timezones.clean_zone(time_zone)
    locked = Firm.objects.select_for_update(no_key=True).get(pk=firm.pk)
    before = locked.time_zone
    locked.time_zone = zone
    locked.save(update_fields=["time_zone"])
    if before != zone:
        _audit(
            locked,
            actor,
            "change",
            "firm",
            locked.pk,
            f"Time zone set to {zone}",
            {"time_zone": before},
            {"time_zone": zone},
        )
    return locked


MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


@transaction.atomic
def firm_fiscal_year_set(*, firm: Firm, actor: User, first_month: int) -> Firm:
    """Settings -> Fiscal year (ADR 0053): the month (1-12) the firm's fiscal year starts
    on. It moves where the balance sheet splits retained from current-year earnings and
    where a profit and loss or ledger detail without a start begins; no posting changes.
    Administrators only; audited with the month before and after."""
    _admin_only(firm, actor, "change the firm's fiscal year")
    if isinstance(first_month, bool) or not isinstance(first_month, int):
        raise ValidationFailed("first_month must be a month number, 1 to 12", field="first_month")
    if not 1 <= first_month <= 12:
        raise ValidationFailed(
            f"first_month must be a month number, 1 to 12 (got {first_month})",
            field="first_month",
        )
    locked = Firm.objects.select_for_update(no_key=True).get(pk=firm.pk)  # ADR 0012
    before = locked.fiscal_year_start_month
    locked.fiscal_year_start_month = first_month
    locked.save(update_fields=["fiscal_year_start_month"])
    if before != first_month:
        _audit(
            locked,
            actor,
            "change",
            "firm",
            locked.pk,
            f"Fiscal year starts in {MONTH_NAMES[first_month - 1]} (was {MONTH_NAMES[before - 1]})",
            {"fiscal_year_start_month": before},
            {"fiscal_year_start_month": first_month},
        )
    return locked


def _required(value: str, field: str, label: str, max_length: int) -> str:
    value = value.strip()
    if not value:
        raise ValidationFailed(f"{label} is required", field=field)
    if len(value) > max_length:
        raise ValidationFailed(f"{label} is longer than {max_length} characters", field=field)
    return value


@transaction.atomic
def area_of_practice_create(
    *, firm: Firm, actor: User | None, name: str, description: str = ""
) -> AreaOfPractice:
    _admin_only(firm, actor, "add an area of practice")
    name = _required(name, "name", "Name", 100)
    description = description.strip()[:255]
    if AreaOfPractice.objects.filter(firm=firm, name__iexact=name).exists():
        raise ValidationFailed(f"an area of practice named {name} already exists", field="name")
    area = AreaOfPractice.objects.create(firm=firm, name=name, description=description)
    _audit(
        firm,
        actor,
        "create",
        "area_of_practice",
        area.pk,
        f"Area of practice {name} added",
        after={"name": name, "description": description},
    )
    return area


@transaction.atomic
def area_of_practice_update(
    *, area: AreaOfPractice, actor: User, name: str, description: str
) -> AreaOfPractice:
    _admin_only(area.firm, actor, "change an area of practice")
    name = _required(name, "name", "Name", 100)
    if (
        AreaOfPractice.objects.filter(firm_id=area.firm_id, name__iexact=name)
        .exclude(pk=area.pk)
        .exists()
    ):
        raise ValidationFailed(f"an area of practice named {name} already exists", field="name")
    before = {"name": area.name, "description": area.description}
    area.name, area.description = name, description.strip()[:255]
    if {"name": area.name, "description": area.description} == before:
        return area  # nothing changed: nothing written, nothing audited
    area.save(update_fields=["name", "description"])
    _audit(
        area.firm,
        actor,
        "change",
        "area_of_practice",
        area.pk,
        f"Area of practice {name} changed",
        before,
        {"name": area.name, "description": area.description},
    )
    return area


def _postable_account(firm: Firm, gl_account_id: int) -> GLAccount:
    """An active income, expense or cost account of ``firm`` an activity code may post to."""
    gl = GLAccount.objects.filter(firm=firm, pk=gl_account_id, is_active=True).first()
    if gl is None:
        raise ValidationFailed(
            "that General Ledger account is not an active account of this firm",
            field="gl_account",
        )
    if (
        gl.is_client_trust
        or gl.role in (AccountRole.OPERATING_BANK, AccountRole.TRUST_BANK)
        or BankAccount.objects.filter(gl_account=gl).exists()  # a bank whatever its role
    ):
        raise ValidationFailed(
            f"{gl} is a bank or client trust account; choose an income, expense or cost account",
            field="gl_account",
        )
    return gl


def _utbms(utbms_code: str) -> str:
    utbms_code = utbms_code.strip().upper()
    if utbms_code and utbms_code not in {c for c, _ in UTBMS_EXPENSE_CODES}:
        raise ValidationFailed(
            f"{utbms_code} is not a UTBMS expense code (E101-E124)", field="utbms_code"
        )
    return utbms_code


@transaction.atomic
def activity_code_create(
    *,
    firm: Firm,
    actor: User | None,
    code: str,
    name: str,
    gl_account_id: int | None,
    description: str = "",
    utbms_code: str = "",
) -> ActivityCode:
    _admin_only(firm, actor, "add an activity code")
    code = _required(code, "code", "Code", 40)
    name = _required(name, "name", "Name", 120)
    if gl_account_id is None:
        raise ValidationFailed(
            "choose the General Ledger account this code posts to", field="gl_account"
        )
    gl = _postable_account(firm, gl_account_id)
    utbms_code = _utbms(utbms_code)
    if ActivityCode.objects.filter(firm=firm, code__iexact=code).exists():
        raise ValidationFailed(f"activity code {code} already exists", field="code")
    ac = ActivityCode.objects.create(
        firm=firm,
        code=code,
        name=name,
        description=description.strip()[:255],
        gl_account=gl,
        utbms_code=utbms_code,
    )
    _audit(
        firm,
        actor,
        "create",
        "activity_code",
        ac.pk,
        f"Activity code {code} added",
        after={"code": code, "name": name, "gl_account": gl.number, "utbms_code": utbms_code},
    )
    return ac


@transaction.atomic
def activity_code_update(
    *,
    code: ActivityCode,
    actor: User | None,
    name: str | None = None,
    description: str | None = None,
    gl_account_id: int | None = None,
    utbms_code: str | None = None,
    is_active: bool | None = None,
) -> ActivityCode:
    """Settings -> Activity codes -> edit: the name, description, GL account and UTBMS code,
    or deactivate it (a code is never deleted: invoices and costs name it). The code itself
    is its key and does not change. Only what is given changes; audited."""
    firm = code.firm
    _admin_only(firm, actor, "change an activity code")
    code = ActivityCode.objects.select_for_update().select_related("gl_account").get(pk=code.pk)
    before = _activity_code_fields(code)
    if name is not None:
        code.name = _required(name, "name", "Name", 120)
    if description is not None:
        code.description = description.strip()[:255]
    if gl_account_id is not None and gl_account_id != code.gl_account_id:
        code.gl_account = _postable_account(firm, gl_account_id)
    if utbms_code is not None:
        code.utbms_code = _utbms(utbms_code)
    if is_active is True and not code.is_active:
        code.gl_account = _postable_account(firm, code.gl_account_id)  # still postable?
    if is_active is False and code.is_active:
        _refuse_if_invoices_use(code=code)
    if is_active is not None:
        code.is_active = is_active
    after = _activity_code_fields(code)
    if after != before:
        code.save(update_fields=["name", "description", "gl_account", "utbms_code", "is_active"])
        changed = sorted(k for k in after if after[k] != before[k])
        _audit(
            firm,
            actor,
            "deactivate" if changed == ["is_active"] and not code.is_active else "change",
            "activity_code",
            code.pk,
            f"Activity code {code.code} "
            + ("deactivated" if changed == ["is_active"] and not code.is_active else "changed"),
            {k: before[k] for k in changed},
            {k: after[k] for k in changed},
        )
    return code


def _activity_code_fields(code: ActivityCode) -> dict[str, Any]:
    return {
        "name": code.name,
        "description": code.description,
        "gl_account": code.gl_account.number,
        "utbms_code": code.utbms_code,
        "is_active": code.is_active,
    }


@transaction.atomic
def gl_account_update(
    *,
    account: GLAccount,
    actor: User | None,
    name: str | None = None,
    is_active: bool | None = None,
) -> GLAccount:
    """Settings -> Chart of accounts -> edit: rename an account, or deactivate one that is
    no longer used (never deleted: its postings stay). Refused for the accounts the books
    run on (a role such as Client Trust Liability or COPP, a bank's account), for one that
    still holds a balance, and for one an active activity code posts to. Reactivating is
    always allowed. Audited."""
    firm = account.firm
    _admin_only(firm, actor, "change a GL account")
    account = GLAccount.objects.select_for_update().get(pk=account.pk)
    before = {"name": account.name, "is_active": account.is_active}
    if name is not None:
        account.name = _required(name, "name", "Name", 120)
    if is_active is False and account.is_active:
        _refuse_deactivation(account)
    if is_active is not None:
        account.is_active = is_active
    after = {"name": account.name, "is_active": account.is_active}
    if after != before:
        account.save(update_fields=["name", "is_active"])
        changed = sorted(k for k in after if after[k] != before[k])
        deactivated = changed == ["is_active"] and not account.is_active
        _audit(
            firm,
            actor,
            "deactivate" if deactivated else "change",
            "gl_account",
            account.pk,
            f"GL account {account.number} " + ("deactivated" if deactivated else "changed"),
            {k: before[k] for k in changed},
            {k: after[k] for k in changed},
        )
    return account


def _refuse_deactivation(account: GLAccount) -> None:
    label = f"{account.number} {account.name}"
    if account.role or account.is_client_trust:
        raise ValidationFailed(
            f"{label} is one of the accounts the books run on and cannot be deactivated",
            field="is_active",
        )
    if (
        BankAccount.objects.filter(gl_account=account).exists()
        or BankAccount.objects.filter(trust_liability_account=account).exists()
    ):
        raise ValidationFailed(
            f"{label} belongs to a bank account and cannot be deactivated", field="is_active"
        )
    if account.balance_cents:  # every posting, dated later than today too
        raise ValidationFailed(
            f"{label} still holds a balance of {format_cents(abs(account.balance_cents))}: "
            "move it with a journal entry first",
            field="is_active",
        )
    later = (
        Posting.objects.filter(account=account, entry__date__gt=clock.today())
        .order_by("entry__date")
        .values_list("entry__date", flat=True)
        .first()
    )
    if later is not None:
        raise ValidationFailed(
            f"{label} has postings dated ahead, from {later:%Y-%m-%d}: it stays active until "
            "they are reversed or their day has passed",
            field="is_active",
        )
    codes = list(
        ActivityCode.objects.filter(gl_account=account, is_active=True)
        .order_by("code")
        .values_list("code", flat=True)[:3]
    )
    if codes:
        raise ValidationFailed(
            f"activity code {', '.join(codes)} posts to {label}: move or deactivate it first",
            field="is_active",
        )
    _refuse_if_invoices_use(account=account)


def _refuse_if_invoices_use(
    *, code: ActivityCode | None = None, account: GLAccount | None = None
) -> None:
    """An invoice not final yet posts each line to its code's account when it becomes
    final: the code and the account stay active until it is final or void."""
    open_stages = (InvoiceStage.DRAFT, InvoiceStage.REVIEW, InvoiceStage.RELEASE)
    lines = InvoiceLine.objects.filter(invoice__stage__in=open_stages)
    if code is not None:
        lines, what = lines.filter(activity_code=code), f"activity code {code.code}"
    else:
        assert account is not None
        lines = lines.filter(activity_code__gl_account=account)
        what = f"{account.number} {account.name}"
    number = lines.order_by("invoice__number").values_list("invoice__number", flat=True).first()
    if number is not None:
        raise ValidationFailed(
            f"invoice {number} is not final yet and posts to {what} when it is: finalise or "
            "void it first",
            field="is_active",
        )


@transaction.atomic
def gl_account_create(*, firm: Firm, actor: User, number: str, name: str, type: str) -> GLAccount:
    _admin_only(firm, actor, "add a GL account")
    number = _required(number, "number", "Number", 20)
    name = _required(name, "name", "Name", 120)
    if type not in AccountType.values:
        raise ValidationFailed(f"type must be one of {', '.join(AccountType.values)}", field="type")
    if GLAccount.objects.filter(firm=firm, number=number).exists():
        raise ValidationFailed(f"account number {number} is taken", field="number")
    acct = GLAccount.objects.create(firm=firm, number=number, name=name, type=type)
    _audit(
        firm,
        actor,
        "create",
        "gl_account",
        acct.pk,
        f"GL account {number} {name} added",
        after={"number": number, "name": name, "type": type},
    )
    return acct
