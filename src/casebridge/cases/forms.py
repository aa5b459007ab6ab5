"""Forms for the cases side's screens. They parse what a person typed (money with
:func:`casebridge.core.money.parse_amount`, percentages to basis points without floats);
the services remain the authority on every rule, and their refusals are shown next to the
right field (see :func:`casebridge.web.popups.apply_domain_error`)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.db.models import QuerySet

from casebridge.cases.models import (
    Case,
    CaseStatus,
    CaseType,
    ClaimType,
    CostCode,
    CostPriority,
    Firm,
    LienKind,
    Negotiation,
    NegotiationKind,
    User,
    person_name,
)
from casebridge.core import clock, timezones
from casebridge.core.money import cents_to_decimal
from casebridge.web.popups import ConfirmForm as ConfirmForm  # the bridge imports it here
from casebridge.web.popups import MoneyField as MoneyField  # the bridge imports it here too

DATE_WIDGET_FORMAT = "%Y-%m-%d"
#: A percentage: up to three digits and two decimals, an optional "%".
PERCENT_RE = re.compile(r"^([0-9]{1,3})(?:\.([0-9]{0,2}))?$")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=DATE_WIDGET_FORMAT)


def _date(label: str, *, required: bool = True, **kwargs: Any) -> forms.DateField:
    return forms.DateField(label=label, required=required, widget=DateInput, **kwargs)


def _text(label: str, max_length: int, *, required: bool = True, **attrs: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        widget=forms.TextInput(attrs=attrs) if attrs else None,
    )


def percent_to_bp(text: str) -> int:
    """ "33.33" (or "33.33%") to 3333 basis points, exactly: digits are read as a Decimal,
    never as a float. At most two decimal places."""
    text = text.strip().removesuffix("%").strip()
    match = PERCENT_RE.match(text)
    if match is None:
        raise forms.ValidationError(
            "Enter a percentage with up to two decimal places, such as 33.33."
        )
    bp = Decimal(text if match.group(2) else match.group(1)) * 100
    return int(bp)


class PercentField(forms.Field):
    """A percentage typed as "33.33", cleaned to integer basis points (3333)."""

    widget = forms.TextInput

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        attrs.update({"inputmode": "decimal", "autocomplete": "off", "maxlength": "8"})
        return attrs

    def to_python(self, value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value  # already basis points (an initial value)
        text = str(value).strip()
        if not text:
            return None
        if len(text) > 8:
            raise forms.ValidationError("Enter a percentage such as 33.33.")
        return percent_to_bp(text)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(Decimal(value) / 100)
        return value


if TYPE_CHECKING:
    _UserChoice = forms.ModelChoiceField[User]
    _CaseTypeChoice = forms.ModelChoiceField[CaseType]
    _OfferChoice = forms.ModelChoiceField[Negotiation]
else:  # ModelChoiceField is generic only in the type stubs
    _UserChoice = _CaseTypeChoice = _OfferChoice = forms.ModelChoiceField


class UserChoiceField(_UserChoice):
    def label_from_instance(self, obj: User) -> str:
        return obj.display_name


class OfferChoiceField(_OfferChoice):
    def label_from_instance(self, obj: Negotiation) -> str:
        state = f"accepted {obj.accepted_on:%Y-%m-%d}" if obj.accepted_on else "not accepted yet"
        return f"{obj.party.name} · {cents_to_decimal(obj.amount_cents):,} ({state})"


def _model_choice(form: forms.Form, name: str) -> forms.ModelChoiceField[Any]:
    field = form.fields[name]
    assert isinstance(field, forms.ModelChoiceField)
    return field


def _choice(form: forms.Form, name: str) -> forms.ChoiceField:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    return field


def attorneys_of(firm: Firm) -> QuerySet[User]:
    return User.objects.filter(firm=firm, is_attorney=True, is_active=True).order_by(
        "last_name", "first_name", "email"
    )


def attorney_choices(firm: Firm) -> list[tuple[int, str]]:
    """:func:`attorneys_of` as (id, name) choices, read once: a filter's select validates
    and draws from the list (a model choice field reads its queryset for each)."""
    return [
        (pk, person_name(first, last, email))
        for pk, first, last, email in attorneys_of(firm).values_list(
            "pk", "first_name", "last_name", "email"
        )
    ]


# --- Sign-in -----------------------------------------------------------------------------


class LoginForm(forms.Form):
    firm = forms.CharField(
        label="Firm ID",
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "organization", "autofocus": True}),
    )
    email = forms.CharField(
        label="Email", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "username"})
    )
    password = forms.CharField(
        label="Password",
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    next = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)


# --- A contact chosen from the firm's, or a new one typed in -----------------------------


def contact_field(label: str, list_id: str, *, required: bool = True) -> forms.CharField:
    """A contact typed by name with suggestions from a ``<datalist id=list_id>``: one of the
    firm's contacts, or a new name (which adds a contact)."""
    return forms.CharField(
        label=label,
        max_length=200,
        required=required,
        widget=forms.TextInput(attrs={"list": list_id, "autocomplete": "off"}),
        help_text="Choose a name from the list, or type a new one to add a contact.",
    )


