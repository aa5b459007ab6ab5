"""The gear menu's firm set-up screens: Settings (General, Features, Fiscal year), Areas of
Practice, Rates/Codes (Activity Code, Timekeepers), Chart of Accounts and Bank Accounts
(with each bank account's check printing details and positive pay layout)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from casebridge.books.auth import books_login_required, books_user
from casebridge.books.forms import (
    ActivityCodeEditForm,
    ActivityCodeForm,
    AreaForm,
    CheckPrintingForm,
    FeaturesForm,
    FiscalYearForm,
    GLAccountEditForm,
    GLAccountForm,
    OpeningDateForm,
    PeriodCloseForm,
    PeriodReopenForm,
    PositivePayLayoutForm,
    TimeZoneForm,
)
from casebridge.books.models import (
    DEBIT_NORMAL,
    ActivityCode,
    AreaOfPractice,
    BankAccount,
    GLAccount,
    PositivePayAmount,
    PositivePayColumn,
    PositivePayDateFormat,
    User,
)
from casebridge.books.selectors import financial
from casebridge.books.selectors.positive_pay import (
    PRESETS,
    PositivePayFormat,
    positive_pay_format_of,
)
from casebridge.books.selectors.reports import gl_balances
from casebridge.books.services import bank_accounts, periods, setup
from casebridge.books.services.dates import first_entry_date
from casebridge.books.services.setup import MONTH_NAMES
from casebridge.core import clock, words
from casebridge.core.dates import max_days_ahead
from casebridge.core.errors import DomainError, ValidationFailed
from casebridge.web.paging import paginate
from casebridge.web.popups import INVALID, apply_domain_error, message_of, popup_form

# --- Settings: General and Features ------------------------------------------------------


@books_login_required(admin=True)
def settings_general_view(request: HttpRequest) -> HttpResponse:
    firm = books_user(request).firm
    return render(
        request,
        "books/settings/general.html",
        {"nav": "settings", "section": "settings", "tab": "general", "firm": firm},
    )


def _settings_tab(tab: str) -> dict[str, str]:
    return {"nav": "settings", "section": "settings", "tab": tab}


@books_login_required(admin=True)
@require_http_methods(["GET", "POST"])
def settings_features_view(request: HttpRequest) -> HttpResponse:
    me = books_user(request)

    def save(form: FeaturesForm) -> HttpResponse:
        setup.firm_features_update(
            firm=me.firm,
            actor=me,
            release_invoice_stage_enabled=form.cleaned_data["release_invoice_stage_enabled"],
        )
        messages.success(request, "Features saved.")
        return redirect("books:settings_features")

    return popup_form(
        request,
        FeaturesForm,
        on_valid=save,
        template="books/settings/features.html",
        initial={"release_invoice_stage_enabled": me.firm.release_invoice_stage_enabled},
        context=_settings_tab("features"),
        modal=False,
    )


@books_login_required(admin=True)
@require_http_methods(["GET", "POST"])
def settings_fiscal_year_view(request: HttpRequest) -> HttpResponse:
    """Settings -> Fiscal year (ADR 0053): the month the firm's fiscal year starts on."""
    me = books_user(request)

    def save(form: FiscalYearForm) -> HttpResponse:
        firm = setup.firm_fiscal_year_set(
            firm=me.firm, actor=me, first_month=form.cleaned_data["first_month"]
        )
        today = clock.today()
        messages.success(
            request,
            f"Fiscal year saved: it starts on 1 {MONTH_NAMES[firm.fiscal_year_start_month - 1]}"
            f"; this one runs {words.format_day(financial.fiscal_year_start(today, firm=firm))}"
            f" to {words.format_day(financial.fiscal_year_end(today, firm=firm))}.",
        )
        return redirect("books:settings_fiscal_year")

    today = clock.today()
    return popup_form(
        request,
        FiscalYearForm,
        on_valid=save,
        template="books/settings/fiscal_year.html",
        initial={"first_month": me.firm.fiscal_year_start_month},
        context={
            **_settings_tab("fiscal_year"),
            "firm": me.firm,
            "current_start": financial.fiscal_year_start(today, firm=me.firm),
            "current_end": financial.fiscal_year_end(today, firm=me.firm),
        },
        modal=False,
    )


