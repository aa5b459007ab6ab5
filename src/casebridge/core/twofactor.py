"""The second factor both sides share: TOTP codes (RFC 6238 via pyotp), recovery codes,
the secret at rest, the QR code, and the count of wrong codes.

Each side keeps its own columns (its user table) and calls these plain functions:

- A secret is 32 base32 characters (160 bits), kept Fernet-encrypted with a key derived
  from ``SECRET_KEY`` (``SECRET_KEY_FALLBACKS`` still decrypt, so the key can be rotated;
  a secret that no key reads asks the user to enrol again).
- :func:`totp_match` accepts the code of the current 30-second step or of the steps either
  side (clock drift) and returns the step's counter; the caller stores it and refuses any
  counter not above the last one used, so a code is good once.
- Recovery codes: ten of ``xxxxx-xxxxx`` (base32, 50 bits each), shown once; only their
  SHA-256 is stored, each used once.
- Wrong codes count per user in the cache (:func:`failure_count` / :func:`failure_add`):
  after :data:`MAX_FAILURES` within :data:`LOCK_SECONDS` further codes are refused with
  429 until the window passes (what the password throttle does for passwords).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction
from django.db.models import Q

from casebridge.core.errors import DomainError, PermissionDenied

#: The issuer name authenticator apps show beside the account.
ISSUER = "Casebridge"
RECOVERY_CODE_COUNT = 10
MAX_FAILURES = 5
LOCK_SECONDS = 900
#: A sign-in between the password and the code lasts this long.
PENDING_SECONDS = 300
#: The demo firm's people all share this secret (``make run`` prints how to compute a
#: code). Never used outside the demo loaders and the tests.
DEMO_TOTP_KEY = "JBSWY3DPEHPK3PXPCASEBRIDGEDEMO23"


class CodeRequired(DomainError):
    code = "totp_required"
    http_status = 401


class CodeInvalid(DomainError):
    code = "totp_invalid"
    http_status = 401


class CodeReused(DomainError):
    code = "totp_reused"
    http_status = 401


class TooManyCodes(DomainError):
    code = "too_many_attempts"
    http_status = 429


class NotEnrolled(PermissionDenied):
    code = "totp_not_enrolled"


class PasswordChangeRequired(PermissionDenied):
    code = "password_change_required"


def token_user_refusal(user: Any, *, required: bool, screens: str) -> DomainError | None:
    """Why a token's user (either side's) may not use it now, whatever the token says: a
    password an administrator reset, or a second factor ``required`` since (a reset, a new
    permission or role) and not set up; ``screens`` names where to set it up."""
    if user.must_change_password:
        return PasswordChangeRequired(
            f"an administrator reset the password of {user.email}: sign in again with it and "
            "choose a new one",
            field="new_password",
        )
    if required and not user.has_totp:
        return NotEnrolled(
            f"{user.email} must set up two-factor sign-in first: sign in on {screens} and "
            "follow the steps",
            field="totp",
        )
    return None


MISSING_MESSAGE = (
    "type the 6-digit code your authenticator app shows (or one of your recovery codes)"
)
WRONG_MESSAGE = "that code is not right; type the 6-digit code your authenticator app shows now"
REUSED_MESSAGE = "that code was already used; wait for the next code in your authenticator app"
RECOVERY_USED_MESSAGE = "that recovery code was already used; each one works once"
ENROL_WRONG_MESSAGE = (
    "that code does not match the new secret; check your authenticator app's clock and type "
    "the code it shows now"
)


# --- the secret at rest ------------------------------------------------------------------


def _fernet() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet(
        [
            Fernet(
                base64.urlsafe_b64encode(
                    hashlib.sha256(f"casebridge-two-factor:{key}".encode()).digest()
                )
            )
            for key in keys
        ]
    )


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(ciphertext: str) -> str | None:
    """The secret, or None when no configured key reads it (the user enrols again)."""
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        return None


# --- codes -------------------------------------------------------------------------------


def new_secret() -> str:
    return pyotp.random_base32(32)


def clean_code(code: str) -> str:
    """What was typed, without spaces and dashes, lower case."""
    return "".join(ch for ch in code if ch not in " -\t").lower()


def is_totp_shaped(code: str) -> bool:
    cleaned = clean_code(code)
    return len(cleaned) == 6 and cleaned.isascii() and cleaned.isdigit()


def totp_match(secret: str, code: str, now: dt.datetime) -> int | None:
    """The counter of the 30-second step whose code ``code`` is (this step or one either
    side), or None."""
    cleaned = clean_code(code)
    if not is_totp_shaped(cleaned):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for counter in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(counter), cleaned):
            return counter
    return None


def provisioning_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The otpauth:// URI as an inline SVG (no external request, no script)."""
    return str(segno.make(uri, error="m").svg_inline(scale=4, border=2))


def secret_grouped(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def new_recovery_codes() -> list[str]:
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(alphabet) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def recovery_hash(code: str) -> str:
    return hashlib.sha256(clean_code(code).encode()).hexdigest()


# --- wrong codes ---------------------------------------------------------------------------


def _failure_key(side: str, user_id: int) -> str:
    return f"twofactor-failures:{side}:{user_id}"


def failure_count(side: str, user_id: int) -> int:
    return int(cache.get(_failure_key(side, user_id), 0))


def refuse_if_locked(side: str, user_id: int) -> None:
    if failure_count(side, user_id) >= MAX_FAILURES:
        minutes = LOCK_SECONDS // 60
        raise TooManyCodes(
            f"too many wrong codes; sign in again in {minutes} minutes",
            field="totp",
            retry_after=LOCK_SECONDS,
        )


def failure_add(side: str, user_id: int) -> int:
    key = _failure_key(side, user_id)
    if cache.add(key, 1, LOCK_SECONDS):
        return 1
    try:
        count = int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, LOCK_SECONDS)
        return 1
    cache.touch(key, LOCK_SECONDS)  # the database cache's incr sets its default timeout
    return count


