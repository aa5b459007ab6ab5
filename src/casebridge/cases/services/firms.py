"""Firms, their users and permissions, and the firm-wide settlement defaults
(Account Settings)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.contrib.auth.hashers import check_password, make_password
from django.core.mail import send_mail
from django.db import transaction

from casebridge.cases.audit import cases_audit
from casebridge.cases.errors import PermissionDenied, SignInRefused, ValidationFailed
from casebridge.cases.models import ApiToken, CaseType, CostCode, Firm, User
from casebridge.cases.permissions import require_admin, require_settings_access
from casebridge.cases.services.dates import first_record_date
from casebridge.cases.services.deadlines import limitation_rules_seed
from casebridge.core import clock, passwords, throttle, timezones, utbms
from casebridge.core.audit import audit_record
from casebridge.core.dates import opening_date_refusal
from casebridge.core.signin import password_matches
from casebridge.core.text import plain_line

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10

#: UTBMS expense codes offered on every cost, plus the firm's own codes.
UTBMS_EXPENSE_CODES: tuple[tuple[str, str], ...] = utbms.EXPENSE_CODES
#: The firm's own codes a PI firm starts with.
FIRM_COST_CODES: tuple[tuple[str, str], ...] = (
    ("MEDREC", "Medical records"),
    ("POLICE", "Police report"),
    ("FILING", "Filing fee"),
)


def validate_password(password: str, *, field: str = "password") -> None:
    """The books' rule (``casebridge.books.services.auth.validate_password``), word for word."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters", field=field
        )


def _clean_email(email: str) -> str:
    email = email.strip()
    if not EMAIL_RE.match(email):
        raise ValidationFailed(f"{email!r} is not a valid email address", field="email")
    return email


@transaction.atomic
def firm_create(*, code: str, name: str) -> Firm:
    """A new firm with Personal Injury as its default case type and the cost codes."""
    code = code.strip().lower()
    if not code or not code.replace("-", "").isalnum():
        raise ValidationFailed("firm ID must be letters, digits and dashes", field="code")
    if Firm.objects.filter(code=code).exists():
        raise ValidationFailed(f"firm ID {code} is taken", field="code")
    firm = Firm.objects.create(code=code, name=plain_line(name.strip(), field="name") or code)
    CaseType.objects.create(firm=firm, name="Personal Injury", is_default=True)
    CostCode.objects.bulk_create(
        [CostCode(firm=firm, code=c, name=n, is_utbms=True) for c, n in UTBMS_EXPENSE_CODES]
        + [CostCode(firm=firm, code=c, name=n) for c, n in FIRM_COST_CODES]
    )
    limitation_rules_seed(firm=firm)
    cases_audit(
        firm_id=firm.pk,
        actor=None,
        action="create",
        entity_type="firm",
        entity_id=firm.pk,
        summary=f"Firm {firm.name} created",
    )
    return firm


PERMISSION_FIELDS = (
    "is_firm_admin",
    "is_attorney",
    "perm_admin_settings",
    "perm_costs_management",
    "perm_deposit_settlement",
    "is_active",
)


def _check_names(values: dict[str, Any]) -> None:
    """A user's names print on statements and in the audit trail."""
    for name in ("first_name", "last_name"):
        if isinstance(values.get(name), str):
            plain_line(values[name], field=name)


@transaction.atomic
def user_create(
    *,
    firm: Firm,
    actor: User | None,
    email: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    must_change_password: bool = False,
    **flags: bool,
) -> User:
    """Add a user. ``actor=None`` is the system (firm set-up); otherwise the actor needs
    Account Settings access. ``must_change_password``: the password is a temporary one
    the actor chose (the screens and the API), replaced by the user at their first
    sign-in."""
    if actor is not None:
        require_settings_access(actor)
    unknown = set(flags) - set(PERMISSION_FIELDS)
    if unknown:
        raise ValidationFailed(f"unknown user settings: {', '.join(sorted(unknown))}")
    email = _clean_email(email)
    _check_names({"first_name": first_name, "last_name": last_name})
    validate_password(password)
    if User.objects.filter(firm=firm, email__iexact=email).exists():
        raise ValidationFailed(
            f"a user with email {email} already exists; use another email or edit that user",
            field="email",
        )
    if flags.get("is_firm_admin") and actor is not None and not actor.is_firm_admin:
        raise ValidationFailed(
            "only a firm administrator can make another administrator", field="is_firm_admin"
        )
    user = User.objects.create(
        firm=firm,
        email=email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        password=make_password(password),
        must_change_password=must_change_password,
        **flags,
    )
    after: dict[str, Any] = {"email": email, **flags}
    if must_change_password:
        after["must_change_password"] = True
    cases_audit(
        firm_id=firm.pk,
        actor=actor,
        action="create",
        entity_type="user",
        entity_id=user.pk,
        summary=f"User {email} added",
        after=after,
    )
    return user


