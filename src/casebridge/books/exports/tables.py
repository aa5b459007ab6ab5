"""Every books report and list as a :class:`~casebridge.core.tabular.Table` (issue 15, ADR
0043): the one description the CSV, XLSX and PDF exports, the screens' Export menus, the
API's ``GET /exports/{report}?format=`` and the background export jobs share.

A report is registered in :data:`REPORTS` by its key with its title, the formats it is
offered in (PDF only for the reports an auditor reads), who may export it (the same rule
as its screen: ``admin`` or a ``role``), whether it is large enough to go through a job,
and ``build(firm, params)``: ``params`` are the screen's own query parameters (its
filters, its as-of date), read by the screen's own form, so the file holds what the screen
shows; a bad parameter is a :class:`ValidationFailed` naming it. ``build`` reads nothing
until the rows are iterated, and a large report streams its rows from one ``.iterator()``
query (a server-side cursor on PostgreSQL) of plain tuples.

Wiring in another report that offers ``(headers, rows)``: write a ``build`` that returns
``Table(title, columns, rows, filename, subtitle)`` (a :class:`Column` per header with its
kind: text, date, cents or count) and add one ``Report`` line to ``REPORTS``; the menus,
the endpoint and the jobs then offer it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import Sum

from casebridge.books.errors import AdminRequired
from casebridge.books.forms import (
    BalanceSheetForm,
    ClientLedgerForm,
    FinancialAsOfForm,
    GeneralLedgerForm,
    ProfitLossForm,
    ReconciliationForm,
    TrialBalanceForm,
    TrustJournalForm,
)
from casebridge.books.models import (
    DEBIT_NORMAL,
    Check,
    CheckStatus,
    File,
    Firm,
    GLAccount,
    Invoice,
    JournalEntry,
    Posting,
    Role,
    User,
)
from casebridge.books.roles import require_role
from casebridge.books.selectors import financial, reports
from casebridge.core import clock
from casebridge.core.errors import ValidationFailed
from casebridge.core.models import AuditEvent
from casebridge.core.tabular import Column, Format, Kind, Table
from casebridge.core.text import file_name_part

Params = Mapping[str, str]
#: Rows fetched per round trip of a streamed query.
CHUNK_ROWS = 2000
AUDITOR = (Format.CSV, Format.XLSX, Format.PDF)
LIST = (Format.CSV, Format.XLSX)


@dataclass(frozen=True)
class Report:
    key: str
    title: str
    build: Callable[[Firm, Params], Table]
    formats: tuple[Format, ...] = LIST
    admin: bool = False
    role: Role | None = None
    #: big enough that the screens and the API hand it to a background job
    large: bool = False

    def check_access(self, user: User) -> None:
        """The screen's rule: refused (403) as its screen would refuse ``user``."""
        if self.admin and not user.is_admin:
            raise AdminRequired(f"only a books administrator can export the {self.title.lower()}")
        if self.role is not None:
            require_role(user, self.role, doing=f"Exporting the {self.title.lower()}")


def _valid(form: forms.Form) -> dict[str, Any]:
    """The form's cleaned data, or the first refusal naming its field."""
    if form.is_valid():
        return form.cleaned_data
    field, errors = next(iter(form.errors.items()))
    raise ValidationFailed(str(errors[0]), field=None if field == "__all__" else field)


def _day(value: dt.date | None) -> dt.date:
    return value or clock.today()


def _data(params: Params) -> dict[str, str]:
    """The parameters a form reads (``format`` and paging are the export's, not its)."""
    return {k: v for k, v in params.items() if k not in ("format", "bom", "page")}


# --- reports -----------------------------------------------------------------------------


def trial_balance(firm: Firm, params: Params) -> Table:
    as_of = _valid(TrialBalanceForm(_data(params)))["as_of"]
    tb = reports.trial_balance(firm=firm, as_of=as_of)
    return Table(
        title="Trial balance",
        subtitle=f"{firm.name}. As of {tb.as_of.isoformat()}",
        columns=[
            Column("Account"),
            Column("Name"),
            Column("Type"),
            Column("Debit", Kind.CENTS, total=True),
            Column("Credit", Kind.CENTS, total=True),
        ],
        rows=[
            (r.number, r.name, r.type.capitalize(), r.debit_cents, r.credit_cents) for r in tb.rows
        ],
        filename=f"trial-balance-{tb.as_of.isoformat()}",
    )


