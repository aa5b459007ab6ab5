"""The account schemas both sides' APIs share: a password change, an administrator's
reset, and where a user's sign-in stands after either (the screens' twin is
:mod:`casebridge.web.account`)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from casebridge.core.api.schemas import In, Out


class UserSecurityOut(Out):
    """Where a user's sign-in stands after a password or two-factor change."""

    id: int
    email: str
    totp_enabled: bool = Field(description="Signs in with a TOTP code (two-factor).")
    must_change_password: bool = Field(
        description="An administrator reset the password: a new one is chosen at sign-in."
    )

    @classmethod
    def of(cls, user: Any) -> UserSecurityOut:
        return cls(
            id=user.pk,
            email=user.email,
            totp_enabled=user.has_totp,
            must_change_password=user.must_change_password,
        )


class PasswordChangeIn(In):
    model_config = ConfigDict(str_strip_whitespace=False)  # a password is taken as typed

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class PasswordResetIn(In):
    model_config = ConfigDict(str_strip_whitespace=False)

    temporary_password: str = Field(min_length=1, max_length=1024)