# --- Cases -------------------------------------------------------------------------------


class CaseSearchForm(forms.Form):
    q = forms.CharField(label="Search cases", required=False, max_length=200)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "All statuses"), *CaseStatus.choices]
    )


#: A case's claim type (statutes of limitations, issue 16); blank: not known yet.
CLAIM_CHOICES = [("", "Not known yet"), *ClaimType.choices]


class CaseCreateForm(forms.Form):
    client_name = _text("Client name", 200)
    client_address = forms.CharField(
        label="Address",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    client_date_of_birth = _date("Date of birth", required=False)
    client_phone = _text("Phone", 40, required=False)
    client_email = forms.EmailField(label="Email", required=False, max_length=254)
    name = _text("Case name", 200, placeholder="e.g. Lopez v. Acme Trucking")
    case_type = forms.ModelChoiceField(
        label="Case type", queryset=CaseType.objects.none(), empty_label=None
    )
    responsible_attorney = UserChoiceField(
        label="Responsible attorney",
        queryset=User.objects.none(),
        required=False,
        empty_label="None yet",
    )
    incident_date = _date("Incident date", required=False)
    jurisdiction_state = _text("State", 2, required=False, placeholder="e.g. FL")
    claim_type = forms.ChoiceField(label="Claim type", required=False, choices=CLAIM_CHOICES)
    status = forms.ChoiceField(label="Status", choices=CaseStatus.choices)

    def __init__(self, *args: Any, firm: Firm, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"status": CaseStatus.INTAKE})
        super().__init__(*args, **kwargs)
        types = CaseType.objects.filter(firm=firm).order_by("-is_default", "name")
        _model_choice(self, "case_type").queryset = types
        default = types.filter(is_default=True).first()
        if default is not None and not self.is_bound:
            self.initial.setdefault("case_type", default.pk)
        _model_choice(self, "responsible_attorney").queryset = attorneys_of(firm)


class CaseEditForm(forms.Form):
    name = _text("Case name", 200)
    status = forms.ChoiceField(label="Status", choices=CaseStatus.choices)
    responsible_attorney = UserChoiceField(
        label="Responsible attorney", queryset=User.objects.none(), required=False
    )
    incident_date = _date("Incident date", required=False)
    jurisdiction_state = _text("State", 2, required=False, placeholder="e.g. FL")
    claim_type = forms.ChoiceField(label="Claim type", required=False, choices=CLAIM_CHOICES)
    tolling_notes = forms.CharField(
        label="Tolling notes",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "name": case.name,
                "status": case.status,
                "responsible_attorney": case.responsible_attorney_id,
                "incident_date": case.incident_date,
                "jurisdiction_state": case.jurisdiction_state,
                "claim_type": case.claim_type,
                "tolling_notes": case.tolling_notes,
            },
        )
        super().__init__(*args, **kwargs)
        attorney = _model_choice(self, "responsible_attorney")
        attorney.queryset = attorneys_of(case.firm)
        if case.responsible_attorney_id is not None:
            attorney.empty_label = None  # the service cannot unassign an attorney
        else:
            attorney.empty_label = "None yet"