def attempt_reserve(side: str, user_id: int) -> None:
    """Count an attempt before it is checked (a right one clears the count): guesses sent
    in parallel each take their own place in the count instead of all reading it below the
    limit first. Past :data:`MAX_FAILURES` within :data:`LOCK_SECONDS`: 429."""
    if failure_add(side, user_id) > MAX_FAILURES:
        minutes = LOCK_SECONDS // 60
        raise TooManyCodes(
            f"too many wrong codes; sign in again in {minutes} minutes",
            field="totp",
            retry_after=LOCK_SECONDS,
        )


def failures_clear(side: str, user_id: int) -> None:
    cache.delete(_failure_key(side, user_id))


# --- a user's second factor, on either side's user table ------------------------------------
#
# Both sides' users carry the same columns (``totp_secret``, ``totp_enabled_at``,
# ``totp_last_counter``) and a ``RecoveryCode`` model with ``user``, ``code_hash``,
# ``created_at``, ``used_at``. The functions below write them; each side's service decides
# who must have a second factor and writes its own audit events.


def _recovery_replace(user: Any, recovery_model: type[models.Model], now: dt.datetime) -> list[str]:
    codes = new_recovery_codes()
    recovery_model._default_manager.filter(user=user).delete()
    recovery_model._default_manager.bulk_create(
        [recovery_model(user=user, code_hash=recovery_hash(c), created_at=now) for c in codes]
    )
    return codes


def enrol(
    user: Any,
    *,
    secret: str,
    code: str,
    recovery_model: type[models.Model],
    now: dt.datetime,
) -> list[str]:
    """Confirm a new secret with a code it makes; returns the new recovery codes (shown
    once). The code's step counts as used. Not atomic: a wrong code's count must stay
    (with the database cache, a rollback would take it back)."""
    side = side_of(user)
    refuse_if_locked(side, user.pk)
    if not clean_code(code):
        raise CodeRequired(MISSING_MESSAGE, field="totp")
    attempt_reserve(side, user.pk)
    counter = totp_match(secret, code, now)
    if counter is None:
        raise CodeInvalid(ENROL_WRONG_MESSAGE, field="totp")
    return set_secret(user, secret=secret, recovery_model=recovery_model, now=now, counter=counter)


@transaction.atomic
def set_secret(
    user: Any,
    *,
    secret: str,
    recovery_model: type[models.Model],
    now: dt.datetime,
    counter: int | None = None,
) -> list[str]:
    """Keep ``secret`` (encrypted) as the user's, with new recovery codes."""
    user.totp_secret = encrypt_secret(secret)
    user.totp_enabled_at = now
    user.totp_last_counter = counter
    user.save(update_fields=["totp_secret", "totp_enabled_at", "totp_last_counter"])
    failures_clear(side_of(user), user.pk)
    return _recovery_replace(user, recovery_model, now)


def side_of(user: Any) -> str:
    return str(user._meta.app_label)


@transaction.atomic
def clear(user: Any, *, recovery_model: type[models.Model]) -> None:
    user.totp_secret = ""
    user.totp_enabled_at = None
    user.totp_last_counter = None
    user.save(update_fields=["totp_secret", "totp_enabled_at", "totp_last_counter"])
    recovery_model._default_manager.filter(user=user).delete()


def recovery_regenerate(
    user: Any, *, recovery_model: type[models.Model], now: dt.datetime
) -> list[str]:
    with transaction.atomic():
        return _recovery_replace(user, recovery_model, now)


def recovery_left(user: Any, *, recovery_model: type[models.Model]) -> int:
    return recovery_model._default_manager.filter(user=user, used_at__isnull=True).count()


def verify(user: Any, code: str, *, recovery_model: type[models.Model], now: dt.datetime) -> str:
    """Check a sign-in's second factor: a TOTP code (good once: its step must be later than
    the last one used) or an unused recovery code (used up now). Returns "totp" or
    "recovery"; a wrong or reused code counts toward :data:`MAX_FAILURES`."""
    side = side_of(user)
    refuse_if_locked(side, user.pk)
    if not clean_code(code):
        raise CodeRequired(MISSING_MESSAGE, field="totp")
    attempt_reserve(side, user.pk)
    model = type(user)
    if is_totp_shaped(code):
        secret = decrypt_secret(user.totp_secret) if user.totp_secret else None
        counter = totp_match(secret, code, now) if secret else None
        if counter is not None:
            fresh = model._default_manager.filter(pk=user.pk).filter(
                Q(totp_last_counter__isnull=True) | Q(totp_last_counter__lt=counter)
            )
            if fresh.update(totp_last_counter=counter):
                user.totp_last_counter = counter
                failures_clear(side, user.pk)
                return "totp"
            raise CodeReused(REUSED_MESSAGE, field="totp")
        raise CodeInvalid(WRONG_MESSAGE, field="totp")
    hashed = recovery_hash(code)
    codes = recovery_model._default_manager.filter(user=user, code_hash=hashed)
    if codes.filter(used_at__isnull=True).update(used_at=now):
        failures_clear(side, user.pk)
        return "recovery"
    if codes.exists():
        raise CodeReused(RECOVERY_USED_MESSAGE, field="totp")
    raise CodeInvalid(WRONG_MESSAGE, field="totp")
