"""The books' data key: what the books keep encrypted at rest (a payee's TIN, a payee's
bank account number, a NACHA file) is encrypted with ``CASEBRIDGE_DATA_KEYS``
(:mod:`casebridge.core.crypto`).

Every encrypted column is listed in :data:`ENCRYPTED_COLUMNS`, which the key rotation
(``manage.py rotate_keys``, :func:`casebridge.books.services.keys.data_rotate`) walks, so
a column added here is rotated with the rest. Plain values are never logged, audited or
shown whole (:func:`masked`).
"""

from __future__ import annotations

from casebridge.core.crypto import Keyring, Unreadable

DATA_KEYS = Keyring(
    setting="BOOKS_DATA_KEYS", env_name="CASEBRIDGE_DATA_KEYS", purpose="books-data"
)

#: (app label, model name, ciphertext field) of every column encrypted with the data key.
#: Each ciphertext field is a text column, "" when empty.
ENCRYPTED_COLUMNS: list[tuple[str, str, str]] = [
    ("books", "PayeeBankAccount", "account_number_ciphertext"),
    ("books", "TaxPayee", "tin_ciphertext"),  # a 1099 payee's TIN (ADR 0045)
    ("books", "AchBatch", "file_ciphertext"),  # a NACHA file's text (ADR 0050)
]


def encrypt(plain: str) -> str:
    return DATA_KEYS.encrypt(plain)


def decrypt(ciphertext: str) -> str:
    return DATA_KEYS.decrypt(ciphertext)


def masked(plain: str, *, shown: int = 4) -> str:
    """``•••••6789``: only the last ``shown`` characters of a secret."""
    tail = plain[-shown:] if len(plain) > shown else ""
    return "•" * max(len(plain) - len(tail), 1) + tail


__all__ = ["DATA_KEYS", "ENCRYPTED_COLUMNS", "Unreadable", "decrypt", "encrypt", "masked"]