def client_ledger(firm: Firm, params: Params) -> Table:
    data = _valid(ClientLedgerForm(_data(params)))
    as_of = _day(data["as_of"])
    number = data["file"].strip()
    file = File.objects.filter(firm=firm, number__iexact=number).first()
    if file is None:
        raise ValidationFailed(f"No file numbered {number} in this firm.", field="file")
    ledgers = reports.client_trust_ledger(firm=firm, file_id=file.pk, as_of=as_of)
    return Table(
        title="Client trust ledger",
        subtitle=f"{firm.name}. File {file.number} {file.name}. As of {as_of.isoformat()}",
        columns=[
            Column("Trust account"),
            Column("Date", Kind.DATE),
            Column("Entry"),
            Column("Memo"),
            Column("Reference"),
            Column("Deposit", Kind.CENTS, total=True),
            Column("Disbursement", Kind.CENTS, total=True),
            Column("Balance", Kind.CENTS),
        ],
        rows=[
            (
                ledger.bank_account.name,
                line.date,
                f"JE{line.entry_id}",
                line.memo,
                line.reference,
                line.deposit_cents,
                line.disbursement_cents,
                line.balance_cents,
            )
            for ledger in ledgers
            for line in ledger.lines
        ],
        filename=f"client-ledger-{file_name_part(file.number)}-{as_of.isoformat()}",
    )


def trust_journal(firm: Firm, params: Params) -> Table:
    """The whole trust journal of the period, streamed (the screen pages it by keyset):
    the opening balance, then every movement with its running balance."""
    data = _valid(TrustJournalForm(_data(params), firm=firm))
    bank, start, end = data["bank_account"], data["start"], _day(data["end"])

    def figures() -> reports.TrustJournalFigures:
        return reports.trust_journal_figures(
            firm=firm, bank_account_id=bank.pk, start=start, end=end
        )

    def rows() -> Iterator[tuple[object, ...]]:
        head = figures()
        yield (start, "", "Opening balance", "", None, None, head.opening_cents)
        for line in reports.trust_account_journal_rows(figures=head, chunk_size=CHUNK_ROWS):
            yield (
                line.date,
                f"JE{line.entry_id}",
                line.memo,
                line.file_number,
                line.debit_cents,
                line.credit_cents,
                line.balance_cents,
            )

    period = f"{start.isoformat()} to {end.isoformat()}" if start else f"to {end.isoformat()}"
    return Table(
        title="Trust account journal",
        subtitle=f"{firm.name}. {bank.name}, {period}",
        columns=[
            Column("Date", Kind.DATE),
            Column("Entry"),
            Column("Memo"),
            Column("File"),
            Column("Deposit", Kind.CENTS, total=True),
            Column("Disbursement", Kind.CENTS, total=True),
            Column("Balance", Kind.CENTS),
        ],
        rows=rows(),
        filename=f"trust-journal-{bank.pk}-{end.isoformat()}",
        count=lambda: figures().count,
    )


