"""The bridge's pop-up forms: parsing only (the services decide). Field names match the
``field`` of the services' refusals, so that a refusal shows next to its field."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
from django import forms

from casebridge.bridge.models import DifferenceKind, InvoiceRelease, OutboxKind, OutboxState
from casebridge.bridge.services.connection import AccountChoice
from casebridge.bridge.services.mappings import DEFAULT_LABEL
from casebridge.cases.forms import MoneyField, SplitForm

#: The choice of the mapping pop-up that means "no mapping: the default" (the books' code
#: of the same UTBMS code, else the cost posting reference).
MAPPING_DEFAULT = ""


def _account_field(label: str, accounts: Sequence[AccountChoice]) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        coerce=int,
        choices=[(a.id, a.name) for a in accounts],
        error_messages={"invalid_choice": "Choose one of the books' accounts listed."},
    )


class ActivateForm(forms.Form):
    """Pop-up 1: where the books are and the designated integration user."""

    books_url = forms.CharField(
        label="Books address",
        max_length=300,
        help_text="The books' API address; it ends in /books/api/v1.",
        widget=forms.TextInput(attrs={"autocomplete": "url", "spellcheck": "false"}),
    )
    books_firm_code = forms.CharField(label="Books firm ID", max_length=40)
    username = forms.CharField(
        label="Username",
        max_length=254,
        help_text="The books' integration user (their email).",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label="Password",
        max_length=200,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False),
    )
    security_answer = forms.CharField(
        label="Security answer",
        max_length=200,
        required=False,
        strip=False,
        help_text="Only when the books ask: the answer to the integration user's security "
        "question (asked again when the integration signs in again).",
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False),
    )

    def clean_books_url(self) -> str:
        """An address the HTTP client can use (the service checks the scheme)."""
        value = str(self.cleaned_data["books_url"]).strip()
        try:
            url = httpx.URL(value)
            ok = bool(url.host) and not any(c.isspace() for c in value)
        except Exception:  # httpx.InvalidURL, or an IDNA error of a malformed host
            ok = False
        if not ok:
            raise forms.ValidationError(
                "Enter the books' address, such as https://books.example.com/books/api/v1."
            )
        return value


class AddressForm(forms.Form):
    """A books host and port a firm administrator confirms the bridge may reach."""

    address = forms.CharField(
        label="Books host and port",
        max_length=300,
        help_text="Such as books.example.com:443 or [2001:db8::7]:8443, or the whole books "
        "address. Only this exact host and port is allowed.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class DefaultsForm(forms.Form):
    """Pop-up 2: the defaults every cost and invoice is sent with."""

    invoice_release = forms.ChoiceField(
        label="Invoices",
        choices=InvoiceRelease.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose whether invoices are released or reviewed."},
    )
    check_sync_hour = forms.TypedChoiceField(
        label="Bring check numbers and statuses back nightly at",
        choices=[(h, f"{h:02d}:00") for h in range(24)],
        coerce=int,
        required=False,
        empty_value=None,
        initial=2,
        help_text="And on demand, with Sync check status.",
    )

    def __init__(
        self,
        *args: Any,
        operating: Sequence[AccountChoice],
        trust: Sequence[AccountChoice],
        cost_posting: Sequence[AccountChoice],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        posting = _account_field("Default cost posting reference", cost_posting)
        posting.error_messages["invalid_choice"] = (
            "Choose one of the books' activity codes listed (they post to Advanced client costs)."
        )
        posting.help_text = (
            "The books activity code a cost advance posts to (Advanced client costs) when its "
            "cost code has no mapping. COPP is not one: it is the charge the fee invoice bills."
        )
        self.fields["cost_posting_code"] = posting
        self.fields["operating_account"] = _account_field("Default operating account", operating)
        self.fields["trust_account"] = _account_field("Default client trust account", trust)
        # keep the fields in the order the seed names them
        self.order_fields(
            [
                "cost_posting_code",
                "operating_account",
                "trust_account",
                "invoice_release",
                "check_sync_hour",
            ]
        )


class ReauthenticateForm(forms.Form):
    password = forms.CharField(
        label="Password",
        max_length=200,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}, render_value=False),
    )
    security_answer = forms.CharField(
        label="Security answer",
        max_length=200,
        required=False,
        strip=False,
        help_text="The answer to the integration user's security question in the books: they "
        "ask it again when the integration signs in again.",
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False),
    )


class QueueFilterForm(forms.Form):
    state = forms.ChoiceField(
        label="State", required=False, choices=[("", "Any state"), *OutboxState.choices]
    )
    kind = forms.ChoiceField(
        label="Kind", required=False, choices=[("", "Any kind"), *OutboxKind.choices]
    )
    case = forms.CharField(label="Case number", required=False, max_length=40)


class MappingForm(forms.Form):
    activity_code = forms.ChoiceField(label="Books activity code", required=False)

    def __init__(self, *args: Any, codes: Sequence[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["activity_code"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(MAPPING_DEFAULT, DEFAULT_LABEL)] + [
            (str(code_id), label) for code_id, label in codes
        ]
        field.error_messages["invalid_choice"] = "Choose one of the books' activity codes listed."


class SendForm(forms.Form):
    """A cost's Send pop-up: the bank account its check is drawn on."""

    def __init__(self, *args: Any, operating: Sequence[AccountChoice], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bank_account"] = _account_field("Bank account", operating)


class SplitSendForm(SplitForm):
    """The cases side's split (one amount per case) plus the bank account of the checks."""

    def __init__(self, *args: Any, operating: Sequence[AccountChoice], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bank_account"] = _account_field("Bank account", operating)


class ThreeWayForm(forms.Form):
    """The bank statement's figures for the books' three-way reconciliation."""

    statement_balance = MoneyField(label="Bank statement balance", allow_negative=True)
    deposits_in_transit = MoneyField(label="Deposits in transit", required=False)
    outstanding_checks = MoneyField(
        label="Outstanding checks",
        required=False,
        help_text="Leave empty to count every unvoided check the books know of.",
    )
    as_of = forms.DateField(
        label="Statement date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class DifferenceFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label="Kind", required=False, choices=[("", "All kinds"), *DifferenceKind.choices]
    )
