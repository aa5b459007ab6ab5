"""Forms for the books' screens. They parse and validate what a person typed; the services
remain the authority on every rule and their refusals are shown next to the right field
(see :func:`casebridge.web.popups.apply_domain_error`)."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from django import forms

from casebridge.books import banking_days, utbms
from casebridge.books.models import (
    AccountRole,
    AccountType,
    ActivityCode,
    AreaOfPractice,
    BankAccount,
    BankAccountKind,
    Contact,
    Firm,
    GLAccount,
    LedesClassification,
    LineKind,
    PositivePayAmount,
    PositivePayColumn,
    PositivePayDateFormat,
    Role,
    User,
)
from casebridge.books.services.setup import MONTH_NAMES, UTBMS_EXPENSE_CODES
from casebridge.core import clock, timezones
from casebridge.core.errors import DomainError
from casebridge.web.popups import MoneyField

#: Postgres ``integer`` columns (check numbers) stop here.
MAX_INT = 2_147_483_647

DATE_WIDGET_FORMAT = "%Y-%m-%d"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=DATE_WIDGET_FORMAT)


def _text(label: str, max_length: int, *, required: bool = True, **attrs: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        widget=forms.TextInput(attrs=attrs) if attrs else None,
    )


if TYPE_CHECKING:
    _UserChoice = forms.ModelChoiceField[User]
    _BankChoice = forms.ModelChoiceField[BankAccount]
else:  # ModelChoiceField is generic only in the type stubs
    _UserChoice = _BankChoice = forms.ModelChoiceField


class UserChoiceField(_UserChoice):
    def label_from_instance(self, obj: User) -> str:
        return obj.display_name


class BankChoiceField(_BankChoice):
    def label_from_instance(self, obj: BankAccount) -> str:
        return f"{obj.name} ({obj.get_kind_display()})"


# --- Sign-in -----------------------------------------------------------------------------


class LoginForm(forms.Form):
    firm = forms.CharField(
        label="Firm ID",
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "organization", "autofocus": True}),
    )
    email = forms.CharField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username"}),
    )
    password = forms.CharField(
        label="Password",
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    next = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)


STANDARD_QUESTIONS: tuple[str, ...] = (
    "What was the name of your first pet?",
    "In what city were you born?",
    "What was the make of your first car?",
    "What is the name of the street you grew up on?",
    "What was your childhood nickname?",
)
CUSTOM_QUESTION = "__custom__"


class EnrollForm(forms.Form):
    question_choice = forms.ChoiceField(
        label="Security question",
        choices=[
            ("", "Choose a question…"),
            *[(q, q) for q in STANDARD_QUESTIONS],
            (CUSTOM_QUESTION, "Write my own question"),
        ],
    )
    custom_question = forms.CharField(
        label="Your question",
        max_length=200,
        required=False,
        help_text="Only when you chose “Write my own question”.",
    )
    answer = forms.CharField(
        label="Answer",
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="Case and extra spaces are ignored when the answer is checked.",
    )
    answer_confirm = forms.CharField(
        label="Confirm answer",
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        choice = data.get("question_choice")
        if choice == CUSTOM_QUESTION:
            question = (data.get("custom_question") or "").strip()
            if not question:
                self.add_error("custom_question", "Write your question.")
            data["question"] = question
        else:
            data["question"] = choice or ""
        answer, confirm = data.get("answer"), data.get("answer_confirm")
        if (
            answer
            and confirm
            and " ".join(answer.split()).casefold() != " ".join(confirm.split()).casefold()
        ):
            self.add_error("answer_confirm", "The two answers do not match.")
        return data

    @property
    def question_field(self) -> str:
        """Where a refusal of the question belongs."""
        if self.data.get("question_choice") == CUSTOM_QUESTION:
            return "custom_question"
        return "question_choice"


# --- Users -------------------------------------------------------------------------------

USER_GENERAL_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "initials",
    "role",
    "is_attorney",
    "is_active",
    "is_integration_user",
)
USER_ACCOUNTING_FIELDS = ("records_time", "gl_account_extension")

ROLE_HELP = (
    "Administrators also manage users and settings. Accountants and administrators may "
    "correct: void checks, receipts and invoices, reverse entries, unmatch or record "
    "statement lines. Staff enter and match but cannot correct."
)


class UserEditForm(forms.Form):
    first_name = _text("First name", 100, required=False)
    last_name = _text("Last name", 100, required=False)
    email = forms.CharField(label="Email", max_length=254, widget=forms.EmailInput)
    initials = _text("Initials", 8, required=False)
    role = forms.ChoiceField(label="Role", choices=Role.choices, help_text=ROLE_HELP)
    is_attorney = forms.BooleanField(
        label="Attorney (may sign reconciliations)",
        required=False,
        help_text="Signs the monthly bank reconciliation, which closes the month.",
    )
    is_active = forms.BooleanField(
        label="Active", required=False, help_text="An inactive user cannot log in."
    )
    is_integration_user = forms.BooleanField(
        label="Designated integration user",
        required=False,
        help_text="The user case management signs in as. Only one per firm.",
    )
    records_time = forms.BooleanField(
        label="Records Time",
        required=False,
        help_text="Needed to be the timekeeper of a fee line (e.g. a contingency fee).",
    )
    gl_account_extension = _text("GL account extension", 20, required=False)

    @classmethod
    def for_user(cls, user: User, data: Any = None) -> UserEditForm:
        initial = {f: getattr(user, f) for f in (*USER_GENERAL_FIELDS, *USER_ACCOUNTING_FIELDS)}
        return cls(data=data, initial=initial)


class UserCreateForm(forms.Form):
    email = forms.CharField(label="Email", max_length=254, widget=forms.EmailInput)
    first_name = _text("First name", 100, required=False)
    last_name = _text("Last name", 100, required=False)
    initials = _text("Initials", 8, required=False)
    password = forms.CharField(
        label="Temporary password",
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters. Give it to the user; they enroll a security "
        "question at their first login.",
    )
    role = forms.ChoiceField(
        label="Role",
        choices=Role.choices,
        initial=Role.ACCOUNTANT,
        required=False,  # left out: accountant, as for every user made without one
        help_text=ROLE_HELP,
    )
    is_attorney = forms.BooleanField(
        label="Attorney (may sign reconciliations)",
        required=False,
        help_text="Signs the monthly bank reconciliation, which closes the month.",
    )
    records_time = forms.BooleanField(label="Records Time", required=False)


# --- Settings ----------------------------------------------------------------------------


class FeaturesForm(forms.Form):
    release_invoice_stage_enabled = forms.BooleanField(
        label="Enable release invoice stage in billing",
        required=False,
        help_text="Approved invoices wait in the Release tab before they are final.",
    )


class OpeningDateForm(forms.Form):
    opening_date = forms.DateField(
        label="Opening date",
        widget=DateInput,
        help_text="Nothing in the books can be dated before it: receipts, checks, invoices, "
        "journal entries and voids.",
    )


class FiscalYearForm(forms.Form):
    first_month = forms.TypedChoiceField(
        label="The fiscal year starts on the first of",
        coerce=int,
        choices=[(n, name) for n, name in enumerate(MONTH_NAMES, start=1)],
        help_text="Where the balance sheet splits retained from current-year earnings, and "
        "where a profit and loss or ledger detail without a From date begins. No entry "
        "changes.",
    )


class PeriodCloseForm(forms.Form):
    through = forms.DateField(
        label="Close the books through",
        widget=DateInput,
        help_text="No journal entry dated on or before this day posts, to any account.",
    )


class PeriodReopenForm(forms.Form):
    reopen_through = forms.DateField(
        label="Keep closed through",
        required=False,
        widget=DateInput,
        help_text="An earlier day, or blank to reopen everything.",
    )
    reason = forms.CharField(
        label="Reason",
        max_length=500,
        required=False,  # the service says what is missing
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class AreaForm(forms.Form):
    name = _text("Name", 100)
    description = _text("Description", 255, required=False)


def _postable_accounts(firm: Firm) -> Any:
    return (
        GLAccount.objects.filter(firm=firm, is_active=True, is_client_trust=False)
        .exclude(role__in=[AccountRole.OPERATING_BANK, AccountRole.TRUST_BANK])
        .order_by("number")
    )


class ActivityCodeForm(forms.Form):
    code = _text("Code", 40)
    name = _text("Name", 120)
    description = _text("Description", 255, required=False)
    gl_account = forms.ModelChoiceField(
        label="General Ledger Account",
        queryset=GLAccount.objects.none(),
        required=False,  # the service explains what is missing
        empty_label="Choose an account…",
    )
    utbms_code = forms.ChoiceField(
        label="UTBMS code",
        required=False,
        choices=[("", "None"), *[(c, f"{c} {n}") for c, n in UTBMS_EXPENSE_CODES]],
    )

    def __init__(self, *args: Any, firm: Firm, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["gl_account"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = _postable_accounts(firm)


class GLAccountForm(forms.Form):
    number = _text("Number", 20)
    name = _text("Name", 120)
    type = forms.ChoiceField(label="Type", choices=[("", "Choose…"), *AccountType.choices])


class ActivityCodeEditForm(ActivityCodeForm):
    """The pencil on an activity code: all but the code itself (its key), and Active (a
    code is deactivated, never deleted)."""

    is_active = forms.BooleanField(
        label="Active",
        required=False,
        help_text="An inactive code cannot be chosen for new costs or invoice lines.",
    )

    def __init__(self, *args: Any, firm: Firm, **kwargs: Any) -> None:
        super().__init__(*args, firm=firm, **kwargs)
        del self.fields["code"]


class GLAccountEditForm(forms.Form):
    """The pencil on a GL account: its name, and Active (never deleted)."""

    name = _text("Name", 120)
    is_active = forms.BooleanField(
        label="Active",
        required=False,
        help_text="Inactive accounts take no new postings. An account with a balance, a "
        "bank's, one the books run on or one an active activity code posts to stays active.",
    )


# --- Files, deposits and checks ----------------------------------------------------------


class FileSearchForm(forms.Form):
    q = forms.CharField(label="Search files", required=False, max_length=200)


class FileCreateForm(forms.Form):
    client_name = _text("Client name", 200)
    client_email = forms.EmailField(label="Client email", required=False, max_length=254)
    client_phone = _text("Client phone", 40, required=False)
    name = _text("File name", 200, placeholder="e.g. Lopez v. Acme Trucking")
    number = _text("File number", 40, required=False, placeholder="Leave blank for the next number")
    area_of_practice = forms.ModelChoiceField(
        label="Area of practice",
        queryset=AreaOfPractice.objects.none(),
        required=False,
        empty_label="None",
    )
    responsible_attorney = UserChoiceField(
        label="Responsible attorney",
        queryset=User.objects.none(),
        required=False,
        empty_label="None",
    )
    opened_on = forms.DateField(label="Opened on", required=False, widget=DateInput)

    def __init__(self, *args: Any, firm: Firm, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        area = self.fields["area_of_practice"]
        attorney = self.fields["responsible_attorney"]
        assert isinstance(area, forms.ModelChoiceField)
        assert isinstance(attorney, forms.ModelChoiceField)
        area.queryset = AreaOfPractice.objects.filter(firm=firm).order_by("name")
        attorney.queryset = User.objects.filter(firm=firm, is_active=True).order_by(
            "last_name", "first_name", "email"
        )


def _preselect_only_choice(form: forms.Form, name: str) -> None:
    """When a firm has exactly one account to choose, choose it (a blank form only)."""
    field = form.fields[name]
    assert isinstance(field, forms.ModelChoiceField)
    if not form.is_bound and name not in form.initial and field.queryset is not None:
        only = list(field.queryset[:2])
        if len(only) == 1:
            form.initial[name] = only[0].pk


def _bank_field(label: str = "Bank account") -> forms.ModelChoiceField[BankAccount]:
    return forms.ModelChoiceField(
        label=label, queryset=BankAccount.objects.none(), empty_label="Choose…"
    )


class DepositForm(forms.Form):
    bank_account = _bank_field("Trust account")
    payer = _text("Received from", 200)
    amount = MoneyField(label="Amount")
    received_on = forms.DateField(label="Date received", widget=DateInput)
    reference = _text("Check number or reference", 60, required=False)
    memo = _text("Memo", 255, required=False)

    def __init__(self, *args: Any, firm: Firm, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"received_on": clock.today()})
        super().__init__(*args, **kwargs)
        field = self.fields["bank_account"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = BankAccount.objects.filter(
            firm=firm, kind=BankAccountKind.TRUST, is_active=True
        ).order_by("name")
        _preselect_only_choice(self, "bank_account")


class CheckRequestForm(forms.Form):
    bank_account = BankChoiceField(
        label="Bank account", queryset=BankAccount.objects.none(), empty_label="Choose…"
    )
    payee = _text("Payee", 200)
    amount = MoneyField(label="Amount")
    activity_code = forms.ModelChoiceField(
        label="Activity code",
        queryset=ActivityCode.objects.none(),
        required=False,
        empty_label="None",
        help_text="Required for a check from operating (where the cost posts).",
    )
    memo = _text("Memo", 255, required=False)
    request_date = forms.DateField(label="Date", widget=DateInput)

    def __init__(self, *args: Any, firm: Firm, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"request_date": clock.today()})
        super().__init__(*args, **kwargs)
        bank = self.fields["bank_account"]
        code = self.fields["activity_code"]
        assert isinstance(bank, forms.ModelChoiceField)
        assert isinstance(code, forms.ModelChoiceField)
        bank.queryset = BankAccount.objects.filter(firm=firm, is_active=True).order_by("name")
        code.queryset = ActivityCode.objects.filter(firm=firm, is_active=True).order_by("code")


class CheckPrintForm(forms.Form):
    check_number = forms.IntegerField(label="Check number", min_value=1, max_value=MAX_INT)
    printed_on = forms.DateField(label="Printed on", widget=DateInput)


class VoidForm(forms.Form):
    void_date = forms.DateField(label="Void date", widget=DateInput)
    reason = _text("Reason", 255)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"void_date": clock.today()})
        super().__init__(*args, **kwargs)


class InvoiceAdvanceForm(forms.Form):
    expected_stage = forms.CharField(max_length=10)


# --- Manual journal entries --------------------------------------------------------------


#: How the journal and invoice services name a line in a refusal: "line 3: ...".
_LINE = re.compile(r"^line (\d+): ")
_LINE_FIELD = re.compile(r"^lines\[\d+\]\.(\w+)$")


class LineRowsForm(forms.Form):
    """A form with up to :attr:`ROWS` rows of line fields named ``<key>_<n>`` (``n`` from
    1), built by :meth:`row_fields`; a row left blank is left out."""

    ROWS = 6
    ROW_KEYS: tuple[str, ...] = ()
    #: The column headings, in the order of ROW_KEYS (``web/_line_rows.html``).
    ROW_HEADINGS: tuple[str, ...] = ()

    def row_fields(self, n: int) -> dict[str, forms.Field]:
        raise NotImplementedError

    def add_rows(self) -> None:
        for n in range(1, self.ROWS + 1):
            for key, field in self.row_fields(n).items():
                self.fields[f"{key}_{n}"] = field

    def rows(self) -> list[dict[str, forms.BoundField]]:
        """The line fields, row by row, for the template."""
        return [{key: self[f"{key}_{n}"] for key in self.ROW_KEYS} for n in range(1, self.ROWS + 1)]

    def add_line_error(self, exc: DomainError) -> bool:
        """Show a service's refusal of its line ``k`` ("line k: ...", counting the rows
        filled in) beside the row the person typed it in, numbered as the screen numbers
        it: beside the field the refusal names (``lines[k-1].<key>``, a key of the row),
        else beside the row's first. False when the refusal names no line."""
        found = _LINE.match(exc.message)
        rows = self.filled_rows()
        if found is None or not 1 <= int(found[1]) <= len(rows):
            return False
        n = rows[int(found[1]) - 1][0]
        named = _LINE_FIELD.match(exc.field or "")
        key = named[1] if named and named[1] in self.ROW_KEYS else self.ROW_KEYS[0]
        self.add_error(f"{key}_{n}", f"Line {n}: {exc.message[found.end() :]}")
        return True

    def filled_rows(self) -> list[tuple[int, dict[str, Any]]]:
        """The rows with anything in them, by number (after ``is_valid``)."""
        data = self.cleaned_data
        out = []
        for n in range(1, self.ROWS + 1):
            row = {key: data.get(f"{key}_{n}") for key in self.ROW_KEYS}
            if any(v not in (None, "") for v in row.values()):
                out.append((n, row))
        return out


