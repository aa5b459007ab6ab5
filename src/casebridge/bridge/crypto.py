"""The books token at rest: Fernet (AES-128-CBC + HMAC-SHA256) with keys from the
environment (:class:`casebridge.core.crypto.Keyring`).

``CASEBRIDGE_BRIDGE_KEYS`` holds one or more comma-separated Fernet keys; the first
encrypts, all decrypt, so a key can be rotated by putting the new one first. Without it,
and only in development (``CASEBRIDGE_ENV=development``), a key is derived from the
development ``SECRET_KEY``; production settings refuse to start without one, and this
module refuses to derive one outside development whatever the settings say. The
token is never shown, logged or put in an audit event.
"""

from __future__ import annotations

from casebridge.core.crypto import Keyring, Unreadable

_KEYS = Keyring(setting="BRIDGE_TOKEN_KEYS", env_name="CASEBRIDGE_BRIDGE_KEYS", purpose="bridge")
_LOST = (
    "the stored books token cannot be read with CASEBRIDGE_BRIDGE_KEYS; "
    "re-authenticate the integration"
)


class TokenUnreadable(Exception):
    """The stored token cannot be decrypted with the configured keys (a lost key)."""


def encrypt_token(token: str) -> str:
    return _KEYS.encrypt(token)


def decrypt_token(ciphertext: str) -> str:
    try:
        return _KEYS.decrypt(ciphertext)
    except Unreadable:
        raise TokenUnreadable(_LOST) from None


def rotate_ciphertext(ciphertext: str) -> str:
    """The same secret encrypted with the first key (after a new key was put first in
    ``CASEBRIDGE_BRIDGE_KEYS``); the old key can be dropped once everything is rotated."""
    try:
        return _KEYS.rotate(ciphertext)
    except Unreadable:
        raise TokenUnreadable(_LOST) from None


def encrypted_with_first_key(ciphertext: str) -> bool:
    """Whether the first key alone decrypts it (nothing left to rotate)."""
    return _KEYS.uses_first_key(ciphertext)