@books_login_required(admin=True)
@require_http_methods(["GET", "POST"])
def settings_time_zone_view(request: HttpRequest) -> HttpResponse:
    """Settings -> Time zone: what "today" is for the firm (core/timezones.py)."""
    me = books_user(request)

    def save(form: TimeZoneForm) -> HttpResponse:
        firm = setup.firm_time_zone_set(
            firm=me.firm, actor=me, time_zone=form.cleaned_data["time_zone"]
        )
        messages.success(request, f"Time zone saved: {firm.time_zone}.")
        return redirect("books:settings_time_zone")

    return popup_form(
        request,
        TimeZoneForm,
        on_valid=save,
        template="books/settings/time_zone.html",
        initial={"time_zone": me.firm.time_zone or settings.TIME_ZONE},
        context={
            **_settings_tab("time_zone"),
            "firm": me.firm,
            "server_zone": settings.TIME_ZONE,
        },
        modal=False,
    )


@books_login_required(admin=True)
@require_http_methods(["GET", "POST"])
def settings_opening_date_view(request: HttpRequest) -> HttpResponse:
    """Settings -> Opening date (ADR 0007): nothing in the books is dated before it."""
    me = books_user(request)

    def save(form: OpeningDateForm) -> HttpResponse:
        opening_date = form.cleaned_data["opening_date"]
        setup.firm_opening_date_set(firm=me.firm, actor=me, opening_date=opening_date)
        messages.success(
            request,
            f"Opening date saved: nothing can be dated before {words.format_day(opening_date)}.",
        )
        return redirect("books:settings_opening_date")

    return popup_form(
        request,
        OpeningDateForm,
        on_valid=save,
        template="books/settings/opening_date.html",
        initial={"opening_date": me.firm.opening_date},
        context=lambda form: {
            **_settings_tab("opening_date"),
            "firm": me.firm,
            "first_entry": first_entry_date(me.firm),
            "days_ahead": max_days_ahead(),
        },
        modal=False,
    )


@books_login_required(admin=True)
@require_http_methods(["GET", "POST"])
def settings_closed_periods_view(request: HttpRequest) -> HttpResponse:
    """Settings -> Closed periods (issue 11): the firm-wide close, and each bank account's
    months closed by a signed reconciliation."""
    me = books_user(request)
    close_form = PeriodCloseForm(prefix="close")
    reopen_form = PeriodReopenForm(prefix="reopen")
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "close":
            close_form = PeriodCloseForm(request.POST, prefix="close")
            if close_form.is_valid():
                through = close_form.cleaned_data["through"]
                try:
                    periods.firm_period_close(firm=me.firm, actor=me, through=through)
                except DomainError as exc:
                    apply_domain_error(close_form, exc)
                else:
                    messages.success(
                        request, f"The books are closed firm-wide through {through.isoformat()}."
                    )
                    return redirect("books:settings_closed_periods")
        elif action == "reopen":
            reopen_form = PeriodReopenForm(request.POST, prefix="reopen")
            if reopen_form.is_valid():
                through = reopen_form.cleaned_data["reopen_through"]
                try:
                    periods.firm_period_reopen(
                        firm=me.firm,
                        actor=me,
                        through=through,
                        reason=reopen_form.cleaned_data["reason"],
                    )
                except DomainError as exc:
                    apply_domain_error(reopen_form, exc, {"through": "reopen_through"})
                else:
                    messages.success(
                        request,
                        "The books are reopened: "
                        + (
                            f"closed firm-wide through {through.isoformat()}."
                            if through
                            else "no firm-wide close."
                        ),
                    )
                    return redirect("books:settings_closed_periods")
        status = INVALID
    me.firm.refresh_from_db(fields=["closed_through"])
    banks = BankAccount.objects.filter(firm=me.firm).order_by("name", "pk")
    return render(
        request,
        "books/settings/closed_periods.html",
        {
            "nav": "settings",
            "section": "settings",
            "tab": "closed_periods",
            "firm": me.firm,
            "close_form": close_form,
            "reopen_form": reopen_form,
            "banks": banks,
        },
        status=status,
    )


