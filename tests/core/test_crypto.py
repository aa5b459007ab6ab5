"""The keyring behind every secret kept at rest (core.crypto) and the books' data key."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from casebridge.books import crypto as books_crypto
from casebridge.core.crypto import Keyring, Unreadable

OLD, NEW = (Fernet.generate_key().decode() for _ in range(2))
RING = Keyring(setting="TEST_KEYS", env_name="CASEBRIDGE_TEST_KEYS", purpose="test")


def test_the_first_key_encrypts_and_every_key_decrypts(settings):
    settings.TEST_KEYS = [OLD]
    old = RING.encrypt("123-45-6789")
    settings.TEST_KEYS = [NEW, OLD]
    assert RING.decrypt(old) == "123-45-6789"
    assert RING.uses_first_key(old) is False
    rotated = RING.rotate(old)
    assert RING.uses_first_key(rotated) is True
    settings.TEST_KEYS = [NEW]
    assert RING.decrypt(rotated) == "123-45-6789"
    with pytest.raises(Unreadable, match="no key of CASEBRIDGE_TEST_KEYS reads it"):
        RING.decrypt(old)


def test_without_keys_only_development_derives_one(settings):
    settings.TEST_KEYS = []
    settings.CASEBRIDGE_ENV = "development"
    assert RING.decrypt(RING.encrypt("x")) == "x"
    settings.CASEBRIDGE_ENV = "production"
    with pytest.raises(ImproperlyConfigured, match="CASEBRIDGE_TEST_KEYS is not set"):
        RING.encrypt("x")


def test_two_keyrings_never_share_the_development_key(settings):
    settings.TEST_KEYS = []
    settings.BOOKS_DATA_KEYS = []
    settings.CASEBRIDGE_ENV = "development"
    with pytest.raises(Unreadable):
        books_crypto.decrypt(RING.encrypt("x"))


def test_a_secret_is_shown_masked_to_its_last_four():
    assert books_crypto.masked("123456789") == "•••••6789"
    assert books_crypto.masked("12") == "••"
