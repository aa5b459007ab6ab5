"""The cases side's second factor at sign-in (issue 13): who must have one, enrolment, the
code at sign-in (screens and API), disabling, new recovery codes, an administrator's reset.

:func:`totp_required` is THE rule: firm administrators and whoever can move trust money.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from casebridge.cases.audit import cases_audit
from casebridge.cases.errors import DomainError, ValidationFailed
from casebridge.cases.models import ApiToken, Permission, RecoveryCode, User
from casebridge.cases.permissions import require_admin
from casebridge.core import clock, twofactor


def _audit(
    user: User,
    action: str,
    summary: str,
    actor: User | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ip_address: str = "",
) -> None:
    cases_audit(
        firm_id=user.firm_id,
        actor=actor or user,
        action=action,
        entity_type="user",
        entity_id=user.pk,
        summary=summary,
        before=before,
        after=after,
        ip_address=ip_address,
    )


def can_move_trust_money(user: User) -> bool:
    """Deposits and their voids, staging and unstaging trust payments, Push to Client Trust
    and Push to Disbursement all need Deposit settlement checks
    (:mod:`casebridge.cases.services.settlement`); a firm administrator holds it too."""
    return user.has_permission(Permission.DEPOSIT_SETTLEMENT)


def totp_required(user: User) -> bool:
    """Who must sign in with a TOTP code: firm administrators and whoever can move trust
    money."""
    return user.is_firm_admin or can_move_trust_money(user)


def totp_applies(user: User) -> bool:
    """Whether a sign-in asks for a code (or enrolment) before the session starts."""
    return user.has_totp or totp_required(user)


def totp_enrol(*, user: User, secret: str, code: str, now: dt.datetime | None = None) -> list[str]:
    """Keep ``secret`` once ``code`` shows the user's app has it; returns the ten recovery
    codes (shown once)."""
    was = user.has_totp
    codes = twofactor.enrol(
        user, secret=secret, code=code, recovery_model=RecoveryCode, now=now or clock.now()
    )
    _audit(user, "totp_reenrol" if was else "totp_enrol", f"{user.email} set up two-factor sign-in")
    return codes


def totp_set_known_secret(*, user: User, secret: str) -> list[str]:
    """Enrol a secret chosen elsewhere, without a code: the demo loader only."""
    codes = twofactor.set_secret(user, secret=secret, recovery_model=RecoveryCode, now=clock.now())
    _audit(user, "totp_enrol", f"{user.email} enrolled a known secret (demo)")
    return codes


def totp_check(
    *, user: User, code: str, ip_address: str = "", now: dt.datetime | None = None
) -> str:
    """A sign-in's second step: a TOTP code or a recovery code (see
    :func:`casebridge.core.twofactor.verify` for the refusals). Returns which was used."""
    if not user.has_totp:
        raise twofactor.NotEnrolled(
            f"{user.email} must set up two-factor sign-in first: sign in on the case "
            "management screens and follow the steps",
            field="totp",
        )
    try:
        used = twofactor.verify(user, code, recovery_model=RecoveryCode, now=now or clock.now())
    except (twofactor.CodeInvalid, twofactor.CodeReused, twofactor.TooManyCodes) as exc:
        _audit(user, "totp_failed", exc.message, ip_address=ip_address)
        raise
    if used == "recovery":
        left = recovery_codes_left(user)
        _audit(
            user,
            "recovery_code_use",
            f"{user.email} signed in with a recovery code ({left} left)",
            ip_address=ip_address,
        )
    return used


def totp_disable(*, user: User, code: str) -> None:
    """Turn an optional second factor off (a current code confirms it)."""
    if totp_required(user):
        raise ValidationFailed(
            "two-factor sign-in is required for you; you can set it up again, not turn it off",
            field="totp",
        )
    totp_check(user=user, code=code)
    twofactor.clear(user, recovery_model=RecoveryCode)
    _audit(user, "totp_disable", f"{user.email} turned two-factor sign-in off")


def recovery_codes_regenerate(*, user: User) -> list[str]:
    if not user.has_totp:
        raise ValidationFailed("set up two-factor sign-in first", field="totp")
    codes = twofactor.recovery_regenerate(user, recovery_model=RecoveryCode, now=clock.now())
    _audit(user, "recovery_codes_regenerate", f"{user.email} made new recovery codes")
    return codes


def recovery_codes_left(user: User) -> int:
    return twofactor.recovery_left(user, recovery_model=RecoveryCode)


def token_user_refusal(user: User) -> DomainError | None:
    """Why a token's user may not use it now (core.twofactor.token_user_refusal)."""
    return twofactor.token_user_refusal(user, required=totp_required(user), screens="the screens")


def totp_reset(*, user: User, actor: User) -> User:
    """A firm administrator clears another user's second factor (a lost phone): the user
    sets it up again at the next sign-in (when it is required)."""
    require_admin(actor, "reset two-factor sign-in")
    if actor.firm_id != user.firm_id:
        raise ValidationFailed("user not found in this firm", field="user")
    if user.pk == actor.pk:
        raise ValidationFailed(
            "you cannot reset your own two-factor sign-in; set it up again under My account",
            field="user",
        )
    had = user.has_totp
    twofactor.clear(user, recovery_model=RecoveryCode)
    twofactor.failures_clear(twofactor.side_of(user), user.pk)
    # a lost phone may be in someone else's hands: the tokens it signed in go too
    ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=clock.now())
    _audit(
        user,
        "totp_reset",
        f"Two-factor sign-in of {user.email} reset by {actor.email}",
        actor=actor,
        before={"totp": had},
        after={"totp": False},
    )
    return user