def reconciliation(firm: Firm, params: Params) -> Table:
    data = _valid(ReconciliationForm(_data(params), firm=firm))
    rec = reports.three_way_reconciliation(
        firm=firm,
        bank_account_id=data["bank_account"].pk,
        statement_balance_cents=data["statement_balance"],
        deposits_in_transit_cents=data["deposits_in_transit"] or 0,
        outstanding_checks_cents=data["outstanding_checks"],
        as_of=data["as_of"],
    )
    figures: list[tuple[object, ...]] = [
        ("Statement balance", None, "", rec.statement_balance_cents),
        ("Deposits in transit", None, "", rec.deposits_in_transit_cents),
        ("Outstanding checks", None, "", -rec.outstanding_checks_cents),
        ("Adjusted bank balance", None, "", rec.adjusted_bank_balance_cents),
        ("Trust account journal balance", None, "", rec.trust_journal_balance_cents),
        ("Client ledgers total", None, "", rec.client_ledgers_total_cents),
        ("Client ledgers recomputed", None, "", rec.client_ledgers_recomputed_cents),
        ("Client trust liability", None, "", rec.trust_liability_balance_cents),
    ]
    figures += [("Difference", None, text, None) for text in rec.differences]
    figures += [
        ("Outstanding check", c.check_number, c.payee, c.amount_cents)
        for c in rec.outstanding_checks
    ]
    state = "Reconciled" if rec.is_reconciled else "NOT reconciled"
    return Table(
        title="Three-way reconciliation",
        subtitle=f"{firm.name}. {rec.bank_account.name}, as of {rec.as_of.isoformat()}. {state}",
        columns=[
            Column("Item"),
            Column("Check number", Kind.COUNT),
            Column("Payee or note"),
            Column("Amount", Kind.CENTS),
        ],
        rows=figures,
        filename=f"three-way-reconciliation-{rec.bank_account.pk}-{rec.as_of.isoformat()}",
    )


# --- lists -------------------------------------------------------------------------------


def journal_entries(firm: Firm, params: Params) -> Table:
    entries = (
        JournalEntry.objects.filter(firm=firm)
        .annotate(total_cents=Sum("postings__debit_cents"))
        .order_by("-date", "-pk")
    )
    rows = (
        (f"JE{pk}", date, memo, reference, source, f"JE{reverses}" if reverses else "", total or 0)
        for pk, date, memo, reference, source, reverses, total in entries.values_list(
            "pk", "date", "memo", "posting_reference", "source", "reverses_id", "total_cents"
        ).iterator(chunk_size=CHUNK_ROWS)
    )
    return Table(
        title="Journal entries",
        subtitle=firm.name,
        columns=[
            Column("Entry"),
            Column("Date", Kind.DATE),
            Column("Memo"),
            Column("Reference"),
            Column("Source"),
            Column("Reverses"),
            Column("Total", Kind.CENTS),
        ],
        rows=rows,
        filename=f"journal-entries-{clock.today().isoformat()}",
        count=JournalEntry.objects.filter(firm=firm).count,
    )


def checks(firm: Firm, params: Params) -> Table:
    status = params.get("status") or CheckStatus.QUEUED
    if status not in CheckStatus.values:
        raise ValidationFailed(
            f"status must be one of {', '.join(CheckStatus.values)}", field="status"
        )
    order = ("request_date", "pk") if status == CheckStatus.QUEUED else ("-request_date", "-pk")
    # as the Checks screen: a queued check paid by ACH is in the ACH queue, never printed
    printable = Check.objects.filter(firm=firm).exclude(
        status=CheckStatus.QUEUED, ach_payment__isnull=False
    )
    rows = printable.filter(status=status).order_by(*order).values_list(
        "check_number", "request_date", "bank_account__name", "file__number", "payee",
        "amount_cents", "memo", "printed_on", "voided_on",
    )  # fmt: skip
    return Table(
        title=f"Checks: {CheckStatus(status).label}",
        subtitle=firm.name,
        columns=[
            Column("Number", Kind.COUNT),
            Column("Requested", Kind.DATE),
            Column("Bank account"),
            Column("File"),
            Column("Payee"),
            Column("Amount", Kind.CENTS, total=True),
            Column("Memo"),
            Column("Printed", Kind.DATE),
            Column("Voided", Kind.DATE),
        ],
        rows=rows.iterator(chunk_size=CHUNK_ROWS),
        filename=f"checks-{status}-{clock.today().isoformat()}",
    )