@transaction.atomic
def user_update(*, user: User, actor: User, **changes: Any) -> User:
    """Change a user's name, email, attorney flag and permissions (Account Settings)."""
    require_settings_access(actor)
    allowed = {"first_name", "last_name", "email", *PERMISSION_FIELDS}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed(f"cannot change {', '.join(sorted(unknown))}")
    if user.firm_id != actor.firm_id:
        raise ValidationFailed("user not found in this firm")
    _check_names(changes)
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_firm_admin and user.pk != actor.pk and not actor.is_firm_admin:
        # else a holder of the settings permission could lock every administrator out
        raise PermissionDenied(
            "only a firm administrator can change an administrator's account",
            permission="firm_admin",
        )
    if "email" in changes:
        changes["email"] = _clean_email(str(changes["email"]))
        if (
            User.objects.filter(firm_id=user.firm_id, email__iexact=changes["email"])
            .exclude(pk=user.pk)
            .exists()
        ):
            raise ValidationFailed(
                f"a user with email {changes['email']} already exists; use another email",
                field="email",
            )
    if "is_firm_admin" in changes and changes["is_firm_admin"] != user.is_firm_admin:
        if not actor.is_firm_admin:
            raise ValidationFailed(
                "only a firm administrator can change who is an administrator",
                field="is_firm_admin",
            )
        if user.pk == actor.pk and not changes["is_firm_admin"]:
            raise ValidationFailed(
                "you cannot remove your own administrator role; ask another administrator",
                field="is_firm_admin",
            )
    if changes.get("is_active") is False and user.pk == actor.pk:
        raise ValidationFailed(
            "you cannot deactivate yourself; ask another administrator", field="is_active"
        )
    before = {k: getattr(user, k) for k in changes}
    for key, value in changes.items():
        setattr(user, key, value)
    user.save(update_fields=list(changes))
    after = {k: getattr(user, k) for k in changes}
    if before != after:
        cases_audit(
            firm_id=user.firm_id,
            actor=actor,
            action="change",
            entity_type="user",
            entity_id=user.pk,
            summary=f"User {user.email} changed",
            before=before,
            after=after,
        )
    return user


def user_authenticate(*, firm_code: str, email: str, password: str, ip_address: str = "") -> User:
    """Check a sign-in (screens and API). Throttled first (:mod:`casebridge.core.throttle`:
    429 with the wait). An unknown firm or user, a wrong password and a deactivated user are
    one refusal (:class:`SignInRefused`), after the same work: one password hash, against a
    dummy when there is no user; the audit trail (when the firm is known) says which."""
    firm_code = firm_code.strip().lower()
    username = email.strip().lower()
    attempt = throttle.SignInAttempt(
        scope="cases", firm_code=firm_code, username=username, address=ip_address
    )
    attempt.check()
    user = (
        User.objects.select_related("firm")
        .filter(firm__code=firm_code, email__iexact=username)
        .first()
        if firm_code and username
        else None
    )
    matches = password_matches(password, user.password if user is not None else None)
    if user is None or not matches or not user.is_active:
        attempt.failed()
        _audit_login_failed(firm_code, username, user, matches, ip_address)
        raise SignInRefused
    attempt.succeeded()
    user.last_login_at = clock.now()
    user.save(update_fields=["last_login_at"])
    cases_audit(
        firm_id=user.firm_id,
        actor=user,
        action="login",
        entity_type="user",
        entity_id=user.pk,
        summary=f"{user.email} logged in",
        ip_address=ip_address,
    )
    return user


def _audit_login_failed(
    firm_code: str, username: str, user: User | None, matches: bool, ip_address: str
) -> None:
    """A refused sign-in in the firm's audit trail, saying what the refusal did not (no
    firm, no trail)."""
    if user is not None:
        firm_id, entity_id = user.firm_id, str(user.pk)
        summary = "Wrong password" if not matches else "Deactivated user"
    else:
        firm = Firm.objects.filter(code=firm_code).first() if firm_code else None
        if firm is None:
            return
        firm_id, entity_id, summary = firm.pk, "", f"Unknown user {username}"
    audit_record(
        system="cases",
        firm_id=firm_id,
        action="login_failed",
        entity_type="user",
        entity_id=entity_id,
        actor_label=username,
        ip_address=ip_address,
        summary=summary,
    )


