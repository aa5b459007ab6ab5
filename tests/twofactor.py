"""Signing in with a second factor in tests: enrol a user with the demo's fixed TOTP secret
and compute its codes.

``enrol`` writes the secret the way the services keep it (encrypted) without an audit
event, so fixtures that enrol their people leave the audit trail as it was. ``fresh_code``
forgets the last step used first (a test signing in twice within 30 seconds would
otherwise be refused a reused code); tests of that refusal use ``code_at`` instead.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyotp

from casebridge.core import clock, twofactor

KEY = twofactor.DEMO_TOTP_KEY


def enrol(user: Any) -> Any:
    """``user`` (either side's) with the fixed secret, unless it has a second factor."""
    if not user.has_totp:
        user.totp_secret = twofactor.encrypt_secret(KEY)
        user.totp_enabled_at = clock.now()
        user.totp_last_counter = None
        user.save(update_fields=["totp_secret", "totp_enabled_at", "totp_last_counter"])
    return user


def code_at(when: dt.datetime | None = None, key: str = KEY) -> str:
    return pyotp.TOTP(key).at(when or clock.now())


def fresh_code(user: Any, at: dt.datetime | None = None) -> str:
    """A code ``user`` can sign in with now (or at ``at``), even if one of this step was
    used already."""
    type(user).objects.filter(pk=user.pk).update(totp_last_counter=None)
    user.totp_last_counter = None
    return code_at(at)


def login_body(user_model: Any, firm: str, username: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` of ``POST /auth/session`` with a fresh code when the user (looked up by
    firm ID and email, as the endpoint does) signs in with one."""
    user = user_model.objects.filter(
        firm__code=firm.strip().lower(), email__iexact=username.strip()
    ).first()
    if user is not None and user.has_totp and "totp" not in body:
        body = {**body, "totp": fresh_code(user)}
    return body


def cases_code(email: str, firm_code: str = "lopez-pi") -> str:
    """For a cases API login: a fresh code when the user has a second factor, else ""."""
    from casebridge.cases.models import User

    user = User.objects.filter(firm__code=firm_code, email__iexact=email).first()
    return fresh_code(user) if user is not None and user.has_totp else ""