def invoices(firm: Firm, params: Params) -> Table:
    stage = params.get("stage") or ""
    qs = Invoice.objects.filter(firm=firm)
    if stage:
        if stage not in {s for s, _ in Invoice._meta.get_field("stage").choices or ()}:
            raise ValidationFailed(f"no invoice stage {stage!r}", field="stage")
        qs = qs.filter(stage=stage)
    rows = qs.order_by("-invoice_date", "-number").values_list(
        "number", "invoice_date", "file__number", "file__client__name", "stage", "description",
        "total_cents",
    )  # fmt: skip
    return Table(
        title=f"Invoices{': ' + stage.replace('_', ' ') if stage else ''}",
        subtitle=firm.name,
        columns=[
            Column("Number"),
            Column("Date", Kind.DATE),
            Column("File"),
            Column("Client"),
            Column("Stage"),
            Column("Description"),
            Column("Total", Kind.CENTS, total=True),
        ],
        rows=rows.iterator(chunk_size=CHUNK_ROWS),
        filename=f"invoices-{stage or 'all'}-{clock.today().isoformat()}",
    )


def files(firm: Firm, params: Params) -> Table:
    from django.db.models import Q

    qs = File.objects.filter(firm=firm)
    q = (params.get("q") or "").strip()
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(name__icontains=q) | Q(client__name__icontains=q))
    rows = qs.order_by("-pk").values_list(
        "number", "name", "client__name", "area_of_practice__name", "opened_on", "is_closed"
    )
    return Table(
        title="Files",
        subtitle=f"{firm.name}{'. Matching ' + q if q else ''}",
        columns=[
            Column("Number"),
            Column("Name"),
            Column("Client"),
            Column("Area of practice"),
            Column("Opened", Kind.DATE),
            Column("Status"),
        ],
        rows=(
            (n, name, client, area or "", opened, "Closed" if closed else "Open")
            for n, name, client, area, opened, closed in rows.iterator(chunk_size=CHUNK_ROWS)
        ),
        filename=f"files-{clock.today().isoformat()}",
    )


def chart_of_accounts(firm: Firm, params: Params) -> Table:
    accounts = list(GLAccount.objects.filter(firm=firm).order_by("number", "pk"))
    balances = reports.gl_balances(firm=firm, accounts=accounts)
    return Table(
        title="Chart of accounts",
        subtitle=f"{firm.name}. Balances as of {clock.today().isoformat()}",
        columns=[
            Column("Number"),
            Column("Name"),
            Column("Type"),
            Column("Active"),
            Column("Balance", Kind.CENTS),
        ],
        rows=[
            (
                a.number,
                a.name,
                a.type.capitalize(),
                "Yes" if a.is_active else "No",
                balances[a.pk] if a.type in DEBIT_NORMAL else -balances[a.pk],
            )
            for a in accounts
        ],
        filename=f"chart-of-accounts-{clock.today().isoformat()}",
    )


def audit_log(firm: Firm, params: Params) -> Table:
    events = AuditEvent.objects.filter(system="books", firm_id=firm.pk)
    if entity_type := params.get("entity_type"):
        events = events.filter(entity_type=entity_type)
    if action := params.get("action"):
        events = events.filter(action=action)
    rows = events.order_by("-at", "-pk").values_list(
        "at", "actor_label", "action", "entity_type", "entity_id", "summary", "before", "after"
    )
    return Table(
        title="Audit trail",
        subtitle=firm.name,
        columns=[
            Column("At (UTC)"),
            Column("Who"),
            Column("Action"),
            Column("Entity"),
            Column("Entity id"),
            Column("Summary"),
            Column("Before"),
            Column("After"),
        ],
        rows=(
            (
                at.isoformat(timespec="seconds"),
                who,
                act,
                kind,
                ident,
                summary,
                "" if before is None else str(before),
                "" if after is None else str(after),
            )
            for at, who, act, kind, ident, summary, before, after in rows.iterator(
                chunk_size=CHUNK_ROWS
            )
        ),
        filename=f"audit-trail-{clock.today().isoformat()}",
        count=events.count,
    )


def _range(params: Params) -> tuple[dt.date | None, dt.date | None]:
    out: list[dt.date | None] = []
    for name in ("from", "to"):
        text = (params.get(name) or "").strip()
        if not text:
            out.append(None)
            continue
        try:
            out.append(dt.date.fromisoformat(text))
        except ValueError:
            raise ValidationFailed(f"{name} must be a date (YYYY-MM-DD)", field=name) from None
    start, end = out
    if start and end and end < start:
        raise ValidationFailed("to is before from", field="to")
    return start, end