class CaseLinkForm(forms.Form):
    number = _text("Case number", 40, placeholder="e.g. PI-000012", list="case-numbers")


# --- Costs -------------------------------------------------------------------------------


def cost_code_choices(firm: Firm, *, include: int | None = None) -> list[Any]:
    """The firm's own codes first, then the UTBMS expense codes, as option groups."""
    codes = CostCode.objects.filter(firm=firm).order_by("code")
    own: list[tuple[int, str]] = []
    utbms: list[tuple[int, str]] = []
    for code in codes:
        if not code.is_active and code.pk != include:
            continue
        (utbms if code.is_utbms else own).append((code.pk, f"{code.code} {code.name}"))
    return [("", "Choose a cost code…"), ("Firm codes", own), ("UTBMS expense codes", utbms)]


class CostForm(forms.Form):
    """Add or edit a cost. For a paid cost only the paid date and memo stay enabled."""

    payee = contact_field("Payee", "payee-names")
    amount = MoneyField(label="Amount")
    invoice_reference = _text("Invoice reference", 60, required=False)
    priority = forms.ChoiceField(label="Priority", choices=CostPriority.choices)
    cost_code = forms.TypedChoiceField(label="Cost code", coerce=int, choices=[])
    memo = _text("Memo", 500, required=False)
    cost_date = _date("Date")
    paid_date = _date("Paid date", required=False)

    PAID_EDITABLE = ("paid_date", "memo")

    def __init__(
        self, *args: Any, firm: Firm, paid: bool = False, code_id: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _choice(self, "cost_code").choices = cost_code_choices(firm, include=code_id)
        if not self.is_bound and "priority" not in self.initial:
            self.initial["priority"] = CostPriority.NORMAL
        self.paid = paid
        if paid:
            for name, field in self.fields.items():
                if name not in self.PAID_EDITABLE:
                    field.disabled = True
                    field.required = False
            self.fields["paid_date"].required = True
        else:
            del self.fields["paid_date"]


class CostVoidForm(forms.Form):
    reason = _text("Reason", 255, required=False)


class CostPayForm(forms.Form):
    method = forms.ChoiceField(
        label="Paid by", choices=[("check", "Check"), ("card", "Card")], widget=forms.RadioSelect
    )
    reference = _text("Check or card number", 60)
    paid_date = _date("Paid on")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"method": "check", "paid_date": clock.today()})
        super().__init__(*args, **kwargs)


# --- Settlement --------------------------------------------------------------------------


class NegotiationForm(forms.Form):
    kind = forms.ChoiceField(label="Kind", choices=NegotiationKind.choices)
    party = contact_field("Insurer or defendant", "party-names")
    amount = MoneyField(label="Amount")
    made_on = _date("Date")
    note = _text("Note", 255, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"kind": NegotiationKind.OFFER, "made_on": clock.today()})
        super().__init__(*args, **kwargs)


class AcceptOfferForm(forms.Form):
    accepted_on = _date("Accepted on")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"accepted_on": clock.today()})
        super().__init__(*args, **kwargs)


class DepositForm(forms.Form):
    offer = OfferChoiceField(
        label="Against the accepted offer", queryset=Negotiation.objects.none(), empty_label=None
    )
    amount = MoneyField(label="Amount")
    check_number = _text("Check number", 40)
    deposited_on = _date("Deposited on")

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"deposited_on": clock.today()})
        super().__init__(*args, **kwargs)
        offers = (
            Negotiation.objects.filter(case=case, kind=NegotiationKind.OFFER)
            .select_related("party")
            .order_by("accepted_on", "-made_on", "-pk")
        )
        # Accepted offers first; an offer not accepted yet is listed so that the refusal
        # can say what to do, rather than a bare "not one of the choices".
        _model_choice(self, "offer").queryset = offers
        accepted = [o for o in offers if o.accepted_on is not None]
        if accepted and not self.is_bound:
            self.initial.setdefault("offer", accepted[0].pk)


class DepositVoidForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=255,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept with the voided deposit and in the audit trail, e.g. "
        "“bounced” or “recorded for the wrong amount”.",
    )