class JournalEntryForm(LineRowsForm):
    """A manual journal entry: its date and memo and up to six lines, each an account, a
    debit or a credit, the file (by number) a client trust line belongs to, and a memo.
    The journal service checks the rest (two lines or more, balanced, one side a line,
    active accounts, a file on every client trust line)."""

    ROW_KEYS = ("account", "debit", "credit", "file", "line_memo")
    ROW_HEADINGS = ("Account", "Debit", "Credit", "File", "Memo")

    date = forms.DateField(label="Date", widget=DateInput)
    memo = _text("Memo", 500, required=False)

    def __init__(self, *args: Any, firm: Firm, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"date": clock.today()})
        super().__init__(*args, **kwargs)
        self.accounts = GLAccount.objects.filter(firm=firm, is_active=True).order_by("number")
        self.add_rows()

    def row_fields(self, n: int) -> dict[str, forms.Field]:
        return {
            "account": forms.ModelChoiceField(
                label=f"Line {n} account", queryset=self.accounts, required=False, empty_label="—"
            ),
            "debit": MoneyField(label=f"Line {n} debit", required=False),
            "credit": MoneyField(label=f"Line {n} credit", required=False),
            "file": _text(f"Line {n} file", 40, required=False, list="file-numbers"),
            "line_memo": _text(f"Line {n} memo", 255, required=False),
        }


