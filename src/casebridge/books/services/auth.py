"""Users, logins, the security question, and integration tokens.

- Passwords and security answers are hashed with Django's hashers; an answer is compared
  after folding case and collapsing whitespace ("  Fluffy   the CAT" == "fluffy the cat").
- A user is "authenticated for integrations" only after enrolling a security question.
- An integration token is 32 random bytes shown once; only its SHA-256 is stored. It lapses
  30 days after issue: using it then raises :class:`ReauthenticationRequired`, which an API
  client can tell apart from a wrong password (:class:`SignInRefused`).
- Logins are throttled per account, per client address and per pair, without a lock a
  stranger could hold (:mod:`casebridge.core.throttle`, ADR 0017); every refusal reads the
  same whichever part was wrong (:class:`~casebridge.core.errors.SignInRefused`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.mail import send_mail
from django.db import IntegrityError, transaction

from casebridge.books.errors import (
    AdminRequired,
    AuthenticationFailed,
    InvalidToken,
    ReauthenticationRequired,
    SecurityQuestionAlreadyEnrolled,
    SecurityQuestionNotEnrolled,
    SignInRefused,
    ValidationFailed,
)
from casebridge.books.models import Firm, IntegrationToken, LoginAttempt, Role, User
from casebridge.core import clock, passwords, throttle, twofactor
from casebridge.core.audit import audit_record
from casebridge.core.signin import password_matches
from casebridge.core.text import plain_line

BEARER_PREFIX = "cbb_"
MIN_PASSWORD_LENGTH = 10
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_answer(answer: str) -> str:
    return " ".join(answer.split()).casefold()


def _audit_user(
    user: User,
    action: str,
    actor: User | None,
    ip: str = "",
    *,
    summary: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    audit_record(
        system="books",
        firm_id=user.firm_id,
        action=action,
        entity_type="user",
        entity_id=user.pk,
        actor_id=actor.pk if actor else user.pk,
        actor_label=actor.email if actor else user.email,
        ip_address=ip,
        summary=summary,
        before=before,
        after=after,
    )


def validate_password(password: str, *, field: str = "password") -> None:
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
def user_create(
    *,
    firm: Firm,
    email: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    initials: str = "",
    is_admin: bool = False,
    records_time: bool = False,
    gl_account_extension: str = "",
    is_integration_user: bool = False,
    is_attorney: bool = False,
    role: Role | str | None = None,
    actor: User | None = None,
    must_change_password: bool = False,
) -> User:
    """A new user. ``role`` defaults to administrator for ``is_admin``, else accountant
    (as the migration that introduced roles made everyone who was not an administrator);
    given, it decides ``is_admin``. ``actor`` None is the system (the seed, a command)."""
    if actor is not None and (
        not actor.is_admin or not actor.is_active or actor.firm_id != firm.pk
    ):
        raise AdminRequired("only a books administrator can add a user")
    role = _role_of(role, field="role") if role is not None else None
    if role is None:
        role = Role.ADMINISTRATOR if is_admin else Role.ACCOUNTANT
    is_admin = role == Role.ADMINISTRATOR
    email = _clean_email(email)
    _check_names({"first_name": first_name, "last_name": last_name, "initials": initials})
    validate_password(password)
    if User.objects.filter(firm=firm, email__iexact=email).exists():
        raise ValidationFailed(
            f"a user with email {email} already exists in this firm", field="email"
        )
    if is_integration_user:
        _refuse_second_integration_user(firm.pk, exclude_pk=None)
    initials = initials.strip().upper() or "".join(p[:1] for p in (first_name, last_name)).upper()
    user = User.objects.create(
        firm=firm,
        email=email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        initials=initials[:8],
        is_admin=is_admin,
        role=role,
        records_time=records_time,
        is_attorney=is_attorney,
        gl_account_extension=gl_account_extension.strip(),
        is_integration_user=is_integration_user,
        password=make_password(password),
        must_change_password=must_change_password,
    )
    after: dict[str, Any] = {
        "email": email,
        "is_admin": is_admin,
        "role": role.value,
        "records_time": records_time,
    }
    if is_attorney:
        after["is_attorney"] = True
    if is_integration_user:
        after["is_integration_user"] = True
    if must_change_password:
        after["must_change_password"] = True
    _audit_user(user, "create", actor, summary=f"User {email} created", after=after)
    return user


#: A user's names print on invoices (the attorney's time entry) and in the audit trail.
_NAMES = ("first_name", "last_name", "initials")


def _check_names(values: dict[str, object]) -> None:
    for name in _NAMES:
        value = values.get(name)
        if isinstance(value, str):
            plain_line(value, field=name)


def _refuse_second_integration_user(firm_id: int, *, exclude_pk: int | None) -> None:
    """At most one designated integration user per firm (also a partial unique
    constraint): name the current one so the administrator knows whom to change."""
    others = User.objects.filter(firm_id=firm_id, is_integration_user=True)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    current = others.first()
    if current is not None:
        raise ValidationFailed(
            f"{current.email} is already the designated integration user of this firm; "
            "only one user per firm can be: turn it off for them first",
            field="is_integration_user",
        )


def _role_of(value: object, *, field: str) -> Role:
    try:
        return Role(str(value))
    except ValueError:
        raise ValidationFailed(
            f"unknown role {value!r}; choose one of {', '.join(Role.values)}", field=field
        ) from None


USER_EDITABLE = (
    "first_name",
    "last_name",
    "initials",
    "email",
    "is_admin",
    "role",
    "records_time",
    "is_attorney",
    "gl_account_extension",
    "is_active",
    "is_integration_user",
)


@transaction.atomic
def user_update(*, user: User, actor: User, **changes: object) -> User:
    """Change a user's profile or accounting settings (Users -> pencil). ``role`` sets
    ``is_admin`` with it; ``is_admin`` alone makes an administrator, or takes it away
    (the user becomes an accountant). Role changes are audited like every change."""
    if not actor.is_admin or not actor.is_active or actor.firm_id != user.firm_id:
        raise AdminRequired("only a books administrator can change a user")
    unknown = set(changes) - set(USER_EDITABLE)
    if unknown:
        raise ValidationFailed(f"cannot change {', '.join(sorted(unknown))}")
    _check_names(changes)
    user = User.objects.select_for_update().get(pk=user.pk)
    if "role" in changes:
        role = _role_of(changes["role"], field="role")
        if "is_admin" in changes and bool(changes["is_admin"]) != (role == Role.ADMINISTRATOR):
            raise ValidationFailed(
                "is_admin and role disagree: the administrator flag is the administrator role",
                field="role",
            )
        changes["role"] = role.value
        changes["is_admin"] = role == Role.ADMINISTRATOR
    elif "is_admin" in changes:
        if changes["is_admin"]:
            changes["role"] = Role.ADMINISTRATOR.value
        elif user.role == Role.ADMINISTRATOR:
            changes["role"] = Role.ACCOUNTANT.value
    if changes.get("role") == user.role:
        changes.pop("role")
        changes.pop("is_admin", None)
    before = {k: getattr(user, k) for k in changes}
    if "email" in changes:
        email = _clean_email(str(changes["email"]))
        if (
            User.objects.filter(firm_id=user.firm_id, email__iexact=email)
            .exclude(pk=user.pk)
            .exists()
        ):
            raise ValidationFailed(
                f"a user with email {email} already exists in this firm", field="email"
            )
        changes["email"] = email
    if changes.get("is_admin") is False and user.is_admin and user.pk == actor.pk:
        field = "role" if "role" in changes else "is_admin"
        raise ValidationFailed("you cannot remove your own administrator role", field=field)
    if changes.get("is_active") is False and user.pk == actor.pk:
        raise ValidationFailed("you cannot deactivate yourself", field="is_active")
    if changes.get("is_integration_user") is True and not user.is_integration_user:
        _refuse_second_integration_user(user.firm_id, exclude_pk=user.pk)
    for key, value in changes.items():
        setattr(user, key, value)
    try:
        with transaction.atomic():
            user.save(update_fields=list(changes))
    except IntegrityError:
        if changes.get("is_integration_user") is True:  # another user was made it meanwhile
            _refuse_second_integration_user(user.firm_id, exclude_pk=user.pk)
        raise
    after = {k: getattr(user, k) for k in changes}
    if before != after:
        _audit_user(
            user, "change", actor, summary=f"User {user.email} changed", before=before, after=after
        )
    return user


@transaction.atomic
def user_set_password(*, user: User, password: str, actor: User) -> None:
    validate_password(password)
    user.password = make_password(password)
    user.save(update_fields=["password"])
    IntegrationToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=clock.now()
    )
    _audit_user(user, "password_change", actor, summary=f"Password of {user.email} changed")


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
        scope="books", firm_code=user.firm.code, username=user.email, address=ip_address
    )
    attempt.check()
    if not check_password(current_password, user.password):
        refusal = AuthenticationFailed(
            "the current password is not right", field="current_password"
        )
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
    _audit_user(
        user, "password_change", None, ip_address, summary=f"{user.email} changed their password"
    )
    return user


@transaction.atomic
def password_reset_by_admin(*, user: User, actor: User, temporary_password: str) -> User:
    """An administrator sets a temporary password; the user must choose a new one at the
    next sign-in. The user's API tokens stop working."""
    if not actor.is_admin or not actor.is_active or actor.firm_id != user.firm_id:
        raise AdminRequired("only a firm administrator can reset a password")
    if user.pk == actor.pk:
        raise ValidationFailed(
            "change your own password under My account", field="temporary_password"
        )
    validate_password(temporary_password, field="temporary_password")
    user.password = make_password(temporary_password)
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password"])
    IntegrationToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=clock.now()
    )
    _audit_user(
        user,
        "password_reset",
        actor,
        summary=f"Password of {user.email} reset by {actor.email} (to change at next sign-in)",
    )
    return user