# --- Areas of Practice -------------------------------------------------------------------

AREAS = {"nav": "settings", "section": "areas"}


@books_login_required(admin=True)
def areas_view(request: HttpRequest) -> HttpResponse:
    firm = books_user(request).firm
    areas = AreaOfPractice.objects.filter(firm=firm).order_by("name", "pk")
    return render(request, "books/settings/areas.html", {**AREAS, "page": paginate(request, areas)})


@books_login_required(admin=True)
@require_http_methods(["GET", "POST"])
def area_create_view(request: HttpRequest) -> HttpResponse:
    return _area_form(request, None)


@books_login_required(admin=True)
@require_http_methods(["GET", "POST"])
def area_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    area = get_object_or_404(AreaOfPractice, firm=books_user(request).firm, pk=pk)
    return _area_form(request, area)


def _area_form(request: HttpRequest, area: AreaOfPractice | None) -> HttpResponse:
    me = books_user(request)

    def save(form: AreaForm) -> str:
        name, description = form.cleaned_data["name"], form.cleaned_data["description"]
        if area is None:
            saved = setup.area_of_practice_create(
                firm=me.firm, actor=me, name=name, description=description
            )
            return f"Area of practice {saved.name} added."
        saved = setup.area_of_practice_update(
            area=area, actor=me, name=name, description=description
        )
        return f"Area of practice {saved.name} saved."

    action = (
        reverse("books:area_new") if area is None else reverse("books:area_edit", args=[area.pk])
    )
    return popup_form(
        request,
        AreaForm,
        on_valid=save,
        template="books/settings/_area_form.html",
        title="Add area of practice" if area is None else f"Edit {area.name}",
        success=reverse("books:areas"),
        initial=None if area is None else {"name": area.name, "description": area.description},
        context={"action": action},
    )


# --- Rates/Codes -------------------------------------------------------------------------

CODES = {"nav": "settings", "section": "rates"}


@books_login_required(admin=True)
def activity_codes_view(request: HttpRequest) -> HttpResponse:
    firm = books_user(request).firm
    codes = (
        ActivityCode.objects.filter(firm=firm)
        .select_related("gl_account")
        .order_by("-is_active", "code", "pk")
    )
    return render(
        request,
        "books/settings/activity_codes.html",
        {**CODES, "tab": "activity", "page": paginate(request, codes)},
    )


@books_login_required(admin=True)
def timekeepers_view(request: HttpRequest) -> HttpResponse:
    firm = books_user(request).firm
    users = (
        User.objects.filter(firm=firm, is_active=True)
        .select_related("ledes")
        .order_by("-records_time", "last_name", "first_name", "email")
    )
    return render(
        request,
        "books/settings/timekeepers.html",
        {**CODES, "tab": "timekeepers", "page": paginate(request, users)},
    )


@books_login_required(admin=True)
@require_http_methods(["GET", "POST"])
def activity_code_create_view(request: HttpRequest) -> HttpResponse:
    me = books_user(request)

    def create(form: ActivityCodeForm) -> str:
        data = form.cleaned_data
        gl = data["gl_account"]
        code = setup.activity_code_create(
            firm=me.firm,
            actor=me,
            code=data["code"],
            name=data["name"],
            description=data["description"],
            gl_account_id=gl.pk if gl is not None else None,
            utbms_code=data["utbms_code"],
        )
        return f"Activity code {code.code} added (posts to {code.gl_account})."

    return popup_form(
        request,
        ActivityCodeForm,
        on_valid=create,
        template="books/settings/_activity_code_form.html",
        title="Add activity code",
        success=reverse("books:activity_codes"),
        form_kwargs={"firm": me.firm},
    )