def gl_postings(firm: Firm, params: Params) -> Table:
    """Every posting of the firm dated from ``from`` to ``to`` (both optional), in entry
    order: one streamed query of plain tuples, so 1,000,000 postings hold no more memory
    than 2,000."""
    start, end = _range(params)
    postings = Posting.objects.filter(entry__firm=firm)
    if start:
        postings = postings.filter(entry__date__gte=start)
    if end:
        postings = postings.filter(entry__date__lte=end)
    rows = postings.order_by("entry__date", "entry_id", "pk").values_list(
        "entry__date", "entry_id", "account__number", "account__name", "file__number",
        "entry__memo", "memo", "debit_cents", "credit_cents",
    )  # fmt: skip
    span = f"{start or 'first entry'} to {end or 'last entry'}"
    return Table(
        title="General ledger postings",
        subtitle=f"{firm.name}. {span}",
        columns=[
            Column("Date", Kind.DATE),
            Column("Entry"),
            Column("Account"),
            Column("Account name"),
            Column("File"),
            Column("Entry memo"),
            Column("Posting memo"),
            Column("Debit", Kind.CENTS, total=True),
            Column("Credit", Kind.CENTS, total=True),
        ],
        rows=(
            (d, f"JE{e}", n, name, f or "", em, pm, dr, cr)
            for d, e, n, name, f, em, pm, dr, cr in rows.iterator(chunk_size=CHUNK_ROWS)
        ),
        filename=f"gl-postings-{start or 'start'}-{end or 'end'}",
        count=postings.count,
    )


# --- financial statements (ADR 0042) ----------------------------------------------------


def _statement(
    title: str,
    subtitle: str,
    filename: str,
    table: financial.Table,
    kinds: Callable[[int, str], Kind],
    totals: bool = False,
) -> Table:
    """A statement's ``(headers, rows)`` as a table, each column's kind from its position
    and header (``kinds``); its own total rows are in the rows, so no column is summed."""
    headers, rows = table
    return Table(
        title=title,
        subtitle=subtitle,
        columns=[Column(h, kinds(i, h), total=totals) for i, h in enumerate(headers)],
        rows=rows,
        filename=filename,
    )


def profit_and_loss(firm: Firm, params: Params) -> Table:
    data = _valid(ProfitLossForm(_data(params)))
    pl = financial.profit_and_loss(
        firm=firm,
        start=data["start"],
        end=data["end"],
        by_month=bool(data["by_month"]),
        comparison=data["comparison"] or "none",
    )
    return _statement(
        "Profit and loss",
        f"{firm.name}. {pl.start.isoformat()} to {pl.end.isoformat()}",
        f"profit-and-loss-{pl.start.isoformat()}-{pl.end.isoformat()}",
        pl.table(),
        lambda i, _: Kind.TEXT if i < 3 else Kind.CENTS,
    )


def balance_sheet(firm: Firm, params: Params) -> Table:
    data = _valid(BalanceSheetForm(_data(params)))
    sheet = financial.balance_sheet(
        firm=firm, as_of=data["as_of"], comparison=data["comparison"], compare_to=data["compare_to"]
    )
    day = sheet.as_of.isoformat()
    compared = sheet.comparison_as_of.isoformat() if sheet.comparison_as_of else None
    return _statement(
        "Balance sheet",
        f"{firm.name}. As of {day}" + (f", compared with {compared}" if compared else ""),
        f"balance-sheet-{day}" + (f"-vs-{compared}" if compared else ""),
        sheet.table(),
        lambda i, _: Kind.TEXT if i < 3 else Kind.CENTS,
    )


_GL_KINDS = {"Date": Kind.DATE, "Debit": Kind.CENTS, "Credit": Kind.CENTS, "Balance": Kind.CENTS}