RESET_SIDE = "books"
RESET_SUBJECT = "Reset your Casebridge Books password"


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
    link = f"{link_base}{token}/"
    minutes = passwords.RESET_LINK_SECONDS // 60
    send_mail(
        RESET_SUBJECT,
        f"Someone (we hope you) asked to reset the password of {user.email} in the books.\n\n"
        f"Open this link within {minutes} minutes to choose a new one (it works once):\n{link}\n\n"
        "If you did not ask for it, ignore this message: your password stays as it is.\n",
        None,
        [user.email],
    )
    _audit_user(
        user,
        "password_reset_link_sent",
        None,
        ip_address,
        summary=f"Reset link mailed to {user.email}",
    )


RESET_LINK_REFUSED = "this reset link has expired or was already used; ask for a new one"


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
    IntegrationToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=clock.now()
    )
    _audit_user(
        user,
        "password_reset_by_link",
        None,
        ip_address,
        summary=f"{user.email} reset their password by email",
    )
    return user


@transaction.atomic
def security_question_enroll(*, user: User, question: str, answer: str) -> User:
    question = question.strip()
    if len(question) < 5:
        raise ValidationFailed("choose or write a security question", field="question")
    normalised = normalise_answer(answer)
    if len(normalised) < 3:
        raise ValidationFailed("the answer must be at least 3 characters", field="answer")
    if normalised in normalise_answer(question):
        raise ValidationFailed("the answer must not appear in the question", field="answer")
    was_enrolled = user.is_enrolled
    user.security_question = question
    user.security_answer_hash = make_password(normalised)
    user.security_enrolled_at = clock.now()
    user.save(update_fields=["security_question", "security_answer_hash", "security_enrolled_at"])
    _audit_user(
        user,
        "security_question_change" if was_enrolled else "security_question_enroll",
        None,
        summary=f"{user.email} enrolled a security question",
        after={"question": question},
    )
    return user


