"""Password reset links both sides share: signed (``SECRET_KEY``), expiring after
:data:`RESET_LINK_SECONDS`, and good once.

The link carries the user's id and a fingerprint of the password hash it was made for; a
reset changes the hash, so the link stops working once used (and when the password is
changed any other way). Mail goes through Django's ``EMAIL_*`` settings.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core import signing

from casebridge.core import clock

RESET_LINK_SECONDS = 3600


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(f"reset:{password_hash}".encode()).hexdigest()[:20]


def _signer(side: str) -> signing.Signer:
    return signing.Signer(salt=f"casebridge-password-reset:{side}")


def reset_token_make(side: str, user_id: int, password_hash: str) -> str:
    issued = int(clock.now().timestamp())
    return _signer(side).sign(f"{user_id}.{_fingerprint(password_hash)}.{issued}")


def reset_token_user_id(side: str, token: str) -> tuple[int, str] | None:
    """The user id and fingerprint a link was made for, or None when it is not ours or
    has expired (the age is read from :mod:`casebridge.core.clock`)."""
    try:
        value = _signer(side).unsign(token)
    except signing.BadSignature:
        return None
    user_id, _, rest = value.partition(".")
    fingerprint, _, issued = rest.partition(".")
    if not (user_id.isdigit() and issued.isdigit()):
        return None
    if clock.now().timestamp() - int(issued) > RESET_LINK_SECONDS:
        return None
    return int(user_id), fingerprint


def reset_token_matches(fingerprint: str, password_hash: str) -> bool:
    return fingerprint == _fingerprint(password_hash)


def email_configured() -> bool:
    """Reset by email is offered when mail can leave (any backend but the dummy one)."""
    return settings.EMAIL_BACKEND != "django.core.mail.backends.dummy.EmailBackend"