def _user_audit(
    user: User, action: str, summary: str, actor: User | None = None, ip_address: str = ""
) -> None:
    cases_audit(
        firm_id=user.firm_id,
        actor=actor or user,
        action=action,
        entity_type="user",
        entity_id=user.pk,
        summary=summary,
        ip_address=ip_address,
    )


def password_change(
    *, user: User, current_password: str, new_password: str, ip_address: str = ""
) -> User:
    """The user changes their own password (My account, or the sign-in after an
    administrator's reset). A wrong current password is a guess at the password: it counts
    as a failed sign-in of the account (:mod:`casebridge.core.throttle`), and while the
    account backs off the change is refused (429) before the password is looked at, so a
    session left open is no way round the sign-in's throttle. Every other session of the
    user ends (:mod:`casebridge.web.sessions`)."""
    attempt = throttle.SignInAttempt(
        scope="cases", firm_code=user.firm.code, username=user.email, address=ip_address
    )
    attempt.check()
    if not check_password(current_password, user.password):
        refusal = ValidationFailed("the current password is not right", field="current_password")
        raise attempt.failed_with(refusal)
    return _password_change(user=user, new_password=new_password, ip_address=ip_address)


@transaction.atomic
def _password_change(*, user: User, new_password: str, ip_address: str) -> User:
    validate_password(new_password, field="new_password")
    if check_password(new_password, user.password):
        raise ValidationFailed("choose a new password, not the current one", field="new_password")
    user.password = make_password(new_password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    _user_audit(
        user, "password_change", f"{user.email} changed their password", ip_address=ip_address
    )
    return user


@transaction.atomic
def password_reset_by_admin(*, user: User, actor: User, temporary_password: str) -> User:
    """A firm administrator sets a temporary password; the user must choose a new one at
    the next sign-in. The user's API tokens stop working."""
    require_admin(actor, "reset a password")
    if actor.firm_id != user.firm_id:
        raise ValidationFailed("user not found in this firm", field="user")
    if user.pk == actor.pk:
        raise ValidationFailed(
            "change your own password under My account", field="temporary_password"
        )
    validate_password(temporary_password, field="temporary_password")
    user.password = make_password(temporary_password)
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password"])
    ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=clock.now())
    _user_audit(
        user,
        "password_reset",
        f"Password of {user.email} reset by {actor.email} (to change at next sign-in)",
        actor=actor,
    )
    return user


RESET_SIDE = "cases"
RESET_SUBJECT = "Reset your Casebridge case management password"
RESET_LINK_REFUSED = "this reset link has expired or was already used; ask for a new one"


def password_reset_link_send(
    *, firm_code: str, email: str, link_base: str, ip_address: str = ""
) -> None:
    """Mail a reset link (signed, good for an hour, once) to an active user of the firm.
    Says nothing about whether the user exists: the caller answers the same either way."""
    if not passwords.email_configured():
        raise ValidationFailed("password reset by email is not set up here; ask an administrator")
    user = User.objects.filter(
        firm__code=firm_code.strip().lower(), email__iexact=email.strip(), is_active=True
    ).first()
    if user is None:
        return
    token = passwords.reset_token_make(RESET_SIDE, user.pk, user.password)
    minutes = passwords.RESET_LINK_SECONDS // 60
    send_mail(
        RESET_SUBJECT,
        f"Someone (we hope you) asked to reset the password of {user.email} in case "
        f"management.\n\nOpen this link within {minutes} minutes to choose a new one (it "
        f"works once):\n{link_base}{token}/\n\nIf you did not ask for it, ignore this "
        "message: your password stays as it is.\n",
        None,
        [user.email],
    )
    _user_audit(
        user,
        "password_reset_link_sent",
        f"Reset link mailed to {user.email}",
        ip_address=ip_address,
    )


def password_reset_link_user(token: str) -> User:
    """The user a reset link is good for, or the refusal."""
    found = passwords.reset_token_user_id(RESET_SIDE, token)
    user = User.objects.filter(pk=found[0], is_active=True).first() if found else None
    if user is None or found is None or not passwords.reset_token_matches(found[1], user.password):
        raise ValidationFailed(RESET_LINK_REFUSED, field="token")
    return user


@transaction.atomic
def password_reset_by_link(*, token: str, new_password: str, ip_address: str = "") -> User:
    user = password_reset_link_user(token)
    user = User.objects.select_for_update().get(pk=user.pk)
    password_reset_link_user(token)  # again under the lock: a link works once
    validate_password(new_password, field="new_password")
    user.password = make_password(new_password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    # a reset is what someone does who fears their password is known: its tokens go too
    ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=clock.now())
    _user_audit(
        user,
        "password_reset_by_link",
        f"{user.email} reset their password by email",
        ip_address=ip_address,
    )
    return user