def security_question_enroll_signing_in(
    *,
    firm_code: str,
    email: str,
    password: str,
    question: str,
    answer: str,
    totp: str = "",
    ip_address: str = "",
) -> User:
    """The API twin of the first sign-in's enrolment screen: the password (throttled and
    non-enumerating like every sign-in), the second factor of a person who has one, then
    the question. Only the first enrolment: a question is changed signed in, on the
    screens (409 ``security_question_already_enrolled``). Not atomic on purpose, like
    :func:`integration_session_create`: a failed attempt stays recorded."""
    from casebridge.books.services import two_factor  # the two modules call each other

    user = user_authenticate(
        firm_code=firm_code, email=email, password=password, ip_address=ip_address
    )
    if two_factor.totp_applies(user):
        two_factor.totp_check(user=user, code=totp, ip_address=ip_address)
    if user.is_enrolled:
        raise SecurityQuestionAlreadyEnrolled(
            f"{user.email} has enrolled a security question already: change it signed in, "
            "under My account"
        )
    return security_question_enroll(user=user, question=question, answer=answer)


def security_answer_matches(*, user: User, answer: str) -> bool:
    return bool(user.security_answer_hash) and check_password(
        normalise_answer(answer), user.security_answer_hash
    )


def user_authenticate(
    *,
    firm_code: str,
    email: str,
    password: str,
    ip_address: str = "",
    now: dt.datetime | None = None,
) -> User:
    """Check a login (web or API). Throttled first (:mod:`casebridge.core.throttle`: 429
    with the wait); every checked attempt is recorded (a LoginAttempt, kept even when the
    login fails, and an audit event when the firm is known). An unknown firm or user, a
    wrong password and a deactivated user are one refusal (:class:`SignInRefused`), after
    the same work: one password hash, against a dummy when there is no user."""
    now = now or clock.now()
    firm_code = firm_code.strip().lower()
    username = email.strip().lower()
    if not firm_code or not username or not password:
        raise ValidationFailed("firm, username and password are all required")
    attempt = throttle.SignInAttempt(
        scope="books", firm_code=firm_code, username=username, address=ip_address
    )
    attempt.check(now)
    firm = Firm.objects.filter(code=firm_code).first()
    user = User.objects.filter(firm=firm, email__iexact=username).first() if firm else None
    matches = password_matches(password, user.password if user is not None else None)
    ok = user is not None and matches and user.is_active
    LoginAttempt.objects.create(
        firm_code=firm_code, username=username, ip_address=ip_address, succeeded=ok, at=now
    )
    if user is None or not ok:
        attempt.failed(now)
        if user is not None:
            reason = "Wrong password" if not matches else "Deactivated user"
            _audit_user(user, "login_failed", None, ip_address, summary=reason)
        elif firm is not None:
            audit_record(
                system="books",
                firm_id=firm.pk,
                action="login_failed",
                entity_type="user",
                actor_label=username,
                ip_address=ip_address,
                summary=f"Unknown user {username}",
            )
        raise SignInRefused
    attempt.succeeded(now)
    user.last_login_at = now
    user.save(update_fields=["last_login_at"])
    _audit_user(user, "login", None, ip_address, summary=f"{user.email} logged in")
    return user


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once; only its hash is stored
    expires_at: dt.datetime
    user_id: int


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def integration_session_create(
    *,
    firm_code: str,
    email: str,
    password: str,
    totp: str = "",
    security_answer: str = "",
    new_password: str = "",
    ip_address: str = "",
    now: dt.datetime | None = None,
) -> IssuedToken:
    """API login: check credentials, the second factor and enrollment, issue a 30-day token.

    The second factor: a person with a TOTP (or who must have one) sends ``totp`` (or a
    recovery code); the integration user sends ``security_answer`` when its token is
    renewed (a token was issued to it before). A user whose password an administrator
    reset sends ``new_password``.

    Not atomic on purpose: a failed attempt must stay recorded (LoginAttempt, audit)."""
    from casebridge.books.services import two_factor  # the two modules call each other

    now = now or clock.now()
    user = user_authenticate(
        firm_code=firm_code, email=email, password=password, ip_address=ip_address, now=now
    )
    if not user.is_enrolled:
        raise SecurityQuestionNotEnrolled(
            f"{user.email} has not enrolled a security question: log into the books as this "
            "user and set one first"
        )
    if user.is_integration_user:
        two_factor.security_answer_check(user=user, answer=security_answer, ip_address=ip_address)
    elif two_factor.totp_applies(user):
        two_factor.totp_check(user=user, code=totp, ip_address=ip_address, now=now)
    if user.must_change_password:
        if not new_password:
            raise twofactor.PasswordChangeRequired(
                f"the password of {user.email} is a temporary one an administrator set: send "
                "new_password to choose a new one",
                field="new_password",
            )
        user = password_change(
            user=user, current_password=password, new_password=new_password, ip_address=ip_address
        )
    token = BEARER_PREFIX + secrets.token_urlsafe(32)
    expires = now + dt.timedelta(days=settings.BOOKS_TOKEN_LIFETIME_DAYS)
    tok = IntegrationToken.objects.create(
        firm_id=user.firm_id,
        user=user,
        token_hash=_hash(token),
        prefix=token[:10],
        issued_at=now,
        expires_at=expires,
    )
    _audit_user(
        user,
        "token_issue",
        None,
        ip_address,
        summary=f"Integration token {tok.prefix} issued",
        after={"expires_at": expires},
    )
    return IssuedToken(token=token, expires_at=expires, user_id=user.pk)


def integration_token_resolve(*, token: str, now: dt.datetime | None = None) -> IntegrationToken:
    """The live token for a bearer string, or the reason it is not live."""
    now = now or clock.now()
    tok = (
        IntegrationToken.objects.select_related("user", "firm")
        .filter(token_hash=_hash(token))
        .first()
    )
    if tok is None or tok.revoked_at is not None or not tok.user.is_active:
        raise InvalidToken("the token is not valid or has been revoked; log in again")
    if tok.expires_at <= now:
        raise ReauthenticationRequired(
            f"the integration session lapsed on {tok.expires_at:%Y-%m-%d}; log in again with "
            "the integration user's password"
        )
    if tok.last_used_at is None or now - tok.last_used_at > dt.timedelta(minutes=5):
        IntegrationToken.objects.filter(pk=tok.pk).update(last_used_at=now)
    return tok


@transaction.atomic
def integration_token_revoke(*, token: IntegrationToken, actor: User) -> None:
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        token.save(update_fields=["revoked_at"])
        _audit_user(token.user, "token_revoke", actor, summary=f"Token {token.prefix} revoked")
