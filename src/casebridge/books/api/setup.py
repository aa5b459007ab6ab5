"""The firm's set-up, written: the API twins of the administrators' Settings and Users
screens (issue 14). Each endpoint calls the service its screen calls, so the rules, the
refusals and the audit trail are the screen's; every one needs an administrator (else 403
``admin_required``), and the integration user's token may make none of them.

Nothing is deleted: a user, an activity code or a GL account is deactivated
(``is_active: false``), and a GL account that still holds a balance, belongs to a bank
account, is one the books run on or is posted to by an active activity code cannot be."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Status
from pydantic import ConfigDict, Field

from casebridge.books.api import reference
from casebridge.books.api.idempotency import idempotent, idempotent_secret
from casebridge.books.api.reference import (
    ActivityCodeOut,
    AreaOut,
    FeaturesOut,
    FiscalYearOut,
    GLAccountOut,
    area_out,
    features_out,
    fiscal_year_out,
)
from casebridge.books.api.security import context
from casebridge.books.api.session import UserOut
from casebridge.books.models import (
    AccountType,
    ActivityCode,
    AreaOfPractice,
    GLAccount,
    Role,
    User,
)
from casebridge.books.selectors.reports import gl_balances
from casebridge.books.services import auth as auth_service
from casebridge.books.services import setup
from casebridge.core.api.lookups import get_or_404
from casebridge.core.api.schemas import ERRORS, Id, In, PatchIn

#: The read endpoints' router: ninja answers a path from one router only, so GET and POST
#: ``/users`` must be registered on the same one (else POST is 405).
router = reference.router


def _gl_account_out(account: GLAccount) -> GLAccountOut:
    return GLAccountOut.of(account, gl_balances(firm=account.firm, accounts=[account])[account.pk])


# --- Users ------------------------------------------------------------------------------------


class UserCreateIn(In):
    model_config = ConfigDict(str_strip_whitespace=False, extra="forbid")  # passwords as typed

    email: str = Field(min_length=1, max_length=254)
    temporary_password: str = Field(
        min_length=1,
        max_length=1024,
        description="A temporary password (at least 10 characters) for the user's first "
        "sign-in, where they enroll a security question.",
    )
    first_name: str = Field("", max_length=100)
    last_name: str = Field("", max_length=100)
    initials: str = Field("", max_length=8)
    role: Role = Field(Role.ACCOUNTANT, description="administrator, accountant or staff.")
    is_attorney: bool = Field(False, description="May sign the monthly bank reconciliation.")
    records_time: bool = Field(False, description="May be the timekeeper of a fee line.")


@router.post("/users", response={201: UserOut, **ERRORS}, summary="Add a user")
@idempotent_secret
def user_create(request: HttpRequest, payload: UserCreateIn) -> Status[UserOut]:
    """The password is temporary: the user chooses their own at their first sign-in (the
    screens, or ``new_password`` at ``POST /auth/session``). 422 ``validation_error``
    naming the field (an email already in the firm, a password that breaks the rules)."""
    ctx = context(request)
    user = auth_service.user_create(
        firm=ctx.firm,
        actor=ctx.user,
        email=payload.email,
        password=payload.temporary_password,
        first_name=payload.first_name,
        last_name=payload.last_name,
        initials=payload.initials,
        role=payload.role,
        is_attorney=payload.is_attorney,
        records_time=payload.records_time,
        must_change_password=True,
    )
    return Status(201, UserOut.of(user))


class UserUpdateIn(PatchIn):
    """Only the fields sent change."""

    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    initials: str | None = Field(None, max_length=8)
    email: str | None = Field(None, min_length=1, max_length=254)
    role: Role | None = Field(None, description="administrator, accountant or staff.")
    is_attorney: bool | None = None
    records_time: bool | None = Field(None, description="Records Time.")
    gl_account_extension: str | None = Field(None, max_length=20)
    is_active: bool | None = Field(None, description="An inactive user cannot sign in.")
    is_integration_user: bool | None = Field(
        None, description="The user case management signs in as; at most one per firm."
    )


@router.patch("/users/{int:user_id}", response={200: UserOut, **ERRORS}, summary="Change a user")
def user_update(request: HttpRequest, user_id: Id, payload: UserUpdateIn) -> UserOut:
    """422 ``validation_error`` naming the field: an email another user has, your own
    administrator role or your own account made inactive, a second integration user."""
    ctx = context(request)
    user = get_or_404(User.objects.filter(firm=ctx.firm), user_id)
    changes = payload.changes()
    if "role" in changes:
        changes["role"] = changes["role"].value
    return UserOut.of(auth_service.user_update(user=user, actor=ctx.user, **changes))


# --- Features, areas of practice -------------------------------------------------------------


class FeaturesIn(In):
    release_invoice_stage_enabled: bool = Field(
        description="Invoices pass through Release before Final."
    )


@router.put("/features", response={200: FeaturesOut, **ERRORS}, summary="Change the features")
def features_update(request: HttpRequest, payload: FeaturesIn) -> FeaturesOut:
    ctx = context(request)
    firm = setup.firm_features_update(
        firm=ctx.firm,
        actor=ctx.user,
        release_invoice_stage_enabled=payload.release_invoice_stage_enabled,
    )
    return features_out(firm)


class FiscalYearIn(In):
    first_month: int = Field(
        ge=1, le=12, strict=True, description="The month (1-12) the fiscal year starts on."
    )


@router.put(
    "/fiscal-year", response={200: FiscalYearOut, **ERRORS}, summary="Change the fiscal year"
)
def fiscal_year_update(request: HttpRequest, payload: FiscalYearIn) -> FiscalYearOut:
    """Moves where the balance sheet splits retained from current-year earnings and where
    a period without `from` begins; no posting changes. Audited; 422 naming
    ``first_month`` for anything but a whole number from 1 to 12."""
    ctx = context(request)
    firm = setup.firm_fiscal_year_set(
        firm=ctx.firm, actor=ctx.user, first_month=payload.first_month
    )
    return fiscal_year_out(firm)


class AreaIn(In):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=255)


@router.post(
    "/areas-of-practice", response={201: AreaOut, **ERRORS}, summary="Add an area of practice"
)
@idempotent
def area_create(request: HttpRequest, payload: AreaIn) -> Status[AreaOut]:
    """422 ``validation_error`` (field ``name``) for a name the firm already has."""
    ctx = context(request)
    area = setup.area_of_practice_create(
        firm=ctx.firm, actor=ctx.user, name=payload.name, description=payload.description
    )
    return Status(201, area_out(area))


class AreaUpdateIn(PatchIn):
    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=255)


@router.patch(
    "/areas-of-practice/{int:area_id}",
    response={200: AreaOut, **ERRORS},
    summary="Change an area of practice",
)
def area_update(request: HttpRequest, area_id: Id, payload: AreaUpdateIn) -> AreaOut:
    ctx = context(request)
    area = get_or_404(AreaOfPractice.objects.filter(firm=ctx.firm), area_id)
    area = setup.area_of_practice_update(
        area=area,
        actor=ctx.user,
        name=area.name if payload.name is None else payload.name,
        description=area.description if payload.description is None else payload.description,
    )
    return area_out(area)


# --- Activity codes --------------------------------------------------------------------------


class ActivityCodeIn(In):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=120)
    gl_account_id: Id = Field(description="The income, expense or cost account it posts to.")
    description: str = Field("", max_length=255)
    utbms_code: str = Field("", max_length=8, description="A UTBMS expense code, E101-E124.")


@router.post(
    "/activity-codes", response={201: ActivityCodeOut, **ERRORS}, summary="Add an activity code"
)
@idempotent
def activity_code_create(request: HttpRequest, payload: ActivityCodeIn) -> Status[ActivityCodeOut]:
    """422 ``validation_error`` naming the field: a code the firm already has, a bank or
    client trust account, an account not active in this firm, an unknown UTBMS code."""
    ctx = context(request)
    code = setup.activity_code_create(
        firm=ctx.firm,
        actor=ctx.user,
        code=payload.code,
        name=payload.name,
        gl_account_id=payload.gl_account_id,
        description=payload.description,
        utbms_code=payload.utbms_code,
    )
    return Status(201, ActivityCodeOut.of(code))


class ActivityCodeUpdateIn(PatchIn):
    """Only the fields sent change; the code itself is the key and stays."""

    name: str | None = Field(None, min_length=1, max_length=120)
    gl_account_id: Id | None = None
    description: str | None = Field(None, max_length=255)
    utbms_code: str | None = Field(None, max_length=8)
    is_active: bool | None = Field(None, description="false deactivates it (never deleted).")


@router.patch(
    "/activity-codes/{int:code_id}",
    response={200: ActivityCodeOut, **ERRORS},
    summary="Change or deactivate an activity code",
)
def activity_code_update(
    request: HttpRequest, code_id: Id, payload: ActivityCodeUpdateIn
) -> ActivityCodeOut:
    ctx = context(request)
    code = get_or_404(ActivityCode.objects.filter(firm=ctx.firm), code_id)
    return ActivityCodeOut.of(
        setup.activity_code_update(code=code, actor=ctx.user, **payload.changes())
    )


# --- GL accounts -----------------------------------------------------------------------------


class GLAccountIn(In):
    number: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=120)
    type: AccountType


@router.post("/gl-accounts", response={201: GLAccountOut, **ERRORS}, summary="Add a GL account")
@idempotent
def gl_account_create(request: HttpRequest, payload: GLAccountIn) -> Status[GLAccountOut]:
    """422 ``validation_error`` (field ``number``) for a number the firm already has."""
    ctx = context(request)
    account = setup.gl_account_create(
        firm=ctx.firm,
        actor=ctx.user,
        number=payload.number,
        name=payload.name,
        type=payload.type.value,
    )
    return Status(201, _gl_account_out(account))


class GLAccountUpdateIn(PatchIn):
    name: str | None = Field(None, min_length=1, max_length=120)
    is_active: bool | None = Field(
        None,
        description="false deactivates it (never deleted): refused for an account the books "
        "run on, a bank's, one with a balance or one an active activity code posts to.",
    )


@router.patch(
    "/gl-accounts/{int:account_id}",
    response={200: GLAccountOut, **ERRORS},
    summary="Rename or deactivate a GL account",
)
def gl_account_update(
    request: HttpRequest, account_id: Id, payload: GLAccountUpdateIn
) -> GLAccountOut:
    ctx = context(request)
    account = get_or_404(GLAccount.objects.filter(firm=ctx.firm), account_id)
    return _gl_account_out(
        setup.gl_account_update(account=account, actor=ctx.user, **payload.changes())
    )