FEE_BASES = [("gross", "the gross settlement"), ("net", "the gross less costs")]


class SettlementTermsForm(forms.Form):
    fee_mode = forms.ChoiceField(
        label="Fee", choices=[("percent", "Percentage"), ("fixed", "Fixed amount")]
    )
    fee_rate = PercentField(label="Fee percentage", required=False, help_text="e.g. 33.33")
    fee_fixed = MoneyField(label="Fixed fee", required=False)
    fee_base = forms.ChoiceField(label="Percentage of", choices=FEE_BASES)
    copp = MoneyField(label="COPP charges", required=False)
    property_damage_fee = MoneyField(
        label="Property Damage Fee",
        allow_negative=True,
        required=False,
        help_text="A negative amount is a waiver: it reduces the cost reimbursement and is "
        "not paid from trust.",
    )
    reason = forms.CharField(
        label="Reason for a fee change",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="The firm's administrators approve fee changes.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        mode = data.get("fee_mode")
        if mode == "percent" and data.get("fee_rate") is None and "fee_rate" not in self.errors:
            self.add_error("fee_rate", "Enter the fee percentage.")
        if mode == "fixed" and data.get("fee_fixed") is None and "fee_fixed" not in self.errors:
            self.add_error("fee_fixed", "Enter the fixed fee.")
        return data


class LienForm(forms.Form):
    kind = forms.ChoiceField(label="Kind", choices=LienKind.choices)
    holder = contact_field("Lien holder", "holder-names")
    claimed = MoneyField(label="Claimed amount")
    paid_direct = forms.BooleanField(
        label="Paid directly by a third party",
        required=False,
        help_text="Recorded and staged with the note “DO NOT DISTRIBUTE - PAID DIRECT”; "
        "no check is written from trust.",
    )
    note = _text("Note", 255, required=False)


class LienEditForm(forms.Form):
    claimed = MoneyField(label="Claimed amount")
    final = MoneyField(
        label="Final amount",
        required=False,
        help_text="The amount agreed with the lien holder; accept it to lock it.",
    )
    paid_direct = forms.BooleanField(label="Paid directly by a third party", required=False)
    note = _text("Note", 255, required=False)


class LienAcceptForm(forms.Form):
    final = MoneyField(label="Final amount")
    accepted_on = _date("Accepted on")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("accepted_on", clock.today())


class LienReopenForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why the accepted amount is taken back; kept in the audit trail.",
    )


class StageForm(forms.Form):
    amount = MoneyField(label="Amount")
    note = _text("Note", 255, required=False)


class PushClientTrustForm(forms.Form):
    payee_name = _text(
        "Pay to",
        200,
        required=False,
    )
    note = _text("Note", 255, required=False)


class FeeDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])


# --- Costs Management --------------------------------------------------------------------


