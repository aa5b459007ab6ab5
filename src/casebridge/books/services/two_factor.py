"""The books' second factor at sign-in (issue 13): who must have one, enrolment, the code
at sign-in (screens and API), disabling, new recovery codes, an administrator's reset.

:func:`totp_required` is THE rule. The integration user never has a TOTP: it keeps the
seed's security question + token flow (:func:`security_answer_check`).
"""

from __future__ import annotations

import datetime as dt

from casebridge.books.errors import (
    AdminRequired,
    AuthenticationFailed,
    DomainError,
    ValidationFailed,
)
from casebridge.books.models import IntegrationToken, RecoveryCode, User
from casebridge.books.services import auth as auth_services
from casebridge.core import clock, twofactor


class SecurityAnswerRequired(AuthenticationFailed):
    code = "security_answer_required"


class SecurityAnswerWrong(AuthenticationFailed):
    code = "security_answer_invalid"


def can_move_trust_money(user: User) -> bool:
    """Posting or printing checks and recording trust receipts. Today every books person
    can (there are no roles yet); when roles arrive, narrow it here, and only here."""
    return not user.is_integration_user


def totp_required(user: User) -> bool:
    """Who must sign in with a TOTP code: administrators and everyone who can move trust
    money, never the integration user."""
    if user.is_integration_user:
        return False
    return user.is_admin or can_move_trust_money(user)


def totp_applies(user: User) -> bool:
    """Whether a sign-in asks for a code (or, when it must and there is none yet, for
    enrolment) before the session starts."""
    if user.is_integration_user:
        return False
    return user.has_totp or totp_required(user)


def _refuse_integration_user(user: User) -> None:
    if user.is_integration_user:
        raise ValidationFailed(
            "the integration user signs in with its security question, not a TOTP code",
            field="totp",
        )


def totp_enrol(*, user: User, secret: str, code: str, now: dt.datetime | None = None) -> list[str]:
    """Keep ``secret`` once ``code`` shows the user's app has it; returns the ten recovery
    codes (shown once)."""
    _refuse_integration_user(user)
    now = now or clock.now()
    was = user.has_totp
    codes = twofactor.enrol(user, secret=secret, code=code, recovery_model=RecoveryCode, now=now)
    auth_services._audit_user(
        user,
        "totp_reenrol" if was else "totp_enrol",
        None,
        summary=f"{user.email} set up two-factor sign-in",
    )
    return codes


def totp_set_known_secret(*, user: User, secret: str) -> list[str]:
    """Enrol a secret chosen elsewhere, without a code: the demo loader only."""
    _refuse_integration_user(user)
    codes = twofactor.set_secret(user, secret=secret, recovery_model=RecoveryCode, now=clock.now())
    auth_services._audit_user(
        user, "totp_enrol", None, summary=f"{user.email} enrolled a known secret (demo)"
    )
    return codes


def totp_check(
    *, user: User, code: str, ip_address: str = "", now: dt.datetime | None = None
) -> str:
    """A sign-in's second step: a TOTP code or a recovery code (see
    :func:`casebridge.core.twofactor.verify` for the refusals). Returns which was used."""
    now = now or clock.now()
    if not user.has_totp:
        raise twofactor.NotEnrolled(
            f"{user.email} must set up two-factor sign-in first: sign in on the books' "
            "screens and follow the steps",
            field="totp",
        )
    try:
        used = twofactor.verify(user, code, recovery_model=RecoveryCode, now=now)
    except (twofactor.CodeInvalid, twofactor.CodeReused, twofactor.TooManyCodes) as exc:
        auth_services._audit_user(user, "totp_failed", None, ip_address, summary=exc.message)
        raise
    if used == "recovery":
        left = twofactor.recovery_left(user, recovery_model=RecoveryCode)
        auth_services._audit_user(
            user,
            "recovery_code_use",
            None,
            ip_address,
            summary=f"{user.email} signed in with a recovery code ({left} left)",
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
    auth_services._audit_user(
        user, "totp_disable", None, summary=f"{user.email} turned two-factor sign-in off"
    )


def recovery_codes_regenerate(*, user: User) -> list[str]:
    if not user.has_totp:
        raise ValidationFailed("set up two-factor sign-in first", field="totp")
    codes = twofactor.recovery_regenerate(user, recovery_model=RecoveryCode, now=clock.now())
    auth_services._audit_user(
        user, "recovery_codes_regenerate", None, summary=f"{user.email} made new recovery codes"
    )
    return codes


def recovery_codes_left(user: User) -> int:
    return twofactor.recovery_left(user, recovery_model=RecoveryCode)


def token_user_refusal(user: User) -> DomainError | None:
    """Why a token's user may not use it now (core.twofactor.token_user_refusal)."""
    return twofactor.token_user_refusal(
        user, required=totp_required(user), screens="the books' screens"
    )


def totp_reset(*, user: User, actor: User) -> User:
    """An administrator clears another user's second factor (a lost phone): the user sets
    it up again at the next sign-in (when it is required)."""
    if not actor.is_admin or actor.firm_id != user.firm_id or not actor.is_active:
        raise AdminRequired("only a firm administrator can reset two-factor sign-in")
    if user.pk == actor.pk:
        raise ValidationFailed(
            "you cannot reset your own two-factor sign-in; set it up again under My account",
            field="user",
        )
    had = user.has_totp
    twofactor.clear(user, recovery_model=RecoveryCode)
    twofactor.failures_clear(twofactor.side_of(user), user.pk)
    # a lost phone may be in someone else's hands: the tokens it signed in go too
    IntegrationToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=clock.now()
    )
    auth_services._audit_user(
        user,
        "totp_reset",
        actor,
        summary=f"Two-factor sign-in of {user.email} reset by {actor.email}",
        before={"totp": had},
        after={"totp": False},
    )
    return user


def security_answer_check(*, user: User, answer: str, ip_address: str = "") -> None:
    """The integration user's renewal (a token issued before): its security question is
    asked again. Wrong answers count with wrong codes."""
    if not IntegrationToken.objects.filter(user=user).exists():
        return  # the first sign-in: the seed's flow, password only
    side = twofactor.side_of(user)
    twofactor.refuse_if_locked(side, user.pk)
    if not answer.strip():
        raise SecurityAnswerRequired(
            f"renewing the integration session needs the answer to {user.email}'s security "
            f"question: {user.security_question}",
            field="security_answer",
            question=user.security_question,
        )
    twofactor.attempt_reserve(side, user.pk)
    if not auth_services.security_answer_matches(user=user, answer=answer):
        auth_services._audit_user(
            user, "security_answer_failed", None, ip_address, summary="Wrong security answer"
        )
        raise SecurityAnswerWrong(
            f"that is not the answer to the security question: {user.security_question}",
            field="security_answer",
            question=user.security_question,
        )
    twofactor.failures_clear(side, user.pk)
