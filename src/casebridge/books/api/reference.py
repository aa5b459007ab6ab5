"""The firm's set-up, read: users, features, the fiscal year, areas of practice, activity
codes, the chart of accounts and the bank accounts (:mod:`.setup` writes them). The bridge
reads these to check the seed's set-up (S1-S8) and to offer mappings.

The balances shown are as of today: an entry dated later is not in them (see
``selectors.reports.report_day``)."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router
from pydantic import Field

from casebridge.books.api.schemas import AccountRef
from casebridge.books.api.security import context
from casebridge.books.api.session import UserOut
from casebridge.books.models import (
    DEBIT_NORMAL,
    AccountRole,
    AccountType,
    ActivityCode,
    AreaOfPractice,
    BankAccount,
    BankAccountKind,
    Firm,
    GLAccount,
    User,
)
from casebridge.books.selectors import financial
from casebridge.books.selectors.reports import account_balance_cents, gl_balances
from casebridge.books.services.setup import MONTH_NAMES
from casebridge.core import clock
from casebridge.core.api.lookups import get_or_404
from casebridge.core.api.schemas import (
    ERRORS,
    Clean,
    CountedPage,
    Id,
    Money,
    Out,
    PageIn,
    keyset_page,
    money,
)

router = Router(tags=["set-up"])


class UserFilter(Clean):
    email: str | None = Field(None, max_length=254, description="Exact, case-insensitive.")


@router.get("/users", response={200: CountedPage[UserOut], **ERRORS})
def user_list(
    request: HttpRequest, page: Query[PageIn], filters: Query[UserFilter]
) -> CountedPage[UserOut]:
    qs = User.objects.filter(firm=context(request).firm).order_by("pk")
    if filters.email:
        qs = qs.filter(email__iexact=filters.email.strip())
    rows, next_cursor = keyset_page(qs, page)
    return CountedPage[UserOut](
        items=[UserOut.of(u) for u in rows], next=next_cursor, count=qs.count()
    )


@router.get("/users/{int:user_id}", response={200: UserOut, **ERRORS})
def user_get(request: HttpRequest, user_id: Id) -> UserOut:
    return UserOut.of(get_or_404(User.objects.filter(firm=context(request).firm), user_id))


class FeaturesOut(Out):
    release_invoice_stage_enabled: bool


@router.get("/features", response={200: FeaturesOut, **ERRORS})
def features_get(request: HttpRequest) -> FeaturesOut:
    return features_out(context(request).firm)


def features_out(firm: Firm) -> FeaturesOut:
    return FeaturesOut(release_invoice_stage_enabled=firm.release_invoice_stage_enabled)


class FiscalYearOut(Out):
    first_month: int = Field(description="The month (1-12) the fiscal year starts on, its 1st.")
    first_month_name: str
    current_start: dt.date = Field(description="The first day of the fiscal year today is in.")
    current_end: dt.date = Field(description="The last day of the fiscal year today is in.")


@router.get("/fiscal-year", response={200: FiscalYearOut, **ERRORS})
def fiscal_year_get(request: HttpRequest) -> FiscalYearOut:
    """Where the balance sheet splits retained from current-year earnings, and where a
    profit and loss or ledger detail without `from` begins."""
    return fiscal_year_out(context(request).firm)


def fiscal_year_out(firm: Firm) -> FiscalYearOut:
    today = clock.today()
    return FiscalYearOut(
        first_month=firm.fiscal_year_start_month,
        first_month_name=MONTH_NAMES[firm.fiscal_year_start_month - 1],
        current_start=financial.fiscal_year_start(today, firm=firm),
        current_end=financial.fiscal_year_end(today, firm=firm),
    )


class AreaOut(Out):
    id: int
    name: str
    description: str


@router.get("/areas-of-practice", response={200: CountedPage[AreaOut], **ERRORS})
def area_list(request: HttpRequest, page: Query[PageIn]) -> CountedPage[AreaOut]:
    qs = AreaOfPractice.objects.filter(firm=context(request).firm).order_by("name", "pk")
    rows, next_cursor = keyset_page(qs, page)
    return CountedPage[AreaOut](
        items=[area_out(a) for a in rows], next=next_cursor, count=qs.count()
    )


def area_out(area: AreaOfPractice) -> AreaOut:
    return AreaOut(id=area.pk, name=area.name, description=area.description)


def account_ref(account: GLAccount) -> AccountRef:
    return AccountRef(
        id=account.pk,
        number=account.number,
        name=account.name,
        type=account.type,
        role=account.role,
    )


class ActivityCodeOut(Out):
    id: int
    code: str
    name: str
    description: str
    gl_account: AccountRef
    utbms_code: str
    is_active: bool

    @classmethod
    def of(cls, code: ActivityCode) -> ActivityCodeOut:
        return cls(
            id=code.pk,
            code=code.code,
            name=code.name,
            description=code.description,
            gl_account=account_ref(code.gl_account),
            utbms_code=code.utbms_code,
            is_active=code.is_active,
        )


class ActivityCodeFilter(Clean):
    code: str | None = Field(None, max_length=40, description="Exact, case-insensitive.")


@router.get("/activity-codes", response={200: CountedPage[ActivityCodeOut], **ERRORS})
def activity_code_list(
    request: HttpRequest, page: Query[PageIn], filters: Query[ActivityCodeFilter]
) -> CountedPage[ActivityCodeOut]:
    qs = (
        ActivityCode.objects.filter(firm=context(request).firm)
        .select_related("gl_account")
        .order_by("code", "pk")
    )
    if filters.code:
        qs = qs.filter(code__iexact=filters.code.strip())
    rows, next_cursor = keyset_page(qs, page)
    return CountedPage[ActivityCodeOut](
        items=[ActivityCodeOut.of(c) for c in rows], next=next_cursor, count=qs.count()
    )


class GLAccountOut(Out):
    id: int
    number: str
    name: str
    type: AccountType
    role: AccountRole | None
    is_client_trust: bool
    is_active: bool
    balance: Money = Field(
        description="As of today, in the account's normal sign (a liability's credit balance "
        "is positive)."
    )

    @classmethod
    def of(cls, account: GLAccount, balance_cents: int) -> GLAccountOut:
        """``balance_cents``: debits minus credits as of today (``gl_balances``)."""
        return cls(
            id=account.pk,
            number=account.number,
            name=account.name,
            type=AccountType(account.type),
            role=AccountRole(account.role) if account.role else None,
            is_client_trust=account.is_client_trust,
            is_active=account.is_active,
            balance=money(_normal(account, balance_cents)),
        )


def _normal(account: GLAccount, balance_cents: int) -> int:
    return balance_cents if account.type in DEBIT_NORMAL else -balance_cents


class GLAccountFilter(Clean):
    type: AccountType | None = None
    role: AccountRole | None = None


@router.get("/gl-accounts", response={200: CountedPage[GLAccountOut], **ERRORS})
def gl_account_list(
    request: HttpRequest, page: Query[PageIn], filters: Query[GLAccountFilter]
) -> CountedPage[GLAccountOut]:
    qs = GLAccount.objects.filter(firm=context(request).firm).order_by("number", "pk")
    if filters.type:
        qs = qs.filter(type=filters.type)
    if filters.role:
        qs = qs.filter(role=filters.role)
    rows, next_cursor = keyset_page(qs, page)
    balances = gl_balances(firm=context(request).firm, accounts=rows)
    return CountedPage[GLAccountOut](
        items=[GLAccountOut.of(a, balances[a.pk]) for a in rows], next=next_cursor, count=qs.count()
    )


@router.get("/gl-accounts/{int:account_id}", response={200: GLAccountOut, **ERRORS})
def gl_account_get(request: HttpRequest, account_id: Id) -> GLAccountOut:
    firm = context(request).firm
    account = get_or_404(GLAccount.objects.filter(firm=firm), account_id)
    return GLAccountOut.of(account, gl_balances(firm=firm, accounts=[account])[account.pk])


class BalanceIn(Clean):
    as_of: dt.date | None = Field(
        None, description="Default: today. Only entries dated on or before it count."
    )


class BalanceOut(Out):
    account_id: int
    number: str
    name: str
    type: AccountType
    as_of: dt.date = Field(description="The day the balance is for.")
    balance: Money


@router.get("/gl-accounts/{int:account_id}/balance", response={200: BalanceOut, **ERRORS})
def gl_account_balance(
    request: HttpRequest, account_id: Id, params: Query[BalanceIn]
) -> BalanceOut:
    """The balance in normal sign as of ``as_of`` (default today): the maintained column,
    one indexed row whatever the ledger's size, unless an entry is dated after that day
    (then the account's postings up to it are summed)."""
    firm = context(request).firm
    account = get_or_404(
        GLAccount.objects.filter(firm=firm).only("pk", "number", "name", "type"), account_id
    )
    as_of = params.as_of or clock.today()
    return BalanceOut(
        account_id=account.pk,
        number=account.number,
        name=account.name,
        type=AccountType(account.type),
        as_of=as_of,
        balance=money(account_balance_cents(firm=firm, account_id=account.pk, as_of=as_of)),
    )


class BankAccountOut(Out):
    id: int
    name: str
    kind: BankAccountKind
    gl_account: AccountRef
    trust_liability_account: AccountRef | None
    bank_name: str
    account_number_last4: str
    next_check_number: int
    is_active: bool
    balance: Money = Field(description="The bank's GL account, as of today.")

    @classmethod
    def of(cls, bank: BankAccount, balance_cents: int) -> BankAccountOut:
        """``balance_cents``: the GL account's debits minus credits as of today."""
        liability = bank.trust_liability_account
        return cls(
            id=bank.pk,
            name=bank.name,
            kind=BankAccountKind(bank.kind),
            gl_account=account_ref(bank.gl_account),
            trust_liability_account=account_ref(liability) if liability else None,
            bank_name=bank.bank_name,
            account_number_last4=bank.account_number_last4,
            next_check_number=bank.next_check_number,
            is_active=bank.is_active,
            balance=money(_normal(bank.gl_account, balance_cents)),
        )


class BankAccountFilter(Clean):
    kind: BankAccountKind | None = None


def _banks(request: HttpRequest) -> QuerySet[BankAccount]:
    return BankAccount.objects.filter(firm=context(request).firm).select_related(
        "gl_account", "trust_liability_account"
    )


@router.get("/bank-accounts", response={200: CountedPage[BankAccountOut], **ERRORS})
def bank_account_list(
    request: HttpRequest, page: Query[PageIn], filters: Query[BankAccountFilter]
) -> CountedPage[BankAccountOut]:
    qs = _banks(request).order_by("name", "pk")
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    rows, next_cursor = keyset_page(qs, page)
    return CountedPage[BankAccountOut](
        items=_bank_items(request, rows), next=next_cursor, count=qs.count()
    )


@router.get("/bank-accounts/{int:bank_account_id}", response={200: BankAccountOut, **ERRORS})
def bank_account_get(request: HttpRequest, bank_account_id: Id) -> BankAccountOut:
    [item] = _bank_items(request, [get_or_404(_banks(request), bank_account_id)])
    return item


def _bank_items(request: HttpRequest, banks: list[BankAccount]) -> list[BankAccountOut]:
    balances = gl_balances(firm=context(request).firm, accounts=[b.gl_account for b in banks])
    return [BankAccountOut.of(b, balances[b.gl_account_id]) for b in banks]
