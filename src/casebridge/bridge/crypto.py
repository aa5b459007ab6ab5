"""The books token at rest: Fernet (AES-128-CBC + HMAC-SHA256) with keys from the
environment.

``CASEBRIDGE_BRIDGE_KEYS`` holds one or more comma-separated Fernet keys; the first
encrypts, all decrypt, so a key can be rotated by putting the new one first. Without it,
and only in development (``CASEBRIDGE_ENV=development``), a key is derived from the
development ``SECRET_KEY``; production settings refuse to start without one, and this
module refuses to derive one outside development whatever the settings say. The
token is never shown, logged or put in an audit event.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class TokenUnreadable(Exception):
    """The stored token cannot be decrypted with the configured keys (a lost key)."""


def _fernet() -> MultiFernet:
    keys = [k.strip() for k in settings.BRIDGE_TOKEN_KEYS if k.strip()]
    if not keys:
        if getattr(settings, "CASEBRIDGE_ENV", "production") != "development":
            raise ImproperlyConfigured(
                "CASEBRIDGE_BRIDGE_KEYS is not set: the books token is only encrypted with a "
                "key derived from SECRET_KEY in development"
            )
        digest = hashlib.sha256(f"casebridge-bridge:{settings.SECRET_KEY}".encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(k.encode()) for k in keys])


def encrypt_token(token: str) -> str:
    return _fernet().encrypt(token.encode()).decode()


def decrypt_token(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise TokenUnreadable(
            "the stored books token cannot be read with CASEBRIDGE_BRIDGE_KEYS; "
            "re-authenticate the integration"
        ) from None


def rotate_ciphertext(ciphertext: str) -> str:
    """The same secret encrypted with the first key (after a new key was put first in
    ``CASEBRIDGE_BRIDGE_KEYS``); the old key can be dropped once everything is rotated."""
    try:
        return _fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise TokenUnreadable(
            "the stored books token cannot be read with CASEBRIDGE_BRIDGE_KEYS; "
            "re-authenticate the integration"
        ) from None


def encrypted_with_first_key(ciphertext: str) -> bool:
    """Whether the first key alone decrypts it (nothing left to rotate)."""
    keys = [k.strip() for k in settings.BRIDGE_TOKEN_KEYS if k.strip()]
    if not keys:
        return True  # the development key: there is only one
    try:
        Fernet(keys[0].encode()).decrypt(ciphertext.encode())
    except InvalidToken:
        return False
    return True