class CostFilterForm(forms.Form):
    case = _text("Case number", 40, required=False, placeholder="e.g. PI-000012")
    attorney = UserChoiceField(
        label="Attorney", queryset=User.objects.none(), required=False, empty_label="Any"
    )
    payee = _text("Payee", 200, required=False, placeholder="Payee's name")
    date_from = _date("From", required=False)
    date_to = _date("To", required=False)
    amount_min = MoneyField(label="Amount from", required=False)
    amount_max = MoneyField(label="Amount to", required=False)

    def __init__(self, *args: Any, firm: Firm, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _model_choice(self, "attorney").queryset = attorneys_of(firm)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if isinstance(start, dt.date) and isinstance(end, dt.date) and end < start:
            self.add_error("date_to", "The end date is before the start date.")
        low, high = data.get("amount_min"), data.get("amount_max")
        if isinstance(low, int) and isinstance(high, int) and high < low:
            self.add_error("amount_max", "The upper amount is below the lower one.")
        return data


class VoidSelectedForm(forms.Form):
    reason = _text("Reason", 255, required=False)


# --- Account Settings --------------------------------------------------------------------


class FirmDefaultsForm(forms.Form):
    default_fee_rate = PercentField(label="Fee percentage", help_text="e.g. 33.33")
    default_copp = MoneyField(label="COPP charges", required=False)
    default_property_damage_fee = MoneyField(
        label="Property Damage Fee",
        allow_negative=True,
        required=False,
        help_text="A negative default is a standing waiver.",
    )
    fee_changes_need_approval = forms.BooleanField(
        label="Fee changes need an administrator's approval",
        required=False,
        help_text="When on, a fee changed on a case by someone who is not a firm "
        "administrator waits for approval.",
    )


class OpeningDateForm(forms.Form):
    opening_date = _date(
        "Opening date",
        help_text="No cost or deposit can be dated before it.",
    )


USER_PERMISSION_FIELDS = (
    "perm_admin_settings",
    "perm_costs_management",
    "perm_deposit_settlement",
    "is_attorney",
    "is_firm_admin",
)


class _UserPermissions(forms.Form):
    perm_admin_settings = forms.BooleanField(
        label="Administration settings page access", required=False
    )
    perm_costs_management = forms.BooleanField(
        label="Costs management",
        required=False,
        help_text="Costs Management; paying, voiding and sending costs.",
    )
    perm_deposit_settlement = forms.BooleanField(
        label="Deposit settlement checks",
        required=False,
        help_text="Depositing and voiding settlement checks, staging trust payments, Push to "
        "Client Trust and Push to Disbursement.",
    )
    is_attorney = forms.BooleanField(
        label="Attorney",
        required=False,
        help_text="Can be a case's responsible attorney; the email must match the books.",
    )
    is_firm_admin = forms.BooleanField(
        label="Firm administrator", required=False, help_text="May do everything."
    )

    def lock_admin_flag(self, actor: User) -> None:
        if not actor.is_firm_admin:
            field = self.fields["is_firm_admin"]
            field.disabled = True
            field.help_text = "Only a firm administrator can change this."


class UserCreateForm(_UserPermissions):
    email = forms.CharField(label="Email", max_length=254, widget=forms.EmailInput)
    first_name = _text("First name", 100, required=False)
    last_name = _text("Last name", 100, required=False)
    password = forms.CharField(
        label="Temporary password",
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters. Give it to the user to sign in with.",
    )
    field_order = ["email", "first_name", "last_name", "password"]


class UserEditForm(_UserPermissions):
    first_name = _text("First name", 100, required=False)
    last_name = _text("Last name", 100, required=False)
    email = forms.CharField(label="Email", max_length=254, widget=forms.EmailInput)
    is_active = forms.BooleanField(
        label="Active", required=False, help_text="An inactive user cannot sign in."
    )
    field_order = ["first_name", "last_name", "email"]

    @classmethod
    def for_user(cls, user: User, actor: User, data: Any = None) -> UserEditForm:
        names = ("first_name", "last_name", "email", "is_active", *USER_PERMISSION_FIELDS)
        form = cls(data=data, initial={n: getattr(user, n) for n in names})
        form.lock_admin_flag(actor)
        return form


class CostCodeForm(forms.Form):
    code = _text("Code", 20)
    name = _text("Name", 120)


# --- Split cost --------------------------------------------------------------------------


class SplitForm(forms.Form):
    """One amount per case: ``part_<case id>``, labelled with the case."""

    def __init__(
        self, *args: Any, cases: list[Case], proposal: dict[int, int], **kwargs: Any
    ) -> None:
        kwargs.setdefault("initial", {f"part_{cid}": cents for cid, cents in proposal.items()})
        super().__init__(*args, **kwargs)
        self.cases = cases
        for case in cases:
            self.fields[f"part_{case.pk}"] = MoneyField(label=f"{case.number} {case.name}")

    def part_fields(self) -> list[tuple[Case, forms.BoundField]]:
        return [(case, self[f"part_{case.pk}"]) for case in self.cases]

    def parts(self) -> list[tuple[int, int]]:
        return [(case.pk, self.cleaned_data[f"part_{case.pk}"]) for case in self.cases]


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Time zone",
        choices=[(name, name) for name in timezones.zone_names()],
        help_text='What "today" is for the firm\'s people, its API clients and its nightly '
        "jobs; daylight saving is followed.",
    )