#: an invoice line's own UTBMS codes (ADR 0054), as the service and the API name them
UTBMS_KEYS = ("utbms_task_code", "utbms_activity_code", "utbms_expense_code")


def _code_choices(codes: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    return [("", "Default"), *((code, f"{code} {name}") for code, name in codes)]


def utbms_fields(label: str, *kinds: str) -> dict[str, forms.Field]:
    """The UTBMS code fields of the line ``kinds`` (a fee's task and activity code, a
    cost's expense code), each a choice of its code set or the default, labelled
    ``label`` + what it is."""
    fields: dict[str, forms.Field] = {}
    if LineKind.FEE in kinds:
        fields["utbms_task_code"] = forms.ChoiceField(
            label=f"{label}UTBMS task code", required=False, choices=_code_choices(utbms.TASK_CODES)
        )
        fields["utbms_activity_code"] = forms.ChoiceField(
            label=f"{label}UTBMS activity code",
            required=False,
            choices=_code_choices(utbms.ACTIVITY_CODES),
        )
    if LineKind.COST in kinds:
        fields["utbms_expense_code"] = forms.ChoiceField(
            label=f"{label}UTBMS expense code",
            required=False,
            choices=_code_choices(utbms.EXPENSE_CODES),
        )
    return fields


class InvoiceLineCodesForm(forms.Form):
    """Invoice -> a line's UTBMS codes: a fee line's task and activity code, a cost
    line's expense code; "Default" leaves the line to the firm's LEDES fee codes (a fee) or
    its activity code's UTBMS code (a cost)."""

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(utbms_fields("", kind))


class InvoiceCreateForm(LineRowsForm):
    """A draft invoice typed by hand (the bridge creates the settlement's): the file (by
    number), its date and description, whether it is paid from the client's trust, and up
    to six lines: a fee (with its timekeeper, who must record time) or a cost (with its
    activity code)."""

    ROW_KEYS = (
        "kind",
        "description",
        "amount",
        "timekeeper",
        "activity_code",
        "hours",
        *UTBMS_KEYS,
    )
    ROW_HEADINGS = (
        "Kind",
        "Description",
        "Amount",
        "Timekeeper",
        "Activity code",
        "Hours",
        "UTBMS task (fee)",
        "UTBMS activity (fee)",
        "UTBMS expense (cost)",
    )

    file = _text("File number", 40, list="file-numbers", placeholder="e.g. 2026-00001")
    invoice_date = forms.DateField(label="Invoice date", widget=DateInput)
    description = _text("Description", 255, required=False)
    pay_from_trust = forms.BooleanField(
        label="Paid from the client's trust",
        required=False,
        help_text="When final, the total moves from client trust to the operating account "
        "(refused if the client's trust would go below zero on the invoice date).",
    )

    def __init__(self, *args: Any, firm: Firm, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"invoice_date": clock.today()})
        super().__init__(*args, **kwargs)
        self.keepers = User.objects.filter(firm=firm, is_active=True, records_time=True).order_by(
            "last_name", "first_name", "email"
        )
        self.codes = ActivityCode.objects.filter(firm=firm, is_active=True).order_by("code")
        self.add_rows()

    def row_fields(self, n: int) -> dict[str, forms.Field]:
        return {
            "kind": forms.ChoiceField(
                label=f"Line {n} kind",
                required=False,
                choices=[("", "—"), ("fee", "Fee"), ("cost", "Cost")],
            ),
            "description": _text(f"Line {n} description", 255, required=False),
            "amount": MoneyField(label=f"Line {n} amount", required=False),
            "timekeeper": UserChoiceField(
                label=f"Line {n} timekeeper",
                queryset=self.keepers,
                required=False,
                empty_label="—",
            ),
            "activity_code": forms.ModelChoiceField(
                label=f"Line {n} activity code",
                queryset=self.codes,
                required=False,
                empty_label="—",
            ),
            "hours": forms.DecimalField(
                label=f"Line {n} hours",
                required=False,
                min_value=0,
                max_digits=7,
                decimal_places=2,
            ),
            **utbms_fields(f"Line {n} ", LineKind.FEE, LineKind.COST),
        }

    def clean(self) -> dict[str, Any]:
        # a row with only UTBMS codes chosen is not a line: say so beside its kind, rather
        # than send the service an empty line ("amount must be greater than zero")
        data = super().clean() or {}
        for n in range(1, self.ROWS + 1):
            codes = any(data.get(f"{key}_{n}") for key in UTBMS_KEYS)
            rest = any(
                data.get(f"{key}_{n}") not in (None, "")
                for key in self.ROW_KEYS
                if key not in UTBMS_KEYS
            )
            if codes and not rest:
                self.add_error(
                    f"kind_{n}",
                    f"Line {n} has UTBMS codes but nothing else: fill in its kind, "
                    "description and amount, or set its codes back to Default.",
                )
        return data