def general_ledger(firm: Firm, params: Params) -> Table:
    """The whole ledger detail of the period (one account or all), read page by page."""
    data = _valid(GeneralLedgerForm(_data(params), firm=firm))
    account = data["account"]
    start, end = financial.check_period(data["start"], data["end"], firm=firm)
    table = financial.general_ledger_table(
        firm=firm, start=start, end=end, account_id=account.pk if account is not None else None
    )
    postings = Posting.objects.filter(entry__firm=firm, entry__date__range=(start, end))
    if account is not None:
        postings = postings.filter(account=account)
    which = f"account {account.number}" if account is not None else "all accounts"
    statement = _statement(
        "General ledger detail",
        f"{firm.name}. {which.capitalize()}, {start.isoformat()} to {end.isoformat()}",
        f"general-ledger-{account.number if account is not None else 'all'}-{end.isoformat()}",
        table,
        lambda _, h: _GL_KINDS.get(h, Kind.TEXT),
    )
    # its size, so the screens and the API hand a long ledger to a background job
    return dataclasses.replace(statement, count=postings.count)


_ADVANCE_KINDS = {"Oldest unrecovered": Kind.DATE, "Age (days)": Kind.COUNT}


def cost_advances(firm: Firm, params: Params) -> Table:
    as_of = _day(_valid(FinancialAsOfForm(_data(params)))["as_of"])
    advances = financial.cost_advances_by_file(firm=firm, as_of=as_of)
    return _statement(
        "Cost advances by file",
        f"{firm.name}. Unrecovered as of {as_of.isoformat()}",
        f"cost-advances-{as_of.isoformat()}",
        advances.table(),
        lambda i, h: Kind.TEXT if i < 3 else _ADVANCE_KINDS.get(h, Kind.CENTS),
    )


REPORTS: dict[str, Report] = {
    r.key: r
    for r in [
        Report("trial-balance", "Trial balance", trial_balance, AUDITOR),
        Report("client-ledger", "Client trust ledger", client_ledger, AUDITOR),
        Report("trust-journal", "Trust account journal", trust_journal, AUDITOR, large=True),
        Report("reconciliation", "Three-way reconciliation", reconciliation, AUDITOR),
        Report("profit-and-loss", "Profit and loss", profit_and_loss, AUDITOR),
        Report("balance-sheet", "Balance sheet", balance_sheet, AUDITOR),
        Report("general-ledger", "General ledger detail", general_ledger, AUDITOR, large=True),
        Report("cost-advances", "Cost advances by file", cost_advances, AUDITOR),
        Report("journal-entries", "Journal entries", journal_entries, large=True),
        Report("checks", "Checks", checks),
        Report("invoices", "Invoices", invoices),
        Report("files", "Files", files),
        Report("chart-of-accounts", "Chart of accounts", chart_of_accounts, admin=True),
        Report("audit-trail", "Audit trail", audit_log, admin=True, large=True),
        Report(
            "gl-postings", "General ledger postings", gl_postings, role=Role.ACCOUNTANT, large=True
        ),
    ]
}


def report_for(key: str) -> Report:
    report = REPORTS.get(key)
    if report is None:
        raise ValidationFailed(f"no report {key!r}; one of {', '.join(REPORTS)}", field="report")
    return report


#: Rows above which a PDF is refused: fpdf2 builds the whole document in memory.
PDF_MAX_ROWS = 20_000


def check_size(table: Table, fmt: Format) -> None:
    """A PDF of more than :data:`PDF_MAX_ROWS` rows refused (422 on ``format``)."""
    if fmt is Format.PDF and table.count is not None and table.count() > PDF_MAX_ROWS:
        raise ValidationFailed(
            f"a PDF holds at most {PDF_MAX_ROWS:,} rows: export this one as CSV or XLSX",
            field="format",
        )


def export_format(report: Report, value: str | None) -> Format:
    """The format asked for, one the report offers (default CSV), else 422 on ``format``."""
    try:
        fmt = Format((value or "csv").lower())
    except ValueError:
        fmt = None
    if fmt is None or fmt not in report.formats:
        offered = ", ".join(f.value for f in report.formats)
        raise ValidationFailed(f"format must be one of {offered}", field="format")
    return fmt
