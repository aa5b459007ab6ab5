"""Forms both sides' screens share: the second factor and passwords (issue 13, ADR 0022)."""

from __future__ import annotations

from typing import Any

from django import forms


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=40,
        help_text="The 6-digit code your authenticator app shows, or a recovery code.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class NewPasswordForm(forms.Form):
    new_password = forms.CharField(
        label="New password",
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password_confirm = forms.CharField(
        label="New password again",
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any] | None:
        data = super().clean()
        if data and data.get("new_password") != data.get("new_password_confirm"):
            self.add_error("new_password_confirm", "the two new passwords differ")
        return data


class PasswordChangeForm(NewPasswordForm):
    current_password = forms.CharField(
        label="Current password",
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    field_order = ["current_password", "new_password", "new_password_confirm"]


class PasswordForgotForm(forms.Form):
    firm = forms.CharField(label="Firm ID", max_length=40)
    email = forms.CharField(
        label="Email", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "username"})
    )


class TemporaryPasswordForm(forms.Form):
    temporary_password = forms.CharField(
        label="Temporary password",
        max_length=256,
        strip=False,
        help_text="Tell the user; they choose a new one when they next sign in.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