class JournalReverseForm(forms.Form):
    date = forms.DateField(label="Reversal date", widget=DateInput)
    memo = _text("Memo", 500, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"date": clock.today()})
        super().__init__(*args, **kwargs)


# --- Reports -----------------------------------------------------------------------------


class TrialBalanceForm(forms.Form):
    as_of = forms.DateField(
        label="As of", required=False, widget=DateInput, help_text="Leave blank for today."
    )


class ClientLedgerForm(forms.Form):
    file = _text("File number", 40, list="file-numbers", placeholder="e.g. 2026-00001")
    as_of = forms.DateField(
        label="As of", required=False, widget=DateInput, help_text="Leave blank for today."
    )


def _trust_bank_queryset(firm: Firm) -> Any:
    return BankAccount.objects.filter(firm=firm, kind=BankAccountKind.TRUST).order_by("name")


class TrustJournalForm(forms.Form):
    bank_account = _bank_field("Trust account")
    start = forms.DateField(label="From", required=False, widget=DateInput)
    end = forms.DateField(
        label="To", required=False, widget=DateInput, help_text="Leave blank for today."
    )

    def __init__(self, *args: Any, firm: Firm, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["bank_account"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = _trust_bank_queryset(firm)
        _preselect_only_choice(self, "bank_account")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if isinstance(start, dt.date) and isinstance(end, dt.date) and end < start:
            self.add_error("end", "The end date is before the start date.")
        return data


class ReconciliationForm(forms.Form):
    bank_account = _bank_field("Trust account")
    statement_balance = MoneyField(label="Statement balance", allow_negative=True)
    deposits_in_transit = MoneyField(
        label="Deposits in transit", required=False, help_text="Leave blank for none."
    )
    outstanding_checks = MoneyField(
        label="Outstanding checks",
        required=False,
        help_text="Leave blank to count every unvoided check of this account.",
    )
    as_of = forms.DateField(
        label="As of",
        required=False,
        widget=DateInput,
        help_text="The statement date; leave blank for today.",
    )

    def __init__(self, *args: Any, firm: Firm, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["bank_account"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = _trust_bank_queryset(firm)
        _preselect_only_choice(self, "bank_account")


class AuditFilterForm(forms.Form):
    entity_type = forms.ChoiceField(label="Entity", required=False)
    action = forms.ChoiceField(label="Action", required=False)

    def __init__(
        self, *args: Any, entity_types: list[str], actions: list[str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        entity = self.fields["entity_type"]
        action = self.fields["action"]
        assert isinstance(entity, forms.ChoiceField)
        assert isinstance(action, forms.ChoiceField)
        entity.choices = [("", "All"), *[(e, e.replace("_", " ")) for e in entity_types]]
        action.choices = [("", "All"), *[(a, a.replace("_", " ")) for a in actions]]


# --- Checks out (issue 11) -----------------------------------------------------------------

LAYOUT_CHOICES = [
    ("check_on_top", "Check on top (one check and two stubs a page)"),
    ("three_per_page", "Three checks a page"),
]


class CheckBatchPrintForm(forms.Form):
    printed_on = forms.DateField(label="Printed on", widget=DateInput)
    layout = forms.ChoiceField(
        label="Check stock",
        choices=LAYOUT_CHOICES,
        initial="check_on_top",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"printed_on": clock.today(), "layout": "check_on_top"})
        super().__init__(*args, **kwargs)


class CheckReprintForm(forms.Form):
    reason = _text("What happened to the paper", 255, placeholder="e.g. jammed in the printer")
    printed_on = forms.DateField(label="Printed again on", widget=DateInput)
    layout = forms.ChoiceField(
        label="Check stock",
        choices=LAYOUT_CHOICES,
        initial="check_on_top",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"printed_on": clock.today(), "layout": "check_on_top"})
        super().__init__(*args, **kwargs)


POSITIVE_PAY_LAYOUT_CHOICES = [
    ("saved", "The bank account's layout"),
    ("csv_mdy_iv", "Fixed-order CSV, MM/DD/YYYY, I/V flag"),
    ("cents_ymd_noheader", "Cents, YYYYMMDD, no header"),
]


class PositivePayForm(forms.Form):
    bank_account = BankChoiceField(
        label="Bank account", queryset=BankAccount.objects.none(), empty_label="Choose…"
    )
    start = forms.DateField(label="From", widget=DateInput)
    end = forms.DateField(label="To", widget=DateInput)
    layout = forms.ChoiceField(label="Layout", choices=POSITIVE_PAY_LAYOUT_CHOICES)

    def __init__(self, *args: Any, firm: Firm, **kwargs: Any) -> None:
        today = clock.today()
        kwargs.setdefault("initial", {"start": today.replace(day=1), "end": today})
        super().__init__(*args, **kwargs)
        field = self.fields["bank_account"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = BankAccount.objects.filter(firm=firm, is_active=True).order_by("name")
        _preselect_only_choice(self, "bank_account")

    def clean(self) -> dict[str, Any] | None:
        data = super().clean()
        assert data is not None
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", "The end date cannot be before the start date.")
        return data


class CheckPrintingForm(forms.Form):
    bank_name = _text("Bank name", 120, required=False)
    routing_number = _text(
        "Routing number", 20, required=False, inputmode="numeric", autocomplete="off"
    )
    account_number = _text(
        "Account number", 40, required=False, inputmode="numeric", autocomplete="off"
    )


def _column_choices() -> list[tuple[str, str]]:
    return [("", "—"), *PositivePayColumn.choices]


class PositivePayLayoutForm(forms.Form):
    """The columns in order (up to six, blank ones skipped), formats, flags, header; or a
    preset, which overrides them."""

    preset = forms.ChoiceField(
        label="Start from",
        required=False,
        choices=[("", "The layout below"), *POSITIVE_PAY_LAYOUT_CHOICES[1:]],
    )
    column_1 = forms.ChoiceField(label="Column 1", required=False, choices=_column_choices)
    column_2 = forms.ChoiceField(label="Column 2", required=False, choices=_column_choices)
    column_3 = forms.ChoiceField(label="Column 3", required=False, choices=_column_choices)
    column_4 = forms.ChoiceField(label="Column 4", required=False, choices=_column_choices)
    column_5 = forms.ChoiceField(label="Column 5", required=False, choices=_column_choices)
    column_6 = forms.ChoiceField(label="Column 6", required=False, choices=_column_choices)
    date_format = forms.ChoiceField(label="Date format", choices=PositivePayDateFormat.choices)
    amount_format = forms.ChoiceField(label="Amount", choices=PositivePayAmount.choices)
    issue_flag = _text("Issue flag", 10)
    void_flag = _text("Void flag", 10)
    header = forms.BooleanField(label="Header row first", required=False)

    COLUMNS = ("column_1", "column_2", "column_3", "column_4", "column_5", "column_6")


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Time zone",
        choices=[(name, name) for name in timezones.zone_names()],
        help_text='What "today" is for the firm\'s people, its API clients and its nightly '
        "jobs; daylight saving is followed.",
    )


# --- ACH payments (issue 15, ADR 0046) ---


class PayeeBankForm(forms.Form):
    routing_number = _text("Routing number", 20, inputmode="numeric", autocomplete="off")
    account_number = _text("Account number", 40, autocomplete="off")
    account_type = forms.ChoiceField(
        label="Account type", choices=[("checking", "Checking"), ("savings", "Savings")]
    )
    holder_kind = forms.ChoiceField(
        label="Held by",
        choices=[("person", "A person (PPD)"), ("business", "A business (CCD)")],
    )
    prenote = forms.BooleanField(
        label="Send a zero-dollar prenote in the next ACH file", required=False
    )


class PayeeBankNewForm(PayeeBankForm):
    contact = forms.ModelChoiceField(
        label="Payee", queryset=Contact.objects.none(), empty_label="Choose…"
    )
    field_order = ["contact"]

    def __init__(self, *args: Any, firm: Firm, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        contact = self.fields["contact"]
        assert isinstance(contact, forms.ModelChoiceField)
        contact.queryset = Contact.objects.filter(firm=firm).order_by("name")


class AchSettingsForm(forms.Form):
    immediate_destination = _text(
        "Immediate destination (your bank's routing number)", 20, inputmode="numeric"
    )
    immediate_destination_name = _text("Immediate destination name", 23)
    immediate_origin = _text("Immediate origin", 10)
    immediate_origin_name = _text("Immediate origin name", 23)
    company_name = _text("Company name", 16)
    company_id = _text("Company ID", 10)
    balanced = forms.BooleanField(
        label="Balanced file (offset each batch with a debit to this account)", required=False
    )


class AchPaymentRequestForm(CheckRequestForm):
    """A disbursement paid by ACH: a check request and the payee with bank details."""

    payee_contact = forms.ModelChoiceField(
        label="Pay to (bank details on file)",
        queryset=Contact.objects.none(),
        empty_label="Choose…",
    )
    field_order = ["bank_account", "payee_contact", "amount", "request_date"]

    def __init__(self, *args: Any, firm: Firm, **kwargs: Any) -> None:
        super().__init__(*args, firm=firm, **kwargs)
        del self.fields["payee"]
        contact = self.fields["payee_contact"]
        assert isinstance(contact, forms.ModelChoiceField)
        contact.queryset = Contact.objects.filter(
            firm=firm, payee_bank_accounts__is_active=True
        ).order_by("name")


class AchBatchForm(forms.Form):
    effective_date = forms.DateField(
        label="Effective entry date",
        widget=DateInput,
        help_text="A banking day: not a weekend or a Federal Reserve holiday.",
    )
    include_prenotes = forms.BooleanField(
        label="Include the prenotes waiting to be sent", required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial", {"effective_date": banking_days.next_banking_day(clock.today())}
        )
        super().__init__(*args, **kwargs)


class AchReturnForm(forms.Form):
    returned_on = forms.DateField(label="Returned on", widget=DateInput)
    reason = _text("Return code and reason (e.g. R01 insufficient funds)", 255)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"returned_on": clock.today()})
        super().__init__(*args, **kwargs)


class AchCancelForm(forms.Form):
    reason = _text("Reason", 255, required=False)


class AchSentForm(forms.Form):
    sent_on = forms.DateField(label="Sent on", widget=DateInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"sent_on": clock.today()})
        super().__init__(*args, **kwargs)


# --- LEDES e-billing (issue 15, ADR 0044) ---


class LedesSettingsForm(forms.Form):
    law_firm_id = _text("Law firm ID (federal tax ID)", 20, autocomplete="off")
    fee_task_code = _text("UTBMS task code of fee lines", 4, autocomplete="off")
    fee_activity_code = _text("UTBMS activity code of fee lines", 4, autocomplete="off")


class LedesMatterForm(forms.Form):
    client_id = _text("Client ID", 20, required=False, autocomplete="off")
    client_matter_id = _text(
        "Client matter ID (e.g. claim number)", 20, required=False, autocomplete="off"
    )


class LedesTimekeeperForm(forms.Form):
    timekeeper_id = _text("Timekeeper ID", 20, required=False, autocomplete="off")
    classification = forms.ChoiceField(
        label="Classification", choices=[("", "Choose…"), *LedesClassification.choices]
    )


# --- Financial statements (issue 15, ADR 0042) ---


class FinancialPeriodForm(forms.Form):
    start = forms.DateField(
        label="From",
        required=False,
        widget=DateInput,
        help_text="Blank: the first day of the fiscal year.",
    )
    end = forms.DateField(
        label="To", required=False, widget=DateInput, help_text="Leave blank for today."
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if isinstance(start, dt.date) and isinstance(end, dt.date) and end < start:
            self.add_error("end", "The end date is before the start date.")
        return data


class ProfitLossForm(FinancialPeriodForm):
    by_month = forms.BooleanField(label="A column per month", required=False)
    comparison = forms.ChoiceField(
        label="Compare with",
        required=False,
        choices=[
            ("none", "Nothing"),
            ("previous_year", "The same period a year earlier"),
            ("previous_period", "The period before"),
        ],
    )


class FinancialAsOfForm(forms.Form):
    as_of = forms.DateField(
        label="As of", required=False, widget=DateInput, help_text="Leave blank for today."
    )


class BalanceSheetForm(FinancialAsOfForm):
    comparison = forms.ChoiceField(
        label="Compare with",
        required=False,
        choices=[
            ("none", "Nothing"),
            ("year_earlier", "The same day a year earlier"),
            ("fiscal_year_end", "The end of the previous fiscal year"),
            ("date", "A date I choose"),
        ],
    )
    compare_to = forms.DateField(
        label="Compared date",
        required=False,
        widget=DateInput,
        help_text='Read with "A date I choose".',
    )

    def clean(self) -> dict[str, Any]:
        """The compared date is read only with "A date I choose", where it is required."""
        data = super().clean() or {}
        data["comparison"] = data.get("comparison") or "none"
        if data["comparison"] != "date":
            data["compare_to"] = None
        elif not data.get("compare_to") and "compare_to" not in self.errors:
            self.add_error("compare_to", "Choose the date to compare with.")
        return data


class GLAccountChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.number} {obj.name}"


class GeneralLedgerForm(FinancialPeriodForm):
    account = GLAccountChoice(
        label="Account",
        required=False,
        queryset=GLAccount.objects.none(),
        empty_label="All accounts",
    )
    cursor = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)

    def __init__(self, *args: Any, firm: Firm, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["account"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = GLAccount.objects.filter(firm=firm).order_by("number")
