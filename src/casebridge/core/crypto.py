"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) with keys from the environment.

A :class:`Keyring` reads one setting holding one or more Fernet keys (comma-separated in
its environment variable); the first encrypts, all decrypt, so a key is rotated by putting
the new one first, re-encrypting (``manage.py rotate_keys``) and then dropping the old
one. Without keys, and only in development (``CASEBRIDGE_ENV=development``), a key is
derived from the development ``SECRET_KEY``; production settings refuse to start without
one, and a keyring refuses to derive one outside development whatever the settings say.
Plain text is never logged or put in an audit event by the callers.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class Unreadable(Exception):
    """A ciphertext no configured key decrypts (a lost key)."""


@dataclass(frozen=True)
class Keyring:
    #: The Django setting holding the list of keys, and the environment variable behind it.
    setting: str
    env_name: str
    #: Mixed into the development key so two keyrings never share one.
    purpose: str

    def _keys(self) -> list[str]:
        return [k.strip() for k in getattr(settings, self.setting, []) if k.strip()]

    def _fernet(self) -> MultiFernet:
        keys = self._keys()
        if not keys:
            if getattr(settings, "CASEBRIDGE_ENV", "production") != "development":
                raise ImproperlyConfigured(
                    f"{self.env_name} is not set: {self.purpose} is only encrypted with a key "
                    "derived from SECRET_KEY in development"
                )
            digest = hashlib.sha256(f"casebridge-{self.purpose}:{settings.SECRET_KEY}".encode())
            keys = [base64.urlsafe_b64encode(digest.digest()).decode()]
        return MultiFernet([Fernet(k.encode()) for k in keys])

    def encrypt(self, plain: str) -> str:
        return self._fernet().encrypt(plain.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet().decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise Unreadable(f"no key of {self.env_name} reads it") from None

    def rotate(self, ciphertext: str) -> str:
        """The same secret encrypted with the first key."""
        try:
            return self._fernet().rotate(ciphertext.encode()).decode()
        except InvalidToken:
            raise Unreadable(f"no key of {self.env_name} reads it") from None

    def uses_first_key(self, ciphertext: str) -> bool:
        """Whether the first key alone decrypts it (nothing left to rotate)."""
        keys = self._keys()
        if not keys:
            return True  # the development key: there is only one
        try:
            Fernet(keys[0].encode()).decrypt(ciphertext.encode())
        except InvalidToken:
            return False
        return True