@transaction.atomic
def firm_defaults_update(
    *,
    firm: Firm,
    actor: User,
    default_fee_rate_bp: int,
    default_copp_cents: int,
    default_property_damage_fee_cents: int,
    fee_changes_need_approval: bool,
) -> Firm:
    """Account Settings -> firm defaults for new settlements."""
    require_settings_access(actor)
    if not 0 <= default_fee_rate_bp <= 10000:
        raise ValidationFailed(
            "the fee percentage must be between 0 and 100", field="default_fee_rate"
        )
    if default_copp_cents < 0:
        raise ValidationFailed("COPP charges cannot be negative", field="default_copp")
    firm = Firm.objects.select_for_update(no_key=True).get(pk=firm.pk)
    fields = {
        "default_fee_rate_bp": default_fee_rate_bp,
        "default_copp_cents": default_copp_cents,
        "default_property_damage_fee_cents": default_property_damage_fee_cents,
        "fee_changes_need_approval": fee_changes_need_approval,
    }
    before = {k: getattr(firm, k) for k in fields}
    for k, v in fields.items():
        setattr(firm, k, v)
    firm.save(update_fields=list(fields))
    if before != fields:
        cases_audit(
            firm_id=firm.pk,
            actor=actor,
            action="change",
            entity_type="firm_defaults",
            entity_id=firm.pk,
            summary="Firm settlement defaults changed",
            before=before,
            after=fields,
        )
    return firm


@transaction.atomic
def firm_opening_date_set(*, firm: Firm, actor: User, opening_date: dt.date) -> Firm:
    """Account Settings -> Opening date (ADR 0007): no cost or deposit is dated before it.
    Refused after today, and after the firm's first cost or deposit (the firm would hold
    records from before its own opening)."""
    require_settings_access(actor)
    if actor.firm_id != firm.pk:
        raise ValidationFailed("user not found in this firm")
    locked = Firm.objects.select_for_update(no_key=True).get(pk=firm.pk)
    refusal = opening_date_refusal(
        opening_date,
        first_recorded=first_record_date(locked),
        holds="the firm has costs or deposits",
    )
    if refusal is not None:
        raise refusal
    before = locked.opening_date
    locked.opening_date = opening_date
    locked.save(update_fields=["opening_date"])
    if before != opening_date:
        cases_audit(
            firm_id=locked.pk,
            actor=actor,
            action="change",
            entity_type="firm",
            entity_id=locked.pk,
            summary=f"Opening date set to {opening_date}",
            before={"opening_date": before},
            after={"opening_date": opening_date},
        )
    return locked


@transaction.atomic
def firm_time_zone_set(*, firm: Firm, actor: User, time_zone: str) -> Firm:
    """Account Settings -> Time zone: what "today" is for the firm's people, its API
    clients and its nightly jobs (core/timezones.py). An IANA name, audited."""
    require_settings_access(actor)
    if actor.firm_id != firm.pk:
        raise ValidationFailed("user not found in this firm")
    zone = timezones.clean_zone(time_zone)
    locked = Firm.objects.select_for_update(no_key=True).get(pk=firm.pk)
    before = locked.time_zone
    locked.time_zone = zone
    locked.save(update_fields=["time_zone"])
    if before != zone:
        cases_audit(
            firm_id=locked.pk,
            actor=actor,
            action="change",
            entity_type="firm",
            entity_id=locked.pk,
            summary=f"Time zone set to {zone}",
            before={"time_zone": before},
            after={"time_zone": zone},
        )
    return locked


@transaction.atomic
def cost_code_create(*, firm: Firm, actor: User, code: str, name: str) -> CostCode:
    require_settings_access(actor)
    code, name = code.strip().upper(), name.strip()
    if not code or len(code) > 20:
        raise ValidationFailed("a code of 1 to 20 characters is required", field="code")
    if not name:
        raise ValidationFailed("a name is required", field="name")
    if CostCode.objects.filter(firm=firm, code__iexact=code).exists():
        raise ValidationFailed(f"cost code {code} already exists", field="code")
    cc = CostCode.objects.create(firm=firm, code=code, name=name[:120])
    cases_audit(
        firm_id=firm.pk,
        actor=actor,
        action="create",
        entity_type="cost_code",
        entity_id=cc.pk,
        summary=f"Cost code {code} added",
    )
    return cc
