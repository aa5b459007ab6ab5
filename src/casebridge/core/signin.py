"""Checking a sign-in's password with the same work whether or not the user exists.

A refusal that came back at once for an unknown firm or user, and only after hashing for a
known one, would tell a stranger which emails are users by its time alone. So a sign-in
whose user was not found checks the password against a dummy hash made once (per hasher)
with the configured hasher: every refusal costs one hash.
"""

from __future__ import annotations

import secrets

from django.contrib.auth.hashers import (
    check_password,
    get_hasher,
    is_password_usable,
    make_password,
)

#: The dummy hash per hasher algorithm (the configured hasher can change, in tests).
_dummies: dict[str, str] = {}


def dummy_password_hash() -> str:
    """A hash of a random password, made once with the configured (first) hasher."""
    algorithm = str(get_hasher().algorithm)
    dummy = _dummies.get(algorithm)
    if dummy is None:
        dummy = _dummies[algorithm] = make_password(secrets.token_urlsafe(16))
    return dummy


def password_matches(password: str, encoded: str | None) -> bool:
    """Whether ``password`` matches ``encoded``; with no hash to check (no such user) the
    same work is done against the dummy hash, and the answer is no (so too for a user whose
    password was made unusable, which Django would refuse without hashing)."""
    if encoded is None or not is_password_usable(encoded):
        check_password(password, dummy_password_hash())
        return False
    return check_password(password, encoded)