@books_login_required(admin=True)
@require_http_methods(["GET", "POST"])
def activity_code_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = books_user(request)
    code = get_object_or_404(ActivityCode.objects.select_related("gl_account"), firm=me.firm, pk=pk)

    def save(form: ActivityCodeEditForm) -> str:
        data = form.cleaned_data
        gl = data["gl_account"]
        if gl is None:
            raise ValidationFailed(
                "choose the General Ledger account this code posts to", field="gl_account"
            )
        saved = setup.activity_code_update(
            code=code,
            actor=me,
            name=data["name"],
            description=data["description"],
            gl_account_id=gl.pk,
            utbms_code=data["utbms_code"],
            is_active=data["is_active"],
        )
        state = "" if saved.is_active else " It is inactive now."
        return f"Activity code {saved.code} saved (posts to {saved.gl_account}).{state}"

    return popup_form(
        request,
        ActivityCodeEditForm,
        on_valid=save,
        template="books/settings/_activity_code_edit_form.html",
        title=f"Edit activity code {code.code}",
        success=reverse("books:activity_codes"),
        form_kwargs={"firm": me.firm},
        initial={
            "name": code.name,
            "description": code.description,
            "gl_account": code.gl_account_id,
            "utbms_code": code.utbms_code,
            "is_active": code.is_active,
        },
        context={"code": code},
    )


@books_login_required(admin=True)
@require_POST
def activity_codes_utbms_view(request: HttpRequest) -> HttpResponse:
    me = books_user(request)
    try:
        added = setup.activity_codes_add_utbms(firm=me.firm, actor=me)
    except DomainError as exc:
        messages.error(request, message_of(exc))
    else:
        if added:
            messages.success(request, f"Added {added} UTBMS expense codes.")
        else:
            messages.info(request, "Every UTBMS expense code is already in your list.")
    return redirect("books:activity_codes")


# --- Chart of accounts and bank accounts -------------------------------------------------


@books_login_required(admin=True)
def accounts_view(request: HttpRequest) -> HttpResponse:
    firm = books_user(request).firm
    accounts = GLAccount.objects.filter(firm=firm).order_by("number", "pk")
    page = paginate(request, accounts)
    balances = gl_balances(firm=firm, accounts=page)  # as of today
    rows = [
        (acct, balances[acct.pk] if acct.type in DEBIT_NORMAL else -balances[acct.pk])
        for acct in page
    ]
    return render(
        request,
        "books/settings/accounts.html",
        {"nav": "settings", "section": "accounts", "page": page, "rows": rows},
    )


@books_login_required(admin=True)
@require_http_methods(["GET", "POST"])
def account_create_view(request: HttpRequest) -> HttpResponse:
    me = books_user(request)

    def create(form: GLAccountForm) -> str:
        data = form.cleaned_data
        acct = setup.gl_account_create(
            firm=me.firm, actor=me, number=data["number"], name=data["name"], type=data["type"]
        )
        return f"Account {acct} added."

    return popup_form(
        request,
        GLAccountForm,
        on_valid=create,
        template="books/settings/_account_form.html",
        title="Add account",
        success=reverse("books:accounts"),
    )


@books_login_required(admin=True)
@require_http_methods(["GET", "POST"])
def account_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = books_user(request)
    account = get_object_or_404(GLAccount, firm=me.firm, pk=pk)

    def save(form: GLAccountEditForm) -> str:
        data = form.cleaned_data
        saved = setup.gl_account_update(
            account=account, actor=me, name=data["name"], is_active=data["is_active"]
        )
        return f"Account {saved} saved." + ("" if saved.is_active else " It is inactive now.")

    return popup_form(
        request,
        GLAccountEditForm,
        on_valid=save,
        template="books/settings/_account_edit_form.html",
        title=f"Edit account {account.number}",
        success=reverse("books:accounts"),
        initial={"name": account.name, "is_active": account.is_active},
        context={"account": account},
    )


@books_login_required(admin=True)
def bank_accounts_view(request: HttpRequest) -> HttpResponse:
    firm = books_user(request).firm
    banks = (
        BankAccount.objects.filter(firm=firm)
        .select_related("gl_account", "trust_liability_account")
        .order_by("name", "pk")
    )
    page = paginate(request, banks)
    balances = gl_balances(firm=firm, accounts=[bank.gl_account for bank in page])  # today
    rows = [(bank, balances[bank.gl_account_id]) for bank in page]
    return render(
        request,
        "books/settings/bank_accounts.html",
        {"nav": "settings", "section": "banks", "page": page, "rows": rows},
    )


# --- Checks out (issue 11): a bank account's check printing and positive pay layout --------


@books_login_required(admin=True)
@require_http_methods(["GET", "POST"])
def bank_check_printing_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Settings -> Bank Accounts -> Check printing: the bank's name and the routing and
    account numbers of the MICR line."""
    me = books_user(request)
    bank = get_object_or_404(BankAccount, firm=me.firm, pk=pk)

    def save(form: CheckPrintingForm) -> str:
        data = form.cleaned_data
        saved = bank_accounts.bank_account_check_printing_set(
            firm=me.firm,
            actor=me,
            bank_account_id=bank.pk,
            bank_name=data["bank_name"],
            routing_number=data["routing_number"],
            account_number=data["account_number"],
        )
        ready = saved.routing_number and saved.account_number
        return f"Check printing details of {saved.name} saved" + (
            ": its checks carry a MICR line."
            if ready
            else ": without a routing and an account number its checks print with no MICR line."
        )

    return popup_form(
        request,
        CheckPrintingForm,
        on_valid=save,
        template="books/settings/_check_printing_form.html",
        title=f"Check printing: {bank.name}",
        success=reverse("books:bank_accounts"),
        initial={
            "bank_name": bank.bank_name,
            "routing_number": bank.routing_number,
            "account_number": bank.account_number,
        },
        context={"bank": bank},
    )


@books_login_required(admin=True)
@require_http_methods(["GET", "POST"])
def bank_positive_pay_layout_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Settings -> Bank Accounts -> Positive pay: the layout of the bank's file."""
    me = books_user(request)
    bank = get_object_or_404(BankAccount, firm=me.firm, pk=pk)

    def save(form: PositivePayLayoutForm) -> str:
        data = form.cleaned_data
        if data["preset"]:
            fmt = PRESETS[data["preset"]][1]
        else:
            fmt = PositivePayFormat(
                columns=tuple(
                    PositivePayColumn(data[name])
                    for name in PositivePayLayoutForm.COLUMNS
                    if data[name]
                ),
                date_format=PositivePayDateFormat(data["date_format"]),
                amount_format=PositivePayAmount(data["amount_format"]),
                issue_flag=data["issue_flag"],
                void_flag=data["void_flag"],
                header=data["header"],
            )
        bank_accounts.positive_pay_layout_save(
            firm=me.firm, actor=me, bank_account_id=bank.pk, fmt=fmt
        )
        return f"Positive pay layout of {bank.name} saved."

    initial: dict[str, object] = {}
    if request.method != "POST":
        fmt, _ = positive_pay_format_of(bank)
        initial = {
            "date_format": fmt.date_format.value,
            "amount_format": fmt.amount_format.value,
            "issue_flag": fmt.issue_flag,
            "void_flag": fmt.void_flag,
            "header": fmt.header,
        }
        for name, column in zip(PositivePayLayoutForm.COLUMNS, fmt.columns, strict=False):
            initial[name] = column.value
    return popup_form(
        request,
        PositivePayLayoutForm,
        on_valid=save,
        template="books/settings/_positive_pay_layout_form.html",
        title=f"Positive pay layout: {bank.name}",
        success=reverse("books:bank_accounts"),
        initial=initial,
        context={"bank": bank, "presets": PRESETS.values()},
        field_map={"columns": "column_1"},
    )
